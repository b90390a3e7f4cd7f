"""Minimize the profiled deviance over θ: BOBYQA, a Newton check, restarts.

lme4's default (BOBYQA with loose tolerances) sometimes stops short of the optimum; here
the optimizer works on θ rescaled by each random effect's scale, confirms an interior
optimum by a Newton step, and otherwise restarts from its own answer until a restart no
longer lowers the objective. Where the objective is flat towards a bound (a variance that is
really zero), BOBYQA creeps; so small bounded components are then tried at the bound
itself, and kept there if no worse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import nlopt
import numpy as np
import scipy.linalg

from .errors import ArgumentTypeError
from .minqa import bobyqa as powell_bobyqa
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


# ------------------------------------------------------------------ lme4's own path
LME4_OPTIMIZERS = ("nloptwrap", "bobyqa", "Nelder_Mead")

# nloptr's words for NLopt's return codes (lme4 reports them for a code < 0 or 5)
_NLOPT_MESSAGES = {
    1: "NLOPT_SUCCESS: Generic success return value.",
    2: "NLOPT_STOPVAL_REACHED: Optimization stopped because stopval (above) was reached.",
    3: "NLOPT_FTOL_REACHED: Optimization stopped because ftol_rel or ftol_abs (above) was reached.",
    4: "NLOPT_XTOL_REACHED: Optimization stopped because xtol_rel or xtol_abs (above) was reached.",
    5: "NLOPT_MAXEVAL_REACHED: Optimization stopped because maxeval (above) was reached.",
    6: "NLOPT_MAXTIME_REACHED: Optimization stopped because maxtime (above) was reached.",
    -1: "NLOPT_FAILURE: Generic failure code.",
    -2: "NLOPT_INVALID_ARGS: Invalid arguments (e.g. lower bounds are bigger than upper bounds, "
        "an unknown algorithm was specified, etcetera).",
    -3: "NLOPT_OUT_OF_MEMORY: Ran out of memory.",
    -4: "NLOPT_ROUNDOFF_LIMITED: Roundoff errors led to a breakdown of the optimization algorithm. "
        "In this case, the returned minimum may still be useful. (e.g. this error occurs in NEWUOA "
        "if one tries to achieve a tolerance too close to machine precision.)",
    -5: "NLOPT_FORCED_STOP: Halted because of a forced termination: the user called "
        "nlopt_force_stop(opt) on the optimization's nlopt_opt object opt from the user's "
        "objective function or constraints.",
}


@dataclass(frozen=True)
class lmerControl:  # noqa: N801 (lme4's name)
    """lme4's ``lmerControl``: fit along lme4's own optimizer path, to lme4's stopping point.

    ``lmer(..., control=lmerControl())`` runs lme4's default, ``"nloptwrap"`` (NLopt's BOBYQA
    with nloptr's and lme4's settings: ``xtol_rel=1e-4``, ``xtol_abs=1e-8``, ``ftol_abs=1e-8``,
    ``maxeval=1e5``, NLopt's default first step), ``"bobyqa"`` (minqa's Powell BOBYQA:
    ``npt = n + 2``, ``rhobeg = min(0.95, 0.2 max|θ₀|)``, ``rhoend = 1e-6 rhobeg``,
    ``maxfun = 10000``), or ``"Nelder_Mead"`` (lme4's own bounded
    Nelder-Mead: ``xst=0.02``, ``xt=xst*5e-4``, ``XtolRel=1e-7``, ``maxfun=10000``), from lme4's
    start, with lme4's restart at the edge and boundary check, and no restarts or polish of
    lmmplot's own; so that a printout can be matched to one made with lme4, including where
    lme4 stops short. Without ``control``, ``lmer`` searches for the best optimum instead.

    Parameters
    ----------
    optimizer : str
        ``"nloptwrap"``, ``"bobyqa"`` or ``"Nelder_Mead"``.
    restart_edge : bool
        Restart once when a θ on its bound has a negative one-sided slope (lme4's).
    boundary_tol : float
        Move θ within this of its bound onto the bound where that is no worse (0: never).
    optCtrl : dict
        Settings passed to the optimizer, under lme4's names (nloptr's ``xtol_rel``,
        ``maxeval`` ...; minqa's ``npt``, ``rhobeg``, ``rhoend``, ``maxfun``; Nelder_Mead's ``xst``, ``xt``, ``XtolRel``, ``maxfun``, ``MinfMax``).
    """

    optimizer: str = "nloptwrap"
    restart_edge: bool = True
    boundary_tol: float = 1e-5
    optCtrl: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.optimizer not in LME4_OPTIMIZERS:
            raise ArgumentTypeError(
                f"optimizer must be one of {list(LME4_OPTIMIZERS)}, not {self.optimizer!r}")


@dataclass
class Lme4Optim:
    """Where lme4's path stopped, as lme4's ``@optinfo`` reports it."""

    theta: np.ndarray
    fun: float
    feval: int
    conv: int
    message: str
    derivs_at: np.ndarray  # where lme4 takes the derivatives for its convergence check
    warnings: list[str]  # the optimizer's own warnings (optinfo$warnings)
    conv_warning: list[str]  # optwrap's warning of a nonzero code (warned, not stored by lme4)


def nloptwrap(fun, x0: np.ndarray, lower: np.ndarray, settings: dict) -> tuple[np.ndarray, float, int, int, str]:
    """lme4's ``nloptwrap``: NLopt's BOBYQA with nloptr's defaults and lme4's tolerances.

    Returns θ, its value, the number of evaluations, lme4's convergence code (NLopt's status
    where it is negative or 5, else 0) and nloptr's message.
    """
    opts = {"xtol_rel": 1e-4, "xtol_abs": 1e-8, "ftol_abs": 1e-8, "ftol_rel": 0.0, "maxeval": 100000,
            **settings}
    best = [np.inf, np.asarray(x0, float).copy()]

    def objective(x, grad):
        value = fun(x)
        if value < best[0]:
            best[0], best[1] = value, x.copy()
        return value

    opt = nlopt.opt(nlopt.LN_BOBYQA, x0.size)
    opt.set_min_objective(objective)
    opt.set_lower_bounds(lower)
    opt.set_xtol_rel(opts["xtol_rel"])
    opt.set_xtol_abs(opts["xtol_abs"])
    opt.set_ftol_abs(opts["ftol_abs"])
    opt.set_ftol_rel(opts["ftol_rel"])
    opt.set_maxeval(int(opts["maxeval"]))
    try:
        x = opt.optimize(np.asarray(x0, float))
        value, status = opt.last_optimum_value(), opt.last_optimize_result()
    except nlopt.RoundoffLimited:
        x, value, status = best[1], best[0], -4
    except (RuntimeError, ValueError):
        x, value, status = best[1], best[0], -1
    conv = status if status < 0 or status == 5 else 0
    return np.asarray(x), float(value), opt.get_numevals(), conv, _NLOPT_MESSAGES.get(status, "")


# minqa's codes and words for Powell's IERR (lme4 takes the code as its convergence code)
_MINQA_CODES = {0: (0, "Normal exit from bobyqa"),
                10: (2, "bobyqa -- NPT is not in the required interval"),
                320: (5, "bobyqa detected too much cancellation in denominator"),
                390: (1, "bobyqa -- maximum number of function evaluations exceeded"),
                430: (3, "bobyqa -- a trust region step failed to reduce q"),
                20: (4, "bobyqa -- one of the box constraint ranges is too small (< 2*RHOBEG)")}


def minqa_bobyqa(fun, x0: np.ndarray, lower: np.ndarray, settings: dict) -> tuple[np.ndarray, float, int, int, str]:
    """lme4's ``bobyqa``: minqa's Powell BOBYQA through lme4's optwrap, with minqa's defaults.

    A start of all zeros becomes 0.001 (optwrap's); ``npt = n + 2``, ``rhobeg = min(0.95,
    0.2 max|x0|)``, ``rhoend = 1e-6 rhobeg``, ``maxfun = 10000`` unless ``settings`` says
    otherwise; no upper bounds. Returns θ, its value (evaluated afresh, as minqa does), the
    evaluations, minqa's code (lme4's convergence code) and minqa's message.
    """
    x0 = np.asarray(x0, float).copy()
    if np.all(x0 == 0):
        x0[:] = 0.001
    n = x0.size
    npt = int(max(n + 2, min(settings.get("npt", min(n + 2, 2 * n)), (n + 1) * (n + 2) // 2)))
    rhobeg = settings.get("rhobeg", min(0.95, 0.2 * np.max(np.abs(x0))))
    rhoend = settings.get("rhoend", 1e-6 * rhobeg)
    x, feval, ierr = powell_bobyqa(fun, x0, lower, np.full(n, np.inf), rhobeg, rhoend, npt,
                            int(settings.get("maxfun", 10000)))
    code, message = _MINQA_CODES[ierr]
    return x, float(fun(x)), feval, code, message


def minqa_warnings(n: int, settings: dict) -> list[str]:
    """minqa's warnings about its settings, which lme4 keeps in ``optinfo$warnings``."""
    said = []
    if set(settings) - {"npt", "rhobeg", "rhoend", "iprint", "maxfun", "obstop", "force.start"}:
        said.append("unused control arguments ignored")
    if max(n + 2, min(settings.get("npt", n + 2), (n + 1) * (n + 2) // 2)) > 2 * n + 1:
        said.append("Setting npt > 2 * length(par) + 1 is not recommended.")
    if settings.get("maxfun", 10000) < 10 * n ** 2:
        said.append("maxfun < 10 * length(par)^2 is not recommended.")
    return said


_NM_MESSAGES = {  # lme4's Nelder_Mead, by its result code
    1: "objective function went below allowed minimum",
    2: "objective function values converged to within tolerance",
    3: "parameter values converged to within tolerance",
}


def nelder_mead(fun, x0: np.ndarray, lower: np.ndarray, settings: dict) -> tuple[np.ndarray, float, int, int, str]:
    """lme4's ``Nelder_Mead``: its bounded Nelder-Mead (after NLopt's nldrmd), its settings.

    The simplex starts at ``x0`` and ``x0 + xst[i] eᵢ`` (``xst = 0.02``); each step reflects the
    worst vertex through the centroid of the others (coefficient 1), expands a new best point
    (2), contracts inside (1/2) a point no better than the worst, and otherwise shrinks towards
    the best vertex (1/2) and evaluates the simplex afresh; points are pinned to the bounds. It
    stops when every coordinate of the simplex lies within ``xt = xst * 5e-4`` (or ``XtolRel``
    relative) of the centroid, when a reflection lands on the centroid or on the point it
    reflects, or after ``maxfun`` evaluations. Returns θ, its value, the evaluations, lme4's
    convergence code (0, or 4 after ``maxfun``) and lme4's message.
    """
    x0 = np.asarray(x0, float)
    n = x0.size
    xst = np.asarray(settings.get("xst", np.full(n, 0.02)), float)
    xt = np.asarray(settings.get("xt", xst * 5e-4), float)
    xtol_rel = settings.get("XtolRel", 1e-7)
    maxfun = int(settings.get("maxfun", 10000))
    minf_max = settings.get("MinfMax", -np.finfo(float).max)
    upper = np.full(n, np.inf)

    def close(a, b):
        return np.abs(a - b) <= 1e-13 * (np.abs(a) + np.abs(b))

    def reflect(centre, scale, old):
        """centre + scale (centre - old), pinned to the bounds; None where it coincides."""
        new = np.minimum(np.maximum(centre + scale * (centre - old), lower), upper)
        if np.all(close(new, centre)) or np.all(close(new, old)):
            return None
        return new

    pts = np.tile(x0, (n + 1, 1))  # one vertex per row
    for i in range(n):
        v = x0[i] + xst[i]
        step = abs(xst[i])
        if v > upper[i]:
            v = upper[i] if upper[i] - x0[i] > 0.1 * step else x0[i] - step
        if v < lower[i]:
            if x0[i] - lower[i] > 0.1 * step:
                v = lower[i]
            else:
                v = x0[i] + step
                if v > upper[i]:
                    v = 0.5 * ((upper[i] if upper[i] - x0[i] > x0[i] - lower[i] else lower[i]) + x0[i])
        if close(v, x0[i]):
            raise ArgumentTypeError("Nelder_Mead: cannot generate a feasible simplex")
        pts[i + 1, i] = v

    evals, best = 0, [np.inf, x0.copy()]

    def evaluate(x):
        nonlocal evals
        evals += 1
        value = fun(x)
        if value < best[0]:
            best[0], best[1] = value, x.copy()
        return value

    def stop_code():
        """1 when the target value is reached, 4 past the evaluation budget, else None."""
        return 1 if best[0] < minf_max else 4 if evals > maxfun else None

    def result(code):
        if code == 4:
            return best[1], best[0], evals, 4, f"failure to converge in {maxfun} evaluations"
        return best[1], best[0], evals, 0, _NM_MESSAGES[code]

    vals = np.empty(n + 1)
    while True:
        for k in range(n + 1):  # (re-)evaluate the simplex
            vals[k] = evaluate(pts[k])
            if (code := stop_code()) is not None:
                return result(code)
        while True:  # one Nelder-Mead step per pass, until convergence or a shrink
            low, high = int(np.argmin(vals)), int(np.argmax(vals))
            f_low, f_high = vals[low], vals[high]
            centre = (pts.sum(axis=0) - pts[high]) / n
            spread = np.abs(pts - centre).max(axis=0)
            if np.all((spread < xt) | (spread < xtol_rel * spread * 0.5) | ((spread == 0) & (xtol_rel > 0))):
                return result(3)
            reflected = reflect(centre, 1.0, pts[high])
            if reflected is None:
                return result(3)
            f = evaluate(reflected)
            if (code := stop_code()) is not None:
                return result(code)
            if f < f_low:  # a new best point: try further
                expanded = reflect(centre, 2.0, pts[high])
                if expanded is None:
                    return result(3)
                f_exp = evaluate(expanded)
                if (code := stop_code()) is not None:
                    return result(code)
                if f_exp < vals[high]:
                    pts[high], vals[high] = expanded, f_exp
                else:
                    pts[high], vals[high] = reflected, f
                continue
            if f < f_high:  # accept the reflection
                pts[high], vals[high] = reflected, f
                continue
            contracted = reflect(centre, -0.5 if f_high <= f else 0.5, pts[high])
            if contracted is None:
                return result(3)
            f_con = evaluate(contracted)
            if (code := stop_code()) is not None:
                return result(code)
            if f_con < f and f_con < f_high:
                pts[high], vals[high] = contracted, f_con
                continue
            for k in range(n + 1):  # shrink towards the best vertex
                if k != low:
                    shrunk = reflect(pts[low], -0.5, pts[k])
                    if shrunk is None:
                        return result(3)
                    pts[k] = shrunk
            break


def lme4_path(fun: Callable[[np.ndarray], float], start: np.ndarray, lower: np.ndarray,
              control: lmerControl) -> Lme4Optim:
    """lme4's ``optimizeLmer``: the optimizer from lme4's start, one restart where a θ on its
    bound slopes downwards into the interior, then lme4's boundary check."""
    run = {"nloptwrap": nloptwrap, "bobyqa": minqa_bobyqa, "Nelder_Mead": nelder_mead}[control.optimizer]

    def optwrap(x0):
        x, value, feval, conv, message = run(fun, x0, lower, control.optCtrl)
        said = [] if conv == 0 else [f"convergence code {conv} from {control.optimizer}: {message}"]
        own = minqa_warnings(x0.size, control.optCtrl) if control.optimizer == "bobyqa" else []
        return Lme4Optim(x, value, feval, conv, message, x.copy(), own, said)

    opt = optwrap(np.asarray(start, float))
    on_bound = np.flatnonzero(opt.theta == lower)
    if control.restart_edge and on_bound.size:
        base = fun(opt.theta)
        step = 1e-5
        slopes = []
        for i in on_bound:
            trial = opt.theta.copy()
            trial[i] = lower[i] + step
            slopes.append((fun(trial) - base) / step)
        if min(slopes) < 0:
            opt = optwrap(opt.theta)
    if control.boundary_tol > 0:
        gap = opt.theta - lower
        edge = np.flatnonzero((gap > 0) & (gap < control.boundary_tol))
        if edge.size:
            theta = opt.theta.copy()
            for i in edge:
                trial = theta.copy()
                trial[i] = lower[i]
                if fun(trial) < opt.fun:
                    theta[i] = lower[i]
            opt.theta, opt.fun = theta, fun(theta)
    return opt
