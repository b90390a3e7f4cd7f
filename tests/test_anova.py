"""F tests of fixed-effect terms (lmerTest's anova) and likelihood-ratio tests (lme4's anova).

Reference numbers: lme4_reference.json (every case's type III table and 4 model comparisons)
and anova_reference.json, made by anova_reference.R (type I/II/III tables and their hypothesis
matrices, Kenward-Roger tables, R's printed output, and comparisons with lm and REML fits).
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import lmmplot as lp
from lmmplot.anova import (
    ANOVA_COLUMNS,
    LRT_COLUMNS,
    anova,
    anova_table,
    compare,
)
from lmmplot.errors import ArgumentTypeError, DataError, MLRefitWarning

pytestmark = pytest.mark.filterwarnings("ignore:Missing cells for")

ANOVA_REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "anova_reference.json").read_text())
F_TABLES = ANOVA_REFERENCE["f_tables"]
TABLE_COLUMNS = {"Sum Sq": "SumSq", "Mean Sq": "MeanSq", "NumDF": "NumDF", "DenDF": "DenDF",
                 "F value": "F", "Pr(>F)": "p"}


def relative_error(ours, theirs):
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    return float(np.max(np.abs(ours[ok] / theirs[ok] - 1), initial=0.0))


def r_spelling(term):
    """R writes I(Time^2) where Python writes I(Time ** 2)."""
    return term.replace(" ", "").replace("**", "^")


def quiet_lmer(formula, data, REML=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lp.lmer(formula, data, REML=REML)


class TableFits:
    """One fit per anova_reference.json table case, made on first use."""

    def __init__(self):
        self._fits = {}

    def __getitem__(self, cid):
        if cid not in self._fits:
            case = F_TABLES[cid]
            data = lp.load_dataset(case["data"])
            for name, source in (case.get("copy") or {}).items():
                data[name] = data[source]
            drop = case.get("drop") or {}
            if drop:
                data = data[~np.logical_and.reduce([data[c] == v for c, v in drop.items()])]
            self._fits[cid] = quiet_lmer(case["formula"], data, REML=case["reml"])
        return self._fits[cid]


@pytest.fixture(scope="module")
def table_fits():
    return TableFits()


@pytest.fixture(scope="module")
def sleep():
    return lp.load_dataset("sleepstudy")


# ------------------------------------------------------------------ type III vs the lme4 reference
def straight_quotes(lines):
    """R prints ‘***’ in a UTF-8 locale; lmmplot prints the course's '***'."""
    return [line.replace("‘", "'").replace("’", "'") for line in lines]


def test_type3_matches_every_reference_case(reference, fits, case_id):
    case = reference["cases"][case_id]
    table = fits[case_id][0].anova()
    expected = case.get("anova3") or []
    assert list(table.columns) == ANOVA_COLUMNS
    assert [r_spelling(t) for t in table.index] == [r_spelling(row["term"]) for row in expected]
    for label, row in zip(table.index, expected):
        ours = table.loc[label]
        assert ours["NumDF"] == row["NumDF"]
        assert relative_error(ours["F value"], row["F"]) < 2e-3, row["term"]
        assert relative_error(ours["DenDF"], row["DenDF"]) < 5e-3, row["term"]
        # p follows from F and DenDF: ours exactly so, and lme4's from our F within 0.2%
        # (near a boundary, a 0.25% shift in DenDF moves p by 0.5%: df have their 2% above)
        assert ours["Pr(>F)"] == pytest.approx(stats.f.sf(ours["F value"], ours["NumDF"], ours["DenDF"]))
        assert relative_error(stats.f.sf(ours["F value"], row["NumDF"], row["DenDF"]), row["p"]) < 2e-3
        assert ours["Sum Sq"] == pytest.approx(ours["F value"] * ours["NumDF"] * fits[case_id][0].sigma ** 2)
        assert ours["Mean Sq"] == pytest.approx(ours["Sum Sq"] / ours["NumDF"])


