"""confint(): lme4's profile and Wald intervals, and a parametric bootstrap that covers.

Reference numbers: tests/fixtures/confint_reference.json, made by confint_reference.R
(lme4 1.1-31). Profiles must agree within 1% of the interval's width (lme4 interpolates a
spline through its profile, we find the crossing itself), Wald intervals within 1e-6.
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import lmmplot as lp
from lmmplot import confint as confint_module
from lmmplot.confint import confint, percent_labels, percentile_interval, simulate_response
from lmmplot.errors import ArgumentTypeError

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "confint_reference.json").read_text())
CASES = list(REFERENCE["cases"])


def bounds(entry) -> np.ndarray:
    """R's interval as an array (NA, as jsonlite writes it, becomes NaN)."""
    def numbers(values):
        return np.array([np.nan if v == "NA" else v for v in values], float)

    return np.column_stack([numbers(entry["lower"]), numbers(entry["upper"])])


@pytest.fixture(scope="module")
def profiles(fits):
    """confint(model) per reference case, computed once."""
    cache = {}

    def get(cid):
        if cid not in cache:
            cache[cid] = confint(fits[cid][0])
        return cache[cid]

    return get


# ------------------------------------------------------------------ against lme4
@pytest.mark.parametrize("cid", CASES)
def test_profile_intervals_match_lme4(cid, profiles):
    ref = REFERENCE["cases"][cid]["profile"]
    ours = profiles(cid)
    assert list(ours.index) == ref["parm"]
    assert list(ours.columns) == ref["columns"] == ["2.5 %", "97.5 %"]
    theirs = bounds(ref)
    width = theirs[:, 1] - theirs[:, 0]
    assert np.all(np.abs(ours.to_numpy() - theirs) <= 0.01 * width[:, None])


@pytest.mark.parametrize("cid", ["sleep_int", "penicillin_course"])
def test_profile_intervals_at_90_percent_match_lme4(cid, fits):
    ref = REFERENCE["cases"][cid]["profile_90"]
    ours = confint(fits[cid][0], level=0.9)
    assert list(ours.columns) == ref["columns"] == ["5 %", "95 %"]
    theirs = bounds(ref)
    width = theirs[:, 1] - theirs[:, 0]
    assert np.all(np.abs(ours.to_numpy() - theirs) <= 0.01 * width[:, None])


# Where the criterion is flat at the optimum, lme4 stops with θ off by ~1e-5 relative (the
# chapter's 612.10 for sleep_slope's intercept variance, where the optimum is 612.09), which
# moves its standard errors, hence its Wald end points, by up to ~2e-5 (dragons' wingspan).
# That exactness of Wald itself is tested below against our own standard errors.
WALD_TOLERANCE = 5e-5


@pytest.mark.parametrize("cid", CASES)
@pytest.mark.parametrize("key,level", [("wald", 0.95), ("wald_99", 0.99)])
def test_wald_intervals_match_lme4(cid, key, level, fits):
    ref = REFERENCE["cases"][cid][key]
    ours = confint(fits[cid][0], method="Wald", level=level)
    assert list(ours.index) == ref["parm"]
    assert list(ours.columns) == ref["columns"]
    theirs = bounds(ref)
    fixed = np.isfinite(theirs[:, 0])
    assert np.isnan(ours.to_numpy()[~fixed]).all()  # variance parameters: NaN, as lme4
    rel = np.abs(ours.to_numpy()[fixed] - theirs[fixed]) / np.abs(theirs[fixed])
    assert rel.max() <= WALD_TOLERANCE


def test_wald_intervals_are_estimate_plus_normal_quantiles_of_the_standard_error(fits):
    model = fits["irrigation"][0]
    ours = confint(model, parm="beta_", method="Wald", level=0.9)
    se = np.sqrt(np.diag(model.vcov().to_numpy()))
    np.testing.assert_allclose(ours["5 %"], model.beta - 1.6448536269514722 * se, rtol=1e-13)
    np.testing.assert_allclose(ours["95 %"], model.beta + 1.6448536269514722 * se, rtol=1e-13)


def test_bootstrap_intervals_agree_with_a_bootstrap_in_r(fits):
    """Two bootstraps of 1000 differ by Monte Carlo error only: an end point (a 2.5% quantile)
    of 1000 draws has a standard error of about 2.2% of a normal interval's width, so two
    independent ones differ by 3.1% (one SE); each end is held to 4 SE."""
    ref = REFERENCE["cases"]["sleep_int"]
    ours = confint(fits["sleep_int"][0], method="boot", nsim=ref["boot_nsim"], seed=11, progress=False)
    theirs = bounds(ref["boot"])
    width = theirs[:, 1] - theirs[:, 0]
    assert list(ours.index) == ref["boot"]["parm"]
    assert np.all(np.abs(ours.to_numpy() - theirs) <= 4 * 0.031 * width[:, None])


