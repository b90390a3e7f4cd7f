"""plot_ranef: lme4's caterpillar (dotplot) and qqmath of the conditional modes."""
import numpy as np
import pytest
from scipy import stats

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError


@pytest.fixture(scope="module")
def sleep_slope(sleepstudy):
    return lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)


@pytest.mark.parametrize("cid", ["sleep_slope", "sleep_uncorr", "health_crossed", "health_nested",
                                 "dragons_nointercept_re"])
def test_intervals_are_lme4_condsd(cid, fits, reference):
    """Each mode's interval is lme4's condval ± z·condsd (ranef(condVar=TRUE))."""
    model, _ = fits[cid]
    frame = lp.plot_ranef(model, level=0.9).data
    ref = reference["cases"][cid]["ranef"]
    assert len(frame) == len(ref)
    z = stats.norm.ppf(0.95)
    got = frame.set_index(["group", "term", "level"])
    for row in ref:
        mine = got.loc[(row["grp"], row["term"], row["level"])]
        tol = 1e-4 * max(1.0, abs(row["condval"]))
        assert mine["lower"] == pytest.approx(row["condval"] - z * row["condsd"], abs=tol, rel=1e-4)
        assert mine["upper"] == pytest.approx(row["condval"] + z * row["condsd"], abs=tol, rel=1e-4)


def test_levels_ordered_by_first_term_per_factor(fits):
    model, _ = fits["health_crossed"]
    frame = lp.plot_ranef(model).data
    for group, part in frame.groupby("group"):
        first = part[part["term"] == part["term"].iloc[0]]
        keys = first.sort_values("condval")[".key"].astype(str).tolist()
        cats = [k for k in frame[".key"].cat.categories if k.startswith(group + "\t")]
        assert cats == keys


def test_qq_quantiles_follow_lme4(sleep_slope):
    """qqmath: the r-th smallest of n modes sits at qnorm((r - 0.5) / n)."""
    frame = lp.plot_ranef(sleep_slope, qq=True).data
    days = frame[frame["term"] == "Days"].sort_values("condval")
    n = len(days)
    np.testing.assert_allclose(days["quantile"], stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n))


def test_lm_is_refused(sleepstudy):
    with pytest.raises(ArgumentTypeError, match="lmmplot.lm fit"):
        lp.plot_ranef(lp.lm("Reaction ~ Days", sleepstudy))
    with pytest.raises(ArgumentTypeError, match="level"):
        lp.plot_ranef(lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy), level=95)


def test_caterpillar_image(sleep_slope, figure_matches):
    assert figure_matches(lp.plot_ranef(sleep_slope), "ranef_sleep_slope")


def test_qq_image(sleep_slope, figure_matches):
    assert figure_matches(lp.plot_ranef(sleep_slope, qq=True), "ranef_qq_sleep_slope")


def test_crossed_image(fits, figure_matches):
    model, _ = fits["health_crossed"]
    assert figure_matches(lp.plot_ranef(model), "ranef_health_crossed")
