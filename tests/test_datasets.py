"""The course datasets ship with the package."""
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
