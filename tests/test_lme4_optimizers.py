"""``control=lp.lmerControl(...)``: lme4's own optimizer path, stopping point and codes, for
nloptwrap (lme4's default) and lme4's Nelder_Mead.

Reference: tests/fixtures/optimizers_reference.R records every θ lme4's optimizeLmer asks for
(after nloptr's two checks of the start), where it stops, @optinfo's codes and messages.
The two criteria agree to about 1e-10 relative, not bit for bit: Nelder-Mead follows lme4 to
the last step all the same; BOBYQA takes the same steps
until such a difference tips one of its choices, and on a flat surface (dragons) the paths
then part.
"""
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import lmmplot as lp
from lmmplot.errors import ArgumentTypeError, ConvergenceWarning
from lmmplot.model import LinearMixedModel
from lmmplot.optimize import nelder_mead, nloptwrap

R = json.loads((Path(__file__).parent / "fixtures" / "optimizers_reference.json").read_text())
# evaluations that follow lme4's path to 1e-7 before rounding differences tip a step
SAME_STEPS = {"sleep_int": 13, "sleep_slope": 43, "sleep_slope_ml": 53, "dragons": 45,
              "politeness": 28, "planking_uncorr": 35, "solutions_slope": 65}
# BOBYQA's path parts from lme4's on a flat ridge (dragons) or late in six dimensions
# (solutions_slope), from the criteria's last digits alone (tested below with lme4's own values):
# the stopping points are compared at the check's tolerance or by the criterion
FLAT = {"dragons", "solutions_slope"}
OPTIMIZERS = ("nloptwrap", "Nelder_Mead")
CASES = [(cid, o) for cid in R for o in OPTIMIZERS if not (o == "nloptwrap" and cid in FLAT)]


def model(cid):
    mod = R[cid]
    return LinearMixedModel(mod["formula"], lp.load_dataset(mod["data"]), REML=mod["reml"])


@pytest.fixture(scope="module")
def fits():
    out = {}
    for cid, mod in R.items():
        for optimizer in OPTIMIZERS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[cid, optimizer] = lp.lmer(mod["formula"], lp.load_dataset(mod["data"]), REML=mod["reml"],
                                              control=lp.lmerControl(optimizer=optimizer))
    return out


def recorded(m):
    path = []

    def fun(theta):
        value = m.objective(theta)
        path.append(np.r_[theta, value])
        return value
    return fun, path


@pytest.mark.parametrize("cid", list(R))
def test_nloptwrap_takes_lme4s_steps_from_lme4s_start(cid):
    m = model(cid)
    fun, path = recorded(m)
    nloptwrap(fun, m._lme4_start(), m.theta_lower, {})
    theirs = np.array(R[cid]["fits"]["nloptwrap"]["path"], ndmin=2)[2:]  # nloptr checks the start twice
    k = SAME_STEPS[cid]
    ours = np.array(path)
    assert len(ours) >= k
    np.testing.assert_allclose(ours[:k, :-1], theirs[:k, :-1], atol=1e-7)
    np.testing.assert_allclose(ours[:k, -1], theirs[:k, -1], rtol=1e-9)


@pytest.mark.parametrize("cid", list(R))
def test_nelder_mead_takes_every_step_of_lme4s(cid):
    """lme4's Nelder-Mead compares values only where they differ by more than rounding:
    the whole path is lme4's, to the last evaluation."""
    m = model(cid)
    fun, path = recorded(m)
    theta, value, feval, conv, message = nelder_mead(fun, m._lme4_start(), m.theta_lower, {})
    ref = R[cid]["fits"]["Nelder_Mead"]
    theirs = np.array(ref["path"], ndmin=2)[:feval]
    assert feval == ref["feval"] and len(theirs) == feval
    np.testing.assert_allclose(np.array(path)[:, :-1], theirs[:, :-1], atol=1e-10)
    assert (conv, message) == (ref["conv_opt"], ref["message"])


@pytest.mark.parametrize("cid, optimizer", CASES)
def test_stops_where_lme4_stops(fits, cid, optimizer):
    m, ref = fits[cid, optimizer], R[cid]["fits"][optimizer]
    if optimizer == "Nelder_Mead" or SAME_STEPS[cid] == ref["feval"]:  # the whole path is lme4's
        assert m.optim.feval == ref["feval"]
    np.testing.assert_allclose(m.theta, ref["theta"], atol=1e-4)
    objective = m.REMLcrit() if m.REML else m.deviance()
    assert objective == pytest.approx(ref["objective"], rel=1e-9)
    assert m.conv_opt == ref["conv_opt"] and m.opt_message == ref["message"]
    assert m.opt_warnings == ref["warnings"]


EXACT = json.loads((Path(__file__).parent / "fixtures" / "nloptwrap_exact_path.json").read_text())


