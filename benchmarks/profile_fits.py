"""Where the time of one ``lp.lmer`` call goes: a cProfile of benchmark targets.

Usage: python benchmarks/profile_fits.py [NAME ...] [--repeats K] [--top N]
(default: sleepstudy, profiled over 20 fits, and insteval, one fit).

Prints, per target, the fit's time split into stages (found by function name in lmmplot;
a stage whose function was renamed shows as "—"), then the top functions by own time.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
import warnings

import lmmplot as lp

from targets import BY_NAME

# (stage, file name ending, function name): cumulative time of that function in the fit
STAGES = [
    ("parse the formula", "lmmplot/formula.py", "parse_formula"),
    ("complete rows (NA check)", "lmmplot/frame.py", "complete_rows"),
    ("fixed design X, y (formulaic + rank check)", "lmmplot/frame.py", "fixed_design"),
    ("  of which the rank check", "lmmplot/frame.py", "full_rank_columns"),
    ("random terms (formulaic + group codes)", "lmmplot/frame.py", "random_terms"),
    ("cross-products A = [Z X y]ᵀ[Z X y]", "lmmplot/linalg.py", "__init__"),
    ("optimizer, all (BOBYQA + objective)", "lmmplot/optimize.py", "minimize_theta"),
    ("convergence checks (numerical Hessian)", "lmmplot/model.py", "_convergence_messages"),
    ("factor at the optimum (_set_theta)", "lmmplot/model.py", "_set_theta"),
]
OBJECTIVE = ("lmmplot/model.py", "objective")


def find(stats: dict, file_end: str, name: str):
    """The pstats key of a function (the costliest, when several share the name), or None."""
    keys = [key for key in stats if key[0].endswith(file_end) and key[2] == name]
    return max(keys, key=lambda key: stats[key][3], default=None)


def callees(stats: dict, key) -> list[tuple[tuple, float]]:
    """The functions ``key`` calls, with the cumulative time of those calls, costliest first."""
    out = [(callee, entry[4][key][3]) for callee, entry in stats.items() if key in entry[4]]
    return sorted(out, key=lambda item: item[1], reverse=True)


def short_path(file: str) -> str:
    return file.split("site-packages/")[-1].split("/work/main/")[-1]


def stage_table(stats: dict, total: float, fits: int) -> list[str]:
    lines = ["| stage | ms per fit | share |", "|---|---|---|"]

    def line(label: str, seconds: float | None) -> None:
        if seconds is None:
            lines.append(f"| {label} | — | — |")
        else:
            lines.append(f"| {label} | {1e3 * seconds / fits:.2f} | {100 * seconds / total:.0f}% |")

    for label, file_end, name in STAGES:
        key = find(stats, file_end, name)
        line(label, stats[key][3] if key else None)
        if name == "minimize_theta":
            objective = find(stats, *OBJECTIVE)
            optimizer = key
            inside = None
            if objective and optimizer:
                # the objective's calls made from inside the optimizer (its closure lives in optimize.py)
                inside = sum(v[3] for caller, v in stats[objective][4].items() if caller[0] == optimizer[0])
                calls = sum(v[1] for caller, v in stats[objective][4].items() if caller[0] == optimizer[0])
                line(f"  objective evaluations ({calls // fits} per fit)", inside)
                line("  BOBYQA's own work (optimizer − objective)", stats[optimizer][3] - inside)
    objective = find(stats, *OBJECTIVE)
    if objective:
        line("all objective calls (optimizer + checks)", stats[objective][3])
        for callee, seconds in callees(stats, objective)[:4]:
            line(f"  of which `{callee[2]}` ({short_path(callee[0])})", seconds)
    line("whole lmer call", total)
    return lines


def top_table(stats: dict, fits: int, top: int) -> list[str]:
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    lines = ["| function | calls per fit | own ms per fit | cumulative ms per fit |", "|---|---|---|---|"]
    for (file, lineno, name), (cc, nc, tt, ct, _) in rows:
        lines.append(f"| `{name}` ({short_path(file)}:{lineno}) | {nc / fits:.0f} | {1e3 * tt / fits:.2f} | {1e3 * ct / fits:.2f} |")
    return lines


def unprofiled_split(target, data, repeats: int) -> tuple[float, float]:
    """Median seconds of building the model and of fitting it, without the profiler."""
    build, fit = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = lp.LinearMixedModel(target.formula, data, REML=target.REML)
        t1 = time.perf_counter()
        model.fit()
        build.append(t1 - t0)
        fit.append(time.perf_counter() - t1)
    return statistics.median(build), statistics.median(fit)


def profile(name: str, repeats: int, top: int) -> str:
    target = BY_NAME[name]
    data = target.load()
    lp.lmer("Reaction ~ Days + (Days|Subject)", lp.load_dataset("sleepstudy"))  # loads every code path
    split = None
    if not target.scale:  # a scale fit is too slow to run more than once
        lp.lmer(target.formula, data, REML=target.REML)  # warm-up
        split = unprofiled_split(target, data, repeats)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for _ in range(repeats):
        lp.lmer(target.formula, data, REML=target.REML)
    profiler.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(profiler).stats
    out = [
        f"### {name}: `{target.formula}` (REML={target.REML}), {repeats} fit(s) profiled",
        "",
        ("" if split is None else
         f"Without the profiler (median of {repeats}): building the model (data → matrices, "
         f"`LinearMixedModel(...)`) {1e3 * split[0]:.2f} ms, then `.fit()` {1e3 * split[1]:.2f} ms. ")
        + f"Under cProfile: {1e3 * total / repeats:.2f} ms a fit.",
        "",
        *stage_table(stats, total, repeats),
        "",
        f"Top {top} functions by own time:",
        "",
        *top_table(stats, repeats, top),
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", default=["sleepstudy", "insteval"], choices=sorted(BY_NAME))
    parser.add_argument("--repeats", type=int, default=None, help="fits profiled (default 20 small, 1 large)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for name in args.names:
        repeats = args.repeats or (1 if name == "insteval" or BY_NAME[name].scale else 20)
        print(profile(name, repeats, args.top))
        print()


if __name__ == "__main__":
    main()
