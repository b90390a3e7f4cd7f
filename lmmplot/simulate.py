"""Responses simulated from a fit, as R's ``simulate()`` of an lmer or lm model."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ArgumentTypeError

_NO_EFFECTS = ("~0", "NA", "0")


def _check(nsim) -> int:
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise ArgumentTypeError(f"nsim must be a positive whole number, not {nsim!r}")
    return int(nsim)


def _frame(model, sims: np.ndarray) -> pd.DataFrame:
    """R's layout: one column sim_1 … sim_n per simulation, one row per observation used."""
    index = model.data.index[model.kept_rows]
    return pd.DataFrame(sims.T, index=index, columns=[f"sim_{k + 1}" for k in range(sims.shape[0])])


def _conditioned_on_modes(use_u, re_form) -> bool:
    """lme4's choice between use.u and re.form: True keeps the estimated random effects."""
    if not isinstance(use_u, (bool, np.bool_)):
        raise ArgumentTypeError(f"use_u must be True or False, not {use_u!r}")
    if re_form is None:
        return bool(use_u)
    if str(re_form).replace(" ", "") not in _NO_EFFECTS:
        raise ArgumentTypeError(
            f"re_form must be None or '~0' (condition on no random effect: draw new ones), not "
            f"{re_form!r}; use_u=True conditions on all of them")
    if use_u:
        raise ArgumentTypeError("give only one of use_u=True and re_form (as lme4)")
    return False


def draw_responses(model, rng: np.random.Generator, nsim: int, keep_modes: bool = False) -> np.ndarray:
    """nsim × n draws of y* = Xβ + offset + Zb* + ε*, ε*ᵢ ~ N(0, σ²/wᵢ).

    b* ~ N(0, σ²ΛΛᵀ) drawn anew (term by term, then the residuals), or the conditional
    modes with ``keep_modes``.
    """
    sigma = model.sigma
    if keep_modes:
        sims = np.tile(model.fitted(), (nsim, 1))
    else:
        sims = np.tile(model.fixed_part(), (nsim, 1))
        for term, sl in zip(model.terms, model.system.theta_slices):
            T = term.factor(model.theta[sl])
            b = sigma * rng.standard_normal((nsim, term.nlevels, term.p)) @ T.T
            sims += np.einsum("ip,sip->si", term.rows, b[:, term.codes, :])
    noise = sigma * rng.standard_normal((nsim, model.nobs))
    if model.prior_weights is not None:
        noise /= np.sqrt(model.prior_weights)
    return sims + noise


def simulate_lmer(model, nsim: int = 1, seed=None, use_u: bool = False, re_form=None) -> pd.DataFrame:
    """lme4's simulate(): new random effects and residuals, or the modes kept with ``use_u``."""
    nsim = _check(nsim)
    keep_modes = _conditioned_on_modes(use_u, re_form)
    return _frame(model, draw_responses(model, np.random.default_rng(seed), nsim, keep_modes))


def simulate_lm(model, nsim: int = 1, seed=None) -> pd.DataFrame:
    """y* = Xβ + ε*, ε* ~ N(0, σ²I), as R's simulate() of an lm."""
    nsim = _check(nsim)
    rng = np.random.default_rng(seed)
    return _frame(model, model.fitted() + model.sigma * rng.standard_normal((nsim, model.nobs)))
