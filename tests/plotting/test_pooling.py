"""plot_pooling: the chapter's complete / no / partial pooling figure in one call."""
import pytest
from plotnine import theme_bw

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError


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
