"""R's text output, as lme4 and lmerTest print with it.

``format()``, ``round()``, ``zapsmall()``, ``format.pval()``, ``abbreviate()``, ``strwrap()``,
``cat(fill = TRUE)``, ``deparse()`` of a formula, ``print()`` of character matrices and of named
vectors. Each follows R 4.2's rules (options ``digits = 7``, ``width = 80``, ``scipen = 0``), so
that the strings match R's to the character.
"""
from __future__ import annotations

import math
import re

import numpy as np

WIDTH = 80  # getOption("width")
_KP_MAX = 27  # largest power of ten R keeps exact in its long-double table
_LD_TEN = np.longdouble(10)


# ---------------------------------------------------------------- numbers
def r_round(x: float, digits: int | float = 0) -> float:
    """R's ``round(x, digits)``: the nearer of the two decimal neighbours, ties to even."""
    if not math.isfinite(x) or x == 0.0:
        return x
    dig = math.floor(digits + 0.5)
    sign, x = (-1.0, -x) if x < 0 else (1.0, x)
    if dig == 0:
        return sign * float(np.rint(x))
    if dig + (math.frexp(x)[1] - 0.5) * math.log10(2.0) > 15:  # no digit left to round
        return sign * x
    p10 = 10.0**dig
    x10 = p10 * x
    i10 = math.floor(x10)
    down, up = i10 / p10, math.ceil(x10) / p10
    du, dd = up - x, x - down
    return sign * (up if du < dd or (du == dd and i10 % 2 == 1) else down)


def zapsmall(values, digits: int) -> list[float]:
    """R 4.2's ``zapsmall()``: round to ``digits - log10(max|x|)`` decimal places, a count
    that ``round()`` itself rounds to the nearest integer."""
    values = [float(v) for v in values]
    finite = [abs(v) for v in values if math.isfinite(v)]
    mx = max(finite) if finite else 0.0
    places = max(0.0, digits - math.log10(mx)) if mx > 0 else digits
    return [r_round(v, places) for v in values]


def _scientific(x: float, digits: int) -> tuple[bool, int, int, bool]:
    """Sign, decimal exponent and significant digits of ``x`` shown with ``digits`` digits.

    Also whether rounding to those digits adds a digit left of the point (99.96 -> 100.0).
    """
    if x == 0.0:
        return False, 0, 1, False
    neg, r = x < 0, abs(x)
    kp = math.floor(math.log10(r)) - digits + 1
    scaled = np.longdouble(r)
    if abs(kp) < 10:
        scaled = scaled / _LD_TEN**kp if kp > 0 else scaled * _LD_TEN ** (-kp)
    elif kp <= -308:
        scaled = (scaled * np.longdouble(1e303)) / _LD_TEN ** (kp + 303)
    else:
        scaled = scaled / _LD_TEN**kp
    if scaled < _LD_TEN ** (digits - 1):
        scaled *= 10
        kp -= 1
    alpha = float(np.rint(scaled))
    nsig = digits
    for _ in range(digits):
        alpha /= 10.0
        if alpha != math.floor(alpha):
            break
        nsig -= 1
    if nsig == 0 and digits > 0:
        nsig = 1
        kp += 1
    kpower = kp + digits - 1
    rgt = min(max(digits - kpower, 0), _KP_MAX)
    fuzz = 0.5 / 10.0**rgt
    widens = 0 < kpower <= _KP_MAX and np.longdouble(r) < _LD_TEN**kpower - np.longdouble(fuzz)
    return neg, kpower, nsig, bool(widens)


