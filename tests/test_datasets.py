"""The course datasets ship with the package."""
import pandas as pd
import pytest

import lmmplot as lp
from lmmplot.errors import DataError


def test_every_course_dataset_loads():
    names = lp.list_datasets()
    assert {"sleepstudy", "irrigation", "dragons", "solutions", "penicillin", "politeness",
            "stroop", "abrasion", "health", "parallel", "planking"} <= set(names)
    assert lp.load_dataset("sleepstudy").shape == (180, 3)
    assert lp.load_dataset("dragons").shape == (200, 5)


def test_each_load_is_a_fresh_copy():
    a = lp.load_dataset("irrigation")
    a["yield"] = 0
    assert lp.load_dataset("irrigation")["yield"].iloc[0] == pytest.approx(35.4)


def test_unknown_dataset():
    with pytest.raises(DataError, match="no dataset 'sleep'"):
        lp.load_dataset("sleep")


def test_grouping_and_text_columns_are_factors_in_rs_level_order():
    sleep = lp.load_dataset("sleepstudy")
    assert list(sleep["Subject"].cat.categories[:4]) == [308, 309, 310, 330]  # numerically, as factor()
    assert sleep["Days"].dtype.kind == "i" and sleep["Reaction"].dtype.kind == "f"
    irrigation = lp.load_dataset("irrigation")
    assert [list(irrigation[c].cat.categories) for c in ("irrigation", "variety")] == [
        ["i1", "i2", "i3", "i4"], ["v1", "v2"]]
    assert list(lp.load_dataset("solutions")["solvent"].cat.categories) == [
        "acetone", "ethanol", "hexane", "methanol", "toluene", "water"]
    assert list(lp.load_dataset("parallel")["slice"].cat.categories) == list(range(1, 10))
    for name in lp.list_datasets():
        data = lp.load_dataset(name)
        for column in data.columns:
            if not isinstance(data[column].dtype, pd.CategoricalDtype):
                assert pd.api.types.is_numeric_dtype(data[column]), (name, column)
