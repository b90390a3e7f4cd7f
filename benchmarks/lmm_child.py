"""Time ``lp.lmer`` on one target in this (fresh) process; print the result as JSON.

Usage: python benchmarks/lmm_child.py NAME [--budget S] [--min-reps K] [--max-reps K]
"""
from __future__ import annotations

import json
import statistics
import time
import warnings

from measure import child_args, memory_mb, reset_peak_memory, timed_repeats
from targets import BY_NAME


def main() -> None:
    args = child_args(BY_NAME)
    target = BY_NAME[args.name]
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    import lmmplot as lp  # timed: part of a user's first call

    import_seconds = time.perf_counter() - t0
    small = lp.load_dataset("sleepstudy")
    t0 = time.perf_counter()
    lp.lmer("Reaction ~ Days + (Days|Subject)", small)  # loads (and compiles) every code path
    first_fit_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = target.load()
    load_seconds = time.perf_counter() - t0
    peak_reset = reset_peak_memory()  # the peak from here on is the fits' (data and imports resident)
    before_mb, _ = memory_mb()

    def fit():
        return lp.lmer(target.formula, data, REML=target.REML)

    times, model = timed_repeats(fit, args.budget, args.min_reps, args.max_reps)
    print(json.dumps({
        "rows": int(model.nobs),
        "times": times,
        "median": statistics.median(times),
        "objective": -2.0 * float(model.logLik()),
        "theta": [float(v) for v in model.theta],
        "nfev": int(model.optim.nfev) if model.optim is not None else None,
        "messages": list(model.messages),
        "load_seconds": load_seconds,
        "import_seconds": import_seconds,
        "first_small_fit_seconds": first_fit_seconds,
        "before_fit_mb": before_mb,
        "peak_reset": peak_reset,
    }))


if __name__ == "__main__":
    main()
