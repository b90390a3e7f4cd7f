"""Prediction frames for the figures: grids over a model's data, and the model's lines on them.

Pure pandas and numpy on the models' public accessors (``variables``, ``frame``, ``predict``,
``model_matrix``, ``vcov``, ``VarCorr``, ``sigma``); nothing here imports plotnine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ArgumentTypeError, DataError
from ..lmlist import LmList

FITTED, LOWER, UPPER, LINE = ".fitted", ".lower", ".upper", ".line"
NEW_LEVEL = "(new level)"  # a grouping level no fit has seen: its random effects are zero


@dataclass(frozen=True)
class Roles:
    """What each of a model's columns is, for drawing it.

    Attributes
    ----------
    response : tuple of str
        The response's columns.
    numeric, categorical : tuple of str
        The predictors (fixed part and random terms' left-hand sides), by kind.
    groups : dict
        Grouping factor (lme4's name) to its columns, most levels first; empty for ``lm``.
    """

    response: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]

    @property
    def predictors(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


def is_categorical(column: pd.Series) -> bool:
    """Whether formulas encode ``column`` as a factor (text, categorical or boolean)."""
    return isinstance(column.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(column) \
        or pd.api.types.is_bool_dtype(column)


def roles(model) -> Roles:
    """The :class:`Roles` of a fitted ``lp.lmer`` or ``lp.lm`` model."""
    if not hasattr(model, "variables") or not hasattr(model, "frame"):
        raise ArgumentTypeError(f"expected a model fitted by lmmplot.lmer or lmmplot.lm, not {type(model).__name__}")
    v, data = model.variables, model.frame
    order = list(getattr(model, "ngrps", {}))
    groups = {g: v.groups[g] for g in order if g in v.groups}
    predictors = [c for c in dict.fromkeys(v.fixed + v.random) if c not in v.response]
    numeric = tuple(c for c in predictors if not is_categorical(data[c]))
    categorical = tuple(c for c in predictors if is_categorical(data[c]))
    return Roles(v.response, numeric, categorical, groups)


def group_columns(model, group: str | None) -> tuple[str, ...]:
    """The columns of grouping factor ``group`` (by lme4's name or a column); the first by default."""
    groups = roles(model).groups
    if not groups:
        raise ArgumentTypeError(f"{model.formula.text!r} has no grouping factor: fit it with lp.lmer")
    if group is None:
        return next(iter(groups.values()))
    if group in groups:
        return groups[group]
    for columns in groups.values():
        if columns == (group,):
            return columns
    raise DataError(f"group {group!r} is not a grouping factor of {model.formula.text!r}; "
                    f"its grouping factors are {list(groups)}")


def check_x(model, x: str) -> None:
    """A clear error when ``x`` is not one of the model's predictors."""
    r = roles(model)
    if x not in r.predictors:
        raise DataError(f"x {x!r} is not a predictor of {model.formula.text!r}; its predictors are "
                        f"{list(r.predictors)}")


def line_grid(data: pd.DataFrame, x: str, keys: list[str], held: list[str], n: int) -> pd.DataFrame:
    """One line per combination of ``keys`` seen in ``data``: ``n`` values of a numeric ``x`` over
    that combination's observed range (or each level of a categorical ``x`` it has), the
    ``held`` numeric columns at their mean within it. Column ``.line`` numbers the lines."""
    categorical_x = is_categorical(data[x])
    line, first = _combinations(data, keys)
    nlines = first.size
    out = {k: data[k].iloc[first].reset_index(drop=True) for k in keys}
    counts = np.bincount(line, minlength=nlines)
    for c in held:
        out[c] = np.bincount(line, weights=data[c].to_numpy(float), minlength=nlines) / counts
    lines = pd.DataFrame(out, index=pd.RangeIndex(nlines))
    lines[LINE] = np.arange(nlines)
    if categorical_x:
        point, at = _combinations(data, keys + [x])
        grid = lines.iloc[line[at]].reset_index(drop=True)
        grid[x] = data[x].iloc[at].to_numpy()
        if isinstance(data[x].dtype, pd.CategoricalDtype):
            grid[x] = pd.Categorical(grid[x], dtype=data[x].dtype)
        return grid
    values = data[x].to_numpy(float)
    order = np.argsort(line, kind="stable")
    starts = np.searchsorted(line[order], np.arange(nlines))
    lo, hi = np.minimum.reduceat(values[order], starts), np.maximum.reduceat(values[order], starts)
    grid = lines.iloc[np.repeat(np.arange(nlines), n)].reset_index(drop=True)
    grid[x] = (lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, n)).ravel()
    return grid


def _combinations(data: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's combination of ``columns`` (numbered in sorted order, as R sorts levels) and the
    first row of each combination."""
    if not columns:
        return np.zeros(len(data), np.intp), np.zeros(1 if len(data) else 0, np.intp)
    codes = np.stack([pd.factorize(data[c], sort=True)[0] for c in columns], axis=1)
    _, first, combo = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    return combo.ravel(), first


def fitted_lines(model, x: str, group: str | None = None, n: int = 50) -> pd.DataFrame:
    """Each group's line (lp.lmer: its prediction with its random effects) or the single line (lp.lm).

    One line per level of the grouping factor and of each categorical predictor, over the x
    range each has; other numeric predictors at their mean within it. A crossed model's other
    grouping factors contribute no random effect (they are set to a level no fit has seen).
    """
    check_x(model, x)
    r = roles(model)
    columns = group_columns(model, group) if r.groups else ()
    keys = list(columns) + [c for c in r.categorical if c != x and c not in columns]
    held = [c for c in r.numeric if c != x]
    grid = line_grid(model.frame, x, keys, held, n)
    scale = {"type": "response"} if is_generalized(model) else {}
    if not r.groups:
        grid[FITTED] = model.predict(grid, **scale)
        return grid
    others = {c for cols in r.groups.values() for c in cols} - set(grid.columns)
    query = grid.assign(**{c: NEW_LEVEL for c in others})
    grid[FITTED] = model.predict(query, allow_new_levels=bool(others), **scale)
    return grid


def is_generalized(model) -> bool:
    """Whether ``model`` is a GLMM (lp.glmer): its lines are drawn on the response scale."""
    return getattr(model, "family", None) is not None


def no_pooling_lines(model, x: str, group: str | None = None, n: int = 50) -> pd.DataFrame:
    """Each group's own least-squares line (lme4's lmList on the model's fixed formula).

    Groups whose fit leaves a coefficient undetermined draw no line.
    """
    check_x(model, x)
    if is_generalized(model):
        raise ArgumentTypeError(f"no-pooling lines are least-squares fits of a linear model; "
                                f"{model.formula.text!r} is a {model.family.family} GLMM")
    r = roles(model)
    columns = group_columns(model, group)
    fits = LmList(model.formula.fixed_formula, columns, model.frame)
    keys = list(columns) + [c for c in r.categorical if c != x and c not in columns]
    held = [c for c in r.numeric if c != x]
    grid = line_grid(model.frame, x, keys, held, n)
    grid[FITTED] = fits.predict(grid)
    return grid[np.isfinite(grid[FITTED].to_numpy())].reset_index(drop=True)


def population_lines(model, x: str, n: int = 50, interval: str | None = None,
                     level: float = 0.95) -> pd.DataFrame:
    """Xβ over the whole x range, one line per observed combination of the categorical
    predictors, other numeric predictors at their mean; with ``interval``, its band.

    ``"confidence"``: ± q·√(x vcov(β) xᵀ); ``"prediction"`` adds each random term's z Σ zᵀ and
    σ². q is Student's t on the residual df for lp.lm, the normal quantile for lp.lmer. A GLMM's
    line and confidence band are those of the link scale mapped through the inverse link.
    """
    if interval not in (None, "confidence", "prediction"):
        raise ArgumentTypeError(f"interval must be None, 'confidence' or 'prediction', not {interval!r}")
    if not 0 < level < 1:
        raise ArgumentTypeError(f"level must be between 0 and 1, not {level!r}")
    check_x(model, x)
    generalized = is_generalized(model)
    if generalized and interval == "prediction":
        raise ArgumentTypeError(f"prediction bands need a linear model's residual variance; "
                                f"{model.formula.text!r} is a {model.family.family} GLMM: use "
                                f"interval='confidence'")
    r = roles(model)
    data = model.frame
    keys = [c for c in r.categorical if c != x]
    held = [c for c in r.numeric if c != x]
    grid = line_grid(data.assign(**{c: data[c].mean() for c in held}), x, keys, held, n)
    if not is_categorical(data[x]):
        # over the whole range, not each combination's own
        lo, hi = float(data[x].min()), float(data[x].max())
        grid[x] = np.tile(np.linspace(lo, hi, n), grid[LINE].nunique())
    X = model.model_matrix(grid).to_numpy()
    eta = X @ model.fixef().to_numpy()
    grid[FITTED] = model.family.linkinv(eta) if generalized else eta
    if interval is None:
        return grid
    var = np.einsum("ij,jk,ik->i", X, model.vcov().to_numpy(), X)
    if interval == "prediction":
        var = var + model.sigma**2
        if r.groups:
            rows = model.model_matrix(grid, type="randomListRaw")
            for Z, block in zip(rows, model.VarCorr().blocks):
                Z = Z.to_numpy()
                var = var + np.einsum("ij,jk,ik->i", Z, block.cov, Z)
    q = stats.norm.ppf(0.5 + level / 2) if r.groups else stats.t.ppf(0.5 + level / 2, model.df_residual)
    half = q * np.sqrt(var)
    bounds = (eta - half, eta + half)
    if generalized:  # a monotone link: the band's ends map to the response scale's
        bounds = np.sort([model.family.linkinv(b) for b in bounds], axis=0)
    grid[LOWER], grid[UPPER] = bounds
    return grid


def reference_levels(model) -> dict[str, object]:
    """Each categorical predictor's reference level: its first level, as the model encodes it."""
    out = {}
    for c in roles(model).categorical:
        column = model.frame[c]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[c] = column.cat.remove_unused_categories().cat.categories[0]
        else:
            out[c] = sorted(column.unique())[0]
    return out
