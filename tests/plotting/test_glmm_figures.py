"""A GLMM's figures: the layers on the response scale (the group lines are lme4's fitted means,
the population line lme4's ``predict(re.form = NA, type = "response")``), the caterpillar's
intervals from lme4's condsd, the coefficients' Wald z intervals; all from
tests/fixtures/glmer_reference.json, made by glmer_reference.R with lme4 1.1-31. The pooling
figure's no- and complete-pooling fits against lme4's lmList and R's glm (lmlist_reference.R)."""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotnine import aes, ggplot
from scipy import stats

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError

FIXTURES = Path(__file__).parents[1] / "fixtures"
REF = json.loads((FIXTURES / "glmer_reference.json").read_text())["cases"]
LMLIST = json.loads((FIXTURES / "lmlist_reference.json").read_text())  # lme4's lmList and R's glm


@pytest.fixture(scope="module")
def binary_slopes():
    r = REF["sleep_binary_slopes"]
    data = lp.load_dataset("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lp.glmer(r["py_formula"], data, family="binomial"), data, r


@pytest.fixture(scope="module")
def cbpp():
    data = lp.load_dataset("cbpp")
    return lp.glmer(REF["cbpp_binomial"]["py_formula"], data, family="binomial"), data, REF["cbpp_binomial"]


def test_group_lines_are_lme4s_fitted_means(binary_slopes):
    model, data, r = binary_slopes
    # ten points over Days 0..9 fall on the observed days, so each row's mean is on a line
    plot = ggplot(data, aes("Days", "Reaction")) + lp.geom_fitted(model, x="Days", n=10)
    lines = plot.layers[-1]._data
    at = lines.assign(Days=lines["Days"].round(9)).set_index(["Subject", "Days"])[".fitted"]
    expected = pd.Series(r["fitted_response"], index=pd.MultiIndex.from_frame(data[["Subject", "Days"]]))
    np.testing.assert_allclose(at.loc[expected.index].to_numpy(), expected.to_numpy(), atol=2e-4)


def test_categorical_x_points_are_lme4s_fitted_means(cbpp):
    model, data, r = cbpp
    plot = ggplot(data, aes("period", "incidence")) + lp.geom_fitted(model)
    points = plot.layers[-1]._data.set_index(["herd", "period"])[".fitted"]
    expected = pd.Series(r["fitted_response"], index=pd.MultiIndex.from_frame(data[["herd", "period"]]))
    assert len(points) == len(expected)
    np.testing.assert_allclose(points.loc[expected.index].to_numpy(), expected.to_numpy(), atol=2e-4)


def test_population_line_and_band_on_the_response_scale(cbpp):
    model, data, r = cbpp
    plot = ggplot(data, aes("period", "incidence")) + lp.geom_population(model, interval="confidence")
    frame = plot.layers[-1]._data.drop_duplicates("period").set_index("period")
    expected = pd.Series(r["fixed_only_response"], index=data["period"]).groupby(level=0).first()
    np.testing.assert_allclose(frame.loc[expected.index, ".fitted"], expected, atol=2e-4)
    # the Wald band on the logit scale, mapped through the inverse logit
    se = np.sqrt(np.diag(np.asarray(r["vcov_beta"])))
    eta = np.log(expected / (1 - expected)).to_numpy()
    se_eta = np.r_[se[0], np.sqrt(se[0] ** 2 + se[1:] ** 2 + 2 * np.asarray(r["vcov_beta"])[0, 1:])]
    lower = 1 / (1 + np.exp(-(eta - 1.959964 * se_eta)))
    np.testing.assert_allclose(frame.loc[expected.index, ".lower"], lower, atol=1e-3)
    assert (frame[".lower"] < frame[".fitted"]).all() and (frame[".fitted"] < frame[".upper"]).all()


def test_prediction_band_is_refused_for_a_glmm(cbpp):
    model, _, _ = cbpp
    with pytest.raises(ArgumentTypeError, match="interval='confidence'"):
        lp.geom_population(model, interval="prediction")


def test_no_pooling_points_are_lme4s_glm_per_group(cbpp):
    model, data, _ = cbpp
    ref = LMLIST["cases"]["cbpp_cbind"]
    with pytest.warns(UserWarning, match="Fitting failed for 1 group"):  # herd 8: one row, as lme4 says
        plot = ggplot(data, aes("period", "incidence")) + lp.geom_no_pooling(model)
    points = plot.layers[-1]._data
    assert "8" not in set(points["herd"].astype(str))
    for fit in ref["fits"]:
        if fit["group"] in ("1", "7"):
            ours = points[points["herd"].astype(str) == fit["group"]].sort_values("period")[".fitted"]
            np.testing.assert_allclose(ours, fit["fitted"], rtol=1e-6, atol=1e-9)


def test_pooling_lines_of_a_glmm_are_glms_on_the_response_scale(binary_slopes):
    model, _, _ = binary_slopes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separated subjects: glm.fit's warnings
        plot = lp.plot_pooling(model)
    complete = plot.layers[1]._data
    b0, b1 = LMLIST["pooled"]["sleep_binary_logit"]["coef"]
    np.testing.assert_allclose(complete[".fitted"], 1 / (1 + np.exp(-(b0 + b1 * complete["Days"]))), rtol=1e-8)
    points = plot.data
    assert plot.labels.y == "I(Reaction > 300)" and set(points["I(Reaction > 300)"]) == {0.0, 1.0}


def test_pooling_figure_of_a_binomial_glmm_image(binary_slopes, figure_matches):
    model, _, _ = binary_slopes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert figure_matches(lp.plot_pooling(model), "pooling_glmm_binary")


def test_pooling_figure_over_a_categorical_x_image(cbpp, figure_matches):
    model, data, _ = cbpp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plot = lp.plot_pooling(model, x="period")
    assert plot.labels.y == "incidence / size"
    complete = plot.layers[1]._data.drop_duplicates("period")
    b = np.asarray(LMLIST["pooled"]["cbpp_cbind"]["coef"])
    np.testing.assert_allclose(complete[".fitted"], 1 / (1 + np.exp(-(b[0] + np.r_[0, b[1:]]))), rtol=1e-8)
    assert figure_matches(plot, "pooling_glmm_categorical")


def test_caterpillar_intervals_are_lme4s_condsd(binary_slopes):
    model, _, r = binary_slopes
    frame = lp.plot_ranef(model).data.set_index(["group", "term", "level"])
    ref = pd.DataFrame(r["ranef"]).set_index(["grp", "term", "level"])
    assert len(frame) == len(ref)
    mine = frame.loc[ref.index]
    z = stats.norm.ppf(0.975)
    # the modes and sds agree with lme4's to 5e-3 (tests/test_glmer_reference.py)
    np.testing.assert_allclose(mine["condsd"], ref["condsd"], rtol=5e-3)
    np.testing.assert_allclose(mine["lower"], ref["condval"] - z * ref["condsd"], atol=2e-2)


def test_coefficient_intervals_are_wald_z(cbpp):
    model, _, r = cbpp
    frame = lp.plot_coef(model).data.set_index("term")
    fixef = pd.DataFrame(r["fixef"]).set_index("term")
    half = stats.norm.ppf(0.975) * fixef["std_error"]
    np.testing.assert_allclose(frame.loc[fixef.index, "conf.low"], fixef["estimate"] - half,
                               atol=5e-3 * fixef["std_error"].max())
    np.testing.assert_allclose(frame.loc[fixef.index, "conf.high"], fixef["estimate"] + half,
                               atol=5e-3 * fixef["std_error"].max())
