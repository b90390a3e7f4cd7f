"""``lmerControl(optimizer="bobyqa")``: minqa's Powell BOBYQA, point for point.

References: tests/fixtures/minqa_reference.R runs minqa::bobyqa itself on polynomial test
functions (which R and numpy compute alike) with bounds of every kind, and two lmer fits with
minqa settings; tests/fixtures/optimizers_reference.R records lme4's bobyqa path on seven
models. The arithmetic is Powell's, in numpy's summation order rather than Fortran's: the
paths agree to the last bit for the first steps, then the ulp-level differences grow where
the surface amplifies them (Rosenbrock's valley), so paths are compared over the evaluations
that agree to 1e-9 and the stopping points at the precision the optimizer reaches.
"""
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import lmmplot as lp
from lmmplot.errors import ConvergenceWarning
from lmmplot.minqa import bobyqa
from lmmplot.model import LinearMixedModel
from lmmplot.optimize import minqa_bobyqa

FIXTURES = Path(__file__).parent / "fixtures"
MINQA = json.loads((FIXTURES / "minqa_reference.json").read_text())
LME4 = json.loads((FIXTURES / "optimizers_reference.json").read_text())


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def quartic(x):
    return np.sum((x - np.arange(1, x.size + 1) / 4) ** 4) + np.sum(x) ** 2 + x[0] * x[-1]


def quadratic(x):
    return np.sum(np.arange(1, x.size + 1) * x ** 2) - np.sum(x) + 0.5 * x[0] * x[1]


FUNCTIONS = {"rosenbrock": rosenbrock, "quartic": quartic, "quadratic": quadratic}
# evaluations that agree with minqa's to 1e-11 (compared at 1e-9: room for another machine's
# rounding); the whole path where the value equals feval
SAME_POINTS = {"rosen2": 35, "rosen3_bounded": 70, "rosen3_npt7": 45, "quartic4_start_on_bound": 60,
               "quartic4_npt15": 58, "quadratic5_lower_only": 42, "quadratic3_maxfun": 12}
MINQA_CODES = {0: 0, 390: 1}  # Powell's IERR -> minqa's code


def bound(values):
    return np.array([{"Inf": np.inf, "-Inf": -np.inf}.get(v, v) for v in values], float)


