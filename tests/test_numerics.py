"""A response or predictor far from zero, or on a tiny or huge scale, gives the same fit.

lme4's values for shifted responses are in tests/fixtures/robust_reference.json (made by
robust_reference.R beside it); the invariances are checked against the unshifted fit, itself
checked against lme4 in test_reference.py.
"""
import json
from pathlib import Path
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lmmplot as lp
FIXTURES = Path(__file__).parent / "fixtures"

ROBUST = json.loads((FIXTURES / "robust_reference.json").read_text())
PROPERTY = settings(max_examples=5, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def fit(formula, data, REML=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.errors.ConvergenceWarning)
        return lp.lmer(formula, data, REML=REML)


def criterion(m):
    return m.REMLcrit() if m.REML else m.deviance()


def magnitudes(low, high):
    """Powers of ten from 10**low to 10**high, with a random mantissa and sign."""
    return st.tuples(st.floats(low, high), st.sampled_from([1.0, -1.0])).map(lambda t: t[1] * 10 ** t[0])


@pytest.mark.parametrize("case, data, response, shift", [
    ("sleep_shift_1e9_reml", "sleepstudy", "Reaction", 1e9),
    ("sleep_shift_1e8_ml", "sleepstudy", "Reaction", 1e8),
    ("dragons_shift_1e9_reml", "dragons", "intelligence", 1e9),
])
def test_shifted_response_matches_lme4(case, data, response, shift):
    ref = ROBUST[case]
    frame = lp.load_dataset(data)
    frame[response] = frame[response] + shift
    m = fit(ref["formula"], frame, ref["REML"])
    # lme4's own answer moves by ~1e-6 of σ at these shifts; lmmplot's was 0.75 for 25.6
    assert m.sigma == pytest.approx(ref["sigma"], rel=2e-6)
    assert criterion(m) == pytest.approx(ref["objective"], abs=1e-5)
    np.testing.assert_allclose(m.theta, ref["theta"], atol=1e-4)
    np.testing.assert_allclose(m.fixef().to_numpy(), list(ref["fixef"].values()), rtol=1e-12, atol=1e-5)
    np.testing.assert_allclose(m.fitted(), ref["fitted"], rtol=1e-12, atol=1e-4 * ref["sigma"])


MODELS = {
    "sleep": ("sleepstudy", "Reaction ~ Days + (Days|Subject)", "Reaction"),
    "dragons": ("dragons", "intelligence ~ wingspan*scales + (1|mountain)", "intelligence"),
}


@pytest.fixture(scope="module")
def base_fits():
    return {(key, reml): fit(formula, lp.load_dataset(name), reml)
            for key, (name, formula, _) in MODELS.items() for reml in (True, False)}


@pytest.mark.parametrize("key", list(MODELS))
@pytest.mark.parametrize("reml", [True, False])
@PROPERTY
@given(shift=magnitudes(3, 12))
def test_response_shift_changes_only_the_intercept(base_fits, key, reml, shift):
    name, formula, response = MODELS[key]
    base = base_fits[key, reml]
    data = lp.load_dataset(name)
    data[response] = data[response] + shift
    m = fit(formula, data, reml)
    # y + shift carries |shift| × 1e-16 of rounding: the fit can be no closer than that
    noise = abs(shift) * 1e-15 / base.sigma
    assert criterion(m) == pytest.approx(criterion(base), abs=1e-6 + 1e3 * noise)
    assert m.sigma == pytest.approx(base.sigma, rel=1e-6 + 10 * noise)
    np.testing.assert_allclose(m.theta, base.theta, atol=1e-4 + 10 * noise)
    expected = base.beta.copy()
    expected[0] += shift
    np.testing.assert_allclose(m.beta, expected, rtol=1e-13, atol=1e-4 * base.sigma)


@pytest.mark.parametrize("key", list(MODELS))
@pytest.mark.parametrize("reml", [True, False])
@PROPERTY
@given(scale=magnitudes(-8, 8))
def test_response_scale_scales_the_fit(base_fits, key, reml, scale):
    name, formula, response = MODELS[key]
    base = base_fits[key, reml]
    data = lp.load_dataset(name)
    data[response] = data[response] * scale
    m = fit(formula, data, reml)
    dof = m.nobs - m.n_fixed if reml else m.nobs
    assert criterion(m) - dof * np.log(scale**2) == pytest.approx(criterion(base), abs=1e-6)
    assert m.sigma == pytest.approx(abs(scale) * base.sigma, rel=1e-6)
    np.testing.assert_allclose(m.theta, base.theta, atol=1e-4)
    np.testing.assert_allclose(m.beta, scale * base.beta, rtol=1e-5, atol=1e-6 * abs(scale) * base.sigma)


# a fixed-effect predictor only (no random slope), shifted up to where R's rank check (a
# column's norm left after the earlier ones below 1e-7 of its own) still keeps it: 1e7 for
# Days (lme4 itself is then off, 1786.574 for 1786.465, and warns), about 2e8 for wingspan
PREDICTOR_MODELS = {
    "sleep": ("sleepstudy", "Reaction ~ Days + (1|Subject)", "Days", 7),
    "dragons": ("dragons", "intelligence ~ wingspan + scales + (1|mountain)", "wingspan", 8),
}


@pytest.fixture(scope="module")
def predictor_base_fits():
    return {(key, reml): fit(formula, lp.load_dataset(name), reml)
            for key, (name, formula, _, _) in PREDICTOR_MODELS.items() for reml in (True, False)}


@pytest.mark.parametrize("key", list(PREDICTOR_MODELS))
@pytest.mark.parametrize("reml", [True, False])
@PROPERTY
@given(data=st.data())
def test_predictor_shift_moves_only_the_intercept(predictor_base_fits, key, reml, data):
    name, formula, x, top = PREDICTOR_MODELS[key]
    shift = data.draw(magnitudes(3, top))
    base = predictor_base_fits[key, reml]
    frame = lp.load_dataset(name)
    frame[x] = frame[x] + shift
    m = fit(formula, frame, reml)
    # X = X₀M with M unit triangular: the REML criterion too is unchanged
    assert criterion(m) == pytest.approx(criterion(base), abs=1e-6)
    assert m.sigma == pytest.approx(base.sigma, rel=1e-7)
    np.testing.assert_allclose(m.theta, base.theta, atol=1e-5)
    j = m.coef_names.index(x)
    slope = base.beta[j]
    assert m.beta[j] == pytest.approx(slope, rel=1e-7)
    assert m.beta[0] == pytest.approx(base.beta[0] - shift * slope, rel=1e-7, abs=1e-6 * base.sigma)
    np.testing.assert_allclose(m.fitted(), base.fitted(), rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(m.vcov()))[j], np.sqrt(np.diag(base.vcov()))[j], rtol=1e-6)


