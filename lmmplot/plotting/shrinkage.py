"""Shrinkage of each group's estimates towards the population, in coefficient or random-effect space."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from plotnine import (aes, arrow, facet_wrap, geom_path, geom_point, geom_rect, geom_segment,
                      geom_vline, ggplot, labs, scale_fill_manual, scale_shape_manual, theme_bw)

from ..distributions import norm_ppf
from ..errors import ArgumentTypeError
from ..lm import lm
from ..lmlist import LmList
from ._checks import mixed_model
from .ranef import group_covariances

LEVELS = (0.5, 0.95)
UNPENALIZED = 1e4  # MixedModelsMakie's reference θ: 10⁴ × lme4's starting θ
_START = {"ranef": "Modes at a very large θ"}
_END = {"coef": "Partial pooling (coef)", "ranef": "Modes at the estimate"}
_COMPLETE = "Complete pooling (lm)"
_FILLS = ["#d95f02", "#1f5fa0", "black"]  # start, end, complete pooling


def shrinkage_data(model, group: str, space: str):
    """start, end (level × term frames), centre (Series) and cov (frame) for one grouping factor.

    coef space: each group's no-pooling estimate to the model's coef(), centred at the fixed
    effects. Where the factor's terms are all the fixed effects, the no-pooling estimate is
    lme4's lmList (least squares on the fixed formula within each group); otherwise the other
    fixed effects stay shared, and it is the fit at a very large θ (nearly unpenalized: a
    fixed effect per level). ranef space: the conditional modes at that θ and at the estimate,
    centred at zero. The very large θ is MixedModelsMakie's, 10⁴ × lme4's starting θ.
    """
    cov = group_covariances(model)[group]
    terms = list(cov.index)
    unpenalized = model.at_theta(np.where(model.theta_lower == 0, UNPENALIZED, 0.0))
    if space == "ranef":
        start = unpenalized.ranef()[group][terms]
        return start, model.ranef()[group][terms], pd.Series(0.0, index=terms), cov, _START["ranef"]
    fixef = model.fixef()
    missing = [t for t in terms if t not in fixef.index]
    if missing:
        raise ArgumentTypeError(f"plot_shrinkage: the random term(s) {missing} of {group!r} have no "
                                "fixed effect, so no coefficient; use space='ranef'")
    end = model.coef()[group][terms]
    if set(terms) == set(fixef.index):
        group_vars = model.variables.groups[group]
        start = LmList.of_model(model, group_vars).coef()[terms]
        label = "No pooling (lmList)"
    else:
        start = unpenalized.coef()[group][terms]
        label = "No pooling (θ → ∞)"
    return start.reindex(end.index), end, fixef[terms], cov, label


def _ellipse(centre: np.ndarray, cov: np.ndarray, level: float, n: int = 120) -> np.ndarray:
    """n points on the contour of N(centre, cov) holding probability ``level``."""
    vals, vecs = np.linalg.eigh(cov)
    radius = np.sqrt(-2 * np.log1p(-level))  # χ² on 2 df is exponential: its quantile is −2 log(1 − p)
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])
    return centre[:, None] + radius * vecs @ (np.sqrt(np.clip(vals, 0, None))[:, None] * circle)


def _pairs_plot(start, end, centre, cov, complete, names, levels) -> ggplot:
    """One panel per pair of terms: arrows start → end, the covariance's ellipses."""
    pairs = list(combinations(start.columns, 2))
    arrows, ellipses, points = [], [], []
    for a, b in pairs:
        label = f"{b} vs {a}"
        arrows.append(pd.DataFrame({"pair": label, "level": end.index, "x": start[a].to_numpy(),
                                    "y": start[b].to_numpy(), "xend": end[a].to_numpy(),
                                    "yend": end[b].to_numpy()}))
        sub = cov.loc[[a, b], [a, b]].to_numpy()
        for lev in levels:
            xy = _ellipse(centre[[a, b]].to_numpy(), sub, lev)
            ellipses.append(pd.DataFrame({"pair": label, "x": xy[0], "y": xy[1], "prob": f"{lev:g}"}))
        if complete is not None:
            points.append(pd.DataFrame({"pair": [label], "x": [complete[a]], "y": [complete[b]],
                                        "estimate": [_COMPLETE]}))
    arrows = pd.concat(arrows, ignore_index=True)
    ends = pd.concat([
        arrows.assign(estimate=names[0]),
        arrows.assign(x=arrows["xend"], y=arrows["yend"], estimate=names[1])], ignore_index=True)
    ends = pd.concat([ends, *points], ignore_index=True)
    order = [*names] + ([_COMPLETE] if complete is not None else [])
    ends["estimate"] = pd.Categorical(ends["estimate"], categories=order)
    for frame in (arrows, ends):
        frame["pair"] = pd.Categorical(frame["pair"], categories=[f"{b} vs {a}" for a, b in pairs])
    ellipses = pd.concat(ellipses, ignore_index=True)
    ellipses["pair"] = pd.Categorical(ellipses["pair"], categories=arrows["pair"].cat.categories)
    plot = (ggplot(arrows)
            + geom_path(aes("x", "y", group="prob"), ellipses, colour="grey", linetype="dashed")
            + geom_segment(aes("x", "y", xend="xend", yend="yend"), colour="#7f7f7f",
                           arrow=arrow(length=0.08, type="closed"), na_rm=True)
            + geom_point(aes("x", "y", shape="estimate", fill="estimate"), ends, size=2.5, na_rm=True)
            + scale_shape_manual(values=["o", "o", "X"][: len(order)])
            + scale_fill_manual(values=_FILLS[: len(order)])
            + theme_bw())
    note = labs(subtitle="Ellipses: " + " and ".join(f"{lev:.0%}" for lev in levels)
                + " of the random-effect distribution", shape="", fill="")
    if len(pairs) == 1:
        a, b = pairs[0]
        return plot + note + labs(x=a, y=b)
    return plot + facet_wrap("pair", scales="free") + note + labs(x="", y="")


