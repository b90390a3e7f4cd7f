"""broom.mixed's tidy(), augment() and glance() for lmer fits (broom's for lm), as data frames.

Results come back as pandas data frames, or polars ones when the model was fitted to polars.
"""
from __future__ import annotations

import copy
from functools import singledispatch, wraps

import numpy as np
import pandas as pd

from .distributions import norm_ppf, t_ppf, t_sf
from .errors import ArgumentTypeError
from .frame import as_pandas
from .influence import cooks_distance, hat_values
from .lm import LinearModel
from .model import LinearMixedModel

_EFFECTS = ("fixed", "ran_pars", "ran_vals", "ran_coefs")


def _in_input_kind(tidier):
    """Return the tidier's frame as polars when the model was fitted to a polars frame."""

    @wraps(tidier)
    def wrapper(model, *args, **kwargs):
        out = tidier(model, *args, **kwargs)
        if getattr(model, "data_is_polars", False):
            return _to_polars(out)
        return out

    return wrapper


def _to_polars(frame: pd.DataFrame):
    """A polars copy of ``frame``, missing text as null; no pyarrow needed."""
    import polars

    columns = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col):
            columns[name] = col.to_numpy()
        else:
            columns[name] = [None if pd.isna(v) else v for v in col]
    return polars.DataFrame(columns)


def _unsupported(model, *args, **kwargs):
    raise ArgumentTypeError(f"no tidier for {type(model).__name__}; fit with lmmplot.lmer or lmmplot.lm")


@singledispatch
def tidy(model, *args, **kwargs) -> pd.DataFrame:
    """One row per estimate, with broom.mixed's (lmer) or broom's (lm) columns."""
    _unsupported(model)


@singledispatch
def augment(model, *args, **kwargs) -> pd.DataFrame:
    """The data with fitted values, residuals and influence measures."""
    _unsupported(model)


@singledispatch
def glance(model) -> pd.DataFrame:
    """One row of fit statistics."""
    _unsupported(model)


@tidy.register
@_in_input_kind
def _tidy_lmer(model: LinearMixedModel, effects=("ran_pars", "fixed"), scales=None,
               conf_int: bool = False, conf_level: float = 0.95,
               ddf_method: str = "Satterthwaite") -> pd.DataFrame:
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
    return tidy_frame(model, effects, lambda: _fixed(model, ddf_method, conf_int, conf_level),
                      scales, conf_int, conf_level)


def tidy_frame(model, effects, fixed, scales, conf_int: bool, conf_level: float) -> pd.DataFrame:
    """broom.mixed's tidy frame: ``fixed()`` makes the fixed-effect rows (t or z tests), the
    random-effect rows come from the model's VarCorr(), ranef() and coef()."""
    effects = [effects] if isinstance(effects, str) else list(effects)
    for e in effects:
        if e not in _EFFECTS:
            raise ArgumentTypeError(f"effects must be among {_EFFECTS}, not {e!r}")
    parts = []
    if "fixed" in effects:
        parts.append(fixed())
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
    out = out.reindex(columns=columns)
    # as broom.mixed: a column with nothing in it for the effects asked for is left out
    return out.loc[:, out.notna().any(axis=0).to_numpy()]


def fixed_effects_table(model, ddf_method: str = "Satterthwaite") -> pd.DataFrame:
    """Estimate, std.error, df, statistic and p.value per coefficient (summary's table)."""
    columns = ["term", "estimate", "std.error", "df", "statistic", "p.value"]
    if model.n_fixed == 0:
        return pd.DataFrame(columns=columns)
    if ddf_method == "Satterthwaite":
        vc = model.varpar_covariance
        se = np.sqrt(np.diag(vc.vcov_beta))
        df = vc.coef_df()
    elif ddf_method == "Kenward-Roger":
        kr = model.kenward_roger
        se = np.sqrt(np.diag(kr.vcov_beta))
        df = kr.coef_df()
    else:
        raise ArgumentTypeError(f"ddf_method must be 'Satterthwaite' or 'Kenward-Roger', not {ddf_method!r}")
    est = model.beta
    t = est / se
    return pd.DataFrame(
        {"term": model.coef_names, "estimate": est, "std.error": se, "df": df,
         "statistic": t, "p.value": 2 * t_sf(np.abs(t), df)}
    )


def _fixed(model, ddf_method, conf_int, conf_level) -> pd.DataFrame:
    tab = fixed_effects_table(model, ddf_method)
    out = pd.DataFrame({"effect": "fixed", "group": np.nan, "term": tab["term"],
                        "estimate": tab["estimate"], "std.error": tab["std.error"],
                        "statistic": tab["statistic"], "df": tab["df"], "p.value": tab["p.value"]})
    if conf_int:
        q = t_ppf(0.5 + conf_level / 2, tab["df"])
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
        z = norm_ppf(0.5 + conf_level / 2)
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


