"""Comparing printouts with R's: the same words, numbers within a tolerance of their digits."""


def number(token):
    """The value of a printed number (``<2e-16`` reads as 2e-16), or None for a word."""
    try:
        return float(token.lstrip("<"))
    except ValueError:
        return None


def last_digit(token):
    """The value of one unit in the last printed digit of a number."""
    mantissa, _, exponent = token.lstrip("<-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def same_words(ours, theirs, numbers_agree=lambda x, y: True):
    """Whether two lines have the same words, and numbers where ``numbers_agree``."""
    a, b = ours.replace("< ", "<").split(), theirs.replace("< ", "<").split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        fx, fy = number(x), number(y)
        if fx is None or fy is None or x.startswith("<") != y.startswith("<"):
            return False
        if not numbers_agree(x, y):
            return False
    return True


def within(rel, units):
    """``numbers_agree`` for numbers within ``rel`` plus ``units`` of R's last printed digit."""
    def agree(x, y):
        return abs(number(x) - number(y)) <= rel * abs(number(y)) + units * last_digit(y) * (1 + 1e-9)
    return agree
