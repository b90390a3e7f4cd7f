"""glmer and glmer_nb against lme4 1.1-31: the 7 reference cases (tests/fixtures/glmer_reference.R)
and the held-out ones (tests/fixtures/glmer_heldout/, other data sets, links and families).

Each case is fitted once. The optimum must be lme4's or lower; estimates, standard errors,
variance parameters, conditional modes and their sds, fitted means, the linear predictor and
residuals must then match lme4's at the precision the two optima share; lmmplot warns only
where lme4 does, and of a singular fit exactly when lme4 does.
"""
import numpy as np
import pandas as pd
import pytest
from glmer_cases import CASES, HELDOUT_TESTED, REFERENCE, SINGULAR, case_data, fit_case

import lmmplot as lp


@pytest.fixture(scope="module", params=REFERENCE + HELDOUT_TESTED)
def case(request):
    r = CASES[request.param]
    m, messages = fit_case(r)
    return request.param, r, m, messages


def test_warnings_are_lme4s(case):
    _, r, _, messages = case
    theirs = [m.strip() for m in r["messages"]]
    assert (SINGULAR in messages) == (SINGULAR in theirs)
    assert all(m in theirs for m in messages), (messages, theirs)


def test_optimum_at_or_below_lme4(case):
    _, r, m, _ = case
    assert -2 * m.logLik() <= r["objective"] + 1e-6
    assert -2 * m.logLik() == pytest.approx(r["objective"], abs=1e-3)
    assert m.AIC() == pytest.approx(r["AIC"], abs=1e-3)
    assert m.BIC() == pytest.approx(r["BIC"], abs=1e-3)
    assert m.df_residual == r["df_residual"]
    assert m.nobs == r["nobs"]
    assert m.ngrps == r["ngrps"]
    assert m.deviance() == pytest.approx(r["deviance"], rel=1e-4)
    assert m.isSingular() == r["singular"]


def test_fixed_effects_and_standard_errors(case):
    _, r, m, _ = case
    se_ref = np.array([f["std_error"] for f in r["fixef"]])
    assert list(m.fixef().index) == [f["term"] for f in r["fixef"]]
    est_ref = np.array([f["estimate"] for f in r["fixef"]])
    assert np.all(np.abs(m.beta - est_ref) <= 5e-3 * se_ref), (m.beta, est_ref)
    np.testing.assert_allclose(np.sqrt(np.diag(m.vcov())), se_ref, rtol=2e-3)
    np.testing.assert_allclose(m.vcov().to_numpy(), np.array(r["vcov_beta"]),
                               atol=5e-3 * se_ref.max() ** 2)


def test_variance_parameters(case):
    _, r, m, _ = case
    vc = m.VarCorr().as_frame()
    ref = pd.DataFrame(r["varcorr"])
    assert list(vc["grp"]) == list(ref["grp"])
    np.testing.assert_allclose(vc["sdcor"], ref["sdcor"], rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(m.theta, np.atleast_1d(r["theta"]), rtol=2e-3, atol=2e-3)
    if r["family"] == "negbin":
        assert m.nb_theta == pytest.approx(r["nb_theta"], rel=1e-3)
        assert m.family.family == "Negative Binomial(0.536)"


def test_conditional_modes_and_sds(case):
    _, r, m, _ = case
    re = m.ranef(condVar=True)
    ours = {}
    for grp, frame in re.items():
        sd = frame.attrs["condsd"]
        for term in frame.columns:
            for level in frame.index:
                ours[(grp, term, str(level))] = (frame.loc[level, term], sd.loc[level, term])
    ref = r["ranef"]
    assert len(ours) == len(ref)
    got = np.array([ours[(x["grp"], x["term"], x["level"])] for x in ref])
    modes, sds = np.array([x["condval"] for x in ref]), np.array([x["condsd"] for x in ref])
    np.testing.assert_allclose(got[:, 0], modes, atol=5e-3 * sds.max())
    np.testing.assert_allclose(got[:, 1], sds, rtol=5e-3)


def test_fitted_linear_predictor_and_residuals(case):
    _, r, m, _ = case
    k = len(r["fitted_response"])
    scale = np.std(r["linear_predictor"])
    np.testing.assert_allclose(m.linear_predictor()[:k], r["linear_predictor"], atol=2e-3 * scale)
    np.testing.assert_allclose(m.predict()[:k], r["linear_predictor"], atol=2e-3 * scale)
    mu_scale = np.std(r["fitted_response"])
    np.testing.assert_allclose(m.fitted()[:k], r["fitted_response"], atol=2e-3 * mu_scale)
    np.testing.assert_allclose(m.predict(type="response")[:k], r["fitted_response"], atol=2e-3 * mu_scale)
    np.testing.assert_allclose(m.predict(re_form="~0", type="response")[:k], r["fixed_only_response"],
                               atol=2e-3 * mu_scale)
    for kind in ("deviance", "pearson"):
        ref = np.array(r[f"residuals_{kind}"])
        np.testing.assert_allclose(m.residuals(type=kind)[:k], ref, atol=5e-3 * np.std(ref))


def test_predict_new_data_matches_the_fitted_rows(case):
    """predict(newdata) rebuilds X and Z from the data; on the fitted rows it is lme4's predict()."""
    _, r, m, _ = case
    new = m.frame.iloc[:20]
    k = 20
    np.testing.assert_allclose(m.predict(new), r["linear_predictor"][:k], atol=2e-3 * np.std(r["linear_predictor"]))


def test_offset_argument_is_the_formula_offset():
    """offset= (an array) and R's spelling offset(log(Holders)) fit lme4's offset(log(Holders))."""
    r = CASES["insurance_offset"]
    data = case_data(r)
    log_holders = np.log(data["Holders"].to_numpy(float))
    fits = [lp.glmer("Claims ~ Age + Group + (1|District)", data, family="poisson", offset=log_holders),
            lp.glmer("Claims ~ Age + Group + offset(log(Holders)) + (1|District)", data, family="poisson")]
    se = np.array([f["std_error"] for f in r["fixef"]])
    for g in fits:
        assert -2 * g.logLik() == pytest.approx(r["objective"], abs=1e-3)
        assert -2 * g.logLik() <= r["objective"] + 1e-6
        assert np.all(np.abs(g.beta - [f["estimate"] for f in r["fixef"]]) <= 5e-3 * se)
        np.testing.assert_allclose(g.fitted(), r["fitted_response"], atol=2e-3 * np.std(r["fitted_response"]))
        np.testing.assert_allclose(lp.augment(g)[".offset"], log_holders)
