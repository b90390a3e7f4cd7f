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

KR's df and Φ_A are equivariant under a change of basis of the fixed effects (X → XA,
L → LA): they are computed in the orthonormal basis Q of X = QR, so that a predictor far from
0 (x + 1e8) gives the df it gives unshifted; Φ_A is then taken back with R⁻¹.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .errors import DataError
from .linalg import FactorPattern, term_matrix

MAX_RANDOM_EFFECTS = 3000


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
        The Pᵣ, one p × p matrix per variance parameter, in the basis Q of X = QR.
    W : numpy.ndarray
        𝒲, twice the inverse of the variance parameters' expected information.
    beta : numpy.ndarray
        The fixed-effects estimates.
    R : numpy.ndarray
        X = QR's R: a hypothesis Lβ is (LR⁻¹)(Rβ) in the basis Q.
    vcov_q : numpy.ndarray
        Φ in the basis Q, (QᵀWQ)⁻¹.
    """

    vcov_beta: np.ndarray
    vcov_unadjusted: np.ndarray
    P: np.ndarray
    W: np.ndarray
    beta: np.ndarray
    R: np.ndarray
    vcov_q: np.ndarray

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
        phi = self.vcov_q
        L = scipy.linalg.solve_triangular(self.R, L.T, trans="T", lower=False).T  # L R⁻¹
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
        For ML fits, as lmerTest refuses them (pbkrtest itself would refit by REML), or
        when the model has more than ``MAX_RANDOM_EFFECTS`` random effects for the dense
        q × q work.
    """
    if not model.REML:
        raise DataError("Kenward-Roger's method is only available for REML model fits")
    if model.prior_weights is not None:
        # pbkrtest 0.5.2 builds V with σ² I as the residual part whatever the weights, while its
        # Φ is lme4's weighted vcov: its df are then wrong (461 on 180 rows of sleepstudy)
        raise DataError("Kenward-Roger's method is unavailable for a model with prior weights "
                        "(pbkrtest ignores the weights in V); use ddf='Satterthwaite'")
    q = sum(t.q for t in model.terms)
    if q > MAX_RANDOM_EFFECTS:
        raise DataError(
            f"Kenward-Roger's method needs dense q × q matrices; this model has q = {q} random "
            f"effects (more than {MAX_RANDOM_EFFECTS}); use ddf='Satterthwaite'"
        )
    basis, R = np.linalg.qr(model.fixed.X)
    P, Q, K, XWX = _information_pieces(model, basis)
    phi = _symmetric(np.linalg.inv(XWX))
    info = K - 2 * np.einsum("ab,rsba->rs", phi, Q) + np.einsum("rab,bc,scd,da->rs", P, phi, P, phi)
    W = 2 * _inverse(info)
    U = np.einsum("rs,rsab->ab", W, Q) - np.einsum("rs,rab,bc,scd->ad", W, P, phi, P)
    R_inv = scipy.linalg.solve_triangular(R, np.eye(R.shape[0]), lower=False)
    vcov_adj = R_inv @ (phi + 2 * phi @ U @ phi) @ R_inv.T
    return KenwardRoger(vcov_beta=_symmetric(vcov_adj), vcov_unadjusted=model.vcov().to_numpy(), P=P, W=W,
                        beta=np.asarray(model.beta, float).copy(), R=R, vcov_q=phi)


def _symmetric(a: np.ndarray) -> np.ndarray:
    return (a + a.T) / 2


def _inverse(info: np.ndarray) -> np.ndarray:
    """The inverse, or MASS::ginv's pseudo-inverse when an eigenvalue is within 1e-10 of 0 (as pbkrtest)."""
    if np.min(np.abs(np.linalg.eigvalsh(info))) > 1e-10:
        return np.linalg.inv(info)
    return np.linalg.pinv(info, rcond=np.sqrt(np.finfo(float).eps), hermitian=True)


