"""Confidence intervals for a fit's parameters, as lme4's ``confint.merMod`` computes them.

The parameters are lme4's: for each random-effects term its standard deviations and
correlations (lower triangle, column by column, as θ is stored), then the residual sd σ,
then the fixed effects. Three methods:

- ``"profile"``: likelihood profiles. As lme4 (1.1-31) does, a REML fit is first refitted by
  maximum likelihood and every profile is of the ML deviance, so the intervals surround the
  ML estimates. For a variance parameter the deviance is minimized over all the other
  variance parameters (β at its conditional estimate); for a fixed effect β_j the model is
  refitted with x_j β_j as an offset. An end point is where the signed square root of the
  deviance change crosses ∓z; where it never does before a bound (0 for an sd, ±1 for a
  correlation) the bound is the end point. End points are found by root-finding on the
  profile itself, where lme4 interpolates a spline through the points it visited.
- ``"Wald"``: β ± z·se for the fixed effects; NaN for the variance parameters.
- ``"boot"``: parametric bootstrap (lme4's ``bootMer``): responses simulated from the fit,
  refitted with the fit's criterion, and percentile intervals as ``boot.ci`` interpolates them.
"""
from __future__ import annotations

import copy
import dataclasses
import sys
import time
import warnings

import numpy as np
import pandas as pd
import scipy.optimize

from .distributions import norm_ppf
from . import names as naming
from .errors import ArgumentTypeError, ConvergenceWarning, DataError
from .linalg import BlockedSystem
from .optimize import bobyqa, minimize_theta

_METHODS = ("profile", "Wald", "boot")
_NAME_STYLES = ("lme4", "broom")
_PROGRESS_AFTER_SECONDS = 2.0


def confint(model, parm=None, level: float = 0.95, method: str = "profile", nsim: int = 500,
            seed=None, progress: bool = True, names: str = "lme4") -> pd.DataFrame:
    """Confidence intervals for the variance parameters and fixed effects (lme4's confint).

    Parameters
    ----------
    model : LinearMixedModel
    parm : None, str, int or sequence of them
        Which parameters: names (in either naming style), 0-based positions, or
        ``"theta_"`` (the variance parameters) / ``"beta_"`` (the fixed effects). None: all.
    level : float
        Confidence level, in (0, 1).
    method : "profile", "Wald" or "boot"
    nsim : int
        Bootstrap samples (``method="boot"``).
    seed : None, int or numpy.random.Generator
        Seeds the bootstrap's ``numpy.random.default_rng``.
    progress : bool
        Show a progress bar (tqdm if installed) when the bootstrap is expected to take long.
    names : "lme4" or "broom"
        Row names. ``"lme4"`` (default): confint.merMod's ``.sig01``, ``.sig02``, ...,
        ``.sigma``, then the fixed effects, unique in every model. ``"broom"``:
        broom.mixed's terms (``sd__(Intercept)``, ``cor__(Intercept).Days``,
        ``sd__Observation``), which repeat across grouping factors, so a ``group`` column
        (VarCorr's group, ``Residual``, NaN for fixed effects) comes first.

    Returns
    -------
    pandas.DataFrame
        Columns named as R names them (``2.5 %``, ``97.5 %``), one row per parameter.
    """
    if method not in _METHODS:
        raise ArgumentTypeError(f"method must be one of {_METHODS}, not {method!r}")
    if names not in _NAME_STYLES:
        raise ArgumentTypeError(f"names must be one of {_NAME_STYLES}, not {names!r}")
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
        raise ArgumentTypeError(f"level must be a number between 0 and 1, not {level!r}")
    table = ParameterTable.from_model(model)
    which = table.select(parm)
    alpha = (1.0 - level) / 2.0
    probs = np.array([alpha, 1.0 - alpha])
    if method == "Wald":
        bounds = wald_intervals(model, table, probs)
    elif method == "profile":
        bounds = profile_intervals(model, table, which, norm_ppf(probs))
    else:
        bounds = bootstrap_intervals(model, table, probs, nsim, seed, progress)
    return table.frame(bounds[which], which, percent_labels(probs), names)


