"""Kenward-Roger's adjusted covariance, df and F tests match pbkrtest 0.5.2 through lmerTest 3.1-3.

References: ``fixef_kr`` of tests/fixtures/lme4_reference.json (5 cases) and
tests/fixtures/kr_reference.json (made by kr_reference.R beside it: 23 REML cases with
summary's KR table, vcovAdj and anova's KR F tests with their hypothesis matrices).
Tolerances: 2% on df, 0.2% on standard errors (0.4% on F and on vcovAdj, which go as their squares).
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lmmplot as lp
import lmmplot.kenward_roger as kr_module
from lmmplot.errors import ConvergenceWarning, DataError
from lmmplot.kenward_roger import kenward_roger
from lmmplot.tidiers import fixed_effects_table

KR_REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "kr_reference.json").read_text())["cases"]
LME4_KR_CASES = ["sleep_int", "sleep_slope", "irrigation", "dragons", "abrasion"]


def assert_close(ours, theirs, rel, abs_=0.0, what=""):
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    assert np.all(np.abs(ours - theirs) <= abs_ + rel * np.abs(theirs)), (what, ours, theirs)


def check_coefficient_table(model, rows):
    table = fixed_effects_table(model, "Kenward-Roger").set_index("term")
    for row in rows:
        ours = table.loc[row["term"]]
        assert_close(ours["std.error"], row["std_error"], 2e-3, what=row["term"])
        assert_close(ours["df"], row["df"], 5e-3, what=row["term"])
        assert_close(ours["p.value"], row["p"], 1e-2, 1e-12, what=row["term"])


@pytest.mark.parametrize("cid", LME4_KR_CASES)
def test_lme4_reference_kr_table(fits, reference, cid):
    check_coefficient_table(fits[cid][0], reference["cases"][cid]["fixef_kr"])


@pytest.mark.parametrize("cid", list(KR_REFERENCE))
def test_same_optimum_as_r(fits, cid):
    assert fits[cid][0].REMLcrit() <= KR_REFERENCE[cid]["REMLcrit"] + 1e-6


@pytest.mark.parametrize("cid", list(KR_REFERENCE))
def test_summary_kr_table(fits, cid):
    model = fits[cid][0]
    assert model.coef_names == KR_REFERENCE[cid]["coef_names"]
    check_coefficient_table(model, KR_REFERENCE[cid]["fixef_kr"])


@pytest.mark.parametrize("cid", list(KR_REFERENCE))
def test_vcov_adj(fits, cid):
    ref = np.array(KR_REFERENCE[cid]["vcov_adj"])
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    ours = kenward_roger(fits[cid][0]).vcov_beta
    assert np.max(np.abs(ours - ref) / scale) < 4e-3


@pytest.mark.parametrize("cid", list(KR_REFERENCE))
def test_anova_f_tests(fits, cid):
    kr = kenward_roger(fits[cid][0])
    for row in KR_REFERENCE[cid]["anova_kr"]:
        F, num_df, den_df = kr.f_test(np.array(row["L"]))
        assert num_df == row["NumDF"], row["term"]
        assert_close(F, row["F"], 4e-3, what=row["term"])
        assert_close(den_df, row["DenDF"], 5e-3, what=row["term"])


@pytest.mark.parametrize("cid", [c for c, case in KR_REFERENCE.items() if case["dependent_rows_kr"]])
def test_dependent_rows_reduced_to_full_rank(fits, cid):
    ref = KR_REFERENCE[cid]["dependent_rows_kr"]
    L = np.array(ref["L"])
    assert np.linalg.matrix_rank(L) < L.shape[0]
    F, num_df, den_df = kenward_roger(fits[cid][0]).f_test(L)
    assert num_df == ref["NumDF"]
    assert_close(F, ref["F"], 4e-3)
    assert_close(den_df, ref["DenDF"], 5e-3)


def test_one_row_f_test_is_the_squared_t(fits):
    # for a single row KR's F scaling is exactly 1: F = t² on the adjusted se, df = Lb_ddf's
    kr = kenward_roger(fits["politeness"][0])
    L = np.array(KR_REFERENCE["politeness"]["anova_kr"][0]["L"][0])  # gender: (0, 1, 0, 0.5)
    F, num_df, den_df = kr.f_test(L)
    t2 = float((L @ kr.beta) ** 2 / (L @ kr.vcov_beta @ L))
    assert num_df == 1
    assert F == pytest.approx(t2, rel=1e-10)
    assert den_df == pytest.approx(kr.ddf(L), rel=1e-12)


def test_model_is_left_unchanged(fits):
    model = fits["irrigation"][0]
    theta, vcov = model.theta.copy(), model.vcov().to_numpy()
    kr = kenward_roger(model)
    assert np.array_equal(model.theta, theta)
    assert np.array_equal(kr.vcov_unadjusted, vcov)
    # the adjustment only inflates: Φ_A − Φ is positive semi-definite here
    assert np.linalg.eigvalsh(kr.vcov_beta - vcov).min() > -1e-10


def test_ml_fit_is_refused(fits):
    with pytest.raises(DataError, match="only available for REML"):
        kenward_roger(fits["sleep_int_ml"][0])


def test_too_many_random_effects_is_refused(fits, monkeypatch):
    monkeypatch.setattr(kr_module, "MAX_RANDOM_EFFECTS", 10)
    with pytest.raises(DataError, match="q = 18 random effects"):
        kenward_roger(fits["sleep_int"][0])



# ------------------------------------------------------------------ numerics and refusals
SHIFTED = {"sleep_int": ("Days", "Days"), "parallel_int": ("depth", "depth")}


@pytest.mark.parametrize("cid", list(SHIFTED))
@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(power=st.floats(3, 8))
def test_kr_df_do_not_move_with_a_shifted_predictor(cid, power):
    """x + 10^k is the same model for x's coefficient: pbkrtest's df for it, whatever k in 3..8
    (the products are taken in an orthonormal basis of X: before, the df were 161.04 at 1e3
    and 216.5 at 1e6 on sleepstudy)."""
    ref = KR_REFERENCE[cid]
    column, term = SHIFTED[cid]
    data = lp.load_dataset(ref["data"])
    shifted = data.assign(**{column: data[column] + 10.0 ** power})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = lp.lmer(ref["py_formula"], shifted)
    ours = dict(zip(model.coef_names, model.kenward_roger.coef_df()))[term]
    theirs = next(row["df"] for row in ref["fixef_kr"] if row["term"] == term)
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_prior_weights_are_refused_with_the_reason():
    """pbkrtest 0.5.2 takes σ²I as V's residual part whatever the weights (its df for Days on
    sleepstudy with weights 1 + Days %% 3 come out 455 from 180 rows): no number to match."""
    data = lp.load_dataset("sleepstudy")
    model = lp.lmer("Reaction ~ Days + (1|Subject)", data, weights=1.0 + data["Days"] % 3)
    with pytest.raises(DataError, match="unavailable for a model with prior weights"):
        model.summary(ddf="Kenward-Roger")
