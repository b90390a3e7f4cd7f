"""Time statsmodels' MixedLM on one target in this (fresh) process; print the result as JSON.

Usage: python benchmarks/sm_child.py NAME [--budget S] [--min-reps K] [--max-reps K]
"""
from __future__ import annotations

import json
import statistics
import warnings

from measure import child_args, timed_repeats
from targets import BY_NAME, StatsmodelsSpec, Target

DENSE_COPIES = 6  # how many n × levels dense arrays MixedLM holds at once (patsy, exog_vc, products)
DENSE_LIMIT_GB = 6.0


def dense_design_gb(target: Target, data) -> float:
    """Memory MixedLM's dense variance-component design would take, in GB (0 without components)."""
    spec = target.statsmodels
    if not spec.vc_formula:
        return 0.0
    levels = sum(data[column].nunique() for column in spec.vc_formula)
    return DENSE_COPIES * 8.0 * len(data) * levels / 1e9


def fit_mixedlm(spec: StatsmodelsSpec, data, reml: bool):
    import statsmodels.formula.api as smf

    warnings.simplefilter("ignore")  # statsmodels turns its ConvergenceWarning back on at import
    groups = spec.groups
    if groups is None:
        groups = "_one_group"
        data = data.assign(_one_group=1)
    model = smf.mixedlm(spec.fixed, data, groups=groups, re_formula=spec.re_formula, vc_formula=spec.vc_formula)
    return model.fit(reml=reml)


def main() -> None:
    args = child_args(BY_NAME)
    target = BY_NAME[args.name]
    data = target.load()
    size = dense_design_gb(target, data)
    if size > DENSE_LIMIT_GB:
        print(json.dumps({"skipped": f"n/a (dense design too large: ~{size:.0f} GB)"}))
        return
    times, result = timed_repeats(
        lambda: fit_mixedlm(target.statsmodels, data, target.REML),
        args.budget, args.min_reps, args.max_reps,
    )
    print(json.dumps({
        "times": times,
        "median": statistics.median(times),
        "converged": bool(result.converged),
    }))


if __name__ == "__main__":
    main()
