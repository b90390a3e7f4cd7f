"""Printed output of a fitted model, laid out as lmerTest's ``summary()`` and lme4's ``print()``.

:class:`Summary` prints as ``print(summary(m))`` does in R (and shows as HTML tables in
Jupyter), :func:`model_repr` as ``print(m)``, :func:`varcorr_text` as ``print(VarCorr(m))``.
Numbers go through R's own formatting rules (:mod:`lmmplot.rformat`), so the text matches R's.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

import numpy as np

from .errors import ArgumentTypeError
from .names import RESIDUAL_GROUP
from .rformat import (
    abbreviate, cat_fill, cat_num, deparse_formula, format_num, format_pval, print_matrix,
    print_named, r_round, strwrap, zapsmall, WIDTH,
)

DIGITS = 4  # lme4's summary() and print(): max(3, getOption("digits") - 3)
VARCORR_DIGITS = 5  # lme4's print(VarCorr(m)): max(3, getOption("digits") - 2)
COR_MAX = 12  # lme4.summary.cor.max: larger fixed-effect correlations are not printed
OBJECT_CLASS = "lmerModLmerTest"
_DDF_NAMES = {"Satterthwaite": "Satterthwaite's", "Kenward-Roger": "Kenward-Roger's"}
_COEF_COLUMNS = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
_STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " "))
SIGNIF_LEGEND = "0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


def _convergence(m) -> str | None:
    """lme4's line on the optimizer's end (``.prt.warn``), where there is anything to say."""
    code = m.conv_opt
    if not (code > 0 or m.messages or m.opt_warnings):
        return None
    said = "(OK)" if code == 0 else f"({m.opt_message})"
    return f"optimizer ({m.optimizer}) convergence code: {code} {said}"


# ------------------------------------------------------------------ building blocks
@dataclass
class _Table:
    """A character matrix printed as R prints it, or as an HTML table."""

    row_names: list[str]
    col_names: list[str]
    cells: list[list[str]]
    right: bool

    def lines(self) -> list[str]:
        return print_matrix(self.cells, self.row_names, self.col_names, self.right)

    def html(self) -> str:
        """Row names as header cells, numbers right-aligned, words left-aligned."""
        named = any(self.row_names)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in [""] * named + self.col_names)
        body = "".join(
            "<tr>" + (f"<th style='text-align:left'>{html.escape(name)}</th>" if named else "")
            + "".join(_html_cell(c) for c in row) + "</tr>"
            for name, row in zip(self.row_names, self.cells)
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_cell(text: str) -> str:
    text = text.strip()
    numeric = bool(re.fullmatch(r"<? ?-?[\d.]+(e[-+]\d+)?|[*. ]*", text))
    return f"<td style='text-align:{'right' if numeric else 'left'}'>{html.escape(text)}</td>"


@dataclass
class _Named:
    """A named vector of formatted values, printed as R prints one."""

    names: list[str]
    values: list[str]
    gap: int = 1

    def lines(self) -> list[str]:
        return print_named(self.values, self.names, self.gap)

    def html(self) -> str:
        return _Table([""], self.names, [self.values], right=True).html()


def _paragraph(lines: list[str]) -> str:
    """Non-blank lines as one HTML paragraph ('' when there are none)."""
    lines = [line.strip() for line in lines if line.strip()]
    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>" if lines else ""


@dataclass
class _Text:
    """Lines of text, as they are (blank lines only space things out)."""

    text: list[str]

    def lines(self) -> list[str]:
        return self.text

    def html(self) -> str:
        return _paragraph(self.text)


@dataclass
class _Header:
    """The title (with the object's class) and the Formula / Data lines."""

    title: str
    call: list[str]
    object_class: str = OBJECT_CLASS

    def lines(self) -> list[str]:
        return _title_lines(self.title, self.object_class) + self.call + [""]

    def html(self) -> str:
        title = f"<b>{html.escape(self.title)} [{self.object_class}]</b>"
        return title + _paragraph(self.call)


@dataclass
class _Legend:
    """printCoefmat's legend of the significance stars."""

    def lines(self) -> list[str]:
        return ["---", "Signif. codes:  " + SIGNIF_LEGEND]

    def html(self) -> str:
        return _paragraph(self.lines()[1:])


def _title_lines(title: str, object_class: str = OBJECT_CLASS) -> list[str]:
    """lme4's .prt.methTit: the title and the object's class, wrapped to the width."""
    if len(title) + 5 + len(object_class) > WIDTH:
        return cat_fill(strwrap(title, WIDTH - 2, exdent=2) + [" [", object_class, "]"], sep="")
    return [f"{title} ['{object_class}']"]


def _method_title(model) -> str:
    """lme4's methTitle (its ML title ends in a space, as R's paste() leaves it)."""
    return "Linear mixed model fit by " + ("REML" if model.REML else "maximum likelihood ")


def _call_lines(model) -> list[str]:
    """lme4's Formula line, its Data line when the data have a name, and the Weights and
    Offset lines of a model fitted with named ones."""
    lines = cat_fill(["Formula:"] + deparse_formula(model.formula.text))
    name = model.data.attrs.get("name")
    if name:
        lines += cat_fill(["   Data:", str(name)])
    for label, attr in (("Weights:", "weights_label"), (" Offset:", "offset_label")):
        if getattr(model, attr, None):  # the weights' or offset's name, as the user gave it
            lines += cat_fill([label, getattr(model, attr)])
    return lines


def _criterion(model, digits: int) -> _Text | _Named:
    """The REML criterion line, or the ML fit's AIC/BIC/logLik/deviance/df.resid vector."""
    if model.REML:
        crit = cat_num(r_round(model.REMLcrit(), digits))
        return _Text(cat_fill(["REML criterion at convergence:", crit]))
    stats = [model.AIC(), model.BIC(), model.logLik(), model.deviance(), model.df_residual]
    values = format_num([r_round(v, digits) for v in stats])
    values[-1] = format_num([model.df_residual])[0]
    return _Named(["AIC", "BIC", "logLik", "deviance", "df.resid"], [v.strip() for v in values])


def _quantiles(x: np.ndarray) -> list[float]:
    """R's quantile(x) (type 7) at 0, 1/4, 1/2, 3/4 and 1."""
    x = np.sort(np.asarray(x, float))
    out = []
    for prob in (0.0, 0.25, 0.5, 0.75, 1.0):
        index = (x.size - 1) * prob
        lo, hi = int(np.floor(index)), int(np.ceil(index))
        h = index - lo
        out.append(float(x[lo]) if h == 0 or x[hi] == x[lo] else float((1 - h) * x[lo] + h * x[hi]))
    return out


def _scaled_residuals(model) -> _Named:
    quantiles = zapsmall(_quantiles(model.residuals(type="pearson") / model.sigma), DIGITS + 1)
    return _Named(["Min", "1Q", "Median", "3Q", "Max"], format_num(quantiles, DIGITS))


def _varcorr_table(varcorr, digits: int, columns: tuple[str, ...]) -> _Table:
    """lme4's formatVC: group, effect, variance and/or sd, and the correlations' lower triangle;
    the residual row only for models with a scale."""
    residual = varcorr.residual
    sds = [float(s) for b in varcorr.blocks for s in b.sd] + [float(varcorr.sigma)] * residual
    groups, effects = [], []
    for b in varcorr.blocks:
        groups += [b.group] + [""] * (len(b.effects) - 1)
        effects += list(b.effects)
    cols = {"Groups": groups + [RESIDUAL_GROUP] * residual, "Name": effects + [""] * residual}
    if "Variance" in columns:
        cols["Variance"] = format_num([s * s for s in sds], digits)
    if "Std.Dev." in columns:
        cols["Std.Dev."] = format_num(sds, digits)
    names, rows = list(cols), [list(r) for r in zip(*cols.values())]
    size = max(len(b.effects) for b in varcorr.blocks)
    if size > 1:
        dig = max(2, digits - 2)
        corr_rows = []
        for b in varcorr.blocks:
            k = len(b.effects)
            text = format_num([r_round(v, dig) for v in np.asarray(b.corr).ravel()], nsmall=dig)
            corr_rows += [[text[i * k + j] if j < i else "" for j in range(size - 1)] for i in range(k)]
        corr_rows += [[""] * (size - 1)] * residual
        rows = [r + c for r, c in zip(rows, corr_rows)]
        names += ["Corr"] + [""] * (size - 2)
    return _Table([""] * len(rows), names, rows, right=False)


def _groups_lines(model) -> list[str]:
    groups = "; ".join(f"{g}, {n}" for g, n in model.ngrps.items())
    return cat_fill([f"Number of obs: {model.nobs}, groups: ", groups])


def _coefmat(values: np.ndarray, row_names: list[str], digits: int = DIGITS,
             columns: list[str] = _COEF_COLUMNS) -> tuple[_Table, bool]:
    """R's printCoefmat: coefficient columns, then the test statistic and its p-value.

    The coefficient columns (Estimate, Std. Error and, for lmerTest, df) are rounded and
    formatted together, the statistic to ``digits - 1`` places, p-values by format.pval;
    stars are added when any p < 0.1. Returns the table and whether it has stars.
    """
    values = np.asarray(values, float).reshape(len(row_names), len(columns))
    p, k = len(row_names), len(columns) - 2
    dig_tst = max(1, min(5, digits - 1))
    coef = values[:, :k]
    magnitudes = np.abs(coef[np.isfinite(coef) & (coef != 0)])
    digmin = 1 + (np.floor(np.log10(magnitudes.min())) if magnitudes.size else 0)
    places = int(max(1, digits - digmin))
    coef_text = format_num([r_round(v, places) for v in coef.ravel()], digits)
    t_text = format_num([r_round(v, dig_tst) for v in values[:, k]], digits)
    cells = [coef_text[k * i : k * i + k] + [t_text[i]] for i in range(p)]
    # entries that print as zero but are not, or the reverse, get their own format
    mismatch = [(i, j) for i in range(p) for j in range(k)
                if (values[i, j] == 0) != (float(cells[i][j]) == 0)]
    if mismatch:
        redone = format_num([values[i, j] for i, j in mismatch], max(1, digits - 1))
        for (i, j), text in zip(mismatch, redone):
            cells[i][j] = text
    pvalues = values[:, k + 1]
    for row, text in zip(cells, format_pval(pvalues, dig_tst)):
        row.append(text)
    stars = bool(np.any(pvalues < 0.1))
    columns = list(columns)
    if stars:
        symbols = [next(s for cut, s in _STARS if pv <= cut) for pv in pvalues]
        width = max(len(s) for s in symbols)
        for row, s in zip(cells, symbols):
            row.append(s.ljust(width))
        columns.append("")
    return _Table(list(row_names), columns, cells, right=True), stars


def _correlation_table(model) -> _Table:
    """The correlations of the fixed effects, lower triangle, names abbreviated as lme4 does."""
    vcov = model.vcov().to_numpy()
    sd = np.sqrt(np.diag(vcov))
    corr = vcov / np.outer(sd, sd)
    p = corr.shape[0]
    text = format_num([r_round(v, 3) for v in corr.ravel()], nsmall=3)
    names = model.coef_names
    rows = [[text[i * p + j] if j < i else "" for j in range(p - 1)] for i in range(1, p)]
    return _Table(abbreviate(names, 11)[1:], abbreviate(names, 6)[:-1], rows, right=False)


def _correlation_note(p: int) -> _Text:
    return _Text(["", f"Correlation matrix not shown by default, as p = {p} > {COR_MAX}.",
                  "Use Summary(model, correlation=True)  or",
                  "    model.vcov()        if you need it", ""])


def _fit_warnings(model) -> list[str]:
    """lme4's "fit warnings": fixed-effect columns dropped for rank deficiency."""
    k = len(model.fixed.dropped)
    if not k:
        return []
    noun = "column / coefficient" if k == 1 else "columns / coefficients"
    return ["fit warnings:", f"fixed-effect model matrix is rank deficient so dropping {k} {noun}"]


# ------------------------------------------------------------------ summary
class Printout:
    """A printout made of headed blocks (``_blocks()``): ``str()`` is R's text, Jupyter shows HTML."""

    def _blocks(self):
        raise NotImplementedError

    def lines(self) -> list[str]:
        """The printout, line by line."""
        out = []
        for heading, part in self._blocks():
            if heading is not None:
                out.append(heading)
            out += part.lines()
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        parts = []
        for heading, part in self._blocks():
            if heading is not None:
                parts.append(f"<p><b>{html.escape(heading.strip())}</b></p>")
            parts.append(part.html())
        return "<div class='lmmplot-summary'>" + "".join(parts) + "</div>"


class Summary(Printout):
    """lmerTest's ``summary(m)``: ``str()`` is R's printout, Jupyter shows HTML tables.

    Parameters
    ----------
    model : LinearMixedModel
    ddf : "Satterthwaite" or "Kenward-Roger"
        Denominator degrees of freedom of the t tests.
    correlation : bool, optional
        Print the correlations of the fixed effects; by default only when there are at
        most 12 fixed effects, as lme4.
    """

    def __init__(self, model, ddf: str = "Satterthwaite", correlation: bool | None = None):
        if ddf not in _DDF_NAMES:
            raise ArgumentTypeError(f"ddf must be 'Satterthwaite' or 'Kenward-Roger', not {ddf!r}")
        from .tidiers import fixed_effects_table

        self.model = model
        self.ddf = ddf
        self.coefficients = fixed_effects_table(model, ddf)
        p = model.n_fixed
        self.correlation = p <= COR_MAX if correlation is None else bool(correlation)
        self._note = correlation is None and p > COR_MAX

    @property
    def title(self) -> str:
        return f"{_method_title(self.model)}. t-tests use {_DDF_NAMES[self.ddf]} method"

    def _coef_table(self) -> tuple[_Table, bool]:
        tab = self.coefficients
        values = tab[["estimate", "std.error", "df", "statistic", "p.value"]].to_numpy(float)
        return _coefmat(values, list(tab["term"]))

    def _blocks(self):
        """The printout's parts in order, as (heading or None, part); each part has
        ``lines()`` and ``html()``."""
        m = self.model
        blank = _Text([""])
        yield None, _Header(self.title, _call_lines(m))
        yield None, _criterion(m, 1)
        yield None, blank
        yield "Scaled residuals: ", _scaled_residuals(m)
        yield None, blank
        yield "Random effects:", _varcorr_table(m.VarCorr(), DIGITS, ("Variance", "Std.Dev."))
        yield None, _Text(_groups_lines(m))
        if m.n_fixed:
            table, stars = self._coef_table()
            yield None, blank
            yield "Fixed effects:", table
            if stars:
                yield None, _Legend()
            if self._note:
                yield None, _correlation_note(m.n_fixed)
            elif self.correlation and m.n_fixed > 1:
                yield None, blank
                yield "Correlation of Fixed Effects:", _correlation_table(m)
        yield None, _Text(_fit_warnings(m))
        if (line := _convergence(m)) is not None:
            yield None, _Text([line] + list(m.messages) + list(m.opt_warnings) + [""])


# ------------------------------------------------------------------ print(m), VarCorr
def model_repr(model) -> str:
    """lme4's ``print(m)``: title, formula, criterion, random-effect sds, fixed effects."""
    lines = _title_lines(_method_title(model)) + _call_lines(model) + _criterion(model, DIGITS).lines()
    lines += ["Random effects:"] + _varcorr_table(model.VarCorr(), DIGITS, ("Std.Dev.",)).lines()
    lines += _groups_lines(model)
    if model.n_fixed:
        fixef = _Named(model.coef_names, format_num(model.beta, DIGITS), gap=2)
        lines += ["Fixed Effects:"] + fixef.lines()
    else:
        lines.append("No fixed effect coefficients")
    lines += _fit_warnings(model)
    if (line := _convergence(model)) is not None:
        lines.append(f"{line} ; {len(model.opt_warnings)} optimizer warnings; {len(model.messages)} lme4 warnings ")
    return "\n".join(lines)


def varcorr_text(varcorr) -> str:
    """lme4's ``print(VarCorr(m))``: groups, effects, standard deviations and correlations."""
    return "\n".join(_varcorr_table(varcorr, VARCORR_DIGITS, ("Std.Dev.",)).lines())


def varcorr_html(varcorr) -> str:
    """The variance components as an HTML table, variances and standard deviations."""
    return _varcorr_table(varcorr, VARCORR_DIGITS, ("Variance", "Std.Dev.")).html()
