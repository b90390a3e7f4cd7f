"""F tests of the fixed-effect terms (lmerTest's ``anova(m)``) and likelihood-ratio tests
between fits (lme4's ``anova(m1, m2, ...)``).

The hypothesis matrices of the F tests are built as lmerTest builds them: type I from the
Doolittle factor of XᵀX, type II from the same factor after moving a term and the terms
containing it to the end, type III from the "cell" design of each term, with the columns of a
term made orthogonal to those of the terms containing it (lmerTest's
``get_contrasts_type3``). Containment follows lmerTest (see :class:`FixedTerm`).
"""
from __future__ import annotations

import html
import warnings
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import model_matrix
from formulaic.transforms import C
from formulaic.transforms.contrasts import ContrastsState, TreatmentContrasts

from .distributions import chi2_sf, f_sf
from .encoding import RMaterializer, ordered_levels
from .frame import R_FUNCTIONS, full_rank_columns
from .errors import ArgumentTypeError, DataError, FormulaError, MLRefitWarning
from .display import SIGNIF_LEGEND
from .names import coef_names, term_name
from .rformat import format_num, format_pval, r_round, zapsmall

ANOVA_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
LRT_COLUMNS = ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
DDF_METHODS = ("Satterthwaite", "Kenward-Roger")
REFIT_MESSAGE = "refitting model(s) with ML (instead of REML)"
_TYPES = {1: 1, 2: 2, 3: 3, "1": 1, "2": 2, "3": 3, "I": 1, "II": 2, "III": 3}
_ROMAN = {1: "I", 2: "II", 3: "III"}


class AnovaTable(pd.DataFrame):
    """A data frame that prints as R prints an anova table: ``attrs["heading"]``, then the rows.

    Anything derived from it (a slice, a copy) is a plain DataFrame.
    """

    @property
    def _constructor(self):
        return pd.DataFrame

    def __repr__(self) -> str:
        return format_anova(self)

    def _repr_html_(self) -> str:
        heading = html.escape(self.attrs.get("heading", "")).replace("\n", "<br>")
        return f"<p>{heading}</p>" + pd.DataFrame(self)._repr_html_()


# ----------------------------------------------------------------------- fixed terms
@dataclass(frozen=True)
class FixedTerm:
    """One term of the fixed-effects formula and its columns in the model's X.

    ``variables`` are the term's variables that R's ``terms()`` marks 1 in its factors matrix:
    all of a main effect's; of an interaction's, those whose removal leaves another term of
    the formula (the others, marked 2, are coded by indicators and ignored by lmerTest's
    containment). ``numeric`` are the numeric ones among them.
    """

    label: str
    degree: int
    columns: tuple[int, ...]
    variables: frozenset[str]
    numeric: frozenset[str]

    def contained_in(self, other: "FixedTerm") -> bool:
        """lmerTest's containment: ``other`` has more variables, and the same numeric ones."""
        return self.variables < other.variables and self.numeric == other.numeric


def fixed_terms(spec, keep) -> tuple[list[FixedTerm], bool]:
    """The fixed-effect terms of a design (without the intercept) and whether it has one.

    A term's columns are its formulaic columns that survived the rank check (``keep``), as
    positions in X.
    """
    keep = np.asarray(keep)
    position = np.cumsum(keep) - 1
    found, intercept, start = [], False, 0
    for structure in spec.structure:
        spec_cols = range(start, start + len(structure.columns))
        start += len(structure.columns)
        columns = tuple(int(position[j]) for j in spec_cols if keep[j])
        if structure.term.degree == 0:
            intercept = intercept or bool(columns)
            continue
        found.append((structure.term, columns, frozenset(str(f) for f in structure.term.factors)))
    if start != keep.size:
        raise FormulaError("the fixed-effects columns do not match the formula's terms")
    present = {factors for _, _, factors in found}
    terms = []
    for term, columns, factors in found:
        coded = factors if len(factors) == 1 else frozenset(v for v in factors if factors - {v} in present)
        numeric = frozenset(v for v in coded if _is_numeric(spec.encoder_state.get(v)))
        terms.append(FixedTerm(str(term), term.degree, columns, coded, numeric))
    return terms, intercept


def _is_numeric(state) -> bool:
    return state is not None and getattr(state[0], "value", None) == "numerical"


