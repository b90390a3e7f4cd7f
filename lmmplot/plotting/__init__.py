"""plotnine layers and one-call figures for fitted models.

Everything here reads the models' public accessors only (``predict``, ``fixef``, ``ranef``,
``coef``, ``vcov``, ``VarCorr``, ``fitted``, ``residuals`` ...) and returns plotnine objects:
layers that compose with ``+`` and ggplots that can be extended and themed.
"""
