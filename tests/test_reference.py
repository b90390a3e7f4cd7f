"""Every reference case fitted by lmmplot matches lme4 1.1-31 + lmerTest + broom.mixed.

The optimum must be lme4's best (the best of its four optimizers) or lower; where it is the
same optimum, estimates, standard errors, Satterthwaite df, variance components, conditional
modes and broom.mixed's augment columns must agree.
"""
import numpy as np
import pytest

import lmmplot as lp


def close(ours, theirs, rel, abs_=0.0):
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    return np.all(np.abs(ours - theirs) <= abs_ + rel * np.abs(theirs))


@pytest.fixture
def case(reference, case_id):
    return reference["cases"][case_id]


@pytest.fixture
def model(fits, case_id):
    return fits[case_id][0]


def test_objective_reaches_lme4_best_optimum(case, model):
    ours = model.REMLcrit() if case["reml"] else model.deviance()
    assert ours <= case["objective"] + 1e-6
    # where lme4's default optimizer stops short, we must not
    assert ours <= case["default_objective"] + 1e-6


def r_spelling(term):
    """R writes I(Time^2) where Python writes I(Time ** 2)."""
    return term.replace(" ", "").replace("**", "^")


def test_fixed_effects(case, model):
    table = lp.tidy(model, effects="fixed")
    table = table.set_index(table["term"].map(r_spelling))
    for fe in case["fixef"]:
        row = table.loc[fe["term"]]
        assert abs(row["estimate"] - fe["estimate"]) <= 1e-3 * fe["std_error"], fe["term"]
        assert close(row["std.error"], fe["std_error"], 1e-3), fe["term"]
        assert close(row["df"], fe["df"], 5e-3, 1e-3), fe["term"]
        assert close(row["statistic"], fe["t"], 2e-3), fe["term"]
        assert close(row["p.value"], fe["p"], 1e-2, 1e-12), fe["term"]


def test_vcov_beta(case, model):
    ref = np.array(case["vcov_beta"], ndmin=2)
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    assert np.max(np.abs(model.vcov().to_numpy() - ref) / scale) < 2e-3


def test_variance_components(case, model):
    ours = model.VarCorr().as_frame()
    assert len(ours) == len(case["varcorr"])
    for row, vc in zip(ours.itertuples(), case["varcorr"]):
        assert row.grp == vc["grp"]
        assert _none(row.var1) == vc["var1"] and _none(row.var2) == vc["var2"]
        if vc["var2"] is None:
            assert close(row.sdcor, vc["sdcor"], 5e-3, 2e-3 * case["sigma"]), (row.grp, row.var1)
        else:
            assert abs(row.sdcor - vc["sdcor"]) < 1e-3, (row.grp, row.var1, row.var2)
    assert close(model.sigma, case["sigma"], 1e-3)


def _none(value):
    return None if value is None or value != value else value


def test_likelihood_and_information_criteria(case, model):
    assert close(model.logLik(), case["logLik"], 1e-7)
    assert close(model.AIC(), case["AIC"], 1e-7)
    assert close(model.BIC(), case["BIC"], 1e-7)
    assert model.nobs == case["nobs"]
    assert model.ngrps == case["ngrps"]


def test_glance_columns_and_values(case, model):
    gl = lp.glance(model)
    assert list(gl.columns) == list(case["glance"])
    for key, value in case["glance"].items():
        # likelihoods are flat at the optimum: they agree more closely than σ does
        assert close(gl[key].iloc[0], value, 1e-3 if key == "sigma" else 1e-7), key


def test_augment_matches_broom_mixed(case, model):
    aug = lp.augment(model)
    aug = aug[aug[".fitted"].notna()]  # broom.mixed leaves out rows dropped for missing values
    assert len(aug) == len(case["augment"])
    for col in [".fitted", ".resid", ".hat", ".cooksd", ".fixed", ".mu", ".wtres"]:
        theirs = np.array([row[col] for row in case["augment"]])
        ours = aug[col].to_numpy()
        tol = 5e-3 * np.abs(theirs).max()
        assert np.max(np.abs(ours - theirs)) <= tol, col


def test_conditional_modes_and_sds(case, model):
    rv = lp.tidy(model, effects="ran_vals").set_index(["group", "level", "term"])
    assert len(rv) == len(case["ranef"])
    for r in case["ranef"]:
        est, sd = rv.loc[(r["grp"], r["level"], r["term"]), ["estimate", "std.error"]]
        # absolute slack relative to σ: a variance at its bound (0 here, 1e-5 in lme4) is the same fit
        assert abs(est - r["condval"]) <= 2e-3 * r["condsd"] + 1e-4 * case["sigma"]
        assert close(sd, r["condsd"], 2e-3, 1e-4 * case["sigma"])


def test_singular_fits_say_so_in_lme4_words(case, fits, case_id):
    model, messages = fits[case_id]
    assert model.isSingular() == case["singular"]
    said = "boundary (singular) fit: see help('isSingular')" in messages
    assert said == case["singular"]
    # a fit at the best optimum has no convergence complaint
    assert not [m for m in messages if "converge" in m]
