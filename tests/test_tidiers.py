"""broom.mixed's tidy, augment and glance: the same columns, in the same order, with the same values."""
import json
from pathlib import Path

import pandas as pd
import pytest

import lmmplot as lp

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def broom():
    return json.loads((FIXTURES / "broom_mixed.json").read_text())


@pytest.fixture(scope="module")
def slopes():
    return lp.lmer("Reaction ~ Days + (1 + Days|Subject)", lp.load_dataset("sleepstudy"))


def same_frame(ours: pd.DataFrame, theirs: dict, rtol=2e-3, atol=1e-3):
    """Same columns in the same order, values within optimizer noise (in the data's units)."""
    assert list(ours.columns) == theirs["columns"]
    assert len(ours) == len(theirs["rows"])
    for i, row in enumerate(theirs["rows"]):
        for col in theirs["columns"]:
            mine, ref = ours[col].iloc[i], row.get(col)
            if isinstance(ref, str):
                assert str(mine) == ref, (i, col)
            elif ref is None:
                assert pd.isna(mine), (i, col)
            else:
                assert mine == pytest.approx(ref, rel=rtol, abs=atol), (i, col)


@pytest.mark.parametrize("key, kwargs", [
    ("tidy_default", {}),
    ("tidy_fixed_ci90", dict(effects="fixed", conf_int=True, conf_level=0.9)),
    ("tidy_fixed_kr", dict(effects="fixed", ddf_method="Kenward-Roger")),
    ("tidy_vcov", dict(effects="ran_pars", scales="vcov")),
    ("tidy_ran_vals", dict(effects="ran_vals", conf_int=True)),
    ("tidy_ran_coefs", dict(effects="ran_coefs")),
])
def test_tidy(broom, slopes, key, kwargs):
    same_frame(lp.tidy(slopes, **kwargs), broom[key])


def test_augment(broom, slopes):
    aug = lp.augment(slopes)
    assert list(aug.columns) == ["Reaction", "Days", "Subject"] + broom["augment"]["columns"]
    same_frame(aug.iloc[:5, 3:], broom["augment"])


def test_glance(broom, slopes, sleepstudy):
    same_frame(lp.glance(slopes), broom["glance"], rtol=1e-5)
    ml = lp.lmer("Reaction ~ Days + (1|Subject)", sleepstudy, REML=False)
    same_frame(lp.glance(ml), broom["glance_ml"], rtol=1e-5)


def test_tidy_rejects_unknown_effects(slopes):
    with pytest.raises(TypeError, match="effects must be among"):
        lp.tidy(slopes, effects="random")