def _information_pieces(model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Pᵣ (k × p × p), Qᵣₛ (k × k × p × p) and Kᵣₛ (k × k) of every variance parameter,
    and XᵀWX, for the fixed-effects design ``X``."""
    w = _weighted_cross_products(model, X)
    components = _covariance_components(model.terms)
    k, p = len(components) + 1, w.ZWX.shape[1]
    P = np.zeros((k, p, p))
    Q = np.zeros((k, k, p, p))
    K = np.zeros((k, k))
    C, D = w.ZWZ, w.ZWX
    for r, pairs_r in enumerate(components):
        P[r] = -sum(D[a].T @ D[b] for a, b in pairs_r)
        for s, pairs_s in enumerate(components):
            Q[r, s] = sum(D[a].T @ C[np.ix_(b, c)] @ D[d] for a, b in pairs_r for c, d in pairs_s)
            K[r, s] = sum(np.sum(C[np.ix_(d, a)] * C[np.ix_(c, b)]) for a, b in pairs_r for c, d in pairs_s)
        Q[r, -1] = sum(D[a].T @ w.ZW2X[b] for a, b in pairs_r)
        Q[-1, r] = Q[r, -1].T
        K[r, -1] = K[-1, r] = sum(np.trace(w.ZW2Z[np.ix_(b, a)]) for a, b in pairs_r)
    P[-1] = -w.XW2X
    Q[-1, -1] = w.XW3X
    K[-1, -1] = w.trace_W2
    return P, Q, K, w.XWX


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


class _WeightedProducts(NamedTuple):
    """Cross products weighted by powers of W = V⁻¹."""

    ZWZ: np.ndarray
    ZWX: np.ndarray
    XWX: np.ndarray
    ZW2Z: np.ndarray
    ZW2X: np.ndarray
    XW2X: np.ndarray
    XW3X: np.ndarray
    trace_W2: float


def _weighted_cross_products(model, X: np.ndarray) -> _WeightedProducts:
    """The products of Z and X weighted by W, W², W³, by Woodbury on [Z X].

    With V = ZΛ, M = VᵀV + I and W = σ⁻²(I − VM⁻¹Vᵀ), one has
    Wʲ = σ⁻²ʲ(I − V (Σᵢ₌₁..ⱼ M⁻ⁱ) Vᵀ) and tr W² = σ⁻⁴(n − q + tr M⁻²).
    """
    terms = model.terms
    n, q = X.shape[0], sum(t.q for t in model.terms)
    Z = sp.hstack([term_matrix(t) for t in terms], format="csc")
    lam = FactorPattern(terms, 0).matrix(model.theta)
    ZtX = np.asarray(Z.T @ X)
    S = np.block([[(Z.T @ Z).toarray(), ZtX], [ZtX.T, X.T @ X]])  # [Z X]ᵀ[Z X]
    K = np.asarray((lam.T @ S[:q]).T)  # [Z X]ᵀ V
    M = np.asarray(lam.T @ K[:q]) + np.eye(q)
    M_inv = scipy.linalg.cho_solve(scipy.linalg.cho_factor(M, lower=True), np.eye(q))
    KM = K @ M_inv
    s2 = model.sigma**2
    F1 = S - KM @ K.T  # σ² [Z X]ᵀ W [Z X]
    F2 = F1 - KM @ KM.T  # σ⁴ [Z X]ᵀ W² [Z X]
    KM_x = KM[q:]
    XW3X = (F2[q:, q:] - KM_x @ M_inv @ KM_x.T) / s2**3
    F1, F2 = F1 / s2, F2 / s2**2
    return _WeightedProducts(
        ZWZ=F1[:q, :q], ZWX=F1[:q, q:], XWX=F1[q:, q:], ZW2Z=F2[:q, :q], ZW2X=F2[:q, q:], XW2X=F2[q:, q:],
        XW3X=XW3X, trace_W2=float((n - q + np.sum(M_inv**2)) / s2**2),
    )


def _full_row_rank(L: np.ndarray) -> np.ndarray:
    """L itself when its rows are independent, else an orthonormal basis of its row space."""
    rank = np.linalg.matrix_rank(L)
    if rank == L.shape[0]:
        return L
    return np.linalg.svd(L)[2][:rank]
