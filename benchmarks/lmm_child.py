"""Time ``lp.lmer`` on one target in this (fresh) process; print the result as JSON.

Usage: python benchmarks/lmm_child.py NAME [--budget S] [--min-reps K] [--max-reps K] [--no-warm-up]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
import warnings

from measure import timed_repeats
from targets import BY_NAME


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(BY_NAME))
    parser.add_argument("--budget", type=float, default=3.0)
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--max-reps", type=int, default=30)
    parser.add_argument("--no-warm-up", action="store_true", help="skip the untimed fit of the target itself")
    args = parser.parse_args()
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
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    def fit():
        return lp.lmer(target.formula, data, REML=target.REML)

    times, model = timed_repeats(fit, args.budget, args.min_reps, args.max_reps, warm_up=not args.no_warm_up)
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
    }))


if __name__ == "__main__":
    main()
