"""The explorer driven from code, as clicks drive it: formulas, fits, figures, caching, messages.

Each control is set through its ``value``, which is what a click in the browser does. The fits
are checked against direct ``lp.lmer`` fits of the formula written out here (and, where the
reference holds the case, against lme4's objective), the figures against the current model.
Rendering the PNG is the slow part and plotnine's job: most tests swap it for a stand-in that
records the plot; test_canvas.py renders for real.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from plotnine import facet_null, facet_wrap

import lmmplot as lp
from lmmplot.explorer import canvas, widget
from lmmplot.errors import ArgumentTypeError, DataError, FormulaError

SINGULAR = "boundary (singular) fit: see help('isSingular')"
LINES = ("complete pooling", "no pooling", "partial pooling")

SLEEP = {  # structure -> (formula, id of lme4's reference for REML and ML fits, or None)
    "intercepts": ("Reaction ~ Days + (1|Subject)", "sleep_int", "sleep_int_ml"),
    "slopes": ("Reaction ~ Days + (0 + Days|Subject)", "sleep_slopesonly", None),
    "intercepts + slopes": ("Reaction ~ Days + (1 + Days|Subject)", "sleep_slope", "sleep_slope_ml"),
    "uncorrelated": ("Reaction ~ Days + (1 + Days||Subject)", "sleep_uncorr", None),
}
DRAGONS = {
    "intercepts": ("intelligence ~ wingspan * scales + (1|mountain)", None, None),
    "slopes": ("intelligence ~ wingspan * scales + (0 + wingspan|mountain)", None, None),
    "intercepts + slopes": ("intelligence ~ wingspan * scales + (1 + wingspan|mountain)", "dragons", None),
    "uncorrelated": ("intelligence ~ wingspan * scales + (1 + wingspan||mountain)", None, None),
}


def fake_png(plot) -> bytes:
    return f"figure {id(plot)}".encode()


@pytest.fixture(scope="module")
def no_rendering():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(canvas.Canvas, "render", lambda self, plot: fake_png(plot))
        yield


@pytest.fixture(scope="module")
def sleep():
    return lp.load_dataset("sleepstudy")


@pytest.fixture(scope="module")
def dragons():
    return lp.load_dataset("dragons")


@pytest.fixture(scope="module")
def sleep_explorer(sleep, no_rendering):
    return lp.explore(sleep, response="Reaction", x="Days", group="Subject")


@pytest.fixture(scope="module")
def dragons_explorer(dragons, no_rendering):
    return lp.explore(dragons, response="intelligence", x="wingspan", group="mountain",
                      fixed="wingspan * scales", colour="scales")


@pytest.fixture(scope="module")
def toy(no_rendering):
    """Two rows per group and no group effect at all: (1|g) is singular, (1 + x|g) cannot be fitted."""
    d = np.array([0.3 * (i % 5 + 1) * (-1) ** i for i in range(12)])
    x = np.tile([0.0, 1.0], 12)
    return pd.DataFrame({"g": pd.Categorical(np.repeat([f"g{i:02d}" for i in range(12)], 2)), "x": x,
                         "y": 2 + x + np.column_stack([d, -d]).ravel()})


def set_controls(ex, **values):
    for name, value in values.items():
        ex.controls[name].value = value


def line_layers(plot) -> dict[str, object]:
    """The figure's line layers by their pooling label."""
    return {layer._data[".label"].iloc[0]: layer for layer in plot.layers
            if layer._data is not None and ".label" in layer._data}


def check_state(ex, data, cases, structure, REML, reference, group):
    formula, reml_case, ml_case = cases[structure]
    set_controls(ex, structure=structure, REML=REML)
    assert ex.formula == formula
    direct = lp.lmer(formula, data, REML=REML)
    assert ex.model.REML is REML
    np.testing.assert_allclose(ex.model.fixef().to_numpy(), direct.fixef().to_numpy(), rtol=1e-7)
    np.testing.assert_allclose(ex.model.theta, direct.theta, rtol=1e-6, atol=1e-8)
    case = reml_case if REML else ml_case
    if case is not None:  # and lme4's optimum, where the reference has this model
        lme4 = reference["cases"][case]["objective"]
        assert ex.model.objective(ex.model.theta) <= lme4 + 1e-6 * abs(lme4)
    # the figure is plot_pooling of this model: its partial-pooling lines are this model's predictions
    partial = line_layers(ex.figure)["partial pooling"]._data
    np.testing.assert_allclose(partial[".fitted"], direct.predict(partial), rtol=1e-9)
    assert set(line_layers(ex.figure)) == set(LINES)
    assert ex.figure.facet.vars == [group]
    assert ex._image.value == fake_png(ex.figure)
    assert ex._status.value == ""  # no warning, no error
    assert formula in ex._formula.value.replace("&lt;", "<").replace("&gt;", ">")


