"""The chapter's 17 figures: drawn by lmmplot.chapter (the layers), and by the course's own idiom
(plain plotnine on lp.augment, translated line by line from the R), both against one baseline.

The course-idiom figures are compared with the baselines of the chapter.py figures: the same
lines, colours, facets and legends, however they were computed.
"""
import numpy as np
import pytest
from plotnine import aes, facet_wrap, geom_line, geom_point, geom_smooth, ggplot, labs, theme_bw

import lmmplot as lp
from lmmplot import chapter

GREEN, PURPLE = chapter.GREEN, chapter.PURPLE

# the chapter's figures in its order (../shared/reference/chapter_figures/README.md)
NAMES = [
    "plot_sleepstudy_scatter-1", "plot_random_intercepts_facets-1", "plot_random_intercepts_all-1",
    "plot_random_slopes_facets-1", "plot_random_slopes_all-1", "plot_random_slopes_only-1",
    "plot_shrinkage_comparison-1", "plot_irrigation_by_variety-1", "plot_irrigation_by_field-1",
    "plot_irrigation_model_points-1", "plot_irrigation_observed_predicted-1",
    "plot_dragons_wingspan_scales-1", "plot_dragons_wingspan_scales-2", "plot_dragons_by_mountain-1",
    "plot_dragons_by_mountain-2", "plot_dragons_mixed_model_facets-1", "plot_dragons_mixed_model_global-1",
]


@pytest.fixture(scope="module")
def fits():
    return chapter.models()


@pytest.fixture(scope="module")
def figures(fits):
    return chapter.figures(fits)


def sleep_panels(f, facets):
    plot = ggplot(f["sleepstudy"], aes("Days", "Reaction"))
    return (plot + facet_wrap("Subject", nrow=3) if facets else plot) + geom_point()


def fitted(model, **params):
    return geom_line(lp.augment(model), aes(y=".fitted"), **params)


def fitted_by_subject(model, **params):
    return geom_line(lp.augment(model), aes(y=".fitted", group="Subject"), **params)


# The R code of each figure that draws a model, in plotnine on lp.augment (the others are data
# plots whose chapter.py code is already the course's).
COURSE = {
    # plotnine's geom_smooth is black by default, ggplot2's #3366FF
    "plot_sleepstudy_scatter-1": lambda f: sleep_panels(f, False) + geom_smooth(method="lm", colour="#3366FF"),
    "plot_random_intercepts_facets-1": lambda f: (
        sleep_panels(f, True) + fitted(f["lm_sleep"]) + fitted(f["lme_sleep1"], colour="blue")),
    "plot_random_intercepts_all-1": lambda f: (
        sleep_panels(f, False) + fitted(f["lm_sleep"]) + fitted_by_subject(f["lme_sleep1"], colour="blue")),
    "plot_random_slopes_facets-1": lambda f: (
        sleep_panels(f, True) + fitted(f["lm_sleep"]) + fitted(f["lme_sleep1"], colour="blue")
        + fitted(f["lme_sleep2"], colour="red")),
    "plot_random_slopes_all-1": lambda f: (
        sleep_panels(f, False) + fitted(f["lm_sleep"]) + fitted_by_subject(f["lme_sleep2"], colour="red")),
    "plot_random_slopes_only-1": lambda f: (
        sleep_panels(f, False) + fitted(f["lm_sleep"]) + fitted_by_subject(f["lme_slopesonly"], colour=PURPLE)),
    "plot_shrinkage_comparison-1": lambda f: (
        sleep_panels(f, True) + fitted(f["lm_sleep"]) + fitted(f["lme_sleep1"], colour="blue")
        + fitted(f["lme_sleep2"], colour="red") + geom_smooth(method="lm", se=False, colour=GREEN, size=0.5)),
    "plot_irrigation_observed_predicted-1": lambda f: (
        ggplot(lp.augment(f["lme_yield"]), aes("irrigation", "yield", colour="variety"))
        + geom_point(aes(shape='"observed"'), size=3) + geom_point(aes(y=".fitted", shape='"predicted"'), size=3)
        + labs(shape="shape")),
    "plot_dragons_mixed_model_facets-1": lambda f: (
        ggplot(lp.augment(f["lme_dragons"]), aes("wingspan", "intelligence", colour="scales"))
        + facet_wrap("mountain") + geom_point() + geom_line(aes(y=".fitted"))),
    "plot_dragons_mixed_model_global-1": lambda f: (
        ggplot(lp.augment(f["lme_dragons"]), aes("wingspan", "intelligence", colour="mountain")) + geom_point()
        + geom_line(aes(y=".fitted", linetype="scales")) + geom_smooth(method="lm", se=False, colour="black")),
}


def test_every_figure_in_the_chapters_order(figures):
    assert list(figures) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_chapter_figure(figures, figure_matches, name):
    assert figure_matches(figures[name], f"chapter_{name}")


@pytest.mark.parametrize("name", list(COURSE))
def test_course_idiom_draws_the_same_figure(fits, figure_matches, name):
    assert figure_matches(COURSE[name](fits) + theme_bw(), f"chapter_{name}")


def test_group_lines_pass_through_augments_fitted_values(fits, figures):
    """Each model line of chapter.py goes through the .fitted values the course draws."""
    cases = [("plot_random_slopes_facets-1", [1, 2, 3], ["lm_sleep", "lme_sleep1", "lme_sleep2"], "Days", ["Subject"]),
             ("plot_random_slopes_only-1", [2], ["lme_slopesonly"], "Days", ["Subject"]),
             ("plot_dragons_mixed_model_facets-1", [1], ["lme_dragons"], "wingspan", ["mountain", "scales"])]
    for name, layers, models, x, keys in cases:
        for i, key in zip(layers, models):
            frame = figures[name].layers[i]._data
            points = lp.augment(fits[key])
            by = [k for k in keys if k in frame.columns]
            for values, line in (frame.groupby(by, observed=True) if by else [((), frame)]):
                mask = np.ones(len(points), bool)
                for k, v in zip(by, values if isinstance(values, tuple) else (values,)):
                    mask &= (points[k] == v).to_numpy()
                at = points[mask]
                np.testing.assert_allclose(np.interp(at[x], line[x], line[".fitted"]), at[".fitted"], rtol=1e-9)


def test_no_pooling_lines_are_each_subjects_least_squares_line(fits, figures):
    frame = figures["plot_shrinkage_comparison-1"].layers[-1]._data
    sleep = fits["sleepstudy"]
    for subject in [309, 335, 370]:
        rows = sleep[sleep["Subject"] == subject]
        slope, intercept = np.polyfit(rows["Days"], rows["Reaction"], 1)
        line = frame[frame["Subject"] == subject]
        np.testing.assert_allclose(line[".fitted"], intercept + slope * line["Days"], rtol=1e-9)
    assert figures["plot_shrinkage_comparison-1"].layers[-1].geom.aes_params["color"] == GREEN
