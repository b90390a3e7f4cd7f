"""One picture per layer kind: the lines, bands and points as drawn."""
from plotnine import aes, facet_wrap, geom_point, ggplot, theme_bw

import lmmplot as lp


def test_population_bands_image(fits, sleepstudy, figure_matches):
    model, _ = fits["sleep_slope"]
    plot = (ggplot(sleepstudy, aes("Days", "Reaction")) + geom_point()
            + lp.geom_population(model, interval="prediction", fill="#A6CEE3")
            + lp.geom_population(model, interval="confidence") + theme_bw())
    assert figure_matches(plot, "geom_population_bands")


def test_fitted_and_no_pooling_lines_image(fits, figure_matches):
    model, _ = fits["dragons"]
    dragons = lp.load_dataset("dragons")
    plot = (ggplot(dragons, aes("wingspan", "intelligence", colour="scales")) + geom_point(alpha=0.5)
            + facet_wrap("mountain") + lp.geom_fitted(model) + lp.geom_no_pooling(model, linetype="dashed")
            + theme_bw())
    assert figure_matches(plot, "geom_fitted_dragons")


def test_categorical_x_points_image(fits, figure_matches):
    model, _ = fits["irrigation"]
    irrigation = lp.load_dataset("irrigation")
    plot = (ggplot(irrigation, aes("irrigation", "yield", colour="variety")) + geom_point(shape="x", size=3)
            + lp.geom_fitted(model, size=3) + lp.geom_population(model, interval="confidence", colour="black")
            + theme_bw())
    assert figure_matches(plot, "geom_fitted_categorical_x")
