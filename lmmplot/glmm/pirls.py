"""Penalized iteratively reweighted least squares: the conditional modes of a GLMM at (θ, β).

Each iteration fills the blocks of the engine's weighted blocked system with the working
weights and response of the current linear predictor (the structure is the system's own,
derived once; the filling is one compiled pass, :mod:`.kernels`, by row ranges on all cores
for many rows), factors it, and solves
the penalized weighted least-squares problem, for u alone (β given: a system without X) or
for u and β together; steps are halved while the penalized deviance rises, as lme4's
pwrssUpdate.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite import hermgauss

from ..errors import DataError
from ..linalg import BlockedSystem, Factor
from . import kernels

TOL = 1e-10  # relative change of the penalized deviance that ends the iterations ...
ETA_TOL = 1e-10  # ... together with the change of η: the deviance is then smooth enough for
# finite-difference Hessians (lme4's rule alone leaves log|L| a step behind the modes)
LME4_TOL = 1e-7  # glmerControl's tolPwrss
MAX_ITER = 60
MAX_HALVINGS = 20
PARALLEL_ROWS = 50_000  # from this many rows the fill pass goes by row ranges, on all cores (_Pace)
PARTS = 8  # row ranges, at most (the same on any machine: the sums do not depend on the cores)
_NONE = np.zeros(0)


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


class WarmStarts:
    """Starting modes for PIRLS at a new parameter vector, from the modes at recent ones.

    Finite-difference stencils evaluate points that are affine combinations of points just
    evaluated (x − δeᵢ = 2x − (x + δeᵢ); x + δeᵢ + δeⱼ = (x + δeᵢ) + (x + δeⱼ) − x): the same
    combination of their modes is wrong only at second order in δ, which saves PIRLS an
    iteration. The combination, of the points differing from the new one in one or two
    coordinates, is the one with least Σ (cᵢ dᵢ)², dᵢ the points' distances; where there is none
    with Σ |cᵢ| ≤ 4, the start is the nearest point's modes.
    """

    MAX_WEIGHT = 4.0

    def __init__(self, size: int):
        self.size = size
        self.points: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def remember(self, par: np.ndarray, m: Modes) -> None:
        self.points.append((np.array(par, float), m.u1, m.u_rest, m.beta))
        del self.points[: -self.size]

    def start(self, par: np.ndarray, theta: np.ndarray) -> Modes | None:
        if not self.points:
            return None
        P = np.array([p[0] for p in self.points])
        d = np.linalg.norm(P - par, axis=1)
        near = int(np.argmin(d))
        # a stencil's points differ from par in one or two coordinates
        close = np.flatnonzero(np.count_nonzero(P != par, axis=1) <= 2)
        c = None
        if d[near] > 0 and close.size > 1:
            Q, dc = P[close] - par, d[close]
            A = np.vstack([Q.T, np.ones(close.size)])  # Σ cᵢ (pᵢ − par) = 0, Σ cᵢ = 1
            b = np.zeros(A.shape[0])
            b[-1] = 1.0
            c = (np.linalg.pinv(A / dc) @ b) / dc
            if not np.abs(A @ c - b).max() <= 1e-9 * min(1.0, d[near]) or np.abs(c).sum() > self.MAX_WEIGHT:
                c = None
        if c is None:
            _, u1, ur, beta = self.points[near]
        else:
            picked = [self.points[i] for i in close]
            u1, ur, beta = (sum(ci * p[k] for ci, p in zip(c, picked)) for k in (1, 2, 3))
        return Modes(theta, u1, ur, beta, None, None, None, None)


class _Blocks:
    """The arrays one weighting fills, for a system with ``m`` columns after Z (X and z, or z)."""

    def __init__(self, system: BlockedSystem, npairs: int):
        l1, p1, qr, m = system.l1, system.p1, system.q_rest, system.mxy
        self.system = system
        self.A11 = np.empty((l1, p1, p1))
        self.E = np.empty((l1, m, p1))
        self.vals = np.empty((npairs, p1))
        self.A22 = np.empty((qr + m, qr + m))
        self.parts = _parts(system.n, self.A11.size + self.E.size + self.vals.size + self.A22.size)
        self.pace = _Pace() if self.parts > 1 and _cores() > 1 else None


class Pirls:
    """PIRLS for one model: the response, prior weights, offset and family, on a blocked system.

    ``system`` (with X) serves the joint solves; a copy of its structure without X serves
    the solves for u at a given β. Everything that does not depend on θ, β or the weights
    (the kernels' index arrays, the family's codes, the log-likelihood's constant) is set
    up here, once.
    """

    def __init__(self, system: BlockedSystem, family, y: np.ndarray, prior_weights: np.ndarray,
                 offset: np.ndarray):
        self.system, self.family = system, family
        self.y, self.pw = np.ascontiguousarray(y, float), np.ascontiguousarray(prior_weights, float)
        self.offset = np.ascontiguousarray(offset, float)
        self.X = np.ascontiguousarray(system.X, float)
        n = system.n
        self.conditional = BlockedSystem(system.terms, np.zeros((n, 0)), np.zeros(n))
        first = system.first
        self.codes = np.ascontiguousarray(first.codes, np.int64)
        self.R1 = np.ascontiguousarray(first.rows, float)
        if system.q_rest:
            Zr = system.Z_rest
            self.indptr, self.indices = Zr.indptr.astype(np.int64), Zr.indices.astype(np.int64)
            self.data = np.ascontiguousarray(Zr.data, float)
            pairs = system._pairs
            self.pair, self.ptr, self.rows = pairs.inverse.astype(np.int64), pairs.ptr, pairs.rows
            npairs = pairs.npairs
        else:
            self.indptr = np.zeros(n + 1, np.int64)
            self.indices, self.pair, self.rows = (np.zeros(0, np.int64),) * 3
            self.data = _NONE
            self.ptr = np.zeros(system.l1 + 1, np.int64)
            npairs = 0
        self._joint, self._cond = _Blocks(system, npairs), _Blocks(self.conditional, npairs)
        self._at_eta0 = None  # the joint blocks at a starting η, for the solves of u from it
        self._noX = np.zeros((n, 0))
        self._z = np.empty(n)  # the kernels' scratch: the working response
        self._no_b1 = np.zeros((system.l1, system.p1))
        self.fam_code, self.link_code, self.nb_theta = _codes(family)
        self._aic_constant = family.loglik_constant(self.y, self.pw)

    def _fill(self, blocks: _Blocks, eta: np.ndarray, base: np.ndarray, X: np.ndarray, b1=None,
              b_rest=_NONE, beta=_NONE, old_eta=_NONE, old_w=_NONE):
        """Σ dr, μ, the deviance residuals dr and the working weights w at η, the blocks filled
        for those weights, max w, and η's change weighted by ``old_w`` (see below).

        Given ``b1`` (l1 × p1), η is computed into ``eta`` first, from b1, ``b_rest`` and ``beta``,
        and (given the η it replaces, ``old_eta``, and that η's weights ``old_w``) so is
        max_i |Δη_i| old_w_i / max old_w.
        """
        mu, dr, w = np.empty(eta.size), np.empty(eta.size), np.empty(eta.size)
        predict = b1 is not None
        rows = (self.fam_code, self.link_code, self.nb_theta, self.y, self.pw, eta, base, self.codes, self.R1,
                self.indptr, self.indices, self.data, self.pair, X, predict, b1 if predict else self._no_b1,
                b_rest, beta, old_eta, old_w, mu, dr, w, self._z)
        if blocks.parts > 1:
            threads = blocks.pace.threads() if blocks.pace else 1
            t0 = time.perf_counter()
            dev, wmax, change = _fill_in_parts(blocks, eta.size, rows, threads)
            if blocks.pace:
                blocks.pace.record(threads, time.perf_counter() - t0)
        else:
            dev, wmax, change = kernels.fill(0, eta.size, *rows, blocks.A11, blocks.E, blocks.vals, blocks.A22)
        kernels.symmetrize(blocks.A22)
        return dev, mu, dr, w, wmax, change

    def _conditional_blocks_at(self, eta0: np.ndarray, beta: np.ndarray):
        """The solve of u given β from the weights at ``eta0``: its blocks, by a linear map of the
        joint blocks at ``eta0`` (filled once per ``eta0``: the working response given β is the
        joint one less Xβ); μ, the deviance residuals and the weights at ``eta0``."""
        if self._at_eta0 is None or self._at_eta0[0] is not eta0:
            blocks = _Blocks(self.system, self._joint.vals.shape[0])
            _, mu, dr, w, wmax, _ = self._fill(blocks, np.array(eta0, float), self.offset, self.X)
            self._at_eta0 = (eta0, blocks, mu, dr, w, wmax)
        _, J, mu, dr, w, wmax = self._at_eta0
        c = self._cond
        p, qr = self.system.p, self.system.q_rest
        c.A11[:] = J.A11
        c.vals[:] = J.vals
        c.E[:, 0, :] = J.E[:, p, :] - np.einsum("c,jca->ja", beta, J.E[:, :p, :])
        T = np.zeros((qr + p + 1, qr + 1))
        T[np.arange(qr), np.arange(qr)] = 1.0
        T[qr : qr + p, qr] = -beta
        T[qr + p, qr] = 1.0
        c.A22[:] = T.T @ J.A22 @ T
        return mu, dr, w, wmax

    def _factor(self, blocks: _Blocks, theta: np.ndarray) -> Factor:
        s = blocks.system
        s.A11, s.E, s.A22, s.blocks = blocks.A11, blocks.E, blocks.A22, (self.ptr, self.rows, blocks.vals)
        f = s.factor(theta)
        if not f.ok:
            raise DataError("PIRLS: the penalized weighted cross-product is not positive definite")
        return f

    def linear_predictor(self, theta, u1, u_rest, beta, base=None, X=None) -> np.ndarray:
        """η = offset + Xβ + ZΛu (or ``base`` + ZΛu + ``X`` β)."""
        s = self.system
        T1 = s.first.factor(theta[s.theta_slices[0]])
        b_rest = s.lam_rest_times(theta, u_rest) if s.q_rest else _NONE
        eta = np.empty(s.n)
        kernels.predict(self.offset if base is None else base, self.codes, self.R1, u1 @ T1.T, self.indptr,
                        self.indices, self.data, b_rest, self.X if X is None else X, beta, eta, _NONE, _NONE)
        return eta

    def modes(self, theta: np.ndarray, start: Modes | None, beta: np.ndarray | None = None,
              eta0: np.ndarray | None = None, lme4_rule: bool = False) -> Modes:
        """The conditional modes at θ: of u given ``beta``, or of u and β jointly (``beta=None``).

        Starts from ``start``'s modes (re-evaluated at this θ and β), or, without a start,
        from the weights of the linear predictor ``eta0`` (the first step then taken whole).
        ``lme4_rule`` stops as lme4's pwrssUpdate stops (a relative change of the penalized
        deviance below 10⁻⁷), leaving log|L| at the weights of the step before: lme4's own
        deviance function, whose finite-difference Hessian gives lme4's vcov.
        """
        s = self.system
        joint = beta is None
        if joint:
            blocks, base, X = self._joint, self.offset, self.X
        else:
            blocks, base, X = self._cond, self.offset + self.X @ beta, self._noX
        T1 = s.first.factor(theta[s.theta_slices[0]])
        qr = s.q_rest
        eta = np.empty(s.n)
        if start is None:
            u1, ur = np.zeros((s.l1, s.p1)), np.zeros(s.q_rest)
            b = np.zeros(s.p) if joint else beta
            eta[:] = eta0
            if joint:
                dev, mu, dr, w, wmax, _ = self._fill(blocks, eta, base, X)
            else:
                mu, dr, w, wmax = self._conditional_blocks_at(eta0, beta)
            pdev = np.inf
        else:
            u1, ur = start.u1, start.u_rest
            b = start.beta if joint else beta
            b_rest = s.lam_rest_times(theta, ur) if qr else _NONE
            dev, mu, dr, w, wmax, _ = self._fill(blocks, eta, base, X, u1 @ T1.T, b_rest, b if joint else _NONE)
            pdev = dev + start.sqr_u
        for _ in range(MAX_ITER):
            f = self._factor(blocks, theta)
            sol = kernels.back_solve(f.L22)
            nur = sol[:qr]
            nb = sol[qr:] if joint else b
            b_rest = s.lam_rest_times(theta, nur) if qr else _NONE
            nu1 = kernels.first_modes(f.L11, T1, blocks.E, self.ptr, self.rows, blocks.vals, b_rest,
                                      nb if joint else _NONE)
            neta = np.empty(s.n)
            # η's change weighted by the rows' share of the information: a row whose mean
            # runs to a bound (a separated level: w → 0, η without end) no longer counts
            ndev, nmu, ndr, nw, nwmax, change = self._fill(blocks, neta, base, X, nu1 @ T1.T, b_rest,
                                                           nb if joint else _NONE, eta, w)
            change /= wmax if wmax > 0 else 1.0
            npdev = ndev + float(np.sum(nu1**2) + np.sum(nur**2))
            halvings = 0
            # halve while the deviance rises by more than rounding (near the mode a full step
            # may "rise" by 1e-14 relative, which no halving can mend)
            while not npdev <= pdev + 1e-12 * abs(pdev) and halvings < MAX_HALVINGS and np.isfinite(pdev):
                nu1, nur, nb = (u1 + nu1) / 2, (ur + nur) / 2, (b + nb) / 2
                neta = (eta + neta) / 2
                ndev, nmu, ndr, nw, nwmax, _ = self._fill(blocks, neta, base, X)
                npdev = ndev + float(np.sum(nu1**2) + np.sum(nur**2))
                halvings += 1
            if not np.isfinite(npdev):
                raise DataError("PIRLS loop resulted in a non-finite deviance")
            if lme4_rule:
                done = abs((pdev - npdev) / npdev) < LME4_TOL
            else:
                done = (abs(pdev - npdev) <= TOL * (abs(npdev) + TOL)
                        and change <= ETA_TOL * (1.0 + np.max(np.abs(neta))))
            u1, ur, b, eta, mu, dr, w, wmax, pdev = nu1, nur, nb, neta, nmu, ndr, nw, nwmax, npdev
            if done:
                if not lme4_rule:  # log|L| at the modes' own weights (the last fill's blocks)
                    f = self._factor(blocks, theta)
                return Modes(theta, u1, ur, b, eta, mu, f, dr)
        raise DataError(f"PIRLS did not converge in {MAX_ITER} iterations")

    def laplace(self, m: Modes) -> float:
        """lme4's Laplace deviance: log|L|² + ‖u‖² + the family's −2 log-likelihood (its aic)."""
        dev = float(m.dev_resids.sum())
        if self._aic_constant is None:
            aic = float(self.family.aic(self.y, None, m.mu, self.pw, dev))
        else:
            aic = dev + self._aic_constant
        return m.factor.logdet_z(self.system.q_rest) + m.sqr_u + aic

    def final_factor(self, m: Modes) -> Factor:
        """The joint system at the weights of the modes, factored at their θ (reweighted in
        place, as the engine's post-fit quantities read it: conditional variances, R_X)."""
        fam = self.family
        mu_eta = fam.mu_eta(m.eta)
        w = self.pw * mu_eta**2 / fam.variance(m.mu)
        self.system.reweight(w, m.eta - self.offset + (self.y - m.mu) / mu_eta)
        return self.system.factor(m.theta)

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
        mult = kernels.quadrature_sums(self.fam_code, self.link_code, self.nb_theta, self.y, self.pw, m.eta,
                                       step, self.codes, u, sd, devc0, rule.z, rule.w, rule.ldnorm)
        return float(devc0.sum() + 2 * np.log(L).sum() - 2 * np.log(mult).sum())


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _parts(n: int, block_size: int) -> int:
    """The row ranges of the fill pass: with many rows, :data:`PARTS`, fewer while the blocks'
    copies, one per range, would outnumber the rows; else one (the plain pass)."""
    parts = PARTS if n >= PARALLEL_ROWS else 1
    while parts > 1 and parts * block_size > n:
        parts //= 2
    return parts


class _Pace:
    """Whether one thread or all the cores fill the row ranges faster, from the recent passes'
    wall times: where another process keeps a core busy, threads sharing it are slower than
    one. Every :data:`PROBE`-th pass tries the slower way again. Either gives the same sums."""

    PROBE = 16

    def __init__(self):
        self.cores = _cores()
        self.seconds: dict[int, float] = {}
        self.passes = 0

    def threads(self) -> int:
        self.passes += 1
        for threads in (self.cores, 1):
            if threads not in self.seconds:
                return threads
        faster, slower = sorted((1, self.cores), key=self.seconds.__getitem__)
        return slower if self.passes % self.PROBE == 0 else faster

    def record(self, threads: int, seconds: float) -> None:
        last = self.seconds.get(threads)
        self.seconds[threads] = seconds if last is None else (last + seconds) / 2


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The threads that fill the row ranges after the first (which the caller fills)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(_cores() - 1, 1), thread_name_prefix="lmmplot-pirls")
        return _pool


def _forget_executor() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()  # a forked child has none of the parent's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)


def _fill_in_parts(blocks: _Blocks, n: int, rows: tuple, threads: int) -> tuple[float, float, float]:
    """:func:`kernels.fill` over ``blocks.parts`` consecutive row ranges, on the calling thread
    and ``threads`` − 1 of the pool's at once (the kernel runs without the GIL), each taking
    the next range as it finishes one; each range into blocks of its own, allocated by the
    thread that fills it (copies allocated side by side would share cache lines, A22 often
    being a few numbers, which the threads would pass back and forth at every row). The copies
    and the sums are then added in the ranges' order: the same to rounding as one pass, and
    the same whichever thread fills which range, and on any number of threads."""
    k = blocks.parts
    cuts = [t * n // k for t in range(k + 1)]
    own = (blocks.A11, blocks.E, blocks.vals, blocks.A22)
    results = [None] * k
    todo = iter(range(k))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                t = next(todo, None)
            if t is None:
                return
            out = tuple(np.empty_like(a) for a in own)
            results[t] = kernels.fill(cuts[t], cuts[t + 1], *rows, *out), out

    futures = [_executor().submit(work) for _ in range(min(threads, k) - 1)]
    try:
        work()
    finally:
        wait(futures)  # none may still write into the shared rows after this returns
    for f in futures:
        f.result()
    (dev, wmax, change), out = results[0]
    for a, b in zip(own, out):
        a[...] = b
    for (d, wm, ch), out in results[1:]:
        for a, b in zip(own, out):
            a += b
        dev, wmax, change = dev + d, max(wmax, wm), max(change, ch)
    return dev, wmax, change


def _codes(family) -> tuple[int, int, float]:
    """The kernels' codes for a family and its link, and the negative binomial's θ (else 1)."""
    from .family import negative_binomial

    name = "negative_binomial" if isinstance(family, negative_binomial) else family.family
    return kernels.FAMILIES.index(name), kernels.LINKS.index(family.link), float(getattr(family, "theta", 1.0))


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
