"""lme4 formula syntax: split the random-effects bars off and expand them.

The fixed part and each bar's left-hand side stay formula strings that formulaic
materializes; this module never sees data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from formulaic import Formula

from .errors import ArgumentTypeError, FormulaError

_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True)
class RandomTermSpec:
    """One bar ``(expr | group)`` after expansion: a correlated block of effects.

    Attributes
    ----------
    expr : str
        The right-hand side formulaic materializes for the per-observation rows.
    group : str
        The grouping factor as lme4 names it (``Subject``, ``doctor:hospital``).
    group_vars : tuple of str
        The columns whose interaction forms the grouping factor.
    source : str
        The bar as the user wrote it, for error messages.
    """

    expr: str
    group: str
    group_vars: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class ParsedFormula:
    """An lme4 formula split into response, fixed part and random terms."""

    text: str
    response: str
    fixed: str
    random: tuple[RandomTermSpec, ...]
    offsets: tuple[str, ...] = ()  # the insides of the fixed part's offset(...) terms

    @property
    def fixed_formula(self) -> str:
        """The formula without its random terms, ``response ~ fixed part``."""
        return f"{self.response} ~ {self.fixed}"


def _split_top(text: str, seps: str) -> list[tuple[str, str]]:
    """Split ``text`` at separators outside brackets and quotes.

    Returns pairs (separator before the piece, piece); the first separator is ''.
    """
    pieces, depth, quote, start, sep = [], 0, None, 0, ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth < 0:
                raise FormulaError(f"unbalanced ')' at position {i + 1} in {text!r}")
        elif depth == 0 and ch in seps:
            # '**' is a power, not two products; a sign after an operator is unary
            if ch == "*" and (text[i - 1 : i] == "*" or text[i + 1 : i + 2] == "*"):
                continue
            pieces.append((sep, text[start:i]))
            sep, start = ch, i + 1
    if depth != 0:
        raise FormulaError(f"unbalanced '(' in {text!r}")
    if quote:
        raise FormulaError(f"unclosed quote in {text!r}")
    pieces.append((sep, text[start:]))
    return pieces


def _strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _matching(text) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _matching(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in _OPEN
        depth -= ch in _CLOSE
        if depth == 0:
            return i
    return -1


def _find_bar(inner: str) -> tuple[int, int] | None:
    """Position and width of the top-level '|' or '||' in a bar's inside."""
    depth = 0
    for i, ch in enumerate(inner):
        depth += ch in _OPEN
        depth -= ch in _CLOSE
        if depth == 0 and ch == "|":
            return i, 2 if inner[i + 1 : i + 2] == "|" else 1
    return None


def _grouping(group: str, source: str) -> list[tuple[str, tuple[str, ...]]]:
    """Expand a grouping expression: ``a/b/c`` is ``a``, ``b:a`` and ``c:(b:a)`` (lme4's names)."""
    group = _strip_parens(group)
    if not group:
        raise FormulaError(f"random term {source} has no grouping factor after '|'")
    nested = [_strip_parens(part) for _, part in _split_top(group, "/")]
    out, outer, name = [], [], ""
    for part in nested:
        vars_ = [_strip_parens(v) for _, v in _split_top(part, ":")]
        if any(not v or not _is_name(v) for v in vars_):
            raise FormulaError(
                f"grouping factor {part!r} in {source} must be column names joined by ':' or '/'"
            )
        outer = vars_ + outer
        here = ":".join(vars_)
        name = f"{here}:({name})" if ":" in name else (f"{here}:{name}" if name else here)
        out.append((name, tuple(outer)))
    return out


_OFFSET = re.compile(r"offset\s*\(.*\)", re.S)
_R_NAME = re.compile(r"[A-Za-z.][\w.]*")


def _is_name(text: str) -> bool:
    """A column name as R allows it bare (``Subject``, ``total.fruits``), or in backticks."""
    return bool(_R_NAME.fullmatch(text)) or (text.startswith("`") and text.endswith("`") and len(text) > 2)


def check_spaced_names(formula: str, columns) -> None:
    """A column name with a space, written bare, is an error that says to put it in backticks.

    Unquoted, ``body length`` reads as two names with no operator between them.
    """
    bare = re.sub(r"`[^`]*`", "", formula)
    for col in columns:
        if isinstance(col, str) and re.search(r"\s", col.strip()):
            words = [re.escape(w) for w in col.split()]
            if re.search(r"(?<![\w.`])" + r"\s+".join(words) + r"(?![\w.`])", bare):
                raise FormulaError(f"column {col!r} has a space in its name: write it in backticks "
                                   f"in the formula, `{col}`")


