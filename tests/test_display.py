"""Printed output: lmerTest's summary(), lme4's print(m) and print(VarCorr(m)), line by line.

R's printouts come from tests/fixtures/display_reference.R (R 4.2, lme4 1.1-31, lmerTest 3.1-3),
the course chapter's from tests/fixtures/display_seed_summaries.json. At lme4's own optimum θ
the text must be R's to the character; from lmmplot's own fit, numbers may differ by optimizer
noise in their last printed digits, and nothing else may differ.
"""
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot import rformat
from lmmplot.display import Summary, _coefmat, _Legend
from lmmplot.errors import ConvergenceWarning
from printed import last_digit, number, same_words

FIXTURES = Path(__file__).parent / "fixtures"
R_OUT = json.loads((FIXTURES / "display_reference.json").read_text())
CHAPTER = json.loads((FIXTURES / "display_seed_summaries.json").read_text())["summaries"]


def normalise(lines):
    """R's curly quotes as the chapter's straight ones; lme4's optimizer names as lmmplot's."""
    out = []
    for line in lines:
        line = line.replace("\u2018", "'").replace("\u2019", "'")
        out.append(re.sub(r"^optimizer \((bobyqa|Nelder_Mead|nlminbwrap)\)", "optimizer (nloptwrap)", line))
    return out


def same_up_to_noise(ours, theirs, rel=5e-4, rel_p=1e-2, zero=0.0):
    """Same words, and numbers within ``rel`` (``rel_p`` for p-values in scientific notation)
    plus two units of the last printed digit; numbers both below ``zero`` agree."""
    def agree(x, y):
        fx, fy = number(x), number(y)
        if max(abs(fx), abs(fy)) < zero:
            return True
        tol = rel_p if "e" in y else rel
        return abs(fx - fy) <= tol * abs(fy) + 2 * last_digit(y)

    return same_words(ours, theirs, agree)


def same_up_to_fit(ours, theirs):
    """Same words; numbers as close as two fits at the same optimum print them: within 1%,
    and estimates at a boundary (below 1e-3) all agree."""
    return same_up_to_noise(ours, theirs, rel=1e-2, rel_p=5e-2, zero=1e-3)


def differing(ours, theirs):
    """Indices of the lines that differ; the two printouts must have the same length."""
    assert len(ours) == len(theirs), "\n".join(ours)
    return [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]


def fixed_effects_rows(lines):
    start = lines.index("Fixed effects:") + 2
    end = next(i for i in range(start, len(lines)) if lines[i] in ("", "---"))
    return range(start, end)


def without_call(lines):
    """The printout without its Formula / Data / Control lines (the reference's are artifacts)."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Formula:"))
    end = start + 1
    while lines[end].startswith(("    ", "   Data:", "Control:")):
        end += 1
    return lines[:start] + lines[end:]


def without_note(lines):
    """The printout without the note on hidden correlations (R writes it to stderr)."""
    if "Use Summary(model, correlation=True)  or" not in lines:
        return lines
    at = lines.index("Use Summary(model, correlation=True)  or")
    return lines[: at - 2] + lines[at + 3 :]


def at_lme4_theta(model, case, at_theta):
    """A copy of ``model`` evaluated at lme4's θ, its data named as the R script named them."""
    other = at_theta(model, case["theta"])
    other.data.attrs["name"] = case["data"]
    return other


class Fitted:
    """Each reference case as lmmplot fits it, and at lme4's θ; made once, on first use."""

    def __init__(self, fits, reference, at_theta):
        self.fits, self.cases, self._at, self.at_theta = fits, reference["cases"], {}, at_theta

    def __getitem__(self, cid):
        model = self.fits[cid][0]
        if cid not in self._at:
            self._at[cid] = at_lme4_theta(model, self.cases[cid], self.at_theta)
        return model, self._at[cid]


@pytest.fixture(scope="module")
def fitted(fits, reference, at_theta):
    return Fitted(fits, reference, at_theta)


def expect_names(model, case):
    """Printouts match only where lmmplot names the coefficients as R does: it must."""
    assert model.coef_names == [row["term"] for row in case["fixef"]]


