"""Linear mixed models fitted as lme4 fits them: ``lmer(formula, data, REML=True)``."""
from __future__ import annotations

import copy
import warnings
from dataclasses import replace
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.linalg

from .errors import ArgumentTypeError, ConvergenceWarning, DataError, FormulaError
from .formula import formulaic_formula, parse_formula, quote_dotted_names
from .frame import (
    as_float_columns, as_pandas, complete_rows, design_frame, fixed_design, formula_offset, formula_variables,
    owned_columns, predict_rows, random_rows, random_terms, row_values, term_rows, value_columns,
)
from .linalg import BlockedSystem, single_threaded_blas, triangular_inverse
from .lmlist import CACHE as LMLIST_CACHE
from .names import unique_group_names
from .numderiv import deriv12
from .optimize import lme4_path, lmerControl, minimize_theta

SINGULAR_MESSAGE = "boundary (singular) fit: see help('isSingular')"


class MixedModel:
    """What linear and generalized mixed models share: the model frame, the random-effects
    terms and their estimates, and the accessors lme4 names (``fixef()``, ``ranef()``,
    ``coef()``, ``VarCorr()``, ``ngrps``, ``predict()`` on the link scale ...).

    A subclass sets ``data``, ``formula``, ``system``, ``factor``, ``theta``, ``sigma`` and
    ``_solution`` (β, u and b at θ).
    """

    _residual_row = True  # VarCorr shows the residual sd
    _numeric_response = True  # the frame reads y as one numeric column (a GLMM reads its own)

    def __getstate__(self) -> dict:
        """The fit's attributes for pickles and copies, without the per-group fits
        :meth:`LmList.of_model` keeps on it (a copy refits them if asked)."""
        state = self.__dict__.copy()
        state.pop(LMLIST_CACHE, None)
        return state

    def _forget(self) -> None:
        """Drop every cached quantity of the estimates (after θ or β change)."""
        for klass in type(self).__mro__:
            for name, attr in vars(klass).items():
                if isinstance(attr, cached_property):
                    self.__dict__.pop(name, None)

    def _read_frame(self, weights, offset) -> None:
        """The complete rows, the designs, and the prior weights and offset on them.

        ``weights`` and ``offset`` are column names or arrays over the rows of ``data``;
        the offset adds to the formula's ``offset(...)`` terms.
        """
        extra = {name: values for name, values in (("weights", row_values(weights, self.data, "weights")),
                                                    ("offset", row_values(offset, self.data, "offset")))
                 if values is not None}
        frame, self.kept_rows = complete_rows(self.data, self.formula, extra)
        frame = as_float_columns(frame, value_columns(self.formula))
        self.frame = frame
        self.fixed = fixed_design(self.formula, frame, response=self._numeric_response)
        self.terms = random_terms(self.formula, frame, residual=self._residual_row)
        self.weights_label = weights if isinstance(weights, str) else None  # for the summary's lines
        self.offset_label = offset if isinstance(offset, str) else None
        self.offset_arg = offset
        self.prior_weights = extra["weights"][self.kept_rows] if "weights" in extra else None
        if self.prior_weights is not None:
            if not np.all(np.isfinite(self.prior_weights)):
                raise DataError("weights must be finite")
            if np.any(self.prior_weights < 0):
                raise DataError("negative weights not allowed")
        off = formula_offset(self.formula, frame)
        self.offset_given = extra["offset"][self.kept_rows] if "offset" in extra else None
        if self.offset_given is not None:
            off = self.offset_given if off is None else off + self.offset_given
        self.has_offset = off is not None
        self.offset = np.zeros(len(frame)) if off is None else off
        if not np.all(np.isfinite(self.offset)):
            raise DataError("the offset has infinite values")

    def new_offset(self, new: pd.DataFrame) -> np.ndarray | float:
        """The offset on new data: the formula's offset(...) terms, and offset= if it named a column.

        lme4 evaluates only the formula's terms and silently drops offset= on new data; here a
        named column is evaluated too, and an array raises rather than being dropped.
        """
        off = formula_offset(self.formula, new)
        total = 0.0 if off is None else off
        if self.offset_arg is not None:
            if not isinstance(self.offset_arg, str):
                raise DataError("offset= was given as an array, which new data cannot extend: "
                                "write offset(column) in the formula or pass offset= as a column name")
            total = total + row_values(self.offset_arg, new, "offset")
        return total

    @property
    def nobs(self) -> int:
        """Number of observations used in the fit."""
        return self.system.n

    @property
    def n_fixed(self) -> int:
        return self.system.p

    def _theta_scale(self) -> np.ndarray:
        """A natural unit for each θ: 1 / the root mean square of its effect's column."""
        out = []
        for t in self.terms:
            rms = np.sqrt(np.mean(t.rows**2, axis=0))
            rms = np.where(rms > 0, rms, 1.0)
            r, _ = t.tril
            out.append(1.0 / rms[r])
        return np.concatenate(out)

    @cached_property
    def term_effects(self) -> list[np.ndarray]:
        """b per term, each nlevels × p."""
        sol = self._solution
        out = [sol["b1"]]
        start = 0
        for t in self.terms[1:]:
            out.append(sol["b_rest"][start : start + t.q].reshape(t.nlevels, t.p))
            start += t.q
        return out

    def fixed_part(self) -> np.ndarray:
        """Xβ plus the offset: the population-level prediction on the fitted rows."""
        return self.fixed.X @ self.beta + self.offset

    def random_part(self, include: list[bool] | None = None) -> np.ndarray:
        """Zb on the fitted rows; with ``include``, only the terms it marks True."""
        out = np.zeros(self.nobs)
        for k, (t, b) in enumerate(zip(self.terms, self.term_effects)):
            if include is None or include[k]:
                out += np.einsum("ij,ij->i", t.rows, b[t.codes])
        return out

    def fixef(self) -> pd.Series:
        """Fixed-effects estimates, named as lme4 names them."""
        return pd.Series(self.beta, index=self.fixed.columns, name="Estimate")

    @property
    def coef_names(self) -> list[str]:
        return list(self.fixed.columns)

    @property
    def variables(self):
        """The data columns the formula uses, by role: response, fixed, random, groups."""
        return formula_variables(self.formula)

    def model_matrix(self, newdata=None, type: str = "fixed"):
        """lme4's ``model.matrix``: X (``type="fixed"``), or with ``type="randomListRaw"`` each
        term's random-effects rows, a list of frames in VarCorr's order; for the fit's rows or
        ``newdata``."""
        if type == "fixed":
            return design_frame(self.fixed, newdata)
        if type != "randomListRaw":
            raise ArgumentTypeError(f"type must be 'fixed' or 'randomListRaw', not {type!r}")
        data = self.frame if newdata is None else as_pandas(newdata, "newdata")
        return [pd.DataFrame(term_rows(t, data), columns=t.columns, index=data.index) for t in self.terms]

    def ranef(self, condVar: bool = False) -> dict[str, pd.DataFrame]:
        """Conditional modes per grouping factor: level × effect frames, as lme4's ranef().

        With ``condVar=True`` each frame carries ``attrs["condsd"]``, the conditional sds.
        """
        out: dict[str, pd.DataFrame] = {}
        sds = self._conditional_sds() if condVar else None
        for k, (t, b) in enumerate(zip(self.terms, self.term_effects)):
            frame = pd.DataFrame(b, index=pd.Index(t.levels, name=t.group), columns=t.columns)
            if t.group in out:
                frame = out[t.group].join(frame, how="outer")
            if sds is not None:
                sd = pd.DataFrame(sds[k], index=frame.index[: len(t.levels)], columns=t.columns)
                prev = out[t.group].attrs.get("condsd") if t.group in out else None
                frame.attrs["condsd"] = sd if prev is None else prev.join(sd, how="outer")
            out[t.group] = frame
        return out

    def coef(self) -> dict[str, pd.DataFrame]:
        """Fixed plus random effects per level, as lme4's coef()."""
        fe = self.fixef()
        out = {}
        for group, re in self.ranef().items():
            frame = pd.DataFrame({name: np.full(len(re), value) for name, value in fe.items()}, index=re.index)
            for col in re.columns:
                frame[col] = frame[col] + re[col] if col in frame else re[col]
            out[group] = frame
        return out

    @property
    def ngrps(self) -> dict[str, int]:
        """Number of levels of each grouping factor."""
        return {t.group: t.nlevels for t in self.terms}

    @property
    def group_names(self) -> list[str]:
        """VarCorr's name of each term: a grouping factor used again gets ``.1``."""
        return unique_group_names([t.group for t in self.terms])

    def VarCorr(self):
        """The estimated variances, standard deviations and correlations (lme4's VarCorr)."""
        from .varcorr import VarCorr

        return VarCorr.from_model(self, residual=self._residual_row)

    def confint(self, parm=None, level: float = 0.95, method: str = "profile",
                nsim: int = 500, seed=None, progress: bool = True, names: str = "lme4") -> pd.DataFrame:
        """Confidence intervals for the variance parameters and fixed effects (lme4's confint),
        for lmer and glmer fits alike.

        ``method`` is "profile" (likelihood profile), "Wald" or "boot" (parametric bootstrap,
        ``nsim`` refits, reproducible with ``seed``); rows are named as lme4 names them
        (``.sig01``, ``.sigma``, ``Days``) or, with ``names="broom"``, as broom.mixed does.
        """
        from .confint import confint

        return confint(self, parm=parm, level=level, method=method, nsim=nsim, seed=seed,
                       progress=progress, names=names)

    def isSingular(self, tol: float = 1e-4) -> bool:
        """True when a variance or a correlation sits on the boundary (lme4's isSingular)."""
        bounded = self.theta_lower == 0
        return bool(np.any(self.theta[bounded] < tol))

    def predict(self, newdata=None, re_form=None, allow_new_levels: bool = False) -> np.ndarray:
        """Predictions for ``newdata`` (the fitted rows when None).

        Parameters
        ----------
        newdata : DataFrame, optional
        re_form : None, "~0", NA or a formula of random terms
            As lme4's ``re.form``: None includes every random effect; ``"~0"``, ``"NA"`` or
            ``np.nan`` none (the population prediction Xβ); a formula such as
            ``"~(1|subject)"`` the terms it names.
        allow_new_levels : bool
            Let levels unseen in the fit through, with random effects of zero.

        Rows of ``newdata`` with a missing value in a column the prediction uses are
        predicted as NaN, with a warning; a factor level the fit has not seen is an error.
        """
        include = self._re_form_terms(re_form)
        if newdata is None:
            return self.fixed_part() + self.random_part(include)
        def predict(new):
            columns = self.fixed.new_columns(new)
            pred = columns[:, self.fixed.keep] @ self.beta + self.new_offset(new)
            for t, b, keep in zip(self.terms, self.term_effects, include):
                if keep:
                    rows, codes = random_rows(t, new, allow_new_levels, (self.fixed, columns))
                    seen = codes >= 0
                    pred[seen] += np.einsum("ij,ij->i", rows[seen], b[codes[seen]])
            return pred

        new = as_float_columns(as_pandas(newdata, "newdata"), value_columns(self.formula))
        return predict_rows(predict, new, self._prediction_columns(include))

    def _prediction_columns(self, include: list[bool]) -> set[str]:
        """The columns a prediction with the terms marked in ``include`` reads."""
        parsed = self.formula
        cols = value_columns(replace(parsed, response="0", random=()))
        for spec, keep in zip(parsed.random, include):
            if keep:
                cols |= value_columns(replace(parsed, response="0", fixed="1", offsets=(), random=(spec,)))
                cols |= {v.strip("`") for v in spec.group_vars}
        return cols

    def _re_form_terms(self, re_form) -> list[bool]:
        """Which random terms ``re_form`` (lme4's ``re.form``) keeps, one flag per term."""
        if re_form is None:
            return [True] * len(self.terms)
        if re_form is pd.NA or (isinstance(re_form, float) and np.isnan(re_form)):
            return [False] * len(self.terms)
        if not isinstance(re_form, str):
            raise ArgumentTypeError(f"re_form must be None, NA, '~0' or a formula such as "
                                    f"'~(1|{self.terms[0].group})', not {re_form!r}")
        compact = re_form.replace(" ", "")
        if compact in ("~0", "NA", "0", "~-1", "~1"):
            return [False] * len(self.terms)
        if not compact.startswith("~"):
            raise FormulaError(f"re_form {re_form!r} must be a one-sided formula such as "
                               f"'~(1|{self.terms[0].group})'")
        parsed = quote_dotted_names(parse_formula(f"0 {re_form.strip()}"), self.data.columns)
        if parsed.fixed.replace(" ", "") not in ("1", "0", "-1", "1-1", "0+1"):
            raise FormulaError(f"re_form {re_form!r} may name random terms only, not {parsed.fixed!r}")
        known = {_term_key(t.spec): k for k, t in enumerate(self.terms)}
        include = [False] * len(self.terms)
        for spec in parsed.random:
            k = known.get(_term_key(spec))
            if k is None:
                raise FormulaError(
                    f"re_form's {spec.source} is not one of the model's random terms "
                    f"({', '.join(dict.fromkeys(t.spec.source for t in self.terms))})")
            include[k] = True
        return include

    def _conditional_sds(self) -> list[np.ndarray]:
        """Conditional sds of b per term (nlevels × p), from σ²Λ(ΛᵀZᵀZΛ + I)⁻¹Λᵀ."""
        s, f = self.system, self.factor
        qr = s.q_rest
        sig2 = self.sigma**2
        Minv1 = np.swapaxes(f.L11inv, 1, 2) @ f.L11inv  # M11⁻¹ per level
        if qr:
            Lzz = f.L22[:qr, :qr]
            # M_r1 = Λ_rᵀ A21z (I ⊗ T1) ; K_j = M_r1[:, j] M11_j⁻¹
            M_r1 = s.rest_by_first(f)
            K = np.einsum("rja,jab->rjb", M_r1, Minv1).reshape(qr, -1)
            V = scipy.linalg.solve_triangular(Lzz, K, lower=True).reshape(qr, s.l1, s.p1)
            Minv1 = Minv1 + np.einsum("rja,rjb->jab", V, V)
            Szinv_diag_blocks = _inverse_blocks(Lzz, [t.p for t in self.terms[1:]], [t.nlevels for t in self.terms[1:]])
        out = []
        T1 = f.T1
        cov1 = T1 @ Minv1 @ T1.T
        out.append(np.sqrt(sig2 * np.diagonal(cov1, axis1=1, axis2=2)))
        if qr:
            for t, blocks, th in zip(self.terms[1:], Szinv_diag_blocks, s.theta_slices[1:]):
                T = t.factor(self.theta[th])
                cov = T @ blocks @ T.T
                out.append(np.sqrt(sig2 * np.diagonal(cov, axis1=1, axis2=2)))
        return out


