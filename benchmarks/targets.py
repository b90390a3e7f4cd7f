"""The benchmark targets: data, model, how statsmodels expresses it, and the goal to meet."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

import simulate

DATA_DIR = Path(__file__).resolve().parent / "data"

SMALL_RATIO = 0.5  # small models: at most half of lme4's time
OBJECTIVE_TOL = 1e-4  # "reaches lme4's objective": lmmplot's may exceed lme4's by at most this


@dataclass(frozen=True)
class StatsmodelsSpec:
    """A model in statsmodels' MixedLM terms: one grouping factor, variance components inside it.

    ``groups=None`` puts every row in one group (how MixedLM writes crossed effects).
    """

    fixed: str
    groups: str | None
    re_formula: str | None = None
    vc_formula: dict[str, str] | None = None


@dataclass(frozen=True)
class Target:
    """One benchmark: a model on a data set, and what counts as meeting it.

    ``categorical`` lists the columns read as strings (R: character, then factor).
    ``max_ratio`` bounds lmmplot's time / lme4's; ``max_seconds`` and ``max_mb`` are absolute.
    ``statsmodels`` is None where MixedLM cannot express the model.
    """

    name: str
    load: Callable[[], pd.DataFrame]
    formula: str
    REML: bool
    categorical: tuple[str, ...] = ()
    statsmodels: StatsmodelsSpec | None = None
    max_ratio: float | None = None
    max_seconds: float | None = None
    max_mb: float | None = None
    scale: bool = False
    linearity: str | None = None  # name of the linearity series this run belongs to


def _course(name: str, categorical: tuple[str, ...] = ()) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import lmmplot as lp

        frame = lp.load_dataset(name)
        return frame.astype({c: str for c in categorical})

    return load


def _csv(filename: str, categorical: tuple[str, ...]) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        return pd.read_csv(DATA_DIR / filename, dtype={c: str for c in categorical})

    return load


def _crossed(fixed: str, *groups: str) -> StatsmodelsSpec:
    return StatsmodelsSpec(fixed, None, "0", {g: f"0 + C({g})" for g in groups})


TARGETS: list[Target] = [
    Target(
        "sleepstudy", _course("sleepstudy", ("Subject",)), "Reaction ~ Days + (Days|Subject)", True,
        ("Subject",), StatsmodelsSpec("Reaction ~ Days", "Subject", "~Days"), max_ratio=SMALL_RATIO,
    ),
    Target(
        "dragons", _course("dragons", ("scales", "mountain")),
        "intelligence ~ wingspan*scales + (1 + wingspan|mountain)", True, ("scales", "mountain"),
        StatsmodelsSpec("intelligence ~ wingspan*scales", "mountain", "~wingspan"), max_ratio=SMALL_RATIO,
    ),
    Target(
        "politeness", _course("politeness", ("subject", "gender", "sentence", "context")),
        "pitch ~ gender*context + (1|sentence) + (1|subject)", True,
        ("subject", "gender", "sentence", "context"),
        _crossed("pitch ~ gender*context", "sentence", "subject"), max_ratio=SMALL_RATIO,
    ),
    Target(
        "penicillin", _csv("penicillin_lme4.csv", ("plate", "sample")),
        "diameter ~ 1 + (1|plate) + (1|sample)", True, ("plate", "sample"),
        _crossed("diameter ~ 1", "plate", "sample"), max_ratio=SMALL_RATIO,
    ),
    Target(
        "school7k", simulate.schools, "math ~ ses + (1 + ses|school)", True, ("school",),
        StatsmodelsSpec("math ~ ses", "school", "~ses"), max_ratio=SMALL_RATIO,
    ),
    Target(
        "insteval", _csv("insteval.csv", ("s", "d", "service", "dept")),
        "y ~ 1 + service*dept + (1|s) + (1|d)", False, ("s", "d", "service", "dept"),
        _crossed("y ~ 1 + service*dept", "s", "d"), max_ratio=0.3, max_seconds=1.25,
    ),
    Target(
        "movielens1m", simulate.ratings, "y ~ 1 + (1|user) + (1|item)", True, (),
        _crossed("y ~ 1", "user", "item"), max_seconds=60.0, max_mb=4096.0, scale=True,
    ),
    Target(
        "slope10m", lambda: simulate.slopes(10_000_000), "y ~ x + (1 + x|g)", True, (),
        StatsmodelsSpec("y ~ x", "g", "~x"), max_seconds=60.0, scale=True,
    ),
] + [
    Target(
        f"slope{m}m", (lambda m=m: simulate.slopes(m * 1_000_000)), "y ~ x + (1 + x|g)", True, (),
        StatsmodelsSpec("y ~ x", "g", "~x"), scale=True, linearity="slope",
    )
    for m in (1, 2, 4)
]

BY_NAME = {t.name: t for t in TARGETS}
