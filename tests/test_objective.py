"""The blocked, compiled objective equals the textbook formula computed with dense matrices."""
import numpy as np
import pytest
import scipy.linalg

import lmmplot as lp

MODELS = [
    ("sleepstudy", "Reaction ~ Days + (1 + Days|Subject)"),
    ("politeness", "pitch ~ gender*context + (1|sentence) + (1|subject)"),
    ("politeness", "pitch ~ gender + (1 + context|sentence) + (1 + gender|subject)"),
    ("parallel", "length ~ depth + (1|slice:cat) + (1 + depth|cat)"),
    ("health", "outcome ~ treatment + (1|hospital/doctor)"),
]


def dense_Z_lambda(model, theta):
    """ZΛ as a dense n × q matrix, built term by term from the definitions."""
    blocks = []
    for term, sl in zip(model.terms, model.system.theta_slices):
        T = term.factor(theta[sl])
        Z = np.zeros((model.nobs, term.q))
        for r in range(model.nobs):
            Z[r, term.codes[r] * term.p: (term.codes[r] + 1) * term.p] = term.rows[r]
        blocks.append(Z @ np.kron(np.eye(term.nlevels), T))
    return np.hstack(blocks)


def textbook_criterion(model, theta, reml):
    """log|ZΛΛᵀZᵀ + I| + (REML: log|XᵀV⁻¹X|) + ν(1 + log(2π r²/ν)), r² the GLS residual."""
    X, y, n = model.fixed.X, model.fixed.y, model.nobs
    ZL = dense_Z_lambda(model, theta)
    V = ZL @ ZL.T + np.eye(n)
    c = scipy.linalg.cho_factor(V)
    XtVX = X.T @ scipy.linalg.cho_solve(c, X)
    beta = np.linalg.solve(XtVX, X.T @ scipy.linalg.cho_solve(c, y))
    e = y - X @ beta
    r2 = e @ scipy.linalg.cho_solve(c, e)
    logdet = 2 * np.log(np.diag(c[0])).sum()
    nu = n - X.shape[1] if reml else n
    extra = np.linalg.slogdet(XtVX)[1] if reml else 0.0
    return logdet + extra + nu * (1 + np.log(2 * np.pi * r2 / nu))


@pytest.mark.parametrize("name, formula", MODELS)
@pytest.mark.parametrize("reml", [True, False])
def test_objective_is_the_textbook_criterion(name, formula, reml):
    model = lp.LinearMixedModel(formula, lp.load_dataset(name), REML=reml)
    rng = np.random.default_rng(7)
    for _ in range(3):
        theta = np.where(model.theta_lower == 0, rng.uniform(0.05, 2.0, model.theta.size),
                         rng.normal(0, 0.5, model.theta.size))
        expected = textbook_criterion(model, theta, reml)
        assert model.objective(theta) == pytest.approx(expected, rel=1e-10)
        # the optimizer's one-pass path and the kept factor agree
        f = model.system.factor(theta)
        assert model.system.factor_criterion(f, reml) == pytest.approx(expected, rel=1e-10)
