"""The exceptions and warnings lmmplot raises, one family for the whole package."""
import re

_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class LmmplotError(Exception):
    """Base class of every error lmmplot raises on purpose.

    Messages carry no terminal colour codes (formulaic's, quoted in ours, have them), so
    that they read the same in a notebook, a log or a test.
    """

    def __init__(self, *args):
        super().__init__(*(_TERMINAL_CODES.sub("", a) if isinstance(a, str) else a for a in args))


class FormulaError(LmmplotError, ValueError):
    """The model formula cannot be read or does not describe a mixed model."""


class DataError(LmmplotError, ValueError):
    """The data do not fit the formula (missing column, wrong type, bad values)."""


class ArgumentTypeError(LmmplotError, TypeError):
    """An argument is of the wrong type (formula not a string, data not a data frame ...)."""


class ConvergenceError(LmmplotError, RuntimeError):
    """The optimizer cannot go on along the path it was asked to follow."""


class LmmplotWarning(UserWarning):
    """Base class of lmmplot's warnings."""


class ConvergenceWarning(LmmplotWarning):
    """The optimizer's result fails lme4's convergence checks, or the fit is singular."""


class MissingDataWarning(LmmplotWarning):
    """Rows with missing values were dropped before fitting."""


class MLRefitWarning(LmmplotWarning):
    """REML fits were refitted by ML before a likelihood-ratio test (lme4's message)."""


class FamilyError(LmmplotError, ValueError):
    """A GLM family or link that lmmplot does not know, or a link the family does not allow."""
