"""Ordinary least squares, ``lm(formula, data)``: the complete-pooling line of the course."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg

from .distributions import f_sf, t_sf
from .formula import parse_formula, quote_dotted_names
from .frame import (as_float_columns, as_pandas, complete_rows, design_frame, fixed_design, formula_variables,
                    owned_columns, predict_rows, value_columns)
from .linalg import triangular_inverse


class LinearModel:
    """A linear model fitted by least squares, with R's lm() accessors."""

    REML = False

    def __init__(self, formula: str, data):
        raw = as_pandas(data)
        self.formula = quote_dotted_names(parse_formula(formula, need_random=False), raw.columns)
        self.data = owned_columns(raw, self.formula)
        self.data_is_polars = not isinstance(data, pd.DataFrame)
        frame, self.kept_rows = complete_rows(self.data, self.formula)
        self.frame = as_float_columns(frame, value_columns(self.formula))
        self.fixed = fixed_design(self.formula, self.frame)
        X, y = self.fixed.X, self.fixed.y
        self.Q, self.R = scipy.linalg.qr(X, mode="economic")
        self.beta = scipy.linalg.solve_triangular(self.R, self.Q.T @ y)

    @property
    def nobs(self) -> int:
        return self.fixed.X.shape[0]

    @property
    def n_fixed(self) -> int:
        return self.fixed.X.shape[1]

    @property
    def npar(self) -> int:
        """Parameters counted by logLik: the coefficients and σ."""
        return self.n_fixed + 1

    @property
    def df_residual(self) -> int:
        return self.nobs - self.n_fixed

    @property
    def coef_names(self) -> list[str]:
        return list(self.fixed.columns)

    @property
    def variables(self):
        """The data columns the formula uses, by role: response, fixed (random and groups empty)."""
        return formula_variables(self.formula)

    def model_matrix(self, newdata=None) -> pd.DataFrame:
        """R's ``model.matrix``: X for the fit's rows or for ``newdata``."""
        return design_frame(self.fixed, newdata)

    def fitted(self) -> np.ndarray:
        return self.fixed.X @ self.beta

    def residuals(self) -> np.ndarray:
        return self.fixed.y - self.fitted()

    def deviance(self) -> float:
        """The residual sum of squares, as R's deviance() of an lm."""
        r = self.residuals()
        return float(r @ r)

    @property
    def sigma(self) -> float:
        return float(np.sqrt(self.deviance() / self.df_residual))

    def logLik(self) -> float:
        """The maximized (ML) log-likelihood."""
        n = self.nobs
        return -0.5 * n * (np.log(2 * np.pi * self.deviance() / n) + 1.0)

    def AIC(self) -> float:
        return -2.0 * self.logLik() + 2.0 * self.npar

    def BIC(self) -> float:
        return -2.0 * self.logLik() + np.log(self.nobs) * self.npar

    def fixef(self) -> pd.Series:
        return pd.Series(self.beta, index=self.coef_names, name="Estimate")

    def vcov(self) -> pd.DataFrame:
        Rinv = triangular_inverse(self.R)
        return pd.DataFrame(self.sigma**2 * Rinv @ Rinv.T, index=self.coef_names, columns=self.coef_names)

    def hat_values(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.Q, self.Q)

    def predict(self, newdata=None) -> np.ndarray:
        """Predictions for ``newdata`` (the fitted rows when None)."""
        if newdata is None:
            return self.fitted()
        columns = value_columns(self.formula)
        new = as_float_columns(as_pandas(newdata, "newdata"), columns)
        return predict_rows(lambda rows: self.fixed.new_X(rows) @ self.beta, new, columns)

    def simulate(self, nsim: int = 1, seed=None) -> pd.DataFrame:
        """Responses Xβ + ε*, ε* ~ N(0, σ²I), as R's simulate(): columns sim_1 … sim_nsim."""
        from .simulate import simulate_lm

        return simulate_lm(self, nsim=nsim, seed=seed)

    def coef_table(self) -> pd.DataFrame:
        """term, estimate, std.error, statistic, p.value (R's summary(lm) coefficients)."""
        se = np.sqrt(np.diag(self.vcov().to_numpy()))
        t = self.beta / se
        return pd.DataFrame({"term": self.coef_names, "estimate": self.beta, "std.error": se,
                             "statistic": t, "p.value": 2 * t_sf(np.abs(t), self.df_residual)})

    def f_test(self) -> tuple[float, int, float]:
        """The overall F statistic, its numerator df and p-value (R's summary(lm))."""
        y, rss = self.fixed.y, self.deviance()
        intercept = "(Intercept)" in self.coef_names
        tss = float(((y - y.mean()) ** 2).sum()) if intercept else float(y @ y)
        df1 = self.n_fixed - intercept
        if df1 == 0:
            return np.nan, 0, np.nan
        F = (tss - rss) / df1 / (rss / self.df_residual)
        return float(F), df1, float(f_sf(F, df1, self.df_residual))

    def r_squared(self) -> tuple[float, float]:
        """R² and adjusted R² (uncentred without an intercept, as R)."""
        y, rss = self.fixed.y, self.deviance()
        intercept = "(Intercept)" in self.coef_names
        tss = float(((y - y.mean()) ** 2).sum()) if intercept else float(y @ y)
        r2 = 1.0 - rss / tss
        adj = 1.0 - (1.0 - r2) * (self.nobs - intercept) / self.df_residual
        return r2, adj


def lm(formula: str, data) -> LinearModel:
    """Fit a linear model by least squares (R's ``lm``).

    Parameters
    ----------
    formula : str
        For example ``"Reaction ~ Days"``; no random-effects terms.
    data : pandas.DataFrame or polars.DataFrame
    """
    return LinearModel(formula, data)
