"""The course chapter "Fitting mixed models": its models and its 17 figures, in its order.

Each figure is drawn with lmmplot's layers, named after the R chunk that draws it
(``plot_random_slopes_facets-1``). ``figures()`` returns them all; ``models()`` the fits::

    from lmmplot import chapter
    fits = chapter.models()
    for name, plot in chapter.figures(fits).items():
        plot.save(f"{name}.png")

Colours are R's: its ``"green"`` is #00FF00 and its ``"purple"`` #A020F0 (matplotlib's names
differ); the theme is the course's ``theme_bw()``.
"""
from __future__ import annotations

from collections.abc import Callable

from plotnine import (aes, facet_wrap, geom_boxplot, labs, position_dodge,
                      theme_bw)

from .datasets import load_dataset
from .lm import lm
from .model import lmer
from .plotting.geoms import geom_points, ggplot_of
from .plotting.layers import geom_fitted, geom_no_pooling, geom_population

# R's colour names, as R defines them
GREEN, PURPLE = "#00FF00", "#A020F0"

_FIGURES: dict[str, Callable] = {}


def _figure(*names: str):
    """Register a function drawing the figures ``names`` (a chunk drawing two returns a list)."""

    def register(func):
        for i, name in enumerate(names):
            _FIGURES[name] = (func, i if len(names) > 1 else None)
        return func

    return register


def models() -> dict:
    """The chapter's data and fits, under the chapter's names (``lme_sleep1``, ``lme_yield`` ...)."""
    sleepstudy = load_dataset("sleepstudy")
    irrigation = load_dataset("irrigation")
    dragons = load_dataset("dragons")
    return {
        "sleepstudy": sleepstudy, "irrigation": irrigation, "dragons": dragons,
        "lm_sleep": lm("Reaction ~ Days", sleepstudy),
        "lme_sleep1": lmer("Reaction ~ Days + (1|Subject)", sleepstudy),
        "lme_sleep2": lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy),
        "lme_slopesonly": lmer("Reaction ~ Days + (0 + Days|Subject)", sleepstudy),
        "lme_yield": lmer("yield ~ irrigation*variety + (1|field)", irrigation),
        "lme_dragons": lmer("intelligence ~ wingspan*scales + (1 + wingspan|mountain)", dragons),
        "lm_dragons": lm("intelligence ~ wingspan", dragons),
        "lme_dragons_complex": lmer("intelligence ~ wingspan*scales + (1 + wingspan*scales|mountain)", dragons),
    }


def figures(fits: dict | None = None) -> dict:
    """Every figure of the chapter, in its order: {R's chunk name: ggplot}."""
    fits = models() if fits is None else fits
    return {name: figure(name, fits) for name in FIGURE_NAMES}


def figure(name: str, fits: dict | None = None):
    """One figure of the chapter by its R chunk name, e.g. ``"plot_random_slopes_facets-1"``."""
    if name not in _FIGURES:
        raise KeyError(f"no figure {name!r} in the chapter; its figures are {list(_FIGURES)}")
    func, index = _FIGURES[name]
    plot = func(models() if fits is None else fits)
    plot = plot if index is None else plot[index]
    plot += theme_bw()  # a plot of its own, made just now
    return plot


def _sleep(fits, facets: bool, *layers):
    return ggplot_of(fits["sleepstudy"], aes("Days", "Reaction"), facet_wrap("Subject", nrow=3) if facets else None,
                 geom_points(), *layers)


# ------------------------------------------------------------------ 5.2 - 5.5 sleepstudy
@_figure("plot_sleepstudy_scatter-1")
def sleepstudy_scatter(fits):
    """The data with the least-squares line and its confidence band (R's geom_smooth(method = "lm"))."""
    return _sleep(fits, False, geom_population(fits["lm_sleep"], interval="confidence"))


@_figure("plot_random_intercepts_facets-1")
def random_intercepts_facets(fits):
    """Per subject: the global line (black) and the random-intercepts lines (blue)."""
    return _sleep(fits, True, geom_fitted(fits["lm_sleep"]), geom_fitted(fits["lme_sleep1"], colour="blue"))


@_figure("plot_random_intercepts_all-1")
def random_intercepts_all(fits):
    """Every subject's random-intercept line (blue) around the global line (black), one panel."""
    return _sleep(fits, False, geom_fitted(fits["lm_sleep"]), geom_fitted(fits["lme_sleep1"], colour="blue"))


@_figure("plot_random_slopes_facets-1")
def random_slopes_facets(fits):
    """Per subject: global (black), random intercepts (blue), random intercepts and slopes (red)."""
    return _sleep(fits, True, geom_fitted(fits["lm_sleep"]), geom_fitted(fits["lme_sleep1"], colour="blue"),
                  geom_fitted(fits["lme_sleep2"], colour="red"))


@_figure("plot_random_slopes_all-1")
def random_slopes_all(fits):
    """Every subject's random intercept-and-slope line (red) and the global line (black)."""
    return _sleep(fits, False, geom_fitted(fits["lm_sleep"]), geom_fitted(fits["lme_sleep2"], colour="red"))