@pytest.fixture(scope="module")
def direct():
    out = {}
    for cid, case in MINQA["cases"].items():
        par = np.array(case["par"], float)
        n, settings = par.size, case["control"] or {}
        npt = int(max(n + 2, min(settings.get("npt", min(n + 2, 2 * n)), (n + 1) * (n + 2) // 2)))
        rhobeg = settings.get("rhobeg", min(0.95, 0.2 * np.max(np.abs(par))))
        path = []

        def fun(x, f=FUNCTIONS[case["f"]]):
            value = f(x)
            path.append(np.r_[x, value])
            return value
        x, nf, ierr = bobyqa(fun, par, bound(case["lower"]), bound(case["upper"]), rhobeg,
                             settings.get("rhoend", 1e-6 * rhobeg), npt, settings.get("maxfun", 10000))
        out[cid] = x, nf, ierr, np.array(path)
    return out


@pytest.mark.parametrize("cid", list(MINQA["cases"]))
def test_evaluates_minqas_points(direct, cid):
    ref = MINQA["cases"][cid]
    x, nf, ierr, path = direct[cid]
    theirs, k = np.array(ref["path"]), SAME_POINTS[cid]
    np.testing.assert_allclose(path[:k, :-1], theirs[:k, :-1], rtol=0, atol=1e-9)
    if k == ref["feval"]:
        assert nf == ref["feval"]


@pytest.mark.parametrize("cid", list(MINQA["cases"]))
def test_stops_where_minqa_stops(direct, cid):
    ref = MINQA["cases"][cid]
    x, nf, ierr, path = direct[cid]
    assert MINQA_CODES[ierr] == ref["ierr"]
    np.testing.assert_allclose(x, ref["result"], rtol=0, atol=1e-6)
    assert FUNCTIONS[ref["f"]](x) == pytest.approx(ref["fval"], rel=1e-9, abs=1e-12)
    assert np.all(x >= bound(ref["lower"])) and np.all(x <= bound(ref["upper"]))


# lme4's models: evaluations that follow lme4's path to 1e-9 (compared at 1e-7; the criteria
# agree to ~1e-11, and near the optimum, where the surface is flat, that decides BOBYQA's later
# choices); on three models the whole path is lme4's to 1e-7, to the same stopping count
SAME_STEPS = {"sleep_int": 17, "sleep_slope_ml": 56, "dragons": 30, "solutions_slope": 70}
WHOLE_PATH = {"sleep_slope", "politeness", "planking_uncorr"}


def model(cid):
    mod = LME4[cid]
    return LinearMixedModel(mod["formula"], lp.load_dataset(mod["data"]), REML=mod["reml"])


@pytest.mark.parametrize("cid", list(LME4))
def test_takes_lme4s_steps(cid):
    m = model(cid)
    path = []

    def fun(theta):
        value = m.objective(theta)
        path.append(np.r_[theta, value])
        return value
    minqa_bobyqa(fun, m._lme4_start(), m.theta_lower, {})
    ref = LME4[cid]["fits"]["bobyqa"]
    theirs = np.array(ref["path"], ndmin=2)[1:]  # minqa checks the start first
    k = ref["feval"] if cid in WHOLE_PATH else SAME_STEPS[cid]
    ours = np.array(path)
    np.testing.assert_allclose(ours[:k, :-1], theirs[:k, :-1], rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours[:k, -1], theirs[:k, -1], rtol=1e-9)


def test_with_lme4s_values_the_path_is_lme4s_to_the_end():
    """Where the paths part on dragons, they part because the two criteria differ in their
    last digits: fed lme4's own values, lmmplot's BOBYQA takes all 51 of lme4's steps."""
    m, ref = model("dragons"), LME4["dragons"]["fits"]["bobyqa"]
    theirs = np.array(ref["path"])[1:1 + ref["feval"]]
    path = []

    def fun(theta):
        i = len(path)
        on_path = i < len(theirs) and np.max(np.abs(theirs[i, :-1] - theta)) < 1e-6
        path.append(theta)
        return theirs[i, -1] if on_path else m.objective(theta)
    theta, value, feval, conv, message = minqa_bobyqa(fun, m._lme4_start(), m.theta_lower, {})
    assert feval == ref["feval"] == 51
    np.testing.assert_allclose(np.array(path)[:feval], theirs[:, :-1], rtol=0, atol=1e-7)


@pytest.fixture(scope="module")
def fits():
    out = {}
    for cid, mod in LME4.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[cid] = lp.lmer(mod["formula"], lp.load_dataset(mod["data"]), REML=mod["reml"],
                               control=lp.lmerControl(optimizer="bobyqa"))
    return out


@pytest.mark.parametrize("cid", list(LME4))
def test_lmer_stops_where_lme4_stops(fits, cid):
    m, ref = fits[cid], LME4[cid]["fits"]["bobyqa"]
    if cid in WHOLE_PATH:
        assert m.optim.feval == ref["feval"]
    np.testing.assert_allclose(m.theta, ref["theta"], rtol=0, atol=1e-4)
    objective = m.REMLcrit() if m.REML else m.deviance()
    assert objective == pytest.approx(ref["objective"], rel=1e-9)
    assert (m.optimizer, m.conv_opt, m.opt_message) == ("bobyqa", ref["conv_opt"], ref["message"])
    assert m.opt_warnings == ref["warnings"]
    assert m.messages == ref["lme4_messages"]


@pytest.mark.parametrize("case", list(MINQA["lmer"]))
def test_minqa_settings_codes_and_warnings(case):
    """optCtrl goes to minqa; at maxfun lme4's code 1, minqa's message and warning, lme4's checkConv."""
    ref = MINQA["lmer"][case]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        m = lp.lmer("Reaction ~ Days + (1 + Days|Subject)", lp.load_dataset("sleepstudy"),
                    control=lp.lmerControl(optimizer="bobyqa", optCtrl=ref["optCtrl"]))
    np.testing.assert_allclose(m.theta, ref["theta"], rtol=0, atol=1e-6)
    assert m.REMLcrit() == pytest.approx(ref["objective"], rel=1e-10)
    assert (m.conv_opt, m.opt_message, m.opt_warnings) == (ref["conv_opt"], ref["message"], ref["warnings"])
    assert len(m.messages) == len(ref["lme4_messages"])
    for ours, theirs in zip(m.messages, ref["lme4_messages"]):
        pattern = r"[0-9]+\.[0-9]+"
        assert re.sub(pattern, "#", ours) == re.sub(pattern, "#", theirs)
        np.testing.assert_allclose([float(v) for v in re.findall(pattern, ours)],
                                   [float(v) for v in re.findall(pattern, theirs)], rtol=1e-3)
    if ref["conv_opt"]:
        assert m.optim.feval == ref["feval"]
        assert [str(w.message) for w in said if w.category is ConvergenceWarning] == ref["warnings"] + [
            f"convergence code {ref['conv_opt']} from bobyqa: {ref['message']}"] + ref["lme4_messages"]
        assert f"optimizer (bobyqa) convergence code: 1 ({ref['message']})" in str(m.summary())