# ----------------------------------------------------------------------- hypotheses
def term_contrasts(model, type: int = 3) -> dict[str, np.ndarray]:
    """lmerTest's hypothesis matrix of each fixed-effect term (rows over β), for ``type`` 1, 2 or 3."""
    type = _check_type(type)
    terms, intercept = fixed_terms(model.fixed.spec, model.fixed.keep)
    X = model.fixed.X
    if X.shape[1] <= 1 or len(terms) <= 1 or type == 1:
        return _type1(X, terms)
    if type == 2:
        return _type2(X, terms)
    if _treatment_coded(model.fixed.spec):
        return _type3(model, X, terms, intercept)
    return _type3_any_coding(model, X, intercept)


def _treatment_coded(spec) -> bool:
    return all(not isinstance(state[1].get("contrasts"), ContrastsState)
               or isinstance(state[1]["contrasts"].contrasts, TreatmentContrasts)
               for state in spec.encoder_state.values())


def _treatment(data, contrasts=None, **kwargs):
    """formulaic's C() with treatment contrasts, whatever coding the formula asked for."""
    return C(data, **kwargs)


def _type3_any_coding(model, X: np.ndarray, intercept: bool) -> dict[str, np.ndarray]:
    """Type III for other codings, as lmerTest: the hypotheses of the same formula coded by
    treatment contrasts (ordered factors too), mapped onto this coding's coefficients."""
    context = {**R_FUNCTIONS, "C": _treatment, "factor": _treatment}
    twin = model_matrix(model.fixed.spec.formula, model.frame, na_action="ignore", context=context,
                        materializer=RMaterializer, output="numpy")
    keep = full_rank_columns(np.asarray(twin, dtype=float))
    X_treatment = np.asarray(twin, dtype=float)[:, keep]
    terms, _ = fixed_terms(twin.model_spec, keep)
    mapping = _zap(np.linalg.pinv(X_treatment) @ X)
    return {label: L @ mapping for label, L in _type3(model, X_treatment, terms, intercept).items()}


def _doolittle_rows(X: np.ndarray) -> np.ndarray:
    """tᵀ of the unit lower factor of XᵀX = LU (lmerTest's ``t(doolittle(crossprod(X))$L)``)."""
    C = np.linalg.cholesky(X.T @ X)
    rows = C.T / np.diag(C)[:, None]
    rows[np.abs(rows) < 1e-6] = 0.0
    return rows


def _type1(X: np.ndarray, terms: list[FixedTerm]) -> dict[str, np.ndarray]:
    if X.shape[1] == 0:
        return {t.label: np.zeros((0, 0)) for t in terms}
    rows = _doolittle_rows(X)
    return {t.label: rows[list(t.columns)] for t in terms}


def _type2(X: np.ndarray, terms: list[FixedTerm]) -> dict[str, np.ndarray]:
    """Marginal tests for terms no other term contains; otherwise type I with the term and
    its containing terms last (lmerTest's ``get_contrasts_type2_unfolded``)."""
    p = X.shape[1]
    out = {}
    for term in terms:
        containers = [o for o in terms if term.contained_in(o)]
        if not containers:
            out[term.label] = np.eye(p)[list(term.columns)]
            continue
        last = list(term.columns) + [j for o in containers for j in o.columns]
        order = [j for j in range(p) if j not in last] + last
        rows = _doolittle_rows(X[:, order])[[order.index(j) for j in term.columns]]
        L = np.zeros((len(term.columns), p))
        L[:, order] = rows
        out[term.label] = L
    return out


def _type3(model, X: np.ndarray, terms: list[FixedTerm], intercept: bool) -> dict[str, np.ndarray]:
    """lmerTest's type III contrasts for treatment coding (``extract_contrasts_type3``)."""
    blocks = [np.ones((X.shape[0], 1))] if intercept else []
    names = []
    for term in terms:
        block = _cell_columns(model.frame, term.label)
        blocks.append(block.to_numpy(dtype=float))
        names += coef_names(list(block.columns), block.model_spec.encoder_state)
    cells = np.hstack(blocks)
    empty = [name for name, column in zip(names, cells[:, int(intercept):].T) if not column.any()]
    if empty:
        warnings.warn(  # stacklevel: the user's call of model.anova()
            f"Missing cells for: {', '.join(empty)}. Interpret type III hypotheses with care.",
            UserWarning,
            stacklevel=5,
        )
    L = _zap(np.linalg.lstsq(X, cells, rcond=None)[0].T)  # cells × p
    for term in sorted(terms, key=lambda t: -t.degree):
        containers = [j for o in terms if term.contained_in(o) for j in o.columns]
        if containers:
            A, Y = L[:, containers], L[:, list(term.columns)]
            L[:, list(term.columns)] = _zap(Y - A @ np.linalg.lstsq(A, Y, rcond=None)[0])
    L = L[_matching_cells(X, blocks, terms, intercept)]
    out = {}
    for term in terms:
        rows = L[:, list(term.columns)].T
        out[term.label] = rows[np.abs(rows).sum(axis=1) > 1e-8]
    return out


