"""The chapter's pooling figure in one call: complete, no and partial pooling per group."""
from __future__ import annotations

from numbers import Real

from plotnine import (aes, coord_cartesian, facet_wrap, ggplot, labs, position_nudge, scale_color_manual,
                      scale_linetype_manual, scale_shape_manual)

from ..errors import ArgumentTypeError, DataError
from . import frames as F
from .geoms import geom_points, guide_lean_legend
from .layers import geom_fitted

POOLING = {  # name: (colour, linetype, shape and offset of a categorical x's points); not by colour alone
    "complete pooling": ("black", "dashed", "s", -0.2),
    "no pooling": ("#009E73", "dashdot", "^", 0.0),
    "partial pooling": ("#D55E00", "solid", "o", 0.2),
}


def plot_pooling(model, x: str | None = None, group: str | None = None, n: int = 50, size: float = 0.8,
                 lines=tuple(POOLING), facet: bool = True, colour: str | None = None,
                 ylim: tuple[float, float] | None = None):
    """Each group's data with three lines: complete pooling (one fit to all rows), no pooling (a
    fit per group, lme4's lmList) and partial pooling (the mixed model's lines). For a GLMM the
    fits are glm's in its family and every line is on the response scale (proportions for
    ``cbind(s, f)``).

    Parameters
    ----------
    model : LinearMixedModel or GeneralizedLinearMixedModel
    x : str, optional
        The predictor along the x axis; by default the model's first numeric predictor.
    group : str, optional
        The grouping factor to facet by; by default the one with most levels.
    n : int
        Points per line.
    size : float
        Line width (over a categorical x, the points' size is 2.5 times it).
    lines : sequence of str
        Which of ``"complete pooling"``, ``"no pooling"`` and ``"partial pooling"`` to draw.
    facet : bool
        One panel per group (default), or every group in one panel.
    colour : str, optional
        A categorical predictor of the model to colour points and lines by; the pooling is then
        told apart by linetype.
    ylim : (float, float), optional
        Hold the y axis at this range (expanded as usual) whatever the lines, e.g. to compare
        models on the same axes; lines beyond it are clipped. By default the axis fits the data
        and the lines.

    Returns
    -------
    plotnine.ggplot
        Faceted by group, with a legend "pooling"; extend it with ``+``.
    """
    roles = F.roles(model)
    if not roles.groups:
        raise ArgumentTypeError(f"plot_pooling needs a mixed model (lp.lmer), not {model.formula.text!r}")
    columns = F.group_columns(model, group, roles)
    if x is None:
        if not roles.numeric:
            raise ArgumentTypeError(f"{model.formula.text!r} has no numeric predictor: pass x=")
        x = roles.numeric[0]
    unknown = [name for name in lines if name not in POOLING]
    if isinstance(lines, str) or unknown:
        raise ArgumentTypeError(f"lines must be a list of {list(POOLING)}, not {lines!r}")
    if colour is not None and colour not in roles.categorical:
        raise DataError(f"colour {colour!r} is not a categorical predictor of {model.formula.text!r}; "
                        f"its categorical predictors are {list(roles.categorical)}")
    if ylim is not None and not (isinstance(ylim, (tuple, list)) and len(ylim) == 2 and all(isinstance(v, Real) for v in ylim)
                                 and ylim[0] < ylim[1]):
        raise ArgumentTypeError(f"ylim must be (low, high) with low < high, not {ylim!r}")
    data, response = F.response_points(model)
    group = next(g for g, cols in roles.groups.items() if cols == columns)
    frames = F.pooling_frames(model, x, group, n, lines, roles)
    names = [name for name in POOLING if name in lines]
    mapping = aes(x, response) if colour is None else aes(x, response, colour=colour)
    plot = ggplot(data, mapping)  # a new plot: added to in place, as plotnine's + copies it each time
    plot += geom_points(alpha=0.6)
    categorical_x = F.is_categorical(data[x])
    plot += [geom_fitted.of_frame(model, frames[name], x, group, label=name, roles=roles,
                                  size=size * 2.5 if categorical_x else size,
                                  position=position_nudge(x=POOLING[name][3]) if categorical_x and colour is None else None)
             for name in names]
    if facet:
        plot += facet_wrap(list(columns))
    if names and colour is None:
        plot += scale_color_manual(values=[POOLING[k][0] for k in names], limits=names, name="pooling",
                                   guide="legend" if categorical_x else guide_lean_legend())
    if names and categorical_x:
        plot += scale_shape_manual(values=[POOLING[k][2] for k in names], limits=names, name="pooling")
    elif names:
        plot += scale_linetype_manual(values=[POOLING[k][1] for k in names], limits=names, name="pooling",
                                      guide=guide_lean_legend())
    if ylim is not None:
        plot += coord_cartesian(ylim=(float(ylim[0]), float(ylim[1])))
    plot += labs(x=x, y=response)
    return plot