@pytest.mark.parametrize("cid", list(EXACT))
def test_nloptwrap_parts_from_lme4_only_by_the_criterions_rounding(cid):
    """Fed lme4's own criterion values (to 17 digits), the optimizer asks for lme4's θ bit for
    bit at every evaluation and stops where lme4 stops: the paths part on these models because
    the two criteria differ in their last digits (about 1e-11 relative), not in the optimizer."""
    ref = EXACT[cid]
    m = LinearMixedModel(ref["formula"], lp.load_dataset(ref["data"]), REML=True)
    theirs = np.array(ref["path"], float)[2:]  # nloptr checks the start twice
    asked = []

    def fun(theta):
        asked.append(theta.copy())
        return theirs[len(asked) - 1, -1]
    theta, value, feval, conv, message = nloptwrap(fun, m._lme4_start(), m.theta_lower, {})
    assert feval == ref["feval"] == len(theirs)
    np.testing.assert_array_equal(np.array(asked), theirs[:, :-1])
    np.testing.assert_array_equal(theta, np.array(ref["par"], float))
    assert message == ref["message"]


def test_where_nloptwrap_parts_it_stops_at_lme4s_point_or_below(fits):
    """solutions_slope: lme4's stopping point at the check's tolerance (NLopt says FTOL where
    lme4's run says XTOL; the code is 0 either way). dragons: lme4 stops at a point its own check
    calls a degenerate Hessian; lmmplot's path goes on to a lower REML criterion."""
    m, ref = fits["solutions_slope", "nloptwrap"], R["solutions_slope"]["fits"]["nloptwrap"]
    np.testing.assert_allclose(m.theta, ref["theta"], rtol=0, atol=1e-4)
    assert m.REMLcrit() == pytest.approx(ref["objective"], rel=1e-9)
    assert m.conv_opt == ref["conv_opt"] == 0 and m.messages == ref["lme4_messages"]
    m, ref = fits["dragons", "nloptwrap"], R["dragons"]["fits"]["nloptwrap"]
    assert ref["lme4_code"] == [-3] and m.REMLcrit() < ref["objective"] - 0.1
    assert m.conv_opt == 0 and m.messages == []


def numbers_apart(text):
    return re.sub(r"= [0-9.e+-]+ \(", "= # (", text), [float(x) for x in re.findall(r"= ([0-9.e+-]+) \(", text)]


@pytest.mark.parametrize("cid, optimizer", CASES)
def test_lme4s_convergence_verdict(fits, cid, optimizer):
    m, ref = fits[cid, optimizer], R[cid]["fits"][optimizer]
    assert m.conv_code == ref["lme4_code"]
    assert len(m.messages) == len(ref["lme4_messages"])
    for ours, theirs in zip(m.messages, ref["lme4_messages"]):
        (text, values), (ref_text, ref_values) = numbers_apart(ours), numbers_apart(theirs)
        assert text == ref_text
        # a finite-difference gradient of criteria that agree to 1e-10: four digits in common
        np.testing.assert_allclose(values, ref_values, rtol=1e-3)


def test_lme4s_complaint_is_warned_and_printed(sleepstudy):
    planking = lp.load_dataset("planking")
    with pytest.warns(ConvergenceWarning, match=r"Model failed to converge with max\|grad\| = 0\.0022"):
        m = lp.lmer("plank_time ~ week + (1 + week||subject)", planking, control=lp.lmerControl())
    text = str(m.summary()).splitlines()
    at = text.index("optimizer (nloptwrap) convergence code: 0 (OK)")
    assert text[at + 1].startswith("Model failed to converge with max|grad| = 0.0022")
    assert repr(m).splitlines()[-1].startswith(
        "optimizer (nloptwrap) convergence code: 0 (OK) ; 0 optimizer warnings; 1 lme4 warnings")


def test_the_default_still_searches_for_the_best_optimum():
    """lme4's nloptwrap stops short on planking_uncorr; without control lmmplot does not."""
    planking = lp.load_dataset("planking")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        best = lp.lmer("plank_time ~ week + (1 + week||subject)", planking)
    assert best.messages == []
    assert best.REMLcrit() <= R["planking_uncorr"]["fits"]["nloptwrap"]["objective"]


def test_lme4_start_for_scalar_terms():
    """mkLmerDevfun's start: sqrt(var(ave(y, g)) / (var(y) - Σ var(ave(y, g))))."""
    for cid in ("sleep_int", "politeness"):
        first = np.array(R[cid]["fits"]["nloptwrap"]["path"], ndmin=2)[0, :-1]
        np.testing.assert_allclose(model(cid)._lme4_start(), first, rtol=1e-12)


def test_unknown_optimizer_is_refused():
    with pytest.raises(ArgumentTypeError, match="optimizer must be one of"):
        lp.lmerControl(optimizer="nlminbwrap")
    with pytest.raises(ArgumentTypeError, match="control must be an lmerControl"):
        lp.lmer("Reaction ~ Days + (1|Subject)", lp.load_dataset("sleepstudy"), control={"optimizer": "bobyqa"})
