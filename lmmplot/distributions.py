"""Tail probabilities and quantiles of the t, F, χ², normal and beta distributions.

These are the scipy.special functions that scipy.stats' distributions evaluate, called
directly: importing scipy.stats takes about a second, scipy.special a few milliseconds.
"""
from __future__ import annotations

from scipy import special


def t_sf(x, df):
    """P(T > x) for Student's t with ``df`` degrees of freedom."""
    return special.stdtr(df, -x)


def t_ppf(q, df):
    """The ``q`` quantile of Student's t, 0 < q < 1."""
    return special.stdtrit(df, q)


def f_sf(x, dfn, dfd):
    """P(F > x) for the F distribution with ``dfn`` and ``dfd`` degrees of freedom."""
    return special.fdtrc(dfn, dfd, x)


def chi2_sf(x, df):
    """P(X > x) for χ² with ``df`` > 0 degrees of freedom."""
    return special.chdtrc(df, x)


def norm_ppf(q):
    """The ``q`` quantile of the standard normal."""
    return special.ndtri(q)


def norm_sf(x):
    """P(Z > x) for the standard normal."""
    return special.ndtr(-x)


def beta_ppf(q, a, b):
    """The ``q`` quantile of the Beta(``a``, ``b``) distribution."""
    return special.betaincinv(a, b, q)