# --------------------------------------------------------------------------- parameters
@dataclasses.dataclass
class ParameterTable:
    """lme4's parameter list of a model: names, kinds and bounds on the sd/cor scale."""

    lme4_names: list[str]
    broom_names: list[str]
    groups: list
    kind: np.ndarray  # "sd", "cor", "sigma" or "fixed"
    n_varpar: int

    @classmethod
    def from_model(cls, model) -> "ParameterTable":
        broom_names, groups, kinds = [], [], []
        for term, group in zip(model.terms, model.group_names):
            for r, c in zip(*term.tril):
                kinds.append("sd" if r == c else "cor")
                broom_names.append(naming.sd_name(term.columns[r]) if r == c
                                   else naming.cor_name(term.columns[c], term.columns[r]))
                groups.append(group)
        scaled = has_scale(model)
        if scaled:
            kinds.append("sigma")
            broom_names.append(naming.RESIDUAL_SD)
            groups.append(naming.RESIDUAL_GROUP)
        n_varpar = len(kinds)
        lme4_names = [f".sig{k + 1:02d}" for k in range(n_varpar - scaled)] + [".sigma"] * scaled
        for name in model.coef_names:
            lme4_names.append(name)
            broom_names.append(name)
            groups.append(np.nan)
            kinds.append("fixed")
        return cls(lme4_names, broom_names, groups, np.array(kinds), n_varpar)

    @property
    def lower(self) -> np.ndarray:
        """lme4's bounds of each parameter on the sd/cor scale: 0 for sds, −1 for correlations."""
        return np.select([self.kind == "cor", self.kind == "fixed"], [-1.0, -np.inf], 0.0)

    @property
    def upper(self) -> np.ndarray:
        return np.where(self.kind == "cor", 1.0, np.inf)

    def select(self, parm) -> np.ndarray:
        """Positions of the parameters ``parm`` asks for, in the table's order."""
        size = len(self.kind)
        if parm is None:
            return np.arange(size)
        if isinstance(parm, str) and parm in ("theta_", "beta_"):
            varpar = np.arange(size) < self.n_varpar
            return np.flatnonzero(varpar if parm == "theta_" else ~varpar)
        items = [parm] if isinstance(parm, (str, int, np.integer)) else list(parm)
        chosen = np.zeros(size, bool)
        for item in items:
            if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not -size <= item < size:
                    raise ArgumentTypeError(f"parm position {item} is out of range for {size} parameters")
                chosen[item] = True
            elif isinstance(item, str):
                hit = [item in (a, b) for a, b in zip(self.lme4_names, self.broom_names)]
                if not any(hit):
                    raise ArgumentTypeError(
                        f"parm {item!r} is not a parameter of the model; the parameters are "
                        f"{self.lme4_names}")
                chosen |= np.array(hit)
            else:
                raise ArgumentTypeError(f"parm must hold names or positions, not {item!r}")
        return np.flatnonzero(chosen)

    def frame(self, bounds: np.ndarray, which: np.ndarray, labels: list[str], style: str) -> pd.DataFrame:
        if style == "lme4":
            return pd.DataFrame(bounds, index=[self.lme4_names[i] for i in which], columns=labels)
        out = pd.DataFrame({"group": [self.groups[i] for i in which]},
                           index=[self.broom_names[i] for i in which])
        out[labels[0]], out[labels[1]] = bounds[:, 0], bounds[:, 1]
        return out


def percent_labels(probs: np.ndarray, digits: int = 3) -> list[str]:
    """R's column names for probabilities: ``2.5 %``, ``97.5 %`` (format(100 p, digits=3))."""
    pct = 100.0 * np.asarray(probs)
    decimals = 0
    for value in pct:
        text = f"{float(f'{value:.{digits}g}'):.{digits + 6}f}".rstrip("0")
        decimals = max(decimals, len(text.split(".")[1]) if "." in text else 0)
    return [f"{value:.{decimals}f} %" for value in pct]


def has_scale(model) -> bool:
    """Whether the model has a residual scale σ among its parameters: every lmer fit, and
    the GLMMs whose family has a dispersion (gaussian, Gamma)."""
    family = getattr(model, "family", None)
    return family is None or family.has_dispersion


