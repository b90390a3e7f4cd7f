"""Minimize the profiled deviance over θ: BOBYQA, a Newton check, restarts.

lme4's default (BOBYQA with loose tolerances) sometimes stops short of the optimum; here
the optimizer works on θ rescaled by each random effect's scale, confirms an interior
optimum by a Newton step, and otherwise restarts from its own answer until a restart no
longer lowers the objective. Where the objective is flat towards a bound (a variance that is
really zero), BOBYQA creeps; so small bounded components are then tried at the bound
itself, and kept there if no worse.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import nlopt
import numpy as np
import scipy.linalg

from .numderiv import deriv12


RESTART_STEP = 0.02
SINGULAR_TOL = 1e-4  # lme4's isSingular tolerance on θ


@dataclass
class OptimResult:
    """The optimum found, and at an interior optimum the derivatives lme4 checks there
    (None where they were not computed at ``theta`` itself)."""

    theta: np.ndarray
    fun: float
    nfev: int
    restarts: int
    grad: np.ndarray | None = None
    hess: np.ndarray | None = None


def minimize_theta(
    fun: Callable[[np.ndarray], float],
    start: np.ndarray,
    lower: np.ndarray,
    scale: np.ndarray,
    max_restarts: int = 4,
    second_start: bool = True,
) -> OptimResult:
    """Minimize ``fun(θ)`` subject to ``θ >= lower``, working on ``θ / scale``.

    A first BOBYQA pass finds the optimum's neighbourhood; where evaluations are cheap, a
    second pass with larger first steps guards against a local optimum (the profiled criterion
    has several on some data: dragons, health, solutions). At an interior optimum, the
    central-difference gradient and Hessian (which lme4's convergence check needs anyway)
    give a Newton step; a small step means converged. Otherwise, and on the boundary,
    BOBYQA restarts with tight tolerances until a restart no longer lowers the objective.

    Parameters
    ----------
    fun : callable
        The objective, a pure function of θ.
    start, lower, scale : numpy.ndarray
        Starting point, lower bounds (``-inf`` where unbounded) and the scale of each θ.
    max_restarts : int
        How many times BOBYQA may restart from its own answer.
    second_start : bool
        Also run the first pass with larger first steps, and go on from the better answer.
    """
    nfev = 0

    def counted(theta):
        nonlocal nfev
        nfev += 1
        value = fun(theta)
        return value if np.isfinite(value) else 1e300

    def scaled(phi, grad):
        return counted(phi * scale)

    lower_phi = lower / scale
    phi0 = np.maximum(np.asarray(start, float) / scale, lower_phi)
    phi, best = bobyqa(scaled, phi0, lower_phi, step=0.2, ftol_rel=1e-8)
    if second_start:
        other, value = bobyqa(scaled, phi0, lower_phi, step=0.6, ftol_rel=1e-8)
        if value < best:
            phi, best = other, value
    restarts = 0
    while True:
        theta = phi * scale
        grad = hess = None
        interior = bool(np.all(theta[lower == 0] >= SINGULAR_TOL))
        if interior:
            grad, hess = deriv12(counted, theta)
            step = _newton_step(grad, hess)
            if step is not None and np.all(theta - step >= lower):
                value = counted(theta - step)
                if value <= best + 1e-11 * abs(best):
                    phi, best = (theta - step) / scale, value
                if np.max(np.abs(step / scale)) < 1e-3:
                    break
        if restarts == max_restarts:
            break
        new_phi, value = bobyqa(scaled, phi, lower_phi, step=RESTART_STEP, ftol_rel=1e-12)
        restarts += 1
        gain = best - value
        if value <= best:
            phi, best = new_phi, value
        if not interior and gain < 1e-7:
            break
    if grad is None:
        snapped, snapped_value = _snap_to_bounds(scaled, phi, best, lower_phi)
        if _no_worse(snapped_value, best) and not np.array_equal(snapped, phi):
            phi, best = snapped, snapped_value
            new_phi, value = bobyqa(scaled, phi, lower_phi, step=RESTART_STEP, ftol_rel=1e-12)
            if value <= best:
                phi, best = new_phi, value
    elif not np.array_equal(phi * scale, theta):  # the derivatives are those of an earlier point
        grad = hess = None
    return OptimResult(phi * scale, best, nfev, restarts, grad, hess)


def _newton_step(grad: np.ndarray, hess: np.ndarray) -> np.ndarray | None:
    """H⁻¹g, or None where H is not positive definite."""
    try:
        return scipy.linalg.cho_solve((np.linalg.cholesky(hess), True), grad)
    except np.linalg.LinAlgError:
        return None


def bobyqa(fun, x: np.ndarray, lower: np.ndarray, step, ftol_rel: float, upper=None,
           ftol_abs: float = 1e-10, xtol_abs=1e-9) -> tuple[np.ndarray, float]:
    """One BOBYQA run (NLopt's, as lme4's default) from ``x``; ``fun(x, grad)`` as NLopt calls it.

    ``step`` is the first step: an array, or a factor of |x| (half of it where |x| is small).
    Returns ``x`` and its value unchanged when NLopt gives up at the start.
    """
    opt = nlopt.opt(nlopt.LN_BOBYQA, x.size)
    opt.set_min_objective(fun)
    opt.set_lower_bounds(lower)
    if upper is not None:
        opt.set_upper_bounds(upper)
    opt.set_ftol_rel(ftol_rel)
    opt.set_ftol_abs(ftol_abs)
    opt.set_xtol_abs(xtol_abs)
    opt.set_maxeval(20000)
    if np.ndim(step) == 0:
        step = np.where(np.abs(x) > 0.5, step * np.abs(x), step / 2)
    opt.set_initial_step(step)
    try:
        new_x = opt.optimize(x)
        return new_x, opt.last_optimum_value()
    except (nlopt.RoundoffLimited, RuntimeError, ValueError):
        return x, fun(x, None)


def _snap_to_bounds(fun, phi: np.ndarray, value: float, lower: np.ndarray,
                    near: float = 0.05) -> tuple[np.ndarray, float]:
    """Move each component within ``near`` of its bound onto it while that is no worse."""
    phi = phi.copy()
    for i in np.flatnonzero(np.isfinite(lower) & (phi - lower > 0) & (phi - lower < near)):
        trial = phi.copy()
        trial[i] = lower[i]
        trial_value = fun(trial, None)
        if _no_worse(trial_value, value):
            phi, value = trial, trial_value
    return phi, value


def _no_worse(value: float, best: float) -> bool:
    """``value`` is not above ``best`` by more than the criterion's rounding (a few ulps)."""
    return value <= best + 8 * np.finfo(float).eps * abs(best)
