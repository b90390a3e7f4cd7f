"""R's GLM families and links (stats::family, MASS::negative.binomial), with R's numerical guards.

Each family object carries what R's carries: the link functions (``linkfun``, ``linkinv``,
``mu_eta``, ``valideta``), the variance function, the unit deviances (``dev_resids``), the AIC
(R's ``family$aic``) and R's ``initialize`` step, which turns the response into a proportion or
count and makes starting means.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special

from ..errors import ArgumentTypeError, DataError, FamilyError, LmmplotWarning
from ..rformat import format_num, r_round

EPS = np.finfo(float).eps
_LOGIT_THRESH = 30.0  # R's logit_linkinv / logit_mu_eta (src/library/stats/src/family.c)


class Link:
    """A link function g with its inverse and dμ/dη, clamped as R clamps them."""

    def __init__(self, name, linkfun, linkinv, mu_eta, valideta=lambda eta: True):
        self.name = name
        self._linkfun, self._linkinv, self._mu_eta, self._valideta = linkfun, linkinv, mu_eta, valideta

    def linkfun(self, mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._linkfun(np.asarray(mu, dtype=float))

    def linkinv(self, eta):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._linkinv(np.asarray(eta, dtype=float))

    def mu_eta(self, eta):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._mu_eta(np.asarray(eta, dtype=float))

    def valideta(self, eta) -> bool:
        return bool(self._valideta(np.asarray(eta, dtype=float)))

    def __repr__(self):
        return f"Link({self.name!r})"


def _logit_linkfun(mu):
    if np.any((mu < 0) | (mu > 1)):
        bad = mu[(mu < 0) | (mu > 1)][0]
        raise DataError(f"value {bad:g} out of range (0, 1) for the logit link")
    return np.log(mu / (1 - mu))


def _logit_linkinv(eta):
    t = np.where(eta < -_LOGIT_THRESH, EPS, np.where(eta > _LOGIT_THRESH, 1 / EPS, np.exp(eta)))
    return t / (1 + t)


def _logit_mu_eta(eta):
    e = np.exp(np.clip(eta, -_LOGIT_THRESH, _LOGIT_THRESH))
    return np.where(np.abs(eta) > _LOGIT_THRESH, EPS, e / (1 + e) ** 2)


_PROBIT_THRESH = -special.ndtri(EPS)
_CAUCHIT_THRESH = 1 / np.tan(np.pi * EPS)  # -qcauchy(eps)


def _qcauchy(p):
    """R's qcauchy: the quantile from the nearer tail, -1/tan(πp), exact at p = 1/2."""
    tail = np.minimum(p, 1 - p)
    with np.errstate(divide="ignore"):
        q = -1 / np.tan(np.pi * tail)
    return np.where(p == 0.5, 0.0, np.where(p > 0.5, -q, q))


def _pcauchy(x):
    """R's pcauchy: atan(1/x)/π in the tails keeps the small probabilities accurate."""
    with np.errstate(divide="ignore"):
        tail = np.arctan(1 / x) / np.pi
    return np.where(np.abs(x) > 1, np.where(x > 0, 1 - tail, -tail), 0.5 + np.arctan(x) / np.pi)


def _cloglog_mu_eta(eta):
    eta = np.minimum(eta, 700)
    return np.maximum(np.exp(eta) * np.exp(-np.exp(eta)), EPS)