def varpar_vector(model, theta: np.ndarray, sigma: float) -> np.ndarray:
    """The variance parameters on lme4's sd/cor scale: per term sds and correlations, then σ
    (for models with a scale)."""
    out = []
    for term, sl in zip(model.terms, model.system.theta_slices):
        T = term.factor(theta[sl])
        cov = sigma**2 * (T @ T.T)
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            cor = cov / np.outer(sd, sd)
        cor[~np.isfinite(cor)] = 0.0  # a correlation with a zero sd: 0, as lme4's cov2sdcor
        r, c = term.tril
        out.append(np.where(r == c, sd[r], cor[r, c]))
    if has_scale(model):
        out.append([sigma])
    return np.concatenate(out)


def theta_from_varpar(model, varpar: np.ndarray) -> np.ndarray | None:
    """θ (relative to σ, the last entry where the model has a scale) for sds and correlations;
    None if not a covariance."""
    sigma = varpar[-1] if has_scale(model) else 1.0
    theta = np.empty(model.system.ntheta)
    for term, sl in zip(model.terms, model.system.theta_slices):
        r, c = term.tril
        values = varpar[sl]
        sd = np.zeros(term.p)
        sd[r[r == c]] = values[r == c]
        cor = np.eye(term.p)
        cor[r[r != c], c[r != c]] = cor[c[r != c], r[r != c]] = values[r != c]
        T = _semidefinite_cholesky(np.outer(sd, sd) * cor / sigma**2)
        if T is None:
            return None
        theta[sl] = T[r, c]
    return theta


def _semidefinite_cholesky(A: np.ndarray, tol: float = 1e-10) -> np.ndarray | None:
    """Lower-triangular L with LLᵀ = A for a positive semidefinite A; None if A is not."""
    p = A.shape[0]
    L = np.zeros_like(A)
    scale = max(float(np.max(np.abs(np.diag(A)))), 1e-300)
    for j in range(p):
        pivot = A[j, j] - L[j, :j] @ L[j, :j]
        rest = A[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]
        if pivot > tol * scale:
            L[j, j] = np.sqrt(pivot)
            L[j + 1:, j] = rest / L[j, j]
        elif pivot < -tol * scale or np.any(np.abs(rest) > np.sqrt(tol) * scale):
            return None
    return L


# ------------------------------------------------------------------------------- Wald
def wald_intervals(model, table: ParameterTable, probs: np.ndarray) -> np.ndarray:
    """β ± z·se with vcov(β) of the fit; NaN for the variance parameters (as lme4)."""
    out = np.full((len(table.kind), 2), np.nan)
    se = np.sqrt(np.diag(model.vcov().to_numpy()))
    out[table.n_varpar:] = model.beta[:, None] + se[:, None] * norm_ppf(probs)[None, :]
    return out


# ---------------------------------------------------------------------------- refits
def ml_refit(model):
    """The model refitted by maximum likelihood, as lme4's ``refitML`` (its warnings were the fit's)."""
    ml = copy.copy(model)
    ml.REML = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ml.fit()
    return ml


def response_refit(model, y: np.ndarray):
    """A copy of ``model`` refitted on the response ``y``, the optimizer starting from the fit's θ.

    The copy shares the terms and X; its ``data`` still hold the original response.
    """
    new = copy.copy(model)
    new.fixed = dataclasses.replace(model.fixed, y=y)
    new.system = BlockedSystem(model.terms, model.fixed.X, y - model.offset, model.prior_weights)
    new.optim = minimize_theta(new.objective, model.theta, model.theta_lower, model._theta_scale())
    new._set_theta(new.optim.theta)
    new.messages = []
    return new


def varpar_deviance(model, varpar: np.ndarray) -> float:
    """lme4's ``devfun2``: the ML deviance at sds, correlations and σ, β at its conditional optimum."""
    sigma = varpar[-1]
    if not sigma > 0:
        return np.inf
    theta = theta_from_varpar(model, varpar)
    if theta is None:
        return np.inf
    return model.system.deviance_at(theta, sigma**2, reml=False)


