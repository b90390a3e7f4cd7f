"""Richardson-extrapolated finite differences, as R's numDeriv computes them.

lmerTest takes the Hessian of the deviance and the Jacobian of vcov(β) with numDeriv;
using the same steps and extrapolation gives the same Satterthwaite df, boundary fits
included.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

_ZERO_TOL = np.sqrt(np.finfo(float).eps / 7e-7)


def _steps(x: np.ndarray, d: float, eps: float) -> np.ndarray:
    return np.abs(d * x) + eps * (np.abs(x) < _ZERO_TOL)


def _richardson(a: np.ndarray) -> np.ndarray:
    """Extrapolate along the first axis (successively halved steps) to the limit."""
    a = a.copy()
    r = a.shape[0]
    for m in range(1, r):
        four = 4.0**m
        a = (a[1 : r - m + 1] * four - a[: r - m]) / (four - 1.0)
    return a[0]


def jacobian(fun: Callable[[np.ndarray], np.ndarray], x: np.ndarray, d: float = 1e-4,
             eps: float = 1e-4, r: int = 4, v: float = 2.0) -> np.ndarray:
    """Jacobian (len(f) × len(x)) of a vector function, numDeriv's ``method="Richardson"``."""
    x = np.asarray(x, float)
    h0 = _steps(x, d, eps)
    cols = []
    for i in range(x.size):
        est = []
        h = h0.copy()
        for _ in range(r):
            step = np.zeros_like(x)
            step[i] = h[i]
            est.append((np.ravel(fun(x + step)) - np.ravel(fun(x - step))) / (2 * h[i]))
            h = h / v
        cols.append(_richardson(np.array(est)))
    return np.column_stack(cols)


def hessian(fun: Callable[[np.ndarray], float], x: np.ndarray, d: float = 0.1,
            eps: float = 1e-4, r: int = 4, v: float = 2.0) -> np.ndarray:
    """Hessian of a scalar function, numDeriv's ``genD`` with Richardson extrapolation."""
    x = np.asarray(x, float)
    n = x.size
    f0 = fun(x)
    h0 = _steps(x, d, eps)
    hdiag = np.zeros(n)
    for i in range(n):
        h = h0.copy()
        est = []
        for _ in range(r):
            step = np.zeros(n)
            step[i] = h[i]
            est.append((fun(x + step) - 2 * f0 + fun(x - step)) / h[i] ** 2)
            h = h / v
        hdiag[i] = _richardson(np.array(est))
    H = np.diag(hdiag)
    for i in range(n):
        for j in range(i):
            h = h0.copy()
            est = []
            for _ in range(r):
                step = np.zeros(n)
                step[i] += h[i]
                step[j] += h[j]
                est.append(
                    (fun(x + step) - 2 * f0 + fun(x - step) - hdiag[i] * h[i] ** 2 - hdiag[j] * h[j] ** 2)
                    / (2 * h[i] * h[j])
                )
                h = h / v
            H[i, j] = H[j, i] = _richardson(np.array(est))
    return H


def deriv12(fun, x: np.ndarray, delta: float = 1e-4, fx: float | None = None,
            four_point: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and Hessian with lme4's step (``fx``: fun(x), if known).

    ``four_point`` takes the cross derivatives as lme4's deriv12 does (for the Hessian its
    glmer vcov reads): (f(x+δᵢ+δⱼ) − f(x+δᵢ−δⱼ) − f(x−δᵢ+δⱼ) + f(x−δᵢ−δⱼ))/(2δ)², 2k² + 1
    evaluations for k parameters. Otherwise from f(x ± (δᵢ+δⱼ)) and the diagonal, k² + k + 1
    evaluations: the same to second order, enough for Newton steps and convergence checks.
    """
    k = x.size
    f0 = fun(x) if fx is None else fx
    hess = np.zeros((k, k))
    eye = np.eye(k) * delta
    fp = np.array([fun(x + eye[i]) for i in range(k)])
    fm = np.array([fun(x - eye[i]) for i in range(k)])
    grad = (fp - fm) / (2 * delta)
    np.fill_diagonal(hess, (fp - 2 * f0 + fm) / delta**2)
    for i in range(k):
        for j in range(i):
            if four_point:
                hess[i, j] = (fun(x + eye[i] + eye[j]) - fun(x + eye[i] - eye[j]) - fun(x - eye[i] + eye[j])
                              + fun(x - eye[i] - eye[j])) / (2 * delta) ** 2
            else:
                fpp = fun(x + eye[i] + eye[j])
                fmm = fun(x - eye[i] - eye[j])
                hess[i, j] = (fpp - 2 * f0 + fmm - hess[i, i] * delta**2 - hess[j, j] * delta**2) / (2 * delta**2)
            hess[j, i] = hess[i, j]
    return grad, hess