def _real_format(values: list[float], digits: int, nsmall: int) -> tuple[int, int, bool]:
    """R's formatReal: the common width, decimals and fixed/scientific choice of ``values``."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return max((len(_non_finite(v)) for v in values), default=0), 0, False
    neg, rgt, mxsl, mxns = False, None, None, None
    kpowers = []
    for v in finite:
        is_neg, kpower, nsig, widens = _scientific(v, digits)
        left = kpower + 1 - (1 if widens else 0)
        sleft = int(is_neg) + (1 if left <= 0 else left)
        right = nsig - left
        neg = neg or is_neg
        rgt = right if rgt is None else max(rgt, right)
        mxsl = sleft if mxsl is None else max(mxsl, sleft)
        mxns = nsig if mxns is None else max(mxns, nsig)
        kpowers.append(kpower)
    rgt = max(rgt, 0)
    width_fixed = mxsl + rgt + (rgt != 0)
    exp_digits = 2 if max(kpowers) >= 100 or min(kpowers) <= -99 else 1
    dec_sci = mxns - 1
    width_sci = int(neg) + (dec_sci > 0) + dec_sci + 4 + exp_digits
    width = max([len(_non_finite(v)) for v in values if not math.isfinite(v)], default=0)
    if width_fixed <= width_sci:
        if nsmall > rgt:
            rgt = nsmall
            width_fixed = mxsl + rgt + (rgt != 0)
        return max(width, width_fixed), rgt, False
    return max(width, width_sci), dec_sci, True


def _non_finite(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    return "Inf" if v > 0 else "-Inf"


def _encode(v: float, width: int, decimals: int, sci: bool) -> str:
    if not math.isfinite(v):
        return _non_finite(v).rjust(width)
    if v == 0.0:
        v = 0.0  # no signed zero
    return f"{v:{width}.{decimals}e}" if sci else f"{v:{width}.{decimals}f}"


def format_num(values, digits: int = 7, nsmall: int = 0) -> list[str]:
    """R's ``format(x, digits, nsmall)`` of a numeric vector: one common width and format."""
    values = [float(v) for v in values]
    width, decimals, sci = _real_format(values, digits, nsmall)
    return [_encode(v, width, decimals, sci) for v in values]


def cat_num(x: float) -> str:
    """A number as ``cat()`` writes it (7 significant digits, no padding)."""
    return format_num([x])[0]


def format_pval(pvalues, digits: int, eps: float = np.finfo(float).eps) -> list[str]:
    """R's ``format.pval()``: p-values, those below ``eps`` as ``<eps``."""
    pvalues = [float(p) for p in pvalues]
    small = [p < eps for p in pvalues]
    out = [""] * len(pvalues)
    others = [i for i, s in enumerate(small) if not s]
    if others:
        expo = {i: _p_exponent(pvalues[i]) for i in others}
        fixp = {i for i in others if expo[i] >= -3 or (expo[i] == -4 and digits > 1)}
        for group in ([i for i in others if i in fixp], [i for i in others if i not in fixp]):
            for i, s in zip(group, format_num([pvalues[i] for i in group], digits)):
                out[i] = s
    if any(small):
        eps_digits = max(1, digits - 2)
        if others:
            nc = max(len(out[i]) for i in others)
            if eps_digits > 1 and eps_digits + 6 > nc:
                eps_digits = max(1, nc - 7)
            sep = "" if eps_digits == 1 and nc <= 6 else " "
        else:
            sep = "" if eps_digits == 1 else " "
        text = "<" + sep + format_num([eps], eps_digits)[0]
        out = [text if s else o for s, o in zip(small, out)]
    return out


def _p_exponent(p: float) -> int:
    return math.floor(math.log10(p if p > 0 else 1e-50))


# ---------------------------------------------------------------- words
def abbreviate(names: list[str], minlength: int) -> list[str]:
    """R's ``abbreviate(names, minlength)``: drop lower-case vowels, then lower-case letters,
    from the end, keeping first letters of words; lengthen duplicates until they differ."""
    names = [n.strip(" ") for n in names]
    unique = list(dict.fromkeys(names))
    out = list(unique)
    todo = [True] * len(unique)
    length = minlength
    while True:
        for i, flag in enumerate(todo):
            if flag:
                out[i] = _strip_chars(unique[i], length)
        seen, dup = set(), [False] * len(out)
        for i, a in enumerate(out):
            dup[i] = a in seen
            seen.add(a)
        if not any(dup):
            break
        length += 1
        clash = {out[i] for i, d in enumerate(dup) if d}
        todo = [d or a in clash for d, a in zip(dup, out)]
    lookup = dict(zip(unique, out))
    return [lookup[n] for n in names]


def _strip_chars(text: str, minlength: int) -> str:
    """R's C-level abbreviation of one string to about ``minlength`` characters."""
    chars = list(text.lstrip())
    if len(chars) < minlength:
        return "".join(chars)
    nspace = 0
    trailing = True
    for i in range(len(chars) - 1, 0, -1):  # trailing blanks go; inner ones are word breaks
        if chars[i].isspace():
            if trailing:
                del chars[i]
            else:
                nspace += 1
        else:
            trailing = False
        if len(chars) - nspace <= minlength:
            return _drop_spaces(chars, minlength)
    upper = len(chars) - 1

    def first(i):  # the character starts a word
        return chars[i - 1].isspace()

    def last(i):  # the character ends a word
        return not chars[i - 1].isspace() and (i + 1 >= len(chars) or chars[i + 1].isspace())

    def vowel(i):
        return chars[i] in "aeiou"

    def lower(i):
        return chars[i].islower()

    passes = (
        lambda i: vowel(i) and last(i),
        lambda i: vowel(i) and not first(i),
        lambda i: lower(i) and last(i),
        lambda i: lower(i) and not first(i),
    )
    for drop in passes:
        for i in range(upper, 0, -1):
            if i < len(chars) and drop(i):
                del chars[i]
            if len(chars) - nspace <= minlength:
                return _drop_spaces(chars, minlength)
    for i in range(len(chars) - 1, 0, -1):
        if i < len(chars) and not first(i) and not chars[i].isspace():
            del chars[i]
        if len(chars) - nspace <= minlength:
            break
    return _drop_spaces(chars, minlength)


