"""The one place that names things as lme4 and broom.mixed print them."""
from __future__ import annotations

import re

import numpy as np

_CODED = re.compile(r"(.*)\[([^\[\]]*)\]")  # a factor's column: expression[code]
# formulaic's own contrast spellings, which R does not have: named as R names a factor coded
# so by contrasts = list(x = "contr.sum") (x1, x2), that is by the variable alone
_FORMULAIC_CODING = re.compile(r"C\((.+), *(Treatment|Sum|Helmert|Diff|Poly)(\(.*\))?\)")
_NUMBERED = ("S.", "H.", "D.")  # codings whose columns R numbers 1, 2, ... (contr.sum, contr.helmert)


def coef_names(columns: list[str], encoder_state: dict | None = None) -> list[str]:
    """R's names for formulaic's design columns, given the spec's encoder state.

    ``Intercept`` becomes ``(Intercept)``, ``irrigation[T.i2]`` ``irrigationi2``, a logical
    level ``x[T.True]`` ``xTRUE``, an ordered factor's ``dose[.L]`` ``dose.L``, a sum-coded
    ``C(x, contr.sum)[S.a]`` ``C(x, contr.sum)1``, ``poly(x, 2, raw=True)[0]``
    ``poly(x, 2, raw = TRUE)1`` and ``I(age ** 2)`` ``I(age^2)``; interactions join with ``:``.
    """
    states = encoder_state or {}
    pieces = [_split_interaction(c) for c in columns]
    numbers: dict[str, dict[str, int]] = {}  # per numbered expression, its codes in order
    for parts in pieces:
        for part in parts:
            m = _CODED.fullmatch(part)
            if m and (m[1].startswith("poly(") or m[2].startswith(_NUMBERED)):
                codes = numbers.setdefault(m[1], {})
                codes.setdefault(m[2], len(codes) + 1)
    return [_name(parts, states, numbers) for parts in pieces]


def term_name(label: str) -> str:
    """R's label of a formula term (an anova row): ``poly(x, 2, raw = TRUE)``, ``x:g``;
    formulaic's ``C(x, Sum)`` is R's ``x``."""
    parts = []
    for part in _split_interaction(label):
        coding = _FORMULAIC_CODING.fullmatch(part.strip())
        parts.append(r_expression(coding[1].strip() if coding else part.strip()))
    return ":".join(parts)


def _name(parts: list[str], states: dict, numbers: dict) -> str:
    if parts == ["Intercept"]:
        return "(Intercept)"
    out = []
    for part in parts:
        m = _CODED.fullmatch(part)
        if m is None:
            out.append(r_expression(part))
            continue
        expr, code = m[1], m[2]
        coding = _FORMULAIC_CODING.fullmatch(expr)
        prefix = r_expression(coding[1].strip() if coding else expr)
        if expr in numbers:
            out.append(prefix + str(numbers[expr][code]))
        else:
            level = code[2:] if code[:2] == "T." else code
            out.append(prefix + _level_label(level, states.get(expr)))
    return ":".join(out)


def _level_label(level: str, state) -> str:
    """A level as R prints it: logical levels are TRUE and FALSE."""
    categories = state[1].get("categories", []) if isinstance(state, tuple) and len(state) > 1 else []
    for c in categories:
        if str(c) == level and isinstance(c, (bool, np.bool_)):
            return "TRUE" if c else "FALSE"
    return level


def r_expression(text: str) -> str:
    """An expression as R deparses it: ``x^2``, ``raw = TRUE``, no backticks."""
    text = text.replace(" ** ", "^").replace("**", "^").replace("`", "")
    text = re.sub(r"\bTrue\b", "TRUE", re.sub(r"\bFalse\b", "FALSE", text))
    text = re.sub(r"\s*(==|!=|<=|>=|<|>)\s*", r" \1 ", text)
    return re.sub(r"(?<![=!<>])\s*=\s*(?!=)", " = ", text)


def _split_interaction(column: str) -> list[str]:
    """A column's factors: split at each ``:`` outside brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(column):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == ":" and depth == 0:
            parts.append(column[start:i])
            start = i + 1
    parts.append(column[start:])
    return parts


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