def test_percentile_end_points_interpolate_as_boot_ci():
    example = REFERENCE["percentile_example"]
    ours = percentile_interval(np.array(example["values"]), np.array(example["probs"]))
    np.testing.assert_allclose(ours, example["interval"], rtol=1e-12)


# ------------------------------------------------------------- what profiles are
def test_reml_fit_profiles_the_ml_deviance_as_lme4(profiles):
    # lme4 refits a REML fit by ML before profiling, so both fits give the same intervals
    np.testing.assert_allclose(profiles("sleep_slope"), profiles("sleep_slope_ml"), rtol=1e-5)


def test_fixed_effect_end_point_is_an_offset_fit_z_squared_above_the_optimum(fits, sleepstudy):
    model = fits["sleep_slope_ml"][0]
    upper = confint(model, parm="Days").loc["Days", "97.5 %"]
    shifted = sleepstudy.assign(offset_reaction=sleepstudy["Reaction"] - upper * sleepstudy["Days"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        offset_fit = lp.lmer("offset_reaction ~ 1 + (1 + Days|Subject)", shifted, REML=False)
    assert offset_fit.deviance() - model.deviance() == pytest.approx(stats.norm.ppf(0.975) ** 2, rel=1e-5)


def test_profile_intervals_hold_the_ml_estimates(fits):
    model = fits["sleep_slope_ml"][0]
    ci = confint(model)
    vc = model.VarCorr().blocks[0]
    estimates = [vc.sd[0], vc.corr[1, 0], vc.sd[1], model.sigma, *model.beta]
    assert np.all((ci.iloc[:, 0] < estimates) & (estimates < ci.iloc[:, 1]))


def test_bounds_stand_where_the_profile_never_crosses(profiles):
    # dragons: the intercept sd reaches 0 and the correlation ±1 within the deviance cut-off
    ci = profiles("dragons")
    assert ci.loc[".sig01", "2.5 %"] == 0.0
    assert tuple(ci.loc[".sig02"]) == (-1.0, 1.0)
    # penicillin_course: the blend sd's lower end point is 0, as lme4 reports it
    assert profiles("penicillin_course").loc[".sig01", "2.5 %"] == 0.0


# -------------------------------------------------------------------- arguments
@pytest.mark.parametrize("level,labels", [  # R: lme4:::format.perc(c(a, 1 - a), 3)
    (0.95, ["2.5 %", "97.5 %"]), (0.9, ["5 %", "95 %"]), (0.999, ["0.05 %", "99.95 %"]),
    (0.683, ["15.8 %", "84.2 %"]), (0.975, ["1.25 %", "98.75 %"]), (0.5, ["25 %", "75 %"]),
])
def test_columns_are_named_as_r_formats_percentages(level, labels):
    alpha = (1 - level) / 2
    assert percent_labels(np.array([alpha, 1 - alpha])) == labels


def test_parm_selects_by_name_position_or_kind(fits):
    model = fits["sleep_slope"][0]
    assert list(confint(model, parm="beta_", method="Wald").index) == ["(Intercept)", "Days"]
    assert list(confint(model, parm="theta_", method="Wald").index) == [".sig01", ".sig02", ".sig03", ".sigma"]
    assert list(confint(model, parm=["Days", ".sig02"], method="Wald").index) == [".sig02", "Days"]
    assert list(confint(model, parm=-1, method="Wald").index) == ["Days"]
    assert list(confint(model, parm="sd__Days", method="Wald").index) == [".sig03"]


def test_broom_names_come_with_the_group(fits):
    ci = confint(fits["politeness"][0], method="Wald", names="broom")
    assert list(ci.columns) == ["group", "2.5 %", "97.5 %"]
    assert list(ci.index[:3]) == ["sd__(Intercept)", "sd__(Intercept)", "sd__Observation"]
    assert list(ci["group"][:3]) == ["sentence", "subject", "Residual"]
    assert ci["group"][3:].isna().all()
    slope = confint(fits["sleep_slope"][0], method="Wald", names="broom")
    assert list(slope.index[:3]) == ["sd__(Intercept)", "cor__(Intercept).Days", "sd__Days"]


def test_model_method_calls_confint(fits):
    model = fits["sleep_int"][0]
    pd.testing.assert_frame_equal(model.confint(method="Wald"), confint(model, method="Wald"))


@pytest.mark.parametrize("kwargs", [
    {"method": "wald"}, {"names": "R"}, {"level": 95}, {"level": "0.95"},
    {"parm": "Day"}, {"parm": 7}, {"method": "boot", "nsim": 0},
])
def test_bad_arguments_raise(fits, kwargs):
    with pytest.raises(ArgumentTypeError):
        confint(fits["sleep_slope"][0], **{"method": "Wald", **kwargs})


# -------------------------------------------------------------------- bootstrap
def test_bootstrap_is_reproducible_with_a_seed(fits):
    model = fits["sleep_int"][0]
    first = confint(model, method="boot", nsim=30, seed=5, progress=False)
    again = confint(model, method="boot", nsim=30, seed=5, progress=False)
    other = confint(model, method="boot", nsim=30, seed=6, progress=False)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first.to_numpy(), other.to_numpy())


def test_simulated_responses_have_the_fitted_covariance(fits):
    model = fits["sleep_int"][0]  # Subject sd 37.12, residual sd 30.99
    rng = np.random.default_rng(3)
    sims = np.array([simulate_response(model, rng) for _ in range(4000)])
    sd_b, sigma = model.VarCorr().blocks[0].sd[0], model.sigma
    np.testing.assert_allclose(sims.mean(axis=0), model.fixed_part(), atol=5 * 48.4 / np.sqrt(4000))
    n, total = len(sims), sd_b**2 + sigma**2
    # each at 4 Monte Carlo standard errors of its own estimate (normal theory)
    assert abs(np.var(sims[:, 0]) - total) <= 4 * total * np.sqrt(2 / (n - 1))
    same_subject = np.cov(sims[:, 0], sims[:, 1])[0, 1]
    assert abs(same_subject - sd_b**2) <= 4 * np.sqrt((total**2 + sd_b**4) / n)
    assert abs(np.corrcoef(sims[:, 0], sims[:, 10])[0, 1]) <= 4 / np.sqrt(n)  # different subjects


def test_long_bootstrap_shows_progress(fits, capsys, monkeypatch):
    monkeypatch.setattr(confint_module, "_PROGRESS_AFTER_SECONDS", 0.0)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the fallback counter
    confint(fits["sleep_int"][0], method="boot", nsim=5, seed=1)
    assert "bootstrap 5/5 (100%)" in capsys.readouterr().err
    confint(fits["sleep_int"][0], method="boot", nsim=5, seed=1, progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------- coverage
def simulated_study(rng, groups=12, per_group=5) -> pd.DataFrame:
    """y = 10 + x + b + ε, b ~ N(0, 1.5²) per group, ε ~ N(0, 1)."""
    group = np.repeat(np.arange(groups), per_group)
    x = np.tile(np.arange(per_group, dtype=float), groups)
    y = 10 + x + 1.5 * rng.standard_normal(groups)[group] + rng.standard_normal(group.size)
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{k:02d}" for k in group]})


def fit_quietly(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lp.lmer("y ~ x + (1|g)", data)


def covers(ci, name, value) -> bool:
    return ci.loc[name].iloc[0] <= value <= ci.loc[name].iloc[1]


def test_profile_and_wald_intervals_cover_95_percent():
    rng = np.random.default_rng(2024)
    n = 40
    hits = {"profile slope": 0, "profile sd": 0, "Wald slope": 0}
    width_ratio = []
    for _ in range(n):
        model = fit_quietly(simulated_study(rng))
        profile = confint(model, parm=[".sig01", "x"])
        wald = confint(model, parm="x", method="Wald")
        hits["profile slope"] += covers(profile, "x", 1.0)
        hits["profile sd"] += covers(profile, ".sig01", 1.5)
        hits["Wald slope"] += covers(wald, "x", 1.0)
        width_ratio.append(np.diff(profile.loc["x"])[0] / np.diff(wald.loc["x"])[0])
    least = stats.binom.ppf(0.001, n, 0.95)  # 33 of 40
    assert all(h >= least for h in hits.values()), hits
    # the profile's slope interval is about as wide as Wald's (not covering by being wide)
    assert 0.9 < np.median(width_ratio) < 1.1


def test_bootstrap_intervals_cover_95_percent():
    # percentile intervals of a sd from 12 groups cover a little less than 95% (the estimate
    # is biased down and the percentiles inherit it): 91-96% over 200 data sets
    rng = np.random.default_rng(2025)
    n = 30
    hits = {"slope": 0, "sd": 0}
    for k in range(n):
        model = fit_quietly(simulated_study(rng))
        boot = confint(model, method="boot", nsim=100, seed=k, progress=False)
        hits["slope"] += covers(boot, "x", 1.0)
        hits["sd"] += covers(boot, ".sig01", 1.5)
    least = stats.binom.ppf(0.001, n, 0.95)  # 24 of 30
    assert all(h >= least for h in hits.values()), hits
