"""PIRLS's compiled family functions agree with the families' own (R's, with R's guards)."""
import numpy as np
import pytest

from lmmplot.glmm import family as fam
from lmmplot.glmm import kernels
from lmmplot.glmm.pirls import _codes

ETA = {  # linear predictors inside each link's domain, out to the clamps
    "logit": np.linspace(-40, 40, 81), "probit": np.linspace(-12, 12, 49),
    "cauchit": np.concatenate([np.linspace(-1e17, -1e15, 3), np.linspace(-5, 5, 41), [1e15, 1e17]]),
    "cloglog": np.linspace(-40, 5, 46), "log": np.linspace(-800, 20, 83),
    "identity": np.linspace(0.05, 0.95, 19), "inverse": np.linspace(0.2, 5, 25),
    "sqrt": np.linspace(0.1, 4, 40), "1/mu^2": np.linspace(0.1, 4, 40),
}
FAMILIES = [fam.binomial(link) for link in fam.binomial.links]
FAMILIES += [fam.poisson(link) for link in fam.poisson.links]
FAMILIES += [fam.Gamma(link) for link in fam.Gamma.links]
FAMILIES += [fam.gaussian(link) for link in fam.gaussian.links]
FAMILIES += [fam.negative_binomial(2.5, link) for link in fam.negative_binomial.links]


def _response(f, n, rng):
    if isinstance(f, fam.binomial):
        return rng.choice([0.0, 0.25, 1.0], n)
    if isinstance(f, (fam.poisson, fam.negative_binomial)):
        return rng.choice([0.0, 1.0, 7.0], n)
    return rng.uniform(0.5, 3.0, n)


@pytest.mark.parametrize("f", FAMILIES, ids=lambda f: f"{type(f).__name__}-{f.link}")
def test_kernel_family_values_match_the_family(f):
    rng = np.random.default_rng(1)
    eta = ETA[f.link]
    mu = f.linkinv(eta)
    if isinstance(f, fam.binomial):
        keep = (mu > 0) & (mu < 1)
        eta, mu = eta[keep], mu[keep]
    y, wt = _response(f, eta.size, rng), rng.uniform(0.5, 2.0, eta.size)
    got = kernels.family_values(*_codes(f), eta, y, wt)
    np.testing.assert_allclose(got[0], mu, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got[1], f.mu_eta(eta), rtol=1e-12, atol=0)
    np.testing.assert_allclose(got[2], f.variance(mu), rtol=1e-12, atol=0)
    np.testing.assert_allclose(got[3], f.dev_resids(y, mu, wt), rtol=1e-12, atol=1e-300)
    mu_eta = f.mu_eta(eta)
    np.testing.assert_allclose(got[4], wt * mu_eta**2 / f.variance(mu), rtol=1e-12, atol=0)
    np.testing.assert_allclose(got[5], eta + (y - mu) / mu_eta, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("f", [fam.binomial(), fam.poisson(), fam.negative_binomial(1.7)],
                         ids=lambda f: type(f).__name__)
def test_loglik_constant_is_aic_minus_deviance_at_any_mean(f):
    rng = np.random.default_rng(2)
    if isinstance(f, fam.binomial):
        wt = rng.integers(1, 9, 30).astype(float)
        y = rng.integers(0, 9, 30) % (wt + 1) / wt
        mu = rng.uniform(0.05, 0.95, 30)
    else:
        wt, y, mu = np.ones(30), rng.integers(0, 12, 30).astype(float), rng.uniform(0.3, 9, 30)
    const = f.loglik_constant(y, wt)
    dev = np.sum(f.dev_resids(y, mu, wt))
    assert f.aic(y, None, mu, wt, dev) == pytest.approx(dev + const, rel=1e-12)


def test_no_loglik_constant_for_non_integer_binomial_counts():
    assert fam.binomial().loglik_constant(np.array([0.3, 0.5]), np.ones(2)) is None
    assert fam.Gamma().loglik_constant(np.array([0.3, 0.5]), np.ones(2)) is None