@pytest.mark.parametrize("key", list(PREDICTOR_MODELS))
@pytest.mark.parametrize("reml", [True, False])
@PROPERTY
@given(scale=magnitudes(-8, 8))
def test_predictor_scale_rescales_its_coefficient(predictor_base_fits, key, reml, scale):
    name, formula, x, _ = PREDICTOR_MODELS[key]
    base = predictor_base_fits[key, reml]
    frame = lp.load_dataset(name)
    frame[x] = frame[x] * scale
    m = fit(formula, frame, reml)
    # X = X₀D, D = diag(1, …, scale, …): REML's log|X'V⁻¹X| moves by 2 log|scale|
    assert criterion(m) == pytest.approx(criterion(base) + (2 * np.log(abs(scale)) if reml else 0), abs=1e-6)
    assert m.sigma == pytest.approx(base.sigma, rel=1e-7)
    np.testing.assert_allclose(m.theta, base.theta, atol=1e-5)
    j = m.coef_names.index(x)
    expected = base.beta.copy()
    expected[j] /= scale
    np.testing.assert_allclose(m.beta, expected, rtol=1e-7)
    np.testing.assert_allclose(m.fitted(), base.fitted(), rtol=1e-8)


@pytest.fixture(scope="module")
def slope_base():
    return {reml: fit("Reaction ~ Days + (Days|Subject)", lp.load_dataset("sleepstudy"), reml)
            for reml in (True, False)}


