"""The course's datasets, shipped inside the package."""
from __future__ import annotations

from importlib import resources

import pandas as pd

from .errors import DataError


# columns that are factors in R although their values look numeric (lme4's data sets)
_FACTORS = {
    "cbpp": ["herd", "period"],
    "grouseticks": ["INDEX", "BROOD", "YEAR", "LOCATION"],
    "arabidopsis": ["popu", "gen", "amd"],
}


def list_datasets() -> list[str]:
    """Names of the datasets :func:`load_dataset` knows."""
    files = resources.files("lmmplot").joinpath("data").iterdir()
    return sorted(f.name[:-4] for f in files if f.name.endswith(".csv"))


def load_dataset(name: str) -> pd.DataFrame:
    """One of the course's datasets as a data frame (a fresh copy each call).

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`, e.g. ``"sleepstudy"`` or ``"dragons"``.
    """
    if name not in list_datasets():
        raise DataError(f"no dataset {name!r}; choose one of {list_datasets()}")
    with resources.files("lmmplot").joinpath("data", f"{name}.csv").open("r") as fh:
        frame = pd.read_csv(fh, dtype={c: str for c in _FACTORS.get(name, [])})
    frame.attrs["name"] = name  # summary() prints it as lme4 prints the data's name
    return frame
