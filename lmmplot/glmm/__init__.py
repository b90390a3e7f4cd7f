"""Generalized linear mixed models (lme4's glmer and glmer.nb): families, fitting, display."""
