"""lme4's glmer summary(), character for character, from the reference's numbers.

``ReferenceFit`` carries each case's lme4 estimates (tests/fixtures/glmer_reference.json, made
by glmer_reference.R with lme4 1.1-31), and the held-out cases' (tests/fixtures/glmer_heldout/)
whose printed fit is lme4's best, through the accessors the printout reads, so the text must be
R's exactly; the fitted models are compared in test_glmer_reference.py.
"""
import numpy as np
import pandas as pd
import pytest

from lmmplot.glmm.display import GlmerSummary
from lmmplot.glmm.family import negative_binomial, resolve
from glmer_cases import CASES, HELDOUT, REFERENCE, family_of

from lmmplot.varcorr import VarCorr, VarCorrBlock

# the summary printed is of lme4's default fit (where another optimizer went lower, the
# reference's numbers are that fit's); the scaled residuals need all the rows (the reference
# keeps the first 1000)
PRINTED = REFERENCE + [cid for cid in HELDOUT if CASES[cid]["optimizer"].startswith("default")
                       and CASES[cid]["nobs"] <= len(CASES[cid]["residuals_pearson"])]


def r_lines(text):
    """R's printout with its curly quotes as lmmplot's straight ones."""
    return text.replace("\u2018", "'").replace("\u2019", "'").split("\n")


def varcorr_from(rows, residual, sigma):
    blocks = {}
    for row in rows:
        if row["grp"] == "Residual":
            continue
        blocks.setdefault(row["grp"], []).append(row)
    out = []
    for group, entries in blocks.items():
        effects = [e["var1"] for e in entries if e["var2"] is None]
        cov = np.zeros((len(effects), len(effects)))
        for e in entries:
            i = effects.index(e["var1"])
            j = i if e["var2"] is None else effects.index(e["var2"])
            cov[i, j] = cov[j, i] = e["vcov"]
        out.append(VarCorrBlock(group, effects, cov))
    return VarCorr(out, sigma, residual)


class _Formula:
    def __init__(self, text):
        self.text = text


class ReferenceFit:
    """lme4's numbers for one case behind the accessors GlmerSummary reads."""

    optimizer, conv_opt, opt_message, opt_warnings = "Nelder_Mead", 0, "", ()  # glmer's last stage

    def __init__(self, case):
        if case["family"] == "negbin":
            self.family = negative_binomial(case["nb_theta"], link=case["link"])
        else:
            self.family = resolve(family_of(case))
        self.nAGQ = case["nAGQ"]
        self.formula = _Formula(case["r_formula"])
        self.data = pd.DataFrame()
        self.data.attrs["name"] = case["data"]
        self._case = case
        self.df_residual = case["df_residual"]
        self.sigma = case["glance"]["sigma"]
        self.nobs = case["nobs"]
        self.ngrps = case["ngrps"]
        self.beta = np.array([row["estimate"] for row in case["fixef"]])
        self.coef_names = [row["term"] for row in case["fixef"]]
        self.messages = [m.rstrip("\n") for m in case["messages"]]  # as lmmplot warns them
        self.weights_label = case["weights"]

    def logLik(self):
        return self._case["logLik"]

    def AIC(self):
        return self._case["AIC"]

    def BIC(self):
        return self._case["BIC"]

    def vcov(self):
        return pd.DataFrame(self._case["vcov_beta"], index=self.coef_names, columns=self.coef_names)

    def residuals(self, type="deviance"):
        return np.array(self._case[f"residuals_{type}"])

    def VarCorr(self):
        return varcorr_from(self._case["varcorr"], self.family.has_dispersion, self.sigma)


@pytest.mark.parametrize("cid", PRINTED)
def test_summary_is_lme4s_at_its_estimates(cid):
    case = CASES[cid]
    ours = GlmerSummary(ReferenceFit(case)).lines()
    theirs = r_lines(case["summary_text"])
    assert ours == theirs


def test_summary_coefficients_are_wald_z_tests():
    case = CASES["cbpp_binomial"]
    table = GlmerSummary(ReferenceFit(case)).coefficients
    for row, ref in zip(table.itertuples(), case["fixef"]):
        assert row.term == ref["term"]
        assert row.statistic == pytest.approx(ref["z"], rel=1e-12)
        assert row._5 == pytest.approx(ref["p"], rel=1e-9)


def test_summary_html_has_the_tables():
    page = GlmerSummary(ReferenceFit(CASES["sleep_binary_slopes"]))._repr_html_()
    assert "[glmerMod]" in page and "Family: binomial  ( logit )" in page
    assert "<th>z value</th>" in page and "<th>Pr(&gt;|z|)</th>" in page
    assert "Residual" not in page  # a binomial model has no residual variance
