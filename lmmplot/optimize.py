"""Minimize the profiled deviance over θ: BOBYQA, restarted until it stops improving.

lme4's default (BOBYQA with loose tolerances) sometimes stops short of the optimum; here
the optimizer works on θ rescaled by each random effect's scale, with tight tolerances,
and restarts from its own answer until a restart no longer lowers the objective.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import nlopt
import numpy as np


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

    phi = np.asarray(start, float) / scale
    lower_phi = lower / scale
    best = scaled(phi, None)
    restarts = 0
    for attempt in range(max_restarts + 1):
        opt = nlopt.opt(nlopt.LN_BOBYQA, phi.size)
        opt.set_min_objective(scaled)
        opt.set_lower_bounds(lower_phi)
        opt.set_ftol_rel(1e-12)
        opt.set_ftol_abs(1e-10)
        opt.set_xtol_abs(1e-9)
        opt.set_maxeval(20000)
        opt.set_initial_step(np.where(np.abs(phi) > 0.1, 0.2 * np.abs(phi), 0.1))
        start_phi = np.maximum(phi, lower_phi)
        try:
            new_phi = opt.optimize(start_phi)
            value = opt.last_optimum_value()
        except (nlopt.RoundoffLimited, RuntimeError, ValueError):
            new_phi, value = start_phi, scaled(start_phi, None)
        improved = best - value
        if value <= best:
            phi, best = new_phi, value
        if attempt > 0:
            restarts += 1
        if attempt > 0 and improved < 1e-7:
            break
    return OptimResult(phi * scale, best, nfev, restarts)
