"""Generalized linear mixed models fitted as lme4 fits them: ``glmer`` and ``glmer_nb``.

The deviance at (θ, β) is lme4's Laplace approximation (or, for one scalar random effect,
its adaptive Gauss-Hermite quadrature) at the conditional modes that PIRLS finds on the
engine's blocked system. lme4's two stages: θ optimized with β inside PIRLS (``nAGQ=0`` stops
there), then θ and β together, the optimum checked by lme4's derivative tests; the
covariance of β is lme4's default, from the finite-difference Hessian of that deviance.
"""
from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import optimize, special

from ..errors import ArgumentTypeError, ConvergenceWarning, DataError, LmmplotWarning
from ..formula import _split_top, formulaic_formula, parse_formula, quote_dotted_names
from ..frame import _materialize, as_pandas, owned_columns
from ..linalg import BlockedSystem, single_threaded_blas
from ..model import MixedModel, check_convergence, lmer
from ..numderiv import deriv12
from ..optimize import OptimResult, _newton_step, bobyqa, minimize_theta
from .family import negative_binomial, poisson, resolve
from .pirls import Modes, Pirls, QuadratureRule, WarmStarts

_CBIND = re.compile(r"cbind\s*\((.*)\)", re.S)
NEWTON_MAX_PARAMETERS = 4  # up to this many (θ, β), the second stage starts with Newton's method


def response_values(text: str, frame: pd.DataFrame):
    """The response as R's model frame holds it: a column as it is (numbers, logicals,
    factors, strings), an expression's numbers, or ``cbind(successes, failures)`` as n × 2."""
    text = text.strip()
    name = text.strip("`")
    if name in frame.columns:
        return frame[name]
    match = _CBIND.fullmatch(text)
    if match:
        parts = [p.strip() for _, p in _split_top(match.group(1), ",")]
        if len(parts) != 2:
            raise DataError(f"cbind() in the response {text!r} needs two columns: successes, failures")
        return np.column_stack([_expression(p, frame) for p in parts])
    return _expression(text, frame)


def _expression(text: str, frame: pd.DataFrame) -> np.ndarray:
    name = text.strip("`")
    if name in frame.columns:
        return np.asarray(frame[name])
    wrapped = text if text.startswith("I(") else f"I({text})"
    mm = _materialize(formulaic_formula(f"0 + {wrapped}"), frame, f"the response {text!r}")
    values = np.asarray(mm, dtype=float)
    if values.ndim != 2 or values.shape[1] != 1:
        raise DataError(f"the response {text!r} must be one numeric column")
    return values[:, 0]