def test_intercept_only_model_gives_an_empty_table(fits):
    table = fits["sleep_nofixed_ml"][0].anova()
    assert table.shape == (0, 6)
    assert list(table.columns) == ANOVA_COLUMNS
    assert str(table).splitlines()[0] == "Type III Analysis of Variance Table with Satterthwaite's method"


# ------------------------------------------------------------------ types I, II, III vs lmerTest
@pytest.mark.parametrize("cid", list(F_TABLES))
@pytest.mark.parametrize("type_", [1, 2, 3])
def test_tables_match_lmertest(table_fits, cid, type_):
    expected = F_TABLES[cid][f"type{type_}"]
    table = anova_table(table_fits[cid], type=type_)
    assert list(table.index) == expected["term"]
    assert table.attrs["heading"] == expected["heading"]
    for column, key in TABLE_COLUMNS.items():
        tolerance = 5e-3 if column == "DenDF" else 2e-3
        assert relative_error(table[column], expected[key]) < tolerance, column


@pytest.mark.parametrize("cid", list(F_TABLES))
@pytest.mark.parametrize("type_", [1, 2, 3])
def test_hypothesis_matrices_match_lmertest(table_fits, cid, type_):
    expected = F_TABLES[cid][f"type{type_}_hypotheses"]
    ours = anova_table(table_fits[cid], type=type_).attrs["hypotheses"]
    assert list(ours) == list(expected)
    for term, hyp in expected.items():
        rows = np.array(hyp["rows"], float).reshape(-1, ours[term].shape[1])
        assert ours[term].shape == rows.shape, term
        np.testing.assert_allclose(ours[term].to_numpy(), rows, atol=1e-6, err_msg=term)


def test_type3_main_effect_is_averaged_over_the_interaction(table_fits):
    """With treatment coding, type III's `variety` is not `varietyv2 = 0` but its mean over irrigation."""
    hyp = anova_table(table_fits["irrigation"], type=3).attrs["hypotheses"]
    np.testing.assert_allclose(hyp["variety"].to_numpy(), [[0, 0, 0, 0, 1, 0.25, 0.25, 0.25]], atol=1e-12)
    np.testing.assert_allclose(
        hyp["irrigation"].to_numpy(),
        [[0, 1, 0, 0, 0, 0.5, 0, 0], [0, 0, 1, 0, 0, 0, 0.5, 0], [0, 0, 0, 1, 0, 0, 0, 0.5]],
        atol=1e-12,
    )
    # the numeric main effect of dragons is tested at the scales average, unlike its coefficient
    dragons = anova_table(table_fits["dragons"], type=3).attrs["hypotheses"]
    np.testing.assert_allclose(dragons["wingspan"].to_numpy(), [[0, 1, 0, 0.5]], atol=1e-12)


def test_types_type1_and_type3_differ_when_unbalanced(table_fits):
    m = table_fits["dragons"]
    f1, f3 = (anova_table(m, type=t).loc["scales", "F value"] for t in (1, 3))
    assert f1 == pytest.approx(30.65, rel=2e-3)
    assert f3 == pytest.approx(10.60, rel=2e-3)


def test_fully_aliased_term_is_a_row_of_nan_at_the_end(table_fits):
    table = table_fits["irrigation_aliased"].anova()
    assert list(table.index) == ["variety2", "irrigation", "variety"]
    assert table.loc["variety"].isna().all()
    assert not table.loc["irrigation"].isna().any()


def test_missing_cells_are_reported():
    data = lp.load_dataset("irrigation")
    data = data[~((data["irrigation"] == "i1") & (data["variety"] == "v2"))]
    model = quiet_lmer("yield ~ irrigation*variety + (1|field)", data)
    with pytest.warns(UserWarning, match=r"Missing cells for: irrigationi1:varietyv2\."):
        model.anova()


