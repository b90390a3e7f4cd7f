"""Draw a sequence of ggplots that differ only in one line layer's heights, fast.

plotnine needs a second or more to draw eighteen facets, and almost all of it goes to what stays
the same when the explorer switches the random-effect structure: the panels, axes, ticks,
strips, points, the complete- and no-pooling lines and the legend. Only the partial-pooling
lines move. So a plot is drawn by plotnine in full, with the moving layer's lines drawn last
over a saved copy of everything else; a later plot that differs from it only in that layer's
``.fitted`` column, within the same y range, is drawn by restoring the copy and drawing those
lines alone with their new heights (matplotlib's blitting). The y axis stays put when the plot
fixes it (``coord_cartesian(ylim=...)``, lines beyond it clipped) or when the new heights stay
within the range of the rest. Anything else (another layer changed, the y range moved, a layer
that is not one matplotlib line per group) is drawn by plotnine in full again.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from PIL import Image
from plotnine import geom_line, theme

FITTED, LABEL = ".fitted", ".label"  # heights and names of lmmplot.plotting's line frames


class Canvas:
    """PNG images of plots drawn at ``width`` × ``height`` inches and ``dpi``.

    :meth:`render` returns the image of a plot as plotnine draws it; successive plots that change
    only the heights of the line layer labelled ``moving`` cost a few hundredths of a second
    instead of a full draw. ``full_draws`` counts the full draws.
    """

    def __init__(self, width: float, height: float, dpi: int, moving: str | None = None):
        self.size = theme(figure_size=(width, height), dpi=dpi)
        self.moving = moving
        self.full_draws = 0
        self._base = None  # the plot last drawn
        self._drawn = None  # plotnine's built copy of the one last drawn in full
        self._canvas = None
        self._layer: int | None = None  # the moving layer's index in them
        self._lines: list[tuple[Line2D, np.ndarray]] = []  # its artists and the rows each draws
        self._background = None  # the drawing without them

    def render(self, plot) -> bytes:
        """The plot as PNG bytes (``plot`` itself is left as it was)."""
        if self._only_heights_moved(plot):
            self._base = plot
        else:
            self._draw(plot)
        self._canvas.restore_region(self._background)
        heights = plot.layers[self._layer]._data[FITTED].to_numpy(float) if self._lines else None
        for artist, rows in self._lines:
            artist.set_ydata(heights[rows])
            artist.set_visible(True)
            artist.axes.draw_artist(artist)
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(self._canvas.buffer_rgba())).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def _draw(self, plot) -> None:
        """Draw in full, keeping a copy of everything but the moving lines."""
        drawn = plot + self.size  # a copy: drawing it leaves the caller's plot untouched
        self._canvas = FigureCanvasAgg(drawn.draw())
        self._base, self._drawn = plot, drawn
        labelled = [i for i, layer in enumerate(plot.layers) if self.moving is not None
                    and layer._data is not None and LABEL in layer._data
                    and (layer._data[LABEL] == self.moving).all()]
        self._layer = labelled[0] if len(labelled) == 1 else None
        self._lines = self._find_lines(self._layer) if self._layer is not None else []
        for artist, _ in self._lines:
            artist.set_visible(False)
        self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(self._canvas.figure.bbox)
        self.full_draws += 1

    def _only_heights_moved(self, plot) -> bool:
        """Whether ``plot`` differs from the last one only in the moving lines' heights, and those
        stay within the y range of the rest (so the axes do not change)."""
        base, i = self._base, self._layer
        if base is None or not self._lines or len(plot.layers) != len(base.layers) \
                or not _same(plot.data, base.data) or plot.mapping != base.mapping \
                or plot.theme != base.theme or plot.labels != base.labels \
                or type(plot.facet) is not type(base.facet) \
                or getattr(plot.facet, "vars", None) != getattr(base.facet, "vars", None) \
                or _coordinates(plot) != _coordinates(base):
            return False
        for k, (new, old) in enumerate(zip(plot.layers, base.layers)):
            if type(new.geom) is not type(old.geom) or new.mapping != old.mapping:
                return False
            if k != i and not _same(new._data, old._data):
                return False
        new, old = plot.layers[i]._data, base.layers[i]._data
        if new is None or FITTED not in new or not _same(new.drop(columns=FITTED), old.drop(columns=FITTED)):
            return False
        if _coordinates(plot)[1].get("y") is not None:
            return True  # the y axis is held: it cannot move
        heights, drawn = new[FITTED].to_numpy(float), self._drawn.layers[i].data["y"].to_numpy(float)
        lo, hi = self._static_range()
        # the y scale is trained by the other layers alone, then and now: it has not moved
        return bool(lo <= heights.min() and heights.max() <= hi and lo <= drawn.min() and drawn.max() <= hi)

    def _static_range(self) -> tuple[float, float]:
        """The y range of the fully drawn plot's layers other than the moving one (built data)."""
        values = [layer.data["y"].to_numpy(float) for k, layer in enumerate(self._drawn.layers)
                  if k != self._layer and "y" in layer.data]
        values = np.concatenate(values) if values else np.array([np.inf, -np.inf])
        return float(np.nanmin(values)), float(np.nanmax(values))

    def _find_lines(self, i: int) -> list[tuple[Line2D, np.ndarray]]:
        """Layer ``i``'s matplotlib lines in the drawing, each with the rows of the layer's frame it
        draws; none unless every line is found and draws exactly those rows."""
        layer = self._drawn.layers[i]
        built, frame = layer.data, self._base.layers[i]._data
        if len(built) != len(frame) or not np.array_equal(built["y"].to_numpy(float),
                                                           frame[FITTED].to_numpy(float)):
            return []  # rows repeated across panels, or reordered: no row-to-line map
        found = []
        for panel, ax in enumerate(self._drawn.axs, start=1):
            artists = [a for a in ax.get_children() if isinstance(a, Line2D) and a.zorder == layer.zorder]
            in_panel = built["PANEL"].to_numpy() == panel
            groups = np.unique(built.loc[in_panel, "group"])
            if len(artists) != len(groups):
                return []
            for group, artist in zip(groups, artists):  # plotnine draws the groups in order
                rows = np.flatnonzero(in_panel & (built["group"].to_numpy() == group))
                if not (np.array_equal(artist.get_xdata(), built["x"].to_numpy(float)[rows])
                        and np.array_equal(artist.get_ydata(), built["y"].to_numpy(float)[rows])):
                    return []
                found.append((artist, rows))
        return found


def _coordinates(plot) -> tuple:
    """The plot's coordinate system and the limits it holds the axes at."""
    coord = plot.coordinates
    limits = getattr(coord, "limits", None)
    return type(coord), dict(vars(limits)) if limits is not None else {}, getattr(coord, "expand", None)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame) and (a is b or a.equals(b))
