"""Variance components of a fit: what lme4's VarCorr() holds and broom.mixed's ran_pars read."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import names


@dataclass
class VarCorrBlock:
    """One random-effects term: its group name (as VarCorr prints it), effects and covariance."""

    group: str
    effects: list[str]
    cov: np.ndarray

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def corr(self) -> np.ndarray:
        sd = self.sd
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.cov / np.outer(sd, sd)
        out[~np.isfinite(out)] = 0.0
        np.fill_diagonal(out, 1.0)
        return out


@dataclass
class VarCorr:
    """Estimated covariance of the random effects per term, and the residual sd.

    ``residual`` is False for GLMMs whose family has no dispersion (binomial, Poisson,
    negative binomial): lme4 then shows no Residual row.
    """

    blocks: list[VarCorrBlock]
    sigma: float
    residual: bool = True

    @classmethod
    def from_model(cls, model, residual: bool = True) -> "VarCorr":
        sig2 = model.sigma**2
        blocks = []
        for term, group, sl in zip(model.terms, model.group_names, model.system.theta_slices):
            T = term.factor(model.theta[sl])
            blocks.append(VarCorrBlock(group, list(term.columns), sig2 * T @ T.T))
        return cls(blocks, model.sigma, residual)

    def as_frame(self) -> pd.DataFrame:
        """R's ``as.data.frame(VarCorr(m))``: grp, var1, var2, vcov, sdcor."""
        rows = []
        for b in self.blocks:
            sd, corr = b.sd, b.corr
            for i, e in enumerate(b.effects):
                rows.append((b.group, e, None, b.cov[i, i], sd[i]))
            for i in range(len(b.effects)):
                for j in range(i + 1, len(b.effects)):
                    rows.append((b.group, b.effects[i], b.effects[j], b.cov[i, j], corr[i, j]))
        if self.residual:
            rows.append((names.RESIDUAL_GROUP, None, None, self.sigma**2, self.sigma))
        return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])

    def ran_pars(self, scales: str = "sdcor") -> list[tuple[str, str, float]]:
        """broom.mixed's ran_pars rows (group, term, estimate), in its order."""
        rows = []
        for b in self.blocks:
            sd, corr = b.sd, b.corr
            for i, e in enumerate(b.effects):
                if scales == "vcov":
                    rows.append((b.group, names.var_name(e), b.cov[i, i]))
                else:
                    rows.append((b.group, names.sd_name(e), sd[i]))
                for j in range(i + 1, len(b.effects)):
                    if scales == "vcov":
                        rows.append((b.group, names.cov_name(e, b.effects[j]), b.cov[i, j]))
                    else:
                        rows.append((b.group, names.cor_name(e, b.effects[j]), corr[i, j]))
        if self.residual and scales == "vcov":
            rows.append((names.RESIDUAL_GROUP, names.RESIDUAL_VAR, self.sigma**2))
        elif self.residual:
            rows.append((names.RESIDUAL_GROUP, names.RESIDUAL_SD, self.sigma))
        return rows

    def __str__(self) -> str:
        """lme4's ``print(VarCorr(m))``."""
        from .display import varcorr_text

        return varcorr_text(self)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from .display import varcorr_html

        return varcorr_html(self)
