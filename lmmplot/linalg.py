"""The blocked system of penalized least squares: A = [Z X y]'[Z X y] and its Cholesky factor.

The first random-effects term (the one with most levels) is block-diagonal in A: one
p1 × p1 block per level, factored as a batch. Every other column (the remaining terms'
effects, X and y) forms one dense block, updated by a Schur complement whose sparse
part is a sparse product. Nothing here depends on θ until :meth:`BlockedSystem.factor`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .terms import RandomTerm


def level_sums(codes: np.ndarray, values: np.ndarray, nlevels: int) -> np.ndarray:
    """Column sums of ``values`` (n × k) within each level: nlevels × k."""
    n = codes.size
    indicator = sp.csr_array((np.ones(n), (codes, np.arange(n))), shape=(nlevels, n))
    return indicator @ values


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


@dataclass
class Factor:
    """The Cholesky factor at one θ, and the pieces later steps reuse."""

    theta: np.ndarray
    T1: np.ndarray  # p1 × p1
    L11: np.ndarray  # l1 × p1 × p1, lower
    L11inv: np.ndarray  # l1 × p1 × p1
    L22: np.ndarray  # (q_rest + p + 1) square, lower
    lam_rest: sp.csr_array | None
    ok: bool = True

    def logdet_z(self, q_rest: int) -> float:
        d1 = np.diagonal(self.L11, axis1=1, axis2=2)
        return 2.0 * (np.log(d1).sum() + np.log(np.diag(self.L22)[:q_rest]).sum())


class BlockedSystem:
    """A's blocks for a model, computed once; :meth:`factor` updates L for a θ."""

    def __init__(self, terms: list[RandomTerm], X: np.ndarray, y: np.ndarray):
        first, rest = terms[0], terms[1:]
        self.terms = terms
        self.first = first
        self.n, self.p = X.shape
        self.p1, self.l1 = first.p, first.nlevels
        self.theta_slices = []
        start = 0
        for t in terms:
            self.theta_slices.append(slice(start, start + t.ntheta))
            start += t.ntheta
        self.ntheta = start
        W = np.column_stack([X, y])
        self.mxy = W.shape[1]
        n, p1, l1 = self.n, self.p1, self.l1
        R1 = first.rows
        self.A11 = level_sums(first.codes, (R1[:, :, None] * R1[:, None, :]).reshape(n, -1), l1)
        self.A11 = self.A11.reshape(l1, p1, p1)
        E = level_sums(first.codes, (W[:, :, None] * R1[:, None, :]).reshape(n, -1), l1)
        self.E = E.reshape(l1, self.mxy, p1)
        self.q_rest = sum(t.q for t in rest)
        if rest:
            Zr = sp.hstack([term_matrix(t) for t in rest], format="csr")
            self.Z_rest = Zr
            self.A21z = (Zr.T @ term_matrix(first)).tocsr()  # q_rest × q1
            ZtW = np.asarray(Zr.T @ W)
            ZtZ = (Zr.T @ Zr).toarray()
            self.A22 = np.block([[ZtZ, ZtW], [ZtW.T, W.T @ W]])
            self.pattern = FactorPattern(rest, self.theta_slices[1].start)
            self._bsr_index = (np.arange(l1), np.arange(l1 + 1))
        else:
            self.Z_rest = None
            self.A22 = W.T @ W

    def factor(self, theta: np.ndarray) -> Factor:
        """The blocked Cholesky factor of [ΛᵀZᵀZΛ + I, ΛᵀZᵀX, ΛᵀZᵀy; …] at ``theta``."""
        T1 = self.first.factor(theta[self.theta_slices[0]])
        p1, l1, qr = self.p1, self.l1, self.q_rest
        if p1 == 1:
            t = T1[0, 0]
            L11 = np.sqrt(t * t * self.A11 + 1.0)
            L11inv = 1.0 / L11
            Wb = t * L11inv  # T1 L11^{-T}, per level
            F = self.E * Wb  # l1 × mxy × 1
        else:
            M11 = T1.T @ self.A11 @ T1
            M11[:, np.arange(p1), np.arange(p1)] += 1.0
            L11 = np.linalg.cholesky(M11)
            L11inv = np.linalg.inv(L11)
            Wb = T1 @ np.swapaxes(L11inv, 1, 2)
            F = self.E @ Wb
        F2 = np.swapaxes(F, 0, 1).reshape(self.mxy, l1 * p1)
        G_xy = F2 @ F2.T
        lam = None
        if qr:
            if p1 == 1:
                H = self.A21z.multiply(Wb.reshape(1, l1)).tocsr()
            else:
                H = self.A21z @ sp.bsr_array((Wb, *self._bsr_index), shape=(l1 * p1, l1 * p1))
            G_zz = (H @ H.T).toarray()
            G_zx = np.asarray(H @ F2.T)
            S = self.A22 - np.block([[G_zz, G_zx], [G_zx.T, G_xy]])
            lam = self.pattern.matrix(theta)
            Sz = S[:qr]
            top = np.asarray(lam.T @ Sz)  # Λᵀ [S_zz S_zx]
            S_zz = np.asarray(lam.T @ top[:, :qr].T).T
            S[:qr, :qr] = S_zz
            S[:qr, qr:] = top[:, qr:]
            S[qr:, :qr] = top[:, qr:].T
            S[np.arange(qr), np.arange(qr)] += 1.0
        else:
            S = self.A22 - G_xy
        try:
            L22 = scipy.linalg.cholesky(S, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return Factor(theta, T1, L11.reshape(l1, p1, p1), L11inv, S, lam, ok=False)
        return Factor(theta, T1, L11.reshape(l1, p1, p1), L11inv.reshape(l1, p1, p1), L22, lam)
