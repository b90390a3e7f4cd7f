"""Shared fixtures: lme4's stored reference and one fit per reference case."""
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import lmmplot as lp

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def reference():
    return json.loads((FIXTURES / "lme4_reference.json").read_text())


def load_case_data(case):
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


@pytest.fixture(scope="session")
def sleepstudy():
    return lp.load_dataset("sleepstudy")


def pytest_generate_tests(metafunc):
    if "case_id" in metafunc.fixturenames:
        ids = list(json.loads((FIXTURES / "lme4_reference.json").read_text())["cases"])
        metafunc.parametrize("case_id", ids)
