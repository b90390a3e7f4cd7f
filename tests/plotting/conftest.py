"""Image-baseline tests, plotnine's way: a fixed size, dpi and font, a small RMS tolerance.

``figure_matches(plot, "name")`` saves ``plot`` at 640 × 480 pixels (72 dpi) and compares it
with ``tests/plotting/baseline/name.png`` (RMS tolerance 2, matplotlib's
``compare_images``). Where the baseline is missing, or with ``LMMPLOT_UPDATE_BASELINES=1``,
it is written from the plot and the test fails, so that a new baseline is always looked at
before it is committed. Results land in ``tests/plotting/result_images/`` (not committed).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402

HERE = Path(__file__).parent
BASELINE = HERE / "baseline"
RESULTS = HERE / "result_images"
WIDTH, HEIGHT, DPI = 640 / 72, 480 / 72, 72
TOLERANCE = 2


def _save(plot, path: Path) -> None:

    # one font everywhere: DejaVu Sans ships with matplotlib, so text metrics are the same
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "svg.hashsalt": "lmmplot"}):
        plot.save(path, width=WIDTH, height=HEIGHT, dpi=DPI, verbose=False)


@pytest.fixture
def figure_matches():
    """Compare a ggplot with its committed baseline image; True when they match."""

    def check(plot, name: str) -> bool:
        RESULTS.mkdir(exist_ok=True)
        result = RESULTS / f"{name}.png"
        _save(plot, result)
        baseline = BASELINE / f"{name}.png"
        if os.environ.get("LMMPLOT_UPDATE_BASELINES") or not baseline.exists():
            BASELINE.mkdir(exist_ok=True)
            shutil.copyfile(result, baseline)
            pytest.fail(f"baseline {baseline.name} written from the plot: look at it, then commit it")
        diff = compare_images(str(baseline), str(result), tol=TOLERANCE)
        if diff is not None:
            pytest.fail(diff)
        return True

    return check
