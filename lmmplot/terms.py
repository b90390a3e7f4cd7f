"""A random-effects term in numbers: group codes, per-observation rows, the θ template."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from formulaic import ModelSpec

from .errors import DataError
from .formula import RandomTermSpec


@dataclass
class RandomTerm:
    """What ``(expr | group)`` becomes on the data.

    Attributes
    ----------
    spec : RandomTermSpec
    levels : numpy.ndarray
        Level labels (str) of the grouping factor, in lme4's order.
    codes : numpy.ndarray
        The level index of each observation.
    rows : numpy.ndarray
        The per-observation model rows, n × p.
    columns : list of str
        R's names of the rows' columns (``(Intercept)``, ``Days``).
    model_spec : formulaic.ModelSpec
        Re-encodes new data exactly as the rows were encoded.
    """

    spec: RandomTermSpec
    levels: np.ndarray
    codes: np.ndarray
    rows: np.ndarray
    columns: list[str]
    model_spec: ModelSpec

    @property
    def group(self) -> str:
        return self.spec.group

    @cached_property
    def level_index(self) -> pd.Index:
        """The levels as an index, to look new data's labels up in."""
        return pd.Index(self.levels)

    @property
    def p(self) -> int:
        """Effects per level."""
        return self.rows.shape[1]

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    @property
    def q(self) -> int:
        """Columns of Z this term contributes."""
        return self.p * self.nlevels

    @property
    def ntheta(self) -> int:
        return self.p * (self.p + 1) // 2

    @cached_property
    def tril(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of each θ entry in T: the lower triangle, column by column."""
        cols, rows = np.triu_indices(self.p)
        return rows, cols

    def theta_lower(self) -> np.ndarray:
        """Lower bounds of this term's θ: 0 on the diagonal, unbounded elsewhere."""
        rows, cols = self.tril
        return np.where(rows == cols, 0.0, -np.inf)

    def theta_start(self) -> np.ndarray:
        """lme4's starting value: T = I."""
        rows, cols = self.tril
        return (rows == cols).astype(float)

    def factor(self, theta: np.ndarray) -> np.ndarray:
        """The p × p lower-triangular relative covariance factor T for this term's θ."""
        T = np.zeros((self.p, self.p))
        T[self.tril] = theta
        return T


def group_codes(data: pd.DataFrame, group_vars: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Level index per row and level labels of the interaction of ``group_vars``.

    Levels sort as R's factor() sorts them: each variable by its values (numbers
    numerically), the first variable slowest; labels join with ``:``.
    """
    per_var_codes, per_var_labels = [], []
    for name in group_vars:
        codes, uniques = pd.factorize(data[name], sort=True)
        labels = np.array([label(u) for u in uniques], dtype=object)
        if len(set(labels)) < len(labels):
            # values that print alike (1 and "1", 1 and 1.0) are one level, as in R's factor()
            labels, merged = np.unique(labels.astype(str), return_inverse=True)
            codes = merged.ravel()[codes]
            labels = labels.astype(object)
        per_var_codes.append(codes)
        per_var_labels.append(labels)
    if len(group_vars) == 1:
        return per_var_codes[0].astype(np.intp), per_var_labels[0]
    keys = np.stack(per_var_codes, axis=1)
    uniq, codes = np.unique(keys, axis=0, return_inverse=True)
    labels = np.array(
        [":".join(per_var_labels[k][u[k]] for k in range(len(group_vars))) for u in uniq],
        dtype=object,
    )
    return codes.ravel().astype(np.intp), labels


def label(value) -> str:
    """A level's label as R prints it: integral numbers without a decimal point."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def lme4_order(terms: list[RandomTerm]) -> list[RandomTerm]:
    """lme4's order of terms: by number of levels, decreasing, unless already so."""
    nl = [t.nlevels for t in terms]
    if any(b > a for a, b in zip(nl, nl[1:])):
        order = np.argsort(nl, kind="stable")[::-1]
        return [terms[i] for i in order]
    return terms


def check_identifiable(terms: list[RandomTerm], nobs: int, residual: bool = True) -> None:
    """lme4's checks that stop a fit before it starts.

    Without a residual variance (GLMMs of the binomial and Poisson families) a term may have a
    level per observation, as glmer allows.
    """
    for term in terms:
        if term.nlevels < 2:
            raise DataError(
                f"grouping factor {term.group!r} in {term.spec.source} has a single level; "
                "grouping factors must have > 1 sampled level"
            )
        if not residual:
            continue
        if term.nlevels >= nobs:
            raise DataError(
                f"number of levels of each grouping factor must be < number of observations "
                f"(problems: {term.group} has {term.nlevels} levels for {nobs} observations)"
            )
        if term.q >= nobs:
            raise DataError(
                f"number of observations (={nobs}) <= number of random effects (={term.q}) "
                f"for term {term.spec.source}; the random-effects parameters and the residual "
                "variance (or scale parameter) are probably unidentifiable"
            )
