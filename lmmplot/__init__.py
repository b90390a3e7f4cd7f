"""lmmplot: lme4's linear mixed models in Python, with broom.mixed's tidiers and plotnine figures."""
from .datasets import list_datasets, load_dataset
from .model import LinearMixedModel, lmer
from .tidiers import augment, glance, tidy

__all__ = ["LinearMixedModel", "augment", "glance", "list_datasets", "lmer", "load_dataset", "tidy"]
