"""lmmplot: lme4's linear mixed models in Python, with broom.mixed's tidiers and plotnine figures."""
import sys
import types
from importlib import import_module

# Every public name is loaded on first use (PEP 562), so that `import lmmplot` stays well under
# a second: pandas, scipy, formulaic, numba and plotnine are imported by the first call that needs them.
# public name -> the submodule that defines it
_LAZY: dict[str, str] = {
    "explore": ".explorer",
    "LinearMixedModel": ".model", "lmer": ".model", "lmerControl": ".optimize",
    "LinearModel": ".lm", "lm": ".lm",
    "anova": ".anova",
    "list_datasets": ".datasets", "load_dataset": ".datasets",
    "augment": ".tidiers", "glance": ".tidiers", "tidy": ".tidiers",
    "Gamma": ".glmm.family", "binomial": ".glmm.family", "gaussian": ".glmm.family",
    "negative_binomial": ".glmm.family", "poisson": ".glmm.family",
    "GeneralizedLinearMixedModel": ".glmm.model", "glmer": ".glmm.model", "glmer_nb": ".glmm.model",
    "LmList": ".lmlist", "lmList": ".lmlist",
    "geom_fitted": ".plotting.layers", "geom_no_pooling": ".plotting.layers",
    "geom_population": ".plotting.layers",
    "plot_pooling": ".plotting.pooling",
    "plot_coef": ".plotting.coef",
    "plot_diagnostics": ".plotting.diagnostics",
    "plot_ranef": ".plotting.ranef",
    "plot_shrinkage": ".plotting.shrinkage",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'lmmplot' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package's type: importing a submodule never hides the public name it shares
    (``lmmplot.lm`` and ``lmmplot.anova`` are the functions, not their modules)."""

    def __setattr__(self, name, value):
        if not (name in _LAZY and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
