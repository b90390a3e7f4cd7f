"""lme4's ``lmList``: a separate least-squares fit per group (no pooling)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ArgumentTypeError, DataError, FormulaError
from .formula import _find_bar, _split_top, parse_formula, quote_dotted_names
from .frame import as_pandas, complete_rows, fixed_design, full_rank_columns
from .terms import group_codes


class LmList:
    """Least-squares coefficients of one formula fitted to each group on its own.

    Use :func:`lmList` to make one. A coefficient a group's rows cannot estimate (too few
    rows, or a column its rows leave constant) is NaN, as lme4's ``lmList`` gives NA.

    Attributes
    ----------
    formula : str
        The per-group formula, ``response ~ terms``.
    group : str
        The grouping factor, as written after ``|``.
    group_vars : tuple of str
        Its columns.
    nobs : pandas.Series
        Rows per group.
    """

    def __init__(self, formula: str, group_vars: tuple[str, ...], data):
        self._model = None
        data = as_pandas(data)
        for name in group_vars:
            if name not in data.columns:
                raise DataError(f"grouping column {name!r} of lmList is not in the data; the columns are "
                                f"{list(data.columns)}")
        parsed = quote_dotted_names(parse_formula(formula, need_random=False), data.columns)
        frame, _ = complete_rows(data, parsed)
        frame = frame.dropna(subset=list(group_vars))
        self.formula = parsed.fixed_formula
        self.group_vars = tuple(group_vars)
        self.group = ":".join(group_vars)
        self._fixed = fixed_design(parsed, frame)
        self._fit(self._fixed.X, self._fixed.y, frame, self._fixed.columns)

    @classmethod
    def from_model(cls, model, group_vars: tuple[str, ...] | None = None) -> "LmList":
        """The model's fixed formula fitted per level of one of its grouping factors (its first
        by default: ``group_vars``, its columns), on the rows and model matrix it was fitted to."""
        groups = model.variables.groups
        if not groups:
            raise ArgumentTypeError("lmList needs a mixed model (lp.lmer) to take its grouping factor from")
        self = cls.__new__(cls)
        self.formula = model.formula.fixed_formula
        self.group_vars = tuple(next(iter(groups.values())) if group_vars is None else group_vars)
        self.group = ":".join(self.group_vars)
        self._fixed = None
        self._model = model
        X = model.model_matrix()
        self._fit(X.to_numpy(float), model.fitted() + model.residuals(type="response"), model.frame, list(X.columns))
        return self

    def _fit(self, X: np.ndarray, y: np.ndarray, frame: pd.DataFrame, columns) -> None:
        """Least squares per level of ``group_vars``: every group at once where its rows determine
        all coefficients (one batched QR of the groups' rows, zero-padded to the largest group),
        column by column as R's ``qr`` where they do not."""
        codes, levels = group_codes(frame, self.group_vars)
        ngroups, p = len(levels), X.shape[1]
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(ngroups + 1))
        sizes = np.diff(bounds)
        position = np.arange(len(codes)) - bounds[codes[order]]
        padded = np.zeros((ngroups, max(sizes.max(initial=0), p), p))
        padded[codes[order], position] = X[order]
        target = np.zeros(padded.shape[:2])
        target[codes[order], position] = y[order]
        Q, R = np.linalg.qr(padded)
        norms = np.linalg.norm(padded, axis=1)
        diag = np.abs(np.diagonal(R, axis1=1, axis2=2))
        full = (sizes >= p) & (norms > 0).all(axis=1) & (diag > 1e-7 * norms).all(axis=1)
        beta = np.full((ngroups, p), np.nan)
        if full.any():
            qty = np.einsum("gnp,gn->gp", Q[full], target[full])
            beta[full] = np.linalg.solve(R[full], qty[..., None])[..., 0]
        for j in np.flatnonzero(~full):  # too few rows, or a column the group's rows leave constant
            rows = order[bounds[j] : bounds[j + 1]]
            keep = full_rank_columns(X[rows]) if rows.size else np.zeros(p, bool)
            if keep.any():
                beta[j, keep] = np.linalg.lstsq(X[rows][:, keep], y[rows], rcond=None)[0]
        index = pd.Index(levels, name=self.group)
        self._coef = pd.DataFrame(beta, index=index, columns=columns)
        self.nobs = pd.Series(sizes, index=index, name="nobs")

    def coef(self) -> pd.DataFrame:
        """Coefficients, one row per group (lme4's ``coef(lmList)``); NaN where not estimable."""
        return self._coef.copy()

    def predict(self, newdata, X=None) -> np.ndarray:
        """Each row's prediction from its own group's fit (NaN for groups with a NaN coefficient);
        ``X``, the model matrix of ``newdata`` if the caller has it already."""
        from .frame import level_labels

        new = as_pandas(newdata, "newdata")
        if X is None:
            X = self._model.model_matrix(new) if self._fixed is None else self._fixed.new_X(new)
        X = np.asarray(X, float)
        at = self._coef.index.get_indexer(level_labels(new, self.group_vars, f"lmList's group {self.group!r}"))
        if (at < 0).any():
            unknown = sorted(set(level_labels(new, self.group_vars, self.group)[at < 0]))[:5]
            raise DataError(f"groups {unknown} of {self.group!r} in newdata have no fit in this lmList")
        return np.einsum("ij,ij->i", X, self._coef.to_numpy()[at])

    def __repr__(self) -> str:
        return f"lmList: {self.formula} | {self.group}\n{self._coef!r}"


def lmList(formula, data=None) -> LmList:
    """Fit ``response ~ terms`` by least squares within each group (lme4's ``lmList``).

    Parameters
    ----------
    formula : str or fitted model
        ``"Reaction ~ Days | Subject"``; or an :func:`lmer` fit, whose fixed formula is then
        fitted per level of its first grouping factor on the rows it was fitted to.
    data : DataFrame, optional
        Needed with a formula string.

    Returns
    -------
    LmList
    """
    if hasattr(formula, "variables") and hasattr(formula, "frame"):
        return LmList.from_model(formula)
    if not isinstance(formula, str):
        raise ArgumentTypeError(f"formula must be a string such as 'y ~ x | g', not {type(formula).__name__}")
    if data is None:
        raise ArgumentTypeError("lmList(formula, data) needs the data")
    sides = _split_top(formula, "~")
    bar = _find_bar(sides[-1][1]) if len(sides) == 2 else None
    if bar is None or bar[1] != 1:
        raise FormulaError(f"lmList's formula {formula!r} must read 'response ~ terms | group'")
    rhs = sides[1][1]
    terms, group = rhs[: bar[0]].strip(), rhs[bar[0] + 1 :].strip()
    group_vars = tuple(v.strip() for _, v in _split_top(group, ":"))
    if not terms or not all(group_vars):
        raise FormulaError(f"lmList's formula {formula!r} must read 'response ~ terms | group'")
    return LmList(f"{sides[0][1].strip()} ~ {terms}", group_vars, data)
