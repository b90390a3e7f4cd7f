"""lmList: a fit per group, by least squares or by glm in a family, against lme4's lmList
(tests/fixtures/lmlist_reference.R, lme4 1.1-31)."""
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError

REF = json.loads((Path(__file__).parent / "fixtures" / "lmlist_reference.json").read_text())["cases"]


@pytest.fixture(scope="module")
def data():
    sleep = lp.load_dataset("sleepstudy")
    return {"cbpp": lp.load_dataset("cbpp"), "grouse": lp.load_dataset("grouseticks"),
            "sleep": sleep.assign(slow=sleep["Reaction"] > 300)}


CALLS = {
    "cbpp_least_squares": ("incidence ~ period | herd", "cbpp", {}),
    "cbpp_cbind": ("cbind(incidence, size - incidence) ~ period | herd", "cbpp", {"family": "binomial"}),
    "cbpp_intercept": ("cbind(incidence, size - incidence) ~ 1 | herd", "cbpp", {"family": "binomial"}),
    "cbpp_proportion_weights": ("I(incidence / size) ~ period | herd", "cbpp", {"family": "binomial", "weights": "size"}),
    "grouse_poisson": ("TICKS ~ cHEIGHT | YEAR", "grouse", {"family": "poisson"}),
    "sleep_gamma_log": ("Reaction ~ Days | Subject", "sleep", {"family": lp.Gamma(link="log")}),
    "sleep_binary_probit": ("slow ~ Days | Subject", "sleep", {"family": lp.binomial(link="probit")}),
}


def fit(data, cid):
    formula, name, kwargs = CALLS[cid]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = lp.lmList(formula, data[name], **kwargs)
    return fits, [str(w.message) for w in caught]


def r_coef(case):
    return np.array([[np.nan if v is None else v for v in np.atleast_1d(row)] for row in case["coef"]], dtype=float)


@pytest.mark.parametrize("cid", sorted(CALLS))
def test_coefficients_are_lme4s(data, cid):
    fits, _ = fit(data, cid)
    case = REF[cid]
    coef = fits.coef()
    assert list(coef.index) == case["groups"] and list(coef.columns) == list(np.atleast_1d(case["columns"]))
    ours, theirs = coef.to_numpy(), r_coef(case)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    # separated groups stop after R's 22 or 23 steps at coefficients near -23: the same step
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("cid", sorted(CALLS))
def test_warnings_are_lme4s(data, cid):
    fits, messages = fit(data, cid)
    expected = np.atleast_1d(REF[cid]["warnings"]).tolist()
    assert [m.split(" in ")[0].split(" (")[0] for m in messages if m.startswith("glm.fit")] == \
           [e for e in expected if e.startswith("glm.fit")]
    failed = [e for e in expected if e.startswith("Fitting failed")]
    assert len([m for m in messages if m.startswith("Fitting failed")]) == len(failed)
    converged = [f["converged"] for f in REF[cid]["fits"]]
    assert [bool(c) for c, r in zip(fits.converged, converged) if r is not None] == [r for r in converged if r is not None]


def test_a_group_whose_factor_has_one_level_fails_as_in_lme4(data):
    fits, messages = fit(data, "cbpp_least_squares")
    assert np.isnan(fits.coef().loc["8"]).all()  # herd 8 has one row, in period 1
    assert any("Fitting failed for 1 group(s)" in m and "(8)" in m for m in messages)


def test_predictions_on_the_response_scale_are_the_glm_means(data):
    fits, _ = fit(data, "sleep_gamma_log")
    sleep = data["sleep"]
    rows = sleep[sleep["Subject"].astype(str) == "308"]
    fitted = [f for f in REF["sleep_gamma_log"]["fits"] if f["group"] == "308"][0]["fitted"]
    np.testing.assert_allclose(fits.predict(rows, type="response"), fitted, rtol=1e-10)
    np.testing.assert_allclose(fits.predict(rows), np.log(fitted), rtol=1e-10)