def quote_dotted_names(parsed: ParsedFormula, columns) -> ParsedFormula:
    """Put R-style column names that Python cannot read (``total.fruits``) in backticks.

    R users write such names bare; formulaic would read ``total.fruits`` as an attribute.
    A bare name with a space is an error with the backticks to write (:func:`check_spaced_names`).
    """
    check_spaced_names(parsed.text, columns)
    dotted = [c for c in columns if isinstance(c, str) and not c.isidentifier() and _R_NAME.fullmatch(c)]
    if not dotted:
        return parsed
    patterns = [(re.compile(rf"(?<![\w.`]){re.escape(c)}(?![\w.`])"), f"`{c}`") for c in dotted]

    def quote(text: str) -> str:
        for pattern, quoted in patterns:
            text = pattern.sub(quoted, text)
        return text

    random = tuple(replace(t, expr=quote(t.expr)) for t in parsed.random)
    return replace(parsed, response=quote(parsed.response), fixed=quote(parsed.fixed), random=random,
                   offsets=tuple(quote(o) for o in parsed.offsets))


@lru_cache(maxsize=512)
def formulaic_formula(text: str) -> Formula:
    """formulaic's parse of a formula string, parsed once per string (a pure function)."""
    return Formula(text)


def _uncorrelated(expr: str, source: str) -> list[str]:
    """lme4's ``||``: the intercept and each term become blocks of their own."""
    try:
        parsed = formulaic_formula(expr)
    except Exception as exc:  # formulaic raises several types
        raise FormulaError(f"cannot read {expr!r} in {source}: {exc}") from None
    out = []
    for term in parsed:
        name = str(term)
        out.append("1" if name == "1" else f"0 + {name}")
    return out


def parse_formula(formula: str, need_random: bool = True) -> ParsedFormula:
    """Split an lme4 formula into response, fixed part and expanded random terms.

    Parameters
    ----------
    formula : str
        For example ``"Reaction ~ Days + (1 + Days | Subject)"``.
    need_random : bool
        Whether the formula must have random-effects terms (lmer) or must not (lm).

    Returns
    -------
    ParsedFormula
    """
    if not isinstance(formula, str):
        raise ArgumentTypeError(
            f"formula must be a string such as 'y ~ x + (1|g)', not {type(formula).__name__}"
        )
    sides = _split_top(formula, "~")
    if len(sides) != 2:
        raise FormulaError(f"formula {formula!r} needs exactly one '~' between response and terms")
    response, rhs = sides[0][1].strip(), sides[1][1].strip()
    if not response:
        raise FormulaError(f"formula {formula!r} has no response on the left of '~'")
    if not rhs:
        raise FormulaError(f"formula {formula!r} has no terms on the right of '~'")
    fixed, random, offsets = [], [], []
    for sign, piece in _split_top(rhs, "+-"):
        piece = piece.strip()
        if not piece:
            if sign == "-" or not fixed and not random:
                continue  # a leading unary sign
            raise FormulaError(f"empty term after {sign!r} in {formula!r}")
        inner = _strip_parens(piece) if piece.startswith("(") else None
        bar = _find_bar(inner) if inner is not None else None
        if bar is None and _OFFSET.fullmatch(piece):
            if sign == "-":
                raise FormulaError(f"an offset cannot be subtracted: {piece!r}")
            offsets.append(_strip_parens(piece[len("offset"):]))
            continue
        if bar is None:
            if "|" in piece:
                raise FormulaError(f"a random term must be in parentheses, as (1 | g): {piece!r}")
            fixed.append(f"{sign} {piece}" if sign else piece)
            continue
        if sign == "-":
            raise FormulaError(f"random term {piece} cannot be subtracted")
        at, width = bar
        expr, group = inner[:at].strip(), inner[at + width :].strip()
        if not expr:
            raise FormulaError(f"random term {piece} has nothing before '|' (write (1 | g))")
        exprs = _uncorrelated(expr, piece) if width == 2 else [expr]
        for grp_name, grp_vars in _grouping(group, piece):
            random.extend(RandomTermSpec(e, grp_name, grp_vars, piece) for e in exprs)
    fixed_text = " ".join(fixed).strip()
    if fixed_text.startswith("+"):
        fixed_text = fixed_text[1:].strip()
    if not fixed_text:
        fixed_text = "1"
    elif fixed_text.startswith("-"):
        fixed_text = "1 " + fixed_text
    if need_random and not random:
        raise FormulaError(
            f"formula {formula!r} has no random-effects term such as (1 | group); "
            "use lmmplot.lm for a model without random effects"
        )
    if random and not need_random:
        raise FormulaError(
            f"formula {formula!r} has random-effects terms {[t.source for t in random]}; "
            "use lmmplot.lmer for a mixed model"
        )
    return ParsedFormula(formula, response, fixed_text, tuple(random), tuple(offsets))
