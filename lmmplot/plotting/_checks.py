"""Argument checks shared by the one-call figures: the package's own errors, naming the input."""
from __future__ import annotations

from ..errors import ArgumentTypeError
from ..lm import LinearModel
from ..model import LinearMixedModel, MixedModel


def mixed_model(model, figure: str, generalized: bool = False) -> MixedModel:
    """``model`` itself when it is a fitted lmer model (or, with ``generalized``, a glmer one);
    otherwise an ArgumentTypeError."""
    accepted = MixedModel if generalized else LinearMixedModel
    if isinstance(model, accepted):
        return model
    fitters = "lmmplot.lmer or lmmplot.glmer" if generalized else "lmmplot.lmer"
    if isinstance(model, LinearModel):
        raise ArgumentTypeError(
            f"{figure} needs a mixed model from {fitters}; {model.formula.text!r} is an "
            "lmmplot.lm fit, which has no random effects")
    raise ArgumentTypeError(f"{figure} needs a model from {fitters}, not {type(model).__name__}")


def level_arg(level, figure: str) -> float:
    """A confidence level strictly between 0 and 1."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ArgumentTypeError(f"{figure}: level must be a number between 0 and 1, not {level!r}")
    return float(level)