class GeneralizedLinearMixedModel(MixedModel):
    """A GLMM g(E[y | b]) = offset + Xβ + Zb, b ~ N(0, ΛΛᵀ), fitted by maximum likelihood.

    Use :func:`glmer` or :func:`glmer_nb` to make one. Accessors follow lme4: ``fixef()``,
    ``ranef()``, ``vcov()``, ``fitted()`` (response scale), ``predict(type=...)``,
    ``residuals(type=...)``, ``logLik()`` ...
    """

    _numeric_response = False
    # lme4's optinfo as the summary prints it: glmer's last stage is Nelder-Mead
    optimizer, conv_opt, opt_message, opt_warnings = "Nelder_Mead", 0, "", ()

    def __init__(self, formula: str, data, family="binomial", nAGQ: int = 1, weights=None, offset=None):
        self.family = resolve(family)
        if isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or nAGQ < 0:
            raise ArgumentTypeError(f"nAGQ must be a non-negative integer, not {nAGQ!r}")
        if nAGQ > 100:
            raise ArgumentTypeError("nAGQ must be at most 100, as lme4's quadrature rules")
        self.nAGQ = int(nAGQ)
        raw = as_pandas(data)
        self.formula = quote_dotted_names(parse_formula(formula), raw.columns)
        self.data = owned_columns(raw, self.formula, (weights, offset))
        self.data_is_polars = not isinstance(data, pd.DataFrame)
        self._read_frame(weights, offset)
        if self.nAGQ > 1 and (len(self.terms) > 1 or self.terms[0].p > 1):
            written = ", ".join(dict.fromkeys(t.spec.source for t in self.terms))  # (1|a/b) makes two
            has = (f"{len(self.terms)} random-effects terms, from {written}" if len(self.terms) > 1
                   else f"{self.terms[0].p} random effects per level of {written}")
            raise ArgumentTypeError(f"nAGQ > 1 is only available for models with a single, scalar "
                                    f"random-effects term; this model has {has}: use nAGQ=1")
        self.y_raw = response_values(self.formula.response, self.frame)
        self._initialize()
        self.system = BlockedSystem(self.terms, self.fixed.X, np.zeros(len(self.frame)))
        self.theta_lower = np.concatenate([t.theta_lower() for t in self.terms])
        self.messages: list[str] = []
        self.conv_code: list[int] = []
        self.modes: Modes | None = None

    def _initialize(self) -> None:
        """R's family initialize: y as proportions or counts, prior weights, starting means."""
        y, pw, mustart = self.family.initialize(self.y_raw, self.prior_weights, name=self.formula.response)
        self.y = np.asarray(y, float)
        self.prior_weights = np.asarray(pw, float)
        self._eta_start = self.family.linkfun(mustart)

    @property
    def pirls(self) -> Pirls:
        """PIRLS on this model's system (set up once per system, family and response)."""
        key = (self.system, self.family, self.y, self.prior_weights, self.offset)
        cached = self.__dict__.get("_pirls")
        if cached is None or any(a is not b for a, b in zip(cached[0], key)):
            cached = self._pirls = (key, Pirls(*key))
        return cached[1]

    # ------------------------------------------------------------------ the deviance
    def deviance_stage1(self, theta: np.ndarray) -> float:
        """The Laplace deviance at θ, β at its conditional mode with u (lme4's nAGQ = 0)."""
        return self._evaluate(np.asarray(theta, float), None)

    def deviance_at(self, par: np.ndarray) -> float:
        """The deviance at (θ, β) (Laplace, or quadrature for nAGQ > 1): the stage-2 objective."""
        par = np.asarray(par, float)
        nt = self.theta_lower.size
        return self._evaluate(par[:nt], par[nt:])

    def _evaluate(self, theta, beta) -> float:
        pirls = self.pirls
        starts = self.__dict__.get("_stencil_starts")  # set while Newton's method runs
        par = np.concatenate([theta, beta]) if starts is not None else None
        try:
            m = pirls.modes(theta, (starts.start(par, theta) if starts else None) or self.modes, beta,
                            self._eta_start)
        except DataError:
            try:  # once more from the start, in case the last modes were a poor start
                m = pirls.modes(theta, None, beta, self._eta_start)
            except DataError:
                return np.inf
        self.modes = m
        if starts is not None:
            starts.remember(par, m)
        if beta is not None and self.nAGQ > 1:
            return pirls.agq(m, self._rule)
        return pirls.laplace(m)

    # ------------------------------------------------------------------ fitting
    def fit(self, start: np.ndarray | None = None, checks: bool = True) -> "GeneralizedLinearMixedModel":
        """lme4's two stages, then its convergence checks; warns as lme4 does.

        ``start`` (θ then β) skips the first stage and starts the second there. Without
        ``checks`` (glmer_nb's inner fits) the second stage is one BOBYQA run, with no
        Newton confirmation, restarts or derivatives: call :meth:`fit` with checks to finish.
        """
        self._rule = QuadratureRule.of_order(self.nAGQ) if self.nAGQ > 1 else None
        theta_scale = self._theta_scale()
        with single_threaded_blas():
            if start is None:
                first = minimize_theta(self.deviance_stage1, np.concatenate([t.theta_start() for t in self.terms]),
                                       self.theta_lower, theta_scale, second_start=False)
                self.deviance_stage1(first.theta)
                start = np.concatenate([first.theta, self.modes.beta])
                self._eta_stage1 = self.modes.eta
                self.optim = first
            else:
                self.deviance_at(start)
                self._eta_stage1 = self.modes.eta
            self.hessian = None
            if self.nAGQ > 0:
                lower = np.concatenate([self.theta_lower, np.full(self.n_fixed, -np.inf)])
                scale = np.concatenate([theta_scale, self._beta_scale(start)])
                if checks:
                    self.optim = (self._newton(start, lower, scale) if start.size <= NEWTON_MAX_PARAMETERS else None
                                  ) or minimize_theta(self.deviance_at, start, lower, scale, second_start=False)
                    par = self.optim.theta
                else:
                    phi, _ = bobyqa(lambda x, grad: self.deviance_at(x * scale), start / scale, lower / scale,
                                    step=0.1, ftol_rel=1e-10)
                    par = phi * scale
            else:
                par = start
            self._set_estimates(par)
        if checks:
            self.check()
            for msg in self.messages:
                warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        return self

    def _newton(self, start: np.ndarray, lower: np.ndarray, scale: np.ndarray) -> OptimResult | None:
        """Newton's method on the deviance from ``start``, with central-difference derivatives.

        The Hessian (1 + 2k + k(k − 1) evaluations for k parameters, fewer than BOBYQA takes
        for few parameters) is taken at the start and kept while the steps it gives shrink
        fast; each later step takes the gradient alone (2k evaluations), and the Hessian is
        taken afresh where a step shrinks by less than half or fails to lower the deviance.
        Stops at a point whose Newton step is below 10⁻⁴ in the optimizer's units, with the
        gradient there (the convergence check's). None (for BOBYQA to take over) where a θ
        nears its bound, a fresh Hessian is not positive definite, or a step from one does not
        lower the deviance. PIRLS starts each stencil's point from its neighbours' modes
        (:class:`~lmmplot.glmm.pirls.WarmStarts`).
        """
        self._stencil_starts = WarmStarts(2 * start.size + 2)
        try:
            return self._newton_steps(start, lower, scale)
        finally:
            self._stencil_starts = None

    def _newton_steps(self, start: np.ndarray, lower: np.ndarray, scale: np.ndarray) -> OptimResult | None:
        nt = self.theta_lower.size
        f = self.deviance_at
        x = start
        fx = f(x)
        grad, hess = deriv12(f, x, fx=fx)
        nfev, fresh, last = x.size**2 + x.size + 1, True, np.inf
        for _ in range(12):
            if np.any(x[:nt][self.theta_lower == 0] < 1e-4):  # a θ near its bound: BOBYQA's case
                return None
            step = _newton_step(grad, hess)
            size = np.inf if step is None else np.max(np.abs(step / scale))
            if not fresh and not size <= last / 2:  # the old Hessian no longer serves
                grad, hess = deriv12(f, x, fx=fx)
                nfev, fresh = nfev + x.size**2 + x.size, True
                continue
            if step is None or np.any(x - step < lower):
                return None
            if size < 1e-4:
                return OptimResult(x, fx, nfev, 0, grad, hess if fresh else None)
            fn = f(x - step)
            nfev += 1
            if not fn <= fx + 1e-11 * abs(fx):
                if fresh:
                    return None
                last = 0.0  # take the Hessian afresh here
                continue
            x, fx, last, fresh = x - step, fn, size, False
            grad = numeric_gradient(f, x)
            nfev += 2 * x.size
        return None

    def check(self) -> None:
        """lme4's convergence checks at the estimates, and the Hessian its vcov reads.

        The gradient is that of the deviance optimized (did the optimizer stop at its
        optimum?); the Hessian is lme4's, of its own deviance function (see
        :meth:`lme4_deviance`), which the scaled gradient and vcov use as lme4 uses it.
        No derivatives after the first stage alone; at a singular fit they are taken (vcov
        reads the Hessian) but not checked, as lme4's optimizeGlmer and checkConv.
        """
        par = np.concatenate([self.theta, self.beta])
        lower = np.concatenate([self.theta_lower, np.full(self.n_fixed, -np.inf)])
        grad = None
        with single_threaded_blas():
            if self.nAGQ > 0:
                grad, self.hessian = self._derivatives(par)
        if self.nAGQ > 0:
            self.conv_code, self.messages = check_convergence(par, lower, grad, self.hessian)
        else:
            self.conv_code, self.messages = check_convergence(self.theta, self.theta_lower, None, None)

    def _beta_scale(self, par: np.ndarray) -> np.ndarray:
        """A unit for each β: its standard error from R_X at ``par``."""
        self.deviance_at(par)
        se = np.sqrt(np.diag(self._vcov_rx(self.pirls.final_factor(self.modes))))
        return np.where(np.isfinite(se) & (se > 0), se, 1.0)

    def lme4_deviance(self, par: np.ndarray) -> float:
        """lme4's stage-2 deviance function as it evaluates it: PIRLS from the first stage's
        linear predictor, stopped by lme4's rule (see :meth:`Pirls.modes`)."""
        par = np.asarray(par, float)
        nt = self.theta_lower.size
        pirls = self.pirls
        try:
            m = pirls.modes(par[:nt], None, par[nt:], self._eta_stage1, lme4_rule=True)
        except DataError:
            return np.inf
        return pirls.agq(m, self._rule) if self.nAGQ > 1 else pirls.laplace(m)

    def _set_estimates(self, par: np.ndarray) -> None:
        """Put the model at θ (and β): the modes, the factor and every derived quantity."""
        nt = self.theta_lower.size
        self.objective_value = self.deviance_at(par) if self.nAGQ > 0 else self.deviance_stage1(par[:nt])
        self.theta = par[:nt].copy()
        self.factor = self.pirls.final_factor(self.modes)
        self._forget()

    def _derivatives(self, par: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """At (θ, β): the gradient of the deviance optimized, and lme4's Hessian (of
        :meth:`lme4_deviance`); the model is left at (θ, β)."""
        _, hess = deriv12(self.lme4_deviance, par, four_point=True)  # leaves the model's modes as they are
        optim = getattr(self, "optim", None)
        if optim is not None and optim.grad is not None and np.array_equal(optim.theta, par):
            grad = optim.grad  # the optimizer's check took these central differences already
        else:
            grad = numeric_gradient(self.deviance_at, par)
            self._set_estimates(par)
        return grad, hess

    # ------------------------------------------------------------------ estimates
    @property
    def _solution(self) -> dict:
        m, f = self.modes, self.factor
        b_rest = f.lam_rest @ m.u_rest if self.system.q_rest else np.zeros(0)
        return {"beta": m.beta, "u1": m.u1, "b1": m.u1 @ f.T1.T, "u_rest": m.u_rest, "b_rest": b_rest}

    @property
    def beta(self) -> np.ndarray:
        return self.modes.beta

    @property
    def sigma(self) -> float:
        """1 for families without a dispersion; else lme4's √((Pearson χ² + ‖u‖²)/n)."""
        if not self.family.has_dispersion:
            return 1.0
        m = self.modes
        pearson = np.sum(self.prior_weights * (self.y - m.mu) ** 2 / self.family.variance(m.mu))
        return float(np.sqrt((pearson + m.sqr_u) / self.nobs))

    @property
    def _residual_row(self) -> bool:
        return bool(self.family.has_dispersion)

    def _vcov_rx(self, factor=None) -> np.ndarray:
        """σ²(R_XᵀR_X)⁻¹ from the joint factor at the estimates' weights (lme4's fallback): R_X of
        the user's X (the factor's block is of the system's orthogonalized X)."""
        RX = self.system.RX(self.factor if factor is None else factor)
        p = RX.shape[0]
        Rinv = scipy.linalg.solve_triangular(RX, np.eye(p), lower=False)
        return self.sigma**2 * (Rinv @ Rinv.T)

    def _vcov_array(self) -> np.ndarray:
        """lme4's default: 2 H⁻¹'s β block, H the deviance's Hessian in (θ, β); R_X where H fails."""
        nt = self.theta_lower.size
        if self.hessian is not None:
            try:
                V = np.linalg.inv(self.hessian)[nt:, nt:]
                V = V + V.T
                if np.all(np.isfinite(V)) and np.linalg.eigvalsh(V).min() > 0:
                    return V
            except np.linalg.LinAlgError:
                pass
            warnings.warn("variance-covariance matrix computed from finite-difference Hessian is\n"
                          "not positive definite or contains NA values: falling back to var-cov "
                          "estimated from RX", ConvergenceWarning, stacklevel=3)
        return self._vcov_rx()

    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effects estimates (lme4's vcov for glmerMod)."""
        names = self.fixed.columns
        return pd.DataFrame(self._vcov_array(), index=names, columns=names)

    # ------------------------------------------------------------------ likelihood
    @property
    def npar(self) -> int:
        """Parameters counted by logLik: β, θ, and the dispersion or the negative binomial θ."""
        return self.n_fixed + self.theta.size + int(self.family.has_dispersion) + int(self.nb_theta is not None)

    def logLik(self) -> float:
        """The log-likelihood at the optimum: −½ the Laplace (or quadrature) deviance, as lme4."""
        return -0.5 * self.objective_value

    def AIC(self) -> float:
        return -2.0 * self.logLik() + 2.0 * self.npar

    def BIC(self) -> float:
        return -2.0 * self.logLik() + np.log(self.nobs) * self.npar

    def deviance(self) -> float:
        """The sum of the squared deviance residuals (lme4's deviance() for a GLMM)."""
        return float(self.modes.dev_resids.sum())

    @property
    def df_residual(self) -> int:
        return self.nobs - self.npar

    # ------------------------------------------------------------------ fitted values
    def linear_predictor(self) -> np.ndarray:
        """η = offset + Xβ + Zb on the fitted rows."""
        return self.modes.eta.copy()

    def fitted(self) -> np.ndarray:
        """Fitted means μ = g⁻¹(η) (lme4's fitted() for a GLMM)."""
        return self.modes.mu.copy()

    def residuals(self, type: str = "deviance") -> np.ndarray:
        """lme4's residuals: "deviance", "pearson", "response" or "working"."""
        y, mu = self.y, self.modes.mu
        if type == "deviance":
            return np.sign(y - mu) * np.sqrt(np.maximum(self.modes.dev_resids, 0))
        if type == "pearson":
            return (y - mu) * np.sqrt(self.prior_weights / self.family.variance(mu))
        if type == "response":
            return y - mu
        if type == "working":
            return (y - mu) / self.family.mu_eta(self.modes.eta)
        raise ArgumentTypeError(f"type must be 'deviance', 'pearson', 'response' or 'working', not {type!r}")

    def predict(self, newdata=None, type: str = "link", re_form=None, allow_new_levels: bool = False):
        """Predictions on the link (``type="link"``) or response scale, as lme4's predict."""
        if type not in ("link", "response"):
            raise ArgumentTypeError(f"type must be 'link' or 'response', not {type!r}")
        if newdata is None and re_form is None:
            eta = self.modes.eta.copy()
        else:
            eta = super().predict(newdata, re_form=re_form, allow_new_levels=allow_new_levels)
        return self.family.linkinv(eta) if type == "response" else eta

    @property
    def nb_theta(self) -> float | None:
        """The negative binomial θ (glmer_nb fits), else None."""
        return getattr(self.family, "theta", None) if isinstance(self.family, negative_binomial) else None

    # ------------------------------------------------------------------ display
    def summary(self, correlation: bool | None = None):
        """lme4's summary of a glmer fit, printed as R prints it."""
        from .display import GlmerSummary

        return GlmerSummary(self, correlation=correlation)

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        return str(self.summary())

    # ------------------------------------------------------------------ inference
    def simulate(self, nsim: int = 1, seed=None) -> pd.DataFrame:
        """Responses simulated from the fit, as lme4's simulate() (see :mod:`lmmplot.glmm.simulate`)."""
        from .simulate import simulate

        return simulate(self, nsim=nsim, seed=seed)

    # ------------------------------------------------------------------ refits
    def with_family(self, family) -> "GeneralizedLinearMixedModel":
        """A copy on the same frame with another family, not yet fitted."""
        new = copy.copy(self)
        new.family = resolve(family)
        new.prior_weights = self._user_weights
        new._initialize()
        new.system = BlockedSystem(self.terms, self.fixed.X, np.zeros(len(self.frame)))
        new.modes = None
        new._forget()
        return new

    def _read_frame(self, weights, offset) -> None:
        super()._read_frame(weights, offset)
        self._user_weights = self.prior_weights


def glmer(formula: str, data, family="binomial", nAGQ: int = 1, weights=None, offset=None
          ) -> GeneralizedLinearMixedModel:
    """Fit a generalized linear mixed model from an lme4 formula, as lme4's ``glmer``.

    Parameters
    ----------
    formula : str
        lme4 syntax; the response as R takes it for the family: 0/1, logical, a factor
        (its first level failure), proportions with ``weights``, or
        ``cbind(successes, failures)``.
    data : pandas.DataFrame or polars.DataFrame
    family : str or family object
        ``"binomial"``, ``"poisson"``, ``"Gamma"``, ``"gaussian"`` or an object such as
        ``lp.binomial(link="probit")``.
    nAGQ : int, default 1
        1: the Laplace approximation; > 1: adaptive Gauss-Hermite quadrature with that many
        nodes (one scalar random-effects term only); 0: lme4's first stage alone.
    weights, offset : str or array-like, optional
        Prior weights and an offset on the linear predictor (also ``offset(x)`` in the formula).

    Returns
    -------
    GeneralizedLinearMixedModel
        Or, for ``gaussian`` with its identity link, the :func:`lmmplot.lmer` fit (REML), with
        lme4's warning, as lme4's glmer returns lmer's.
    """
    fam = resolve(family)
    if fam.family == "gaussian" and fam.link == "identity":
        warnings.warn("calling glmer() with family=gaussian (identity link) as a shortcut to lmer() "
                      "is deprecated; please call lmer() directly", LmmplotWarning, stacklevel=2)
        return lmer(formula, data, weights=weights, offset=offset)
    with single_threaded_blas():
        return GeneralizedLinearMixedModel(formula, data, family=fam, nAGQ=nAGQ, weights=weights,
                                           offset=offset).fit()


def glmer_nb(formula: str, data, nAGQ: int = 1, weights=None, offset=None, link: str = "log"
             ) -> GeneralizedLinearMixedModel:
    """A negative binomial GLMM, as lme4's ``glmer.nb``: θ of the family and the GLMM alternate.

    A Poisson fit gives the means for MASS's ``theta.ml``; then the deviance of the GLMM,
    refitted at each θ from the last estimates, is minimized over log θ.
    """
    with single_threaded_blas():
        base = GeneralizedLinearMixedModel(formula, data, family=poisson(link=link), nAGQ=nAGQ,
                                           weights=weights, offset=offset)
        base.fit(checks=False)
        th0 = theta_ml(base.y, base.fitted(), base._user_weights)
        fits: dict[float, GeneralizedLinearMixedModel] = {}
        last = [np.concatenate([base.theta, base.beta])]

        def deviance(log_theta: float) -> float:
            m = base.with_family(negative_binomial(np.exp(log_theta), link=link))
            m.fit(start=last[0], checks=False)
            last[0] = np.concatenate([m.theta, m.beta])
            fits[log_theta] = m
            return m.objective_value

        lo, hi = np.log(th0) - 3, np.log(th0) + 3
        optimize.minimize_scalar(deviance, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
        best = min(fits, key=lambda k: fits[k].objective_value)
        m = fits[best]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m.fit(start=np.concatenate([m.theta, m.beta]))  # polished and checked at the best θ
    for msg in m.messages:
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return m


def numeric_gradient(fun, x: np.ndarray, delta: float = 1e-4) -> np.ndarray:
    """Central differences with lme4's deriv12 step."""
    eye = np.eye(x.size) * delta
    return np.array([(fun(x + e) - fun(x - e)) / (2 * delta) for e in eye])


def theta_ml(y: np.ndarray, mu: np.ndarray, weights=None, limit: int = 25) -> float:
    """MASS's theta.ml: the negative binomial θ by Newton's method, given the means."""
    w = np.ones_like(y) if weights is None else np.asarray(weights, float)
    n = w.sum()
    t = n / np.sum(w * (y / mu - 1) ** 2)
    for _ in range(limit):
        t = abs(t)
        score = np.sum(w * (special.digamma(t + y) - special.digamma(t) + np.log(t) + 1
                            - np.log(t + mu) - (y + t) / (mu + t)))
        info = np.sum(w * (-special.polygamma(1, t + y) + special.polygamma(1, t) - 1 / t
                           + 2 / (mu + t) - (y + t) / (mu + t) ** 2))
        delta = score / info
        t += delta
        if abs(delta) <= np.finfo(float).eps ** 0.25:
            break
    return float(max(t, 1e-8))


# broom.mixed's tidiers for glmer fits, registered with the type (so that importing lmmplot.tidiers
# for lmer fits does not import the GLMM machinery and scipy.optimize)
from . import tidiers as _tidiers  # noqa: E402,F401