def same_formula(case):
    """Whether the Python formula is the R one (np.log(y) is R's log(y), and prints so)."""
    def squeeze(f):
        return f.replace(" ", "").replace("**", "^")

    return squeeze(case["py_formula"]) == squeeze(case["r_formula"])


# ------------------------------------------------------------------ R's formatting rules
def test_format_matches_r():
    for case in R_OUT["format"]:
        x = np.atleast_1d(case["x"])
        expected = np.atleast_1d(case["out"]).tolist()
        assert rformat.format_num(x, case["digits"], case["nsmall"]) == expected, case


def test_round_matches_r():
    for case in R_OUT["round"]:
        ours = [rformat.r_round(v, case["digits"]) for v in case["x"]]
        assert ours == case["out"], case["digits"]


def test_format_pval_matches_r():
    for case in R_OUT["format_pval"]:
        p = np.atleast_1d(case["p"])
        assert rformat.format_pval(p, case["digits"]) == np.atleast_1d(case["out"]).tolist(), case


def test_abbreviate_matches_r():
    for case in R_OUT["abbreviate"]:
        assert rformat.abbreviate(case["names"], case["minlength"]) == case["out"], case


def test_coefficient_table_matches_printcoefmat():
    for case in R_OUT["coefmat"]:
        rows = np.atleast_1d(case["rownames"]).tolist()
        table, stars = _coefmat(np.array(case["table"], float), rows)
        ours = table.lines() + (_Legend().lines() if stars else [])
        assert ours == normalise(case["lines"]), "\n".join(case["lines"])


def test_formula_line_matches_deparse():
    for case in R_OUT["deparse"]:
        ours = rformat.cat_fill(["Formula:"] + rformat.deparse_formula(case["formula"]))
        assert ours == case["lines"], case["formula"]


def test_formula_deparse_spacing():
    assert rformat.deparse_formula("Reaction~Days+(1|Subject)") == ["Reaction ~ Days + (1 | Subject)"]
    assert rformat.deparse_formula("y ~ x*z + (1 + x||g)") == ["y ~ x * z + (1 + x || g)"]
    assert rformat.deparse_formula("y ~ a:b + (1|h/d)") == ["y ~ a:b + (1 | h/d)"]


# ------------------------------------------------------------------ the reference cases
def test_printouts_at_lme4_optimum(fitted, reference, case_id):
    """At lme4's θ every printout is R's, except Satterthwaite df (numerical derivatives)
    and the t values and p-values printed from them, within their noise."""
    _, model = fitted[case_id]
    expect_names(model, reference["cases"][case_id])
    expected = R_OUT["cases"][case_id]
    call = (lambda lines: lines) if same_formula(reference["cases"][case_id]) else without_call
    summaries = {"summary": Summary(model)}
    if "summary_kr" in expected:
        summaries["summary_kr"] = Summary(model, ddf="Kenward-Roger")
    for what, summary in summaries.items():
        ours, theirs = call(without_note(summary.lines())), call(normalise(expected[what]))
        for i in differing(ours, theirs):
            assert i in fixed_effects_rows(theirs), (what, theirs[i], ours[i])
            assert same_up_to_noise(ours[i], theirs[i]), (what, theirs[i], ours[i])
    assert call(repr(model).split("\n")) == call(normalise(expected["print"]))
    assert str(model.VarCorr()).split("\n") == expected["varcorr"]


def test_summary_matches_lme4_reference(fitted, reference, case_id):
    """lmmplot's own fit prints lmerTest's summary, numbers equal up to optimizer noise."""
    model, _ = fitted[case_id]
    expect_names(model, reference["cases"][case_id])
    ours = without_call(without_note(Summary(model).lines()))
    theirs = normalise(without_call(reference["cases"][case_id]["summary_text"].split("\n")))
    for i in differing(ours, theirs):
        assert same_up_to_fit(ours[i], theirs[i]), (theirs[i], ours[i])


# ------------------------------------------------------------------ the course chapter
@pytest.mark.parametrize("cid", ["sleep_int", "sleep_slope", "sleep_slopesonly", "irrigation"])
def test_chapter_printout_verbatim_at_lme4_optimum(fitted, cid):
    _, model = fitted[cid]
    ours = Summary(model).lines()
    assert ours[2:4] == [CHAPTER[cid]["lines"][2], "   Data: " + CHAPTER[cid]["data"]]
    assert ours == CHAPTER[cid]["lines"]


