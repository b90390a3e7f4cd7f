"""The course's datasets, shipped inside the package, with R's column types."""
from __future__ import annotations

from importlib import resources

import pandas as pd

from .errors import DataError

# Numeric-coded identifiers that R holds as factors (lme4's data sets) or that the course uses
# only as grouping factors. Text columns become factors anyway. (Arabidopsis's nutrient stays
# numeric, as the lme4 references fit it.)
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "abrasion": ("run", "position"),
    "arabidopsis": ("gen", "rack"),
    "cbpp": ("herd", "period"),
    "dragons": ("dragon",),
    "grouseticks": ("INDEX", "BROOD", "YEAR", "LOCATION"),
    "health": ("patient",),
    "parallel": ("fibre", "slice", "cat"),
    "planking": ("subject",),
    "sleepstudy": ("Subject",),
    "stroop": ("item",),
}


def list_datasets() -> list[str]:
    """Names of the datasets :func:`load_dataset` knows."""
    files = resources.files("lmmplot").joinpath("data").iterdir()
    return sorted(f.name[:-4] for f in files if f.name.endswith(".csv"))


def load_dataset(name: str) -> pd.DataFrame:
    """One of the course's datasets as a data frame (a fresh copy each call).

    Grouping and categorical columns are pandas categoricals in R's level order (sorted;
    numeric codes such as sleepstudy's ``Subject`` numerically), as R's ``factor()`` makes them.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`, e.g. ``"sleepstudy"`` or ``"dragons"``.
    """
    if name not in list_datasets():
        raise DataError(f"no dataset {name!r}; choose one of {list_datasets()}")
    with resources.files("lmmplot").joinpath("data", f"{name}.csv").open("r") as fh:
        frame = pd.read_csv(fh)
    for column in frame.columns:
        if column in ID_COLUMNS.get(name, ()) or not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = pd.Categorical(frame[column])
    frame.attrs["name"] = name  # summary() prints it as lme4 prints the data's name
    return frame
