"""Simulated benchmark data sets, each from a fixed seed (the same rows on every run)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def _group_sizes(rng: np.random.Generator, n: int, ngroups: int, minimum: int, spread: float) -> np.ndarray:
    """Unequal group sizes, each at least ``minimum``, adding up to ``n``."""
    weights = rng.lognormal(0.0, spread, ngroups)
    extra = rng.multinomial(n - minimum * ngroups, weights / weights.sum())
    return extra + minimum


def schools(n: int = 7000, nschools: int = 160, seed: int = 20240607) -> pd.DataFrame:
    """Pupils in schools, shaped like High School and Beyond: ``math ~ ses + (1 + ses | school)``.

    School intercepts and ses slopes are correlated (sd 2.5 and 0.8, correlation 0.3),
    pupils' ses varies around their school's mean, and the residual sd is 6.
    """
    rng = np.random.default_rng(seed)
    sizes = _group_sizes(rng, n, nschools, minimum=15, spread=0.4)
    school = np.repeat(np.arange(nschools), sizes)
    school_ses = rng.normal(0.0, 0.4, nschools)
    ses = school_ses[school] + rng.normal(0.0, 0.7, n)
    cov = np.array([[2.5**2, 0.3 * 2.5 * 0.8], [0.3 * 2.5 * 0.8, 0.8**2]])
    b = rng.multivariate_normal([0.0, 0.0], cov, nschools)
    math = 12.6 + 2.4 * ses + b[school, 0] + b[school, 1] * ses + rng.normal(0.0, 6.0, n)
    return pd.DataFrame({"school": np.char.add("S", school.astype(str)), "ses": ses, "math": math})


def _capped_sizes(rng: np.random.Generator, n: int, ngroups: int, minimum: int, cap: int) -> np.ndarray:
    """Skewed group sizes between ``minimum`` and ``cap``, adding up to ``n``."""
    sizes = np.minimum(_group_sizes(rng, n, ngroups, minimum, spread=1.0), cap)
    while (short := n - sizes.sum()) > 0:
        room = np.flatnonzero(sizes < cap)
        sizes[room] += rng.multinomial(short, np.full(room.size, 1.0 / room.size))
        sizes = np.minimum(sizes, cap)
    return sizes


def ratings(n: int = 1_000_000, nusers: int = 6040, nitems: int = 3706, seed: int = 1) -> pd.DataFrame:
    """Ratings shaped like MovieLens-1M: ``y ~ 1 + (1 | user) + (1 | item)``.

    As in MovieLens, every user rates between 20 and 2,314 items, each item at most once,
    and every item is rated; activity and item popularity are skewed (log-normal), and
    y = 3.6 + user effect (sd 0.45) + item effect (sd 0.5) + noise (sd 0.9).
    """
    rng = np.random.default_rng(seed)
    sizes = _capped_sizes(rng, n, nusers, minimum=20, cap=2314)
    popularity = rng.lognormal(0.0, 1.5, nitems)
    rated = []
    for k in sizes:  # k items without replacement, chosen by popularity (smallest Exp(1)/weight keys)
        keys = rng.exponential(size=nitems) / popularity
        rated.append(np.argpartition(keys, k - 1)[:k])
    _rate_every_item(rng, rated, nitems)
    user = np.repeat(np.arange(nusers), sizes)
    item = np.concatenate(rated)
    y = 3.6 + rng.normal(0.0, 0.45, nusers)[user] + rng.normal(0.0, 0.5, nitems)[item] + rng.normal(0.0, 0.9, n)
    return pd.DataFrame({"user": user, "item": item, "y": y})


def _rate_every_item(rng: np.random.Generator, rated: list[np.ndarray], nitems: int) -> None:
    """Give each unrated item to a random user, in place of one of that user's items rated twice or more."""
    counts = np.bincount(np.concatenate(rated), minlength=nitems)
    for missing in np.flatnonzero(counts == 0):
        while True:
            items = rated[rng.integers(len(rated))]
            spare = np.flatnonzero(counts[items] > 1)
            if spare.size:
                slot = spare[rng.integers(spare.size)]
                counts[items[slot]] -= 1
                items[slot] = missing
                counts[missing] = 1
                break


def slopes(n: int, ngroups: int = 100_000, seed: int = 7) -> pd.DataFrame:
    """Many groups with a random slope: ``y ~ x + (1 + x | g)``.

    Rows fall in groups at random (every group gets at least one row); intercept and slope
    sds are 1.0 and 0.5 with correlation −0.2, and the residual sd is 1.
    """
    rng = np.random.default_rng(seed)
    g = rng.integers(0, ngroups, n)
    g[rng.choice(n, ngroups, replace=False)] = np.arange(ngroups)
    x = rng.normal(0.0, 1.0, n)
    cov = np.array([[1.0, -0.2 * 0.5], [-0.2 * 0.5, 0.25]])
    b = rng.multivariate_normal([0.0, 0.0], cov, ngroups)
    y = 1.0 + 0.5 * x + b[g, 0] + b[g, 1] * x + rng.normal(0.0, 1.0, n)
    return pd.DataFrame({"g": g, "x": x, "y": y})


def binary(n: int = 1_000_000, ngroups: int = 10_000, seed: int = 20241202) -> pd.DataFrame:
    """A binary response with one random intercept: ``y ~ x + (1 | g)``, logit link.

    Groups of unequal size (at least 20 rows), intercept sd 1, fixed effects -0.5 and 0.8.
    """
    rng = np.random.default_rng(seed)
    sizes = _group_sizes(rng, n, ngroups, minimum=20, spread=0.5)
    g = np.repeat(np.arange(ngroups), sizes)
    x = rng.normal(0.0, 1.0, n)
    eta = -0.5 + 0.8 * x + rng.normal(0.0, 1.0, ngroups)[g]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    return pd.DataFrame({"g": np.char.add("G", g.astype(str)), "x": x, "y": y})
