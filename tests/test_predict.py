"""Predictions on new data: what the plotting layers and the explorer build on."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot.errors import DataError


R = json.loads((Path(__file__).parent / "fixtures" / "predict_reference.json").read_text())


@pytest.fixture(scope="module")
def slopes():
    return lp.lmer("Reaction ~ Days + (1 + Days|Subject)", lp.load_dataset("sleepstudy"))


@pytest.fixture(scope="module")
def dragons():
    return lp.lmer("intelligence ~ wingspan*scales + (1 + wingspan|mountain)", lp.load_dataset("dragons"))


@pytest.fixture(scope="module")
def at_lme4(slopes, dragons, at_theta):
    """Each fit evaluated at lme4's θ: predictions then agree with lme4's to rounding error."""
    return {"sleep_slope": at_theta(slopes, R["sleep_slope"]["theta"]),
            "dragons": at_theta(dragons, R["dragons"]["theta"])}


def grid(cid):
    out = pd.DataFrame(R[cid]["grid"])
    return out.astype({"Subject": int}) if "Subject" in out else out


def test_predict_on_the_training_rows_is_lme4s_fitted(at_lme4, sleepstudy):
    m = at_lme4["sleep_slope"]
    np.testing.assert_allclose(m.predict(sleepstudy), R["sleep_slope"]["fitted"], rtol=1e-10)
    np.testing.assert_allclose(m.predict(), R["sleep_slope"]["fitted"], rtol=1e-10)
    np.testing.assert_allclose(m.fitted(), R["sleep_slope"]["fitted"], rtol=1e-10)


@pytest.mark.parametrize("cid", ["sleep_slope", "dragons"])
def test_grid_predictions_are_lme4s(at_lme4, cid):
    m = at_lme4[cid]
    np.testing.assert_allclose(m.predict(grid(cid)), R[cid]["predict"], rtol=1e-10)
    np.testing.assert_allclose(m.predict(grid(cid), re_form="~0"), R[cid]["predict_population"], rtol=1e-10)


@pytest.mark.parametrize("cid", ["sleep_slope", "dragons"])
def test_coef_is_lme4s(at_lme4, cid):
    (group, ref), = R[cid]["coef"].items()
    ours = at_lme4[cid].coef()[group]
    assert list(ours.index) == ref["levels"] and list(ours.columns) == ref["columns"]
    np.testing.assert_allclose(ours.to_numpy(), ref["values"], rtol=1e-9)


def test_fitted_grid_prediction_is_close_to_lme4s(slopes):
    """From lmmplot's own optimum (REML criterion as low as lme4's), within optimizer noise."""
    np.testing.assert_allclose(slopes.predict(grid("sleep_slope")), R["sleep_slope"]["predict"], rtol=1e-5)


def test_new_levels_need_permission(slopes):
    grid = pd.DataFrame({"Subject": [308, 999], "Days": [1.0, 1.0]})
    with pytest.raises(DataError, match=r"new levels \['999'\] of 'Subject'"):
        slopes.predict(grid)
    pred = slopes.predict(grid, allow_new_levels=True)
    assert pred[1] == pytest.approx(slopes.predict(grid, re_form="~0")[1])
    assert pred[0] == pytest.approx(slopes.predict(grid.iloc[:1])[0])


@pytest.mark.parametrize("cid", ["sleep_slope", "dragons"])
def test_augment_newdata_is_lme4s_prediction(at_lme4, cid):
    aug = lp.augment(at_lme4[cid], newdata=grid(cid))
    np.testing.assert_allclose(aug[".fitted"], [r[".fitted"] for r in R[cid]["augment_newdata"]], rtol=1e-10)
    np.testing.assert_allclose(aug[".fixed"], R[cid]["predict_population"], rtol=1e-10)
    assert list(aug.columns[:len(grid(cid).columns)]) == list(grid(cid).columns)


def test_augment_pads_dropped_rows_with_nan(sleepstudy):
    data = sleepstudy.copy()
    data.loc[[0, 5], "Reaction"] = np.nan
    with pytest.warns(UserWarning, match="2 of 180 rows dropped"):
        m = lp.lmer("Reaction ~ Days + (1|Subject)", data)
    aug = lp.augment(m)
    assert len(aug) == 180
    assert aug.loc[[0, 5], ".fitted"].isna().all()
    assert aug[".fitted"].notna().sum() == 178
    np.testing.assert_allclose(aug[".fitted"].dropna(), m.fitted())


def test_polars_in_polars_out(sleepstudy):
    import polars as pl  # a test dependency

    m = lp.lmer("Reaction ~ Days + (1|Subject)", pl.from_pandas(sleepstudy))
    ref = lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy)
    assert m.REMLcrit() == pytest.approx(ref.REMLcrit())
    for tidier in (lp.tidy, lp.augment, lp.glance):
        assert isinstance(tidier(m), pl.DataFrame)
