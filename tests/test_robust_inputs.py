"""Inputs that real data produce and that used to give a wrong answer without a word.

Integer dtypes, factor levels unseen in the fit, the caller's frame changed after the fit,
ambiguous columns, fits from several threads, exact fits, ``re_form`` subsets, and the
formula errors' wording. lme4's values are in tests/fixtures/robust_reference.json (made by
robust_reference.R beside it) and lme4_reference.json.
"""
import json
import re
import warnings
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

import lmmplot as lp
FIXTURES = Path(__file__).parent / "fixtures"
from lmmplot.errors import ConvergenceWarning, DataError, FormulaError, MissingDataWarning

ROBUST = json.loads((FIXTURES / "robust_reference.json").read_text())
LME4 = json.loads((FIXTURES / "lme4_reference.json").read_text())["cases"]


def fit(formula, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return lp.lmer(formula, data, **kwargs)


def assert_matches(m, ref, rtol=1e-6):
    assert m.REMLcrit() == pytest.approx(ref["objective"], abs=1e-6)
    assert m.sigma == pytest.approx(ref["sigma"], rel=rtol)
    assert m.coef_names == list(ref["fixef"])
    np.testing.assert_allclose(m.beta, list(ref["fixef"].values()), rtol=rtol)


def lme4_fitted(case):
    return np.array([row[".fitted"] for row in LME4[case]["augment"]])


# ----------------------------------------------------------------------------- dtypes
def test_cube_of_a_uint8_column_is_computed_in_double():
    sleep = lp.load_dataset("sleepstudy")
    sleep["Days"] = sleep["Days"].astype(np.uint8)  # 9**3 = 729 wraps to 217 in uint8
    assert_matches(fit("Reaction ~ I(Days**3) + (1|Subject)", sleep), ROBUST["sleep_days_cubed"])


def test_square_of_an_int32_column_is_computed_in_double():
    sleep = lp.load_dataset("sleepstudy")
    sleep["x"] = ((sleep["Days"] + 1) * 20000).astype(np.int32)  # 200000**2 overflows int32
    ref = ROBUST["sleep_x_squared"]
    m = fit("Reaction ~ I(x*x) + (1|Subject)", sleep)
    assert m.REMLcrit() == pytest.approx(ref["objective"], abs=1e-6)
    np.testing.assert_allclose(m.beta, list(ref["fixef"].values()), rtol=1e-6)


DTYPES = ["uint8", "int8", "int16", "int32", "uint16", "Int64", "UInt8", "Float64", "float32", "polars-Int16",
          "polars-UInt8"]


@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(dtype=st.sampled_from(DTYPES), power=st.integers(2, 4))
def test_a_power_of_any_numeric_dtype_is_the_power_of_its_values(dtype, power):
    sleep = lp.load_dataset("sleepstudy")
    formula = f"Reaction ~ I(Days**{power}) + (1|Subject)"
    base = fit(formula, sleep.assign(Days=sleep["Days"].astype(float)))
    if dtype.startswith("polars-"):
        frame = pl.from_dict({c: sleep[c].to_numpy() for c in sleep.columns})
        data = frame.with_columns(pl.col("Days").cast(getattr(pl, dtype.split("-")[1])))
    else:
        data = sleep.assign(Days=sleep["Days"].astype(dtype))
    m = fit(formula, data)
    assert m.REMLcrit() == pytest.approx(base.REMLcrit(), abs=1e-8)
    np.testing.assert_allclose(m.beta, base.beta, rtol=1e-9)


def test_nullable_integers_with_missing_values_are_dropped_and_the_rest_fitted_in_double():
    sleep = lp.load_dataset("sleepstudy")
    days = sleep["Days"].astype("Int64")
    days[[0, 5]] = pd.NA
    with pytest.warns(MissingDataWarning, match="2 of 180 rows dropped"):
        m = fit("Reaction ~ I(Days**3) + (1|Subject)", sleep.assign(Days=days.astype("UInt8")))
    base = fit("Reaction ~ I(Days**3) + (1|Subject)", sleep.drop(index=[0, 5]).assign(Days=lambda d: d.Days * 1.0))
    np.testing.assert_allclose(m.beta, base.beta, rtol=1e-9)


def test_factor_of_whole_numbers_names_its_levels_as_r():
    sleep = lp.load_dataset("sleepstudy")
    for days in (sleep["Days"], sleep["Days"].astype(float), sleep["Days"].astype("uint8")):
        m = fit("Reaction ~ factor(Days) + (1|Subject)", sleep.assign(Days=days))
        assert_matches(m, ROBUST["sleep_factor_days"], rtol=1e-5)
        np.testing.assert_allclose(m.predict(sleep.head(12)), m.fitted()[:12], rtol=1e-10)


def test_datetime_predictor_says_how_to_convert_it():
    sleep = lp.load_dataset("sleepstudy")
    sleep["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(sleep["Days"], unit="D")
    with pytest.raises(DataError, match=r"column 'when' is a date-time .*convert it first.*\.dt\.days"):
        lp.lmer("Reaction ~ when + (1|Subject)", sleep)
    sleep["elapsed"] = pd.to_timedelta(sleep["Days"], unit="D")
    with pytest.raises(DataError, match=r"column 'elapsed' is a duration .*total_seconds"):
        lp.lmer("Reaction ~ elapsed + (1|Subject)", sleep)
    # as a grouping factor a date is a label like any other
    sleep["day"] = sleep["when"]
    assert fit("Reaction ~ 1 + (1|day)", sleep).ngrps == {"day": 10}


# ------------------------------------------------------------------ unseen levels
@pytest.fixture(scope="module")
def politeness():
    data = lp.load_dataset("politeness")
    return data, fit("pitch ~ gender*context + (1|sentence) + (1|subject)", data)


def test_unseen_level_of_a_fixed_factor_is_an_error_naming_column_and_level(politeness):
    data, m = politeness
    new = data.dropna().head(3).assign(gender=["F", "X", "M"])
    for re_form in (None, "~0"):
        with pytest.raises(DataError, match=r"'gender' has levels \['X'\] not in the fit"):
            m.predict(new, re_form=re_form)
    with pytest.raises(DataError, match=r"'gender' has levels \['X'\]"):
        lp.augment(m, newdata=new)


@pytest.mark.parametrize("formula, factor, levels", [
    ("pitch ~ C(gender, Sum) + (1|subject)", "'C(gender, Sum)' (from column 'gender')", "['X']"),
    ("pitch ~ C(gender, Sum):context + (1|subject)", "'C(gender, Sum)' (from column 'gender')", "['X']"),
    ("pitch ~ context + factor(attempt + 1) + (1|subject)", "'factor(attempt + 1)' (from column 'attempt')", "['8']"),
    ("pitch ~ C(factor(attempt), Sum) * gender + (1|subject)", "'C(factor(attempt), Sum)' (from column 'attempt')",
     "['7']"),
    ("pitch ~ gender:context + (1|subject)", "'gender'", "['X']"),
])
def test_unseen_level_is_named_for_any_term(politeness, formula, factor, levels):
    """The factor as the formula writes it, the column it reads, and the new level, wherever
    the factor sits: inside C(), factor() of an expression, an interaction."""
    data = politeness[0].dropna().assign(attempt=lambda d: np.arange(len(d)) % 3)
    m = fit(formula, data)
    new = data.head(3).assign(gender=["F", "X", "M"], attempt=[0, 7, 1])
    with pytest.raises(DataError, match=re.escape(f"{factor} has levels {levels} not in the fit")):
        m.predict(new, re_form=np.nan)


def test_missing_value_in_a_fixed_factor_predicts_nan_with_a_warning(politeness):
    data, m = politeness
    rows = data.dropna().head(3)
    new = rows.assign(gender=[rows.gender.iloc[0], None, rows.gender.iloc[2]])
    with pytest.warns(MissingDataWarning, match=r"1 of 3 rows of newdata have missing values \(in \{'gender': 1\}\)"):
        pred = m.predict(new)
    assert np.isnan(pred[1])
    np.testing.assert_allclose(pred[[0, 2]], m.predict(rows)[[0, 2]], rtol=1e-12)


def test_new_levels_of_a_grouping_factor_still_follow_allow_new_levels(politeness):
    data, m = politeness
    new = data.dropna().head(2).assign(subject=["F1", "Z9"])
    with pytest.raises(DataError, match=r"new levels \['Z9'\] of 'subject'"):
        m.predict(new)
    pred = m.predict(new, allow_new_levels=True)
    assert pred[1] == pytest.approx(m.predict(new, re_form="~(1|sentence)")[1])


def test_lm_predicts_nan_for_missing_and_refuses_unseen_levels():
    data = lp.load_dataset("politeness")
    ols = lp.lm("pitch ~ gender + context", data)
    new = data.dropna().head(3).assign(gender=["F", None, "M"])
    with pytest.warns(MissingDataWarning):
        assert np.isnan(ols.predict(new)[1])
    with pytest.raises(DataError, match=r"'gender' has levels \['X'\]"):
        ols.predict(new.assign(gender=["F", "X", "M"]))


# ------------------------------------------------------------------ the caller's frame
@pytest.mark.parametrize("change", ["sort", "drop", "edit", "clear"])
def test_the_fit_owns_its_data(change):
    sleep = lp.load_dataset("sleepstudy")
    m = fit("Reaction ~ Days + (1|Subject)", sleep)
    before = str(m.summary())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 deprecates inplace=, which users still write
        if change == "sort":
            sleep.sort_values("Reaction", inplace=True)
        elif change == "drop":
            sleep.drop(index=sleep.index[:50], inplace=True)
        elif change == "edit":
            sleep.loc[sleep.index[:10], "Subject"] = sleep["Subject"].iloc[-1]
            sleep.iloc[:, 0] = 0.0
            sleep["Days"] = sleep["Days"][::-1].to_numpy()
        else:
            sleep.drop(columns=sleep.columns, inplace=True)
    aug = lp.augment(m)
    original = lp.load_dataset("sleepstudy")
    pd.testing.assert_frame_equal(aug[list(original.columns)], original)
    np.testing.assert_allclose(aug[".fitted"], lme4_fitted("sleep_int"), rtol=1e-6)
    np.testing.assert_allclose(m.predict(), lme4_fitted("sleep_int"), rtol=1e-6)
    assert str(m.summary()) == before
    with pytest.warns(lp.errors.MLRefitWarning):
        assert lp.anova(m, fit("Reaction ~ 1 + (1|Subject)", original)).shape[0] == 2


def test_the_fit_keeps_the_callers_row_labels():
    sleep = lp.load_dataset("sleepstudy")
    sleep.index = [f"r{i}" for i in range(len(sleep))]
    sleep.loc["r3", "Reaction"] = np.nan
    with pytest.warns(MissingDataWarning):
        m = fit("Reaction ~ Days + (1|Subject)", sleep)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sleep.sort_values("Days", inplace=True)
    aug = lp.augment(m)
    assert list(aug.index[:4]) == ["r0", "r1", "r2", "r3"]
    assert np.isnan(aug.loc["r3", ".fitted"]) and not np.isnan(aug.loc["r4", ".fitted"])


# ------------------------------------------------------------------ ambiguous columns
def test_two_columns_of_one_name_are_an_error():
    sleep = lp.load_dataset("sleepstudy")
    twice = pd.concat([sleep, sleep[["Days"]] * 2], axis=1)
    with pytest.raises(DataError, match="more than one column named 'Days'"):
        lp.lmer("Reaction ~ Days + (1|Subject)", twice)
    with pytest.raises(DataError, match="more than one column named 'Days'"):
        lp.lm("Reaction ~ Days", twice)
    # a duplicated column the formula does not use is no one's business
    spare = sleep[["Days"]].rename(columns={"Days": "spare"})
    other = pd.concat([sleep, spare, spare], axis=1)
    assert fit("Reaction ~ Days + (1|Subject)", other).nobs == 180


def test_group_values_that_print_alike_are_one_level():
    sleep = lp.load_dataset("sleepstudy")
    mixed = sleep.assign(Subject=[s if i % 2 else str(s) for i, s in enumerate(sleep["Subject"])])
    m = fit("Reaction ~ Days + (1|Subject)", mixed)
    assert m.ngrps == {"Subject": 18}
    np.testing.assert_allclose(m.predict(mixed), lme4_fitted("sleep_int"), rtol=1e-6)
    np.testing.assert_allclose(m.predict(sleep), lme4_fitted("sleep_int"), rtol=1e-6)


# ---------------------------------------------------------------------------- threads
def test_fits_from_several_threads_restore_the_blas_thread_limits():
    sleep = lp.load_dataset("sleepstudy")
    before = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        fits = list(pool.map(lambda _: fit("Reaction ~ Days + (Days|Subject)", sleep), range(8)))
    after = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    assert after == before
    assert len({round(m.REMLcrit(), 6) for m in fits}) == 1


# ------------------------------------------------------------------------ exact fits
@pytest.mark.parametrize("response", ["exact_fixed", "exact_mixed"])
def test_a_response_fitted_exactly_warns(response):
    sleep = lp.load_dataset("sleepstudy")
    codes = pd.factorize(sleep["Subject"], sort=True)[0]
    sleep["exact_fixed"] = 2.0 * sleep["Days"] + 3.0
    sleep["exact_mixed"] = 2.0 * sleep["Days"] + np.linspace(-1, 1, 18)[codes]
    with pytest.warns(ConvergenceWarning, match="essentially perfect fit"):
        lp.lmer(f"{response} ~ Days + (1|Subject)", sleep)


def test_a_precise_response_does_not_warn():
    sleep = lp.load_dataset("sleepstudy")
    sleep["Reaction"] = sleep["Reaction"] * 1e-9 + 1e3  # tiny spread far from zero
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        lp.lmer("Reaction ~ Days + (Days|Subject)", sleep)


# ---------------------------------------------------------------------------- re_form
def test_re_form_forms_match_lme4(politeness):
    data, m = politeness
    ref = ROBUST["politeness_re_form"]
    new = data.iloc[ref["newdata_rows"]]
    for re_form, key in [(None, "all"), (np.nan, "none"), (pd.NA, "none"), ("~0", "none"), ("NA", "none"),
                         ("~(1|subject)", "subject"), ("~ (1 | sentence)", "sentence"),
                         ("~(1|subject) + (1|sentence)", "all")]:
        np.testing.assert_allclose(m.predict(new, re_form=re_form), ref[key], rtol=1e-7, err_msg=str(re_form))
    np.testing.assert_allclose(m.predict(re_form="~(1|subject)"), ref["subject_fitted"], rtol=1e-7)
    aug = lp.augment(m, newdata=new, re_form="~(1|subject)")
    np.testing.assert_allclose(aug[".fitted"], ref["subject"], rtol=1e-7)


def test_re_form_needs_no_columns_of_the_terms_it_leaves_out(politeness):
    data, m = politeness
    ref = ROBUST["politeness_re_form"]
    new = data.iloc[ref["newdata_rows"]].drop(columns="sentence")
    np.testing.assert_allclose(m.predict(new, re_form="~(1|subject)"), ref["subject"], rtol=1e-7)


def test_re_form_with_a_term_not_in_the_model_is_an_error(politeness):
    data, m = politeness
    with pytest.raises(FormulaError, match=r"re_form's \(1\|gender\) is not one of the model's random terms"):
        m.predict(data.head(), re_form="~(1|gender)")
    with pytest.raises(FormulaError, match="one-sided formula"):
        m.predict(data.head(), re_form="(1|subject)")


# ---------------------------------------------------------------------- formula errors
def test_a_column_name_with_a_space_gets_the_backticks_to_write():
    sleep = lp.load_dataset("sleepstudy").rename(columns={"Days": "days of sleep deprivation"})
    with pytest.raises(FormulaError, match="write it in backticks in the formula, `days of sleep deprivation`"):
        lp.lmer("Reaction ~ days of sleep deprivation + (1|Subject)", sleep)
    m = fit("Reaction ~ `days of sleep deprivation` + (1|Subject)", sleep)
    assert m.coef_names == ["(Intercept)", "days of sleep deprivation"]
    np.testing.assert_allclose(m.fitted(), lme4_fitted("sleep_int"), rtol=1e-6)


@pytest.mark.parametrize("formula", ["Reaction ~ Days + a b + (1|Subject)", "Reaction ~ Days $ 2 + (1|Subject)",
                                     "Reaction ~ (Days + (1|Subject)"])
def test_formula_errors_carry_no_terminal_colour_codes(formula):
    with pytest.raises(FormulaError) as err:
        lp.lmer(formula, lp.load_dataset("sleepstudy"))
    assert "\x1b" not in str(err.value)


def test_columns_inside_calls_formulaic_does_not_report_are_owned_and_in_double():
    """formulaic lists no variable for poly(Days, 3, raw=True): the fit still copies and casts Days."""
    sleep = lp.load_dataset("sleepstudy")
    formula = "Reaction ~ poly(Days, 3, raw=True) + (1|Subject)"
    base = fit(formula, sleep.assign(Days=sleep["Days"] * 1.0))
    small = sleep.assign(Days=sleep["Days"].astype(np.uint8))
    m = fit(formula, small)
    small["Days"] = 0  # after the fit: no longer the fit's business
    np.testing.assert_allclose(m.beta, base.beta, rtol=1e-9)
    np.testing.assert_allclose(lp.augment(m)["Days"], sleep["Days"])
