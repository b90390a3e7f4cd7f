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


@pytest.fixture(scope="module")
def large_crossed():
    """Crossed groups with a second term too large for the compiled small-block path."""
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 1500
    a, b = rng.integers(0, 80, n), rng.integers(0, 60, n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(size=80)[a] * 0.8 + rng.normal(size=60)[b] * 0.5 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "a": a.astype(str), "b": b.astype(str)})


def test_large_dense_block_objective_is_the_textbook_criterion(large_crossed):
    model = lp.LinearMixedModel("y ~ x + (1|a) + (1|b)", large_crossed)
    assert not model.system.cheap  # the LAPACK path, and the moment start
    for theta in ([0.3, 1.2], [1.0, 0.05]):
        theta = np.array(theta)
        assert model.objective(theta) == pytest.approx(textbook_criterion(model, theta, True), rel=1e-10)


def test_large_dense_block_fit_reaches_the_optimum(large_crossed):
    from lmmplot.numderiv import jacobian
    from lmmplot.optimize import minimize_theta

    model = lp.lmer("y ~ x + (1|a) + (1|b)", large_crossed)
    grad = jacobian(lambda t: np.array([model.objective(t)]), model.theta)
    assert np.abs(grad).max() < 1e-3  # lme4 accepts 2e-3
    # started where lme4 starts instead, the optimizer finds no lower point
    other = minimize_theta(model.objective, np.ones(2), model.theta_lower, np.ones(2))
    assert model.REMLcrit() <= other.fun + 1e-7
