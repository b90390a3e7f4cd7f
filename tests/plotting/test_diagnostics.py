"""plot_diagnostics: the data behind each check against lme4 and R, and one image per check."""
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError
from lmmplot.plotting import diagnostics as D
from lmmplot.plotting.ranef import ranef_frame

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def sleep_slope(sleepstudy):
    return lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)


@pytest.fixture(scope="module")
def checks(sleep_slope):
    return lp.plot_diagnostics(sleep_slope, seed=1)


@pytest.mark.parametrize("cid", ["sleep_slope", "dragons", "health_crossed"])
def test_influence_data_is_lme4s(cid, fits, reference):
    """Leverage and Cook's distance are lme4's; the standardized residuals are the ones that
    give lme4's Cook's distance, D = s² h / ((1 − h) p)."""
    model, _ = fits[cid]
    plot = lp.plot_diagnostics(model, checks="influence")["influence"]
    ref = reference["cases"][cid]["augment"]
    hat = np.array([r[".hat"] for r in ref])
    cooks = np.array([r[".cooksd"] for r in ref])
    # relative 1e-4, or 1e-5 of the largest where a residual is near zero
    np.testing.assert_allclose(plot.data[".hat"], hat, rtol=1e-4, atol=1e-5 * hat.max())
    np.testing.assert_allclose(plot.data[".cooksd"], cooks, rtol=1e-4, atol=1e-5 * cooks.max())
    s = plot.data[".std.resid"].to_numpy()
    np.testing.assert_allclose(s**2 * hat / ((1 - hat) * model.n_fixed), cooks, rtol=1e-4,
                               atol=1e-5 * cooks.max())
    labelled = [layer for layer in plot.layers if type(layer.geom).__name__ == "geom_text"]
    rows = labelled[0].geom.data[".row"].tolist() if labelled else []
    assert rows == [str(i + 1) for i in np.flatnonzero(cooks > 0.5)]  # R's row names count from 1


def test_cook_contours():
    frame = D.cook_contours(np.array([0.05, 0.3]), p=3)
    h, s = frame[".hat"], frame[".std.resid"]
    np.testing.assert_allclose(s**2 * h / ((1 - h) * 3), frame["level"].astype(float))


def test_smoother_is_r_loess():
    """R's loess(span = 0.75, degree = 2, surface = "direct") on sleepstudy's residuals."""
    ref = json.loads((FIXTURES / "loess_reference.json").read_text())
    got = D.smooth_frame(np.array(ref["x"]), np.array(ref["y"]))
    np.testing.assert_allclose(got["x"], ref["grid"], rtol=1e-12)
    np.testing.assert_allclose(got["y"], ref["fit"], atol=1e-7)


def test_qq_band_covers_normal_order_statistics():
    """Each pointwise 95% band holds its order statistic of 20 normals 95% of the time."""
    band = D.qq_frame(np.zeros(20))
    np.testing.assert_allclose(band["theoretical"], stats.norm.ppf((np.arange(1, 21) - 0.5) / 20))
    draws = np.sort(np.random.default_rng(5).standard_normal((4000, 20)), axis=1)
    inside = ((draws >= band["lower"].to_numpy()) & (draws <= band["upper"].to_numpy())).mean(axis=0)
    assert np.abs(inside - 0.95).max() < 0.02


def test_density_is_the_gaussian_kde():
    x = np.random.default_rng(6).gamma(3.0, size=(2, 250))
    frame = D.density_frame(x)
    for k in range(2):
        part = frame[frame["draw"] == k]
        bw = 0.9 * min(x[k].std(ddof=1), stats.iqr(x[k]) / 1.34) * 250**-0.2
        exact = stats.norm.pdf((part["x"].to_numpy()[:, None] - x[k][None, :]) / bw).mean(axis=1) / bw
        assert np.abs(part["density"] - exact).max() < 0.01 * exact.max()


def test_ppc_draws_the_observed_and_simulated(checks, sleep_slope):
    data = checks["ppc"].data
    assert data["draw"].nunique() == 51
    observed = data[data["source"] == "Observed"]
    # the observed density integrates to one and peaks near the response's mode
    assert np.trapezoid(observed["density"], observed["x"]) == pytest.approx(1, abs=1e-3)


def test_ranef_lines_are_the_modes_model_sd(checks, sleep_slope):
    lines = D.ranef_lines(sleep_slope, ranef_frame(sleep_slope)).set_index("term")["slope"]
    cov = sleep_slope.VarCorr().blocks[0].cov
    sd = sleep_slope.ranef(condVar=True)["Subject"].attrs["condsd"]
    for k, term in enumerate(["(Intercept)", "Days"]):
        assert lines[term] == pytest.approx(np.sqrt(cov[k, k] - np.mean(sd[term] ** 2)))


def test_ranef_lines_one_per_factor_of_a_crossed_model():
    model = lp.lmer("outcome ~ treatment + (1|doctor) + (1|hospital)", lp.load_dataset("health"))
    lines = D.ranef_lines(model, ranef_frame(model))
    assert list(lines["panel"]) == ["doctor: (Intercept)", "hospital: (Intercept)"]
    variances = {block.group: block.cov[0, 0] for block in model.VarCorr().blocks}
    for group, slope in zip(lines["group"], lines["slope"]):
        condsd = model.ranef(condVar=True)[group].attrs["condsd"]["(Intercept)"]
        assert slope == pytest.approx(np.sqrt(max(variances[group] - np.mean(condsd**2), 0)))


def test_lm_and_bad_input(sleepstudy):
    ols = lp.lm("Reaction ~ Days", sleepstudy)
    assert list(lp.plot_diagnostics(ols)) == ["linearity", "homogeneity", "influence", "normality", "ppc"]
    with pytest.raises(ArgumentTypeError, match="'ranef' check needs a mixed model"):
        lp.plot_diagnostics(ols, checks=["ranef"])
    with pytest.raises(ArgumentTypeError, match="unknown checks \\['qq'\\]"):
        lp.plot_diagnostics(ols, checks=["qq"])
    with pytest.raises(ArgumentTypeError, match="not DataFrame"):
        lp.plot_diagnostics(sleepstudy)


def test_composed_figure(checks):
    figure = checks.draw()
    assert len([ax for ax in figure.axes if ax.get_title() or ax.has_data()]) >= 6


@pytest.mark.parametrize("name", D.CHECKS)
def test_images(checks, name, figure_matches):
    assert figure_matches(checks[name], f"diagnostics_{name}")


def test_ranef_lines_of_uncorrelated_terms(sleepstudy):
    model = lp.lmer("Reaction ~ Days + (1 + Days || Subject)", sleepstudy)
    lines = D.ranef_lines(model, ranef_frame(model)).set_index("term")["slope"]
    condsd = model.ranef(condVar=True)["Subject"].attrs["condsd"]
    for term, block in zip(["(Intercept)", "Days"], model.VarCorr().blocks):  # one block per term
        assert lines[term] == pytest.approx(np.sqrt(block.cov[0, 0] - np.mean(condsd[term] ** 2)))
