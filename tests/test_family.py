"""The GLM families against R's family objects evaluated at the same points (glm_families.R)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot.errors import DataError, FamilyError, LmmplotWarning
from lmmplot.glmm.family import LINKS, resolve

REF = json.loads((Path(__file__).parent / "fixtures" / "glm_families.json").read_text())
FAMILY_CASES = [k for k, v in REF.items() if "dev_resids" in v and k != "inverse_squared"]


def _num(values):
    """R's numbers from JSON, where jsonlite writes infinities as "Inf"/"-Inf"."""
    return np.array([float(v) for v in values])


def _family(case):
    name, link = case["family"], case["link"]
    if name.startswith("Negative Binomial"):
        theta = {"nb_log": 2.37, "nb_sqrt": 0.8}[next(k for k, v in REF.items() if v is case)]
        return lp.negative_binomial(theta, link=link)
    return {"binomial": lp.binomial, "poisson": lp.poisson, "Gamma": lp.Gamma,
            "gaussian": lp.gaussian}[name](link=link)


@pytest.mark.parametrize("key", [*FAMILY_CASES, "inverse_squared"])
def test_link_functions_match_r(key):
    case = REF[key]
    link = LINKS[case["link"]]
    np.testing.assert_allclose(link.linkfun(case["mu"]), case["linkfun"], rtol=1e-13)
    np.testing.assert_allclose(link.linkinv(case["eta"]), _num(case["linkinv"]), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(link.mu_eta(case["eta"]), _num(case["mu_eta"]), rtol=1e-12, atol=1e-300)
    assert link.valideta(case["eta"]) == case["valideta"]


@pytest.mark.parametrize("key", FAMILY_CASES)
def test_family_functions_match_r(key):
    case = REF[key]
    fam = _family(case)
    assert (fam.family, fam.link) == (case["family"], case["link"])
    np.testing.assert_allclose(fam.variance(case["mu"]), case["variance"], rtol=1e-13)
    assert fam.validmu(case["mu"]) == case["validmu"]
    dev = fam.dev_resids(case["y"], case["mu_dev"], case["wt"])
    np.testing.assert_allclose(dev, case["dev_resids"], rtol=1e-12, atol=1e-15)
    y, w, mustart = fam.initialize(np.array(case["y"]), np.array(case["wt"]))
    np.testing.assert_allclose(y, case["init_y"], rtol=1e-14)
    np.testing.assert_allclose(w, case["init_weights"], rtol=1e-14)
    np.testing.assert_allclose(mustart, case["init_mustart"], rtol=1e-14)
    aic = fam.aic(y, None, case["mu_dev"], w, float(np.sum(dev)))
    assert aic == pytest.approx(case["aic"], rel=1e-12)


def test_binomial_takes_cbind_successes_failures():
    case = REF["binomial_cbind"]
    counts = np.column_stack([case["successes"], case["failures"]])
    fam = lp.binomial()
    y, w, mustart = fam.initialize(counts)
    np.testing.assert_allclose(y, case["y"])
    np.testing.assert_allclose(w, case["weights"])
    np.testing.assert_allclose(mustart, case["mustart"])
    assert fam.aic(y, case["n"], [0.6, 0.2, 0.8, 0.5], w) == pytest.approx(case["aic"], rel=1e-12)
    same, _, _ = fam.initialize(pd.DataFrame(counts))
    np.testing.assert_array_equal(same, y)


def test_binomial_factor_first_level_is_failure():
    case = REF["binomial_factor"]
    y = pd.Series(pd.Categorical(case["values"], categories=case["levels"]))
    np.testing.assert_array_equal(lp.binomial().initialize(y)[0], case["y"])
    logical = lp.binomial().initialize(np.array([True, False, True]))
    np.testing.assert_array_equal(logical[0], REF["binomial_logical"]["y"])


def test_binomial_strings_are_a_factor_with_sorted_levels():
    y, _, _ = lp.binomial().initialize(pd.Series(["Y", "N", "N", "Y"]))
    np.testing.assert_array_equal(y, [1, 0, 0, 1])


@pytest.mark.parametrize("theta", range(5))
def test_negative_binomial_name_as_r_prints_it(theta):
    case = REF["nb_family_names"]
    assert lp.negative_binomial(case["theta"][theta]).family == case["names"][theta]


def test_resolve_names_and_objects():
    assert resolve("binomial") == lp.binomial()
    assert resolve("Gamma").link == "inverse"
    probit = lp.binomial(link="probit")
    assert resolve(probit) is probit
    assert resolve(lp.poisson) == lp.poisson()
    assert lp.gaussian().has_dispersion and lp.Gamma().has_dispersion
    assert not lp.binomial().has_dispersion and not lp.negative_binomial(1).has_dispersion


def test_unknown_family_and_link_are_named():
    with pytest.raises(FamilyError, match="'quasibinomial'"):
        resolve("quasibinomial")
    with pytest.raises(FamilyError, match="did you mean 'Gamma'"):
        resolve("gamma")
    with pytest.raises(FamilyError, match="'identity' not available for the binomial family"):
        lp.binomial(link="identity")
    with pytest.raises(FamilyError, match="'logit'"):
        lp.poisson(link="logit")


def test_bad_responses_are_named():
    with pytest.raises(DataError, match="'cases'.*value 2"):
        lp.binomial().initialize(np.array([0, 1, 2]), name="cases")
    with pytest.raises(DataError, match="Poisson.*'count' has 1 negative"):
        lp.poisson().initialize(np.array([0, 3, -1]), name="count")
    with pytest.raises(DataError, match="negative binomial"):
        lp.negative_binomial(2).initialize(np.array([-2, 3]))
    with pytest.raises(DataError, match="Gamma"):
        lp.Gamma().initialize(np.array([0.0, 3]))
    with pytest.raises(DataError, match="not numeric"):
        lp.poisson().initialize(np.array(["a", "b"]), name="count")
    with pytest.warns(LmmplotWarning, match="non-integer #successes"):
        lp.binomial().initialize(np.array([0.5, 1.0]))


@pytest.mark.parametrize("family, mu, weights, variance", [
    (lp.binomial(), 0.3, 5, 0.3 * 0.7 / 5),
    (lp.poisson(), 4.0, 1, 4.0),
    (lp.negative_binomial(2.5), 4.0, 1, 4.0 + 16 / 2.5),
    (lp.Gamma(), 3.0, 2, 9.0 * 0.5 / 2),  # dispersion 0.5
    (lp.gaussian(), 3.0, 2, 0.5 / 2),
])
def test_simulated_responses_have_the_family_moments(family, mu, weights, variance):
    rng = np.random.default_rng(1)
    n = 200_000
    y = family.simulate(np.full(n, mu), np.full(n, weights), rng, dispersion=0.5)
    se_mean = np.sqrt(variance / n)
    assert abs(y.mean() - mu) < 5 * se_mean
    assert y.var() == pytest.approx(variance, rel=0.03)


def test_binomial_simulation_needs_integer_weights():
    with pytest.raises(DataError, match="non-integer prior weights"):
        lp.binomial().simulate(np.array([0.5]), np.array([2.5]), np.random.default_rng(0))
