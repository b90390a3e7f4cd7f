"""Likelihood-ratio tests, confidence intervals, simulation and bad input of glmer fits.

lme4's numbers come from tests/fixtures/glmer_inference.R (lme4 1.1-31).
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError, ConvergenceWarning, DataError, FamilyError, LmmplotWarning

REF = json.loads((Path(__file__).parent / "fixtures" / "glmer_inference.json").read_text())
CBIND = "cbind(incidence, size - incidence) ~ {} + (1|herd)"


@pytest.fixture(scope="module")
def cbpp():
    return lp.load_dataset("cbpp")


@pytest.fixture(scope="module")
def fits(cbpp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lp.glmer(CBIND.format("1"), cbpp, family="binomial"), lp.glmer(CBIND.format("period"), cbpp)


def test_anova_is_lme4s_likelihood_ratio_test(fits):
    table = lp.anova(*fits, names=["g0", "g1"])
    ref = REF["anova"]["table"]
    assert list(table.index) == ["g0", "g1"]
    for col in ("npar", "Df"):
        np.testing.assert_array_equal(table[col].fillna(-1), [-1 if v is None else v for v in ref[col]])
    # each fit's optimum is lme4's or lower (cbpp's by 5.7e-4: lme4's PIRLS stops early)
    for col in ("AIC", "BIC", "deviance"):
        assert np.all(table[col].to_numpy() <= np.array(ref[col]) + 1e-6)
        np.testing.assert_allclose(table[col], ref[col], atol=1e-3)
    np.testing.assert_allclose(table["logLik"], ref["logLik"], atol=5e-4)
    assert table["Chisq"].iloc[1] == pytest.approx(ref["Chisq"][1], rel=1e-5)
    assert table["Pr(>Chisq)"].iloc[1] == pytest.approx(ref["Pr(>Chisq)"][1], rel=1e-4)


def _expected(block):
    nan = lambda v: np.nan if v is None else v  # noqa: E731
    return [nan(v) for v in block["lower"]], [nan(v) for v in block["upper"]]


def test_wald_intervals_are_lme4s(fits):
    ci = fits[1].confint(method="Wald")
    ref = REF["confint_wald"]
    assert list(ci.index) == ref["rownames"]
    lower, upper = _expected(ref)
    # the fit's optimum is 5.7e-4 below lme4's: estimates move by up to 3e-3 of a std. error
    se = np.r_[np.nan, np.sqrt(np.diag(fits[1].vcov()))]
    np.testing.assert_allclose(ci.iloc[:, 0], lower, rtol=0, atol=3e-3 * np.nanmax(se))
    np.testing.assert_allclose(ci.iloc[:, 1], upper, rtol=0, atol=3e-3 * np.nanmax(se))
    assert list(ci.columns) == ["2.5 %", "97.5 %"]


def test_wald_intervals_of_a_random_slope_model():
    data = lp.load_dataset("sleepstudy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = lp.glmer("I(Reaction > 300) ~ Days + (1 + Days|Subject)", data, family="binomial")
    ci = g.confint(method="Wald")
    ref = REF["confint_wald_slopes"]
    assert list(ci.index) == ref["rownames"]
    lower, upper = _expected(ref)
    np.testing.assert_allclose(ci.iloc[:, 0], lower, rtol=2e-3)
    np.testing.assert_allclose(ci.iloc[:, 1], upper, rtol=2e-3)


def test_profile_intervals_are_lme4s(fits):
    ci = fits[1].confint(method="profile", parm=[".sig01", "(Intercept)", "period4"])
    ref = REF["confint_profile"]
    lower, upper = _expected(ref)
    rows = [ref["rownames"].index(n) for n in ci.index]
    # lme4 interpolates a spline through its profile points; lmmplot finds the crossing itself
    np.testing.assert_allclose(ci.iloc[:, 0], np.take(lower, rows), rtol=5e-3, atol=2e-3)
    np.testing.assert_allclose(ci.iloc[:, 1], np.take(upper, rows), rtol=5e-3, atol=2e-3)


def test_bootstrap_intervals_surround_the_estimates(fits):
    g = fits[1]
    ci = g.confint(method="boot", nsim=40, seed=3, progress=False)
    assert list(ci.index) == REF["confint_wald"]["rownames"]
    est = np.concatenate([[g.VarCorr().blocks[0].sd[0]], g.beta])
    assert np.all(ci.iloc[:, 0] < est) and np.all(est < ci.iloc[:, 1])
    again = g.confint(method="boot", nsim=40, seed=3, progress=False)
    pd.testing.assert_frame_equal(ci, again)


def test_simulate_draws_from_the_fitted_model(fits, cbpp):
    g = fits[1]
    sims = g.simulate(nsim=300, seed=1)
    assert sims.shape == (56, 300) and list(sims.columns[:2]) == ["sim_1", "sim_2"]
    successes = sims.to_numpy() * cbpp["size"].to_numpy()[:, None]
    np.testing.assert_allclose(successes, np.round(successes), atol=1e-9)
    # the mean incidence over simulations matches the data's, whose model this is
    overall = successes.sum(axis=0) / cbpp["size"].sum()
    observed = cbpp["incidence"].sum() / cbpp["size"].sum()
    assert abs(overall.mean() - observed) < 3 * overall.std() / np.sqrt(300) + 0.01
    pd.testing.assert_frame_equal(sims, g.simulate(nsim=300, seed=1))


def test_simulate_poisson_counts():
    data = lp.load_dataset("grouseticks")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = lp.glmer("TICKS ~ YEAR + (1|LOCATION)", data, family="poisson")
    sims = g.simulate(nsim=5, seed=2).to_numpy()
    assert np.all(sims == np.round(sims)) and sims.min() >= 0


# ------------------------------------------------------------------ bad input
def test_non_binary_binomial_response_is_named(cbpp):
    with pytest.raises(DataError, match="'incidence'.*binomial"):
        lp.glmer("incidence ~ period + (1|herd)", cbpp, family="binomial")


def test_negative_poisson_counts_are_named(cbpp):
    bad = cbpp.assign(count=cbpp["incidence"] - 1)
    with pytest.raises(DataError, match="negative values not allowed for the Poisson family.*'count'"):
        lp.glmer("count ~ period + (1|herd)", bad, family="poisson")


def test_quadrature_needs_one_scalar_random_effect():
    data = lp.load_dataset("sleepstudy")
    with pytest.raises(ArgumentTypeError, match="nAGQ > 1.*single, scalar"):
        lp.glmer("I(Reaction > 300) ~ Days + (1 + Days|Subject)", data, family="binomial", nAGQ=5)
    arab = lp.load_dataset("arabidopsis")
    with pytest.raises(ArgumentTypeError, match="nAGQ > 1"):
        lp.glmer("total.fruits ~ nutrient + (1|popu) + (1|gen)", arab, family="poisson", nAGQ=9)


def test_unknown_family_or_link(cbpp):
    with pytest.raises(FamilyError, match="unknown family 'binomal'"):
        lp.glmer(CBIND.format("period"), cbpp, family="binomal")
    with pytest.raises(FamilyError, match="link 'sqrt' not available for the binomial family"):
        lp.glmer(CBIND.format("period"), cbpp, family=lp.binomial(link="sqrt"))


def test_a_factor_response_is_not_counts(cbpp):
    with pytest.raises(DataError, match="'period' is a factor"):
        lp.glmer("period ~ size + (1|herd)", cbpp, family="poisson")
    with pytest.raises(DataError, match="'period' is a factor"):
        lp.glmer("period ~ size + (1|herd)", cbpp, family="Gamma")


def test_non_integer_counts_are_named(cbpp):
    """R's Poisson likelihood is zero off the integers (dpois warns, the deviance is infinite)."""
    with pytest.raises(DataError, match=r"'I\(incidence \+ 0.5\)' of a Poisson model must be whole counts; it has 56 non-integer value\(s\), the first 2.5"):
        lp.glmer("I(incidence + 0.5) ~ period + (1|herd)", cbpp, family="poisson")
    with pytest.raises(DataError, match="negative binomial model must be whole counts"):
        lp.negative_binomial(2).initialize(np.array([0.0, 1.5]), name="y")


