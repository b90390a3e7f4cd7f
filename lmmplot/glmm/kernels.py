"""Compiled inner loops of PIRLS (numba): one pass over the observations per iteration.

A PIRLS iteration needs, at the linear predictor η, the means, the deviance residuals and
the working weights and response, and from them the blocks of the weighted system. Done
with numpy this is some thirty passes over the rows and as many calls; here it is one pass
(:func:`fill`) and one more for the new η (:func:`predict`). The links and families are
R's as :mod:`lmmplot.glmm.family` writes them, with the same numerical guards, selected by
the codes :data:`LINKS` and :data:`FAMILIES` (the tests hold the two to each other).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy import special

LINKS = ("logit", "probit", "cauchit", "cloglog", "log", "identity", "inverse", "sqrt", "1/mu^2")
FAMILIES = ("binomial", "poisson", "Gamma", "gaussian", "negative_binomial")

_EPS = float(np.finfo(float).eps)
_LOGIT_THRESH = 30.0
_PROBIT_THRESH = float(-special.ndtri(_EPS))
_CAUCHIT_THRESH = float(1 / np.tan(np.pi * _EPS))
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


@njit(cache=True)
def linkinv(link, eta):
    """μ = g⁻¹(η) for the link coded ``link`` (an index into :data:`LINKS`)."""
    if link == 0:
        if eta < -_LOGIT_THRESH:
            t = _EPS
        elif eta > _LOGIT_THRESH:
            t = 1.0 / _EPS
        else:
            t = math.exp(eta)
        return t / (1.0 + t)
    if link == 1:
        x = min(max(eta, -_PROBIT_THRESH), _PROBIT_THRESH)
        return 0.5 * math.erfc(-x / _SQRT2)
    if link == 2:
        x = min(max(eta, -_CAUCHIT_THRESH), _CAUCHIT_THRESH)
        if abs(x) > 1.0:
            tail = math.atan(1.0 / x) / math.pi
            return 1.0 - tail if x > 0 else -tail
        return 0.5 + math.atan(x) / math.pi
    if link == 3:
        return min(max(-math.expm1(-math.exp(eta)), _EPS), 1.0 - _EPS)
    if link == 4:
        return max(math.exp(eta), _EPS)
    if link == 5:
        return eta
    if link == 6:
        return 1.0 / eta
    if link == 7:
        return eta * eta
    return 1.0 / math.sqrt(eta)


@njit(cache=True)
def mu_eta(link, eta):
    """dμ/dη for the link coded ``link``."""
    if link == 0:
        if abs(eta) > _LOGIT_THRESH:
            return _EPS
        e = math.exp(eta)
        return e / ((1.0 + e) * (1.0 + e))
    if link == 1:
        return max(math.exp(-0.5 * eta * eta) / _SQRT2PI, _EPS)
    if link == 2:
        return max(1.0 / (math.pi * (1.0 + eta * eta)), _EPS)
    if link == 3:
        e = math.exp(min(eta, 700.0))
        return max(e * math.exp(-e), _EPS)
    if link == 4:
        return max(math.exp(eta), _EPS)
    if link == 5:
        return 1.0
    if link == 6:
        return -1.0 / (eta * eta)
    if link == 7:
        return 2.0 * eta
    return -1.0 / (2.0 * eta**1.5)


@njit(cache=True)
def link_values(link, eta):
    """(μ, dμ/dη) together: one exponential for the logit and log links."""
    if link == 0 and abs(eta) <= _LOGIT_THRESH:
        e = math.exp(eta)
        return e / (1.0 + e), e / ((1.0 + e) * (1.0 + e))
    if link == 4:
        e = max(math.exp(eta), _EPS)
        return e, e
    return linkinv(link, eta), mu_eta(link, eta)


@njit(cache=True)
def variance(family, mu, theta):
    """The variance function of the family coded ``family`` (``theta``: the negative binomial's)."""
    if family == 0:
        return mu * (1.0 - mu)
    if family == 1:
        return mu
    if family == 2:
        return mu * mu
    if family == 3:
        return 1.0
    return mu + mu * mu / theta


@njit(cache=True)
def _xlogy(x, y):
    return 0.0 if x == 0.0 else x * math.log(y)


@njit(cache=True)
def dev_resid(family, y, mu, wt, theta):
    """The unit deviance of one observation, as the family's ``dev_resids``."""
    if family == 0:
        return 2.0 * wt * (_xlogy(y, y / mu) + _xlogy(1.0 - y, (1.0 - y) / (1.0 - mu)))
    if family == 1:
        if y > 0:
            return 2.0 * wt * (y * math.log(y / mu) - (y - mu))
        return 2.0 * mu * wt
    if family == 2:
        return -2.0 * wt * (math.log(1.0 if y == 0 else y / mu) - (y - mu) / mu)
    if family == 3:
        return wt * (y - mu) ** 2
    return 2.0 * wt * (y * math.log(max(1.0, y) / mu) - (y + theta) * math.log((y + theta) / (mu + theta)))


@njit(cache=True)
def _general_row(family, link, theta, y, wt, eta, base):
    mu, me = link_values(link, eta)
    d = dev_resid(family, y, mu, wt, theta)
    return mu, d, wt * me * me / variance(family, mu, theta), eta - base + (y - mu) / me


@njit(cache=True)
def _binomial_logit_row(y, wt, eta, base):
    if abs(eta) > _LOGIT_THRESH:
        return _general_row(0, 0, 1.0, y, wt, eta, base)
    t = math.exp(eta)
    mu = t / (1.0 + t)
    me = t / ((1.0 + t) * (1.0 + t))
    if y == 0.0:
        d = -2.0 * wt * math.log(1.0 - mu)
    elif y == 1.0:
        d = -2.0 * wt * math.log(mu)
    else:
        d = dev_resid(0, y, mu, wt, 1.0)
    return mu, d, wt * me * me / (mu * (1.0 - mu)), eta - base + (y - mu) / me


@njit(cache=True)
def _poisson_log_row(y, wt, eta, base):
    mu = max(math.exp(eta), _EPS)
    if y > 0:
        d = 2.0 * wt * (y * math.log(y / mu) - (y - mu))
    else:
        d = 2.0 * mu * wt
    return mu, d, wt * mu, eta - base + (y - mu) / mu


@njit(cache=True)
def row_values(family, link, theta, y, wt, eta, base):
    """At one η: μ, the deviance residual, the working weight and the working response z − base.

    The canonical binomial-logit and Poisson-log pairs take a short path (one exponential,
    one logarithm); the values agree with the general path to rounding.
    """
    if family == 0 and link == 0:
        return _binomial_logit_row(y, wt, eta, base)
    if family == 1 and link == 4:
        return _poisson_log_row(y, wt, eta, base)
    return _general_row(family, link, theta, y, wt, eta, base)


@njit(cache=True)
def working_values(lo, hi, family, link, theta, y, pw, eta, base, mu, dr, w, z):
    """:func:`row_values` for rows ``lo`` to ``hi`` − 1 into ``mu, dr, w, z``; returns their Σ dr.

    One loop per short path, so that each compiles to straight-line code.
    """
    dev = 0.0
    if family == 0 and link == 0:
        for i in range(lo, hi):
            mu[i], dr[i], w[i], z[i] = _binomial_logit_row(y[i], pw[i], eta[i], base[i])
            dev += dr[i]
    elif family == 1 and link == 4:
        for i in range(lo, hi):
            mu[i], dr[i], w[i], z[i] = _poisson_log_row(y[i], pw[i], eta[i], base[i])
            dev += dr[i]
    else:
        for i in range(lo, hi):
            mu[i], dr[i], w[i], z[i] = _general_row(family, link, theta, y[i], pw[i], eta[i], base[i])
            dev += dr[i]
    return dev


@njit(cache=True)
def family_values(family, link, theta, eta, y, wt):
    """μ, dμ/dη, the variance, the deviance residuals, and the working weights and response
    as :func:`fill` takes them, at η (arrays): the tests' view."""
    n = eta.size
    out = np.empty((6, n))
    for i in range(n):
        m = linkinv(link, eta[i])
        out[0, i] = m
        out[1, i] = mu_eta(link, eta[i])
        out[2, i] = variance(family, m, theta)
        out[3, i] = dev_resid(family, y[i], m, wt[i], theta)
        _, _, out[4, i], out[5, i] = row_values(family, link, theta, y[i], wt[i], eta[i], 0.0)
    return out


@njit(cache=True, inline="always")
def _linear_row(i, codes, R1, b1, indptr, indices, data, b_rest, X, beta):
    """Row i of Z₁b₁ + Z_rest b_rest + Xβ."""
    s = 0.0
    j = codes[i]
    for a in range(R1.shape[1]):
        s += R1[i, a] * b1[j, a]
    for k in range(indptr[i], indptr[i + 1]):
        s += data[k] * b_rest[indices[k]]
    for c in range(X.shape[1]):
        s += X[i, c] * beta[c]
    return s


@njit(cache=True)
def _predict_rows(lo, hi, base, codes, R1, b1, indptr, indices, data, b_rest, X, beta, eta, old_eta, old_w):
    """:func:`predict` for rows ``lo`` to ``hi`` − 1."""
    change = 0.0
    track = old_eta.size > 0
    for i in range(lo, hi):
        e = base[i] + _linear_row(i, codes, R1, b1, indptr, indices, data, b_rest, X, beta)
        if track:
            change = max(change, abs(e - old_eta[i]) * old_w[i])
        eta[i] = e
    return change


@njit(cache=True)
def predict(base, codes, R1, b1, indptr, indices, data, b_rest, X, beta, eta, old_eta, old_w):
    """η = base + Z₁b₁ + Z_rest b_rest + Xβ into ``eta``.

    Given the linear predictor ``old_eta`` and weights ``old_w`` this replaces, returns
    max_i |Δη_i| old_w_i: η's change weighted by the rows' share of the information (a row
    whose mean runs to a bound, w → 0, stops counting); else 0.
    """
    return _predict_rows(0, R1.shape[0], base, codes, R1, b1, indptr, indices, data, b_rest, X, beta, eta, old_eta,
                         old_w)


@njit(cache=True)
def _accumulate(lo, hi, w, z, codes, R1, indptr, indices, data, pair, X, A11, E, vals, A22):
    """Rows ``lo`` to ``hi`` − 1's terms of the blocks (A22's lower triangle only) at weights
    ``w`` and working response ``z``; returns their largest w."""
    wmax = 0.0
    p1 = R1.shape[1]
    px = X.shape[1]
    m = px + 1
    qr = A22.shape[0] - m
    row = np.empty(m)
    for i in range(lo, hi):
        j = codes[i]
        wi = w[i]
        wmax = max(wmax, wi)
        for c in range(px):
            row[c] = X[i, c]
        row[px] = z[i]
        if p1 == 1:  # a scalar first term: no loops over its columns
            ra = wi * R1[i, 0]
            A11[j, 0, 0] += ra * R1[i, 0]
            for c in range(m):
                E[j, c, 0] += row[c] * ra
        else:
            for a in range(p1):
                ra = wi * R1[i, a]
                for b in range(p1):
                    A11[j, a, b] += ra * R1[i, b]
                for c in range(m):
                    E[j, c, a] += row[c] * ra
        for k in range(indptr[i], indptr[i + 1]):
            col = indices[k]
            dk = wi * data[k]
            if p1 == 1:
                vals[pair[k], 0] += dk * R1[i, 0]
            else:
                for a in range(p1):
                    vals[pair[k], a] += dk * R1[i, a]
            for k2 in range(indptr[i], indptr[i + 1]):
                A22[col, indices[k2]] += dk * data[k2]
            for c in range(m):
                A22[qr + c, col] += dk * row[c]
        for c in range(m):
            wc = wi * row[c]
            for c2 in range(c + 1):
                A22[qr + c, qr + c2] += wc * row[c2]
    return wmax


@njit(cache=True)
def symmetrize(A):
    """The upper triangle of A from its lower."""
    for a in range(A.shape[0]):
        for b in range(a):
            A[b, a] = A[a, b]


@njit(cache=True, nogil=True)
def fill(lo, hi, family, link, theta, y, pw, eta, base, codes, R1, indptr, indices, data, pair, X,
         new_eta, b1, b_rest, beta, old_eta, old_w, mu, dr, w, z, A11, E, vals, A22):
    """At η, for rows ``lo`` to ``hi`` − 1: μ, the deviance residuals and the working weights
    (into ``mu, dr, w``; ``z`` is scratch), and the rows' blocks of the weighted system;
    returns their Σ dr, max w, and η's weighted change (below).

    With ``new_eta``, η is first computed into ``eta`` by :func:`predict` (base + Z₁b₁ +
    Z_rest b_rest + Xβ), with its change from ``old_eta`` weighted by ``old_w`` (which may
    be empty).

    The working weights w = pw μ'²/V(μ) and response z = η − base + (y − μ)/μ' weight the
    columns [X z] (X may have no columns): A11 (l1 × p1 × p1) and E (l1 × m × p1) per level
    of the first term, ``vals`` the first term's cross-products with the other terms'
    nonzeros (row ``pair[k]`` for nonzero k of Z_rest, CSR ``indptr, indices, data``), and
    the lower triangle of A22, the dense block [Z_rest X z]ᵀW[Z_rest X z] (:func:`symmetrize`
    completes it). Without the GIL: threads may fill disjoint row ranges into blocks of
    their own.
    """
    A11[:] = 0.0
    E[:] = 0.0
    vals[:] = 0.0
    A22[:] = 0.0
    change = 0.0
    if new_eta:
        change = _predict_rows(lo, hi, base, codes, R1, b1, indptr, indices, data, b_rest, X, beta, eta, old_eta,
                               old_w)
    dev = working_values(lo, hi, family, link, theta, y, pw, eta, base, mu, dr, w, z)
    wmax = _accumulate(lo, hi, w, z, codes, R1, indptr, indices, data, pair, X, A11, E, vals, A22)
    return dev, wmax, change


@njit(cache=True)
def back_solve(L22):
    """x with L22[:-1, :-1]ᵀ x = L22[-1, :-1]: the dense block's part of the solution."""
    k = L22.shape[0] - 1
    x = np.empty(k)
    for a in range(k - 1, -1, -1):
        s = L22[k, a]
        for b in range(a + 1, k):
            s -= L22[b, a] * x[b]
        x[a] = s / L22[a, a]
    return x


@njit(cache=True)
def first_modes(L11, T1, E, ptr, rows, vals, b_rest, beta):
    """u1 per level given the other terms' b and β: L_j⁻ᵀL_j⁻¹T1ᵀ(E_j z − E_j X β − Σ vals b).

    E's last column pair is the working response's; its others are X's (none when β is
    absorbed in the response).
    """
    nlev, p1, _ = L11.shape
    m = E.shape[1]
    px = beta.size
    u1 = np.empty((nlev, p1))
    r = np.empty(p1)
    t = np.empty(p1)
    for j in range(nlev):
        for a in range(p1):
            s = E[j, m - 1, a]
            for c in range(px):
                s -= E[j, c, a] * beta[c]
            for k in range(ptr[j], ptr[j + 1]):
                s -= vals[k, a] * b_rest[rows[k]]
            r[a] = s
        for a in range(p1):  # T1ᵀ r
            s = 0.0
            for c in range(p1):
                s += T1[c, a] * r[c]
            t[a] = s
        for a in range(p1):  # L_j y = t
            s = t[a]
            for c in range(a):
                s -= L11[j, a, c] * t[c]
            t[a] = s / L11[j, a, a]
        for a in range(p1 - 1, -1, -1):  # L_jᵀ u = y
            s = t[a]
            for c in range(a + 1, p1):
                s -= L11[j, c, a] * u1[j, c]
            u1[j, a] = s / L11[j, a, a]
    return u1


@njit(cache=True)
def quadrature_sums(family, link, theta, y, pw, eta, step, codes, u, sd, devc0, z, w, ldnorm):
    """Σ_k w_k exp(−½(d_j(û_j + z_k sd_j) − d_j(û_j)) − ldnorm_k)/√(2π) per level j: the
    adaptive Gauss-Hermite sums, d_j the level's deviance residuals plus u², η moved by
    z_k ``step`` at node k."""
    nl = u.size
    mult = np.zeros(nl)
    dsum = np.empty(nl)
    for k in range(z.size):
        if z[k] == 0.0:
            for j in range(nl):
                mult[j] += w[k]
            continue
        dsum[:] = 0.0
        for i in range(eta.size):
            mu = linkinv(link, eta[i] + z[k] * step[i])
            dsum[codes[i]] += dev_resid(family, y[i], mu, pw[i], theta)
        for j in range(nl):
            devc = (u[j] + z[k] * sd[j]) ** 2 + dsum[j]
            mult[j] += math.exp(-0.5 * (devc - devc0[j]) - ldnorm[k]) * w[k] / _SQRT2PI
    return mult
