"""lme4's ``lmList``: a separate fit per group (no pooling), by least squares or, with a
family, by R's ``glm``."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .errors import ArgumentTypeError, DataError, FormulaError
from .formula import _find_bar, _split_top, parse_formula, quote_dotted_names
from .frame import (as_pandas, complete_rows, factor_values, fixed_design, formula_offset, full_rank_columns,
                    row_values)
from .terms import group_codes, label

GLM_MAXIT, GLM_EPSILON = 25, 1e-8  # R's glm.control()
CACHE = "_lmlists"  # the attribute of a mixed model holding its LmList.of_model fits
_BOUNDARY = 10 * np.finfo(float).eps  # glm.fit's "numerically 0 or 1"


class LmList:
    """Coefficients of one formula fitted to each group on its own.

    Use :func:`lmList` to make one. A group whose rows cannot estimate a coefficient (too few
    rows, or a column its rows leave constant) gets NaN for it, and a group in which a factor
    takes one level gets NaN throughout (R cannot apply contrasts there), as lme4's ``lmList``.

    Attributes
    ----------
    formula : str
        The per-group formula, ``response ~ terms``.
    group : str
        The grouping factor, as written after ``|``.
    group_vars : tuple of str
        Its columns.
    family : Family or None
        The glm family; None for least squares.
    nobs : pandas.Series
        Rows per group.
    converged : pandas.Series
        Whether each group's glm converged (True throughout for least squares).
    """

    def __init__(self, formula: str, group_vars: tuple[str, ...], data, family=None, weights=None):
        from .glmm.family import resolve
        from .glmm.model import response_values

        self._model = None
        data = as_pandas(data)
        for name in group_vars:
            if name not in data.columns:
                raise DataError(f"grouping column {name!r} of lmList is not in the data; the columns are "
                                f"{list(data.columns)}")
        parsed = quote_dotted_names(parse_formula(formula, need_random=False), data.columns)
        given = row_values(weights, data, "weights")
        frame, kept = complete_rows(data, parsed, None if given is None else {"weights": given})
        with_group = frame[list(group_vars)].notna().all(axis=1).to_numpy()
        frame = frame.loc[with_group]
        prior = None if given is None else given[kept][with_group]
        if prior is not None and np.any(prior < 0):
            raise DataError("negative weights are not allowed")
        self.formula, self._parsed = parsed.fixed_formula, parsed
        self.group_vars, self.group = tuple(group_vars), ":".join(group_vars)
        self.family = None if family is None else resolve(family)
        self._fixed = fixed_design(parsed, frame, response=self.family is None)
        offset = formula_offset(parsed, frame)
        if self.family is None:
            y, mustart = self._fixed.y, None
        else:
            y, prior, mustart = self.family.initialize(response_values(parsed.response, frame), prior,
                                                       name=parsed.response)
        self._new_offset = lambda new: formula_offset(parsed, new)
        self._fit(self._fixed.X, np.asarray(y, float), prior, offset, mustart, frame, self._fixed.columns,
                  self._fixed.spec)

    @classmethod
    def from_model(cls, model, group_vars: tuple[str, ...] | None = None) -> "LmList":
        """The model's fixed formula fitted per level of one of its grouping factors (its first
        by default: ``group_vars``, its columns; ``()`` fits all rows as one, complete pooling),
        on the rows, model matrix, prior weights and offset it was fitted to; a glmer fit's
        groups are fitted by glm in its family."""
        groups = model.variables.groups
        if not groups:
            raise ArgumentTypeError("lmList needs a mixed model (lp.lmer or lp.glmer) to take its grouping "
                                    "factor from")
        self = cls.__new__(cls)
        self.formula = model.formula.fixed_formula
        self.group_vars = tuple(next(iter(groups.values())) if group_vars is None else group_vars)
        self.group = ":".join(self.group_vars)
        self._fixed, self._model = None, model
        self.family = getattr(model, "family", None)
        self._new_offset = model.new_offset
        offset = model.offset if model.has_offset else None
        mustart = None if self.family is None else model.family.linkinv(model._eta_start)
        self._fit(model.fixed.X, model.y if self.family else model.fixed.y, model.prior_weights, offset, mustart,
                  model.frame, model.fixed.columns, model.fixed.spec)
        return self

    @classmethod
    def of_model(cls, model, group_vars: tuple[str, ...]) -> "LmList":
        """:meth:`from_model` fitted once per model and grouping: kept on the model (its rows,
        model matrix, weights and offset never change) but not in its pickles or copies, each
        call warning as the fit warned."""
        fits = model.__dict__.setdefault(CACHE, {})
        key = tuple(group_vars)
        if key not in fits:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fits[key] = cls.from_model(model, key), caught
        fit, caught = fits[key]
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=2)
        return fit

    def _fit(self, X, y, prior, offset, mustart, frame, columns, spec) -> None:
        """Every group at once where its rows determine all coefficients (one batched QR of
        the groups' rows, zero-padded to the largest group, per IRLS step for a glm); column
        by column, as R's ``qr`` drops them, where they do not."""
        if self.group_vars:
            codes, levels = group_codes(frame, self.group_vars)
        else:  # complete pooling
            codes, levels = np.zeros(len(y), np.intp), np.array(["(all rows)"], dtype=object)
        ngroups, p = len(levels), X.shape[1]
        failed = _one_level_groups(spec, frame, codes, ngroups)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(ngroups + 1))
        sizes = np.diff(bounds)
        prior = np.ones(len(y)) if prior is None else np.asarray(prior, float)
        offset = np.zeros(len(y)) if offset is None else np.asarray(offset, float)
        start = None if mustart is None else self.family.linkfun(mustart)
        batch = _Batch(codes, order, bounds, max(sizes.max(initial=0), p))
        padded = batch.pad(X)
        norms = np.linalg.norm(padded, axis=1)
        diag = np.abs(np.diagonal(np.linalg.qr(padded, mode="r"), axis1=1, axis2=2))
        full = (sizes >= p) & (norms > 0).all(axis=1) & (diag > 1e-7 * norms).all(axis=1) & ~failed
        beta = np.full((ngroups, p), np.nan)
        converged = np.ones(ngroups, bool)
        arrays = (y, prior, offset, start)
        if full.any():
            beta[full], converged[full] = self._solve(batch.pad(X, full), *(batch.pad(a, full) for a in arrays))
        for j in np.flatnonzero(~full & ~failed):  # too few rows, or a column its rows leave constant
            rows = order[bounds[j] : bounds[j + 1]]
            keep = full_rank_columns(X[rows]) if rows.size else np.zeros(p, bool)
            if keep.any():
                one = [None if a is None else a[rows][None] for a in arrays]
                beta[j, keep], converged[j] = (r[0] for r in self._solve(X[rows][:, keep][None], *one))
        index = pd.Index(levels, name=self.group)
        self._coef = pd.DataFrame(beta, index=index, columns=columns)
        self.nobs = pd.Series(sizes, index=index, name="nobs")
        self.converged = pd.Series(converged, index=index, name="converged")
        if failed.any():
            warnings.warn(f"Fitting failed for {int(failed.sum())} group(s), probably because a factor only had "
                          f"one level: contrasts can be applied only to factors with 2 or more levels "
                          f"({_some(levels[failed])})", UserWarning, stacklevel=3)
        if self.family is not None:
            self._glm_warnings(X, offset, codes, levels, beta)

    def _solve(self, X, y, prior, offset, eta):
        """β of each group of a padded batch (groups × rows × columns), and whether it converged."""
        if self.family is None:
            sw = np.sqrt(prior)
            return _weighted_lstsq(X, y - offset, sw), np.ones(len(X), bool)
        return _irls(self.family, X, y, prior, offset, eta)

    def _glm_warnings(self, X, offset, codes, levels, beta) -> None:
        """glm.fit's warnings, counted over the groups."""
        notes = []
        if not self.converged.all():
            notes.append(f"glm.fit: algorithm did not converge in {int((~self.converged).sum())} group(s) "
                         f"({_some(levels[~self.converged.to_numpy()])})")
        with np.errstate(all="ignore"):
            mu = self.family.linkinv(np.einsum("ij,ij->i", X, np.nan_to_num(beta)[codes]) + offset)
        edge = {"binomial": (mu > 1 - _BOUNDARY) | (mu < _BOUNDARY), "poisson": mu < _BOUNDARY}.get(self.family.family)
        if edge is not None:
            hit = np.zeros(len(levels), bool)
            hit[codes[edge]] = True
            hit &= ~np.isnan(beta).all(axis=1)
            if hit.any():
                what = "probabilities numerically 0 or 1" if self.family.family == "binomial" else "rates numerically 0"
                notes.append(f"glm.fit: fitted {what} occurred in {int(hit.sum())} group(s) ({_some(levels[hit])})")
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=4)

    def coef(self) -> pd.DataFrame:
        """Coefficients, one row per group (lme4's ``coef(lmList)``); NaN where not estimable."""
        return self._coef.copy()

    def predict(self, newdata, X=None, type: str = "link") -> np.ndarray:
        """Each row's prediction from its own group's fit (NaN for groups with a NaN coefficient).

        Parameters
        ----------
        newdata : DataFrame
            Rows with the formula's columns and the grouping columns.
        X : array, optional
            The model matrix of ``newdata``, if the caller has it already.
        type : {"link", "response"}
            For a glm family: the linear predictor (R's default) or the mean.
        """
        from .frame import level_labels, level_positions

        if type not in ("link", "response"):
            raise ArgumentTypeError(f"type must be 'link' or 'response', not {type!r}")
        new = as_pandas(newdata, "newdata")
        if X is None:
            X = self._model.model_matrix(new) if self._fixed is None else self._fixed.new_X(new)
        X = np.asarray(X, float)
        at = (level_positions(new, self.group_vars, self._coef.index, f"lmList's group {self.group!r}")
              if self.group_vars else np.zeros(len(new), np.intp))
        if (at < 0).any():
            unknown = sorted(set(level_labels(new, self.group_vars, self.group)[at < 0]))[:5]
            raise DataError(f"groups {unknown} of {self.group!r} in newdata have no fit in this lmList")
        offset = self._new_offset(new)
        eta = np.einsum("ij,ij->i", X, self._coef.to_numpy()[at]) + (0.0 if offset is None else offset)
        return self.family.linkinv(eta) if type == "response" and self.family is not None else eta

    def __repr__(self) -> str:
        fam = "" if self.family is None else f", family {self.family!r}"
        return f"lmList: {self.formula} | {self.group}{fam}\n{self._coef!r}"