@pytest.mark.parametrize("REML", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("structure", list(SLEEP))
def test_sleepstudy_structures(sleep_explorer, sleep, reference, structure, REML):
    check_state(sleep_explorer, sleep, SLEEP, structure, REML, reference, "Subject")


@pytest.mark.parametrize("REML", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("structure", list(DRAGONS))
def test_dragons_structures(dragons_explorer, dragons, reference, structure, REML):
    check_state(dragons_explorer, dragons, DRAGONS, structure, REML, reference, "mountain")


def test_dragons_colour_by_scales_pooling_by_linetype(dragons_explorer):
    set_controls(dragons_explorer, structure="intercepts + slopes", REML=True)
    plot = dragons_explorer.figure
    assert plot.mapping["color"] == "scales"
    for label, layer in line_layers(plot).items():
        assert layer.mapping["color"] == "scales" and layer.mapping["linetype"] == ".label"
    # a line per mountain and scales colour (5 × 2), and one per colour for complete pooling
    assert line_layers(plot)["partial pooling"]._data[".line"].nunique() == 10
    assert line_layers(plot)["complete pooling"]._data[".line"].nunique() == 2


@pytest.mark.parametrize("shown", [("complete pooling",), ("no pooling", "partial pooling"), LINES, ()])
def test_lines_control_chooses_the_lines(sleep_explorer, shown):
    set_controls(sleep_explorer, structure="intercepts", REML=True, layers=LINES)
    model = sleep_explorer.model
    set_controls(sleep_explorer, layers=shown)
    assert set(line_layers(sleep_explorer.figure)) == set(shown)
    assert sleep_explorer.model is model  # the fit did not change
    assert sleep_explorer._image.value == fake_png(sleep_explorer.figure)
    set_controls(sleep_explorer, layers=LINES)


def test_facet_control_overlays_the_groups(sleep_explorer):
    set_controls(sleep_explorer, structure="slopes", REML=True)
    set_controls(sleep_explorer, facet="overlaid")
    assert isinstance(sleep_explorer.figure.facet, facet_null)
    partial = line_layers(sleep_explorer.figure)["partial pooling"]._data
    assert partial["Subject"].nunique() == 18  # every group's line, in the one panel
    set_controls(sleep_explorer, facet="per group")
    assert isinstance(sleep_explorer.figure.facet, facet_wrap)


def test_fits_are_made_once_when_it_opens_and_cached(sleep, no_rendering, monkeypatch):
    calls = []
    real = widget.lmer

    def counting(formula, data, REML=True):
        calls.append((formula, REML))
        return real(formula, data, REML=REML)

    monkeypatch.setattr(widget, "lmer", counting)
    ex = lp.explore(sleep, response="Reaction", x="Days", group="Subject", structure="intercepts")
    # every structure under both criteria, once: the y axis is held at the range of all their lines
    assert sorted(calls) == sorted((formula, REML) for formula, _, _ in SLEEP.values() for REML in (True, False))
    first = ex.model
    calls.clear()
    set_controls(ex, structure="slopes")
    set_controls(ex, REML=False)
    set_controls(ex, REML=True)
    set_controls(ex, structure="intercepts")
    set_controls(ex, facet="overlaid", layers=("partial pooling",))
    assert ex.model is first and calls == []


def test_the_y_axis_holds_every_line_of_every_structure(sleep_explorer, sleep):
    low, high = sleep_explorer.ylim
    shown = []
    for structure in SLEEP:
        for REML in (True, False):
            set_controls(sleep_explorer, structure=structure, REML=REML)
            figure = sleep_explorer.figure
            assert figure.coordinates.limits.y == (low, high)
            for layer in line_layers(figure).values():
                shown.append(layer._data[".fitted"].to_numpy())
    shown = np.concatenate(shown + [sleep["Reaction"].to_numpy()])
    assert (low, high) == (shown.min(), shown.max())
    # the random-intercept line of subject 309 reaches below every point, and a line above them
    assert low < sleep["Reaction"].min() and high > sleep["Reaction"].max()


def test_singular_fit_shows_lme4s_warning(toy):
    ex = lp.explore(toy, response="y", x="x", group="g", structure="intercepts")
    assert ex.model.isSingular()
    assert SINGULAR in ex._status.value.replace("&#x27;", "'")
    assert ex.figure is not None


def test_failed_fit_shows_its_error_and_the_widget_keeps_working(toy):
    ex = lp.explore(toy, response="y", x="x", group="g", structure="intercepts + slopes")
    assert ex.model is None and ex.figure is None and ex._image.value == b""
    assert "DataError: number of observations (=24) &lt;= number of random effects (=24)" in ex._status.value
    assert ex._summary.value == ex._tidy.value == ""
    set_controls(ex, structure="uncorrelated")
    assert ex.formula == "y ~ x + (1 + x||g)"
    assert ex.model is not None and ex.figure is not None
    assert "DataError" not in ex._status.value
    set_controls(ex, structure="intercepts + slopes")
    assert ex.model is None and "DataError" in ex._status.value


def test_start_from_a_fitted_model(sleep, no_rendering):
    m = lp.lmer("Reaction ~ Days + (Days|Subject)", sleep, REML=False)
    ex = lp.explore(m)
    assert ex.controls["structure"].value == "intercepts + slopes" and ex.controls["REML"].value is False
    assert ex.model is m  # not fitted again
    assert ex.formula == "Reaction ~ Days + (1 + Days|Subject)"
    set_controls(ex, structure="uncorrelated")
    assert ex.formula == "Reaction ~ Days + (1 + Days||Subject)" and not ex.model.REML


@pytest.mark.parametrize("formula, structure", [
    ("Reaction ~ Days + (1|Subject)", "intercepts"),
    ("Reaction ~ Days + (0 + Days|Subject)", "slopes"),
    ("Reaction ~ Days + (Days||Subject)", "uncorrelated"),
    ("Reaction ~ Days + (1|Subject) + (0 + Days|Subject)", "uncorrelated"),
])
def test_structure_read_from_the_model(sleep, no_rendering, formula, structure):
    ex = lp.explore(lp.lmer(formula, sleep))
    assert ex.controls["structure"].value == structure
    assert (ex.response, ex.x, ex.group, ex.fixed) == ("Reaction", "Days", "Subject", "Days")


@pytest.mark.filterwarnings("ignore::lmmplot.errors.ConvergenceWarning")
def test_a_model_the_explorer_cannot_vary(no_rendering):
    m = lp.lmer("y ~ 1 + (1|a) + (1|b)", pd.DataFrame({
        "y": np.arange(24.0) % 7, "a": pd.Categorical(np.repeat(list("abcd"), 6)),
        "b": pd.Categorical(np.tile(list("xyz"), 8))}))
    with pytest.raises(FormulaError, match="one grouping factor"):
        lp.explore(m)


def test_bad_arguments_name_what_is_wrong(sleep):
    with pytest.raises(DataError, match="'Dayz'"):
        lp.explore(sleep, response="Reaction", x="Dayz", group="Subject")
    with pytest.raises(ArgumentTypeError, match="needs group="):
        lp.explore(sleep, response="Reaction", x="Days")
    with pytest.raises(ArgumentTypeError, match="structure must be one of"):
        lp.explore(sleep, response="Reaction", x="Days", group="Subject", structure="random slopes")
    with pytest.raises(ArgumentTypeError, match="REML must be True or False"):
        lp.explore(sleep, response="Reaction", x="Days", group="Subject", REML="yes")


def test_shows_as_its_widget(sleep_explorer):
    bundle = sleep_explorer._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == sleep_explorer.widget.model_id
    assert bundle["text/plain"] == f"<lmmplot explorer: {sleep_explorer.formula}>"
    assert list(sleep_explorer.controls) == ["structure", "layers", "facet", "REML"]
    assert list(sleep_explorer.controls["structure"].options) == list(SLEEP)


def test_importing_lmmplot_imports_no_widgets():
    code = "import sys, lmmplot; print('ipywidgets' in sys.modules, 'plotnine' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