@_figure("plot_random_slopes_only-1")
def random_slopes_only(fits):
    """Random slopes without random intercepts (purple): one intercept, many slopes."""
    return _sleep(fits, False, geom_fitted(fits["lm_sleep"]), geom_fitted(fits["lme_slopesonly"], colour=PURPLE))


@_figure("plot_shrinkage_comparison-1")
def shrinkage_comparison(fits):
    """Complete pooling (black), partial pooling (blue, red) and no pooling (green) per subject."""
    plot = random_slopes_facets(fits)
    plot += geom_no_pooling(fits["lme_sleep2"], colour=GREEN)
    return plot


# ----------------------------------------------------------------------- 5.6.1 irrigation
@_figure("plot_irrigation_by_variety-1")
def irrigation_by_variety(fits):
    """Yield by irrigation method, coloured by variety."""
    return ggplot_of(fits["irrigation"], aes("irrigation", "yield", colour="variety"), geom_points())


@_figure("plot_irrigation_by_field-1")
def irrigation_by_field(fits):
    """Yield by irrigation method, coloured by field: the points pair up by field."""
    return ggplot_of(fits["irrigation"], aes("irrigation", "yield", colour="field"), geom_points())


@_figure("plot_irrigation_model_points-1")
def irrigation_model_points(fits):
    """The observations, dodged by variety."""
    return ggplot_of(fits["irrigation"], aes("irrigation", "yield", colour="variety"),
                 geom_points(position=position_dodge(width=0.5)))


@_figure("plot_irrigation_observed_predicted-1")
def irrigation_observed_predicted(fits):
    """Observed yields (circles) and the model's predictions with each field's effect (triangles)."""
    return ggplot_of(fits["irrigation"], aes("irrigation", "yield", colour="variety"),
                 geom_points(aes(shape='"observed"'), size=3),
                 geom_fitted(fits["lme_yield"], label="predicted", dodge=0, size=3), labs(shape="shape"))


# -------------------------------------------------------------------------- 5.6.3 dragons
@_figure("plot_dragons_wingspan_scales-1", "plot_dragons_wingspan_scales-2")
def dragons_wingspan_scales(fits, facets: bool = False):
    """Intelligence against wingspan coloured by scales; and a boxplot by scales."""

    dragons = fits["dragons"]
    def panels():
        return facet_wrap("mountain") if facets else None

    return [ggplot_of(dragons, aes("wingspan", "intelligence", colour="scales"), panels(), geom_points()),
            ggplot_of(dragons, aes("scales", "intelligence"), panels(), geom_boxplot())]


@_figure("plot_dragons_by_mountain-1", "plot_dragons_by_mountain-2")
def dragons_by_mountain(fits):
    """The same two figures, one panel per mountain range."""
    return dragons_wingspan_scales(fits, facets=True)


@_figure("plot_dragons_mixed_model_facets-1")
def dragons_mixed_model_facets(fits):
    """Per mountain range: the data and the model's line for each scales colour."""
    return ggplot_of(fits["dragons"], aes("wingspan", "intelligence", colour="scales"), facet_wrap("mountain"),
                 geom_points(), geom_fitted(fits["lme_dragons"]))


@_figure("plot_dragons_mixed_model_global-1")
def dragons_mixed_model_global(fits):
    """Every mountain's lines in one panel (linetype = scales) with the global least-squares line (black)."""
    return ggplot_of(fits["dragons"], aes("wingspan", "intelligence", colour="mountain"), geom_points(),
                 geom_fitted(fits["lme_dragons"], mapping=aes(linetype="scales")),
                 geom_fitted(fits["lm_dragons"], colour="black", size=1))


FIGURE_NAMES: tuple[str, ...] = tuple(_FIGURES)  # the chapter's figures, in its order

#: The chapter's sections, each with what it prints (a model's name: its summary) and draws (a
#: figure's name), in the chapter's order.
CONTENTS: dict[str, tuple[str, ...]] = {
    "5.2 The sleepstudy data": ("plot_sleepstudy_scatter-1",),
    "5.3 Adding random intercepts": ("lme_sleep1", "plot_random_intercepts_facets-1",
                                     "plot_random_intercepts_all-1"),
    "5.4 Adding random slopes": ("lme_sleep2", "plot_random_slopes_facets-1", "plot_random_slopes_all-1"),
    "5.4.1 Random slopes without random intercepts": ("lme_slopesonly", "plot_random_slopes_only-1"),
    "5.5.2 Sharing information": ("plot_shrinkage_comparison-1",),
    "5.6.1 Irrigation": ("plot_irrigation_by_variety-1", "plot_irrigation_by_field-1", "lme_yield",
                         "plot_irrigation_model_points-1", "plot_irrigation_observed_predicted-1"),
    "5.6.3 Dragons": ("plot_dragons_wingspan_scales-1", "plot_dragons_wingspan_scales-2",
                      "plot_dragons_by_mountain-1", "plot_dragons_by_mountain-2", "lme_dragons",
                      "plot_dragons_mixed_model_facets-1", "plot_dragons_mixed_model_global-1",
                      "lme_dragons_complex"),
}
