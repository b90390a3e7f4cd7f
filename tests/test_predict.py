"""Predictions on new data: what the plotting layers and the explorer build on."""
import numpy as np
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot.errors import DataError


@pytest.fixture(scope="module")
def slopes():
    return lp.lmer("Reaction ~ Days + (1 + Days|Subject)", lp.load_dataset("sleepstudy"))


def test_predict_on_the_training_rows_is_fitted(slopes, sleepstudy):
    np.testing.assert_allclose(slopes.predict(sleepstudy), slopes.fitted(), rtol=1e-10)
    np.testing.assert_allclose(slopes.predict(), slopes.fitted())


def test_grid_prediction_is_each_subjects_line(slopes):
    coef = slopes.coef()["Subject"]
    grid = pd.DataFrame({"Subject": np.repeat([308, 309], 3), "Days": np.tile([0.0, 4.5, 20.0], 2)})
    expected = coef.loc[grid.Subject.astype(str), "(Intercept)"].to_numpy() + \
        coef.loc[grid.Subject.astype(str), "Days"].to_numpy() * grid.Days.to_numpy()
    np.testing.assert_allclose(slopes.predict(grid), expected, rtol=1e-10)


def test_population_prediction(slopes):
    grid = pd.DataFrame({"Days": [0.0, 10.0]})
    beta = slopes.fixef()
    np.testing.assert_allclose(slopes.predict(grid, re_form="~0"),
                               [beta["(Intercept)"], beta["(Intercept)"] + 10 * beta["Days"]])


def test_new_levels_need_permission(slopes):
    grid = pd.DataFrame({"Subject": [308, 999], "Days": [1.0, 1.0]})
    with pytest.raises(DataError, match=r"new levels \['999'\] of 'Subject'"):
        slopes.predict(grid)
    pred = slopes.predict(grid, allow_new_levels=True)
    assert pred[1] == pytest.approx(slopes.predict(grid, re_form="~0")[1])
    assert pred[0] == pytest.approx(slopes.predict(grid.iloc[:1])[0])


def test_categorical_fixed_effects_reencoded_for_new_data():
    dragons = lp.load_dataset("dragons")
    m = lp.lmer("intelligence ~ wingspan*scales + (1 + wingspan|mountain)", dragons)
    grid = pd.DataFrame({"wingspan": [50.0, 50.0], "scales": ["metallic", "chromatic"], "mountain": ["A", "A"]})
    b = m.fixef()
    re = m.ranef()["mountain"].loc["A"]
    chromatic = b["(Intercept)"] + re["(Intercept)"] + 50 * (b["wingspan"] + re["wingspan"])
    metallic = chromatic + b["scalesmetallic"] + 50 * b["wingspan:scalesmetallic"]
    np.testing.assert_allclose(m.predict(grid), [metallic, chromatic])


def test_augment_newdata_gives_predictions_not_training_values(slopes):
    grid = pd.DataFrame({"Subject": [308, 308], "Days": [0.0, 9.0]})
    aug = lp.augment(slopes, newdata=grid)
    np.testing.assert_allclose(aug[".fitted"], slopes.predict(grid))
    np.testing.assert_allclose(aug[".fixed"], slopes.predict(grid, re_form="~0"))
    assert list(aug.columns[:2]) == ["Subject", "Days"]


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
    pl = pytest.importorskip("polars")
    m = lp.lmer("Reaction ~ Days + (1|Subject)", pl.from_pandas(sleepstudy))
    ref = lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy)
    assert m.REMLcrit() == pytest.approx(ref.REMLcrit())
    for tidier in (lp.tidy, lp.augment, lp.glance):
        assert isinstance(tidier(m), pl.DataFrame)