# ---------------------------------------------------------------------------- profile
def profile_intervals(model, table: ParameterTable, which: np.ndarray, zeta: np.ndarray) -> np.ndarray:
    """Where each chosen parameter's likelihood profile crosses ``zeta`` (lower, upper)."""
    glmm = getattr(model, "family", None) is not None
    ml = ml_refit(model) if getattr(model, "REML", False) else model
    base = -2.0 * ml.logLik()
    estimate = np.concatenate([varpar_vector(ml, ml.theta, ml.sigma), ml.beta])
    se_beta = np.sqrt(np.diag(ml.vcov().to_numpy()))
    out = np.full((len(table.kind), 2), np.nan)
    lower, upper = table.lower, table.upper
    for k in which:
        if glmm:
            step = np.concatenate([np.where(table.kind[: table.n_varpar] == "cor", 0.02,
                                            0.1 * np.maximum(estimate[: table.n_varpar], 0.05)),
                                   0.1 * se_beta])
            profile = GlmmProfile(ml, k, estimate, base, lower, upper, step)
            first_step = 0.5 * se_beta[k - table.n_varpar] if k >= table.n_varpar else \
                _first_varpar_step(table.kind[k], estimate[k], 1.0)
        elif k < table.n_varpar:
            profile = VarparProfile(ml, k, estimate[: table.n_varpar], base, lower, upper)
            first_step = _first_varpar_step(table.kind[k], estimate[k], ml.sigma)
        else:
            j = k - table.n_varpar
            profile = FixedEffectProfile(ml, j, base)
            first_step = 0.5 * se_beta[j]
        for side, z in enumerate(zeta):
            out[k, side] = _crossing(profile.zeta, estimate[k], z, first_step, lower[k], upper[k])
    return out


def _first_varpar_step(kind: str, value: float, sigma: float) -> float:
    if kind == "cor":
        return 0.02
    return 0.05 * value if value > 1e-3 * sigma else 0.05 * sigma


def _crossing(zeta, estimate: float, target: float, first_step: float, lower: float, upper: float) -> float:
    """The value where the profile ``zeta`` crosses ``target``, walking out from ``estimate``.

    Secant steps (at most ten times the last one) until the crossing is bracketed, then
    Brent's method; the bound if the profile reaches it first.
    """
    direction = np.sign(target)
    bound = upper if direction > 0 else lower
    if estimate == bound:
        return bound
    prev_x, prev_z = estimate, 0.0
    step = first_step
    for _ in range(100):
        x = float(np.clip(prev_x + direction * step, lower, upper))
        z = zeta(x)
        if direction * z >= direction * target:
            tol = 1e-7 * max(abs(x - estimate), 1e-12)
            return scipy.optimize.brentq(lambda v: zeta(v) - target, prev_x, x, xtol=tol)
        if x == bound:
            return bound
        last = abs(x - prev_x)
        slope = (z - prev_z) / (x - prev_x)  # ζ increases with x on both sides
        step = min(abs(1.1 * target - z) / slope, 10.0 * last) if slope > 0 else 2.0 * last
        prev_x, prev_z = x, z
    raise DataError(f"the likelihood profile does not reach {target:.3g} (from {estimate:.6g})")