def test_type_spellings_are_equivalent(table_fits):
    m = table_fits["politeness"]
    for a, b in [(3, "III"), (2, "II"), (1, "1")]:
        assert anova_table(m, type=a).equals(anova_table(m, type=b))


# ------------------------------------------------------------------ Kenward-Roger
@pytest.mark.parametrize("cid", [c for c in F_TABLES if "type3_kr" in F_TABLES[c]])
def test_kenward_roger_tables_match_lmertest(table_fits, cid):
    expected = F_TABLES[cid]["type3_kr"]
    table = table_fits[cid].anova(ddf="Kenward-Roger")
    assert table.attrs["heading"] == "Type III Analysis of Variance Table with Kenward-Roger's method"
    assert list(table.index) == expected["term"]
    for column, key in TABLE_COLUMNS.items():
        tolerance = 5e-3 if column == "DenDF" else 2e-3
        assert relative_error(table[column], expected[key]) < tolerance, column


def test_kenward_roger_needs_reml(table_fits):
    with pytest.raises(DataError, match="REML"):
        table_fits["dragons_ml"].anova(ddf="Kenward-Roger")


# ------------------------------------------------------------------ printing
PRINT_EXACT = [("irrigation", "type3"), ("irrigation", "type3_kr"), ("irrigation_nested", "type2"),
               ("politeness", "type1"), ("politeness", "type3"), ("health_hospital", "type1"),
               ("irrigation_aliased", "type3"), ("politeness_three_way", "type3"),
               ("irrigation_missing_cell", "type3")]


@pytest.mark.parametrize("cid, key", PRINT_EXACT)
def test_prints_as_r(table_fits, cid, key):
    """Cases whose numbers agree with R to every printed digit print identically (the
    dragons fits differ from R in the 5th digit, which print.anova shows)."""
    if key.endswith("_kr"):
        table = table_fits[cid].anova(ddf="Kenward-Roger")
    else:
        table = anova_table(table_fits[cid], type=int(key[4]))
    assert repr(table).splitlines() == straight_quotes(F_TABLES[cid][key]["printed"])
    assert str(table) == repr(table)


def test_derived_frames_are_plain(table_fits):
    table = table_fits["irrigation"].anova()
    assert type(table[["F value"]]) is pd.DataFrame
    assert "<p>Type III Analysis" in table._repr_html_()


# ------------------------------------------------------------------ likelihood-ratio tests
def check_lrt(table, expected):
    assert list(table.columns) == LRT_COLUMNS
    assert list(table.index) == expected["models"]
    for column, key in [("npar", "npar"), ("Df", "Df")]:
        np.testing.assert_array_equal(table[column].to_numpy(), np.array(expected[key], float))
    for column, key in [("AIC", "AIC"), ("BIC", "BIC"), ("logLik", "logLik"), ("deviance", "deviance"),
                        ("Chisq", "Chisq"), ("Pr(>Chisq)", "p")]:
        assert relative_error(table[column], expected[key]) < 2e-3, column


@pytest.mark.parametrize("index", range(4))
def test_comparisons_match_lme4_reference(reference, fits, index):
    cmp = reference["comparisons"][index]
    table = compare(fits[cmp["a"]][0], fits[cmp["b"]][0], names=[cmp["a"], cmp["b"]])
    assert np.isnan(table.iloc[0][["Chisq", "Df", "Pr(>Chisq)"]].to_numpy(float)).all()
    for column, key in [("npar", "npar"), ("logLik", "logLik"), ("deviance", "deviance"),
                        ("Chisq", "Chisq"), ("Df", "Df"), ("Pr(>Chisq)", "p")]:
        assert relative_error(table[column], cmp[key]) < 2e-3, column


def comparison_models(cmp):
    data = lp.load_dataset(cmp["data"])
    models = []
    for formula, reml in zip(cmp["formulas"], cmp["reml"]):
        models.append(lp.lm(formula, data) if reml is None else quiet_lmer(formula, data, REML=reml))
    return models


