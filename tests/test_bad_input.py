"""Mistakes in the formula or the data raise lmmplot's own errors, naming what the user wrote."""
import warnings

import numpy as np
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError, DataError, FormulaError, LmmplotError, MissingDataWarning

F = "Reaction ~ Days + (1|Subject)"


@pytest.mark.parametrize(
    "formula, column",
    [
        ("Reaction ~ Dayz + (1|Subject)", "Dayz"),
        ("Reaction ~ Days + (Dayz|Subject)", "Dayz"),
        ("Reaction ~ Days + (1|Subjct)", "Subjct"),
        ("Reactio ~ Days + (1|Subject)", "Reactio"),
    ],
)
def test_unknown_column_is_named_with_a_suggestion(sleepstudy, formula, column):
    with pytest.raises(DataError, match=rf"column '{column}'.*did you mean"):
        lp.lmer(formula, sleepstudy)


@pytest.mark.parametrize(
    "formula, says",
    [
        ("Reaction ~ Days + (1|Subject", "unbalanced"),
        ("Reaction ~ Days + + (1|Subject)", "empty term"),
        ("Reaction Days (1|Subject)", "exactly one '~'"),
        ("~ Days + (1|Subject)", "no response"),
        ("Reaction ~ Days + 1|Subject", "in parentheses"),
        ("Reaction ~ Days + (|Subject)", "nothing before '|'"),
        ("Reaction ~ Days + (1|)", "no grouping factor"),
        ("Reaction ~ Days + (1|Subject + Days)", "column names joined"),
    ],
)
def test_malformed_formula_says_where(sleepstudy, formula, says):
    with pytest.raises(FormulaError, match=says):
        lp.lmer(formula, sleepstudy)


def test_no_random_term_points_to_lm(sleepstudy):
    with pytest.raises(FormulaError, match="lmmplot.lm"):
        lp.lmer("Reaction ~ Days", sleepstudy)


def test_random_term_in_lm_points_to_lmer(sleepstudy):
    with pytest.raises(FormulaError, match="lmmplot.lmer"):
        lp.lm(F, sleepstudy)


def test_group_with_a_level_per_observation(sleepstudy):
    with pytest.raises(DataError, match="levels of each grouping factor must be < number of observations"):
        lp.lmer("Reaction ~ Days + (1|id)", sleepstudy.assign(id=np.arange(180)))


def test_group_with_a_single_level(sleepstudy):
    with pytest.raises(DataError, match="'one'.*single level"):
        lp.lmer("Reaction ~ Days + (1|one)", sleepstudy.assign(one="a"))


def test_more_random_effects_than_observations_as_the_course_shows():
    irrigation = lp.load_dataset("irrigation")
    with pytest.raises(DataError, match=r"number of observations \(=16\) <= number of random effects \(=16\)"):
        lp.lmer("yield ~ irrigation*variety + (1 + variety|field)", irrigation)


def test_non_numeric_response(sleepstudy):
    with pytest.raises(DataError, match="response 'Subject' must be numeric"):
        lp.lmer("Subject ~ Days + (1|Days)", sleepstudy.assign(Subject=sleepstudy.Subject.astype(str)))


def test_empty_data(sleepstudy):
    with pytest.raises(DataError, match="no rows"):
        lp.lmer(F, sleepstudy.iloc[:0])


def test_all_missing_response(sleepstudy):
    with pytest.raises(DataError, match="missing in every row"):
        lp.lmer(F, sleepstudy.assign(Reaction=np.nan))


def test_infinite_values_are_named(sleepstudy):
    with pytest.raises(DataError, match=r"infinite.*\['Days'\]"):
        lp.lmer(F, sleepstudy.assign(Days=sleepstudy.Days.replace(3, np.inf)))


def test_data_must_be_a_data_frame(sleepstudy):
    with pytest.raises(ArgumentTypeError, match="DataFrame, not dict"):
        lp.lmer(F, sleepstudy.to_dict())


def test_formula_must_be_a_string(sleepstudy):
    with pytest.raises(ArgumentTypeError, match="formula must be a string"):
        lp.lmer(42, sleepstudy)


def test_reml_must_be_a_bool(sleepstudy):
    with pytest.raises(ArgumentTypeError, match="REML must be True or False"):
        lp.lmer(F, sleepstudy, REML="yes")


def test_errors_are_one_family_and_builtin_compatible(sleepstudy):
    with pytest.raises(LmmplotError):
        lp.lmer("Reaction ~ Days", sleepstudy)
    with pytest.raises(ValueError):
        lp.lmer("Reaction ~ Dayz + (1|Subject)", sleepstudy)
    with pytest.raises(TypeError):
        lp.lmer(F, [1, 2])


def test_missing_values_dropped_with_a_count(sleepstudy):
    data = sleepstudy.copy()
    data.loc[[3, 7], "Reaction"] = np.nan
    data.loc[11, "Days"] = np.nan
    before = data.copy()
    with pytest.warns(MissingDataWarning, match=r"3 of 180 rows dropped .*'Reaction': 2, 'Days': 1"):
        m = lp.lmer(F, data)
    assert m.nobs == 177
    pd.testing.assert_frame_equal(data, before)
    expected = lp.lmer(F, sleepstudy.drop(index=[3, 7, 11]))
    assert m.REMLcrit() == pytest.approx(expected.REMLcrit(), rel=1e-10)


def test_missing_values_in_unused_columns_do_not_drop_rows(sleepstudy):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = lp.lmer(F, sleepstudy.assign(unused=np.nan))
    assert m.nobs == 180


def test_callers_frame_is_never_modified(sleepstudy):
    data = sleepstudy.copy()
    before = data.copy()
    m = lp.lmer("Reaction ~ Days + (Days|Subject)", data)
    lp.augment(m)
    lp.tidy(m, effects=["fixed", "ran_pars", "ran_vals", "ran_coefs"])
    m.predict(data.head(), allow_new_levels=True)
    pd.testing.assert_frame_equal(data, before)
