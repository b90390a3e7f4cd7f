"""Prediction frames for the figures: grids over a model's data, and the model's lines on them.

Pure pandas and numpy on the models' public accessors (``variables``, ``frame``, ``predict``,
``model_matrix``, ``vcov``, ``VarCorr``, ``sigma``); nothing here imports plotnine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..distributions import norm_ppf, t_ppf
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


def is_categorical(column) -> bool:
    """Whether formulas encode ``column`` (a Series, or its dtype) as a factor (text,
    categorical or boolean)."""
    dtype = getattr(column, "dtype", column)
    if isinstance(dtype, np.dtype):  # numpy's own: numbers are the kinds i, u, f and c
        return dtype.kind not in "iufc"
    return isinstance(dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(dtype) \
        or pd.api.types.is_bool_dtype(dtype)


def roles(model) -> Roles:
    """The :class:`Roles` of a fitted ``lp.lmer`` or ``lp.lm`` model."""
    if not hasattr(model, "variables") or not hasattr(model, "frame"):
        raise ArgumentTypeError(f"expected a model fitted by lmmplot.lmer or lmmplot.lm, not {type(model).__name__}")
    v, data = model.variables, model.frame
    order = list(getattr(model, "ngrps", {}))
    groups = {g: v.groups[g] for g in order if g in v.groups}
    predictors = [c for c in dict.fromkeys(v.fixed + v.random) if c not in v.response]
    dtypes = data.dtypes
    numeric = tuple(c for c in predictors if not is_categorical(dtypes[c]))
    categorical = tuple(c for c in predictors if is_categorical(dtypes[c]))
    return Roles(v.response, numeric, categorical, groups)


def group_columns(model, group: str | None, r: Roles | None = None) -> tuple[str, ...]:
    """The columns of grouping factor ``group`` (by lme4's name or a column); the first by default."""
    groups = (r or roles(model)).groups
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


def check_x(model, x: str, r: Roles | None = None) -> None:
    """A clear error when ``x`` is not one of the model's predictors (``r``: its roles, if known)."""
    r = r or roles(model)
    if x not in r.predictors:
        raise DataError(f"x {x!r} is not a predictor of {model.formula.text!r}; its predictors are "
                        f"{list(r.predictors)}")


def line_grid(data: pd.DataFrame, x: str, keys: list[str], held: list[str], n: int) -> pd.DataFrame:
    """One line per combination of ``keys`` seen in ``data``: ``n`` values of a numeric ``x`` over
    that combination's observed range (or each level of a categorical ``x`` it has), the
    ``held`` numeric columns at their mean within it. Column ``.line`` numbers the lines."""
    line, first = _combinations(data, keys)
    nlines = first.size
    counts = np.bincount(line, minlength=nlines)
    if is_categorical(data[x]):
        _, rows = _combinations(data, keys + [x])  # a point per level of x within each line
        lines = line[rows]
        xs = data[x].array.take(rows)
    else:
        values = data[x].to_numpy(float)
        lo, hi = np.full(nlines, np.inf), np.full(nlines, -np.inf)
        np.minimum.at(lo, line, values)
        np.maximum.at(hi, line, values)
        lines = np.repeat(np.arange(nlines), n)
        rows = first[lines]
        xs = (lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, n)).ravel()
    out = {k: data[k].array.take(rows) for k in keys}
    for c in held:
        out[c] = (np.bincount(line, weights=data[c].to_numpy(float), minlength=nlines) / counts)[lines]
    out[LINE] = lines
    out[x] = xs
    return pd.DataFrame(out)