def test_lmer_against_lm_refits_the_lmer_by_ml():
    cmp = ANOVA_REFERENCE["comparisons"]["lmer_vs_lm"]
    with pytest.warns(MLRefitWarning, match=r"refitting model\(s\) with ML \(instead of REML\)"):
        table = compare(*comparison_models(cmp), names=cmp["names"])
    check_lrt(table, cmp)
    assert table.loc["sleep_lm", "logLik"] == pytest.approx(-950.1465, abs=1e-4)
    # the table under the heading prints as lme4's
    assert repr(table).splitlines()[-5:] == straight_quotes(cmp["printed"][-5:])


def test_three_reml_fits_are_refitted_and_sorted_by_npar():
    cmp = ANOVA_REFERENCE["comparisons"]["reml_refit_three"]
    with pytest.warns(MLRefitWarning):
        table = compare(*comparison_models(cmp), names=cmp["names"])
    check_lrt(table, cmp)
    assert table.attrs["heading"].splitlines()[0] == "Models:"
    assert table.attrs["heading"].splitlines()[1] == "sleep_int: Reaction ~ Days + (1|Subject)"


def test_no_refit_compares_reml_likelihoods():
    cmp = ANOVA_REFERENCE["comparisons"]["reml_no_refit"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", MLRefitWarning)
        table = compare(*comparison_models(cmp), refit=False, names=cmp["names"])
    check_lrt(table, cmp)


def test_ml_fits_need_no_refit():
    cmp = ANOVA_REFERENCE["comparisons"]["ml_fixed"]
    models = comparison_models(cmp)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MLRefitWarning)
        table = compare(*models, names=cmp["names"])
    check_lrt(table, cmp)
    assert list(compare(*models).index) == ["model2", "model1"]


def test_refit_note_is_a_user_warning():
    assert issubclass(MLRefitWarning, UserWarning)


def test_models_on_different_rows_are_refused(sleep):
    full = quiet_lmer("Reaction ~ Days + (1|Subject)", sleep, REML=False)
    part = quiet_lmer("Reaction ~ Days + (1|Subject)", sleep.iloc[:170], REML=False)
    with pytest.raises(DataError, match="not all fitted to the same size of dataset"):
        compare(full, part)


def test_compare_argument_errors(sleep):
    m = quiet_lmer("Reaction ~ Days + (1|Subject)", sleep, REML=False)
    with pytest.raises(ArgumentTypeError):
        compare(m)
    with pytest.raises(ArgumentTypeError):
        compare(m, m, names=["only_one"])
    with pytest.raises(ArgumentTypeError):
        compare(m, m, names=["same", "same"])
    with pytest.raises(ArgumentTypeError):
        compare(m, "not a model")


# ------------------------------------------------------------------ anova() dispatch and arguments
def test_anova_dispatches_on_the_number_of_models(table_fits, sleep):
    m = table_fits["irrigation"]
    assert anova(m).equals(m.anova())
    assert anova(m, type=1).attrs["heading"].startswith("Type I Analysis")
    a = quiet_lmer("Reaction ~ Days + (1|Subject)", sleep, REML=False)
    b = quiet_lmer("Reaction ~ Days + (Days|Subject)", sleep, REML=False)
    assert anova(a, b, names=["a", "b"]).equals(compare(a, b, names=["a", "b"]))
    with pytest.raises(ArgumentTypeError):
        anova()
    with pytest.raises(ArgumentTypeError):
        anova(lp.lm("Reaction ~ Days", sleep))


@pytest.mark.parametrize("kwargs", [{"type": 4}, {"type": "IV"}, {"type": True}, {"type": [3]}, {"ddf": "lme4"}])
def test_bad_anova_arguments(table_fits, kwargs):
    with pytest.raises(ArgumentTypeError):
        table_fits["irrigation"].anova(**kwargs)
