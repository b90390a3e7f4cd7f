"""plot_coef: fixed effects of several models with Wald intervals."""
import numpy as np
import pytest
from scipy import stats

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError


@pytest.fixture(scope="module")
def models(sleepstudy):
    return (lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy),
            lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy),
            lp.lm("Reaction ~ Days", sleepstudy))


def test_wald_intervals(models, reference):
    m1, m2, ols = models
    frame = lp.plot_coef(m1, m2, ols=ols).data
    assert frame["model"].cat.categories.tolist() == ["m1", "m2", "ols"]
    # lmer: estimate ± qnorm(0.975) · lme4's std. error
    for cid, label in [("sleep_int", "m1"), ("sleep_slope", "m2")]:
        for row in reference["cases"][cid]["fixef"]:
            got = frame[(frame["model"] == label) & (frame["term"] == row["term"])].iloc[0]
            half = stats.norm.ppf(0.975) * row["std_error"]
            assert got["conf.low"] == pytest.approx(row["estimate"] - half, rel=1e-6)
            assert got["conf.high"] == pytest.approx(row["estimate"] + half, rel=1e-6)
    # lm: R's confint.lm, t quantiles on 178 df (Days: 8.023855, 12.910717 from R)
    days = frame[(frame["model"] == "ols") & (frame["term"] == "Days")].iloc[0]
    np.testing.assert_allclose([days["conf.low"], days["conf.high"]], [8.023855, 12.910717], rtol=1e-6)


def test_bad_input(models):
    m1, _, _ = models
    with pytest.raises(ArgumentTypeError, match="model m2 is a str"):
        lp.plot_coef(m1, "m2")
    with pytest.raises(ArgumentTypeError, match="m1"):
        lp.plot_coef(m1, m1=m1)
    with pytest.raises(ArgumentTypeError, match="at least one"):
        lp.plot_coef()


def test_image(models, figure_matches):
    m1, m2, ols = models
    assert figure_matches(lp.plot_coef(intercepts=m1, slopes=m2, ols=ols), "coef_sleep")
