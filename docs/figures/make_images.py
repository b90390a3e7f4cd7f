"""Draw the pictures of the figure pages: run each ``examples/NAME.py``, save its ``plot``.

Usage: python docs/figures/make_images.py [NAME ...]   (by default every example)

The pages show the examples' code (literalinclude) beside ``images/NAME.png``, so code and
picture cannot drift apart; rerun this after changing an example or a figure.
"""
import runpy
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
SIZES = {"pooling": (10, 6), "pooling_glmm": (10, 6), "no_pooling": (10, 6), "fitted": (9, 6), "shrinkage": (7, 6), "diagnostics": (12, 12.9)}

if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.stem for p in (HERE / "examples").glob("*.py"))
    for name in names:
        plot = runpy.run_path(str(HERE / "examples" / f"{name}.py"))["plot"]
        width, height = SIZES.get(name, (6.4, 4.8))
        if hasattr(plot, "figure"):  # plot_diagnostics' checks, composed
            plot = plot.figure(width=width, row_height=height / 3)
            plot.save(HERE / "images" / f"{name}.png", dpi=90)
        else:
            plot.save(HERE / "images" / f"{name}.png", width=width, height=height, dpi=90, verbose=False)
        print(name)
