"""The package namespace: light to import, every public name loadable, functions not hidden by modules."""
import subprocess
import sys
import types

import lmmplot as lp

HEAVY = ("pandas", "scipy", "numba", "formulaic", "plotnine", "matplotlib")


def test_import_loads_no_heavy_dependency():
    code = "import sys, lmmplot; print(' '.join(m for m in sys.modules if m.split('.')[0] in %r))" % (HEAVY,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []


def test_every_public_name_loads():
    for name in lp.__all__:
        assert getattr(lp, name) is not None, name


def test_functions_named_like_their_modules_stay_functions():
    import lmmplot.anova  # noqa: F401  (binding a submodule must not replace the function)
    import lmmplot.lm  # noqa: F401
    from lmmplot.anova import anova_table  # noqa: F401
    assert isinstance(lp.lm, types.FunctionType) and lp.lm.__module__ == "lmmplot.lm"
    assert isinstance(lp.anova, types.FunctionType) and lp.anova.__module__ == "lmmplot.anova"
