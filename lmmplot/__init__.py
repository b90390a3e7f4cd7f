"""lmmplot: lme4's linear mixed models in Python, with broom.mixed's tidiers and plotnine figures."""
from importlib import import_module

from .anova import anova
from .datasets import list_datasets, load_dataset
from .glmm.family import Gamma, binomial, gaussian, negative_binomial, poisson
from .glmm.model import GeneralizedLinearMixedModel, glmer, glmer_nb
from .lm import LinearModel, lm
from .model import LinearMixedModel, lmer
from .tidiers import augment, glance, tidy

# Names loaded on first use (PEP 562): figures import plotnine only when one is asked for.
# public name -> the submodule that defines it
_LAZY: dict[str, str] = {
    "plot_coef": ".plotting.coef",
    "plot_ranef": ".plotting.ranef",
}

__all__ = sorted([
    "Gamma", "GeneralizedLinearMixedModel", "LinearMixedModel", "LinearModel", "anova", "binomial", "gaussian", "negative_binomial",
    "poisson", "augment", "glance", "glmer", "glmer_nb", "list_datasets", "lm", "lmer",
    "load_dataset", "tidy", *_LAZY,
])


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'lmmplot' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
