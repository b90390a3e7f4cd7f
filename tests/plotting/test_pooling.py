"""plot_pooling: the chapter's complete / no / partial pooling figure in one call."""
import numpy as np
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


def _relabelled_sleepstudy(sleepstudy):
    """sleepstudy with its rows shuffled and its subjects renamed out of their sorted order."""
    names = {s: f"s{(7 * k) % 18:02d}" for k, s in enumerate(sleepstudy["Subject"].cat.categories)}
    shuffled = sleepstudy.sample(frac=1.0, random_state=5).reset_index(drop=True)
    return shuffled.assign(Subject=shuffled["Subject"].map(names).astype(str))


def test_shared_grid_lines_are_predict_lm_and_each_groups_least_squares(sleepstudy):
    from lmmplot.plotting.frames import pooling_frames

    data = _relabelled_sleepstudy(sleepstudy)
    model = lp.lmer("Reaction ~ Days + I(Days**2) + (1 + Days|Subject)", data)
    frames = pooling_frames(model, "Days")
    partial, none, complete = (frames[k] for k in ("partial pooling", "no pooling", "complete pooling"))
    assert partial[["Subject", "Days"]].equals(none[["Subject", "Days"]])  # one grid for both
    np.testing.assert_allclose(partial[".fitted"], model.predict(partial[["Subject", "Days"]]), rtol=1e-12)
    for subject, rows in none.groupby("Subject", observed=True):
        own = lp.lm("Reaction ~ Days + I(Days**2)", data[data["Subject"] == subject])
        np.testing.assert_allclose(rows[".fitted"], own.predict(rows[["Days"]]), rtol=1e-9)
    pooled = lp.lm("Reaction ~ Days + I(Days**2)", data)
    np.testing.assert_allclose(complete[".fitted"], pooled.predict(complete[["Days"]]), rtol=1e-12)


def test_shared_grid_lines_of_a_factor_interaction(fits):
    from lmmplot.plotting.frames import pooling_frames

    model, _ = fits["dragons"]
    frames = pooling_frames(model, "wingspan")
    partial = frames["partial pooling"]
    assert set(partial.columns) >= {"mountain", "scales", "wingspan"}
    np.testing.assert_allclose(partial[".fitted"], model.predict(partial[["mountain", "scales", "wingspan"]]),
                               rtol=1e-12)
    complete = frames["complete pooling"]
    pooled = lp.lm(f"intelligence ~ {model.formula.fixed}", model.frame)
    np.testing.assert_allclose(complete[".fitted"], pooled.predict(complete[["scales", "wingspan"]]), rtol=1e-10)
    none = frames["no pooling"]
    fitted = lp.lmList(model).predict(none)
    np.testing.assert_allclose(none[".fitted"], fitted, rtol=1e-12)
    assert np.isfinite(none[".fitted"]).all()