@augment.register
@_in_input_kind
def _augment_lmer(model: LinearMixedModel, newdata=None, re_form=None,
                  allow_new_levels: bool = False) -> pd.DataFrame:
    """The data with fitted values, residuals and influence measures (broom.mixed's columns).

    Rows dropped for missing values come back in place with NaN. With ``newdata``,
    ``.fitted`` and ``.fixed`` are predictions for those rows.
    """
    if newdata is not None:
        new = as_pandas(newdata, "newdata").copy()
        new[".fitted"] = model.predict(new, re_form=re_form, allow_new_levels=allow_new_levels)
        new[".fixed"] = model.predict(new, re_form="~0")
        return new
    fitted = model.fitted()
    hat = hat_values(model)
    resid = model.residuals()
    weights = 1.0 if model.prior_weights is None else model.prior_weights
    frame = {}  # the model frame's extra columns, as broom.mixed shows them
    if model.prior_weights is not None:
        frame["(weights)"] = weights
    if model.offset_given is not None:
        frame["(offset)"] = model.offset_given
    cols = {
        **frame, ".fitted": fitted, ".resid": resid, ".hat": hat, ".cooksd": cooks_distance(model, hat),
        ".fixed": model.fixed_part(), ".mu": fitted, ".offset": model.offset, ".sqrtXwt": np.sqrt(weights),
        ".sqrtrwt": np.sqrt(weights), ".weights": weights, ".wtres": model.residuals(type="pearson"),
    }
    return _pad(model, cols)


def _pad(model, cols: dict) -> pd.DataFrame:
    """The user's data with ``cols`` for the fitted rows and NaN for the dropped ones (a data
    column of the same name is replaced in place), made in one step rather than a column at a time."""
    data, keep = model.data, model.kept_rows
    full = np.full((len(data), len(cols)), np.nan)
    full[keep] = np.column_stack([np.broadcast_to(np.asarray(v, float), (int(keep.sum()),)) for v in cols.values()])
    added = pd.DataFrame(full, index=data.index, columns=list(cols))
    replaced = [c for c in cols if c in data.columns]
    if replaced:
        data = data.assign(**{c: added.pop(c) for c in replaced})
    out = pd.concat([data, added], axis=1)
    out.attrs = copy.deepcopy(model.data.attrs)
    return out


@glance.register
@_in_input_kind
def _glance_lmer(model: LinearMixedModel) -> pd.DataFrame:
    """One row of fit statistics: nobs, sigma, logLik, AIC, BIC, REMLcrit or deviance, df.residual."""
    row = {"nobs": model.nobs, "sigma": model.sigma, "logLik": model.logLik(),
           "AIC": model.AIC(), "BIC": model.BIC()}
    if model.REML:
        row["REMLcrit"] = model.REMLcrit()
    else:
        row["deviance"] = model.deviance()
    row["df.residual"] = model.df_residual
    return pd.DataFrame([row])


@tidy.register
@_in_input_kind
def _tidy_lm(model: LinearModel, conf_int: bool = False, conf_level: float = 0.95) -> pd.DataFrame:
    """broom's tidy.lm: term, estimate, std.error, statistic, p.value (+ conf.low, conf.high)."""
    out = model.coef_table()
    if conf_int:
        q = t_ppf(0.5 + conf_level / 2, model.df_residual)
        out["conf.low"] = out["estimate"] - q * out["std.error"]
        out["conf.high"] = out["estimate"] + q * out["std.error"]
    return out


@augment.register
@_in_input_kind
def _augment_lm(model: LinearModel, newdata=None) -> pd.DataFrame:
    """broom's augment.lm: .fitted, .resid, .hat, .sigma, .cooksd, .std.resid."""
    if newdata is not None:
        new = as_pandas(newdata, "newdata").copy()
        new[".fitted"] = model.predict(new)
        return new
    h, r, sigma = model.hat_values(), model.residuals(), model.sigma
    dfr = model.df_residual
    loo_sigma = np.sqrt(np.maximum((r @ r - r**2 / (1 - h)) / (dfr - 1), 0.0))
    std_resid = r / (sigma * np.sqrt(1 - h))
    cooks = std_resid**2 * h / ((1 - h) * model.n_fixed)
    cols = {".fitted": model.fitted(), ".resid": r, ".hat": h, ".sigma": loo_sigma,
            ".cooksd": cooks, ".std.resid": std_resid}
    return _pad(model, cols)


@glance.register
@_in_input_kind
def _glance_lm(model: LinearModel) -> pd.DataFrame:
    """broom's glance.lm."""
    r2, adj = model.r_squared()
    F, df1, p = model.f_test()
    return pd.DataFrame([{
        "r.squared": r2, "adj.r.squared": adj, "sigma": model.sigma, "statistic": F,
        "p.value": p, "df": df1, "logLik": model.logLik(), "AIC": model.AIC(), "BIC": model.BIC(),
        "deviance": model.deviance(), "df.residual": model.df_residual, "nobs": model.nobs}])

