"""Benchmark lmmplot's ``lmer`` against lme4 (through Rscript) and statsmodels' MixedLM.

Usage::

    python benchmarks/run.py [--quick] [--scale] [--only NAME ...] [--no-lme4] [--no-statsmodels] [--json PATH]
    python benchmarks/run.py --show PATH   # the tables of an earlier --json file

Each lmmplot target is timed in a fresh child process (so peak memory is that target's
own), as the median of repeated ``lp.lmer(...)`` calls after a warm-up; lme4 is timed
inside R on the same rows; statsmodels runs under a time limit. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from measure import ChildResult, run_child
from targets import BY_NAME, OBJECTIVE_TOL, TARGETS, Target

HERE = Path(__file__).resolve().parent
LINEARITY_SLACK = 1.25  # the largest run's time per row may exceed the smallest's by this factor


@dataclass
class Plan:
    """How hard to try: the repeat budget per fit and the child processes' time limits."""

    budget: float
    min_reps: int
    max_reps: int
    lmm_timeout: float
    lme4_timeout: float
    sm_timeout: float
    scale_lme4_timeout: float
    scale_sm_timeout: float


def plan_for(quick: bool) -> Plan:
    if quick:
        return Plan(budget=1.0, min_reps=2, max_reps=10, lmm_timeout=600, lme4_timeout=120,
                    sm_timeout=60, scale_lme4_timeout=300, scale_sm_timeout=60)
    return Plan(budget=3.0, min_reps=3, max_reps=30, lmm_timeout=900, lme4_timeout=300,
                sm_timeout=120, scale_lme4_timeout=600, scale_sm_timeout=60)


def lme4_timeout(plan: Plan, target: Target) -> float:
    return plan.scale_lme4_timeout if target.scale else plan.lme4_timeout


def sm_timeout(plan: Plan, target: Target) -> float:
    return plan.scale_sm_timeout if target.scale else plan.sm_timeout


def repeat_budget(plan: Plan, target: Target) -> tuple[float, int, int]:
    """(seconds, min_reps, max_reps) of timed fits after the warm-up; scale targets: ~20 s, ≤ 3 fits."""
    return (20.0, 1, 3) if target.scale else (plan.budget, plan.min_reps, plan.max_reps)


def repeat_args(plan: Plan, target: Target) -> list[str]:
    budget, min_reps, max_reps = repeat_budget(plan, target)
    return ["--budget", str(budget), "--min-reps", str(min_reps), "--max-reps", str(max_reps)]


def run_lmmplot(target: Target, plan: Plan) -> ChildResult:
    cmd = [sys.executable, str(HERE / "lmm_child.py"), target.name, *repeat_args(plan, target)]
    return run_child(cmd, plan.lmm_timeout)


def run_lme4(target: Target, plan: Plan) -> ChildResult | None:
    """lme4 on the same rows, written to a temporary CSV; None without Rscript."""
    if shutil.which("Rscript") is None:
        return None
    data = target.load()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / f"{target.name}.csv"
        data.to_csv(csv, index=False)
        del data
        cmd = ["Rscript", str(HERE / "lme4_child.R"), str(csv), target.formula, str(target.REML).upper(),
               ",".join(target.categorical), *map(str, repeat_budget(plan, target))]
        return run_child(cmd, lme4_timeout(plan, target))


def run_statsmodels(target: Target, plan: Plan) -> ChildResult | None:
    if target.statsmodels is None:
        return None
    cmd = [sys.executable, str(HERE / "sm_child.py"), target.name, *repeat_args(plan, target)]
    return run_child(cmd, sm_timeout(plan, target))


# ------------------------------------------------------------------ formatting
def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value >= 10 else f"{value:.3g}"


def child_cell(result: ChildResult | None, timeout: float | None = None) -> str:
    """A child's median time, or why there is none."""
    if result is None:
        return "n/a"
    if result.status == "timeout":
        return f"timeout (>{timeout:.0f} s)" if timeout else "timeout"
    if result.status != "ok":
        return "failed"
    if "skipped" in result.answer:
        return result.answer["skipped"]
    cell = seconds(result.answer["median"])
    if result.answer.get("converged") is False:
        cell += " (not converged)"
    return cell


def verdict(target: Target, row: dict) -> str:
    """'yes', 'no (what failed)' or '? (what is unknown)' for one target."""
    failed, unknown = [], []

    def check(ok: bool | None, what: str) -> None:
        if ok is None:
            unknown.append(what)
        elif not ok:
            failed.append(what)

    t, r, d = row["lmm_time"], row["ratio"], row["objective_diff"]
    if t is None:
        return "no (lmmplot failed)"
    if target.max_ratio is not None:
        check(None if r is None else r <= target.max_ratio, f"ratio ≤ {target.max_ratio}")
    if target.max_seconds is not None:
        check(t < target.max_seconds, f"< {target.max_seconds:g} s")
    if target.max_mb is not None:
        check(row["peak_mb"] < target.max_mb, f"< {target.max_mb / 1024:g} GB")
    check(None if d is None else d <= OBJECTIVE_TOL, "objective")
    if failed:
        return "no (" + ", ".join(failed) + ")"
    if unknown:
        return "? (" + ", ".join(unknown) + " unknown)"
    return "yes"


