"""plot_shrinkage: no / partial / complete pooling in coefficient space, and the modes' shrinkage."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError
from lmmplot.plotting.shrinkage import UNPENALIZED


@pytest.fixture(scope="module")
def slope(sleepstudy):
    return lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)


@pytest.fixture(scope="module")
def intercept(sleepstudy):
    return lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy)


def _per_subject_lstsq(data) -> pd.DataFrame:
    rows = {}
    for subject, part in data.groupby(data["Subject"].astype(str)):
        X = np.column_stack([np.ones(len(part)), part["Days"]])
        rows[subject] = np.linalg.lstsq(X, part["Reaction"].to_numpy(), rcond=None)[0]
    return pd.DataFrame.from_dict(rows, orient="index", columns=["(Intercept)", "Days"])


def _lme4_coef(case) -> pd.DataFrame:
    fixef = {r["term"]: r["estimate"] for r in case["fixef"]}
    out = {}
    for r in case["ranef"]:
        out.setdefault(r["level"], {})[r["term"]] = fixef[r["term"]] + r["condval"]
    return pd.DataFrame.from_dict(out, orient="index")


def test_coef_space_arrows(slope, sleepstudy, reference):
    """Arrows run from each subject's own least-squares line to lme4's coef()."""
    plot = lp.plot_shrinkage(slope)
    arrows = plot.data.set_index("level")
    own = _per_subject_lstsq(sleepstudy).loc[arrows.index]
    np.testing.assert_allclose(arrows["x"], own["(Intercept)"], rtol=1e-10)
    np.testing.assert_allclose(arrows["y"], own["Days"], rtol=1e-10)
    lme4 = _lme4_coef(reference["cases"]["sleep_slope"]).loc[arrows.index]
    np.testing.assert_allclose(arrows["xend"], lme4["(Intercept)"], rtol=1e-5)
    np.testing.assert_allclose(arrows["yend"], lme4["Days"], rtol=1e-4, atol=1e-4)
    points = [layer.geom.data for layer in plot.layers if type(layer.geom).__name__ == "geom_point"][0]
    complete = points[points["estimate"] == "Complete pooling (lm)"].iloc[0]
    np.testing.assert_allclose([complete["x"], complete["y"]], [251.405104848484, 10.467285959596])


def test_ellipses_are_lme4s_covariance(slope, reference):
    plot = lp.plot_shrinkage(slope, levels=(0.5, 0.9))
    ellipses = [layer.geom.data for layer in plot.layers if type(layer.geom).__name__ == "geom_path"][0]
    vc = {(r["var1"], r["var2"]): r for r in reference["cases"]["sleep_slope"]["varcorr"]}
    sd = np.array([vc[("(Intercept)", None)]["sdcor"], vc[("Days", None)]["sdcor"]])
    corr = vc[("(Intercept)", "Days")]["sdcor"]
    cov = np.outer(sd, sd) * np.array([[1, corr], [corr, 1]])
    centre = np.array([251.405104848484, 10.467285959596])
    for prob, part in ellipses.groupby("prob"):
        d = part[["x", "y"]].to_numpy() - centre
        np.testing.assert_allclose(np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d),
                                   stats.chi2.ppf(float(prob), 2), rtol=1e-4)


def test_ranef_space_is_modes_at_large_theta(slope, reference):
    plot = lp.plot_shrinkage(slope, space="ranef").data.set_index("level")
    lme4 = {(r["level"], r["term"]): r["condval"] for r in reference["cases"]["sleep_slope"]["ranef"]}
    np.testing.assert_allclose(plot["xend"], [lme4[(s, "(Intercept)")] for s in plot.index], rtol=1e-4, atol=1e-3)
    big = slope.at_theta(np.where(slope.theta_lower == 0, UNPENALIZED, 0.0)).ranef()["Subject"]
    np.testing.assert_allclose(plot["x"], big.loc[plot.index, "(Intercept)"])


def test_at_large_theta_the_modes_are_unpooled(slope, sleepstudy):
    """At θ = 10⁴ · start, coef() is each subject's own least squares (lmList)."""
    big = slope.at_theta(np.where(slope.theta_lower == 0, UNPENALIZED, 0.0)).coef()["Subject"]
    own = _per_subject_lstsq(sleepstudy).loc[big.index]
    np.testing.assert_allclose(big.to_numpy(), own.to_numpy(), rtol=1e-6)


def test_one_term_shares_the_other_fixed_effects(intercept, sleepstudy):
    """With (1|Subject) the no-pooling intercepts are those of Reaction ~ Days + Subject."""
    arrows = lp.plot_shrinkage(intercept).data.set_index("level")
    subjects = sleepstudy["Subject"].astype(str)
    dummies = pd.get_dummies(subjects).astype(float)
    X = np.column_stack([dummies.to_numpy(), sleepstudy["Days"]])
    fit = np.linalg.lstsq(X, sleepstudy["Reaction"].to_numpy(), rcond=None)[0]
    own = pd.Series(fit[:-1], index=dummies.columns)
    np.testing.assert_allclose(arrows["x"], own.loc[arrows.index.astype(str)], rtol=1e-6)


def test_bad_input(sleepstudy, slope):
    with pytest.raises(ArgumentTypeError, match="lmmplot.lm fit"):
        lp.plot_shrinkage(lp.lm("Reaction ~ Days", sleepstudy))
    with pytest.raises(ArgumentTypeError, match="space"):
        lp.plot_shrinkage(slope, space="coefs")
    with pytest.raises(ArgumentTypeError, match="'Days' is not a grouping factor"):
        lp.plot_shrinkage(slope, group="Days")
    no_slope = lp.lmer("Reaction ~ 1 + (1 + Days|Subject)", sleepstudy)
    with pytest.raises(ArgumentTypeError, match="'Days'.*space='ranef'"):
        lp.plot_shrinkage(no_slope)


def test_images(slope, intercept, figure_matches):
    assert figure_matches(lp.plot_shrinkage(slope), "shrinkage_coef_sleep_slope")
    assert figure_matches(lp.plot_shrinkage(slope, space="ranef"), "shrinkage_ranef_sleep_slope")
    assert figure_matches(lp.plot_shrinkage(intercept), "shrinkage_coef_sleep_int")
