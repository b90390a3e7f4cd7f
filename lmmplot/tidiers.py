"""broom.mixed's tidy(), augment() and glance() for lmer fits, as pandas data frames."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .errors import ArgumentTypeError
from .frame import as_pandas
from .influence import cooks_distance, hat_values

_EFFECTS = ("fixed", "ran_pars", "ran_vals", "ran_coefs")


def tidy(model, effects=("ran_pars", "fixed"), scales=None, conf_int: bool = False,
         conf_level: float = 0.95, ddf_method: str = "Satterthwaite") -> pd.DataFrame:
    """One row per estimate, broom.mixed's columns.

    Parameters
    ----------
    model : LinearMixedModel or LinearModel
    effects : str or sequence of str
        Any of ``"fixed"``, ``"ran_pars"``, ``"ran_vals"``, ``"ran_coefs"``.
    scales : None, "sdcor" or "vcov"
        Scale of the ``ran_pars`` rows: standard deviations and correlations (default)
        or variances and covariances.
    conf_int : bool
        Add ``conf.low`` and ``conf.high`` (Wald intervals, t-based for fixed effects).
    conf_level : float
    ddf_method : "Satterthwaite" or "Kenward-Roger"
        Denominator df of the fixed effects' t tests.
    """
    if hasattr(model, "tidy"):
        return model.tidy(conf_int=conf_int, conf_level=conf_level)
    effects = [effects] if isinstance(effects, str) else list(effects)
    for e in effects:
        if e not in _EFFECTS:
            raise ArgumentTypeError(f"effects must be among {_EFFECTS}, not {e!r}")
    parts = []
    if "fixed" in effects:
        parts.append(_fixed(model, ddf_method, conf_int, conf_level))
    if "ran_pars" in effects:
        parts.append(_ran_pars(model, scales or "sdcor", conf_int))
    if "ran_vals" in effects:
        parts.append(_ran_vals(model, conf_int, conf_level))
    if "ran_coefs" in effects:
        parts.append(_ran_coefs(model))
    out = pd.concat(parts, ignore_index=True)
    columns = ["effect", "group", "level", "term", "estimate", "std.error", "statistic", "df", "p.value"]
    if conf_int:
        columns += ["conf.low", "conf.high"]
    if not {"ran_vals", "ran_coefs"} & set(effects):
        columns.remove("level")
    return out.reindex(columns=columns)


def fixed_effects_table(model, ddf_method: str = "Satterthwaite") -> pd.DataFrame:
    """Estimate, std.error, df, statistic and p.value per coefficient (summary's table)."""
    if ddf_method == "Satterthwaite":
        vc = model.varpar_covariance
        se = np.sqrt(np.diag(vc.vcov_beta))
        df = vc.coef_df()
    elif ddf_method == "Kenward-Roger":
        from .kenward_roger import kenward_roger

        kr = kenward_roger(model)
        se = np.sqrt(np.diag(kr.vcov_beta))
        df = kr.coef_df()
    else:
        raise ArgumentTypeError(f"ddf_method must be 'Satterthwaite' or 'Kenward-Roger', not {ddf_method!r}")
    est = model.beta
    t = est / se
    return pd.DataFrame(
        {"term": model.coef_names, "estimate": est, "std.error": se, "df": df,
         "statistic": t, "p.value": 2 * stats.t.sf(np.abs(t), df)}
    )


def _fixed(model, ddf_method, conf_int, conf_level) -> pd.DataFrame:
    tab = fixed_effects_table(model, ddf_method)
    out = pd.DataFrame({"effect": "fixed", "group": np.nan, "term": tab["term"],
                        "estimate": tab["estimate"], "std.error": tab["std.error"],
                        "statistic": tab["statistic"], "df": tab["df"], "p.value": tab["p.value"]})
    if conf_int:
        q = stats.t.ppf(0.5 + conf_level / 2, tab["df"])
        out["conf.low"] = tab["estimate"] - q * tab["std.error"]
        out["conf.high"] = tab["estimate"] + q * tab["std.error"]
    return out


def _ran_pars(model, scales, conf_int) -> pd.DataFrame:
    if scales not in ("sdcor", "vcov"):
        raise ArgumentTypeError(f"scales must be 'sdcor' or 'vcov', not {scales!r}")
    rows = model.VarCorr().ran_pars(scales)
    out = pd.DataFrame(rows, columns=["group", "term", "estimate"])
    out.insert(0, "effect", "ran_pars")
    return out


def _ran_vals(model, conf_int, conf_level) -> pd.DataFrame:
    frames = []
    for group, re in model.ranef(condVar=True).items():
        sd = re.attrs["condsd"]
        for term in re.columns:
            frames.append(pd.DataFrame({
                "effect": "ran_vals", "group": group, "level": re.index.astype(str),
                "term": term, "estimate": re[term].to_numpy(), "std.error": sd[term].to_numpy()}))
    out = pd.concat(frames, ignore_index=True)
    if conf_int:
        z = stats.norm.ppf(0.5 + conf_level / 2)
        out["conf.low"] = out["estimate"] - z * out["std.error"]
        out["conf.high"] = out["estimate"] + z * out["std.error"]
    return out


def _ran_coefs(model) -> pd.DataFrame:
    frames = []
    for group, co in model.coef().items():
        for term in co.columns:
            frames.append(pd.DataFrame({"effect": "ran_coefs", "group": group,
                                        "level": co.index.astype(str), "term": term,
                                        "estimate": co[term].to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def augment(model, newdata=None, re_form=None, allow_new_levels: bool = False) -> pd.DataFrame:
    """The data with fitted values, residuals and influence measures (broom.mixed's columns).

    Rows dropped for missing values come back in place with NaN. With ``newdata``,
    ``.fitted`` and ``.fixed`` are predictions for those rows.
    """
    if hasattr(model, "augment"):
        return model.augment(newdata)
    if newdata is not None:
        new = as_pandas(newdata, "newdata").copy()
        new[".fitted"] = model.predict(new, re_form=re_form, allow_new_levels=allow_new_levels)
        new[".fixed"] = model.predict(new, re_form="~0")
        return new
    fitted = model.fitted()
    hat = hat_values(model)
    resid = model.residuals()
    cols = {
        ".fitted": fitted, ".resid": resid, ".hat": hat, ".cooksd": cooks_distance(model, hat),
        ".fixed": model.fixed_part(), ".mu": fitted, ".offset": 0.0, ".sqrtXwt": 1.0,
        ".sqrtrwt": 1.0, ".weights": 1.0, ".wtres": resid,
    }
    return _pad(model, cols)


def _pad(model, cols: dict) -> pd.DataFrame:
    """The user's data with ``cols`` for the fitted rows and NaN for the dropped ones."""
    out = model.data.copy()
    keep = model.kept_rows
    for name, values in cols.items():
        full = np.full(len(out), np.nan)
        full[keep] = values
        out[name] = full
    return out


def glance(model) -> pd.DataFrame:
    """One row of fit statistics: nobs, sigma, logLik, AIC, BIC, REMLcrit or deviance, df.residual."""
    if hasattr(model, "glance"):
        return model.glance()
    row = {"nobs": model.nobs, "sigma": model.sigma, "logLik": model.logLik(),
           "AIC": model.AIC(), "BIC": model.BIC()}
    if model.REML:
        row["REMLcrit"] = model.REMLcrit()
    else:
        row["deviance"] = model.deviance()
    row["df.residual"] = model.df_residual
    return pd.DataFrame([row])