class _Batch:
    """Rows of a per-row array laid out groups × rows, zero-padded to ``width`` rows."""

    def __init__(self, codes, order, bounds, width):
        self.groups, self.at = codes[order], np.arange(len(codes)) - bounds[codes[order]]
        self.order, self.shape = order, (len(bounds) - 1, width)

    def pad(self, values, which=None):
        if values is None:
            return None
        out = np.zeros(self.shape + values.shape[1:])
        out[self.groups, self.at] = values[self.order]
        return out if which is None else out[which]


def _weighted_lstsq(X, z, sw):
    """Least squares of ``z`` on ``X`` with row scales ``sw``, for a batch of groups."""
    A, b = X * sw[..., None], z * sw
    Q, R = np.linalg.qr(A)
    qtz = np.einsum("gnp,gn->gp", Q, b)
    try:
        return np.linalg.solve(R, qtz[..., None])[..., 0]
    except np.linalg.LinAlgError:  # a group whose weights vanished on some column: R's pivoting drops it
        out = np.full(qtz.shape, np.nan)
        for g in range(len(A)):
            keep = full_rank_columns(A[g])
            out[g, keep] = np.linalg.lstsq(A[g][:, keep], b[g], rcond=None)[0]
        return out


def _irls(family, X, y, prior, offset, eta):
    """R's ``glm.fit`` on a batch of groups: iteratively reweighted least squares from the
    family's starting means, stopping each group when its deviance changes by less than
    ``GLM_EPSILON`` relatively, halving steps to non-finite deviances or invalid means."""
    real = prior > 0
    G = len(X)
    with np.errstate(all="ignore"):
        mu = family.linkinv(eta)
        dev_old = _deviance(family, y, mu, prior, real)
        beta = np.full(X.shape[::2], np.nan)
        converged, active = np.zeros(G, bool), np.ones(G, bool)
        for _ in range(GLM_MAXIT):
            a = np.flatnonzero(active)
            d_mu = family.mu_eta(eta[a])
            good = real[a] & (d_mu != 0)
            z = np.where(good, eta[a] - offset[a] + (y[a] - mu[a]) / d_mu, 0.0)
            sw = np.where(good, np.sqrt(prior[a] * d_mu**2 / family.variance(mu[a])), 0.0)
            new = _weighted_lstsq(X[a], z, sw)
            new_eta = np.einsum("gnp,gp->gn", X[a], new) + offset[a]
            new_mu = family.linkinv(new_eta)
            dev = _deviance(family, y[a], new_mu, prior[a], real[a])
            for k in np.flatnonzero(~_valid(family, new_eta, new_mu, real[a], dev)):
                g = a[k]
                if np.isnan(beta[g]).any():  # no earlier coefficients to step back to: R's glm stops
                    active[g], new[k] = False, np.nan
                    continue
                for _ in range(GLM_MAXIT):  # glm.fit's step halving
                    new[k] = (new[k] + beta[g]) / 2
                    new_eta[k] = X[g] @ new[k] + offset[g]
                    new_mu[k] = family.linkinv(new_eta[k])
                    dev[k] = _deviance(family, y[g][None], new_mu[k][None], prior[g][None], real[g][None])[0]
                    if _valid(family, new_eta[k][None], new_mu[k][None], real[g][None], dev[k][None])[0]:
                        break
                else:  # R's glm stops: "cannot correct step size"
                    active[g], new[k] = False, np.nan
            done = np.abs(dev - dev_old[a]) / (np.abs(dev) + 0.1) < GLM_EPSILON
            beta[a], eta[a], mu[a], dev_old[a] = new, new_eta, new_mu, dev
            converged[a] |= done
            active[a] &= ~done
            if not active.any():
                break
    return beta, converged


