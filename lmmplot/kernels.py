"""Compiled inner loops of the objective (numba): one pass over the levels of a term.

numpy spends most of a small model's evaluation on call overhead, and the sparse
rank update of a crossed model on building intermediate sparse matrices; these loops
do both in one pass with no temporaries. Compiled once and cached on disk.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def first_block(A11, E, T, L, W, F, G):
    """Factor the first term's diagonal blocks and form their Schur update.

    For each level j: L_j = chol(Tᵀ A_j T + I), W_j = T L_j⁻ᵀ, F_j = E_j W_j, and
    G += F_j F_jᵀ. Fills L, W, F and G (zeroed by the caller); returns Σ log|L_j|².
    """
    nlev, p, _ = A11.shape
    m = E.shape[1]
    AT = np.empty((p, p))
    M = np.empty((p, p))
    logdet = 0.0
    for j in range(nlev):
        for a in range(p):
            for b in range(p):
                s = 0.0
                for c in range(p):
                    s += A11[j, a, c] * T[c, b]
                AT[a, b] = s
        for a in range(p):
            for b in range(p):
                s = 1.0 if a == b else 0.0
                for c in range(p):
                    s += T[c, a] * AT[c, b]
                M[a, b] = s
        for a in range(p):
            s = M[a, a]
            for c in range(a):
                s -= L[j, a, c] * L[j, a, c]
            d = np.sqrt(s)
            L[j, a, a] = d
            logdet += 2.0 * np.log(d)
            for b in range(a + 1, p):
                s = M[b, a]
                for c in range(a):
                    s -= L[j, b, c] * L[j, a, c]
                L[j, b, a] = s / d
        # row r of W solves L_j w = T[r, :]
        for r in range(p):
            for a in range(p):
                s = T[r, a]
                for c in range(a):
                    s -= L[j, a, c] * W[j, r, c]
                W[j, r, a] = s / L[j, a, a]
        for i in range(m):
            for a in range(p):
                s = 0.0
                for c in range(p):
                    s += E[j, i, c] * W[j, c, a]
                F[j, i, a] = s
        for i in range(m):
            for k in range(i + 1):
                s = 0.0
                for a in range(p):
                    s += F[j, i, a] * F[j, k, a]
                G[i, k] += s
    for i in range(m):
        for k in range(i):
            G[k, i] = G[i, k]
    return logdet


@njit(cache=True)
def rest_update(ptr, rows, vals, W, F, S, q_rest):
    """Subtract the other terms' part of the Schur update from S, one first-term level at a time.

    ``rows[ptr[j]:ptr[j+1]]`` are the other terms' effects that share observations with
    level j of the first term (ascending), ``vals`` their p1 cross-products. With
    H_j = vals_j W_j, subtracts H_j H_jᵀ from the effects' block of S and F_j H_jᵀ from the
    block below it: the lower triangle only, all the factorization reads.
    """
    nlev, p, _ = W.shape
    m = F.shape[1]
    if p == 1:
        _rest_update_scalar(ptr, rows, vals, W, F, S, q_rest)
        return
    longest = 0
    for j in range(nlev):
        longest = max(longest, ptr[j + 1] - ptr[j])
    H = np.empty((longest, p))
    for j in range(nlev):
        start, stop = ptr[j], ptr[j + 1]
        n = stop - start
        for i in range(n):
            for a in range(p):
                s = 0.0
                for c in range(p):
                    s += vals[start + i, c] * W[j, c, a]
                H[i, a] = s
        for i in range(n):
            r1 = rows[start + i]
            for k in range(i + 1):
                s = 0.0
                for a in range(p):
                    s += H[i, a] * H[k, a]
                S[r1, rows[start + k]] -= s
            for c in range(m):
                s = 0.0
                for a in range(p):
                    s += H[i, a] * F[j, c, a]
                S[q_rest + c, r1] -= s


@njit(cache=True)
def _rest_update_scalar(ptr, rows, vals, W, F, S, q_rest):
    """rest_update for a scalar first term (p1 = 1): H_j is a column, no inner loops over p1."""
    nlev = W.shape[0]
    m = F.shape[1]
    longest = 0
    for j in range(nlev):
        longest = max(longest, ptr[j + 1] - ptr[j])
    H = np.empty(longest)
    for j in range(nlev):
        start, stop = ptr[j], ptr[j + 1]
        wj = W[j, 0, 0]
        for i in range(stop - start):
            H[i] = vals[start + i, 0] * wj
        for i in range(stop - start):
            r1 = rows[start + i]
            h = H[i]
            for k in range(i + 1):
                S[r1, rows[start + k]] -= h * H[k]
            for c in range(m):
                S[q_rest + c, r1] -= h * F[j, c, 0]


@njit(cache=True)
def scale_lower(S, q_rest, d):
    """Λᵀ S Λ + I on the lower triangle of S, for a diagonal Λ = diag(d) on the first q_rest rows."""
    n = S.shape[0]
    for i in range(q_rest):
        for j in range(i + 1):
            S[i, j] *= d[i] * d[j]
        S[i, i] += 1.0
    for i in range(q_rest, n):
        for j in range(q_rest):
            S[i, j] *= d[j]


@njit(cache=True)
def cholesky_lower(S):
    """Lower Cholesky factor of a small dense matrix in place (reads the lower triangle).

    Returns False if S is not positive definite. For small S this beats LAPACK's call cost.
    """
    n = S.shape[0]
    for a in range(n):
        s = S[a, a]
        for c in range(a):
            s -= S[a, c] * S[a, c]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        S[a, a] = d
        for b in range(a + 1, n):
            s = S[b, a]
            for c in range(a):
                s -= S[b, c] * S[a, c]
            S[b, a] = s / d
        for b in range(a + 1, n):
            S[a, b] = 0.0
    return True


@njit(cache=True)
def profiled_criterion(logdet_z, logdet_x, r2, n, p, reml):
    """lme4's profiled deviance (ML) or REML criterion from the factor's pieces."""
    if reml:
        return logdet_z + logdet_x + (n - p) * (1.0 + np.log(2.0 * np.pi * r2 / (n - p)))
    return logdet_z + n * (1.0 + np.log(2.0 * np.pi * r2 / n))


@njit(cache=True)
def small_criterion(A11, E, T, A22, ptr, rows, vals, d, q_rest, n, reml):
    """The criterion of a model with a small dense block, in one pass: the optimizer's hot path.

    The arithmetic of BlockedSystem.factor (first_block, then for scalar crossed terms
    rest_update and scale_lower with Λ's diagonal ``d``), with S factored in place and
    nothing kept; +inf where a factor is not positive definite.
    """
    nlev, p, _ = A11.shape
    m = E.shape[1]
    L = np.zeros((nlev, p, p))
    W = np.empty((nlev, p, p))
    F = np.empty((nlev, m, p))
    G = np.zeros((m, m))
    logdet_z = first_block(A11, E, T, L, W, F, G)
    S = A22.copy()
    for i in range(m):
        for k in range(m):
            S[q_rest + i, q_rest + k] -= G[i, k]
    if q_rest:
        rest_update(ptr, rows, vals, W, F, S, q_rest)
        scale_lower(S, q_rest, d)
    if not cholesky_lower(S):
        return np.inf
    size = S.shape[0]
    logdet_x = 0.0
    for i in range(size - 1):
        if i < q_rest:
            logdet_z += 2.0 * np.log(S[i, i])
        else:
            logdet_x += 2.0 * np.log(S[i, i])
    return profiled_criterion(logdet_z, logdet_x, S[size - 1, size - 1] ** 2, n, m - 1, reml)
