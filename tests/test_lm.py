"""lp.lm: R's lm with broom's tidy, augment and glance."""
import json
from pathlib import Path

import numpy as np
import pytest

import lmmplot as lp

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def broom():
    return json.loads((FIXTURES / "broom_lm.json").read_text())


@pytest.fixture(scope="module")
def ols():
    return lp.lm("Reaction ~ Days", lp.load_dataset("sleepstudy"))


def test_tidy(ols, broom):
    ours = lp.tidy(ols, conf_int=True)
    assert list(ours.columns) == list(broom["tidy"][0])
    for row, ref in zip(ours.to_dict("records"), broom["tidy"]):
        assert row["term"] == ref["term"]
        for key in ref:
            if key != "term":
                assert row[key] == pytest.approx(ref[key], rel=1e-8), key


def test_glance(ols, broom):
    ours = lp.glance(ols)
    assert list(ours.columns) == list(broom["glance"][0])
    for key, value in broom["glance"][0].items():
        assert ours[key].iloc[0] == pytest.approx(value, rel=1e-8), key


def test_augment(ols, broom):
    ours = lp.augment(ols)
    cols = list(broom["augment"][0])
    assert list(ours.columns[-len(cols):]) == cols
    for col in cols:
        np.testing.assert_allclose(ours[col], [r[col] for r in broom["augment"]], rtol=1e-7, atol=1e-12)


def test_predict_new_data(ols):
    import pandas as pd

    pred = ols.predict(pd.DataFrame({"Days": [0.0, 10.0]}))
    b = ols.fixef()
    np.testing.assert_allclose(pred, [b["(Intercept)"], b["(Intercept)"] + 10 * b["Days"]])
