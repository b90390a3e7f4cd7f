"""Draw a sequence of ggplots that differ only in one line layer's heights, fast.

plotnine needs about a second to draw eighteen facets, and almost all of it goes to what stays
the same when the explorer switches the random-effect structure: the panels, axes, ticks,
strips, points, the complete- and no-pooling lines and the legend. Only the partial-pooling
lines move. So the first plot is drawn by plotnine in full; a later plot that differs from it
only in the ``.fitted`` column of one ``geom_line`` layer, within the same y range, is drawn by
restoring the full drawing without that layer's lines and drawing those lines alone with their
new heights (matplotlib's blitting). Anything else (another layer changed, the y range moved, a
layer that is not one matplotlib line per group) is drawn by plotnine in full again.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from PIL import Image
from plotnine import geom_line, theme

FITTED = ".fitted"  # the column of heights (lmmplot.plotting's prediction frames)


class Canvas:
    """PNG images of plots drawn at ``width`` × ``height`` inches and ``dpi``.

    :meth:`render` returns the image of a plot exactly as plotnine draws it; successive plots that
    change only the heights of one line layer cost a few hundredths of a second instead of a full
    draw. ``full_draws`` counts the full draws.
    """

    def __init__(self, width: float, height: float, dpi: int):
        self.size = theme(figure_size=(width, height), dpi=dpi)
        self.full_draws = 0
        self._base = None  # the plot last drawn in full
        self._drawn = None  # plotnine's built copy of it
        self._canvas = None
        self._moving: int | None = None  # the layer redrawn alone since the last full draw
        self._lines: list[tuple[Line2D, np.ndarray]] | None = None  # its artists and their rows
        self._background = None  # the drawing without them

    def render(self, plot) -> bytes:
        """The plot as PNG bytes (``plot`` itself is left as it was)."""
        changed = self._changed_layer(plot)
        if changed is not None and self._redraw_lines(changed, plot):
            return self._png()
        return self._draw(plot)

    # ------------------------------------------------------------- full draw
    def _draw(self, plot) -> bytes:
        drawn = plot + self.size  # a copy: drawing it leaves the caller's plot untouched
        figure = drawn.draw()
        self._canvas = FigureCanvasAgg(figure)
        self._canvas.draw()
        self._base, self._drawn = plot, drawn
        self._moving = self._lines = self._background = None
        self.full_draws += 1
        return self._png()

    def _png(self) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(self._canvas.buffer_rgba())).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    # ------------------------------------------------------------- fast path
    def _changed_layer(self, plot) -> int | None:
        """The one line layer whose heights alone differ from the base plot's, if that is all."""
        base = self._base
        if base is None or len(plot.layers) != len(base.layers) or not _same(plot.data, base.data) \
                or plot.mapping != base.mapping or plot.theme != base.theme or plot.labels != base.labels \
                or type(plot.facet) is not type(base.facet) \
                or getattr(plot.facet, "vars", None) != getattr(base.facet, "vars", None):
            return None
        changed = []
        for i, (new, old) in enumerate(zip(plot.layers, base.layers)):
            if type(new.geom) is not type(old.geom) or new.mapping != old.mapping:
                return None
            if _same(new._data, old._data):
                continue
            if not isinstance(new.geom, geom_line) or FITTED not in new._data or \
                    not _same(new._data.drop(columns=FITTED), old._data.drop(columns=FITTED)):
                return None
            changed.append(i)
        if len(changed) != 1 or self._moving not in (None, changed[0]):
            return None
        i = changed[0]
        heights = plot.layers[i]._data[FITTED].to_numpy(float)
        lo, hi = self._static_range(i)
        old = base.layers[i]._data[FITTED].to_numpy(float)
        # the y scale is trained by the other layers alone, before and after: it does not move
        if not (lo <= heights.min() and heights.max() <= hi and lo <= old.min() and old.max() <= hi):
            return None
        return i

    def _static_range(self, skip: int) -> tuple[float, float]:
        """The y range of the base plot's layers other than ``skip`` (their built data)."""
        values = [layer.data["y"].to_numpy(float) for k, layer in enumerate(self._drawn.layers)
                  if k != skip and "y" in layer.data]
        values = np.concatenate(values) if values else np.array([np.inf, -np.inf])
        return float(np.nanmin(values)), float(np.nanmax(values))

    def _redraw_lines(self, i: int, plot) -> bool:
        """Draw layer ``i`` of ``plot`` over the base drawing without it; False where that cannot be."""
        if self._moving is None:
            self._lines = self._find_lines(i)
            if self._lines is None:
                return False
            for artist, _ in self._lines:
                artist.set_visible(False)
            self._canvas.draw()
            self._background = self._canvas.copy_from_bbox(self._canvas.figure.bbox)
            self._moving = i
        heights = plot.layers[i]._data[FITTED].to_numpy(float)
        self._canvas.restore_region(self._background)
        for artist, rows in self._lines:
            artist.set_ydata(heights[rows])
            artist.set_visible(True)
            artist.axes.draw_artist(artist)
        self._base = plot
        return True

    def _find_lines(self, i: int) -> list[tuple[Line2D, np.ndarray]] | None:
        """Layer ``i``'s matplotlib lines in the base drawing, each with the rows of the layer's
        frame it draws; None unless every line is found and draws exactly those rows."""
        layer = self._drawn.layers[i]
        built, frame = layer.data, self._base.layers[i]._data
        if len(built) != len(frame) or not np.array_equal(built["y"].to_numpy(float),
                                                           frame[FITTED].to_numpy(float)):
            return None  # rows repeated across panels, or reordered: no row-to-line map
        found = []
        for panel, ax in enumerate(self._drawn.axs, start=1):
            artists = [a for a in ax.get_children() if isinstance(a, Line2D) and a.zorder == layer.zorder]
            in_panel = built["PANEL"].to_numpy() == panel
            groups = np.unique(built.loc[in_panel, "group"])
            if len(artists) != len(groups):
                return None
            for group, artist in zip(groups, artists):  # plotnine draws the groups in order
                rows = np.flatnonzero(in_panel & (built["group"].to_numpy() == group))
                if not (np.array_equal(artist.get_xdata(), built["x"].to_numpy(float)[rows])
                        and np.array_equal(artist.get_ydata(), built["y"].to_numpy(float)[rows])):
                    return None
                found.append((artist, rows))
        return found


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame) and (a is b or a.equals(b))
