"""simulate(): the moments of simulated responses against the fit's marginal distribution.

The marginal covariance V = Z Σ Zᵀ + σ²I is built here from the data's columns and lme4's
stored variance components, apart from the engine's own path. Tolerances are five Monte
Carlo standard errors of each entry (nsim = 4000, fixed seed).
"""
import numpy as np
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError

NSIM = 4000


def _dummies(column) -> np.ndarray:
    return pd.get_dummies(column.astype(str)).to_numpy(float)


def _varcorr(case):
    """lme4's stored covariance blocks {group: Σ} and σ²."""
    rows, blocks = case["varcorr"], {}
    for r in rows:
        if r["grp"] != "Residual" and r["var2"] is None:
            blocks.setdefault(r["grp"], []).append(r)
    out = {}
    for grp, diag in blocks.items():
        names = [r["var1"] for r in diag]
        sd = np.sqrt([r["vcov"] for r in diag])
        cov = np.diag(sd**2)
        for r in rows:
            if r["grp"] == grp and r["var2"] is not None:
                i, j = names.index(r["var1"]), names.index(r["var2"])
                cov[i, j] = cov[j, i] = r["sdcor"] * sd[i] * sd[j]
        out[grp] = cov
    sigma2 = next(r["vcov"] for r in rows if r["grp"] == "Residual")
    return out, sigma2


def _check_moments(sims: np.ndarray, mean: np.ndarray, V: np.ndarray) -> None:
    """Means and covariances of the rows of ``sims`` (n × nsim) within 5 Monte Carlo SEs."""
    nsim = sims.shape[1]
    z_mean = (sims.mean(axis=1) - mean) / np.sqrt(np.diag(V) / nsim)
    assert np.abs(z_mean).max() < 5
    C = np.cov(sims)
    se = np.sqrt((V**2 + np.outer(np.diag(V), np.diag(V))) / nsim)
    assert np.abs((C - V) / se).max() < 5


@pytest.fixture(scope="module")
def sleep_fit(sleepstudy):
    return lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)


def test_new_random_effects_sleepstudy(sleep_fit, sleepstudy, reference):
    case = reference["cases"]["sleep_slope"]
    blocks, sigma2 = _varcorr(case)
    J = _dummies(sleepstudy["Subject"])
    rows = np.column_stack([np.ones(len(sleepstudy)), sleepstudy["Days"]])
    # V_ik = [i, k same subject] · z_iᵀ Σ z_k + σ² [i = k]
    V = J @ J.T * (rows @ blocks["Subject"] @ rows.T) + sigma2 * np.eye(len(sleepstudy))
    beta = [r["estimate"] for r in case["fixef"]]
    sims = sleep_fit.simulate(nsim=NSIM, seed=1)
    assert list(sims.columns[:2]) == ["sim_1", "sim_2"] and sims.shape == (180, NSIM)
    _check_moments(sims.to_numpy(), rows @ beta, V)


def test_crossed(fits, reference):
    model, _ = fits["health_crossed"]
    blocks, sigma2 = _varcorr(reference["cases"]["health_crossed"])
    data = model.data
    V = sigma2 * np.eye(len(data))
    for grp in ("doctor", "hospital"):
        J = _dummies(data[grp])
        V += blocks[grp][0, 0] * J @ J.T
    _check_moments(model.simulate(NSIM, seed=2).to_numpy(), model.fixed_part(), V)


def test_prior_weights(sleepstudy):
    """With weights the residual variance of row i is σ²/wᵢ."""
    data = sleepstudy.assign(w=1 + sleepstudy["Days"] / 3)
    model = lp.lmer("Reaction ~ Days + (1|Subject)", data, weights="w")
    J = _dummies(data["Subject"])
    V = model.VarCorr().blocks[0].cov[0, 0] * J @ J.T + np.diag(model.sigma**2 / data["w"])
    _check_moments(model.simulate(NSIM, seed=5).to_numpy(), model.fixed_part(), V)


def test_conditional_on_modes(sleep_fit):
    sims = sleep_fit.simulate(NSIM, seed=3, use_u=True).to_numpy()
    _check_moments(sims, sleep_fit.fitted(), sleep_fit.sigma**2 * np.eye(180))


def test_lm(sleepstudy):
    ols = lp.lm("Reaction ~ Days", sleepstudy)
    sims = ols.simulate(NSIM, seed=4).to_numpy()
    _check_moments(sims, ols.fitted(), ols.sigma**2 * np.eye(180))


def test_seed_reproduces(sleep_fit):
    a = sleep_fit.simulate(3, seed=11)
    pd.testing.assert_frame_equal(a, sleep_fit.simulate(3, seed=11))
    assert not a.equals(sleep_fit.simulate(3, seed=12))
    # the population form is lme4's default
    pd.testing.assert_frame_equal(a, sleep_fit.simulate(3, seed=11, re_form="~0"))


def test_bad_arguments(sleep_fit):
    with pytest.raises(ArgumentTypeError, match="nsim"):
        sleep_fit.simulate(0)
    with pytest.raises(ArgumentTypeError, match="re_form"):
        sleep_fit.simulate(re_form="~(1|Subject)")
    with pytest.raises(ArgumentTypeError, match="only one"):
        sleep_fit.simulate(use_u=True, re_form="~0")
