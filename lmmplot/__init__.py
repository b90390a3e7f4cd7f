"""lmmplot: lme4's linear mixed models in Python, with broom.mixed's tidiers and plotnine figures."""
from .anova import anova
from .datasets import list_datasets, load_dataset
from .lm import LinearModel, lm
from .model import LinearMixedModel, lmer
from .tidiers import augment, glance, tidy

__all__ = [
    "LinearMixedModel", "LinearModel", "anova", "augment", "glance", "list_datasets", "lm", "lmer",
    "load_dataset", "tidy",
]
