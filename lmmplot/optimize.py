"""Minimize the profiled deviance over θ: BOBYQA, restarted until it stops improving.

lme4's default (BOBYQA with loose tolerances) sometimes stops short of the optimum; here
the optimizer works on θ rescaled by each random effect's scale, with tight tolerances,
and restarts from its own answer until a restart no longer lowers the objective. Where the
objective is flat towards a bound (a variance that is really zero), BOBYQA creeps; so
small bounded components are then tried at the bound itself, and kept there if no worse.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import nlopt
import numpy as np


RESTART_STEP = 0.02


@dataclass
class OptimResult:
    theta: np.ndarray
    fun: float
    nfev: int
    restarts: int


def minimize_theta(
    fun: Callable[[np.ndarray], float],
    start: np.ndarray,
    lower: np.ndarray,
    scale: np.ndarray,
    max_restarts: int = 4,
) -> OptimResult:
    """Minimize ``fun(θ)`` subject to ``θ >= lower``, working on ``θ / scale``.

    Parameters
    ----------
    fun : callable
        The objective, a pure function of θ.
    start, lower, scale : numpy.ndarray
        Starting point, lower bounds (``-inf`` where unbounded) and the scale of each θ.
    max_restarts : int
        How many times BOBYQA may restart from its own answer.
    """
    nfev = 0

    def scaled(phi, grad):
        nonlocal nfev
        nfev += 1
        value = fun(phi * scale)
        return value if np.isfinite(value) else 1e300

    phi = np.maximum(np.asarray(start, float) / scale, lower / scale)
    lower_phi = lower / scale
    best = scaled(phi, None)
    restarts = 0
    for attempt in range(max_restarts + 1):
        new_phi, value = _bobyqa(scaled, phi, lower_phi, step=0.2 if attempt == 0 else RESTART_STEP)
        improved = best - value
        if value <= best:
            phi, best = new_phi, value
        restarts += attempt > 0
        if attempt > 0 and improved < 1e-7:
            break
    snapped, snapped_value = _snap_to_bounds(scaled, phi, best, lower_phi)
    if snapped_value <= best and not np.array_equal(snapped, phi):
        phi, best = snapped, snapped_value
        new_phi, value = _bobyqa(scaled, phi, lower_phi, step=RESTART_STEP)
        if value <= best:
            phi, best = new_phi, value
    return OptimResult(phi * scale, best, nfev, restarts)


def _bobyqa(fun, phi: np.ndarray, lower: np.ndarray, step: float) -> tuple[np.ndarray, float]:
    """One BOBYQA run from ``phi`` with tight tolerances, first steps ``step`` × |φ| (or ``step``)."""
    opt = nlopt.opt(nlopt.LN_BOBYQA, phi.size)
    opt.set_min_objective(fun)
    opt.set_lower_bounds(lower)
    opt.set_ftol_rel(1e-12)
    opt.set_ftol_abs(1e-10)
    opt.set_xtol_abs(1e-9)
    opt.set_maxeval(20000)
    opt.set_initial_step(np.where(np.abs(phi) > 0.5, step * np.abs(phi), step / 2))
    try:
        new_phi = opt.optimize(phi)
        return new_phi, opt.last_optimum_value()
    except (nlopt.RoundoffLimited, RuntimeError, ValueError):
        return phi, fun(phi, None)


def _snap_to_bounds(fun, phi: np.ndarray, value: float, lower: np.ndarray,
                    near: float = 0.05) -> tuple[np.ndarray, float]:
    """Move each component within ``near`` of its bound onto it while that is no worse."""
    phi = phi.copy()
    for i in np.flatnonzero(np.isfinite(lower) & (phi - lower > 0) & (phi - lower < near)):
        trial = phi.copy()
        trial[i] = lower[i]
        trial_value = fun(trial, None)
        if trial_value <= value:
            phi, value = trial, trial_value
    return phi, value