def test_from_a_glmer_fit_is_glm_per_group_in_its_family(data):
    cbpp = data["cbpp"]
    model = lp.glmer("cbind(incidence, size - incidence) ~ period + (1|herd)", cbpp, family="binomial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = lp.lmList(model).coef()
    np.testing.assert_allclose(ours.to_numpy(), r_coef(REF["cbpp_cbind"]), rtol=1e-6, atol=1e-10)


def test_from_a_weighted_lmer_fit_uses_its_weights(data):
    cbpp = data["cbpp"]
    model = lp.lmer("I(incidence / size) ~ period + (1|herd)", cbpp, weights="size")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = lp.lmList(model).coef()
    herd = cbpp[cbpp["herd"].astype(str) == "3"]
    X = np.column_stack([np.ones(len(herd))] + [(herd["period"].astype(str) == p).to_numpy(float) for p in "234"])
    sw = np.sqrt(herd["size"].to_numpy(float))
    expected = np.linalg.lstsq(X * sw[:, None], (herd["incidence"] / herd["size"]).to_numpy() * sw, rcond=None)[0]
    np.testing.assert_allclose(ours.loc["3"].to_numpy(), expected, rtol=1e-10)


def test_family_and_weights_come_from_the_model(data):
    model = lp.lmer("Reaction ~ Days + (1|Subject)", data["sleep"])
    with pytest.raises(ArgumentTypeError, match="takes the family and weights from the model"):
        lp.lmList(model, family="poisson")


def test_predict_rejects_an_unknown_type(data):
    fits, _ = fit(data, "grouse_poisson")
    with pytest.raises(ArgumentTypeError, match="'link' or 'response'"):
        fits.predict(data["grouse"].head(), type="mean")


def test_all_rows_as_one_group_is_complete_pooling_with_the_models_weights(data):
    from lmmplot.plotting.frames import complete_pooling_lines

    cbpp = data["cbpp"]
    model = lp.lmer("I(incidence / size) ~ period + (1|herd)", cbpp, weights="size")
    X = np.column_stack([np.ones(len(cbpp))] + [(cbpp["period"].astype(str) == p).to_numpy(float) for p in "234"])
    sw = np.sqrt(cbpp["size"].to_numpy(float))
    beta = np.linalg.lstsq(X * sw[:, None], (cbpp["incidence"] / cbpp["size"]).to_numpy() * sw, rcond=None)[0]
    pooled = lp.LmList.from_model(model, ())
    np.testing.assert_allclose(pooled.coef().to_numpy()[0], beta, rtol=1e-10)
    line = complete_pooling_lines(model, "period").drop_duplicates("period").sort_values("period")
    np.testing.assert_allclose(line[".fitted"], beta[0] + np.r_[0, beta[1:]], rtol=1e-10)


def test_of_model_fits_once_warns_each_time_and_stays_out_of_pickles():
    import copy
    import pickle

    rng = np.random.default_rng(2)
    data = lp.load_dataset("sleepstudy").assign(arm=rng.choice(["a", "b"], 180))
    data.loc[data["Subject"] == 308, "arm"] = "a"  # one level in subject 308: its fit fails
    model = lp.lmer("Reaction ~ Days + arm + (1|Subject)", data)
    calls = []
    for _ in range(2):
        with pytest.warns(UserWarning, match="Fitting failed for 1 group"):
            calls.append(lp.LmList.of_model(model, ("Subject",)))
    assert calls[0] is calls[1]
    with pytest.warns(UserWarning, match="Fitting failed for 1 group"):
        fresh = lp.LmList.from_model(model)
    np.testing.assert_array_equal(calls[0].coef().to_numpy(), fresh.coef().to_numpy())
    for other in (pickle.loads(pickle.dumps(model)), copy.copy(model), copy.deepcopy(model)):
        assert lmlist_cache(other) is None
        np.testing.assert_array_equal(other.predict(data), model.predict(data))
    assert ("Subject",) in lmlist_cache(model)


def lmlist_cache(model):
    from lmmplot.lmlist import CACHE

    return model.__dict__.get(CACHE)
