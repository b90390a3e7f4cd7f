"""Invariances users rely on: row order, group labels and the response's scale do not change the fit."""
import numpy as np
import pandas as pd
import pytest

import lmmplot as lp

MODELS = [
    ("sleepstudy", "Reaction ~ Days + (1 + Days|Subject)"),
    ("politeness", "pitch ~ gender*context + (1|sentence) + (1|subject)"),
    ("parallel", "length ~ depth + (1|slice:cat) + (1 + depth|cat)"),
]


def fit(name, formula, data=None):
    return lp.lmer(formula, lp.load_dataset(name) if data is None else data)


@pytest.fixture(scope="module")
def originals():
    return {name: fit(name, formula) for name, formula in MODELS}


@pytest.mark.parametrize("name, formula", MODELS)
@pytest.mark.parametrize("seed", [1, 2])
def test_row_order_does_not_matter(originals, name, formula, seed):
    base = originals[name]
    data = lp.load_dataset(name).sample(frac=1.0, random_state=seed)
    m = fit(name, formula, data)
    assert m.REMLcrit() == pytest.approx(base.REMLcrit(), abs=1e-6)
    np.testing.assert_allclose(m.fixef(), base.fixef(), rtol=1e-4)
    for group, re in base.ranef().items():
        pd.testing.assert_frame_equal(m.ranef()[group].loc[re.index], re, rtol=1e-3, atol=1e-3 * base.sigma)
    # fitted values follow the rows they belong to
    np.testing.assert_allclose(m.fitted(), pd.Series(base.fitted(), index=lp.load_dataset(name).index)[data.index],
                               rtol=1e-5)


@pytest.mark.parametrize("name, formula", MODELS)
def test_relabelled_groups_give_the_same_fit(originals, name, formula):
    base = originals[name]
    data = lp.load_dataset(name)
    for term in base.terms:
        for col in term.spec.group_vars:
            values = data[col].astype(str)
            # new labels sort in the reverse order of the old ones
            mapping = {v: f"g{999 - i:03d}" for i, v in enumerate(sorted(values.unique()))}
            data[col] = values.map(mapping)
    m = fit(name, formula, data)
    assert m.REMLcrit() == pytest.approx(base.REMLcrit(), abs=1e-6)
    np.testing.assert_allclose(m.fixef(), base.fixef(), rtol=1e-4)
    np.testing.assert_allclose(m.VarCorr().as_frame()["sdcor"], base.VarCorr().as_frame()["sdcor"], rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("name, formula", MODELS)
@pytest.mark.parametrize("scale", [1e8, 1e-8])
def test_rescaled_response_gives_the_same_relative_fit(originals, name, formula, scale):
    base = originals[name]
    data = lp.load_dataset(name)
    response = base.formula.response
    data[response] = data[response] * scale
    m = fit(name, formula, data)
    np.testing.assert_allclose(m.fixef() / scale, base.fixef(), rtol=1e-4, atol=1e-4 * base.sigma)
    assert m.sigma / scale == pytest.approx(base.sigma, rel=1e-4)
    np.testing.assert_allclose(m.theta, base.theta, rtol=1e-3, atol=1e-4)
    # the criterion shifts by exactly 2 (n - p) log(scale)
    shift = 2 * (m.nobs - m.n_fixed) * np.log(scale)
    assert m.REMLcrit() - shift == pytest.approx(base.REMLcrit(), abs=1e-5)
