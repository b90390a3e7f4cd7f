"""lmmplot: lme4's linear mixed models in Python, with broom.mixed's tidiers and plotnine figures."""
from importlib import import_module

from .anova import anova
from .datasets import list_datasets, load_dataset
from .lm import LinearModel, lm
from .lmlist import LmList, lmList
from .model import LinearMixedModel, lmer
from .tidiers import augment, glance, tidy

# Names loaded on first use (PEP 562): figures import plotnine only when one is asked for.
# public name -> the submodule that defines it
_LAZY: dict[str, str] = {
    "explore": ".explorer",
    "geom_fitted": ".plotting.layers",
    "geom_no_pooling": ".plotting.layers",
    "geom_population": ".plotting.layers",
    "plot_pooling": ".plotting.pooling",
    "plot_coef": ".plotting.coef",
    "plot_ranef": ".plotting.ranef",
}

__all__ = sorted([
    "LinearMixedModel", "LinearModel", "LmList", "anova", "augment", "glance", "list_datasets", "lm",
    "lmList", "lmer",
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