@pytest.mark.parametrize("cid", ["sleep_int", "sleep_slope", "sleep_slopesonly", "irrigation", "dragons"])
def test_chapter_printout_from_our_fit(fitted, cid):
    """The chapter's fits, made as it makes them (data from lp.load_dataset), print its text."""
    model, _ = fitted[cid]
    assert model.formula.text == CHAPTER[cid]["formula"]
    ours, theirs = Summary(model).lines(), CHAPTER[cid]["lines"]
    for i in differing(ours, theirs):
        assert same_up_to_fit(ours[i], theirs[i]), (theirs[i], ours[i])


def test_chapter_singular_fit_layout(fitted):
    """The chapter's lme4 stopped at a worse optimum of this singular fit (REML 1624.5, ours and
    today's lme4 1624.4): its words and layout are ours, the numbers are not."""
    model, _ = fitted["dragons_complex"]
    ours, theirs = Summary(model).lines(), CHAPTER["dragons_complex"]["lines"]
    assert ours[-1] == ""
    assert all(same_words(a, b) for a, b in zip(ours[:-1], theirs, strict=True))
    assert ours[-3:-1] == ["optimizer (nloptwrap) convergence code: 0 (OK)",
                           "boundary (singular) fit: see help('isSingular')"]


# ------------------------------------------------------------------ behaviours
@pytest.fixture(scope="module")
def wide():
    """R's p = 14 model (lme4 hides the fixed-effect correlations beyond 12), singular."""
    case = R_OUT["wide"]
    data = pd.DataFrame(case["data"])
    data.attrs["name"] = "wide"
    with pytest.warns(ConvergenceWarning, match="singular"):
        return lp.lmer(case["formula"], data), case


def test_many_fixed_effects_hide_their_correlations(wide):
    model, case = wide
    lines = Summary(model).lines()
    assert "Correlation matrix not shown by default, as p = 14 > 12." in lines
    assert "Correlation of Fixed Effects:" not in lines
    ours = without_note(lines)
    for i in differing(ours, normalise(case["summary"])):
        assert same_up_to_fit(ours[i], case["summary"][i]), (case["summary"][i], ours[i])
    assert not any(line.startswith("Signif. codes") for line in lines)  # no p < 0.1


def test_asked_for_correlations_print_in_column_blocks(wide):
    model, case = wide
    ours = Summary(model, correlation=True).lines()
    theirs = normalise(case["summary_correlation"])
    start = theirs.index("Correlation of Fixed Effects:")
    assert ours[start:] == theirs[start:]
    assert max(len(line) for line in ours) <= 80


def test_data_line_only_for_named_data(sleepstudy):
    named = Summary(lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy)).lines()
    assert named[2:4] == ["Formula: Reaction ~ Days + (1 | Subject)", "   Data: sleepstudy"]
    plain = pd.DataFrame(sleepstudy.to_dict("list"))
    unnamed = Summary(lp.lmer("Reaction~Days+(1|Subject)", plain)).lines()
    assert unnamed[2:4] == ["Formula: Reaction ~ Days + (1 | Subject)", ""]


def test_summary_hook_and_bad_ddf(fitted):
    model, _ = fitted["sleep_int"]
    assert str(model.summary()) == str(Summary(model))
    assert str(model.summary(ddf="Kenward-Roger")).startswith(
        "Linear mixed model fit by REML. t-tests use Kenward-Roger's method [\nlmerModLmerTest]")
    with pytest.raises(TypeError):
        Summary(model, ddf="lme4")


def test_html_shows_the_same_tables(fitted):
    _, model = fitted["sleep_slope"]
    page = model._repr_html_()
    assert page.count("<table>") == 4  # residuals, random effects, fixed effects, correlations
    for text in ("Random effects:", "Fixed effects:", "Pr(&gt;|t|)", "&lt; 2e-16", "3.26e-06",
                 "24.741", "Signif. codes:  0 &#x27;***&#x27;", "Number of obs: 180"):
        assert text in page, text
    varcorr = model.VarCorr()._repr_html_()
    assert varcorr.count("<table>") == 1 and "Variance" in varcorr and "24.7407" in varcorr