def _drop_spaces(chars: list[str], minlength: int) -> str:
    if len(chars) > minlength:
        chars = [chars[0]] + [c for c in chars[1:] if not c.isspace()]
    return "".join(chars)


def strwrap(text: str, width: int, exdent: int = 0) -> list[str]:
    """R's ``strwrap()`` of one paragraph: greedy lines shorter than ``width``."""
    words = text.split()
    lines, current, room = [], [], width
    for word in words:
        used = sum(len(w) + 1 for w in current)
        if current and used + len(word) + 1 > room:
            lines.append(current)
            current, room = [], width - exdent
        current.append(word)
    lines.append(current)
    return [(" " * exdent if k else "") + " ".join(ws) for k, ws in enumerate(lines)]


def cat_fill(items: list[str], sep: str = " ", width: int = WIDTH) -> list[str]:
    """Lines written by R's ``cat(..., sep = sep, fill = TRUE)``."""
    text, used = "", 0
    for k, item in enumerate(items):
        if k:
            text += sep
            if used + len(item) + len(sep) > width:
                text += "\n"
                used = 0
        text += item
        used += len(item) + len(sep)
    return text.split("\n")


# ---------------------------------------------------------------- printing
def print_matrix(cells: list[list[str]], row_names: list[str], col_names: list[str],
                 right: bool, gap: int = 1, width: int = WIDTH) -> list[str]:
    """R's ``print()`` of a character matrix with ``quote = FALSE``.

    Row names are left-aligned; cells and column names left- or right-aligned; columns that
    do not fit in ``width`` continue in further blocks below.
    """
    rlabw = max((len(r) for r in row_names), default=0)
    ncol = len(col_names)
    widths = [max([len(col_names[j])] + [len(row[j]) for row in cells]) for j in range(ncol)]
    lines, jmin = [], 0
    while jmin < ncol:
        used, jmax = rlabw, jmin
        while True:
            used += widths[jmax] + gap
            jmax += 1
            if not (jmax < ncol and used + widths[jmax] + gap < width):
                break
        cols = range(jmin, jmax)
        pad = str.rjust if right else str.ljust
        lines.append(" " * rlabw + "".join(" " * gap + pad(col_names[j], widths[j]) for j in cols))
        for name, row in zip(row_names, cells):
            lines.append(name.ljust(rlabw) + "".join(" " * gap + pad(row[j], widths[j]) for j in cols))
        jmin = jmax
    return lines


def print_named(values: list[str], names: list[str], gap: int = 1, width: int = WIDTH) -> list[str]:
    """R's ``print()`` of a named vector whose elements are already formatted: right-aligned
    names over right-aligned values, as many per line as fit."""
    w = max([len(v) for v in values] + [len(n) for n in names])
    per_line = max(1, width // (w + gap))
    lines = []
    for start in range(0, len(values), per_line):
        chunk = slice(start, start + per_line)
        lines.append("".join(n.rjust(w) + " " * gap for n in names[chunk]))
        lines.append("".join(v.rjust(w) + " " * gap for v in values[chunk]))
    return lines


# ---------------------------------------------------------------- deparse
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?L?)"
    r"|(?P<name>[A-Za-z.][A-Za-z0-9._]*|`[^`]*`)"
    r"|(?P<str>\"[^\"]*\"|'[^']*')"
    r"|(?P<op>%[^%]*%|\*\*|\|\||&&|==|!=|<=|>=|[-+*/^:~|&!<>=(),]))"
)
# binary operators by increasing precedence: (operators, spaced, right-associative)
_BINARY = [
    (("~",), True, False),
    (("||", "|"), True, False),
    (("&&", "&"), True, False),
    (("==", "!=", "<", ">", "<=", ">="), True, False),
    (("+", "-"), True, False),
    (("*", "/"), True, False),
    (("%",), True, False),  # any %op%
    ((":",), False, False),
    (("^",), False, True),
]
_UNSPACED = {"/", ":", "^"}
_CUTOFF = 60  # deparse()'s width.cutoff


