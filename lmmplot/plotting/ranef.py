"""Caterpillar and normal QQ plots of the conditional modes: lme4's ``dotplot(ranef(m, condVar=TRUE))``
and ``qqmath(ranef(m, condVar=TRUE))``."""
from __future__ import annotations

import numpy as np
import pandas as pd
from plotnine import (aes, facet_wrap, geom_point, geom_segment, geom_vline, ggplot, labs,
                      scale_y_discrete, theme_bw)

from ..distributions import norm_ppf
from ._checks import level_arg, mixed_model

_SEP = "\t"  # joins group and level in the y key, so equal labels of two factors stay apart


def ranef_frame(model, level: float = 0.95) -> pd.DataFrame:
    """The conditional modes in long form, one row per grouping factor, term and level.

    Columns: ``group``, ``term``, ``level``, ``condval``, ``condsd``, ``lower`` and ``upper``
    (condval ∓ z·condsd, z the normal quantile of ``level``), ``quantile`` (the standard
    normal quantile of the mode's rank within its term, ``qnorm((rank − ½)/n)`` as lme4's
    qqmath), ``panel`` (the facet label) and ``.key`` (the y position: the levels of each
    factor ordered by its first term, as lme4's dotplot).
    """
    z = norm_ppf(0.5 + level / 2)
    columns: dict[str, list] = {name: [] for name in ("group", "term", "level", "condval", "condsd", "quantile")}
    keys = []
    ranef = model.ranef(condVar=True)
    for group, modes in ranef.items():
        all_values, all_sds = modes.to_numpy(float), modes.attrs["condsd"][list(modes.columns)].to_numpy(float)
        levels = modes.index.to_numpy()
        order = levels[np.argsort(all_values[:, 0], kind="stable")]
        for j, term in enumerate(modes.columns):
            values = all_values[:, j]
            n = len(values)
            ranks = np.empty(n)  # ordinal ranks: ties in the order the levels come
            ranks[np.argsort(values, kind="stable")] = np.arange(1, n + 1)
            for name, part in (("group", [group] * n), ("term", [term] * n), ("level", levels),
                               ("condval", values), ("condsd", all_sds[:, j]),
                               ("quantile", norm_ppf((ranks - 0.5) / n))):
                columns[name].append(part)
        keys += [f"{group}{_SEP}{lev}" for lev in order]
    out = {name: np.concatenate(parts) for name, parts in columns.items()}
    out["lower"] = out["condval"] - z * out["condsd"]
    out["upper"] = out["condval"] + z * out["condsd"]
    several = len(ranef) > 1
    labels = [f"{g}: {t}" for g, t in zip(out["group"], out["term"])] if several else list(out["term"])
    out["panel"] = _categorical(labels, list(dict.fromkeys(labels)))
    out[".key"] = _categorical([f"{g}{_SEP}{lev}" for g, lev in zip(out["group"], out["level"])], keys)
    return pd.DataFrame(out)


def _categorical(values: list[str], categories: list[str]) -> pd.Categorical:
    """``pd.Categorical(values, categories)``, its codes looked up in a dict (pandas' lookup costs more)."""
    code = {c: i for i, c in enumerate(categories)}
    return pd.Categorical.from_codes([code.get(v, -1) for v in values], categories=categories)


def group_covariances(model) -> dict[str, pd.DataFrame]:
    """Each grouping factor's random-effect covariance (VarCorr's blocks of that factor joined;
    terms in separate blocks, as ``(1 + x || g)`` makes them, are uncorrelated)."""
    parts: dict[str, list] = {}
    for term, block in zip(model.terms, model.VarCorr().blocks):
        parts.setdefault(term.group, []).append(block)
    out = {}
    for group, blocks in parts.items():
        names = [e for b in blocks for e in b.effects]
        cov = np.zeros((len(names), len(names)))
        at = 0
        for b in blocks:
            k = len(b.effects)
            cov[at : at + k, at : at + k] = b.cov
            at += k
        out[group] = pd.DataFrame(cov, index=names, columns=names)
    return out


def _level_labels(keys) -> list[str]:
    return [key.split(_SEP, 1)[1] for key in keys]


def plot_ranef(model, level: float = 0.95, qq: bool = False) -> ggplot:
    """Conditional modes of the random effects with their intervals.

    Parameters
    ----------
    model : LinearMixedModel or GeneralizedLinearMixedModel
    level : float
        Coverage of the intervals ``condval ± z·condsd`` (``ranef(condVar=True)``'s sds).
    qq : bool
        False draws lme4's caterpillar plot (``dotplot(ranef(m, condVar=TRUE))``): one panel
        per term and grouping factor, the levels ordered by the first term, a line at zero.
        True draws ``qqmath(ranef(m, condVar=TRUE))``: each term's modes against standard
        normal quantiles.

    Returns
    -------
    plotnine.ggplot
        Its ``data`` is :func:`ranef_frame`'s.
    """
    model = mixed_model(model, "plot_ranef", generalized=True)
    level = level_arg(level, "plot_ranef")
    frame = ranef_frame(model, level)
    several = frame["group"].nunique() > 1
    base = (ggplot(frame) + geom_vline(xintercept=0, colour="grey", linetype="dashed")
            + theme_bw())
    if qq:
        return (base
                + geom_segment(aes(x="lower", xend="upper", y="quantile", yend="quantile"),
                               colour="grey")
                + geom_point(aes(x="condval", y="quantile"), colour="#1f5fa0")
                + facet_wrap("panel", scales="free_x")
                + labs(x=f"Conditional mode ± {level:.0%} interval", y="Standard normal quantiles"))
    return (base
            + geom_segment(aes(x="lower", xend="upper", y=".key", yend=".key"), colour="grey")
            + geom_point(aes(x="condval", y=".key"), colour="#1f5fa0")
            + scale_y_discrete(labels=_level_labels)
            + facet_wrap("panel", scales="free" if several else "free_x")
            + labs(x=f"Conditional mode ± {level:.0%} interval",
                   y="Level" if several else frame["group"].iloc[0]))