def summarize(target: Target, lmm: ChildResult, lme4: ChildResult | None, sm: ChildResult | None,
              plan: Plan) -> dict:
    """One row of the table, and the raw numbers behind it."""
    ok = lmm.status == "ok"
    lmm_time = lmm.answer["median"] if ok else None
    lme4_ok = lme4 is not None and lme4.status == "ok"
    lme4_time = lme4.answer["median"] if lme4_ok else None
    row = {
        "target": target.name,
        "formula": target.formula,
        "REML": target.REML,
        "rows": lmm.answer["rows"] if ok else (lme4.answer["rows"] if lme4_ok else None),
        "lmm_time": lmm_time,
        "lmm_times": lmm.answer["times"] if ok else None,
        "lmm_objective": lmm.answer["objective"] if ok else None,
        "lmm_nfev": lmm.answer.get("nfev") if ok else None,
        "lmm_messages": lmm.answer["messages"] if ok else None,
        "lmm_status": lmm.status,
        "lmm_error": lmm.stderr[-2000:] if not ok else "",
        "peak_mb": lmm.peak_mb if ok else None,
        "before_fit_mb": lmm.answer["before_fit_mb"] if ok else None,
        "peak_reset": lmm.answer["peak_reset"] if ok else False,
        "cold_start": {k: lmm.answer[k] for k in ("import_seconds", "first_small_fit_seconds")} if ok else None,
        "lme4_time": lme4_time,
        "lme4_objective": lme4.answer["objective"] if lme4_ok else None,
        "lme4_messages": lme4.answer["messages"] if lme4_ok else None,
        "lme4_peak_mb": lme4.peak_mb if lme4 is not None else None,
        "lme4_env": {k: lme4.answer[k] for k in ("version", "blas")} if lme4_ok else None,
        "lme4_cell": "n/a (no Rscript)" if lme4 is None else child_cell(lme4, lme4_timeout(plan, target)),
        "sm_cell": "n/a (cannot express)" if target.statsmodels is None else child_cell(sm, sm_timeout(plan, target)),
        "sm_time": sm.answer.get("median") if sm is not None and sm.status == "ok" else None,
    }
    row["ratio"] = lmm_time / lme4_time if lmm_time is not None and lme4_time else None
    row["objective_diff"] = (
        row["lmm_objective"] - row["lme4_objective"]
        if row["lmm_objective"] is not None and row["lme4_objective"] is not None else None
    )
    row["met"] = verdict(target, row)
    return row


