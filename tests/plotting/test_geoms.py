"""lmmplot's numpy geoms draw what plotnine's geom_line and geom_point draw, and drop the same rows."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.testing.compare import compare_images
from plotnine import aes, facet_wrap, geom_line, geom_point, ggplot

from lmmplot.plotting.geoms import geom_lines, geom_points

from .conftest import _save


def _handled(geom, data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = geom.handle_na(data.copy())
    return out, [str(w.message) for w in caught]


@pytest.mark.parametrize("seed", range(4))
def test_missing_values_dropped_as_geom_line_drops_them(seed):
    rng = np.random.default_rng(seed)
    for _ in range(100):
        n = int(rng.integers(2, 12))
        data = pd.DataFrame({c: rng.normal(size=n) for c in ("x", "y", "size")})
        data["color"] = np.array(["black"] * n, dtype=object)
        data["linetype"] = np.array(["solid"] * n, dtype=object)
        for column in data.columns:  # some missing anywhere, sometimes a whole column
            data.loc[rng.random(n) < 0.25, column] = None if data[column].dtype == object else np.nan
        ours, ours_warned = _handled(geom_lines(), data)
        theirs, theirs_warned = _handled(geom_line(), data)
        pd.testing.assert_frame_equal(ours, theirs)
        assert ours_warned == theirs_warned


def test_lines_and_points_look_as_plotnines(tmp_path):
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"x": np.tile(np.arange(8.0), 6), "y": rng.normal(size=48).cumsum(),
                         "g": np.repeat(list("abcdef"), 8), "panel": np.repeat(["left", "right"], 24)})
    data.loc[[10, 30], "y"] = np.nan  # gaps inside two lines
    images = []
    for line, point in ((geom_line, geom_point), (geom_lines, geom_points)):
        plot = (ggplot(data, aes("x", "y", colour="g", group="g")) + line(size=1, linetype="dashed")
                + point(alpha=0.6) + facet_wrap("panel"))
        images.append(tmp_path / f"{line.__name__}.png")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # both warn of the missing values
            _save(plot, images[-1])
    assert compare_images(str(images[0]), str(images[1]), tol=0.5) is None