LINKS = {
    "logit": Link("logit", _logit_linkfun, _logit_linkinv, _logit_mu_eta),
    "probit": Link(
        "probit", special.ndtri,
        lambda eta: special.ndtr(np.clip(eta, -_PROBIT_THRESH, _PROBIT_THRESH)),
        lambda eta: np.maximum(np.exp(-0.5 * eta**2) / np.sqrt(2 * np.pi), EPS)),
    "cauchit": Link(
        "cauchit", _qcauchy, lambda eta: _pcauchy(np.clip(eta, -_CAUCHIT_THRESH, _CAUCHIT_THRESH)),
        lambda eta: np.maximum(1 / (np.pi * (1 + eta**2)), EPS)),
    "cloglog": Link(
        "cloglog", lambda mu: np.log(-np.log(1 - mu)),
        lambda eta: np.clip(-np.expm1(-np.exp(eta)), EPS, 1 - EPS), _cloglog_mu_eta),
    "log": Link("log", np.log, lambda eta: np.maximum(np.exp(eta), EPS),
                lambda eta: np.maximum(np.exp(eta), EPS)),
    "identity": Link("identity", lambda mu: mu.copy(), lambda eta: eta.copy(), np.ones_like),
    "inverse": Link("inverse", lambda mu: 1 / mu, lambda eta: 1 / eta, lambda eta: -1 / eta**2,
                    lambda eta: np.all(np.isfinite(eta)) and np.all(eta != 0)),
    "sqrt": Link("sqrt", np.sqrt, lambda eta: eta**2, lambda eta: 2 * eta,
                 lambda eta: np.all(np.isfinite(eta)) and np.all(eta > 0)),
    "1/mu^2": Link("1/mu^2", lambda mu: 1 / mu**2, lambda eta: 1 / np.sqrt(eta),
                   lambda eta: -1 / (2 * eta**1.5),
                   lambda eta: np.all(np.isfinite(eta)) and np.all(eta > 0)),
}


def _as_float(values, name: str) -> np.ndarray:
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        raise DataError(f"the response {name!r} is a factor (categorical); it must be numeric")
    y = np.asarray(values)
    if y.dtype == bool:
        return y.astype(float)
    if not np.issubdtype(y.dtype, np.number):
        raise DataError(f"the response {name!r} is not numeric")
    return y.astype(float)


class Family:
    """An R GLM family: ``family``, ``link`` and the functions ``glm`` and ``glmer`` use.

    Parameters
    ----------
    link : str
        The link's name; one of the family's ``links``.
    """

    family: str
    links: tuple[str, ...]
    default_link: str
    has_dispersion = False

    def __init__(self, link: str | None = None):
        link = self.default_link if link is None else link
        if not isinstance(link, str):
            raise ArgumentTypeError(f"link must be a string such as {self.default_link!r}, "
                                    f"not {type(link).__name__}")
        if link not in self.links:
            raise FamilyError(f"link {link!r} not available for the {self.family} family; "
                            f"available links are {', '.join(repr(k) for k in self.links)}")
        self._link = LINKS[link]
        self.link = link

    def linkfun(self, mu):
        return self._link.linkfun(mu)

    def linkinv(self, eta):
        return self._link.linkinv(eta)

    def mu_eta(self, eta):
        return self._link.mu_eta(eta)

    def valideta(self, eta) -> bool:
        return self._link.valideta(eta)

    def validmu(self, mu) -> bool:
        mu = np.asarray(mu, dtype=float)
        return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))

    def loglik_constant(self, y, wt) -> float | None:
        """``aic(μ) − Σ dev_resids(μ)`` where it does not depend on μ (then −2 log-likelihood
        is the deviance plus it); None where it does (a dispersion, non-integer counts)."""
        return None

    def _constant_at(self, y, wt, mu: float) -> float:
        mu = np.full(len(y), mu)
        return float(self.aic(y, None, mu, wt) - np.sum(self.dev_resids(y, mu, wt)))

    def __eq__(self, other):
        return type(other) is type(self) and other.family == self.family and other.link == self.link

    def __hash__(self):
        return hash((self.family, self.link))

    def __repr__(self):
        return f"\nFamily: {self.family} \nLink function: {self.link} \n"

    def _count_start(self, y, weights, name: str):
        y = _as_float(y, name)
        if y.ndim != 1:
            raise DataError(f"the response {name!r} must be a single column for the {self.family} family")
        w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
        return y, w


