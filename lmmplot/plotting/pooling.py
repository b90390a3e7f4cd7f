"""The chapter's pooling figure in one call: complete, no and partial pooling per group."""
from __future__ import annotations

from plotnine import aes, facet_wrap, geom_point, ggplot, labs, scale_color_manual, scale_linetype_manual

from ..errors import ArgumentTypeError
from ..lm import lm
from . import frames as F
from .layers import geom_fitted, geom_no_pooling

POOLING = {  # name: (colour, linetype); told apart by linetype as well as by colour
    "complete pooling": ("black", "dashed"),
    "no pooling": ("#009E73", "dashdot"),
    "partial pooling": ("#D55E00", "solid"),
}


def plot_pooling(model, x: str | None = None, group: str | None = None, n: int = 50, size: float = 0.8):
    """Each group's data with three lines: complete pooling (one least-squares fit to all rows),
    no pooling (a fit per group, lme4's lmList) and partial pooling (the mixed model's lines).

    Parameters
    ----------
    model : LinearMixedModel
    x : str, optional
        The predictor along the x axis; by default the model's first numeric predictor.
    group : str, optional
        The grouping factor to facet by; by default the one with most levels.
    n : int
        Points per line.
    size : float
        Line width.

    Returns
    -------
    plotnine.ggplot
        Faceted by group, with a legend "pooling"; extend it with ``+``.
    """
    roles = F.roles(model)
    if not roles.groups:
        raise ArgumentTypeError(f"plot_pooling needs a mixed model (lp.lmer), not {model.formula.text!r}")
    columns = F.group_columns(model, group)
    if x is None:
        if not roles.numeric:
            raise ArgumentTypeError(f"{model.formula.text!r} has no numeric predictor: pass x=")
        x = roles.numeric[0]
    response = model.formula.response
    data = model.frame
    complete = lm(model.formula.fixed_formula, data)
    group = next(g for g, cols in roles.groups.items() if cols == columns)
    lines = [geom_fitted(complete, x=x, n=n, label="complete pooling", size=size),
             geom_no_pooling(model, x=x, group=group, n=n, label="no pooling", size=size),
             geom_fitted(model, x=x, group=group, n=n, label="partial pooling", size=size)]
    names = list(POOLING)
    return (ggplot(data, aes(x, response)) + geom_point(alpha=0.6) + facet_wrap(list(columns)) + lines
            + scale_color_manual(values=[c for c, _ in POOLING.values()], limits=names, name="pooling")
            + scale_linetype_manual(values=[t for _, t in POOLING.values()], limits=names, name="pooling")
            + labs(x=x, y=response))