def _deviance(family, y, mu, prior, real):
    """Each group's deviance over its real (not padded) rows."""
    d = np.zeros(mu.shape)
    d[real] = family.dev_resids(y[real], mu[real], prior[real])
    return d.sum(axis=1)


def _valid(family, eta, mu, real, dev):
    """Which groups have a finite deviance and a valid linear predictor and mean."""
    ok = np.isfinite(dev)
    if family.valideta(eta[real]) and family.validmu(mu[real]):
        return ok
    for g in np.flatnonzero(ok):
        ok[g] = family.valideta(eta[g][real[g]]) and family.validmu(mu[g][real[g]])
    return ok


def _one_level_groups(spec, frame, codes, ngroups) -> np.ndarray:
    """Groups in which a factor of the formula takes a single level (R's contrasts fail)."""
    failed = np.zeros(ngroups, bool)
    for _, values, _, _ in factor_values(spec, frame):
        level, _ = pd.factorize(values)
        pairs = np.unique(np.column_stack([codes, level]), axis=0)
        failed |= np.bincount(pairs[:, 0], minlength=ngroups) < 2
    return failed


def _some(levels, most: int = 5) -> str:
    shown = ", ".join(label(v) for v in levels[:most])
    return shown + (", ..." if len(levels) > most else "")


def lmList(formula, data=None, family=None, weights=None) -> LmList:
    """Fit ``response ~ terms`` within each group (lme4's ``lmList``): least squares, or with
    ``family`` a glm per group (R's ``glm``).

    Parameters
    ----------
    formula : str or fitted model
        ``"Reaction ~ Days | Subject"``; or an :func:`lmer` or :func:`glmer` fit, whose fixed
        formula is then fitted per level of its first grouping factor on the rows, weights and
        offset it was fitted to (by glm in its family for a glmer fit).
    data : DataFrame, optional
        Needed with a formula string.
    family : str or Family, optional
        ``"binomial"``, ``lp.poisson()``, ``lp.Gamma(link="log")`` ...: the responses R's glm
        takes (0/1, logical, factor, proportions with ``weights``, ``cbind(successes, failures)``).
    weights : str or array, optional
        Prior weights: a column name or one value per row.

    Returns
    -------
    LmList
    """
    if hasattr(formula, "variables") and hasattr(formula, "frame"):
        if family is not None or weights is not None:
            raise ArgumentTypeError("lmList(model) takes the family and weights from the model")
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
    return LmList(f"{sides[0][1].strip()} ~ {terms}", group_vars, data, family=family, weights=weights)