class binomial(Family):
    """R's ``binomial(link = "logit")``: 0/1, logical, factor, proportion-with-weights or
    two-column (successes, failures) responses."""

    family = "binomial"
    links = ("logit", "probit", "cloglog", "cauchit", "log")
    default_link = "logit"

    def variance(self, mu):
        mu = np.asarray(mu, dtype=float)
        return mu * (1 - mu)

    def validmu(self, mu) -> bool:
        mu = np.asarray(mu, dtype=float)
        return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))

    def dev_resids(self, y, mu, wt):
        y, mu = np.asarray(y, dtype=float), np.asarray(mu, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * np.asarray(wt) * (special.xlogy(y, y / mu) + special.xlogy(1 - y, (1 - y) / (1 - mu)))

    def loglik_constant(self, y, wt) -> float | None:
        # aic rounds the counts wt·y and wt: with whole counts it is the deviance plus a constant
        y, wt = np.asarray(y, dtype=float), np.asarray(wt, dtype=float)
        if np.any(np.abs(wt * y - np.round(wt * y)) > 1e-9) or np.any(np.abs(wt - np.round(wt)) > 1e-9):
            return None
        return self._constant_at(y, wt, 0.5)

    def aic(self, y, n, mu, wt, dev=None):
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        n = np.ones_like(y) if n is None else np.asarray(n, dtype=float)
        m = n if np.any(n > 1) else wt
        k, size = np.round(m * y), np.round(m)
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = (special.gammaln(size + 1) - special.gammaln(k + 1) - special.gammaln(size - k + 1)
                    + special.xlogy(k, mu) + special.xlog1py(size - k, -mu))
            return -2 * np.sum(np.where(m > 0, wt / np.where(m > 0, m, 1) * logp, 0.0))

    def initialize(self, y, weights=None, name: str = "y"):
        """R's ``binomial()$initialize``: the response as proportions, the weights as totals.

        Returns ``(y, weights, mustart)``; a two-column response (successes, failures) gives
        proportions with weights multiplied by the totals.
        """
        if isinstance(y, pd.DataFrame):
            y = y.to_numpy()
        if isinstance(y, pd.Series) and isinstance(y.dtype, pd.CategoricalDtype):
            y = (y.cat.codes.to_numpy() != 0).astype(float)  # the first level is failure
        elif (isinstance(y, (pd.Series, np.ndarray, list)) and np.asarray(y).ndim == 1
              and np.asarray(y).dtype.kind in "OUS"):
            values = np.asarray(y).astype(str)
            y = (values != np.unique(values)[0]).astype(float)  # as factor(): sorted levels
        y = _as_float(y, name)
        n_obs = y.shape[0]
        w = np.ones(n_obs) if weights is None else np.asarray(weights, dtype=float).copy()
        if y.ndim == 1:
            y = np.where(w == 0, 0.0, y)
            if np.any((y < 0) | (y > 1)):
                bad = y[(y < 0) | (y > 1)][0]
                raise DataError(
                    f"the response {name!r} of a binomial model must be 0/1, logical, a factor, "
                    f"proportions between 0 and 1 (with weights), or cbind(successes, failures); "
                    f"it has the value {bad:g}")
            mustart = (w * y + 0.5) / (w + 1)
            m = w * y
            if np.any(np.abs(m - np.round(m)) > 0.001):
                warnings.warn("non-integer #successes in a binomial glm!", LmmplotWarning, stacklevel=2)
            return y, w, mustart
        if y.ndim == 2 and y.shape[1] == 2:
            if np.any(y < 0):
                raise DataError(f"the response {name!r} has negative counts of successes or failures")
            if np.any(np.abs(y - np.round(y)) > 0.001):
                warnings.warn("non-integer counts in a binomial glm!", LmmplotWarning, stacklevel=2)
            n = y[:, 0] + y[:, 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.where(n == 0, 0.0, y[:, 0] / n)
            return p, w * n, (n * p + 0.5) / (n + 1)
        raise DataError(f"for the binomial family the response {name!r} must be a vector of 0 and 1's "
                        f"or a 2 column matrix where col 1 is no. successes and col 2 is no. failures")

    def simulate(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> np.ndarray:
        """R's ``binomial()$simulate``: successes out of the (integer) weights, as proportions."""
        w = _integer_weights(weights, self.family)
        return rng.binomial(w.astype(np.int64), np.asarray(mu, dtype=float)) / np.where(w == 0, 1, w)


def _check_counts(y: np.ndarray, name: str, family: str) -> None:
    """Counts must be non-negative whole numbers: the likelihood (R's dpois, dnbinom) is zero
    elsewhere, so a fit would rest on no likelihood at all."""
    if np.any(y < 0):
        raise DataError(f"negative values not allowed for the {family} family: the response "
                        f"{name!r} has {int(np.sum(y < 0))} negative value(s)")
    frac = np.abs(y - np.round(y)) > 1e-8 * np.maximum(1.0, np.abs(y))
    if np.any(frac):
        raise DataError(f"the response {name!r} of a {family} model must be whole counts; it has "
                        f"{int(np.sum(frac))} non-integer value(s), the first {y[frac][0]:g}")


def _integer_weights(weights, family: str) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if np.any(w % 1 != 0):
        raise DataError(f"cannot simulate from non-integer prior weights ({family} family)")
    return w


class poisson(Family):
    """R's ``poisson(link = "log")``."""

    family = "poisson"
    links = ("log", "identity", "sqrt")
    default_link = "log"

    def variance(self, mu):
        return np.asarray(mu, dtype=float).copy()

    def dev_resids(self, y, mu, wt):
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = wt * (special.xlogy(y, y / mu) - (y - mu))
        return 2 * np.where(y > 0, r, mu * wt)

    def aic(self, y, n, mu, wt, dev=None):
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        return -2 * np.sum((special.xlogy(y, mu) - mu - special.gammaln(y + 1)) * wt)

    def loglik_constant(self, y, wt) -> float | None:
        return self._constant_at(y, wt, 1.0)

    def initialize(self, y, weights=None, name: str = "y"):
        """R's ``poisson()$initialize``: counts must be non-negative (and whole, where R's
        likelihood would be zero); ``mustart = y + 0.1``."""
        y, w = self._count_start(y, weights, name)
        _check_counts(y, name, "Poisson")
        return y, w, y + 0.1

    def simulate(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> np.ndarray:
        """R's ``poisson()$simulate``: Poisson counts with means ``mu``."""
        return rng.poisson(np.asarray(mu, dtype=float)).astype(float)


class Gamma(Family):
    """R's ``Gamma(link = "inverse")``."""

    family = "Gamma"
    links = ("inverse", "identity", "log")
    default_link = "inverse"
    has_dispersion = True

    def variance(self, mu):
        return np.asarray(mu, dtype=float) ** 2

    def dev_resids(self, y, mu, wt):
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        with np.errstate(divide="ignore", invalid="ignore"):
            return -2 * wt * (np.log(np.where(y == 0, 1.0, y / mu)) - (y - mu) / mu)

    def aic(self, y, n, mu, wt, dev):
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        disp = dev / np.sum(wt)
        shape, scale = 1 / disp, mu * disp
        logd = special.xlogy(shape - 1, y) - y / scale - special.gammaln(shape) - shape * np.log(scale)
        return -2 * np.sum(logd * wt) + 2

    def initialize(self, y, weights=None, name: str = "y"):
        """R's ``Gamma()$initialize``: the response must be positive; ``mustart = y``."""
        y, w = self._count_start(y, weights, name)
        if np.any(y <= 0):
            raise DataError(f"non-positive values not allowed for the Gamma family: the response "
                            f"{name!r} has {int(np.sum(y <= 0))} such value(s)")
        return y, w, y.copy()

    def simulate(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> np.ndarray:
        """Gamma responses with means ``mu`` and shape ``weights / dispersion``."""
        shape = np.asarray(weights, dtype=float) / dispersion
        return rng.gamma(shape, np.asarray(mu, dtype=float) / shape)


class gaussian(Family):
    """R's ``gaussian(link = "identity")``."""

    family = "gaussian"
    links = ("identity", "log", "inverse")
    default_link = "identity"
    has_dispersion = True

    def variance(self, mu):
        return np.ones_like(np.asarray(mu, dtype=float))

    def validmu(self, mu) -> bool:
        return True

    def dev_resids(self, y, mu, wt):
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        return wt * (y - mu) ** 2

    def aic(self, y, n, mu, wt, dev):
        wt = np.asarray(wt, dtype=float)
        nobs = len(np.asarray(y))
        return nobs * (np.log(dev / nobs * 2 * np.pi) + 1) + 2 - np.sum(np.log(wt))

    def initialize(self, y, weights=None, name: str = "y"):
        """R's ``gaussian()$initialize``: ``mustart = y``, checked against the link's domain."""
        y, w = self._count_start(y, weights, name)
        if (self.link == "inverse" and np.any(y == 0)) or (self.link == "log" and np.any(y <= 0)):
            raise DataError(f"cannot find valid starting values for the {self.link} link: the "
                            f"response {name!r} has values outside its domain")
        return y, w, y.copy()

    def simulate(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> np.ndarray:
        """R's ``gaussian()$simulate``: normal responses, variance ``dispersion / weights``."""
        sd = np.sqrt(dispersion / np.asarray(weights, dtype=float))
        return np.asarray(mu, dtype=float) + sd * rng.standard_normal(np.shape(mu))


class negative_binomial(Family):
    """MASS's ``negative.binomial(theta, link = "log")``: variance μ + μ²/θ.

    The family's name is R's: ``"Negative Binomial(θ)"`` with θ rounded to 4 decimals.
    """

    links = ("log", "identity", "sqrt")
    default_link = "log"

    def __init__(self, theta: float, link: str = "log"):
        theta = float(theta)
        if not np.isfinite(theta) or theta <= 0:
            raise DataError(f"the negative binomial theta must be a positive number, not {theta}")
        self.theta = theta
        self.family = f"Negative Binomial({format_num([r_round(theta, 4)])[0]})"
        super().__init__(link)

    def __eq__(self, other):
        return super().__eq__(other) and other.theta == self.theta

    def __hash__(self):
        return hash((self.family, self.link, self.theta))

    def variance(self, mu):
        mu = np.asarray(mu, dtype=float)
        return mu + mu**2 / self.theta

    def validmu(self, mu) -> bool:
        return bool(np.all(np.asarray(mu, dtype=float) > 0))

    def dev_resids(self, y, mu, wt):
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        th = self.theta
        return 2 * wt * (y * np.log(np.maximum(1, y) / mu) - (y + th) * np.log((y + th) / (mu + th)))

    def aic(self, y, n, mu, wt, dev=None):
        y, mu, wt = (np.asarray(a, dtype=float) for a in (y, mu, wt))
        th = self.theta
        term = ((y + th) * np.log(mu + th) - special.xlogy(y, mu) + special.gammaln(y + 1)
                - th * np.log(th) + special.gammaln(th) - special.gammaln(th + y))
        return 2 * np.sum(term * wt)

    def loglik_constant(self, y, wt) -> float | None:
        return self._constant_at(y, wt, 1.0)

    def initialize(self, y, weights=None, name: str = "y"):
        """MASS's initialize: counts must be non-negative (and whole); ``mustart = y + (y == 0)/6``."""
        y, w = self._count_start(y, weights, name)
        _check_counts(y, name, "negative binomial")
        return y, w, y + (y == 0) / 6

    def simulate(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> np.ndarray:
        """MASS's ``rnegbin(mu, theta)``: negative binomial counts with means ``mu``."""
        mu = np.asarray(mu, dtype=float)
        return rng.negative_binomial(self.theta, self.theta / (self.theta + mu)).astype(float)


_BY_NAME = {"binomial": binomial, "poisson": poisson, "Gamma": Gamma, "gaussian": gaussian}


def resolve(family) -> Family:
    """A family object from what the user passed: a name (``"binomial"``), a class or an object.

    Raises
    ------
    FamilyError
        For a family lmmplot does not know.
    """
    if isinstance(family, Family):
        return family
    if isinstance(family, type) and issubclass(family, Family) and family in _BY_NAME.values():
        return family()
    if isinstance(family, str):
        if family in _BY_NAME:
            return _BY_NAME[family]()
        lower = {k.lower(): k for k in _BY_NAME}
        hint = f" (did you mean {lower[family.lower()]!r}?)" if family.lower() in lower else ""
        raise FamilyError(f"unknown family {family!r}{hint}; lmmplot knows "
                        f"{', '.join(repr(k) for k in _BY_NAME)} and negative_binomial(theta)")
    raise ArgumentTypeError(f"family must be a family name such as 'binomial' or a family object "
                            f"such as lp.binomial(link='probit'), not {type(family).__name__}")
