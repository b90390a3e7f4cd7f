"""Fixed effects of one or several models with Wald intervals, side by side."""
from __future__ import annotations

import numpy as np
import pandas as pd
from plotnine import (aes, element_blank, facet_wrap, geom_hline, geom_pointrange, ggplot, labs,
                      position_dodge, theme, theme_bw)

from ..distributions import norm_ppf, t_ppf
from ..errors import ArgumentTypeError
from ..lm import LinearModel
from ..model import MixedModel
from ._checks import level_arg


def coef_frame(models: dict, level: float = 0.95) -> pd.DataFrame:
    """model, term, estimate, std.error, conf.low, conf.high for each model's fixed effects.

    Wald intervals as R's ``confint(method="Wald")`` for lmer and glmer (normal quantiles) and
    ``confint()`` for lm (t quantiles on the residual df).
    """
    parts = []
    for name, model in models.items():
        est = model.fixef()
        se = np.sqrt(np.diag(model.vcov().to_numpy()))
        if isinstance(model, LinearModel):
            q = t_ppf(0.5 + level / 2, model.df_residual)
        else:
            q = norm_ppf(0.5 + level / 2)
        parts.append(pd.DataFrame({"model": name, "term": est.index, "estimate": est.to_numpy(),
                                   "std.error": se, "conf.low": est.to_numpy() - q * se,
                                   "conf.high": est.to_numpy() + q * se}))
    out = pd.concat(parts, ignore_index=True)
    out["model"] = pd.Categorical(out["model"], categories=list(models))
    out["term"] = pd.Categorical(out["term"], categories=list(dict.fromkeys(out["term"])))
    return out


def plot_coef(*models, level: float = 0.95, **named) -> ggplot:
    """Fixed-effect estimates with Wald intervals, one panel per term, the models dodged.

    Parameters
    ----------
    *models : LinearMixedModel, GeneralizedLinearMixedModel or LinearModel
        Labelled ``m1``, ``m2`` ... in the order given.
    level : float
        Coverage of the intervals.
    **named : LinearMixedModel, GeneralizedLinearMixedModel or LinearModel
        Models labelled by their keyword, e.g. ``plot_coef(intercepts=m1, slopes=m2)``.

    Returns
    -------
    plotnine.ggplot
        One colour per model; its ``data`` is :func:`coef_frame`'s. A dashed line marks zero in
        the panels whose intervals reach it.
    """
    level = level_arg(level, "plot_coef")
    labelled = {f"m{i}": m for i, m in enumerate(models, start=1)}
    clash = set(labelled) & set(named)
    if clash:
        raise ArgumentTypeError(f"plot_coef: the label(s) {sorted(clash)} name both a positional "
                                "and a keyword model")
    labelled.update(named)
    if not labelled:
        raise ArgumentTypeError("plot_coef needs at least one model")
    for name, model in labelled.items():
        if not isinstance(model, (MixedModel, LinearModel)):
            raise ArgumentTypeError(f"plot_coef: model {name} is a {type(model).__name__}, not a "
                                    "model from lmmplot.lmer, lmmplot.glmer or lmmplot.lm")
    frame = coef_frame(labelled, level)
    spans = frame.groupby("term", observed=True).agg(lo=("conf.low", "min"), hi=("conf.high", "max"))
    zero = pd.DataFrame({"term": pd.Categorical(spans.index[(spans.lo <= 0) & (spans.hi >= 0)],
                                                categories=frame["term"].cat.categories)})
    plot = ggplot(frame, aes(x="term", y="estimate", ymin="conf.low", ymax="conf.high",
                             colour="model"))
    if len(zero):
        plot += geom_hline(zero, aes(yintercept=0), linetype="dashed", colour="grey")
    return (plot
            + geom_pointrange(position=position_dodge(width=0.6))
            + facet_wrap("term", scales="free")
            + theme_bw()
            + theme(axis_text_x=element_blank(), axis_ticks_major_x=element_blank())
            + labs(x="", y=f"Estimate ± {level:.0%} Wald interval", colour="Model"))
