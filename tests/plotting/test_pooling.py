"""plot_pooling: the chapter's complete / no / partial pooling figure in one call."""
import pytest
from plotnine import facet_null, theme_bw

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError, DataError


def test_pooling_figure_names_its_three_lines(fits, figure_matches):
    model, _ = fits["sleep_slope"]
    plot = lp.plot_pooling(model)
    labels = [set(layer._data[".label"]) for layer in plot.layers[1:]]
    assert labels == [{"complete pooling"}, {"no pooling"}, {"partial pooling"}]
    linetypes = [layer.mapping["linetype"] for layer in plot.layers[1:]]
    assert linetypes == [".label"] * 3  # told apart by linetype, not colour alone
    assert plot.facet.vars == ["Subject"]
    assert figure_matches(plot + theme_bw(), "plot_pooling_sleepstudy")


def test_pooling_needs_a_mixed_model(sleepstudy):
    with pytest.raises(ArgumentTypeError, match="needs a mixed model"):
        lp.plot_pooling(lp.lm("Reaction ~ Days", sleepstudy))


def test_pooling_lines_panels_and_colour(fits):
    model, _ = fits["dragons"]
    plot = lp.plot_pooling(model, lines=["partial pooling", "complete pooling"], facet=False, colour="scales")
    labels = [set(layer._data[".label"]) for layer in plot.layers[1:]]
    assert labels == [{"complete pooling"}, {"partial pooling"}]  # in the legend's order
    assert isinstance(plot.facet, facet_null)
    # colour shows the scales, linetype the pooling
    assert plot.mapping["color"] == "scales"
    assert all(layer.mapping["color"] == "scales" and layer.mapping["linetype"] == ".label"
               for layer in plot.layers[1:])


def test_pooling_rejects_unknown_lines_and_colours(fits):
    model, _ = fits["dragons"]
    with pytest.raises(ArgumentTypeError, match="lines must be a list of"):
        lp.plot_pooling(model, lines="no pooling")
    with pytest.raises(DataError, match="colour 'wingspan' is not a categorical predictor"):
        lp.plot_pooling(model, colour="wingspan")


def test_pooling_holds_the_y_axis_at_ylim(fits):
    model, _ = fits["sleep_slope"]
    figure = lp.plot_pooling(model, facet=False, ylim=(150, 500)).draw()
    # expanded by 5% of the range each side, as plotnine expands the data's range
    assert figure.axes[0].get_ylim() == pytest.approx((150 - 17.5, 500 + 17.5))
    for bad in [(500, 150), 300, (1, 2, 3), ("a", "b")]:
        with pytest.raises(ArgumentTypeError, match="ylim must be"):
            lp.plot_pooling(model, ylim=bad)