def _cell_columns(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """The term's columns with every level of its factors (R's ``model.matrix(~ 0 + term)``)."""
    return model_matrix(f"0 + {label}", frame, na_action="ignore", context=R_FUNCTIONS, materializer=RMaterializer,
                        materializer_params={"ordered": ordered_levels(frame)})


def _matching_cells(X, blocks, terms, intercept) -> list[int]:
    """For each column of X, the identical column among its own term's cell columns."""
    owner = {}
    for k, term in enumerate(terms):
        owner.update({j: k + intercept for j in term.columns})
    offsets = np.cumsum([0] + [b.shape[1] for b in blocks])
    out = []
    for j in range(X.shape[1]):
        k = owner.get(j, 0)
        block = blocks[k]
        scale = np.abs(X[:, j]).max() or 1.0
        hits = np.flatnonzero(np.abs(block - X[:, [j]]).max(axis=0) <= 1e-10 * scale)
        if hits.size == 0:
            raise FormulaError(
                "type III tests need treatment contrasts (formulaic's default); "
                "use type=1 or type=2 for other codings"
            )
        out.append(int(offsets[k] + hits[0]))
    return out


def _zap(M: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's zapsmall of a matrix (as lmerTest applies it to contrast matrices)."""
    return np.array(zapsmall(M.ravel(), digits)).reshape(M.shape)


def _check_type(type) -> int:
    key = type.upper() if isinstance(type, str) else type
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, Hashable) or key not in _TYPES:
        raise ArgumentTypeError(f"type must be 1, 2 or 3 (or 'I', 'II', 'III'), not {type!r}")
    return _TYPES[key]


# ----------------------------------------------------------------------- F tests
def anova_table(model, ddf: str = "Satterthwaite", type: int = 3) -> AnovaTable:
    """lmerTest's ``anova(m)``: an F test of each fixed-effect term.

    Parameters
    ----------
    model : LinearMixedModel
    ddf : "Satterthwaite" or "Kenward-Roger"
        Method for the denominator degrees of freedom; Kenward-Roger needs a REML fit.
    type : 1, 2 or 3 (or "I", "II", "III")
        Sequential, marginal-to-containing-terms, or lmerTest's type III hypotheses.

    Returns
    -------
    AnovaTable
        Indexed by term label, columns ``Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F)``;
        ``attrs["heading"]`` as R's, ``attrs["hypotheses"]`` the tested matrices (frames over
        the coefficients). Terms with nothing estimable get a row of NaN at the end, as lmerTest.
    """
    if ddf not in DDF_METHODS:
        raise ArgumentTypeError(f"ddf must be 'Satterthwaite' or 'Kenward-Roger', not {ddf!r}")
    type = _check_type(type)
    contrasts = term_contrasts(model, type)
    test = _f_test_function(model, ddf)
    rows, untested = {}, []
    for label, L in contrasts.items():
        if L.shape[0] == 0:
            untested.append(label)
        else:
            rows[label] = test(L)
    rows.update({label: [np.nan] * len(ANOVA_COLUMNS) for label in untested})
    table = AnovaTable(
        [rows[label] for label in rows], index=pd.Index([term_name(label) for label in rows], dtype=object),
        columns=ANOVA_COLUMNS, dtype=float
    )
    method = "Satterthwaite's" if ddf == "Satterthwaite" else "Kenward-Roger's"
    table.attrs["heading"] = f"Type {_ROMAN[type]} Analysis of Variance Table with {method} method"
    names = list(model.coef_names)
    table.attrs["hypotheses"] = {
        term_name(label): pd.DataFrame(np.reshape(L, (-1, len(names))), columns=names)
        for label, L in contrasts.items()
    }
    return table


def _f_test_function(model, ddf: str):
    """A function from L to one anova row: Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F)."""
    sigma2 = model.sigma**2
    if ddf == "Satterthwaite":
        varpar = model.varpar_covariance

        def row(L):
            F, q, den = varpar.f_test(L, model.beta)
            return _f_row(F, F, q, den, sigma2)

        return row
    kr = model.kenward_roger

    def row(L):
        F, q, den = kr.f_test(L)
        Lb = L @ kr.beta
        wald = float(Lb @ np.linalg.pinv(L @ kr.vcov_beta @ L.T) @ Lb)
        return _f_row(F, wald / q, q, den, sigma2)  # Sum Sq from the unscaled F, as lmerTest

    return row


def _f_row(F: float, F_unscaled: float, q: int, den: float, sigma2: float) -> list[float]:
    mean_sq = F_unscaled * sigma2
    return [mean_sq * q, mean_sq, float(q), den, F, float(f_sf(F, q, den))]


# ----------------------------------------------------------------------- likelihood-ratio tests
def compare(*models, refit: bool = True, names=None) -> AnovaTable:
    """lme4's ``anova(m1, m2, ...)``: likelihood-ratio tests between nested fits.

    Parameters
    ----------
    *models : LinearMixedModel or LinearModel
        Two or more fits to the same rows. An ``lm`` fit's log-likelihood is its ML one.
    refit : bool, default True
        Refit REML fits by ML first (with an :class:`MLRefitWarning`, lme4's message).
        With ``refit=False`` REML log-likelihoods are compared as they are.
    names : list of str, optional
        Row labels. R labels rows with the objects' names in the call; Python cannot see
        those, so the default is ``model1``, ``model2``, ... in the order given.

    Returns
    -------
    AnovaTable
        One row per model, sorted by ``npar``; columns ``npar, AIC, BIC, logLik, deviance,
        Chisq, Df, Pr(>Chisq)``, the test columns NaN on the first row. ``deviance`` is
        −2 logLik, as lme4 reports it.
    """
    return _likelihood_ratio_table(models, refit=refit, names=names)


def _likelihood_ratio_table(models, refit: bool = True, names=None) -> AnovaTable:
    """:func:`compare`'s work; called one level below the user's code, as the warnings assume."""
    if len(models) < 2:
        raise ArgumentTypeError("compare needs two or more fitted models")
    for m in models:
        if not all(hasattr(m, a) for a in ("logLik", "npar", "nobs", "formula")):
            raise ArgumentTypeError(f"can only compare lmer and lm fits, not {type(m).__name__}")
    names = [f"model{i + 1}" for i in range(len(models))] if names is None else [str(n) for n in names]
    if len(names) != len(models):
        raise ArgumentTypeError(f"{len(names)} names given for {len(models)} models")
    if len(set(names)) != len(names):
        raise ArgumentTypeError(f"model names must be unique, not {names}")
    if len({m.nobs for m in models}) > 1:
        raise DataError(
            "models were not all fitted to the same size of dataset "
            f"(nobs: {', '.join(f'{n}={m.nobs}' for n, m in zip(names, models))})"
        )
    models = list(models)
    reml = [bool(getattr(m, "REML", False)) for m in models]
    if refit and any(reml):
        warnings.warn(REFIT_MESSAGE, MLRefitWarning, stacklevel=3)
        models = [m.refit_ml() if r else m for m, r in zip(models, reml)]
    elif any(reml) and not all(reml):
        warnings.warn("some models fit with REML = TRUE, some not", UserWarning, stacklevel=3)
    order = sorted(range(len(models)), key=lambda i: models[i].npar)
    models, names = [models[i] for i in order], [names[i] for i in order]
    loglik = np.array([m.logLik() for m in models])
    npar = np.array([m.npar for m in models], dtype=float)
    chisq = np.r_[np.nan, 2 * np.maximum(0.0, np.diff(loglik))]
    df = np.r_[np.nan, np.diff(npar)]
    with np.errstate(invalid="ignore"):
        p = np.where(df == 0, np.nan, chi2_sf(chisq, np.where(df == 0, 1, df)))
    table = AnovaTable(
        {
            "npar": npar,
            "AIC": [m.AIC() for m in models],
            "BIC": [m.BIC() for m in models],
            "logLik": loglik,
            "deviance": -2 * loglik,
            "Chisq": chisq,
            "Df": df,
            "Pr(>Chisq)": p,
        },
        index=pd.Index(names, dtype=object),
    )
    table.attrs["heading"] = "Models:\n" + "\n".join(f"{n}: {m.formula.text}" for n, m in zip(names, models))
    return table


def anova(*models, **kwargs) -> AnovaTable:
    """R's ``anova``: F tests of one lmer fit's terms, or likelihood-ratio tests between fits.

    ``anova(m, ddf=..., type=...)`` is ``m.anova(...)``; ``anova(m1, m2, ..., refit=True,
    names=None)`` is :func:`compare`.
    """
    if not models:
        raise ArgumentTypeError("anova needs at least one fitted model")
    if len(models) > 1:
        return _likelihood_ratio_table(models, **kwargs)
    model = models[0]
    if not hasattr(model, "varpar_covariance"):
        raise ArgumentTypeError(
            f"anova of a single {type(model).__name__} is not available; pass an lmer fit, "
            "or several fits to compare"
        )
    return model.anova(**kwargs)


# ----------------------------------------------------------------------- printing
def format_anova(table: pd.DataFrame, digits: int = 5) -> str:
    """The table as R's ``print.anova`` shows it: heading, columns, significance stars."""
    lines = [table.attrs["heading"]] if table.attrs.get("heading") else []
    names = [str(c) for c in table.columns]
    values = table.to_numpy(dtype=float) if table.size else np.zeros((len(table), len(names)))
    has_p = bool(names) and names[-1].startswith(("Pr(", "P("))
    test_cols = {j for j, n in enumerate(names) if n[1:7] == " value" or n in ("F", "Cp", "Chisq")}
    columns = []
    for j, name in enumerate(names):
        x = values[:, j]
        if has_p and j == len(names) - 1:
            cells = _format_pvalues(x, max(1, min(5, digits - 1)))
        elif j in test_cols:
            cells = _format_column(np.array([r_round(v, max(1, min(5, digits - 1))) for v in x]), digits)
        else:
            shown = x if name.endswith("Df") else np.array(zapsmall(x, digits))
            cells = _format_column(shown, digits)
            lost = np.isfinite(x) & (x != 0) & (np.array([_as_float(c) for c in cells]) == 0)
            for i in np.flatnonzero(lost):
                cells[i] = _format_column(x[[i]], max(1, digits - 1))[0]
        columns.append((name, cells))
    pvals = values[:, -1] if has_p else np.zeros(0)
    stars = has_p and bool(np.any(pvals[np.isfinite(pvals)] < 0.1))
    if stars:
        marks = [_stars(v) for v in pvals]
        width = max(len(m) for m in marks)
        columns.append(("", [m.ljust(width) for m in marks]))
    labels = [str(i) for i in table.index]
    label_width = max([len(s) for s in labels], default=0)
    widths = [max([len(name)] + [len(c) for c in cells]) for name, cells in columns]
    lines.append(" " * label_width + "".join(" " + n.rjust(w) for (n, _), w in zip(columns, widths)))
    for i, label in enumerate(labels):
        lines.append(label.ljust(label_width) + "".join(" " + c[i].rjust(w) for (_, c), w in zip(columns, widths)))
    if stars:
        lines.append("---")
        lines.append("Signif. codes:  " + SIGNIF_LEGEND)
    return "\n".join(lines)


def _as_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


def _stars(p: float) -> str:
    if not np.isfinite(p):
        return ""
    for cut, mark in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return mark
    return " "


def _format_column(x: np.ndarray, digits: int) -> list[str]:
    """R's ``format(x, digits=)`` of the finite entries, blanks where ``print.anova`` shows NA."""
    ok = np.isfinite(x)
    cells = [""] * len(x)
    for i, c in zip(np.flatnonzero(ok), format_num(x[ok], digits) if ok.any() else []):
        cells[i] = c
    return cells


def _format_pvalues(p: np.ndarray, digits: int) -> list[str]:
    """R's ``format.pval`` of the finite p-values, blanks elsewhere."""
    ok = np.isfinite(p)
    cells = [""] * len(p)
    for i, c in zip(np.flatnonzero(ok), format_pval(p[ok], digits) if ok.any() else []):
        cells[i] = c.strip()
    return cells
