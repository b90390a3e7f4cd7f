"""The one place that names things as lme4 and broom.mixed print them."""
from __future__ import annotations

import re

_TREATMENT = re.compile(r"\[T\.([^\]]*)\]")
_LEVEL = re.compile(r"\[([^\]]*)\]")


def coef_name(column: str) -> str:
    """R's name for a formulaic design column.

    ``Intercept`` becomes ``(Intercept)``, ``irrigation[T.i2]`` becomes
    ``irrigationi2``, ``wingspan:scales[T.metallic]`` becomes
    ``wingspan:scalesmetallic`` and ``I(age ** 2)`` becomes ``I(age^2)``.
    """
    if column == "Intercept":
        return "(Intercept)"
    name = _LEVEL.sub(r"\1", _TREATMENT.sub(r"\1", column))
    # formulaic writes I(x ** 2) where R writes I(x^2); R shows no backticks in names
    return name.replace(" ** ", "^").replace("`", "")


def sd_name(term: str) -> str:
    """broom.mixed's name of a standard deviation: ``sd__(Intercept)``."""
    return f"sd__{term}"


def cor_name(term1: str, term2: str) -> str:
    """broom.mixed's name of a correlation: ``cor__(Intercept).Days``."""
    return f"cor__{term1}.{term2}"


def var_name(term: str) -> str:
    """broom.mixed's name of a variance (``scales="vcov"``): ``var__(Intercept)``."""
    return f"var__{term}"


def cov_name(term1: str, term2: str) -> str:
    """broom.mixed's name of a covariance: ``cov__(Intercept).Days``."""
    return f"cov__{term1}.{term2}"


RESIDUAL_GROUP = "Residual"
RESIDUAL_SD = "sd__Observation"
RESIDUAL_VAR = "var__Observation"


def unique_group_names(groups: list[str]) -> list[str]:
    """VarCorr's names: a grouping factor used again gets ``.1``, ``.2`` (R's make.unique)."""
    seen: dict[str, int] = {}
    out = []
    for g in groups:
        if g in seen:
            seen[g] += 1
            out.append(f"{g}.{seen[g]}")
        else:
            seen[g] = 0
            out.append(g)
    return out

