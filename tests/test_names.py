"""Codings R gives a column by its type, and their names: logical predictors (``lateTRUE``),
ordered factors (``dose.L``), sum contrasts (``C(x, contr.sum)1``, or ``x1`` for formulaic's
``C(x, Sum)``), raw and orthogonal ``poly()``. Reference: tests/fixtures/names_reference.R."""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmmplot as lp

CASES = json.loads((Path(__file__).parent / "fixtures" / "names_reference.json").read_text())


def data_for(name):
    sleep = lp.load_dataset("sleepstudy")
    if name == "irrigation":
        return lp.load_dataset("irrigation")
    sleep["late"] = sleep["Days"] > 4
    sleep["dose"] = pd.Categorical(np.array(["low", "mid", "high", "top"])[sleep["Days"] // 3],
                                   categories=["low", "mid", "high", "top"], ordered=True)
    if name == "renamed":
        return sleep[["Reaction", "Days", "Subject"]].rename(columns={"Days": "days.n", "Subject": "subj.id"})
    return sleep


@pytest.fixture(scope="module")
def models():
    out = {}
    for cid, case in CASES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the rank-deficient case says so: tested elsewhere
            out[cid] = lp.lmer(case["py_formula"], data_for(case["data"]))
    return out


@pytest.mark.parametrize("cid", list(CASES))
def test_coefficients_are_named_and_estimated_as_lme4(models, cid):
    m, case = models[cid], CASES[cid]
    assert m.coef_names == [f["term"] for f in case["fixef"]]
    assert m.REMLcrit() <= case["REMLcrit"] + 1e-6
    for (name, est), f in zip(m.fixef().items(), case["fixef"]):
        assert abs(est - f["estimate"]) <= 1e-3 * f["std_error"], name
    np.testing.assert_allclose(np.sqrt(np.diag(m.vcov())), [f["std_error"] for f in case["fixef"]], rtol=1e-3)


@pytest.mark.parametrize("cid", list(CASES))
def test_model_matrix_is_r_coding(models, cid):
    X = np.array(CASES[cid]["X_head"], ndmin=2)
    np.testing.assert_allclose(models[cid].fixed.X[: len(X)], X, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cid", list(CASES))
def test_type3_anova_is_lmertests(models, cid):
    table = models[cid].anova()
    expected = CASES[cid]["anova3"]
    assert list(table.index) == [r["term"] for r in expected]
    np.testing.assert_allclose(table["NumDF"], [r["NumDF"] for r in expected])
    np.testing.assert_allclose(table["DenDF"], [r["DenDF"] for r in expected], rtol=5e-3)
    np.testing.assert_allclose(table["F value"], [r["F"] for r in expected], rtol=2e-3)


def test_ordered_factor_in_new_data_is_coded_as_in_the_fit(models):
    m = models["ordered"]
    new = data_for("sleep").head(12)
    as_text = new.assign(dose=new["dose"].astype(str))  # the levels' order comes from the fit
    np.testing.assert_allclose(m.predict(as_text), m.predict(new), rtol=1e-12)
    beta = m.fixef()
    # R's contr.poly(4): the linear contrast at the lowest level is -3 / sqrt(20)
    low = beta["(Intercept)"] - 3 / np.sqrt(20) * beta["dose.L"] + 0.5 * beta["dose.Q"] \
        - 1 / np.sqrt(20) * beta["dose.C"]
    assert m.predict(new.head(1), re_form="~0")[0] == pytest.approx(low, rel=1e-12)


def test_logical_column_in_new_data(models):
    m = models["logical_column"]
    grid = pd.DataFrame({"late": [False, True], "Days": [2.0, 2.0]})
    beta = m.fixef()
    np.testing.assert_allclose(
        m.predict(grid, re_form="~0"),
        [beta["(Intercept)"] + 2 * beta["Days"],
         beta["(Intercept)"] + beta["lateTRUE"] + 2 * (beta["Days"] + beta["lateTRUE:Days"])], rtol=1e-12)