class LinearMixedModel(MixedModel):
    """A linear mixed model y = Xβ + Zb + ε, b ~ N(0, σ²ΛΛᵀ), fitted by (RE)ML.

    Use :func:`lmer` to make one. Accessors follow lme4: ``fixef()``, ``ranef()``,
    ``coef()``, ``VarCorr()``, ``sigma``, ``vcov()``, ``logLik()`` ...
    """

    def __init__(self, formula: str, data, REML: bool = True, weights=None, offset=None):
        if not isinstance(REML, (bool, np.bool_)):
            raise ArgumentTypeError(f"REML must be True or False, not {REML!r}")
        raw = as_pandas(data)
        self.formula = quote_dotted_names(parse_formula(formula), raw.columns)
        self.data = owned_columns(raw, self.formula, (weights, offset))
        self.data_is_polars = not isinstance(data, pd.DataFrame)
        self._read_frame(weights, offset)
        self.REML = bool(REML)
        if self.prior_weights is not None and not np.all(self.prior_weights > 0):
            raise DataError("weights must be positive for a linear mixed model: drop the rows of weight 0")
        self.system = BlockedSystem(self.terms, self.fixed.X, self.fixed.y - self.offset, self.prior_weights)
        self.theta_lower = np.concatenate([t.theta_lower() for t in self.terms])
        self.messages: list[str] = []
        self.conv_code: list[int] = []  # lme4's optinfo$conv$lme4$code
        self.optim = None
        # lme4's optinfo: the optimizer, its convergence code, message and warnings
        self.optimizer, self.conv_opt, self.opt_message, self.opt_warnings = "nloptwrap", 0, "", []
        self._set_theta(np.concatenate([t.theta_start() for t in self.terms]))

    # ------------------------------------------------------------------ fitting
    def objective(self, theta: np.ndarray, REML: bool | None = None) -> float:
        """The profiled deviance (ML) or REML criterion at ``theta``; a pure function of θ."""
        return self.system.criterion(np.asarray(theta, float), self.REML if REML is None else REML)

    def fit(self, control: lmerControl | None = None) -> "LinearMixedModel":
        """Optimize θ and set every estimate; warns as lme4 does on singular or doubtful fits.

        Without ``control``, search for the best optimum; with an :class:`lmerControl`, follow
        lme4's own optimizer path and stop where lme4 stops.
        """
        if control is not None and not isinstance(control, lmerControl):
            raise ArgumentTypeError(f"control must be an lmerControl, not {type(control).__name__}")
        with single_threaded_blas():
            if control is None:
                self.optim = minimize_theta(self.objective, self._theta_start(), self.theta_lower,
                                            self._theta_scale(), second_start=self.system.cheap)
                self._set_theta(self.optim.theta)
                grad, hess, derivs_at = self.optim.grad, self.optim.hess, self.theta
            else:
                self.optim = lme4_path(self.objective, self._lme4_start(), self.theta_lower, control)
                self._set_theta(self.optim.theta)
                grad = hess = None
                derivs_at = self.optim.derivs_at  # lme4 takes them before its boundary check
                self.optimizer, self.opt_warnings = control.optimizer, list(self.optim.warnings)
                self.conv_opt, self.opt_message = self.optim.conv, self.optim.message
            if grad is None and not self.isSingular():
                grad, hess = deriv12(self.objective, derivs_at)
            self.conv_code, self.messages = check_convergence(self.theta, self.theta_lower, grad, hess)
            self.messages = self.messages + _perfect_fit_messages(self.sigma, self.system.y)
        said = list(self.optim.conv_warning) if control is not None else []
        for msg in self.opt_warnings + said + self.messages:
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        return self

    def _lme4_start(self) -> np.ndarray:
        """lme4's start: T = I; for scalar intercept terms on distinct factors, the square root
        of each factor's share of var(y) over the rest (``mkLmerDevfun``'s)."""
        start = np.concatenate([t.theta_start() for t in self.terms])
        groups = [t.group for t in self.terms]
        if all(t.columns == ["(Intercept)"] for t in self.terms) and len(set(groups)) == len(groups):
            y = self.fixed.y
            shares = []
            for t in self.terms:
                means = np.bincount(t.codes, weights=y, minlength=t.nlevels) / np.bincount(t.codes, minlength=t.nlevels)
                shares.append(np.var(means[t.codes], ddof=1))
            rest = np.var(y, ddof=1) - sum(shares)
            if rest > 0:
                start = np.sqrt(np.array(shares) / rest)
        return start

    def _theta_start(self) -> np.ndarray:
        """Where the optimizer starts: lme4's T = I, or for expensive models a moment estimate.

        Where every evaluation factors a large dense block, each saved evaluation counts: a
        scalar term then starts at the ratio of its between-level variance of the least-squares
        residuals (less their share of within-level noise) to the residual variance.
        """
        start = np.concatenate([t.theta_start() for t in self.terms])
        if self.system.cheap:
            return start
        X, y = self.fixed.X, self.system.y
        resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
        noise = resid.var()
        for term, sl in zip(self.terms, self.system.theta_slices):
            if term.p == 1 and noise > 0:
                counts = np.bincount(term.codes, minlength=term.nlevels)
                means = np.bincount(term.codes, weights=resid, minlength=term.nlevels) / counts
                between = means.var() - noise * np.mean(1.0 / counts)
                start[sl] = np.sqrt(max(between, 0.01 * noise) / noise)
        return start

    def _set_theta(self, theta: np.ndarray) -> None:
        self.theta = np.asarray(theta, float).copy()
        self.factor = self.system.factor(self.theta)
        if not self.factor.ok:
            raise DataError("the model's cross-product matrix is not positive definite at θ")
        self._forget()


    # ---------------------------------------------------------- quantities at θ
    @cached_property
    def _solution(self) -> dict:
        """β, u and b at the current θ (back-substitution through the blocked factor)."""
        f = self.factor
        u1, u_rest, beta = self.system.solve(f)
        b_rest = f.lam_rest @ u_rest if self.system.q_rest else np.zeros(0)
        return {"beta": beta, "u1": u1, "b1": u1 @ f.T1.T, "u_rest": u_rest, "b_rest": b_rest}

    @property
    def beta(self) -> np.ndarray:
        return self._solution["beta"]

    @cached_property
    def pwrss(self) -> float:
        """Penalized weighted residual sum of squares, ‖y − Xβ − Zb‖² + ‖u‖²."""
        return float(self.factor.L22[-1, -1] ** 2)

    @property
    def sigma(self) -> float:
        """Residual standard deviation."""
        dof = self.nobs - self.n_fixed if self.REML else self.nobs
        return float(np.sqrt(self.pwrss / dof))

    @cached_property
    def RX(self) -> np.ndarray:
        """The upper-triangular R_X with R_XᵀR_X = the Schur complement for β."""
        return self.system.RX(self.factor)

    @cached_property
    def varpar_covariance(self):
        """lmerTest's covariance of (θ, σ) and Jacobian of vcov(β), for Satterthwaite's df."""
        from .satterthwaite import VarparCovariance

        return VarparCovariance.from_model(self)

    @cached_property
    def kenward_roger(self):
        """pbkrtest's adjusted covariance and df (REML fits), computed once per fit."""
        from .kenward_roger import kenward_roger

        return kenward_roger(self)

    def _vcov_array(self) -> np.ndarray:
        Rinv = triangular_inverse(self.RX)
        return self.sigma**2 * (Rinv @ Rinv.T)

    # ---------------------------------------------------------------- accessors
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effects estimates."""
        names = self.fixed.columns
        return pd.DataFrame(self._vcov_array(), index=names, columns=names)

    @property
    def npar(self) -> int:
        """Parameters counted by logLik: β, θ and σ."""
        return self.n_fixed + self.theta.size + 1

    def REMLcrit(self) -> float:
        """The REML criterion at the estimates (REML fits)."""
        return self.system.factor_criterion(self.factor, True)

    def deviance(self) -> float:
        """−2 log-likelihood, the ML deviance at the estimates (also for REML fits)."""
        return self.system.factor_criterion(self.factor, False)

    def logLik(self) -> float:
        """Log-likelihood; the restricted one for REML fits, as lme4."""
        return -0.5 * (self.REMLcrit() if self.REML else self.deviance())

    def AIC(self) -> float:
        return -2.0 * self.logLik() + 2.0 * self.npar

    def BIC(self) -> float:
        return -2.0 * self.logLik() + np.log(self.nobs) * self.npar

    @property
    def df_residual(self) -> int:
        return self.nobs - self.npar

    def fitted(self) -> np.ndarray:
        """Fitted values Xβ + Zb (+ offset) for the rows used in the fit."""
        return self.fixed_part() + self.random_part()

    def residuals(self, type: str = "response") -> np.ndarray:
        """Response minus fitted values; ``type="pearson"`` scales them by √(prior weight), as lme4."""
        if type not in ("response", "pearson"):
            raise ArgumentTypeError(f"type must be 'response' or 'pearson', not {type!r}")
        r = self.fixed.y - self.fitted()
        if type == "pearson" and self.prior_weights is not None:
            r = r * np.sqrt(self.prior_weights)
        return r

    def at_theta(self, theta) -> "LinearMixedModel":
        """A copy of the fit evaluated at another θ (its β, b, σ ... follow from θ); the data
        and designs are shared, not copied. MixedModelsMakie's shrinkage plot reads the modes
        at a very large θ (nearly unpenalized) this way."""
        theta = np.atleast_1d(np.asarray(theta, float))
        if theta.shape != self.theta.shape:
            raise ArgumentTypeError(f"theta must have {self.theta.size} values, not {theta.size}")
        if np.any(theta < self.theta_lower):
            raise ArgumentTypeError("theta is below its lower bounds (variances' factors must be >= 0)")
        other = copy.copy(self)
        other._set_theta(theta)
        return other

    def refit_ml(self) -> "LinearMixedModel":
        """The same model fitted by maximum likelihood (lme4's refitML): the same rows, prior
        weights and offset; the data and designs are shared, not rebuilt."""
        other = copy.copy(self)
        other.REML = False
        return other.fit()

    def simulate(self, nsim: int = 1, seed=None, use_u: bool = False, re_form=None) -> pd.DataFrame:
        """Responses simulated from the fit, as lme4's simulate(): columns sim_1 … sim_nsim.

        By default new random effects b* ~ N(0, σ²ΛΛᵀ) and new residuals; ``use_u=True``
        keeps the conditional modes (lme4's ``use.u=TRUE`` or ``re.form=NULL``);
        ``re_form="~0"`` is lme4's ``re.form=NA``, the default. ``seed``: an int or a
        numpy Generator.
        """
        from .simulate import simulate_lmer

        return simulate_lmer(self, nsim=nsim, seed=seed, use_u=use_u, re_form=re_form)

    # ------------------------------------------------------- inference, display
    def summary(self, ddf: str = "Satterthwaite", correlation: bool | None = None):
        """lmerTest's summary: printed as R prints it, shown as HTML tables in Jupyter.

        ``correlation`` shows (True) or hides (False) the correlation of fixed effects; by
        default it is shown for at most 12 coefficients, as lme4.
        """
        from .display import Summary

        return Summary(self, ddf=ddf, correlation=correlation)

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        from .display import model_repr

        return model_repr(self)

    def anova(self, ddf: str = "Satterthwaite", type: int = 3) -> pd.DataFrame:
        """lmerTest's F tests of the fixed-effect terms (type III, Satterthwaite or Kenward-Roger)."""
        from .anova import anova_table

        return anova_table(self, ddf=ddf, type=type)


PERFECT_FIT_TOL = 1e-6


def _perfect_fit_messages(sigma: float, y: np.ndarray) -> list[str]:
    """R's warning for a response fitted exactly (lm's summary: "essentially perfect fit").

    The residual sd is then at the rounding of y, or as small as the optimizer pushed it
    (the criterion falls without bound as σ → 0): below 1e-6 of the response's own sd.
    lme4 says only that the model failed to converge or is nearly unidentifiable.
    """
    spread = float(np.std(y))
    if spread > 0 and sigma > PERFECT_FIT_TOL * spread:
        return []
    return [f"essentially perfect fit: the residual standard deviation is {sigma:.3g} for a response "
            f"of standard deviation {spread:.3g}; the estimates, standard errors and tests are unreliable"]


def _term_key(spec) -> tuple:
    """What identifies a random term: its grouping factor and the set of its effects."""
    terms = frozenset(str(t) for t in formulaic_formula(spec.expr))
    return (spec.group, terms)


def _inverse_blocks(L: np.ndarray, ps: list[int], nls: list[int]) -> list[np.ndarray]:
    """Diagonal p × p blocks of (LLᵀ)⁻¹, grouped per term."""
    Linv = scipy.linalg.solve_triangular(L, np.eye(L.shape[0]), lower=True)
    out, start = [], 0
    for p, nl in zip(ps, nls):
        cols = Linv[:, start : start + p * nl].T.reshape(nl, p, -1)
        out.append(cols @ np.swapaxes(cols, 1, 2))
        start += p * nl
    return out


def check_convergence(theta: np.ndarray, lower: np.ndarray, grad: np.ndarray | None,
                      hess: np.ndarray | None, tol: float = 0.002, hess_tol: float = 1e-6,
                      singular_tol: float = 1e-4) -> tuple[list[int], list[str]]:
    """lme4's ``checkConv`` with ``lmerControl()``'s tolerances: its codes and messages.

    A singular fit (a bounded θ below ``singular_tol``) says so and is not checked further.
    Otherwise the gradient scaled by the Cholesky factor of the Hessian (R⁻¹g where RᵀR = H, as
    ``solve(chol(H), g)``), or the raw gradient where that is smaller, must stay within
    ``tol``; then :func:`check_hessian`. As in lme4, the message names component 1.
    """
    if np.any(np.asarray(theta)[np.asarray(lower) == 0] < singular_tol):
        return [], [SINGULAR_MESSAGE]
    if grad is None:
        return [], []
    grad, hess = np.asarray(grad, float), np.asarray(hess, float)
    if np.isnan(grad).any():
        return [-5], ["Gradient contains NAs"]
    codes, msgs = [], []
    try:
        scaled = scipy.linalg.solve_triangular(np.linalg.cholesky(hess).T, grad, lower=False)
    except np.linalg.LinAlgError:
        scaled = np.full_like(grad, np.nan)
    if np.isnan(scaled).any():
        codes, msgs = [-1], ["unable to evaluate scaled gradient"]
    elif grad.size and (worst := np.minimum(np.abs(scaled), np.abs(grad)).max()) > tol:
        # lme4 takes which.max of the maximum itself, so its message always says component 1
        codes, msgs = [-1], [f"Model failed to converge with max|grad| = {worst:g} (tol = {tol:g}, component 1)"]
    hess_codes, hess_msgs = check_hessian(hess, hess_tol)
    if any(c != 0 for c in hess_codes):
        codes, msgs = hess_codes, msgs + hess_msgs
    return codes, msgs


def check_hessian(hess: np.ndarray, tol: float = 1e-6, kind: str = "") -> tuple[list[int], list[str]]:
    """lme4's ``checkHess``: negative, zero or badly spread eigenvalues, in lme4's words."""
    if not np.all(np.isfinite(hess)):
        return [-6], ["Problem with Hessian check (infinite or missing values?)"]
    if hess.size == 0:
        return [0], []
    evd = np.linalg.eigvalsh(hess)
    negative = int((evd < -tol).sum())
    if negative:
        return [-3], [" ".join(["Model failed to converge:", "degenerate", kind,
                                f"Hessian with {negative} negative eigenvalues"])]
    try:
        np.linalg.cholesky(hess)
        factors = True
    except np.linalg.LinAlgError:
        factors = False
    if (np.abs(evd) < tol).any() or not factors:
        return [-4], [" ".join([kind, "Hessian is numerically singular: parameters are not uniquely determined"])]
    codes, msgs = [], []
    if evd.max() * tol > 1:
        codes.append(2)
        msgs.append("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?")
    if evd.min() / evd.max() < tol:
        codes.append(3)
        msgs.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?")
    return codes or [0], msgs


def lmer(formula: str, data, REML: bool = True, weights=None, offset=None,
         control: lmerControl | None = None) -> LinearMixedModel:
    """Fit a linear mixed model from an lme4 formula.

    Parameters
    ----------
    formula : str
        lme4 syntax, e.g. ``"Reaction ~ Days + (1 + Days | Subject)"``.
    data : pandas.DataFrame or polars.DataFrame
    REML : bool, default True
        Fit by restricted maximum likelihood (lme4's default) or by maximum likelihood.
    weights : str or array-like, optional
        Prior weights: a column of ``data`` or one value per row (the residual variance of
        row i is σ²/wᵢ).
    offset : str or array-like, optional
        A known term added to the linear predictor, as ``offset(x)`` in the formula.
    control : lmerControl, optional
        Follow lme4's own optimizer path (``lmerControl(optimizer="nloptwrap")``) and stop
        where lme4 stops, to reproduce a printout made with lme4; by default lmmplot searches
        for the best optimum, which is never worse than lme4's.

    Returns
    -------
    LinearMixedModel
    """
    with single_threaded_blas():
        return LinearMixedModel(formula, data, REML=REML, weights=weights, offset=offset).fit(control)
