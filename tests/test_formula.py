"""lme4's formula syntax, split and expanded as lme4 does."""
import numpy as np
import pytest

import lmmplot as lp
from lmmplot.formula import parse_formula


def terms(formula):
    return [(t.expr, t.group) for t in parse_formula(formula).random]


def test_bars_split_from_the_fixed_part():
    p = parse_formula("Reaction ~ Days + (1 + Days|Subject)")
    assert (p.response, p.fixed) == ("Reaction", "Days")
    assert terms(p.text) == [("1 + Days", "Subject")]


def test_random_only_formula_has_an_intercept_fixed_part():
    assert parse_formula("y ~ (1|g)").fixed == "1"


def test_nested_groups_expand_with_lme4_names():
    assert terms("y ~ x + (1|hospital/doctor)") == [("1", "hospital"), ("1", "doctor:hospital")]
    assert terms("y ~ (1|a/b/c)") == [("1", "a"), ("1", "b:a"), ("1", "c:(b:a)")]


def test_double_bar_makes_uncorrelated_blocks():
    assert terms("y ~ x + (1 + x + z||g)") == [("1", "g"), ("0 + x", "g"), ("0 + z", "g")]
    assert terms("y ~ (0 + x||g)") == [("0 + x", "g")]
    assert terms("y ~ (w*s||m)") == [("1", "m"), ("0 + w", "m"), ("0 + s", "m"), ("0 + w:s", "m")]


def test_power_operator_is_not_a_product():
    p = parse_formula("y ~ I(x**2) + (1|g)")
    assert p.fixed == "I(x**2)"


def test_equivalent_spellings_fit_identically(sleepstudy):
    a = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)
    b = lp.lmer("Reaction ~ Days + (Days|Subject)", sleepstudy)
    c = lp.lmer("Reaction ~ 1 + Days + ( 1+Days | Subject )", sleepstudy)
    assert a.REMLcrit() == pytest.approx(b.REMLcrit()) == pytest.approx(c.REMLcrit())
    s0 = lp.lmer("Reaction ~ Days + (0 + Days|Subject)", sleepstudy)
    s1 = lp.lmer("Reaction ~ Days + (-1 + Days|Subject)", sleepstudy)
    assert s0.REMLcrit() == pytest.approx(s1.REMLcrit())
    assert s0.terms[0].columns == ["Days"]


def test_interaction_group_equals_explicit_nesting():
    health = lp.load_dataset("health")
    a = lp.lmer("outcome ~ treatment + (1|hospital/doctor)", health)
    b = lp.lmer("outcome ~ treatment + (1|hospital) + (1|doctor:hospital)", health)
    assert a.REMLcrit() == pytest.approx(b.REMLcrit(), abs=1e-8)
    assert a.ngrps == {"doctor:hospital": 30, "hospital": 5}


def test_factor_under_double_bar_keeps_all_levels_correlated():
    dragons = lp.load_dataset("dragons")
    m = lp.lmer("intelligence ~ wingspan + scales + (1 + scales||mountain)", dragons)
    assert [t.columns for t in m.terms] == [["(Intercept)"], ["scaleschromatic", "scalesmetallic"]]
    assert m.group_names == ["mountain", "mountain.1"]


def test_terms_are_ordered_as_lme4_orders_them():
    politeness = lp.load_dataset("politeness")
    m = lp.lmer("pitch ~ gender + (1|subject) + (1|sentence)", politeness)
    assert [t.group for t in m.terms] == ["sentence", "subject"]  # 7 levels before 6


def test_names_follow_r():
    irrigation = lp.load_dataset("irrigation")
    m = lp.lmer("yield ~ irrigation*variety + (1|field)", irrigation)
    assert m.coef_names == ["(Intercept)", "irrigationi2", "irrigationi3", "irrigationi4", "varietyv2",
                            "irrigationi2:varietyv2", "irrigationi3:varietyv2", "irrigationi4:varietyv2"]
    dragons = lp.load_dataset("dragons")
    m = lp.lmer("intelligence ~ wingspan*scales + (1 + wingspan*scales|mountain)", dragons)
    assert m.terms[0].columns == ["(Intercept)", "wingspan", "scalesmetallic", "wingspan:scalesmetallic"]
    tidy = lp.tidy(m, effects="ran_pars")
    assert tidy["term"].tolist()[:3] == ["sd__(Intercept)", "cor__(Intercept).wingspan",
                                        "cor__(Intercept).scalesmetallic"]
    assert tidy["term"].iloc[-1] == "sd__Observation"


def test_transforms_in_response_and_fixed_part(sleepstudy):
    data = sleepstudy.assign(logR=np.log(sleepstudy.Reaction))
    a = lp.lmer("np.log(Reaction) ~ Days + I(Days**2) + (1|Subject)", sleepstudy)
    b = lp.lmer("logR ~ Days + D2 + (1|Subject)", data.assign(D2=data.Days**2))
    assert a.REMLcrit() == pytest.approx(b.REMLcrit())
    assert a.coef_names[2] == "I(Days^2)"  # as R names it


def test_no_intercept_fixed_part(sleepstudy):
    m = lp.lmer("Reaction ~ 0 + Days + (1|Subject)", sleepstudy)
    assert m.coef_names == ["Days"]
    m = lp.lmer("Reaction ~ Days - 1 + (1|Subject)", sleepstudy)
    assert m.coef_names == ["Days"]


def test_string_numeric_and_categorical_groups_agree(sleepstudy):
    a = lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy)
    b = lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy.assign(Subject=sleepstudy.Subject.astype(str)))
    c = lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy.assign(Subject=sleepstudy.Subject.astype("category")))
    assert a.REMLcrit() == pytest.approx(b.REMLcrit()) == pytest.approx(c.REMLcrit())
    assert list(a.ranef()["Subject"].index[:3]) == ["308", "309", "310"]


def test_rank_deficient_fixed_effects_drop_columns_with_a_message(sleepstudy):
    data = sleepstudy.assign(Days2=2 * sleepstudy.Days)
    with pytest.warns(UserWarning, match="rank deficient so dropping 1 column / coefficient"):
        m = lp.lmer("Reaction ~ Days + Days2 + (1|Subject)", data)
    assert m.coef_names == ["(Intercept)", "Days"]
    ref = lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy)
    assert m.REMLcrit() == pytest.approx(ref.REMLcrit())


def test_r_style_names_and_functions(sleepstudy):
    data = sleepstudy.rename(columns={"Days": "days.n", "Subject": "subj.id"})
    m = lp.lmer("sqrt(Reaction) ~ factor(days.n > 4) + days.n + (days.n|subj.id)", data)
    assert m.coef_names == ["(Intercept)", "factor(days.n > 4)TRUE", "days.n"]  # lme4's: test_names.py
    assert m.group_names == ["subj.id"]
    plain = lp.lmer("np.sqrt(Reaction) ~ C(Days > 4) + Days + (Days|Subject)", sleepstudy)
    assert m.REMLcrit() == pytest.approx(plain.REMLcrit())
