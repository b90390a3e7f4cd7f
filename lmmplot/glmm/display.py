"""lme4's printed ``summary()`` of a glmer or glmer.nb fit, built from :mod:`lmmplot.display`'s parts.

The model is read through its public accessors only: ``family``, ``nAGQ``, ``formula``,
``data``, ``logLik()``, ``AIC()``, ``BIC()``, ``df_residual``, ``sigma``,
``residuals(type="pearson")``, ``VarCorr()``, ``nobs``, ``ngrps``, ``beta``, ``vcov()``,
``coef_names`` and ``messages``, and ``weights_label`` / ``offset_label`` (the name of the
prior weights or offset the user gave, or None) for lme4's Weights and Offset lines.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from ..display import (
    COR_MAX, _convergence, DIGITS, _call_lines, _correlation_note, _correlation_table, _coefmat,
    _groups_lines, _Header, _Legend, _Named, Printout, _quantiles, _Text, _varcorr_table,
)
from ..distributions import norm_sf
from ..rformat import format_num, r_round, zapsmall

OBJECT_CLASS = "glmerMod"


def coef_columns(model) -> list[str]:
    """lme4's column names: "t value" for families with a dispersion (Gamma, gaussian), its
    p-values still from the normal distribution."""
    stat = "t value" if model.family.has_dispersion else "z value"
    return ["Estimate", "Std. Error", stat, "Pr(>|z|)"]


def wald_z_table(model) -> pd.DataFrame:
    """Estimate, std.error, z statistic and normal p-value per fixed effect (lme4's summary)."""
    est = np.asarray(model.beta, dtype=float)
    se = np.sqrt(np.diag(np.asarray(model.vcov(), dtype=float))) if est.size else est
    z = est / se if est.size else est
    return pd.DataFrame({"term": list(model.coef_names), "estimate": est, "std.error": se,
                         "statistic": z, "p.value": 2 * norm_sf(np.abs(z))})


def method_title(model) -> str:
    """lme4's methTitle for a GLMM: Laplace or adaptive Gauss-Hermite quadrature."""
    n_agq = int(getattr(model, "nAGQ", 1))
    how = ("Laplace Approximation" if n_agq == 1
           else f"Adaptive Gauss-Hermite Quadrature, nAGQ = {n_agq}")
    return f"Generalized linear mixed model fit by maximum likelihood ({how})"


def family_line(model) -> list[str]:
    """lme4's `` Family: binomial  ( logit )``."""
    return [f" Family: {model.family.family}  ( {model.family.link} )"]


def _criterion(model) -> _Named:
    """AIC, BIC, logLik, deviance (-2 logLik, as lme4's summary prints it) and df.resid."""
    ll = model.logLik()
    values = format_num([r_round(v, 1) for v in (model.AIC(), model.BIC(), ll, -2 * ll)])
    values.append(format_num([model.df_residual])[0])
    return _Named(["AIC", "BIC", "logLik", "deviance", "df.resid"], [v.strip() for v in values])


def _scaled_residuals(model) -> _Named:
    resid = np.asarray(model.residuals(type="pearson"), dtype=float) / model.sigma
    quantiles = zapsmall(_quantiles(resid), DIGITS + 1)
    return _Named(["Min", "1Q", "Median", "3Q", "Max"], format_num(quantiles, DIGITS))


class GlmerSummary(Printout):
    """lme4's ``summary(g)`` for a glmer fit: ``str()`` is R's printout, Jupyter shows HTML.

    Parameters
    ----------
    model : GeneralizedLinearMixedModel
    correlation : bool, optional
        Print the correlations of the fixed effects; by default only when there are at
        most 12 fixed effects, as lme4.
    """

    def __init__(self, model, correlation: bool | None = None):
        self.model = model
        self.coefficients = wald_z_table(model)
        p = len(self.coefficients)
        self.correlation = p <= COR_MAX if correlation is None else bool(correlation)
        self._note = correlation is None and p > COR_MAX

    @property
    def title(self) -> str:
        return method_title(self.model)

    def _blocks(self):
        """The printout's parts in order, as (heading or None, part)."""
        m = self.model
        blank = _Text([""])
        p = len(self.coefficients)
        yield None, _Header(self.title, family_line(m) + _call_lines(m), OBJECT_CLASS)
        yield None, _criterion(m)
        yield None, blank
        yield "Scaled residuals: ", _scaled_residuals(m)
        yield None, blank
        yield "Random effects:", _varcorr_table(m.VarCorr(), DIGITS, ("Variance", "Std.Dev."))
        yield None, _Text(_groups_lines(m))
        if p:
            tab = self.coefficients
            values = tab[["estimate", "std.error", "statistic", "p.value"]].to_numpy(float)
            table, stars = _coefmat(values, list(tab["term"]), columns=coef_columns(m))
            yield None, blank
            yield "Fixed effects:", table
            if stars:
                yield None, _Legend()
            if self._note:
                yield None, _correlation_note(p)
            elif self.correlation and p > 1:
                yield None, blank
                yield "Correlation of Fixed Effects:", _correlation_table(m)
        line = _convergence(m) if m.messages else None
        if line:
            yield None, _Text([line] + list(m.messages) + [""])
