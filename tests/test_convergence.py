"""Convergence and singularity are reported in lme4's words."""
import json
from pathlib import Path
import warnings

import numpy as np
import pytest

import lmmplot as lp
from lmmplot.errors import ConvergenceWarning
from lmmplot.model import check_convergence


CHECKS = json.loads((Path(__file__).parent / "fixtures" / "checkconv_reference.json").read_text())


@pytest.mark.parametrize("name", list(CHECKS))
def test_convergence_checks_are_lme4s(name):
    """Codes and messages as lme4:::checkConv gives them for the same θ, gradient and Hessian."""
    x = CHECKS[name]
    lower = np.array([-np.inf if v is None or v == "-Inf" else v for v in x["lower"]], float)
    codes, messages = check_convergence(np.array(x["theta"]), lower, np.array(x["gradient"]),
                                        np.array(x["hessian"], ndmin=2))
    expected = x["code"] if isinstance(x["code"], list) else [] if x["code"] is None else [x["code"]]
    assert codes == expected
    assert messages == x["messages"]


def test_a_converged_fit_is_silent_and_reaches_zero_gradient(sleepstudy):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", sleepstudy)
    assert m.messages == []
    from lmmplot.numderiv import jacobian

    grad = jacobian(lambda theta: np.array([m.objective(theta)]), m.theta)  # Richardson-extrapolated
    assert np.abs(grad).max() < 1e-4


def test_singular_fit_warns_and_says_so():
    dragons = lp.load_dataset("dragons")
    with pytest.warns(ConvergenceWarning, match=r"boundary \(singular\) fit: see help\('isSingular'\)"):
        m = lp.lmer("intelligence ~ wingspan*scales + (1 + wingspan*scales|mountain)", dragons)
    assert m.isSingular()


def test_variance_at_zero_is_exactly_zero():
    dyestuff2 = lp.lmer("Yield ~ 1 + (1|Batch)", __import__("pandas").read_csv(
        __import__("pathlib").Path(__file__).parent / "fixtures" / "heldout" / "data" / "dyestuff2.csv"))
    assert dyestuff2.theta[0] == 0.0
    assert lp.tidy(dyestuff2, effects="ran_pars")["estimate"].iloc[0] == 0.0
