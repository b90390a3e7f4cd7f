"""The blocked system of penalized least squares: A = [Z X y]'[Z X y] and its Cholesky factor.

The first random-effects term (the one with most levels) is block-diagonal in A: one
p1 × p1 block per level, factored as a batch. Every other column (the remaining terms'
effects, X and y) forms one dense block, updated by a Schur complement whose sparse
part is a sparse product. Nothing here depends on θ until :meth:`BlockedSystem.factor`.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from .terms import RandomTerm


_SMALL = 48  # below this size the compiled loop factors faster than a LAPACK call
_NO_ROWS = np.zeros(0)


def triangular_inverse(R: np.ndarray, lower: bool = False) -> np.ndarray:
    """R⁻¹ of a triangular R (the other triangle is not read), by LAPACK's dtrtri.

    ``scipy.linalg.solve_triangular(R, I)`` gives the same through OpenBLAS's trtrs, whose
    threads spin: 8 ms of CPU for a 2 × 2 with another process busy (dtrtri: 2 µs).
    """
    inv, info = scipy.linalg.lapack.dtrtri(np.asarray(R, dtype=float), lower=int(lower))
    if info > 0:
        raise np.linalg.LinAlgError(f"singular matrix: resolution failed at diagonal {info - 1}")
    return inv


def _kernels():
    """The compiled loops, :mod:`.kernels`, imported by the first factorization: numba's import
    and set-up take most of a second, which importing (or unpickling) a model need not pay."""
    from . import kernels

    return kernels


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextmanager
def single_threaded_blas():
    """A context in which BLAS runs on one thread; the limits before it are restored after it.

    OpenBLAS's threads spin while they wait: with another process busy on one of two cores,
    a 1157 × 1157 Cholesky took 0.55 s on two threads and 0.019 s on one, and a fit's
    cross-products and QR slowed alike. A fit is a long chain of mid-sized calls; one
    thread is never much slower and never pathological.

    The limit is the process's: contexts nest and overlap across threads, so the first to
    enter sets it and the last to leave restores what it found (each restoring its own
    snapshot would leave the limit at 1 when fits from two threads overlap).
    """
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = _threadpools().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


def level_sums(codes: np.ndarray, values: np.ndarray, nlevels: int) -> np.ndarray:
    """Column sums of ``values`` (n × k) within each level: nlevels × k."""
    return np.column_stack([np.bincount(codes, weights=values[:, j], minlength=nlevels)
                            for j in range(values.shape[1])])


def level_cross(codes: np.ndarray, A: np.ndarray, B: np.ndarray, nlevels: int) -> np.ndarray:
    """Σ over the rows of each level of A_i B_iᵀ: nlevels × a × b, one column pair at a time.

    No n × a × b product is formed: ten million rows cost a few n-vectors of memory.
    """
    out = np.empty((nlevels, A.shape[1], B.shape[1]))
    for i in range(A.shape[1]):
        for j in range(B.shape[1]):
            out[:, i, j] = np.bincount(codes, weights=A[:, i] * B[:, j], minlength=nlevels)
    return out


def term_matrix(term: RandomTerm) -> sp.csr_array:
    """The sparse n × q block of Z for one term, columns level by level."""
    n, p = term.rows.shape
    cols = (term.codes[:, None] * p + np.arange(p)).ravel()
    rows = np.repeat(np.arange(n), p)
    return sp.csr_array((term.rows.ravel(), (rows, cols)), shape=(n, term.q))


class FactorPattern:
    """Λ for a list of terms as a sparse matrix whose entries are read off θ.

    The pattern (lme4's ``Lind``) is fixed; each θ only refills the data array.
    """

    def __init__(self, terms: list[RandomTerm], theta_offset: int):
        rows, cols, which = [], [], []
        col0, th0 = 0, theta_offset
        for t in terms:
            r, c = t.tril
            lev = np.arange(t.nlevels)[:, None] * t.p
            rows.append((lev + r).ravel() + col0)
            cols.append((lev + c).ravel() + col0)
            which.append(np.tile(np.arange(t.ntheta) + th0, t.nlevels))
            col0 += t.q
            th0 += t.ntheta
        self.size = col0
        rows, cols, which = (np.concatenate(a) if a else np.zeros(0, int) for a in (rows, cols, which))
        # order the entries as CSR stores them, so that θ fills .data directly
        coo = sp.coo_array((np.arange(rows.size, dtype=float), (rows, cols)), shape=(col0, col0))
        csr = coo.tocsr()
        self._template = csr
        self._which = which[csr.data.astype(np.intp)]

    def matrix(self, theta: np.ndarray) -> sp.csr_array:
        lam = self._template.copy()
        lam.data = theta[self._which]
        return lam

    def diagonal(self, theta: np.ndarray) -> np.ndarray:
        """Λ's diagonal, when every term is scalar (Λ is then diagonal, one entry per row)."""
        return theta[self._which]


@dataclass
class Factor:
    """The Cholesky factor at one θ, and the pieces later steps reuse."""

    theta: np.ndarray
    T1: np.ndarray  # p1 × p1
    L11: np.ndarray  # l1 × p1 × p1, lower
    L22: np.ndarray  # (q_rest + p + 1) square, lower
    pattern: "FactorPattern | None"
    logdet1: float  # log|L11|²
    ok: bool = True

    @cached_property
    def lam_rest(self) -> sp.csr_array | None:
        """Λ of the terms after the first, as a sparse matrix."""
        return None if self.pattern is None else self.pattern.matrix(self.theta)

    @cached_property
    def L11inv(self) -> np.ndarray:
        return np.linalg.inv(self.L11)

    def logdet_z(self, q_rest: int) -> float:
        """log|L_Z|², the random effects' part of the log-determinant."""
        return self.logdet1 + 2.0 * np.log(np.diag(self.L22)[:q_rest]).sum()


def orthogonal_design(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None):
    """X = QR and y's residual on X: the well-conditioned columns the cross-products are made of.

    [Z X y]ᵀ[Z X y] squares the conditioning of [X y]: a response or predictor far from zero
    (a response of 1e9 ± 25) leaves too few digits for the criterion. θ, u, the residuals and
    the criterion (up to the constant log|R|² in REML's) are unchanged when X is replaced by
    Q and y by y − Qc, c = QᵀWy; the user's β is R⁻¹(β_Q + c). With row weights W, Q is
    orthonormal in W's inner product (QᵀWQ = I).

    Returns
    -------
    Q, R (diagonal positive), c, y − Qc
    """
    sw = None if weights is None else np.sqrt(weights)
    Qw, R = np.linalg.qr(X if sw is None else X * sw[:, None])
    sign = np.where(np.diag(R) < 0, -1.0, 1.0)
    Qw, R = Qw * sign, R * sign[:, None]
    yw = y if sw is None else y * sw
    coef = Qw.T @ yw
    resid = yw - Qw @ coef
    again = Qw.T @ resid  # one more projection: what rounding left in the span of X
    coef, resid = coef + again, resid - Qw @ again
    if sw is None:
        return Qw, R, coef, resid
    return Qw / sw[:, None], R, coef, resid / sw


class BlockedSystem:
    """A's blocks for a model; :meth:`factor` updates L for a θ.

    The fixed effects enter as the Q of X = QR and the response as its residual on X
    (:func:`orthogonal_design`); :meth:`RX` and :meth:`solve` give them back in the user's terms.

    Rows may carry weights w (prior weights, or a GLMM's working weights): the blocks are
    then [Z X y]ᵀ diag(w) [Z X y], and the criteria subtract Σ log w as lme4 does. The
    structure (levels, sparsity, the grouping of the crossed terms' products) is derived
    once; :meth:`reweight` refills the blocks for new weights and a new response.
    """

    def __init__(self, terms: list[RandomTerm], X: np.ndarray, y: np.ndarray,
                 weights: np.ndarray | None = None):
        first, rest = terms[0], terms[1:]
        self.terms = terms
        self.first = first
        self.X = X
        self.n, self.p = X.shape
        self.p1, self.l1 = first.p, first.nlevels
        self.theta_slices = []
        start = 0
        for t in terms:
            self.theta_slices.append(slice(start, start + t.ntheta))
            start += t.ntheta
        self.ntheta = start
        self.mxy = self.p + 1
        self.q_rest = sum(t.q for t in rest)
        if rest:
            Zr = sp.hstack([term_matrix(t) for t in rest], format="csr")
            self.Z_rest = Zr
            self._Zr_rows = np.repeat(np.arange(self.n), np.diff(Zr.indptr))
            self._pairs = _RestPairs(Zr, self._Zr_rows, first)
            self._rest_cross = _RestCross(Zr, self._Zr_rows)
            self._ZrT = Zr.T.tocsr()
            self.pattern = FactorPattern(rest, self.theta_slices[1].start)
            self.lam_diagonal = all(t.p == 1 for t in rest)
        else:
            self.Z_rest = None
            self.blocks = (np.zeros(self.l1 + 1, dtype=np.int64), np.zeros(0, dtype=np.int64),
                           np.zeros((0, self.p1)))
        self.reweight(weights, y)

    def reweight(self, weights: np.ndarray | None, y: np.ndarray) -> None:
        """Refill every block for row weights ``weights`` (None: all 1) and response ``y``.

        The structure is reused: this is what a PIRLS iteration pays, a few passes over the rows.
        """
        self.__dict__.pop("A21z", None)
        self.y = y
        self.w = weights
        with np.errstate(divide="ignore"):  # a GLMM's working weights may be 0; it never asks
            self.log_weights = 0.0 if weights is None else float(np.log(weights).sum())
        self.Xq, self.R_X, self.y_coef, resid = orthogonal_design(self.X, y, weights)
        self.logdet_R = 2.0 * np.log(np.diag(self.R_X)).sum()  # log|R_X|², the REML term's offset
        W = np.column_stack([self.Xq, resid])
        Ww = W if weights is None else W * weights[:, None]
        first = self.first
        R1 = first.rows
        R1w = R1 if weights is None else R1 * weights[:, None]
        self.A11 = level_cross(first.codes, R1w, R1, self.l1)
        self.E = level_cross(first.codes, Ww, R1, self.l1)
        if self.q_rest:
            qr = self.q_rest
            Zr = self.Z_rest
            data = Zr.data if weights is None else Zr.data * weights[self._Zr_rows]
            self.blocks = self._pairs.blocks(data)
            self._Zw_data = data
            A22 = np.empty((qr + self.mxy, qr + self.mxy))
            A22[:qr, :qr] = self._rest_cross.fill(data)
            ZtW = self._ZrT @ Ww  # Z_restᵀ W diag(w): one compiled sparse-dense product
            A22[:qr, qr:] = ZtW
            A22[qr:, :qr] = ZtW.T
            A22[qr:, qr:] = Ww.T @ W
            self.A22 = A22
        else:
            self.A22 = Ww.T @ W

    @cached_property
    def A21z(self) -> sp.csr_array:
        """Z_restᵀ diag(w) Z₁ (q_rest × q1), for post-fit quantities."""
        Zr = self.Z_rest
        Zw = sp.csr_array((self._Zw_data, Zr.indices, Zr.indptr), shape=Zr.shape)
        return (Zw.T @ term_matrix(self.first)).tocsr()

    @property
    def cheap(self) -> bool:
        """Whether an evaluation is cheap: its dense block small enough for the compiled factor."""
        return self.A22.shape[0] <= _SMALL

    def rest_by_first(self, f: Factor) -> np.ndarray:
        """The off-diagonal block Λ_restᵀ Z_restᵀ Z₁ Λ₁ of the penalized cross-product, q_rest × l1 × p1.

        Dense: for post-fit quantities only (conditional variances, leverages).
        """
        dense = (f.lam_rest.T @ self.A21z).toarray()
        return dense.reshape(self.q_rest, self.l1, self.p1) @ f.T1

    def criterion(self, theta: np.ndarray, reml: bool) -> float:
        """The profiled deviance (ML) or REML criterion at ``theta``: the optimizer's objective."""
        if self.cheap and (not self.q_rest or self.lam_diagonal):
            T1 = self.first.factor(theta[self.theta_slices[0]])
            d = self.pattern.diagonal(theta) if self.q_rest else _NO_ROWS
            return _kernels().small_criterion(self.A11, self.E, T1, self.A22, *self.blocks, d, self.q_rest,
                                              self.n, reml) - self.log_weights + (self.logdet_R if reml else 0.0)
        f = self.factor(theta)
        if not f.ok:
            return np.inf
        return self.factor_criterion(f, reml)

    def factor_criterion(self, f: Factor, reml: bool) -> float:
        """The criterion read off a factor."""
        qr, p = self.q_rest, self.p
        log_diag = 2.0 * np.log(f.L22.diagonal())
        logdet_z, logdet_x = f.logdet1 + log_diag[:qr].sum(), log_diag[qr : qr + p].sum() + self.logdet_R
        return _kernels().profiled_criterion(logdet_z, logdet_x, f.L22[-1, -1] ** 2, self.n, p, reml) - self.log_weights

    def RX(self, f: Factor) -> np.ndarray:
        """The upper-triangular R_X of the user's X at a factor: R_XᵀR_X is β's Schur complement."""
        qr, p = self.q_rest, self.p
        return f.L22[qr : qr + p, qr : qr + p].T @ self.R_X

    def deviance_at(self, theta: np.ndarray, sigma2: float, reml: bool) -> float:
        """The deviance (or REML criterion) at θ with σ² given, not profiled out (lmerTest's devfun_vp)."""
        f = self.factor(theta)
        if not f.ok:
            return np.inf
        qr, p = self.q_rest, self.p
        diag = f.L22.diagonal()
        dev = (f.logdet_z(qr) + diag[-1] ** 2 / sigma2 + self.n * np.log(2 * np.pi * sigma2)
               - self.log_weights)
        if reml:
            dev += (2.0 * np.log(np.abs(diag[qr : qr + p])).sum() + self.logdet_R
                    - p * np.log(2 * np.pi * sigma2))
        return dev

    def solve(self, f: Factor, beta: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The penalized least-squares solution at a factor: (u1 (l1 × p1), u_rest, β).

        With ``beta`` given, only u is solved for, the response then being taken as already
        free of Xβ (a GLMM's second stage); otherwise u and β jointly.
        """
        qr, p = self.q_rest, self.p
        L = f.L22
        if beta is None:
            sol = scipy.linalg.solve_triangular(L[:-1, :-1].T, L[-1, :-1], lower=False)
            u_rest = sol[:qr]
            beta = scipy.linalg.solve_triangular(self.R_X, sol[qr:] + self.y_coef, lower=False)
            resid = self.y - self.X @ beta
        else:
            # L's last row holds y − Qc; its Z part is linear in the column, so add back Q's rows times c
            y_row = L[-1, :qr] + self.y_coef @ L[qr : qr + p, :qr]
            u_rest = scipy.linalg.solve_triangular(L[:qr, :qr].T, y_row, lower=False)
            resid = self.y
        if qr:
            resid = resid - self.Z_rest @ self.lam_rest_times(f.theta, u_rest)
        first = self.first
        wr = resid if self.w is None else resid * self.w
        if self.p1 == 1:
            rhs1 = np.bincount(first.codes, weights=first.rows[:, 0] * wr, minlength=self.l1) * f.T1[0, 0]
            return (rhs1 / f.L11[:, 0, 0] ** 2)[:, None], u_rest, beta
        rhs1 = level_sums(first.codes, first.rows * wr[:, None], self.l1) @ f.T1  # rows T1ᵀ z_j
        inv = f.L11inv
        u1 = np.einsum("jba,jb->ja", inv, np.einsum("jab,jb->ja", inv, rhs1))
        return u1, u_rest, beta

    def lam_rest_times(self, theta: np.ndarray, u_rest: np.ndarray) -> np.ndarray:
        """Λ_rest u_rest (a product with Λ's diagonal where the other terms are scalar)."""
        if self.lam_diagonal:
            return self.pattern.diagonal(theta) * u_rest
        return self.pattern.matrix(theta) @ u_rest

    def factor(self, theta: np.ndarray) -> Factor:
        """The blocked Cholesky factor of [ΛᵀZᵀZΛ + I, ΛᵀZᵀX, ΛᵀZᵀy; …] at ``theta``."""
        T1 = self.first.factor(theta[self.theta_slices[0]])
        p1, l1, qr, m = self.p1, self.l1, self.q_rest, self.mxy
        L11 = np.zeros((l1, p1, p1))
        W = np.empty((l1, p1, p1))
        F = np.empty((l1, m, p1))
        G = np.zeros((m, m))
        kernels = _kernels()
        logdet1 = kernels.first_block(self.A11, self.E, T1, L11, W, F, G)
        pattern = None
        S = self.A22.copy()
        S[qr:, qr:] -= G
        if qr:
            pattern = self.pattern
            kernels.rest_update(*self.blocks, W, F, S, qr)  # the Schur update, lower triangle
            if self.lam_diagonal:
                kernels.scale_lower(S, qr, pattern.diagonal(theta))
            else:
                lam = pattern.matrix(theta)
                S = np.tril(S) + np.tril(S, -1).T
                S[:qr, :qr] = np.asarray(lam.T @ (lam.T @ S[:qr, :qr]).T).T
                S[:qr, qr:] = np.asarray(lam.T @ S[:qr, qr:])
                S[qr:, :qr] = S[:qr, qr:].T
                S[np.arange(qr), np.arange(qr)] += 1.0
        if S.shape[0] <= _SMALL:
            ok = kernels.cholesky_lower(S)
            L22 = S
        else:
            try:
                with single_threaded_blas():  # also when called outside lmer (profiles, df)
                    L22 = scipy.linalg.cholesky(S, lower=True, overwrite_a=True, check_finite=False)
                ok = bool(np.all(np.isfinite(np.diag(L22))))
            except np.linalg.LinAlgError:
                L22, ok = S, False
        return Factor(theta, T1, L11, L22, pattern, logdet1, ok=ok)


class _RestCross:
    """Z_restᵀ diag(w) Z_rest as a dense block, refilled from the weighted nonzeros.

    The (column, column) pairs that share a row are found once; each weighting sums each
    row's nonzero products into them (no sparse product, no new sparse structure).
    """

    def __init__(self, Zr: sp.csr_array, rows_of_nonzeros: np.ndarray):
        q = Zr.shape[1]
        counts = np.diff(Zr.indptr)
        # every ordered pair (a, b) of nonzeros in the same row
        starts = np.repeat(Zr.indptr[:-1], counts)
        a = np.repeat(np.arange(Zr.nnz), counts[rows_of_nonzeros])
        b = starts[a] + (np.arange(a.size) - np.repeat(np.cumsum(counts[rows_of_nonzeros]) - counts[rows_of_nonzeros],
                                                        counts[rows_of_nonzeros]))
        flat = Zr.indices[a].astype(np.int64) * q + Zr.indices[b]
        self.cells, self.inverse = np.unique(flat, return_inverse=True)
        self.inverse = self.inverse.ravel()
        self.a, self.b_data = a, Zr.data[b]
        self.q = q

    def fill(self, weighted_data: np.ndarray) -> np.ndarray:
        out = np.zeros(self.q * self.q)
        out[self.cells] = np.bincount(self.inverse, weights=weighted_data[self.a] * self.b_data,
                                      minlength=self.cells.size)
        return out.reshape(self.q, self.q)


class _RestPairs:
    """Where each nonzero of Z_rest falls among the (first-term level, other effect) pairs.

    rest_update reads, per level j of the first term, the other effects sharing rows with it
    and their p1 cross-products with the level's columns; the pairs are found once, and each
    weighting only sums the nonzeros into them.
    """

    def __init__(self, Zr: sp.csr_array, rows_of_nonzeros: np.ndarray, first: RandomTerm):
        q = Zr.shape[1]
        key = first.codes[rows_of_nonzeros].astype(np.int64) * q + Zr.indices
        uniq, inverse = np.unique(key, return_inverse=True)
        self.inverse = inverse.ravel()
        self.npairs = uniq.size
        self.R1 = first.rows[rows_of_nonzeros]
        self.rows = (uniq % q).astype(np.int64)
        self.ptr = np.searchsorted(uniq // q, np.arange(first.nlevels + 1)).astype(np.int64)

    def blocks(self, data: np.ndarray):
        """(ptr, rows, vals) for rest_update, Z_rest's (weighted) nonzeros being ``data``."""
        vals = np.column_stack([np.bincount(self.inverse, weights=data * self.R1[:, a], minlength=self.npairs)
                                for a in range(self.R1.shape[1])])
        return self.ptr, self.rows, vals
