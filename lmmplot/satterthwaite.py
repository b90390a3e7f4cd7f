"""Satterthwaite's degrees of freedom, computed as lmerTest computes them.

The variance parameters are (θ, σ). Their asymptotic covariance is twice the
(pseudo-)inverse Hessian of the deviance as a function of (θ, σ); the gradient of a
contrast's variance comes from the Jacobian of vcov(β) in (θ, σ). Both by numDeriv's
Richardson differences.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .numderiv import hessian, jacobian


@dataclass
class VarparCovariance:
    """What every Satterthwaite df of one fit needs, computed once."""

    vcov_beta: np.ndarray  # p × p
    vcov_varpar: np.ndarray  # k × k, k = len(θ) + 1
    jac: np.ndarray  # k × p × p: ∂vcov(β)/∂varpar

    @classmethod
    def from_model(cls, model) -> "VarparCovariance":
        system, reml = model.system, model.REML
        p, qr = system.p, system.q_rest

        def deviance(varpar):
            return system.deviance_at(varpar[:-1], varpar[-1] ** 2, reml)

        def vcov_beta(varpar):
            f = system.factor(varpar[:-1])
            RX = system.RX(f)
            Rinv = scipy.linalg.solve_triangular(RX, np.eye(p), lower=False)
            return varpar[-1] ** 2 * (Rinv @ Rinv.T)

        varpar = np.r_[model.theta, model.sigma]
        h = hessian(deviance, varpar)
        values, vectors = np.linalg.eigh(h)
        pos = values > 1e-8
        h_inv = (vectors[:, pos] / values[pos]) @ vectors[:, pos].T
        jac = jacobian(vcov_beta, varpar)  # p*p × k
        jac = np.moveaxis(jac.reshape(p, p, -1), 2, 0)
        return cls(vcov_beta(varpar), 2.0 * h_inv, jac)

    def df(self, L: np.ndarray) -> float:
        """Satterthwaite df of the contrast ``L @ β`` (one row)."""
        L = np.asarray(L, float)
        var = L @ self.vcov_beta @ L
        grad = np.einsum("i,kij,j->k", L, self.jac, L)
        return float(2.0 * var**2 / (grad @ self.vcov_varpar @ grad))

    def coef_df(self) -> np.ndarray:
        """Satterthwaite df of each fixed-effect coefficient."""
        return np.array([self.df(row) for row in np.eye(self.vcov_beta.shape[0])])

    def f_test(self, L: np.ndarray, beta: np.ndarray) -> tuple[float, int, float]:
        """F value, numerator df and Satterthwaite denominator df of ``L β = 0`` (lmerTest's contestMD)."""
        L = np.atleast_2d(np.asarray(L, float))
        VL = L @ self.vcov_beta @ L.T
        d, P = np.linalg.eigh(VL)
        d, P = d[::-1], P[:, ::-1]
        tol = max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
        q = int((d > tol).sum())
        PtL = (P.T @ L)[:q]
        F = float(np.sum((PtL @ beta) ** 2 / d[:q]) / q)
        nu = np.array([2 * d[m] ** 2 / self._qgrad(PtL[m]) for m in range(q)])
        return F, q, _f_ddf(nu)

    def _qgrad(self, row: np.ndarray) -> float:
        grad = np.einsum("i,kij,j->k", row, self.jac, row)
        return float(grad @ self.vcov_varpar @ grad)


def _f_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """Combine per-direction df into the F statistic's denominator df (lmerTest)."""
    if nu.size == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(nu.mean())
    if np.any(nu <= 2):
        return 2.0
    E = np.sum(nu / (nu - 2))
    return float(2 * E / (E - nu.size))