def _line_plot(start, end, centre, cov, complete, names, levels, group) -> ggplot:
    """One term: a row per level, an arrow start → end, bands of N(centre, σ_b²)."""
    term = start.columns[0]
    order = start[term].sort_values(kind="stable", na_position="first").index
    arrows = pd.DataFrame({"level": pd.Categorical(end.index, categories=order),
                           "x": start[term].to_numpy(), "xend": end[term].to_numpy()})
    ends = pd.concat([arrows.assign(estimate=names[0]),
                      arrows.assign(x=arrows["xend"], estimate=names[1])], ignore_index=True)
    ends["estimate"] = pd.Categorical(ends["estimate"], categories=list(names))
    sd = float(np.sqrt(cov.iloc[0, 0]))
    half = norm_ppf(0.5 + np.asarray(levels) / 2) * sd
    bands = pd.DataFrame({"xmin": centre[term] - half, "xmax": centre[term] + half,
                          "ymin": -np.inf, "ymax": np.inf, "prob": [f"{lev:g}" for lev in levels]})
    plot = (ggplot(arrows)
            + geom_rect(aes(xmin="xmin", xmax="xmax", ymin="ymin", ymax="ymax"), bands,
                        fill="grey", alpha=0.15, inherit_aes=False))
    if complete is not None:
        plot += geom_vline(xintercept=complete[term], colour="black")
    return (plot
            + geom_segment(aes("x", "level", xend="xend", yend="level"), colour="#7f7f7f",
                           arrow=arrow(length=0.08, type="closed"), na_rm=True)
            + geom_point(aes("x", "level", shape="estimate", fill="estimate"), ends, size=2.5, na_rm=True)
            + scale_shape_manual(values=["o", "o"]) + scale_fill_manual(values=_FILLS[:2])
            + theme_bw()
            + labs(x=term, y=group, shape="", fill="",
                   subtitle="Bands: " + " and ".join(f"{lev:.0%}" for lev in levels)
                   + " of the random-effect distribution"
                   + ("; line: complete pooling (lm)" if complete is not None else "")))


def plot_shrinkage(model, space: str = "coef", group: str | None = None, levels=LEVELS) -> ggplot:
    """Each group's estimates pulled towards the population by the random-effect distribution.

    Parameters
    ----------
    model : LinearMixedModel
    space : "coef" or "ranef"
        ``"coef"``: an arrow per group from its no-pooling estimate (least squares on the
        model's fixed formula within the group, lme4's lmList) to its partial-pooling coef(),
        the complete-pooling point (lm on the fixed formula), and ellipses of the fitted
        random-effect covariance centred at the fixed effects. ``"ranef"``: MixedModelsMakie's
        shrinkageplot, the conditional modes at a very large θ (nearly unpenalized) to those
        at the estimate, the ellipses centred at zero.
    group : str, optional
        The grouping factor (lme4's name, e.g. ``"Subject"``); the first one by default.
    levels : sequence of float
        Probabilities of the ellipses (of the bands, with one term per group).

    Returns
    -------
    plotnine.ggplot
        A panel per pair of the factor's terms; with one term, a row per level.
    """
    model = mixed_model(model, "plot_shrinkage")
    if space not in ("coef", "ranef"):
        raise ArgumentTypeError(f"plot_shrinkage: space must be 'coef' or 'ranef', not {space!r}")
    groups = list(model.ranef())
    group = groups[0] if group is None else group
    if group not in groups:
        raise ArgumentTypeError(f"plot_shrinkage: {group!r} is not a grouping factor of the model; "
                                f"it has {groups}")
    levels = tuple(levels)
    if not levels or not all(0 < lev < 1 for lev in levels):
        raise ArgumentTypeError(f"plot_shrinkage: levels must be probabilities, not {levels!r}")
    start, end, centre, cov, start_label = shrinkage_data(model, group, space)
    complete = lm(model.formula.fixed_formula, model.frame).fixef() if space == "coef" else None
    if start.shape[1] == 1:
        return _line_plot(start, end, centre, cov, complete, (start_label, _END[space]), levels, group)
    return _pairs_plot(start, end, centre, cov, complete, (start_label, _END[space]), levels)
