"""broom.mixed's tidy(), augment() and glance() for glmer fits (its glmerMod methods).

Registered on :class:`GeneralizedLinearMixedModel` with the package's tidiers, so
``lp.tidy(g)`` dispatches here; the random-effect rows are the lmer tidiers' own.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from ..distributions import norm_ppf
from ..influence import cooks_distance, hat_values
from ..tidiers import _in_input_kind, _pad, augment, glance, tidy, tidy_frame
from .display import wald_z_table
from .model import GeneralizedLinearMixedModel


def _fixed(model, conf_int: bool, conf_level: float) -> pd.DataFrame:
    tab = wald_z_table(model)
    out = pd.DataFrame({"effect": "fixed", "group": np.nan, **{c: tab[c] for c in tab}})
    if conf_int:
        q = norm_ppf(0.5 + conf_level / 2)
        out["conf.low"] = tab["estimate"] - q * tab["std.error"]
        out["conf.high"] = tab["estimate"] + q * tab["std.error"]
    return out


@tidy.register
@_in_input_kind
def _tidy_glmer(model: GeneralizedLinearMixedModel, effects=("ran_pars", "fixed"), scales=None,
                conf_int: bool = False, conf_level: float = 0.95) -> pd.DataFrame:
    """One row per estimate, broom.mixed's columns; fixed effects with Wald z tests.

    Parameters
    ----------
    model : GeneralizedLinearMixedModel
    effects : str or sequence of str
        Any of ``"fixed"``, ``"ran_pars"``, ``"ran_vals"``, ``"ran_coefs"``.
    scales : None, "sdcor" or "vcov"
    conf_int : bool
        Add ``conf.low`` and ``conf.high``: normal (Wald) intervals for the fixed effects and
        the conditional modes.
    conf_level : float
    """
    return tidy_frame(model, effects, lambda: _fixed(model, conf_int, conf_level), scales,
                      conf_int, conf_level)


def working_weights(model) -> tuple[np.ndarray, np.ndarray]:
    """lme4's ``sqrtrwt`` = √(w / V(μ)) and ``sqrtXwt`` = √(w / V(μ)) dμ/dη at the fit."""
    fam = model.family
    eta = np.asarray(model.linear_predictor(), dtype=float)
    mu = np.asarray(model.fitted(), dtype=float)
    sqrtrwt = np.sqrt(np.asarray(model.prior_weights, dtype=float) / fam.variance(mu))
    return sqrtrwt, sqrtrwt * fam.mu_eta(eta)


@augment.register
@_in_input_kind
def _augment_glmer(model: GeneralizedLinearMixedModel, newdata=None, re_form=None,
                   allow_new_levels: bool = False) -> pd.DataFrame:
    """The data with broom.mixed's glmerMod columns.

    ``.fitted``, ``.fixed`` and ``.eta`` are on the link scale (offset included), ``.mu`` on
    the response scale; ``.resid`` are deviance residuals, ``.wtres`` Pearson residuals;
    ``.hat`` and ``.cooksd`` are lme4's hatvalues() and cooks.distance() (lme4 warns that
    the hat matrix may not make sense for GLMMs). With ``newdata``, ``.fitted`` and
    ``.fixed`` are link-scale predictions for those rows.
    """
    if newdata is not None:
        from ..frame import as_pandas

        new = as_pandas(newdata, "newdata").copy()
        new[".fitted"] = model.predict(new, type="link", re_form=re_form,
                                       allow_new_levels=allow_new_levels)
        new[".fixed"] = model.predict(new, type="link", re_form="~0")
        return new
    eta = np.asarray(model.linear_predictor(), dtype=float)
    hat = hat_values(model, np.asarray(model.prior_weights, dtype=float))
    sqrtrwt, sqrtxwt = working_weights(model)
    pearson = np.asarray(model.residuals(type="pearson"), dtype=float)
    cols = {
        ".fitted": eta, ".resid": model.residuals(type="deviance"), ".hat": hat,
        ".cooksd": cooks_distance(model, hat), ".fixed": model.predict(type="link", re_form="~0"),
        ".mu": model.fitted(), ".offset": model.offset, ".sqrtXwt": sqrtxwt, ".sqrtrwt": sqrtrwt,
        ".weights": model.prior_weights, ".wtres": pearson, ".eta": eta,
    }
    return _pad(model, cols)


@glance.register
@_in_input_kind
def _glance_glmer(model: GeneralizedLinearMixedModel) -> pd.DataFrame:
    """One row: nobs, sigma, logLik, AIC, BIC, deviance (lme4's deviance()) and df.residual."""
    return pd.DataFrame([{"nobs": model.nobs, "sigma": model.sigma, "logLik": model.logLik(),
                          "AIC": model.AIC(), "BIC": model.BIC(), "deviance": model.deviance(),
                          "df.residual": model.df_residual}])
