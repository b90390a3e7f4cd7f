"""Kenward and Roger's adjusted covariance of β̂ and denominator df, as pbkrtest computes them.

The variance parameters γ are, term by term, the entries σ²(TTᵀ)ᵢⱼ (i ≥ j) of each
random term's covariance, then the residual variance σ². The marginal covariance is
V = Σᵣ γᵣ Gᵣ with Gᵣ = Z (I ⊗ Eᵢⱼ) Zᵀ for a term's entry (i, j) and G = I for σ². With
W = V⁻¹ and Φ = vcov(β̂), pbkrtest forms

    Pᵣ = −XᵀWGᵣWX,   Qᵣₛ = XᵀWGᵣWGₛWX,   Kᵣₛ = tr(WGᵣWGₛ),
    Iᵣₛ = Kᵣₛ − 2 tr(ΦQᵣₛ) + tr(ΦPᵣΦPₛ),   𝒲 = 2 I⁻¹,
    Φ_A = Φ + 2 Φ [Σᵣₛ 𝒲ᵣₛ (Qᵣₛ − PᵣΦPₛ)] Φ     (its Rᵣₛ terms are 0 for linear models),

and the df of a hypothesis Lβ = 0 from 𝒲, the Pᵣ and Φ. pbkrtest works with dense n × n
matrices; here every product is taken in the space of the q random effects, through
W = σ⁻²(I − ZΛM⁻¹ΛᵀZᵀ) with M = ΛᵀZᵀZΛ + I, so that nothing n × n is ever formed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .errors import DataError
from .linalg import FactorPattern, term_matrix

MAX_RANDOM_EFFECTS = 5000


@dataclass(frozen=True, eq=False)
class KenwardRoger:
    """Kenward-Roger's inference for the fixed effects of one REML fit (pbkrtest's numbers).

    Attributes
    ----------
    vcov_beta : numpy.ndarray
        The adjusted covariance Φ_A of β̂ (pbkrtest's ``vcovAdj``), p × p.
    vcov_unadjusted : numpy.ndarray
        Φ, the model's ``vcov()``.
    P : numpy.ndarray
        The Pᵣ, one p × p matrix per variance parameter.
    W : numpy.ndarray
        𝒲, twice the inverse of the variance parameters' expected information.
    beta : numpy.ndarray
        The fixed-effects estimates.
    """

    vcov_beta: np.ndarray
    vcov_unadjusted: np.ndarray
    P: np.ndarray
    W: np.ndarray
    beta: np.ndarray

    def ddf(self, L: np.ndarray) -> float:
        """Kenward-Roger denominator df of ``L β = 0`` (pbkrtest's ``Lb_ddf``), L of full row rank."""
        return self._adjustment(np.atleast_2d(np.asarray(L, float)))[0]

    def coef_df(self) -> np.ndarray:
        """Kenward-Roger df of each coefficient, as lmerTest's ``summary(m, ddf="Kenward-Roger")``."""
        return np.array([self.ddf(row) for row in np.eye(self.beta.size)])

    def f_test(self, L: np.ndarray, beta: np.ndarray | None = None) -> tuple[float, int, float]:
        """Scaled F value, numerator df and denominator df of ``L β = 0``.

        As lmerTest's ``anova(m, ddf="Kenward-Roger")`` reports pbkrtest's ``KRmodcomp``:
        the Wald statistic on Φ_A divided by the rank of L, times KR's F scaling. Rows of
        L that are linearly dependent are reduced to an orthonormal basis of its row space.

        Parameters
        ----------
        L : array_like
            Contrast matrix, one hypothesis per row (p columns).
        beta : array_like, optional
            The estimates to test; the fit's β̂ by default.
        """
        L = _full_row_rank(np.atleast_2d(np.asarray(L, float)))
        beta = self.beta if beta is None else np.asarray(beta, float)
        ddf, scaling = self._adjustment(L)
        Lb = L @ beta
        wald = float(Lb @ np.linalg.solve(L @ self.vcov_beta @ L.T, Lb))
        q = L.shape[0]
        return scaling * wald / q, q, ddf

    def _adjustment(self, L: np.ndarray) -> tuple[float, float]:
        """KR's denominator df and F scaling for a full-row-rank L (pbkrtest's ``.KR_adjust``).

        Degenerate cases give inf or nan, as R's arithmetic does.
        """
        phi = self.vcov_unadjusted
        q = L.shape[0]
        theta = L.T @ np.linalg.solve(L @ phi @ L.T, L)
        U = theta @ phi @ self.P @ phi  # k × p × p
        traces = np.trace(U, axis1=1, axis2=2)
        A1 = traces @ self.W @ traces
        A2 = np.einsum("rs,rab,sba->", self.W, U, U)
        with np.errstate(divide="ignore", invalid="ignore"):
            B = (A1 + 6 * A2) / (2 * q)
            g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
            denom = 3 * q + 2 * (1 - g)
            c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
            V0 = 1 + c1 * B
            V0 = 0.0 if abs(V0) < 1e-10 else V0
            V1, V2 = 1 - c2 * B, 1 - c3 * B
            ratio = 1.0 if abs(1 - A2 / q) < 1e-14 and abs(V1) < 1e-14 else (1 - A2 / q) / V1
            rho = ratio**2 * V0 / (q * V2)
            ddf = 4 + (q + 2) / (q * rho - 1)
            scaling = 1.0 if abs(ddf - 2) < 0.01 else ddf * (1 - A2 / q) / (ddf - 2)
        return float(ddf), float(scaling)


def kenward_roger(model) -> KenwardRoger:
    """Kenward-Roger's adjusted covariance and df machinery for a REML fit.

    Parameters
    ----------
    model : LinearMixedModel
        A fit by REML; it is not modified.

    Raises
    ------
    DataError
        For ML fits (as lmerTest), or when the model has too many random effects for
        the dense q × q work.
    """
    if not model.REML:
        raise DataError("Kenward-Roger's method is only available for REML model fits")
    q = sum(t.q for t in model.terms)
    if q > MAX_RANDOM_EFFECTS:
        raise DataError(
            f"Kenward-Roger's method needs dense q × q matrices; this model has q = {q} random "
            f"effects (more than {MAX_RANDOM_EFFECTS}); use ddf='Satterthwaite'"
        )
    phi = model.vcov().to_numpy()
    P, Q, K = _information_pieces(model)
    info = K - 2 * np.einsum("ab,rsba->rs", phi, Q) + np.einsum("rab,bc,scd,da->rs", P, phi, P, phi)
    W = 2 * _inverse(info)
    U = np.einsum("rs,rsab->ab", W, Q) - np.einsum("rs,rab,bc,scd->ad", W, P, phi, P)
    vcov_adj = phi + 2 * phi @ U @ phi
    return KenwardRoger(vcov_beta=(vcov_adj + vcov_adj.T) / 2, vcov_unadjusted=phi, P=P, W=W,
                        beta=np.asarray(model.beta, float).copy())


def _inverse(info: np.ndarray) -> np.ndarray:
    """The inverse, or MASS::ginv's pseudo-inverse when an eigenvalue is within 1e-10 of 0 (as pbkrtest)."""
    if np.min(np.abs(np.linalg.eigvalsh(info))) > 1e-10:
        return np.linalg.inv(info)
    return np.linalg.pinv(info, rcond=np.sqrt(np.finfo(float).eps), hermitian=True)


def _information_pieces(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Pᵣ (k × p × p), Qᵣₛ (k × k × p × p) and Kᵣₛ (k × k) of every variance parameter."""
    forms = _weighted_cross_products(model)
    C1, D1, C2, D2, E2, E3, trace_W2 = (forms[key] for key in ("C1", "D1", "C2", "D2", "E2", "E3", "trW2"))
    components = _covariance_components(model.terms)
    k, p = len(components) + 1, D1.shape[1]
    P = np.zeros((k, p, p))
    Q = np.zeros((k, k, p, p))
    K = np.zeros((k, k))
    for r, pairs_r in enumerate(components):
        P[r] = -sum(D1[a].T @ D1[b] for a, b in pairs_r)
        for s, pairs_s in enumerate(components):
            Q[r, s] = sum(D1[a].T @ C1[np.ix_(b, c)] @ D1[d] for a, b in pairs_r for c, d in pairs_s)
            K[r, s] = sum(np.sum(C1[np.ix_(d, a)] * C1[np.ix_(c, b)]) for a, b in pairs_r for c, d in pairs_s)
        Q[r, -1] = sum(D1[a].T @ D2[b] for a, b in pairs_r)
        Q[-1, r] = Q[r, -1].T
        K[r, -1] = K[-1, r] = sum(np.trace(C2[np.ix_(b, a)]) for a, b in pairs_r)
    P[-1] = -E2
    Q[-1, -1] = E3
    K[-1, -1] = trace_W2
    return P, Q, K


def _covariance_components(terms) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Each random term's variance parameters as index pairs: Gᵣ = Σ Z[:, a] Z[:, b]ᵀ.

    Z's columns run level by level within each term (lme4's order), so effect i of a term
    starting at column c owns columns c + i, c + i + p, ... Order: the lower triangle of
    each term's covariance, column by column (pbkrtest's order).
    """
    out, start = [], 0
    for t in terms:
        effect = [start + i + t.p * np.arange(t.nlevels) for i in range(t.p)]
        for i, j in zip(*t.tril):
            out.append([(effect[i], effect[i])] if i == j else [(effect[i], effect[j]), (effect[j], effect[i])])
        start += t.q
    return out


def _weighted_cross_products(model) -> dict:
    """ZᵀWʲZ, ZᵀWʲX, XᵀWʲX for j = 1, 2 (and XᵀW³X, tr W²) by Woodbury on [Z X].

    With V = ZΛ, M = VᵀV + I = E diag(μ) Eᵀ and W = σ⁻²(I − VM⁻¹Vᵀ), one has
    Wʲ = σ⁻²ʲ(I − V (Σᵢ₌₁..ⱼ M⁻ⁱ) Vᵀ) and tr W² = σ⁻⁴(n − q + Σ μ⁻²).
    """
    terms, X = model.terms, model.fixed.X
    n, q = X.shape[0], sum(t.q for t in model.terms)
    Z = sp.hstack([term_matrix(t) for t in terms], format="csc")
    lam = FactorPattern(terms, 0).matrix(model.theta)
    ZtZ = (Z.T @ Z).toarray()
    ZtX = np.asarray(Z.T @ X)
    S = np.block([[ZtZ, ZtX], [ZtX.T, X.T @ X]])
    K = np.asarray((lam.T @ S[:q]).T)  # [Z X]ᵀ Z Λ, (q + p) × q
    mu, E = np.linalg.eigh(np.asarray(lam.T @ K[:q]) + np.eye(q))
    KE = K @ E
    s2 = model.sigma**2

    def power(j: int, rows=slice(None)) -> np.ndarray:
        weights = sum(mu**-i for i in range(1, j + 1))
        return (S[rows, rows] - (KE[rows] * weights) @ KE[rows].T) / s2**j

    F1, F2 = power(1), power(2)
    fixed = slice(q, None)
    return {
        "C1": F1[:q, :q], "D1": F1[:q, q:], "C2": F2[:q, :q], "D2": F2[:q, q:], "E2": F2[q:, q:],
        "E3": power(3, fixed), "trW2": (n - q + np.sum(mu**-2.0)) / s2**2,
    }


def _full_row_rank(L: np.ndarray) -> np.ndarray:
    """L itself when its rows are independent, else an orthonormal basis of its row space."""
    rank = np.linalg.matrix_rank(L)
    if rank == L.shape[0]:
        return L
    return np.linalg.svd(L)[2][:rank]