def markdown_table(rows: list[dict]) -> str:
    head = ["target", "rows", "lmmplot (s)", "lme4 (s)", "lmmplot/lme4", "statsmodels (s)",
            "objective − lme4's", "lmmplot peak MB (fit's share)", "target met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        peak = "—" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
        if r["peak_mb"] is not None and r["peak_reset"]:
            peak += f" (+{r['peak_mb'] - r['before_fit_mb']:.0f})"
        cells = [
            r["target"],
            "—" if r["rows"] is None else f"{r['rows']:,}",
            seconds(r["lmm_time"]) if r["lmm_time"] is not None else r["lmm_status"],
            r["lme4_cell"],
            "—" if r["ratio"] is None else f"{r['ratio']:.3f}",
            r["sm_cell"],
            "—" if r["objective_diff"] is None else f"{r['objective_diff']:+.2e}",
            peak,
            r["met"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def objective_table(rows: list[dict]) -> str:
    """Both objectives in full (−2 log-likelihood, or the REML criterion), and lme4's warnings."""
    def value(v: float | None) -> str:
        return "—" if v is None else f"{v:.6f}"

    lines = ["| target | criterion | lmmplot | lme4 | lme4's convergence messages |", "|---|---|---|---|---|"]
    for r in rows:
        notes = "; ".join(" ".join(m.split()).replace("|", "\\|") for m in r["lme4_messages"] or []) or "—"
        lines.append(f"| {r['target']} | {'REML criterion' if r['REML'] else 'ML deviance'} | {value(r['lmm_objective'])} | "
                     f"{value(r['lme4_objective'])} | {notes} |")
    return "\n".join(lines)


def linearity_table(rows: list[dict]) -> str:
    """Time per row across the linearity series, and whether it stays flat."""
    series = [r for r in rows if BY_NAME[r["target"]].linearity and r["lmm_time"] is not None]
    if not series:
        return ""
    series.sort(key=lambda r: r["rows"])
    base = series[0]["lmm_time"] / series[0]["rows"]
    lines = ["| target | rows | lmmplot (s) | µs per row | per row ÷ smallest's |", "|---|---|---|---|---|"]
    for r in series:
        per_row = r["lmm_time"] / r["rows"]
        lines.append(f"| {r['target']} | {r['rows']:,} | {seconds(r['lmm_time'])} | {per_row * 1e6:.2f} | "
                     f"{per_row / base:.2f} |")
    last = series[-1]["lmm_time"] / series[-1]["rows"] / base
    met = "yes" if len(series) > 1 and last <= LINEARITY_SLACK else ("no" if len(series) > 1 else "? (one size)")
    lines.append(f"\nLinear in rows (largest's time per row ≤ {LINEARITY_SLACK} × smallest's): {met}")
    return "\n".join(lines)


def lmmplot_revision() -> str:
    """The commit the package was measured at, '+ changes' when lmmplot/ differs from it (read-only git)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "(no git)"
    return commit + (" + uncommitted changes" if git("status", "--porcelain", "--", "lmmplot") else "")


def environment(revision: str, rows: list[dict] | None = None) -> str:
    """Versions, BLAS, cores, OPENBLAS_CORETYPE and lmmplot's ``revision``; lme4's and R's BLAS once R has run."""
    import numpy

    blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    parts = [
        f"Python {platform.python_version()}, numpy {numpy.__version__} ({blas.get('name')} {blas.get('version')})",
        f"{os.cpu_count()} cores",
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}",
        "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()),
    ]
    parts.append(f"lmmplot at {revision}")
    r_info = next((r["lme4_env"] for r in rows or [] if r.get("lme4_env")), None)
    if r_info:
        parts.append(f"lme4 {r_info['version']} (R's BLAS: {r_info['blas']})")
    return "; ".join(parts)


def report(env: str, rows: list[dict]) -> None:
    """Print the tables: the main one, the objectives, cold start, linearity."""
    print(f"Environment: {env}\n")
    print(markdown_table(rows))
    print("\nObjectives at the optimum (lower is better):\n")
    print(objective_table(rows))
    cold = [r["cold_start"] for r in rows if r["cold_start"]]
    if cold:
        imports = sorted(c["import_seconds"] for c in cold)[len(cold) // 2]
        first = sorted(c["first_small_fit_seconds"] for c in cold)[len(cold) // 2]
        print(f"\nCold start in a fresh process (median over the children): `import lmmplot` {seconds(imports)} s, "
              f"then the first sleepstudy fit {seconds(first)} s (the timed fits above come after it).")
    lin = linearity_table(rows)
    if lin:
        print("\n" + lin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and shorter time limits")
    parser.add_argument("--scale", action="store_true", help="also the scale runs (1M to 10M rows; minutes)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(BY_NAME),
                        help="run only these targets (scale targets named here run without --scale)")
    parser.add_argument("--no-lme4", action="store_true", help="skip lme4")
    parser.add_argument("--no-statsmodels", action="store_true", help="skip statsmodels")
    parser.add_argument("--json", metavar="PATH", help="also write every raw number to PATH")
    parser.add_argument("--show", metavar="PATH", help="print the tables of a --json file again, and stop")
    args = parser.parse_args()
    if args.show:
        saved = json.loads(Path(args.show).read_text())
        report(saved["environment"], saved["rows"])
        return
    plan = plan_for(args.quick)
    if args.only:
        chosen = [t for t in TARGETS if t.name in args.only]
    else:
        chosen = [t for t in TARGETS if args.scale or not t.scale]
    revision = lmmplot_revision()  # taken first: the tree may change during a long run
    print(environment(revision), file=sys.stderr)
    rows = []
    for target in chosen:
        print(f"[{target.name}] lmmplot ...", file=sys.stderr, flush=True)
        lmm = run_lmmplot(target, plan)
        if lmm.status != "ok":
            print(f"[{target.name}] lmmplot {lmm.status}: {lmm.stderr[-1000:]}", file=sys.stderr)
        lme4 = None
        if not args.no_lme4:
            print(f"[{target.name}] lme4 ...", file=sys.stderr, flush=True)
            lme4 = run_lme4(target, plan)
            if lme4 is not None and lme4.status == "failed":
                print(f"[{target.name}] lme4 failed: {lme4.stderr[-1000:]}", file=sys.stderr)
        sm = None
        if not args.no_statsmodels and target.statsmodels is not None:
            print(f"[{target.name}] statsmodels ...", file=sys.stderr, flush=True)
            sm = run_statsmodels(target, plan)
        row = summarize(target, lmm, lme4, sm, plan)
        if args.no_lme4:
            row["lme4_cell"] = "skipped"
        if args.no_statsmodels and target.statsmodels is not None:
            row["sm_cell"] = "skipped"
        rows.append(row)
        print(f"[{target.name}] lmmplot {seconds(row['lmm_time'])} s, lme4 {row['lme4_cell']}, "
              f"statsmodels {row['sm_cell']}, met: {row['met']}", file=sys.stderr, flush=True)
    report(environment(revision, rows), rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"environment": environment(revision, rows), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
