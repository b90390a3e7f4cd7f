"""Leverages and Cook's distances of a mixed model, as lme4's hatvalues() and cooks.distance()."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from .linalg import single_threaded_blas

_CHUNK = 4096


def hat_values(model, weights: np.ndarray | None = None) -> np.ndarray:
    """Diagonal of the hat matrix [ZΛ X] M⁻¹ [ZΛ X]ᵀ, M the penalized cross-product.

    Worked through the blocked factor, a chunk of rows at a time, so that no n × q
    matrix is ever formed. With prior weights the rows are √w-scaled, so hᵢ scales by wᵢ.
    ``weights`` overrides the system's row weights in that scaling: a GLMM's factor is that
    of its final IRLS weights, and lme4's hatvalues() scales its rows by the prior weights.
    On one BLAS thread: its small products would wake OpenBLAS's threads, whose spinning
    afterwards tripled the CPU time of plot_diagnostics' frames on a busy machine.
    """
    with single_threaded_blas():
        return _hat_values(model, weights)


def _hat_values(model, weights: np.ndarray | None) -> np.ndarray:
    """:func:`hat_values`' work, on whichever BLAS threads it is given."""
    s, f = model.system, model.factor
    first, qr, p = s.first, s.q_rest, s.p
    L2 = f.L22[:-1, :-1]  # drop the response
    Minv1 = np.swapaxes(f.L11inv, 1, 2) @ f.L11inv  # l1 × p1 × p1
    # M21 restricted to columns of level j, times M11_j⁻¹ T1ᵀ: l1 × (qr + p) × p1
    E_x = s.E[:, :p, :] @ f.T1
    if qr:
        Mz = s.rest_by_first(f)
        M21 = np.concatenate([np.moveaxis(Mz, 1, 0), E_x], axis=1)
        lam_t = f.lam_rest.T.tocsr()
    else:
        M21 = E_x
    K = M21 @ Minv1 @ f.T1.T  # l1 × m × p1
    a1_all = first.rows @ f.T1  # rows of Z1Λ1 within each level: n × p1
    out = np.empty(s.n)
    for start in range(0, s.n, _CHUNK):
        rows = slice(start, min(start + _CHUNK, s.n))
        codes = first.codes[rows]
        w1 = np.einsum("iab,ib->ia", f.L11inv[codes], a1_all[rows])
        a2 = s.Xq[rows]  # the system's own columns for X
        if qr:
            a2 = np.hstack([np.asarray((lam_t @ s.Z_rest[rows].T).T.toarray()), a2])
        v = np.einsum("imb,ib->im", K[codes], first.rows[rows])
        w2 = scipy.linalg.solve_triangular(L2, (a2 - v).T, lower=True, check_finite=False)
        out[rows] = np.einsum("ia,ia->i", w1, w1) + np.einsum("mi,mi->i", w2, w2)
    scale = s.w if weights is None else weights
    return out if scale is None else out * scale


def cooks_distance(model, hat: np.ndarray | None = None) -> np.ndarray:
    """lme4's cooks.distance(): (r / (1 − h))² h / (σ² p)."""
    h = hat_values(model) if hat is None else hat
    r = model.residuals(type="pearson")
    return (r / (1.0 - h)) ** 2 * h / (model.sigma**2 * model.n_fixed)