@pytest.mark.parametrize("reml", [True, False])
@PROPERTY
@given(scale=magnitudes(-3, 3))
def test_random_slope_predictor_scale_rescales_its_covariance(slope_base, reml, scale):
    """In a random slope too: the slope's row of T scales by 1/scale, the fit is the same."""
    base = slope_base[reml]
    frame = lp.load_dataset("sleepstudy")
    frame["Days"] = frame["Days"] * scale
    m = fit("Reaction ~ Days + (Days|Subject)", frame, reml)
    assert criterion(m) == pytest.approx(criterion(base) + (2 * np.log(abs(scale)) if reml else 0), abs=1e-6)
    assert m.sigma == pytest.approx(base.sigma, rel=1e-5)
    # θ is found to the optimizer's precision (~1e-5), the fitted values to ~1e-5 σ
    np.testing.assert_allclose(m.fitted(), base.fitted(), rtol=0, atol=1e-4 * base.sigma)
    D = np.diag([1.0, 1.0 / scale])
    cov = lambda model, d: d @ model.terms[0].factor(model.theta) @ model.terms[0].factor(model.theta).T @ d
    np.testing.assert_allclose(cov(m, np.eye(2)), cov(base, D), rtol=1e-3, atol=1e-5 / scale**2)


@pytest.mark.parametrize("reml", [True, False])
@PROPERTY
@given(shift=magnitudes(0, 2))
def test_random_slope_predictor_shift_gives_the_same_optimum(slope_base, reml, shift):
    """A shift of a random slope's predictor reparametrizes Σ (b₀ − shift·b₁, b₁): same optimum."""
    base = slope_base[reml]
    frame = lp.load_dataset("sleepstudy")
    frame["Days"] = frame["Days"] + shift
    m = fit("Reaction ~ Days + (Days|Subject)", frame, reml)
    assert criterion(m) == pytest.approx(criterion(base), abs=1e-5)
    assert m.sigma == pytest.approx(base.sigma, rel=1e-5)
    # θ is found to the optimizer's precision (~1e-5), the fitted values to ~1e-5 σ
    np.testing.assert_allclose(m.fitted(), base.fitted(), rtol=0, atol=1e-4 * base.sigma)
    A = np.array([[1.0, -shift], [0.0, 1.0]])
    T0, T1 = (model.terms[0].factor(model.theta) for model in (base, m))
    np.testing.assert_allclose(T1 @ T1.T, A @ T0 @ T0.T @ A.T, rtol=1e-3, atol=1e-4 * (1 + shift**2))


def test_predictor_shifted_beyond_the_rank_check_is_dropped_as_r_drops_it(predictor_base_fits):
    """Days + 1e9 is numerically the intercept: R's lm and lme4 drop it with this message."""
    frame = lp.load_dataset("sleepstudy")
    frame["Days"] = frame["Days"] + 1e9
    with pytest.warns(UserWarning, match="rank deficient so dropping 1 column / coefficient"):
        m = fit("Reaction ~ Days + (1|Subject)", frame)
    ref = ROBUST["sleep_days_shift_1e9_reml"]
    assert m.coef_names == list(ref["fixef"])
    assert m.REMLcrit() == pytest.approx(ref["objective"], abs=1e-6)
    assert m.beta[0] == pytest.approx(ref["fixef"]["(Intercept)"], rel=1e-9)
    assert m.sigma == pytest.approx(ref["sigma"], rel=1e-6)