def deparse_formula(text: str) -> list[str]:
    """R's ``deparse()`` of a formula: spaces around ``~ + - * | ||``, none around ``/ : ^``,
    lines broken after an operator once a line passes 60 characters.

    Text it cannot parse comes back as written.
    """
    try:
        tokens = _tokenize(text)
        tree, pos = _parse(tokens, 0, 0)
        if pos != len(tokens):
            raise ValueError(text)
    except (ValueError, IndexError):
        return [text]
    writer = _Deparser()
    writer.node(tree)
    return writer.finish()


def _tokenize(text: str) -> list[str]:
    tokens, pos, text = [], 0, text.strip()
    while pos < len(text):
        if text[pos] == "{":  # formulaic's Python expression: one opaque atom
            depth, end = 0, pos
            for end in range(pos, len(text)):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                if depth == 0:
                    break
            tokens.append(text[pos : end + 1])
            pos = end + 1
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(text)
        tok = m.group(m.lastgroup)
        if m.lastgroup == "num" and not tok.endswith("L"):
            tok = f"{float(tok):.15g}"
        tokens.append("^" if tok == "**" else tok)
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _binary_level(tok: str) -> int | None:
    for level, (ops, _, _) in enumerate(_BINARY):
        if tok in ops or (ops == ("%",) and len(tok) > 1 and tok[0] == tok[-1] == "%"):
            return level
    return None


def _parse(tokens: list[str], pos: int, min_level: int):
    """Precedence climbing over R's operators; nodes are ('bin', op, a, b), ('un', op, a),
    ('paren', a), ('call', name, args) or atoms (str)."""
    if tokens[pos] in ("-", "+", "!", "~"):
        op = tokens[pos]
        inner_level = {"~": 1, "!": 3}.get(op, 8)  # unary minus binds tighter than ':'
        operand, pos = _parse(tokens, pos + 1, inner_level)
        left = ("un", op, operand)
    else:
        left, pos = _primary(tokens, pos)
    while pos < len(tokens):
        level = _binary_level(tokens[pos])
        if level is None or level < min_level:
            break
        op = tokens[pos]
        right_assoc = _BINARY[level][2]
        right, pos = _parse(tokens, pos + 1, level if right_assoc else level + 1)
        left = ("bin", op, left, right)
    return left, pos


def _primary(tokens: list[str], pos: int):
    tok = tokens[pos]
    if tok == "(":
        inner, pos = _parse(tokens, pos + 1, 0)
        if tokens[pos] != ")":
            raise ValueError(tok)
        return ("paren", inner), pos + 1
    if tok in ")," or _binary_level(tok) is not None:
        raise ValueError(tok)
    if pos + 1 < len(tokens) and tokens[pos + 1] == "(" and not tok[0].isdigit():
        args, pos = [], pos + 2
        while tokens[pos] != ")":
            if pos + 1 < len(tokens) and tokens[pos + 1] == "=":
                name, pos = tokens[pos], pos + 2
                value, pos = _parse(tokens, pos, 0)
                args.append((name, value))
            else:
                value, pos = _parse(tokens, pos, 0)
                args.append((None, value))
            if tokens[pos] == ",":
                pos += 1
        return ("call", tok, args), pos + 1
    return tok, pos + 1


class _Deparser:
    """Writes a parsed formula as R's deparse() does, line breaks included."""

    def __init__(self):
        self.lines: list[str] = []
        self.line = ""
        self.indent = 0
        self.start = True

    def write(self, text: str) -> None:
        if self.start:
            self.start = False
            self.line += "".join("    " if i < 4 else "  " for i in range(self.indent))
        self.line += text

    def break_if_long(self) -> bool:
        if len(self.line) > _CUTOFF:
            self.lines.append(self.line)
            self.line, self.start = "", True
            return True
        return False

    def node(self, tree) -> None:
        if isinstance(tree, str):
            self.write(tree)
        elif tree[0] == "paren":
            self.write("(")
            self.node(tree[1])
            self.write(")")
        elif tree[0] == "un":
            self.write(tree[1])
            self.node(tree[2])
        elif tree[0] == "call":
            self.write(tree[1] + "(")
            for k, (name, value) in enumerate(tree[2]):
                if k:
                    self.write(", ")
                if name:
                    self.write(f"{name} = ")
                self.node(value)
            self.write(")")
        else:
            _, op, left, right = tree
            self.node(left)
            if op in _UNSPACED:
                self.write(op)
                self.node(right)
                return
            self.write(f" {op} ")
            indented = self.break_if_long()
            if indented:
                self.indent += 1
            self.node(right)
            if indented:
                self.indent -= 1

    def finish(self) -> list[str]:
        return self.lines + [self.line]
