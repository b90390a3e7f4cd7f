"""New data encoded without formulaic (lookup_matrix) is what formulaic makes of it, and the
specs it cannot name fall back to formulaic."""
import numpy as np
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot.encoding import lookup_matrix
from lmmplot.errors import DataError
from lmmplot.frame import R_FUNCTIONS


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 120
    return pd.DataFrame({
        "y": rng.normal(size=n), "x": rng.normal(size=n), "z": rng.integers(0, 5, n),
        "f": pd.Categorical(rng.choice(["a", "b", "c"], n)), "s": rng.choice(["u", "v"], n),
        "b": rng.random(n) > 0.5, "k": pd.Categorical(rng.choice([3, 1, 2], n)),
        "o": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"], ordered=True),
    })


def _formulaic(spec, new):
    return np.asarray(spec.get_model_matrix(new, na_action="ignore", context=R_FUNCTIONS), float)


def _new_rows(data):
    """The data shuffled, a factor with its categories reordered, one as plain text, a subset of levels."""
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    reordered = shuffled.assign(f=shuffled["f"].cat.reorder_categories(["c", "a", "b"]))
    as_text = shuffled.assign(f=shuffled["f"].astype(str))
    subset = shuffled[shuffled["f"] != "b"].head(7)
    return [shuffled, reordered, as_text, subset]


@pytest.mark.parametrize("rhs", ["x", "x + f", "x * f", "f * s", "x:f", "0 + f", "f + f:x", "x * f * s",
                                 "z + b", "b:x + k", "k * s - 1"])
def test_lookup_encoding_is_formulaics(data, rhs):
    spec = lp.lm(f"y ~ {rhs}", data).fixed.spec
    for new in _new_rows(data):
        fast = lookup_matrix(spec, new)
        assert fast is not None, rhs
        np.testing.assert_array_equal(fast, _formulaic(spec, new))


@pytest.mark.parametrize("rhs", ["I(x**2) + f", "o + x", "C(f, contr.sum) + x", "np.log(z + 1)"])
def test_specs_it_cannot_name_fall_back(data, rhs):
    model = lp.lm(f"y ~ {rhs}", data)
    assert lookup_matrix(model.fixed.spec, data) is None
    np.testing.assert_allclose(model.predict(data), model.fitted(), rtol=1e-12)


def test_numbers_for_a_factor_fall_back(data):
    spec = lp.lm("y ~ k + x", data).fixed.spec
    assert lookup_matrix(spec, data.assign(k=data["k"].astype(int))) is None


def test_unseen_and_missing_levels_fall_back_to_formulaics_errors(data):
    model = lp.lm("y ~ x + f", data)
    unseen = data.head(3).assign(f=["a", "d", "b"])
    assert lookup_matrix(model.fixed.spec, unseen) is None
    with pytest.raises(DataError, match=r"'f' has levels \['d'\] not in the fit"):
        model.predict(unseen)
    missing = data.head(3).assign(x=[0.5, np.nan, 1.0])
    assert lookup_matrix(model.fixed.spec, missing) is None
    with pytest.warns(UserWarning, match="missing values"):
        assert np.isnan(model.predict(missing)).tolist() == [False, True, False]