class _Profile:
    """A profile's ζ(x) = sign(x − x̂)·√(deviance change), warm-started from the nearest point."""

    estimate: float
    base: float
    start: np.ndarray

    def __init__(self):
        self._visited: dict[float, tuple[float, np.ndarray]] = {}  # x -> (ζ, nuisance optimum)

    def zeta(self, x: float) -> float:
        if x in self._visited:
            return self._visited[x][0]
        near = min(self._visited, key=lambda v: abs(v - x), default=None)
        start = self.start if near is None or abs(self.estimate - x) < abs(near - x) else self._visited[near][1]
        deviance, nuisance = self.minimize(x, start)
        change = max(deviance - self.base, 0.0)
        value = float(np.sign(x - self.estimate) * min(np.sqrt(change), 1e3))
        self._visited[x] = (value, nuisance)
        return value

    def minimize(self, x: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError


class VarparProfile(_Profile):
    """The ML deviance with variance parameter ``k`` fixed, minimized over the others."""

    def __init__(self, ml, k: int, estimate: np.ndarray, base: float, lower: np.ndarray, upper: np.ndarray):
        super().__init__()
        self.model, self.k, self.base = ml, k, base
        self.estimate = estimate[k]
        self.free = np.arange(estimate.size) != k
        self.start = estimate[self.free]
        self.lower, self.upper = lower[: estimate.size][self.free], upper[: estimate.size][self.free]
        sigma = estimate[-1]
        scale = np.where(np.isfinite(self.upper), 1.0, np.maximum(self.start, 0.05 * sigma))
        self.step = 0.1 * scale
        self._full = estimate.copy()

    def minimize(self, x, start):
        def deviance(free):
            self._full[self.k] = x
            self._full[self.free] = free
            return varpar_deviance(self.model, self._full)

        return _minimize_box(deviance, start, self.lower, self.upper, self.step)


class FixedEffectProfile(_Profile):
    """The ML deviance with β_j fixed: x_j β_j as an offset, minimized over θ (and β, σ)."""

    def __init__(self, ml, j: int, base: float):
        super().__init__()
        self.model, self.base = ml, base
        self.estimate = ml.beta[j]
        self.start = ml.theta
        X = ml.fixed.X
        self.x_j = X[:, j]
        self.X_rest = np.delete(X, j, axis=1)
        self.scale = ml._theta_scale()

    def minimize(self, x, start):
        system = BlockedSystem(self.model.terms, self.X_rest, self.model.system.y - x * self.x_j,
                               self.model.prior_weights)
        res = minimize_theta(lambda th: system.criterion(th, reml=False), start, self.model.theta_lower,
                             self.scale)
        return res.fun, res.theta


class GlmmProfile(_Profile):
    """A GLMM's deviance (−2 logLik) with parameter ``k`` fixed (an sd or correlation, or a
    fixed effect), minimized over all the others, as lme4's profile of a glmer fit."""

    def __init__(self, model, k: int, estimate: np.ndarray, base: float, lower: np.ndarray,
                 upper: np.ndarray, step: np.ndarray):
        super().__init__()
        # a copy: PIRLS moves the conditional modes and reweights the system in place
        self.model = copy.copy(model)
        self.model.system = copy.deepcopy(model.system)
        self.k, self.base, self.estimate = k, base, estimate[k]
        self.free = np.arange(estimate.size) != k
        self.start = estimate[self.free]
        self.lower, self.upper, self.step = lower[self.free], upper[self.free], step[self.free]
        self._full = estimate.copy()
        self._n_varpar = model.theta.size

    def minimize(self, x, start):
        def deviance(free):
            self._full[self.k] = x
            self._full[self.free] = free
            theta = theta_from_varpar(self.model, self._full[: self._n_varpar])
            if theta is None:
                return np.inf
            return self.model.deviance_at(np.concatenate([theta, self._full[self._n_varpar:]]))

        return _minimize_box(deviance, start, self.lower, self.upper, self.step)


def _minimize_box(fun, start: np.ndarray, lower: np.ndarray, upper: np.ndarray, step: np.ndarray,
                  max_runs: int = 4) -> tuple[float, np.ndarray]:
    """BOBYQA within [lower, upper], restarted from its answer until it stops improving."""
    def objective(x, grad):
        value = fun(x)
        return value if np.isfinite(value) else 1e300

    x = np.clip(np.asarray(start, float), lower, upper)
    best = objective(x, None)
    for _ in range(max_runs):
        new_x, value = bobyqa(objective, x, lower, step, ftol_rel=1e-13, upper=upper,
                              ftol_abs=1e-11, xtol_abs=1e-10 * step)
        improved = best - value
        if value < best:
            x, best = new_x, value
        if improved < 1e-9:
            break
    return best, x


# -------------------------------------------------------------------------- bootstrap
def bootstrap_intervals(model, table: ParameterTable, probs: np.ndarray, nsim: int, seed,
                        progress: bool) -> np.ndarray:
    """Percentile intervals of the parameters refitted on ``nsim`` simulated responses."""
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise ArgumentTypeError(f"nsim must be a positive integer, not {nsim!r}")
    samples = bootstrap_samples(model, nsim, seed, progress)
    out = np.full((len(table.kind), 2), np.nan)
    for k in range(samples.shape[1]):
        out[k] = percentile_interval(samples[:, k], probs)
    return out


def simulate_linear_predictor(model, rng: np.random.Generator) -> np.ndarray:
    """Xβ + offset + Zb* with new random effects b* ~ N(0, σ²ΛΛᵀ) (lme4's simulate, re.form=NA)."""
    sigma = model.sigma
    y = model.fixed_part().copy()
    for term, sl in zip(model.terms, model.system.theta_slices):
        T = term.factor(model.theta[sl])
        b = sigma * rng.standard_normal((term.nlevels, term.p)) @ T.T
        y += np.einsum("ij,ij->i", term.rows, b[term.codes])
    return y


def simulate_response(model, rng: np.random.Generator) -> np.ndarray:
    """One y* = Xβ + offset + Zb* + ε*, with b* ~ N(0, σ²ΛΛᵀ) and ε*ᵢ ~ N(0, σ²/wᵢ)."""
    from .simulate import draw_responses

    return draw_responses(model, rng, 1)[0]


def bootstrap_samples(model, nsim: int, seed, progress: bool) -> np.ndarray:
    """nsim × parameters: sds, correlations, σ and β of each refit (NaN where a refit failed)."""
    rng = np.random.default_rng(seed)
    draw, refit = simulate_response, response_refit
    if getattr(model, "family", None) is not None:
        from .glmm.simulate import refit_response as refit, simulate_response as draw
    n_par = model.theta.size + has_scale(model) + len(model.beta)
    samples = np.full((nsim, n_par), np.nan)
    counter = None
    started = time.perf_counter()
    for i in range(nsim):
        y = draw(model, rng)
        try:
            fit = refit(model, y)
            samples[i] = np.concatenate([varpar_vector(fit, fit.theta, fit.sigma), fit.beta])
        except DataError:
            pass
        if progress and counter is None and (time.perf_counter() - started) * nsim / (i + 1) > _PROGRESS_AFTER_SECONDS:
            counter = _progress_counter(nsim, done=i + 1)
        if counter is not None:
            counter.update(1)
    if counter is not None:
        counter.close()
    failed = int(np.isnan(samples[:, -1]).sum())
    if failed:
        warnings.warn(f"{failed} of {nsim} bootstrap refits failed", ConvergenceWarning, stacklevel=4)
    return samples


class _StderrCounter:
    """A minimal progress counter on stderr, for when tqdm is not installed."""

    def __init__(self, total: int, done: int):
        self.total, self.done = total, done
        self._shown = -1

    def update(self, n: int) -> None:
        self.done += n
        percent = 100 * self.done // self.total
        if percent != self._shown:
            self._shown = percent
            sys.stderr.write(f"\rbootstrap {self.done}/{self.total} ({percent}%)")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


def _progress_counter(total: int, done: int):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _StderrCounter(total, done - 1)
    return tqdm(total=total, initial=done - 1, desc="bootstrap")


def percentile_interval(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """boot.ci's percentile end points: order statistics (R + 1)p, interpolated on the normal scale."""
    t = np.sort(values[np.isfinite(values)])
    R = t.size
    if R == 0:
        return np.full(len(probs), np.nan)
    out = np.empty(len(probs))
    for i, p in enumerate(probs):
        rank = (R + 1) * p
        k = int(np.floor(rank))
        if k == rank and 1 <= k <= R:
            out[i] = t[k - 1]
        elif k <= 0:
            out[i] = t[0]
        elif k >= R:
            out[i] = t[-1]
        else:
            q, q_lo, q_hi = norm_ppf([p, k / (R + 1), (k + 1) / (R + 1)])
            out[i] = t[k - 1] + (q - q_lo) / (q_hi - q_lo) * (t[k] - t[k - 1])
    return out