def _combinations(data: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's combination of ``columns`` (numbered in sorted order, as R sorts levels) and the
    first row of each combination."""
    if not columns:
        return np.zeros(len(data), np.intp), np.zeros(1 if len(data) else 0, np.intp)
    codes = [_sorted_codes(data[c]) for c in columns]
    key = codes[0] if len(codes) == 1 else np.ravel_multi_index([c + 1 for c in codes], [c.max() + 2 for c in codes])
    _, first, combo = np.unique(key, return_index=True, return_inverse=True)
    return combo.ravel(), first


def _sorted_codes(column: pd.Series) -> np.ndarray:
    """Each value's rank among the column's values (a categorical's by its levels' order)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(np.intp)
    return pd.factorize(column, sort=True)[0]


def _line_columns(r: Roles, x: str, columns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The keys a line is drawn per (the group's columns, the other categorical predictors) and
    the numeric predictors held at their mean along it."""
    keys = list(columns) + [c for c in r.categorical if c != x and c not in columns]
    return keys, [c for c in r.numeric if c != x]


def stacked_grids(grids: list[pd.DataFrame]) -> pd.DataFrame:
    """The grids one above the other, as ``pd.concat(grids, ignore_index=True)``: grids of the
    same columns, column by column (a categorical's codes, a number's values), a tenth of its time."""
    if len(grids) == 1:
        return grids[0]
    columns = list(grids[0].columns)
    if any(set(g.columns) != set(columns) for g in grids):
        return pd.concat(grids, ignore_index=True)
    out = {}
    for c in columns:
        parts = [g[c] for g in grids]
        dtype = parts[0].dtype
        if any(p.dtype != dtype for p in parts):
            out[c] = pd.concat(parts, ignore_index=True)
        elif isinstance(dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical.from_codes(np.concatenate([p.cat.codes.to_numpy() for p in parts]), dtype=dtype)
        elif dtype.kind in "biuf":
            out[c] = np.concatenate([p.to_numpy() for p in parts])
        else:
            out[c] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(out)


def _predicted(grids: list[pd.DataFrame], predict) -> list[pd.DataFrame]:
    """Each grid with ``.fitted`` from one call of ``predict`` on all of them stacked."""
    stacked = stacked_grids(grids)
    values = np.asarray(predict(stacked), float)
    bounds = np.cumsum([0] + [len(g) for g in grids])
    for grid, start, stop in zip(grids, bounds[:-1], bounds[1:]):
        grid[FITTED] = values[start:stop]
    return grids


def _fitted(model, grid: pd.DataFrame, r: Roles) -> np.ndarray:
    """The model's prediction on ``grid`` with the random effects of the grouping factors whose
    columns it has (a GLMM's on the response scale); a crossed model's other grouping factors
    take a level no fit has seen, no random effect."""
    scale = {"type": "response"} if is_generalized(model) else {}
    if not r.groups:
        return model.predict(grid, **scale)
    others = {c for cols in r.groups.values() for c in cols} - set(grid.columns)
    if others:
        grid = grid.assign(**{c: NEW_LEVEL for c in others})
    return model.predict(grid, allow_new_levels=bool(others), **scale)


def fitted_frames(model, xs, groups, n: int = 50, r: Roles | None = None) -> dict:
    """:func:`fitted_lines` for each x in ``xs`` and grouping factor in ``groups`` (``[None]``
    for the default one), {(x, group): frame}, with one prediction per grouping factor."""
    r = r or roles(model)
    out = {}
    for group in groups:
        columns = group_columns(model, group, r) if r.groups else ()
        grids = [line_grid(model.frame, x, *_line_columns(r, x, columns), n) for x in xs]
        out.update({(x, group): grid for x, grid in zip(xs, _predicted(grids, lambda g: _fitted(model, g, r)))})
    return out


def fitted_lines(model, x: str, group: str | None = None, n: int = 50) -> pd.DataFrame:
    """Each group's line (lp.lmer: its prediction with its random effects) or the single line (lp.lm).

    One line per level of the grouping factor and of each categorical predictor, over the x
    range each has; other numeric predictors at their mean within it. A crossed model's other
    grouping factors contribute no random effect (they are set to a level no fit has seen).
    """
    check_x(model, x)
    return fitted_frames(model, [x], [group], n)[(x, group)]


def is_generalized(model) -> bool:
    """Whether ``model`` is a GLMM (lp.glmer): its lines are drawn on the response scale."""
    return getattr(model, "family", None) is not None


def response_points(model) -> tuple[pd.DataFrame, str]:
    """The model's rows with its response as a plot's y reads it, and that column's name: the
    response column itself; for a GLMM the response as its family takes it (0/1 for a factor or
    logical, ``s / n`` for ``cbind(s, n - s)``), on the scale its lines are drawn."""
    name, data = model.formula.response.strip(), model.frame
    if not is_generalized(model):
        return data, name
    if name.startswith("cbind(") and len(model.variables.response) == 2:
        s, f = (t.strip() for t in name[len("cbind("):-1].split(",", 1))
        total, minus, rest = f.rpartition(" - ")
        name = f"{s} / {total}" if minus and rest == s else f"{s} / ({s} + {f})"
    elif name in data.columns and pd.api.types.is_numeric_dtype(data[name]) \
            and not pd.api.types.is_bool_dtype(data[name]):
        return data, name
    return data.assign(**{name: model.y}), name


def no_pooling_frames(model, xs, groups, n: int = 50, r: Roles | None = None) -> dict:
    """:func:`no_pooling_lines` for each x in ``xs`` and grouping factor in ``groups``."""
    r = r or roles(model)
    out = {}
    for group in groups:
        columns = group_columns(model, group, r)
        grids = [line_grid(model.frame, x, *_line_columns(r, x, columns), n) for x in xs]
        stacked = stacked_grids(grids)
        values = _pooled(model, stacked, model.model_matrix(stacked).to_numpy(float), columns)
        bounds = np.cumsum([0] + [len(g) for g in grids])
        for x, grid, start, stop in zip(xs, grids, bounds[:-1], bounds[1:]):
            out[(x, group)] = _finite(grid, values[start:stop])
    return out


def _pooled(model, grid: pd.DataFrame, X: np.ndarray, columns: tuple[str, ...]) -> np.ndarray:
    """The fixed formula's fit per level of the grouping ``columns`` (``()``: to all rows) on
    ``grid``, whose model matrix is ``X``, on the response scale."""
    return LmList.of_model(model, columns).predict(grid, X, type="response")


def _finite(grid: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    """``grid`` with ``.fitted`` = ``values``, its rows without a value (a group with no fit) dropped."""
    keep = np.isfinite(values)
    if keep.all():
        return grid.assign(**{FITTED: values})
    return grid[keep].assign(**{FITTED: values[keep]}).reset_index(drop=True)


def no_pooling_lines(model, x: str, group: str | None = None, n: int = 50) -> pd.DataFrame:
    """Each group's own line (lme4's lmList on the model's fixed formula): least squares, or
    for a GLMM a glm per group in its family, on the response scale.

    Groups whose fit leaves a coefficient undetermined draw no line.
    """
    check_x(model, x)
    return no_pooling_frames(model, [x], [group], n)[(x, group)]


POOLING_LINES = ("complete pooling", "no pooling", "partial pooling")


def pooling_frames(model, x: str, group: str | None = None, n: int = 50, lines=POOLING_LINES,
                   r: Roles | None = None) -> dict:
    """The pooling figure's ``lines``, {"complete pooling", "no pooling", "partial pooling":
    frame}: :func:`complete_pooling_lines`, :func:`no_pooling_lines` and :func:`fitted_lines`,
    the last two on one grid with one model matrix."""
    r = r or roles(model)
    check_x(model, x, r)
    out = {}
    if "partial pooling" in lines or "no pooling" in lines:
        columns = group_columns(model, group, r)
        grid = line_grid(model.frame, x, *_line_columns(r, x, columns), n)
        if "partial pooling" in lines:
            out["partial pooling"] = grid.assign(**{FITTED: _fitted(model, grid, r)})
        if "no pooling" in lines:
            out["no pooling"] = _finite(grid, _pooled(model, grid, model.model_matrix(grid).to_numpy(float), columns))
    if "complete pooling" in lines:
        grid = line_grid(model.frame, x, *_line_columns(r, x, ()), n)
        out["complete pooling"] = _finite(grid, _pooled(model, grid, model.model_matrix(grid).to_numpy(float), ()))
    return {name: out[name] for name in POOLING_LINES if name in out}


def complete_pooling_lines(model, x: str, n: int = 50, r: Roles | None = None) -> pd.DataFrame:
    """The fixed formula fitted to all the model's rows (complete pooling: what ``lp.lm`` of the
    fixed formula fits, with the model's weights and offset; for a GLMM R's glm in its family,
    on the response scale), one line per level of each categorical predictor over the x range
    each has, other numeric predictors at their mean.
    """
    return pooling_frames(model, x, None, n, ["complete pooling"], r)["complete pooling"]


def population_frames(model, xs, n: int = 50, interval: str | None = None, level: float = 0.95,
                      r: Roles | None = None) -> dict:
    """:func:`population_lines` for each x in ``xs``, {x: frame}, from one model matrix."""
    if interval not in (None, "confidence", "prediction"):
        raise ArgumentTypeError(f"interval must be None, 'confidence' or 'prediction', not {interval!r}")
    if not 0 < level < 1:
        raise ArgumentTypeError(f"level must be between 0 and 1, not {level!r}")
    generalized = is_generalized(model)
    if generalized and interval == "prediction":
        raise ArgumentTypeError(f"prediction bands need a linear model's residual variance; "
                                f"{model.formula.text!r} is a {model.family.family} GLMM: use "
                                f"interval='confidence'")
    r = r or roles(model)
    data = model.frame
    grids = []
    for x in xs:
        keys, held = _line_columns(r, x, ())
        grid = line_grid(data.assign(**{c: data[c].mean() for c in held}), x, keys, held, n)
        if not is_categorical(data[x]):
            # over the whole range, not each combination's own
            lo, hi = float(data[x].min()), float(data[x].max())
            grid[x] = np.tile(np.linspace(lo, hi, n), grid[LINE].nunique())
        grids.append(grid)
    stacked = stacked_grids(grids)
    X = model.model_matrix(stacked).to_numpy()
    eta = X @ model.fixef().to_numpy()
    columns = {FITTED: model.family.linkinv(eta) if generalized else eta}
    if interval is not None:
        var = np.einsum("ij,jk,ik->i", X, model.vcov().to_numpy(), X)
        if interval == "prediction":
            var = var + model.sigma**2
            if r.groups:
                rows = model.model_matrix(stacked, type="randomListRaw")
                for Z, block in zip(rows, model.VarCorr().blocks):
                    Z = Z.to_numpy()
                    var = var + np.einsum("ij,jk,ik->i", Z, block.cov, Z)
        q = norm_ppf(0.5 + level / 2) if r.groups else t_ppf(0.5 + level / 2, model.df_residual)
        half = q * np.sqrt(var)
        bounds = (eta - half, eta + half)
        if generalized:  # a monotone link: the band's ends map to the response scale's
            bounds = np.sort([model.family.linkinv(b) for b in bounds], axis=0)
        columns[LOWER], columns[UPPER] = bounds
    starts = np.cumsum([0] + [len(g) for g in grids])
    for grid, start, stop in zip(grids, starts[:-1], starts[1:]):
        for name, values in columns.items():
            grid[name] = values[start:stop]
    return dict(zip(xs, grids))


def population_lines(model, x: str, n: int = 50, interval: str | None = None,
                     level: float = 0.95) -> pd.DataFrame:
    """Xβ over the whole x range, one line per observed combination of the categorical
    predictors, other numeric predictors at their mean; with ``interval``, its band.

    ``"confidence"``: ± q·√(x vcov(β) xᵀ); ``"prediction"`` adds each random term's z Σ zᵀ and
    σ². q is Student's t on the residual df for lp.lm, the normal quantile for lp.lmer. A GLMM's
    line and confidence band are those of the link scale mapped through the inverse link.
    """
    check_x(model, x)
    return population_frames(model, [x], n, interval, level)[x]


def reference_levels(model, r: Roles | None = None) -> dict[str, object]:
    """Each categorical predictor's reference level: its first level, as the model encodes it."""
    out = {}
    for c in (r or roles(model)).categorical:
        column = model.frame[c]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[c] = column.cat.remove_unused_categories().cat.categories[0]
        else:
            out[c] = sorted(column.unique())[0]
    return out
