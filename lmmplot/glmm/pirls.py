"""Penalized iteratively reweighted least squares: the conditional modes of a GLMM at (θ, β).

Each iteration refills the engine's blocked system with the working weights and working
response of the current linear predictor (the structure is the system's own, derived once)
and solves the penalized weighted least-squares problem, for u alone (β given) or for u and
β together; steps are halved while the penalized deviance rises, as lme4's pwrssUpdate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite import hermgauss

from ..errors import DataError
from ..linalg import BlockedSystem, Factor

TOL = 1e-10  # relative change of the penalized deviance that ends the iterations ...
ETA_TOL = 1e-10  # ... together with the change of η: the deviance is then smooth enough for
# finite-difference Hessians (lme4's rule alone leaves log|L| a step behind the modes)
LME4_TOL = 1e-7  # glmerControl's tolPwrss
MAX_ITER = 60
MAX_HALVINGS = 20


@dataclass
class Modes:
    """The state at convergence: modes, β, linear predictor, and the factor of the last solve."""

    theta: np.ndarray
    u1: np.ndarray  # l1 × p1
    u_rest: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    factor: Factor
    dev_resids: np.ndarray

    @property
    def sqr_u(self) -> float:
        return float(np.sum(self.u1**2) + np.sum(self.u_rest**2))


class Pirls:
    """PIRLS for one model: the response, prior weights, offset and family, on a blocked system."""

    def __init__(self, system: BlockedSystem, family, y: np.ndarray, prior_weights: np.ndarray,
                 offset: np.ndarray):
        self.system, self.family = system, family
        self.y, self.pw, self.offset = y, prior_weights, offset
        self.X = system.X

    def linear_predictor(self, theta, u1, u_rest, beta) -> np.ndarray:
        """η = offset + Xβ + ZΛu."""
        s = self.system
        first = s.first
        T1 = first.factor(theta[s.theta_slices[0]])
        b1 = u1 @ T1.T
        if s.p1 == 1:
            eta = first.rows[:, 0] * b1[first.codes, 0]
        else:
            eta = np.einsum("ij,ij->i", first.rows, b1[first.codes])
        eta = eta + self.offset + self.X @ beta
        if s.q_rest:
            eta += s.Z_rest @ s.lam_rest_times(theta, u_rest)
        return eta

    def penalized_deviance(self, eta, u1, u_rest) -> tuple[float, np.ndarray, np.ndarray]:
        mu = self.family.linkinv(eta)
        dr = self.family.dev_resids(self.y, mu, self.pw)
        return float(dr.sum() + np.sum(u1**2) + np.sum(u_rest**2)), mu, dr

    def modes(self, theta: np.ndarray, start: Modes | None, beta: np.ndarray | None = None,
              eta0: np.ndarray | None = None, lme4_rule: bool = False) -> Modes:
        """The conditional modes at θ: of u given ``beta``, or of u and β jointly (``beta=None``).

        Starts from ``start``'s modes (re-evaluated at this θ and β), or, without a start,
        from the weights of the linear predictor ``eta0`` (the first step then taken whole).
        ``lme4_rule`` stops as lme4's pwrssUpdate stops (a relative change of the penalized
        deviance below 10⁻⁷), leaving log|L| at the weights of the step before: lme4's own
        deviance function, whose finite-difference Hessian gives lme4's vcov.
        """
        s, fam = self.system, self.family
        joint = beta is None
        if start is None:
            u1, ur = np.zeros((s.l1, s.p1)), np.zeros(s.q_rest)
            b = np.zeros(s.p) if joint else beta
            eta = eta0
            pdev, mu = np.inf, fam.linkinv(eta)
        else:
            u1, ur = start.u1, start.u_rest
            b = start.beta if joint else beta
            eta = self.linear_predictor(theta, u1, ur, b)
            pdev, mu, dr = self.penalized_deviance(eta, u1, ur)
        for _ in range(MAX_ITER):
            mu_eta = fam.mu_eta(eta)
            with np.errstate(invalid="ignore", over="ignore"):  # η off the scale: caught below
                w = self.pw * mu_eta**2 / fam.variance(mu)
                z = eta - self.offset + (self.y - mu) / mu_eta
            if not joint:
                z = z - self.X @ b
            s.reweight(w, z)
            f = s.factor(theta)
            if not f.ok:
                raise DataError("PIRLS: the penalized weighted cross-product is not positive definite")
            nu1, nur, nb = s.solve(f, None if joint else b)
            neta = self.linear_predictor(theta, nu1, nur, nb)
            npdev, nmu, ndr = self.penalized_deviance(neta, nu1, nur)
            halvings = 0
            # halve while the deviance rises by more than rounding (near the mode a full step
            # may "rise" by 1e-14 relative, which no halving can mend)
            while not npdev <= pdev + 1e-12 * abs(pdev) and halvings < MAX_HALVINGS and np.isfinite(pdev):
                nu1, nur, nb = (u1 + nu1) / 2, (ur + nur) / 2, (b + nb) / 2
                neta = self.linear_predictor(theta, nu1, nur, nb)
                npdev, nmu, ndr = self.penalized_deviance(neta, nu1, nur)
                halvings += 1
            if not np.isfinite(npdev):
                raise DataError("PIRLS loop resulted in a non-finite deviance")
            if lme4_rule:
                done = abs((pdev - npdev) / npdev) < LME4_TOL
            else:
                # η's change weighted by the rows' share of the information: a row whose mean
                # runs to a bound (a separated level: w → 0, η without end) no longer counts
                moved = np.abs(neta - eta) * (w / np.max(w, initial=1.0))
                done = (abs(pdev - npdev) <= TOL * (abs(npdev) + TOL)
                        and np.max(moved, initial=0.0) <= ETA_TOL * (1.0 + np.max(np.abs(neta))))
            u1, ur, b, eta, mu, dr, pdev = nu1, nur, nb, neta, nmu, ndr, npdev
            if done:
                return Modes(theta, u1, ur, b, eta, mu, f, dr)
        raise DataError(f"PIRLS did not converge in {MAX_ITER} iterations")

    def laplace(self, m: Modes) -> float:
        """lme4's Laplace deviance: log|L|² + ‖u‖² + the family's −2 log-likelihood (its aic)."""
        dev = float(m.dev_resids.sum())
        aic = self.family.aic(self.y, None, m.mu, self.pw, dev)
        return m.factor.logdet_z(self.system.q_rest) + m.sqr_u + float(aic)

    def agq(self, m: Modes, rule: "QuadratureRule") -> float:
        """lme4's adaptive Gauss-Hermite deviance for a single scalar random-effects term.

        Per level j, with d_j(u) the level's deviance residuals plus u², the integral is taken
        at the nodes û_j + z_k/L_jj; lme4 works on deviance residuals, so the value is on
        their scale (not the Laplace criterion's).
        """
        s = self.system
        first = s.first
        codes, nl = first.codes, s.l1
        L = m.factor.L11[:, 0, 0]
        sd = 1.0 / L
        u = m.u1[:, 0]
        devc0 = u**2 + np.bincount(codes, weights=m.dev_resids, minlength=nl)
        lam = first.factor(m.theta[s.theta_slices[0]])[0, 0]
        step = first.rows[:, 0] * lam * sd[codes]
        mult = np.zeros(nl)
        for z, w, ldnorm in zip(rule.z, rule.w, rule.ldnorm):
            if z == 0:
                mult += w
                continue
            mu = self.family.linkinv(m.eta + z * step)
            dr = self.family.dev_resids(self.y, mu, self.pw)
            devc = (u + z * sd) ** 2 + np.bincount(codes, weights=dr, minlength=nl)
            mult += np.exp(-0.5 * (devc - devc0) - ldnorm) * w / np.sqrt(2 * np.pi)
        return float(devc0.sum() + 2 * np.log(L).sum() - 2 * np.log(mult).sum())


@dataclass
class QuadratureRule:
    """Gauss-Hermite nodes and weights for the standard normal density (lme4's GHrule)."""

    z: np.ndarray
    w: np.ndarray
    ldnorm: np.ndarray

    @classmethod
    def of_order(cls, n: int) -> "QuadratureRule":
        x, w = hermgauss(n)
        z = np.sqrt(2.0) * x
        z = (z - z[::-1]) / 2  # exactly symmetric, the middle node exactly 0
        w = w / np.sqrt(np.pi)
        w = (w + w[::-1]) / 2
        return cls(z, w, -0.5 * z**2 - 0.5 * np.log(2 * np.pi))