def test_quadrature_errors_say_what_the_model_has(cbpp):
    data = cbpp.assign(x=np.linspace(0, 1, len(cbpp)))
    with pytest.raises(ArgumentTypeError, match=r"has 2 random-effects terms, from \(1\|herd/period\): use nAGQ=1"):
        lp.glmer("cbind(incidence, size - incidence) ~ period + (1|herd/period)", data, nAGQ=5)
    with pytest.raises(ArgumentTypeError, match=r"has 2 random-effects terms, from \(1 \+ x\|\|herd\)"):
        lp.glmer("cbind(incidence, size - incidence) ~ period + (1 + x||herd)", data, nAGQ=5)
    with pytest.raises(ArgumentTypeError, match=r"has 4 random effects per level of \(0 \+ period\|herd\)"):
        lp.glmer("cbind(incidence, size - incidence) ~ period + (0 + period|herd)", data, nAGQ=5)


@pytest.fixture(scope="module")
def sleep_binary():
    data = lp.load_dataset("sleepstudy")
    slow = data["Reaction"].to_numpy() > 300
    return data.assign(slow=slow, slow01=slow.astype(float), answer=np.where(slow, "yes", "no"),
                       answer_f=pd.Categorical(np.where(slow, "yes", "no"), categories=["yes", "no"]))


