"""Responses simulated from a glmer fit (lme4's ``simulate``), and the bootstrap's refits."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd

from ..confint import simulate_linear_predictor
from ..errors import ArgumentTypeError, ConvergenceWarning


def simulate_response(model, rng: np.random.Generator) -> np.ndarray:
    """One response drawn as lme4 draws it: new random effects, μ* = g⁻¹(η*), then the
    family's distribution around μ* (binomial responses as proportions of the weights)."""
    fam = model.family
    mu = fam.linkinv(simulate_linear_predictor(model, rng))
    return fam.simulate(mu, model.prior_weights, rng, dispersion=model.sigma**2)


def simulate(model, nsim: int = 1, seed=None) -> pd.DataFrame:
    """``nsim`` simulated responses, columns ``sim_1`` ... as lme4's ``simulate(g, nsim, seed)``.

    Parameters
    ----------
    model : GeneralizedLinearMixedModel
    nsim : int
    seed : None, int or numpy.random.Generator
        Seeds ``numpy.random.default_rng`` (numpy's generator: the draws are not R's).

    Returns
    -------
    pandas.DataFrame
        One row per observation; binomial responses are proportions of the prior weights
        (the number of trials), as glmer takes them with ``weights``.
    """
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise ArgumentTypeError(f"nsim must be a positive integer, not {nsim!r}")
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"sim_{i + 1}": simulate_response(model, rng) for i in range(nsim)})


def refit_response(model, y: np.ndarray):
    """The model refitted to the response ``y`` (lme4's ``refit(g, newresp)``), starting from
    the fit's θ and β; ``y`` on the fit's scale (binomial: proportions of the prior weights).
    A negative binomial keeps its θ."""
    new = copy.copy(model)
    new.y_raw = np.asarray(y, dtype=float)
    new._user_weights = model.prior_weights
    new = new.with_family(model.family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return new.fit(start=np.concatenate([model.theta, model.beta]))
