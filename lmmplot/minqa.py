"""Powell's BOBYQA (2009) as R's minqa 1.2.5 runs it, the optimizer of ``lmerControl(optimizer="bobyqa")``.

Bound-constrained minimization without derivatives: a quadratic model interpolates the
objective at ``npt`` points (``n + 2`` under minqa's default); the least-Frobenius-norm update
of its second derivative is held as ``H = Zᵀ Z``'s factor ``zmat`` and the inverse of the KKT
system's linear part ``bmat``. Each iteration either takes a trust-region step (a truncated
conjugate-gradient search in the box, then a rotation along the trust-region boundary) or,
where the model needs a better-placed point, moves the point farthest from the best one so that
the interpolation stays well conditioned; the trust-region radius ``delta`` follows the ratio
of actual to predicted reduction, and the resolution ``rho`` falls from ``rhobeg`` to ``rhoend``.

Written from Powell's report (DAMTP 2009/NA06) and minqa's Fortran, step for step, so that
the points evaluated are minqa's: including minqa 1.2.5's reset of ``IBDSAV`` in ALTMOV (a
point moved to the boundary is not snapped onto it) and the lone evaluation after the final
``rho``. Powell's RESCUE step is not provided: minqa's copy of it evaluates an undefined
vector (its ``CALFUN`` is passed an uninitialized ``X``), so its outcome cannot be reproduced.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import ConvergenceError

SQRT2 = math.sqrt(2.0)


class _Rescue(Exception):
    """minqa would call RESCUE here."""


def bobyqa(fun, x0, lower, upper, rhobeg: float, rhoend: float, npt: int, maxfun: int):
    """Minimize ``fun(x)`` over ``lower <= x <= upper`` from ``x0`` as minqa's Fortran does.

    Returns ``x``, the number of evaluations and Powell's ``IERR`` (0 normal; 390 ``maxfun``
    reached; 430 a trust-region step failed to reduce the model; 320 too much cancellation in
    a denominator; 10 ``npt`` out of range; 20 a bound range below ``2 rhobeg``).
    """
    x = np.array(x0, float)
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    n = x.size
    if npt < n + 2 or npt > (n + 1) * (n + 2) // 2:
        return x, 0, 10
    if np.any(upper - lower < 2 * rhobeg):
        return x, 0, 20
    sl, su = lower - x, upper - x
    for j in range(n):  # move the start onto a bound, or rhobeg away from it
        if sl[j] >= -rhobeg:
            if sl[j] >= 0:
                x[j], sl[j], su[j] = lower[j], 0.0, upper[j] - lower[j]
            else:
                x[j] = lower[j] + rhobeg
                sl[j], su[j] = -rhobeg, max(upper[j] - x[j], rhobeg)
        elif su[j] <= rhobeg:
            if su[j] <= 0:
                x[j], sl[j], su[j] = upper[j], lower[j] - upper[j], 0.0
            else:
                x[j] = upper[j] - rhobeg
                sl[j], su[j] = min(lower[j] - x[j], -rhobeg), rhobeg
    try:
        return _Bobyqb(fun, x, lower, upper, sl, su, rhobeg, rhoend, npt, maxfun).run()
    except _Rescue:
        raise ConvergenceError(
            "bobyqa reached the step where minqa calls Powell's RESCUE, which minqa 1.2.5 runs "
            "on an undefined point; lme4's result cannot be reproduced from here: use "
            "lmerControl(optimizer='nloptwrap') or the default optimizer") from None


class _Bobyqb:
    """The state of one minimization (Powell's BOBYQB and PRELIM)."""

    def __init__(self, fun, x, lower, upper, sl, su, rhobeg, rhoend, npt, maxfun):
        self.fun, self.lower, self.upper = fun, lower, upper
        self.sl, self.su = sl, su
        self.rhobeg, self.rhoend, self.npt, self.maxfun = rhobeg, rhoend, npt, maxfun
        n = self.n = x.size
        self.xbase = x.copy()
        self.xpt = np.zeros((npt, n))
        self.fval = np.zeros(npt)
        self.gopt = np.zeros(n)
        self.hq = np.zeros((n, n))  # the explicit part of the model's Hessian
        self.pq = np.zeros(npt)  # ... and the implicit part, Σ pq_k xpt_k xpt_kᵀ
        self.bmat = np.zeros((npt + n, n))
        self.zmat = np.zeros((npt, npt - n - 1))
        self.nf = 0

    def point(self, step):
        """xbase + step in the box, exactly on a bound where the step says so."""
        x = np.minimum(np.maximum(self.lower, self.xbase + step), self.upper)
        x[step == self.sl] = self.lower[step == self.sl]
        x[step == self.su] = self.upper[step == self.su]
        return x

    def evaluate(self, x):
        self.nf += 1
        f = float(self.fun(x))
        return f if math.isfinite(f) else np.finfo(float).max  # minqa's calfun

    # -------------------------------------------------------------- PRELIM
    def prelim(self):
        """The first npt points: x0, x0 ± rhobeg eᵢ (or 2 rhobeg inwards at a bound), then pairs."""
        n, npt, rhobeg, sl, su = self.n, self.npt, self.rhobeg, self.sl, self.su
        xpt, fval, gopt, hq, bmat, zmat = self.xpt, self.fval, self.gopt, self.hq, self.bmat, self.zmat
        rhosq = rhobeg * rhobeg
        recip = 1.0 / rhosq
        kopt = 0
        while True:
            nfm = self.nf  # the point's number, 0-based
            if nfm <= 2 * n:
                if 1 <= nfm <= n:
                    j = nfm - 1
                    stepa = -rhobeg if su[j] == 0 else rhobeg
                    xpt[nfm, j] = stepa
                elif nfm > n:
                    j = nfm - n - 1
                    stepa = xpt[nfm - n, j]
                    stepb = -rhobeg
                    if sl[j] == 0:
                        stepb = min(2 * rhobeg, su[j])
                    if su[j] == 0:
                        stepb = max(-2 * rhobeg, sl[j])
                    xpt[nfm, j] = stepb
            else:
                itemp = (nfm - n - 1) // n
                jpt = nfm - itemp * n - n
                ipt = jpt + itemp
                if ipt > n:
                    ipt, jpt = jpt, ipt - n
                xpt[nfm, ipt - 1] = xpt[ipt, ipt - 1]
                xpt[nfm, jpt - 1] = xpt[jpt, jpt - 1]
            f = self.evaluate(self.point(xpt[nfm]))
            nf = self.nf
            fval[nfm] = f
            if nf == 1:
                fbeg = f
            elif f < fval[kopt]:
                kopt = nfm
            if nf <= 2 * n + 1:
                if 2 <= nf <= n + 1:
                    j = nf - 2
                    gopt[j] = (f - fbeg) / stepa
                    if npt < nf + n:
                        bmat[0, j] = -1.0 / stepa
                        bmat[nfm, j] = 1.0 / stepa
                        bmat[npt + j, j] = -0.5 * rhosq
                elif nf >= n + 2:
                    j = nf - n - 2
                    temp = (f - fbeg) / stepb
                    diff = stepb - stepa
                    hq[j, j] = 2 * (temp - gopt[j]) / diff
                    gopt[j] = (gopt[j] * stepb - temp * stepa) / diff
                    other = nfm - n  # the point on the other side
                    if stepa * stepb < 0 and f < fval[other]:
                        fval[nfm], fval[other] = fval[other], f
                        if kopt == nfm:
                            kopt = other
                        xpt[other, j], xpt[nfm, j] = stepb, stepa
                    bmat[0, j] = -(stepa + stepb) / (stepa * stepb)
                    bmat[nfm, j] = -0.5 / xpt[other, j]
                    bmat[other, j] = -bmat[0, j] - bmat[nfm, j]
                    zmat[0, j] = SQRT2 / (stepa * stepb)
                    zmat[nfm, j] = math.sqrt(0.5) / rhosq
                    zmat[other, j] = -zmat[0, j] - zmat[nfm, j]
            else:
                c = nfm - n - 1
                zmat[0, c] = zmat[nfm, c] = recip
                zmat[ipt, c] = zmat[jpt, c] = -recip
                temp = xpt[nfm, ipt - 1] * xpt[nfm, jpt - 1]
                hq[ipt - 1, jpt - 1] = hq[jpt - 1, ipt - 1] = (fbeg - fval[ipt] - fval[jpt] + f) / temp
            if not (nf < npt and nf < self.maxfun):
                return kopt

    # -------------------------------------------------------------- helpers
    def hess_times(self, v):
        """The model's Hessian times v."""
        return self.hq @ v + self.xpt.T @ (self.pq * (self.xpt @ v))

    def shift_base(self, xopt, xoptsq):
        """Move xbase to the best point, updating bmat, hq and the points (Powell's step 90)."""
        npt, n = self.npt, self.n
        xpt, bmat, zmat, pq = self.xpt, self.bmat, self.zmat, self.pq
        fracsq = 0.25 * xoptsq
        sums = xpt @ xopt - 0.5 * xoptsq
        block = bmat[npt:]
        for k in range(npt):
            v = sums[k] * xpt[k] + (fracsq - 0.5 * sums[k]) * xopt
            block += np.outer(bmat[k], v) + np.outer(v, bmat[k])
        for jj in range(zmat.shape[1]):
            z = zmat[:, jj]
            v = sums * z
            w = (fracsq * z.sum() - 0.5 * v.sum()) * xopt + xpt.T @ v
            bmat[:npt] += np.outer(z, w)
            block += np.outer(w, w)
        w = -0.5 * pq.sum() * xopt + xpt.T @ pq
        self.hq += np.outer(w, xopt) + np.outer(xopt, w)
        lower_part = np.tril(block)
        block[:] = lower_part + np.tril(lower_part, -1).T
        xpt -= xopt
        self.xbase += xopt
        self.sl -= xopt
        self.su -= xopt

    def choose_knew(self, beta, vlag, xref, delta, skip):
        """The point whose replacement keeps the denominator largest, weighted by distance."""
        delsq = delta * delta
        hdiag = (self.zmat ** 2).sum(axis=1)
        den = beta * hdiag + vlag[:self.npt] ** 2
        distsq = ((self.xpt - xref) ** 2).sum(axis=1)
        weight = np.maximum(1.0, (distsq / delsq) ** 2)
        scaden, biglsq, knew, denom = 0.0, 0.0, -1, 0.0
        for k in range(self.npt):
            if k == skip:
                continue
            if weight[k] * den[k] > scaden:
                scaden, knew, denom = weight[k] * den[k], k, den[k]
            biglsq = max(biglsq, weight[k] * vlag[k] ** 2)
        return knew, denom, scaden, biglsq

    # -------------------------------------------------------------- BOBYQB
    def run(self):
        n, npt = self.n, self.npt
        sl, su = self.sl, self.su
        kopt = self.prelim()
        xopt = self.xpt[kopt].copy()
        xoptsq = xopt @ xopt
        fsave = self.fval[0]
        ierr = 0
        if self.nf < npt:
            return self.finish(kopt, xopt, fsave, None, 390)
        kbase = 0
        rho = delta = self.rhobeg
        nresc = nfsav = self.nf
        ntrits, diffa, diffb, diffc, itest = 0, 0.0, 0.0, 0.0, 0
        ratio = dnorm = 0.0
        xnew = np.zeros(n)
        x = None
        if kopt != kbase:
            self.gopt += self.hq @ xopt
            if self.nf > npt:
                self.gopt += self.xpt.T @ (self.pq * (self.xpt @ xopt))
        label = 60
        while True:
            if label == 60:  # a trust-region step
                xnew, d, gnew, dsq, crvmin = trsbox(self, xopt, delta)
                dnorm = min(delta, math.sqrt(dsq))
                if dnorm < 0.5 * rho:
                    ntrits = -1
                    distsq = (10 * rho) ** 2
                    label = 650
                    if self.nf <= nfsav + 2:
                        continue
                    errbig = max(diffa, diffb, diffc)
                    frhosq = 0.125 * rho * rho
                    if crvmin > 0 and errbig > frhosq * crvmin:
                        continue
                    bdtol = errbig / rho
                    label = 680
                    for j in range(n):
                        bdtest = bdtol
                        if xnew[j] == sl[j]:
                            bdtest = gnew[j]
                        if xnew[j] == su[j]:
                            bdtest = -gnew[j]
                        if bdtest < bdtol:
                            curv = self.hq[j, j] + self.pq @ self.xpt[:, j] ** 2
                            bdtest += 0.5 * curv * rho
                            if bdtest < bdtol:
                                label = 650
                                break
                    continue
                ntrits += 1
                label = 90
            elif label == 90:
                if dsq <= 1e-3 * xoptsq:
                    self.shift_base(xopt, xoptsq)
                    xnew -= xopt
                    xopt = np.zeros(n)
                    xoptsq = 0.0
                label = 210 if ntrits == 0 else 230
            elif label == 210:  # a step that improves the interpolation
                xnew, xalt, alpha, cauchy = altmov(self, xopt, kopt, knew, adelt)
                d = xnew - xopt
                label = 230
            elif label == 230:
                xpt, bmat, zmat = self.xpt, self.bmat, self.zmat
                suma = xpt @ d
                sumb = xpt @ xopt
                wcol = suma * (0.5 * suma + sumb)
                zw = zmat.T @ wcol
                beta = -(zw @ zw)
                vlag = np.empty(npt + n)
                vlag[:npt] = bmat[:npt] @ d + zmat @ zw
                bw = bmat[:npt].T @ wcol
                vlag[npt:] = bw + bmat[npt:] @ d
                bsum = bw @ d + vlag[npt:] @ d
                dsq = d @ d
                dx = d @ xopt
                beta = dx * dx + dsq * (xoptsq + dx + dx + 0.5 * dsq) + beta - bsum
                vlag[kopt] += 1.0
                if ntrits == 0:
                    denom = vlag[knew] ** 2 + alpha * beta
                    if denom < cauchy and cauchy > 0:
                        xnew = xalt.copy()
                        d = xnew - xopt
                        cauchy = 0.0
                        continue
                    if denom <= 0.5 * vlag[knew] ** 2:
                        if self.nf > nresc:
                            raise _Rescue
                        ierr = 320
                        label = 720
                        continue
                else:
                    knew, denom, scaden, biglsq = self.choose_knew(beta, vlag, xopt, delta, kopt)
                    if scaden <= 0.5 * biglsq:
                        if self.nf > nresc:
                            raise _Rescue
                        ierr = 320
                        label = 720
                        continue
                label = 360
            elif label == 360:  # evaluate
                x = self.point(xnew)
                if self.nf >= self.maxfun:
                    ierr = 390
                    label = 720
                    continue
                f = self.evaluate(x)
                if ntrits == -1:
                    fsave = f
                    label = 720
                    continue
                fopt = self.fval[kopt]
                vquad = d @ self.gopt + 0.5 * (d @ self.hq @ d) + 0.5 * (self.pq @ suma ** 2)
                diff = f - fopt - vquad
                diffc, diffb, diffa = diffb, diffa, abs(diff)
                if dnorm > rho:
                    nfsav = self.nf
                if ntrits > 0:
                    if vquad >= 0:
                        ierr = 430
                        label = 720
                        continue
                    ratio = (f - fopt) / vquad
                    if ratio <= 0.1:
                        delta = min(0.5 * delta, dnorm)
                    elif ratio <= 0.7:
                        delta = max(0.5 * delta, dnorm)
                    else:
                        delta = max(0.5 * delta, dnorm + dnorm)
                    if delta <= 1.5 * rho:
                        delta = rho
                    if f < fopt:
                        ksav, densav = knew, denom
                        knew, denom, scaden, biglsq = self.choose_knew(beta, vlag, xnew, delta, -1)
                        if scaden <= 0.5 * biglsq:
                            knew, denom = ksav, densav
                xopt, xoptsq, kopt, itest = self.replace(knew, xnew, f, fopt, diff, d, vlag, beta, denom,
                                                          xopt, xoptsq, kopt, ntrits, itest)
                if ntrits == 0 or f <= fopt + 0.1 * vquad:
                    label = 60
                    continue
                distsq = max((2 * delta) ** 2, (10 * rho) ** 2)
                label = 650
            elif label == 650:  # is some point too far from the best?
                far = ((self.xpt - xopt) ** 2).sum(axis=1)
                knew = -1
                for k in range(npt):
                    if far[k] > distsq:
                        knew, distsq = k, far[k]
                if knew >= 0:
                    dist = math.sqrt(distsq)
                    if ntrits == -1:
                        delta = min(0.1 * delta, 0.5 * dist)
                        if delta <= 1.5 * rho:
                            delta = rho
                    ntrits = 0
                    adelt = max(min(0.1 * dist, delta), rho)
                    dsq = adelt * adelt
                    label = 90
                elif ntrits == -1 or (ratio <= 0 and max(delta, dnorm) <= rho):
                    label = 680
                else:
                    label = 60
            elif label == 680:  # reduce rho
                if rho > self.rhoend:
                    delta = 0.5 * rho
                    ratio = rho / self.rhoend
                    if ratio <= 16:
                        rho = self.rhoend
                    elif ratio <= 250:
                        rho = math.sqrt(ratio) * self.rhoend
                    else:
                        rho = 0.1 * rho
                    delta = max(delta, rho)
                    ntrits = 0
                    nfsav = self.nf
                    label = 60
                elif ntrits == -1:
                    label = 360
                else:
                    label = 720
            else:  # 720
                return self.finish(kopt, xopt, fsave, x, ierr)

    def replace(self, knew, xnew, f, fopt, diff, d, vlag, beta, denom, xopt, xoptsq, kopt, ntrits, itest):
        """Put the new point in place of point ``knew`` and update the model (Powell's UPDATE)."""
        npt, n = self.npt, self.n
        xpt, zmat, bmat = self.xpt, self.zmat, self.bmat
        update(bmat, zmat, vlag, beta, denom, knew)
        pqold = self.pq[knew]
        self.pq[knew] = 0.0
        self.hq += pqold * np.outer(xpt[knew], xpt[knew])
        self.pq += diff * (zmat @ zmat[knew])
        self.fval[knew] = f
        xpt[knew] = xnew
        w = bmat[knew].copy() + xpt.T @ ((zmat @ zmat[knew]) * (xpt @ xopt))
        self.gopt += diff * w
        if f < fopt:
            kopt = knew
            xopt = xnew.copy()
            xoptsq = xopt @ xopt
            self.gopt += self.hess_times(d)
        if ntrits > 0:  # replace the model by the least-Frobenius-norm interpolant if much better
            fdiff = self.fval - self.fval[kopt]
            wz = zmat @ (zmat.T @ fdiff)
            wk = (xpt @ xopt) * wz
            gint = bmat[:npt].T @ fdiff + xpt.T @ wk
            at_lower, at_upper = xopt == self.sl, xopt == self.su
            gq = np.where(at_lower, np.minimum(0, self.gopt), np.where(at_upper, np.maximum(0, self.gopt), self.gopt))
            gi = np.where(at_lower, np.minimum(0, gint), np.where(at_upper, np.maximum(0, gint), gint))
            itest += 1
            if gq @ gq < 10 * (gi @ gi):
                itest = 0
            if itest >= 3:
                self.gopt[:] = gint
                self.pq[:] = wz
                self.hq[:] = 0.0
                itest = 0
        return xopt, xoptsq, kopt, itest

    def finish(self, kopt, xopt, fsave, x, ierr):
        if x is None or self.fval[kopt] <= fsave:
            x = self.point(xopt)
        return x, self.nf, ierr


def trsbox(s_, xopt, delta):
    """Powell's TRSBOX: an approximate minimizer of the model in the box and the trust region.

    Truncated conjugate gradients, fixing variables as they reach a bound; then, if the trust
    region's boundary was reached, rotations of the step along it. Returns the new point, the
    step, the model's gradient there, the squared step length and the least curvature seen
    (0 where the boundary was reached, -1 where none was measured)."""
    n, sl, su, gopt = s_.n, s_.sl, s_.su, s_.gopt
    xbdi = np.zeros(n)
    xbdi[(xopt <= sl) & (gopt >= 0)] = -1.0
    xbdi[~(xopt <= sl) & (xopt >= su) & (gopt <= 0)] = 1.0
    nact = int(np.count_nonzero(xbdi))
    iterc = itcsav = itermax = 0
    d = np.zeros(n)
    gnew = gopt.copy()
    s = np.zeros(n)
    hred = np.zeros(n)
    delsq = delta * delta
    qred, crvmin, beta = 0.0, -1.0, 0.0
    gredsq = ggsav = stepsq = angbd = sredg = dredg = dredsq = 0.0
    iact, xsav = -1, 0.0
    label = 30
    while True:
        free = xbdi == 0
        if label == 30:  # a conjugate direction
            s = np.where(free, -gnew if beta == 0 else beta * s - gnew, 0.0)
            stepsq = s @ s
            if stepsq == 0:
                label = 190
                continue
            if beta == 0:
                gredsq = stepsq
                itermax = iterc + n - nact
            label = 190 if gredsq * delsq <= 1e-4 * qred * qred else 210
        elif label == 50:  # the step along s
            resid = delsq - d[free] @ d[free]
            ds = s[free] @ d[free]
            shs = s[free] @ hs[free]
            if resid <= 0:
                label = 90
                continue
            temp = math.sqrt(stepsq * resid + ds * ds)
            blen = (temp - ds) / stepsq if ds < 0 else resid / (temp + ds)
            stplen = min(blen, gredsq / shs) if shs > 0 else blen
            iact = -1
            for i in range(n):
                if s[i] != 0:
                    xsum = xopt[i] + d[i]
                    temp = (su[i] - xsum) / s[i] if s[i] > 0 else (sl[i] - xsum) / s[i]
                    if temp < stplen:
                        stplen, iact = temp, i
            sdec = 0.0
            if stplen > 0:
                iterc += 1
                temp = shs / stepsq
                if iact < 0 and temp > 0:
                    crvmin = min(crvmin, temp)
                    if crvmin == -1:
                        crvmin = temp
                ggsav = gredsq
                gnew = gnew + stplen * hs
                gredsq = gnew[free] @ gnew[free]
                d = d + stplen * s
                sdec = max(stplen * (ggsav - 0.5 * stplen * shs), 0.0)
                qred += sdec
            if iact >= 0:
                nact += 1
                xbdi[iact] = -1.0 if s[iact] < 0 else 1.0
                delsq -= d[iact] ** 2
                if delsq <= 0:
                    label = 90
                else:
                    beta, label = 0.0, 30
            elif stplen < blen:
                if iterc == itermax or sdec <= 0.01 * qred:
                    label = 190
                else:
                    beta, label = gredsq / ggsav, 30
            else:
                label = 90
        elif label == 90:
            crvmin = 0.0
            label = 100
        elif label == 100:  # start the search along the boundary
            if nact >= n - 1:
                label = 190
                continue
            dredsq = d[free] @ d[free]
            dredg = d[free] @ gnew[free]
            gredsq = gnew[free] @ gnew[free]
            s = np.where(free, d, 0.0)
            itcsav = iterc
            label = 210
        elif label == 120:  # a direction orthogonal to d in the trust region's tangent plane
            iterc += 1
            temp = gredsq * dredsq - dredg * dredg
            if temp <= 1e-4 * qred * qred:
                label = 190
                continue
            temp = math.sqrt(temp)
            s = np.where(free, (dredg * d - dredsq * gnew) / temp, 0.0)
            sredg = -temp
            angbd, iact, label = 1.0, -1, 210
            for i in range(n):
                if xbdi[i] != 0:
                    continue
                tempa = xopt[i] + d[i] - sl[i]
                tempb = su[i] - xopt[i] - d[i]
                if tempa <= 0 or tempb <= 0:
                    nact += 1
                    xbdi[i] = -1.0 if tempa <= 0 else 1.0
                    label = 100
                    break
                ssq = d[i] ** 2 + s[i] ** 2
                temp = ssq - (xopt[i] - sl[i]) ** 2
                if temp > 0:
                    temp = math.sqrt(temp) - s[i]
                    if angbd * temp > tempa:
                        angbd, iact, xsav = tempa / temp, i, -1.0
                temp = ssq - (su[i] - xopt[i]) ** 2
                if temp > 0:
                    temp = math.sqrt(temp) + s[i]
                    if angbd * temp > tempb:
                        angbd, iact, xsav = tempb / temp, i, 1.0
        elif label == 150:  # the best angle of rotation
            shs = s[free] @ hs[free]
            dhs = d[free] @ hs[free]
            dhd = d[free] @ hred[free]
            redmax, isav, redsav, rdprev, rdnext = 0.0, 0, 0.0, 0.0, 0.0
            iu = int(17.0 * angbd + 3.1)
            for i in range(1, iu + 1):
                angt = angbd * i / iu
                sth = (angt + angt) / (1 + angt * angt)
                temp = shs + angt * (angt * dhd - dhs - dhs)
                rednew = sth * (angt * dredg - sredg - 0.5 * sth * temp)
                if rednew > redmax:
                    redmax, isav, rdprev = rednew, i, redsav
                elif i == isav + 1:
                    rdnext = rednew
                redsav = rednew
            if isav == 0:
                label = 190
                continue
            if isav < iu:
                temp = (rdnext - rdprev) / (redmax + redmax - rdprev - rdnext)
                angt = angbd * (isav + 0.5 * temp) / iu
            cth = (1 - angt * angt) / (1 + angt * angt)
            sth = (angt + angt) / (1 + angt * angt)
            temp = shs + angt * (angt * dhd - dhs - dhs)
            sdec = sth * (angt * dredg - sredg - 0.5 * sth * temp)
            if sdec <= 0:
                label = 190
                continue
            gnew = gnew + (cth - 1) * hred + sth * hs
            d = np.where(free, cth * d + sth * s, d)
            dredg = d[free] @ gnew[free]
            gredsq = gnew[free] @ gnew[free]
            hred = cth * hred + sth * hs
            qred += sdec
            if iact >= 0 and isav == iu:
                nact += 1
                xbdi[iact] = xsav
                label = 100
            else:
                label = 120 if sdec > 0.01 * qred else 190
        elif label == 210:  # the Hessian times s
            hs = s_.hess_times(s)
            if crvmin != 0:
                label = 50
            elif iterc > itcsav:
                label = 150
            else:
                hred = hs.copy()
                label = 120
        else:  # 190
            xnew = np.maximum(np.minimum(xopt + d, su), sl)
            xnew[xbdi == -1] = sl[xbdi == -1]
            xnew[xbdi == 1] = su[xbdi == 1]
            d = xnew - xopt
            return xnew, d, gnew, d @ d, crvmin


def altmov(s_, xopt, kopt, knew, adelt):
    """Powell's ALTMOV: a new position for point ``knew`` that makes its Lagrange function large.

    The best of the moves along the lines from the best point through the other points, and a
    constrained Cauchy step of the Lagrange function (kept as the alternative ``xalt``, with
    the square of its value, ``cauchy``)."""
    n, npt, sl, su, xpt = s_.n, s_.npt, s_.sl, s_.su, s_.xpt
    hcol = s_.zmat @ s_.zmat[knew]
    alpha = hcol[knew]
    ha = 0.5 * alpha
    glag = s_.bmat[knew].copy() + xpt.T @ (hcol * (xpt @ xopt))
    presav, ksav, stpsav = 0.0, -1, 0.0
    for k in range(npt):
        if k == kopt:
            continue
        tmp = xpt[k] - xopt
        dderiv = glag @ tmp
        distsq = tmp @ tmp
        subd = adelt / math.sqrt(distsq)
        slbd = -subd
        sumin = min(1.0, subd)
        for i in range(n):
            t = tmp[i]
            if t > 0:
                if slbd * t < sl[i] - xopt[i]:
                    slbd = (sl[i] - xopt[i]) / t
                if subd * t > su[i] - xopt[i]:
                    subd = max(sumin, (su[i] - xopt[i]) / t)
            elif t < 0:
                if slbd * t > su[i] - xopt[i]:
                    slbd = (su[i] - xopt[i]) / t
                if subd * t < sl[i] - xopt[i]:
                    subd = max(sumin, (sl[i] - xopt[i]) / t)
        if k == knew:
            diff = dderiv - 1
            step, vlag = slbd, slbd * (dderiv - slbd * diff)
            temp = subd * (dderiv - subd * diff)
            if abs(temp) > abs(vlag):
                step, vlag = subd, temp
            tempd = 0.5 * dderiv
            if (tempd - diff * slbd) * (tempd - diff * subd) < 0:
                temp = tempd * tempd / diff
                if abs(temp) > abs(vlag):
                    step, vlag = tempd / diff, temp
        else:
            step, vlag = slbd, slbd * (1 - slbd)
            temp = subd * (1 - subd)
            if abs(temp) > abs(vlag):
                step, vlag = subd, temp
            if subd > 0.5 and abs(vlag) < 0.25:
                step, vlag = 0.5, 0.25
            vlag *= dderiv
        temp = step * (1 - step) * distsq
        predsq = vlag * vlag * (vlag * vlag + ha * temp * temp)
        if predsq > presav:
            presav, ksav, stpsav = predsq, k, step
    # minqa 1.2.5 resets IBDSAV here: the point is clipped to the box, not snapped to a bound
    xnew = np.maximum(sl, np.minimum(su, xopt + stpsav * (xpt[ksav] - xopt)))

    bigstp = adelt + adelt
    const = 1.0 + SQRT2
    saved, csave = None, 0.0
    while True:  # the Cauchy step of the Lagrange function, then of its negative
        w = np.zeros(n)
        free = (np.minimum(xopt - sl, glag) > 0) | (np.maximum(xopt - su, glag) < 0)
        w[free] = bigstp
        ggfree = glag[free] @ glag[free]
        if ggfree == 0:
            return xnew, (saved if saved is not None else np.array(xopt)), alpha, 0.0
        wfixsq = 0.0
        while True:
            temp = adelt * adelt - wfixsq
            if temp <= 0:
                break
            wsqsav = wfixsq
            step = math.sqrt(temp / ggfree)
            ggfree = 0.0
            for i in range(n):
                if w[i] == bigstp:
                    temp = xopt[i] - step * glag[i]
                    if temp <= sl[i]:
                        w[i] = sl[i] - xopt[i]
                        wfixsq += w[i] ** 2
                    elif temp >= su[i]:
                        w[i] = su[i] - xopt[i]
                        wfixsq += w[i] ** 2
                    else:
                        ggfree += glag[i] ** 2
            if not (wfixsq > wsqsav and ggfree > 0):
                break
        xalt = np.empty(n)
        for i in range(n):
            if w[i] == bigstp:
                w[i] = -step * glag[i]
                xalt[i] = max(sl[i], min(su[i], xopt[i] + w[i]))
            elif w[i] == 0:
                xalt[i] = xopt[i]
            elif glag[i] > 0:
                xalt[i] = sl[i]
            else:
                xalt[i] = su[i]
        gw = glag @ w
        curv = hcol @ (xpt @ w) ** 2
        if saved is not None:
            curv = -curv
        if -gw < curv < -const * gw:
            scale = -gw / curv
            xalt = np.maximum(sl, np.minimum(su, xopt + scale * w))
            cauchy = (0.5 * gw * scale) ** 2
        else:
            cauchy = (gw + 0.5 * curv) ** 2
        if saved is None:
            glag = -glag
            saved, csave = xalt, cauchy
            continue
        if csave > cauchy:
            xalt, cauchy = saved, csave
        return xnew, xalt, alpha, cauchy


def update(bmat, zmat, vlag, beta, denom, knew):
    """Powell's UPDATE: bmat and zmat after point ``knew`` is replaced (in place)."""
    npt, nptm = zmat.shape
    n = bmat.shape[1]
    ztest = 1e-20 * np.abs(zmat).max()
    for j in range(1, nptm):  # rotate zmat so that row knew has one nonzero
        if abs(zmat[knew, j]) > ztest:
            temp = math.sqrt(zmat[knew, 0] ** 2 + zmat[knew, j] ** 2)
            tempa, tempb = zmat[knew, 0] / temp, zmat[knew, j] / temp
            first = zmat[:, 0].copy()
            zmat[:, 0] = tempa * first + tempb * zmat[:, j]
            zmat[:, j] = tempa * zmat[:, j] - tempb * first
        zmat[knew, j] = 0.0
    w = np.empty(npt + n)
    w[:npt] = zmat[knew, 0] * zmat[:, 0]
    alpha = w[knew]
    tau = vlag[knew]
    vlag[knew] -= 1.0
    temp = math.sqrt(denom)
    tempb, tempa = zmat[knew, 0] / temp, tau / temp
    zmat[:, 0] = tempa * zmat[:, 0] - tempb * vlag[:npt]
    w[npt:] = bmat[knew]
    for j in range(n):
        jp = npt + j
        tempa = (alpha * vlag[jp] - tau * w[jp]) / denom
        tempb = (-beta * w[jp] - tau * vlag[jp]) / denom
        bmat[:jp + 1, j] += tempa * vlag[:jp + 1] + tempb * w[:jp + 1]
        bmat[jp, :j + 1] = bmat[npt:jp + 1, j]
