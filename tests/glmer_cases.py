"""The glmer reference cases the GLMM tests compare with, and how each is fitted.

Two references made by lme4 1.1-31 and broom.mixed, in one layout: the 7 cases of
fixtures/glmer_reference.json (glmer_reference.R, data in lmmplot/data) and the held-out
cases of fixtures/glmer_heldout/ (glmer_heldout.R, its own data/: other links, quadrature,
offsets, crossed, slopes, factor and logical responses, Gamma, gaussian(log)). Each case
carries ``datadir``. ``HELDOUT_TESTED`` are the held-out cases light enough for the test
suite; ../shared/tools/check_glmer.py judges them all.
"""
import json
import warnings
from pathlib import Path

import pandas as pd

import lmmplot as lp

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
_SOURCES = ((FIXTURES / "glmer_reference.json", HERE.parent / "lmmplot" / "data"),
            (FIXTURES / "glmer_heldout" / "glmer_heldout.json", FIXTURES / "glmer_heldout" / "data"))


def _load():
    cases = {}
    for path, datadir in _SOURCES:
        for cid, case in json.loads(path.read_text())["cases"].items():
            cases[cid] = dict(case, datadir=datadir, heldout="heldout" in path.parent.name)
    return cases


CASES = _load()
REFERENCE = sorted(cid for cid, c in CASES.items() if not c["heldout"])
HELDOUT = sorted(cid for cid, c in CASES.items() if c["heldout"])
# the held-out cases fitted by the suite (each within a few seconds); the others (VerbAgg's
# 7.6k rows, Contraception's, the Owls negative binomial) are judged by check_glmer.py
HELDOUT_TESTED = ["cbpp_cauchit", "cbpp_cloglog", "cbpp_probit", "cbpp_probit_agq9", "insurance_offset",
                  "insurance_offset_agq25", "insurance_proportion_weights", "owls_poisson_slopes",
                  "sleep_gamma_log", "sleep_gaussian_log"]
SINGULAR = "boundary (singular) fit: see help('isSingular')"


def case_data(case) -> pd.DataFrame:
    """The case's data as check_glmer.py reads it (R's factors as strings), named as R's call
    names it (the summary's Data line)."""
    data = pd.read_csv(Path(case["datadir"]) / f"{case['data']}.csv")
    for col in case["factors"]:
        data[col] = data[col].astype(str)
    data.attrs["name"] = case["data"]
    return data


def family_of(case):
    """The family argument a user writes: the name for the default link, else an object."""
    default = {"binomial": "logit", "poisson": "log", "Gamma": "inverse", "gaussian": "identity"}
    if case["link"] == default[case["family"]]:
        return case["family"]
    return getattr(lp, case["family"])(link=case["link"])


def fit_case(case):
    """The case fitted as a user would; returns (model, the warnings' messages)."""
    data = case_data(case)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case["family"] == "negbin":
            model = lp.glmer_nb(case["py_formula"], data)
        else:
            model = lp.glmer(case["py_formula"], data, family=family_of(case), nAGQ=case["nAGQ"],
                             weights=case["weights"])  # a column's name, as R's call gives it
    return model, [str(w.message) for w in caught]
