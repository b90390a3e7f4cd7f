"""Argument checks shared by the one-call figures: the package's own errors, naming the input."""
from __future__ import annotations

from ..errors import ArgumentTypeError
from ..lm import LinearModel
from ..model import LinearMixedModel


def mixed_model(model, figure: str) -> LinearMixedModel:
    """``model`` itself when it is a fitted lmer model; otherwise an ArgumentTypeError."""
    if isinstance(model, LinearMixedModel):
        return model
    if isinstance(model, LinearModel):
        raise ArgumentTypeError(
            f"{figure} needs a mixed model from lmmplot.lmer; {model.formula.text!r} is an "
            "lmmplot.lm fit, which has no random effects")
    raise ArgumentTypeError(f"{figure} needs a model from lmmplot.lmer, not {type(model).__name__}")


def level_arg(level, figure: str) -> float:
    """A confidence level strictly between 0 and 1."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ArgumentTypeError(f"{figure}: level must be a number between 0 and 1, not {level!r}")
    return float(level)
