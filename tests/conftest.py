"""Shared fixtures: lme4's stored reference and one fit per reference case."""
import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmmplot as lp

FIXTURES = Path(__file__).parent / "fixtures"


REFERENCES = [
    # the course's 29 models, and models on other classic data sets (made by heldout/export.R
    # and the same R script: lme4 1.1-31 + lmerTest + broom.mixed)
    (FIXTURES / "lme4_reference.json", None),
    (FIXTURES / "heldout" / "lme4_reference.json", FIXTURES / "heldout" / "data"),
]


def _all_cases():
    cases = {}
    for path, datadir in REFERENCES:
        for cid, case in json.loads(path.read_text())["cases"].items():
            cases[cid] = dict(case, datadir=datadir)
    return cases


@pytest.fixture(scope="session")
def reference():
    return {"cases": _all_cases(), **{k: v for k, v in json.loads(REFERENCES[0][0].read_text()).items()
                                       if k != "cases"}}


def load_case_data(case):
    if case.get("datadir"):
        data = pd.read_csv(case["datadir"] / f"{case['data']}.csv")
    else:
        data = lp.load_dataset(case["data"])
    for col in case.get("factors") or []:
        data[col] = data[col].astype(str)
    return data


class CaseFits:
    """Fits each reference case once per session, on first use."""

    def __init__(self, reference):
        self.reference = reference
        self._fits = {}

    def __getitem__(self, cid):
        if cid not in self._fits:
            case = self.reference["cases"][cid]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = lp.lmer(case["py_formula"], load_case_data(case), REML=case["reml"])
            self._fits[cid] = (model, [str(w.message) for w in caught])
        return self._fits[cid]


@pytest.fixture(scope="session")
def fits(reference):
    return CaseFits(reference)


def _at_theta(model, theta):
    """A copy of ``model`` evaluated at another θ (lme4's, say): what follows from θ alone
    can then be compared with lme4's values to rounding error, free of optimizer noise."""
    other = copy.deepcopy(model)
    other._set_theta(np.atleast_1d(np.asarray(theta, float)))
    return other


@pytest.fixture(scope="session")
def at_theta():
    """``at_theta(model, theta)``: a copy of the model evaluated at ``theta``."""
    return _at_theta


@pytest.fixture(scope="session")
def sleepstudy():
    return lp.load_dataset("sleepstudy")


def pytest_generate_tests(metafunc):
    if "case_id" in metafunc.fixturenames:
        metafunc.parametrize("case_id", list(_all_cases()))
