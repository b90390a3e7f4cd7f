"""lmmplot's ``glmer`` / ``glmer_nb`` against lme4's, side by side, each in a fresh process.

Usage:
    python benchmarks/glmm.py                       # every target (the 1M-row one takes minutes in R)
    python benchmarks/glmm.py --only verbagg cbpp_binomial
    python benchmarks/glmm.py --no-lme4 --json out.json
    python benchmarks/glmm.py --show out.json       # the table of an earlier run again
    python benchmarks/glmm.py --lme4-from out.json  # lmmplot afresh, lme4's rows taken from an earlier run
    python benchmarks/glmm.py --child NAME          # (internal) time lmmplot on one target

Each side fits the target once as a warm-up, then repeats enough fits to fill a time budget
(3 s; the 1M-row target is fitted once) and reports the median, as benchmarks/run.py does;
the peak resident memory of the fits comes from ``os.wait4`` (measure.py).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's lmmplot, not an installed one
import simulate  # noqa: E402
from measure import child_args, memory_mb, reset_peak_memory, run_child, timed_repeats  # noqa: E402
from run import environment, lmmplot_revision, seconds  # noqa: E402

HERE = Path(__file__).resolve().parent
OBJECTIVE_TOL = 1e-4  # -2 logLik may exceed lme4's by at most this


@dataclass(frozen=True)
class GlmmTarget:
    """One GLMM benchmark: data, formula, family ("negbin" for glmer.nb), nAGQ, weights column."""

    name: str
    load: Callable[[], pd.DataFrame]
    formula: str
    r_formula: str
    family: str
    categorical: tuple[str, ...]
    nAGQ: int = 1
    weights: str | None = None
    max_ratio: float = 1.0
    max_seconds: float | None = None
    max_mb: float | None = None
    budget: float = 3.0


def _dataset(name: str, categorical: tuple[str, ...]) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import lmmplot as lp

        return lp.load_dataset(name).astype({c: str for c in categorical})

    return load


def _verbagg() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "verbagg.csv", dtype={"id": str})


_CBPP = ("herd", "period")
_GROUSE = ("INDEX", "BROOD", "YEAR", "LOCATION")
_ARAB = ("popu", "gen", "amd")
_CBIND = "cbind(incidence, size - incidence) ~ period + (1|herd)"
TARGETS = [
    GlmmTarget("cbpp_binomial", _dataset("cbpp", _CBPP), _CBIND, _CBIND, "binomial", _CBPP),
    GlmmTarget("cbpp_proportion_weights", _dataset("cbpp", _CBPP), "I(incidence/size) ~ period + (1|herd)",
               "incidence/size ~ period + (1|herd)", "binomial", _CBPP, weights="size"),
    GlmmTarget("cbpp_agq25", _dataset("cbpp", _CBPP), _CBIND, _CBIND, "binomial", _CBPP, nAGQ=25),
    GlmmTarget("grouseticks_poisson", _dataset("grouseticks", _GROUSE),
               "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|INDEX) + (1|LOCATION)",
               "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|INDEX) + (1|LOCATION)", "poisson", _GROUSE),
    GlmmTarget("arabidopsis_poisson", _dataset("arabidopsis", _ARAB),
               "total.fruits ~ nutrient + amd + (1|popu) + (1|gen)",
               "total.fruits ~ nutrient + amd + (1|popu) + (1|gen)", "poisson", _ARAB),
    GlmmTarget("arabidopsis_negbin", _dataset("arabidopsis", _ARAB),
               "total.fruits ~ nutrient + amd + (1|popu) + (1|gen)",
               "total.fruits ~ nutrient + amd + (1|popu) + (1|gen)", "negbin", _ARAB),
    GlmmTarget("sleep_binary_slopes", _dataset("sleepstudy", ("Subject",)),
               "I(Reaction > 300) ~ Days + (1 + Days|Subject)",
               "I(Reaction > 300) ~ Days + (1 + Days|Subject)", "binomial", ("Subject",)),
    GlmmTarget("verbagg", _verbagg, "r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item)",
               "r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item)", "binomial",
               ("Gender", "item", "id", "btype", "situ", "r2"), max_ratio=0.5),
    GlmmTarget("binary1m", simulate.binary, "y ~ x + (1|g)", "y ~ x + (1|g)", "binomial", (),
               max_seconds=15.0, max_mb=2048.0, budget=0.0),
]
BY_NAME = {t.name: t for t in TARGETS}


# ------------------------------------------------------------------ the children
def child() -> None:
    """Time lmmplot on one target in this fresh process; print JSON on the last line."""
    sys.argv.remove("--child")
    args = child_args(BY_NAME)
    target = BY_NAME[args.name]
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    import lmmplot as lp

    import_seconds = time.perf_counter() - t0
    cbpp = lp.load_dataset("cbpp")
    lp.glmer(_CBIND, cbpp, family="binomial")  # loads (and compiles) the code paths
    data = target.load()
    peak_reset = reset_peak_memory()
    before_mb, _ = memory_mb()
    weights = data[target.weights] if target.weights else None

    cpu = []

    def fit():
        t0 = time.process_time()
        if target.family == "negbin":
            model = lp.glmer_nb(target.formula, data)
        else:
            model = lp.glmer(target.formula, data, family=target.family, nAGQ=target.nAGQ, weights=weights)
        cpu.append(time.process_time() - t0)
        return model

    times, model = timed_repeats(fit, args.budget, args.min_reps, args.max_reps)
    cpu = cpu[-len(times):]
    print(json.dumps({
        "rows": int(model.nobs), "times": times, "median": statistics.median(times),
        "cpu_times": cpu, "cpu_median": statistics.median(cpu),
        "objective": -2.0 * float(model.logLik()), "messages": list(model.messages),
        "import_seconds": import_seconds, "before_fit_mb": before_mb, "peak_reset": peak_reset,
    }))


def run_lmmplot(target: GlmmTarget, timeout: float) -> dict:
    reps = ["--budget", str(target.budget), "--min-reps", "1" if target.budget == 0 else "3"]
    res = run_child([sys.executable, str(HERE / "glmm.py"), "--child", target.name, *reps], timeout)
    return {"status": res.status, "answer": res.answer, "peak_mb": res.peak_mb, "stderr": res.stderr[-2000:]}


def run_lme4(target: GlmmTarget, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        target.load().to_csv(csv, index=False)
        cmd = ["Rscript", str(HERE / "glmer_child.R"), str(csv), target.r_formula, target.family,
               str(target.nAGQ), target.weights or "", ",".join(target.categorical),
               str(target.budget), "1" if target.budget == 0 else "3", "30"]
        res = run_child(cmd, timeout)
    return {"status": res.status, "answer": res.answer, "peak_mb": res.peak_mb, "stderr": res.stderr[-2000:]}


# ------------------------------------------------------------------ the table
def verdict(target: GlmmTarget, row: dict) -> str:
    ours, theirs = row["lmmplot"].get("answer"), (row.get("lme4") or {}).get("answer")
    if ours is None:
        return f"no (lmmplot {row['lmmplot']['status']})"
    failed = []
    # the time goal is elapsed time on these 2-core machines (the fit may use both cores), so it
    # means something only with nothing else running; the ratio to lme4 compares CPU time
    if target.max_seconds is not None and ours["median"] > target.max_seconds:
        failed.append(f"{ours['median']:.1f} s wall > {target.max_seconds:g} s")
    if target.max_mb is not None and row["lmmplot"]["peak_mb"] > target.max_mb:
        failed.append(f"{row['lmmplot']['peak_mb']:.0f} MB > {target.max_mb:g} MB")
    if theirs is None:
        return "no (" + "; ".join(failed) + ")" if failed else "? (lme4 unknown)"
    ratio = _cpu(ours) / _cpu(theirs)
    if ratio > target.max_ratio:
        failed.append(f"ratio {ratio:.2f} > {target.max_ratio:g}")
    if ours["objective"] - theirs["objective"] > OBJECTIVE_TOL:
        failed.append("objective above lme4's")
    return "no (" + "; ".join(failed) + ")" if failed else "yes"


def _cpu(answer: dict) -> float:
    """The median CPU time of the fits (wall time for results stored before CPU time was)."""
    return answer.get("cpu_median", answer["median"])


def _goal(target: GlmmTarget) -> str:
    parts = [f"≤ {target.max_ratio:g} × lme4"] if target.max_ratio < 1 else ["faster than lme4"]
    if target.max_seconds:
        parts.append(f"< {target.max_seconds:g} s")
    if target.max_mb:
        parts.append(f"< {target.max_mb / 1024:g} GB")
    return ", ".join(parts)


def markdown(rows: list[dict]) -> str:
    head = ("| target | rows | family (nAGQ) | lmmplot CPU (wall) s | lme4 CPU (wall) s | lmmplot/lme4 (CPU) "
            "| -2 logLik − lme4's | lmmplot peak MB | lme4 peak MB | load average | goal | met |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for row in rows:
        t = BY_NAME[row["name"]]
        ours, r = row["lmmplot"].get("answer"), (row.get("lme4") or {}).get("answer")
        ratio = f"{_cpu(ours) / _cpu(r):.3f}" if ours and r else "—"
        diff = f"{ours['objective'] - r['objective']:+.2e}" if ours and r else "—"
        n = f"{(ours or r or {}).get('rows', 0):,}"
        lme4_mb = f"{row['lme4']['peak_mb']:.0f}" if r else "—"
        load = " ".join(f"{x:.1f}" for x in row.get("load", ()))
        lines.append(
            f"| {t.name} | {n} | {t.family} ({t.nAGQ}) | "
            f"{_times(ours) if ours else row['lmmplot']['status']} | "
            f"{_times(r) if r else (row.get('lme4') or {}).get('status', 'not run')} | {ratio} | {diff} | "
            f"{row['lmmplot']['peak_mb']:.0f} | {lme4_mb} | {load} | {_goal(t)} | {verdict(t, row)} |")
    return "\n".join(lines)


def _times(answer: dict) -> str:
    return f"{seconds(_cpu(answer))} ({seconds(answer['median'])})"


def main() -> None:
    if "--child" in sys.argv:
        child()
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(BY_NAME))
    parser.add_argument("--no-lme4", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--show")
    parser.add_argument("--lme4-from", help="take lme4's rows from an earlier run's JSON instead of rerunning R")
    args = parser.parse_args()
    if args.show:
        saved = json.loads(Path(args.show).read_text())
        print(f"*Environment: {saved['environment']}*\n\n{markdown(saved['rows'])}")
        return
    targets = [BY_NAME[n] for n in args.only] if args.only else TARGETS
    earlier = {r["name"]: r for r in json.loads(Path(args.lme4_from).read_text())["rows"]} if args.lme4_from else {}
    rows = []
    for t in targets:
        print(f"[glmm] {t.name}: lmmplot ...", file=sys.stderr, flush=True)
        row = {"name": t.name, "load": os.getloadavg(), "lmmplot": run_lmmplot(t, timeout=600)}
        if t.name in earlier and "lme4" in earlier[t.name]:
            row["lme4"] = earlier[t.name]["lme4"]
            row["lme4_env"] = earlier[t.name].get("lme4_env")
            row["lme4_load"] = earlier[t.name].get("load")
        elif not args.no_lme4:
            print(f"[glmm] {t.name}: lme4 ...", file=sys.stderr, flush=True)
            row["lme4"] = run_lme4(t, timeout=1800)
            if row["lme4"]["answer"]:
                row["lme4_env"] = {k: row["lme4"]["answer"][k] for k in ("version", "blas")}
        rows.append(row)
    env = environment(lmmplot_revision(), rows)
    print(f"*Environment: {env}*\n\n{markdown(rows)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"environment": env, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
