"""Sphinx configuration: myst-nb renders the notebooks from their stored outputs."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # document this checkout

project = "lmmplot"
author = "the lmmplot authors"
release = version = "0.1.0"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

nb_execution_mode = "off"          # the notebooks' outputs are committed (and checked by nbval)
myst_enable_extensions = ["dollarmath", "colon_fence"]
suppress_warnings = ["mystnb.unknown_mime_type"]  # widget views have no static rendering

autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True

html_theme = "pydata_sphinx_theme"
html_title = "lmmplot"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