def test_logical_factor_and_string_responses_are_r_s(sleep_binary):
    """A logical or a 0/1 response, strings (as R's factor: sorted levels, the first failure)
    and a factor (its first level failure) are one model, fitted alike; a factor whose first
    level is "yes" models the other outcome, the coefficients changing sign."""
    fits = {col: lp.glmer(f"{col} ~ Days + (1|Subject)", sleep_binary)
            for col in ("slow", "slow01", "answer", "answer_f")}
    ref = fits["slow01"]
    for col in ("slow", "answer"):
        assert fits[col].logLik() == pytest.approx(ref.logLik(), abs=1e-8)
        np.testing.assert_allclose(fits[col].beta, ref.beta, rtol=1e-6)
    assert fits["answer_f"].logLik() == pytest.approx(ref.logLik(), abs=1e-6)
    np.testing.assert_allclose(fits["answer_f"].beta, -ref.beta, rtol=1e-4)


EDGE = json.loads((Path(__file__).parent / "fixtures" / "glmer_edge.json").read_text())


def test_a_level_with_only_zeros_fits_as_in_lme4(cbpp):
    """period 4 has no count above 2: its coefficient runs off to -inf (lme4 stops at -34, any
    value below about -20 is the same fit), the other estimates and the likelihood are lme4's."""
    ref = EDGE["separated"]
    with pytest.warns(ConvergenceWarning, match="singular"):
        g = lp.glmer("I(incidence > 2) ~ period + (1|herd)", cbpp, family="poisson")
    assert g.logLik() == pytest.approx(ref["logLik"], abs=1e-6)
    np.testing.assert_allclose(g.beta[:3], ref["fixef"][:3], atol=1e-4)
    assert g.beta[3] < -20 and g.isSingular() == ref["singular"]


def test_gaussian_identity_is_lmer_as_in_lme4():
    ref = EDGE["gaussian_identity"]
    data = lp.load_dataset("sleepstudy")
    with pytest.warns(LmmplotWarning, match="shortcut to lmer"):
        m = lp.glmer("Reaction ~ Days + (1|Subject)", data, family="gaussian")
    assert isinstance(m, lp.LinearMixedModel)
    assert m.REMLcrit() == pytest.approx(ref["REMLcrit"], abs=1e-6)
    np.testing.assert_allclose(m.beta, ref["fixef"], rtol=1e-6)
