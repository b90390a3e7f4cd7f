"""Convergence and singularity are reported in lme4's words."""
import warnings

import numpy as np
import pytest

import lmmplot as lp
from lmmplot.errors import ConvergenceWarning
from lmmplot.model import _convergence_messages


def test_large_scaled_gradient_is_reported_as_lme4_reports_it():
    msgs = _convergence_messages(np.array([0.5, 1e-6]), np.diag([2.0, 3.0]))
    assert msgs == ["Model failed to converge with max|grad| = 0.25 (tol = 0.002, component 1)"]


def test_negative_curvature_is_reported():
    msgs = _convergence_messages(np.zeros(2), np.array([[1.0, 0.0], [0.0, -5.0]]))
    assert "unable to evaluate scaled gradient" in msgs
    assert "Model failed to converge: degenerate  Hessian with 1 negative eigenvalues" in msgs


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
    assert not m.isSingular(tol=0.0)  # the boundary is reached, not passed


def test_variance_at_zero_is_exactly_zero():
    dyestuff2 = lp.lmer("Yield ~ 1 + (1|Batch)", __import__("pandas").read_csv(
        __import__("pathlib").Path(__file__).parent / "fixtures" / "heldout" / "data" / "dyestuff2.csv"))
    assert dyestuff2.theta[0] == 0.0
    assert lp.tidy(dyestuff2, effects="ran_pars")["estimate"].iloc[0] == 0.0
