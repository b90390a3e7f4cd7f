"""Draw a sequence of ggplots that differ only in which line layers they show and where those lines run, fast.

plotnine needs a second or more to draw eighteen facets, and almost all of it goes to what stays
the same when the explorer switches the random-effect structure or the lines shown: the panels,
axes, ticks, strips and points. So a plot is drawn by plotnine in full once, and the canvas keeps
a copy of everything but its labelled line layers (the layers whose frame has a single
``.label``, as lmmplot.plotting's line layers have) and its legends. A later plot that shows some
of those layers, in the same order and with the same everything else (their ``.fitted`` heights
may differ), is drawn on that copy: the lines it shows, then the legends without the entries and
keys of the layers it hides, placed where plotnine places them (matplotlib's blitting). That is
only done while the axes cannot move: the y axis is held by the plot (``coord_cartesian(ylim=...)``)
or every line is within the range of the other layers (always so in x when a line is hidden),
and every legend keeps its width (the panels' layout depends on it) and at least one entry.
Anything else is drawn by plotnine in full again.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from matplotlib.offsetbox import DrawingArea, OffsetBox, TextArea
from PIL import Image
from plotnine import theme

FITTED, LABEL = ".fitted", ".label"  # heights and names of lmmplot.plotting's line frames


@dataclass
class _Legend:
    """One box of legends beside the panels, as drawn, and what of it belongs to which label."""

    box: OffsetBox
    justification: float  # where along the side plotnine centres it: 0 bottom, 1 top
    anchor: tuple[float, float]  # its anchor point in pixels, as plotnine placed it
    width: float
    height: float
    entries: list[tuple[OffsetBox, str]] = field(default_factory=list)  # a key and its text, by label
    keys: list[tuple[object, str]] = field(default_factory=list)  # a labelled layer's artist in a key
    widths: dict[frozenset, float] = field(default_factory=dict)  # by the labels shown
    images: dict[frozenset, object] = field(default_factory=dict)  # its pixels drawn, by the labels shown


class Canvas:
    """PNG images of plots drawn at ``width`` × ``height`` inches and ``dpi``.

    :meth:`render` returns the image of a plot as plotnine draws it; successive plots that only
    hide some labelled line layers of the one drawn in full, or move their heights, cost a few
    hundredths of a second instead of a full draw (:meth:`can_render` says which). ``labels``
    are the labelled layers drawn in full, ``full_draws`` counts the full draws.
    """

    def __init__(self, width: float, height: float, dpi: int):
        self.size = theme(figure_size=(width, height), dpi=dpi)
        self.full_draws = 0
        self.labels: tuple[str, ...] = ()
        self._base = None  # the plot drawn in full
        self._drawn = None  # plotnine's built copy of it
        self._canvas = None
        self._layers: dict[int, str] = {}  # the labelled layers' indices in them, and labels
        self._lines: dict[int, list[tuple[Line2D, np.ndarray | None]]] = {}  # their artists and rows
        self._movable: set[int] = set()  # the layers whose lines may move
        self._legends: list[_Legend] = []
        self._background = None  # the drawing without those lines and legends
        self._redraws = False  # whether the drawing's lines and legends could be told apart

    def render(self, plot) -> bytes:
        """The plot as PNG bytes (``plot`` itself is left as it was)."""
        if not self.can_render(plot):
            self.draw(plot)
        shown = _labelled(plot)
        self._canvas.restore_region(self._background)
        for i, label in self._layers.items():
            if label in shown:
                heights = shown[label][FITTED].to_numpy(float)
                for artist, rows in self._lines[i]:
                    if rows is not None:
                        artist.set_ydata(heights[rows])
                    artist.axes.draw_artist(artist)
        for legend in self._legends:
            self._draw_legend(legend, frozenset(shown))
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(self._canvas.buffer_rgba())).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def draw(self, plot) -> None:
        """Draw ``plot`` in full and keep a copy of everything but its labelled lines and legends."""
        drawn = plot + self.size  # a copy: drawing it leaves the caller's plot untouched
        figure = drawn.draw()
        self._canvas = canvas = FigureCanvasAgg(figure)
        figure.get_layout_engine().execute(figure)  # plotnine places panels and legends ...
        figure.set_layout_engine("none")  # ... once: hiding the legends below must not move them
        self._base, self._drawn = plot, drawn
        self._layers = {i: label for i, label in enumerate(_layer_labels(plot)) if label is not None}
        self._lines = {i: self._find_lines(i) for i in self._layers}
        self._legends = self._find_legends()
        self._redraws = not (any(lines is None for lines in self._lines.values()) or self._legends is None)
        if not self._redraws:
            self._layers, self._lines, self._legends = {}, {}, []
        self._movable = {i for i, lines in self._lines.items() if lines and lines[0][1] is not None}
        self.labels = tuple(self._layers.values())
        for lines in self._lines.values():
            for artist, _ in lines:
                artist.set_visible(False)
        for legend in self._legends:
            legend.box.set_visible(False)
        canvas.draw()
        self._background = canvas.copy_from_bbox(figure.bbox)
        for lines in self._lines.values():
            for artist, _ in lines:
                artist.set_visible(True)
        for legend in self._legends:
            legend.box.set_visible(True)
        self.full_draws += 1

    def can_render(self, plot) -> bool:
        """Whether :meth:`render` draws ``plot`` on the copy kept, without a full draw."""
        base = self._base
        if base is None or not self._redraws or not _same(plot.data, base.data) \
                or plot.mapping != base.mapping or plot.theme != base.theme or plot.labels != base.labels \
                or type(plot.facet) is not type(base.facet) \
                or getattr(plot.facet, "vars", None) != getattr(base.facet, "vars", None) \
                or _coordinates(plot) != _coordinates(base):
            return False
        labels = _layer_labels(plot)
        shown = [label for label in labels if label is not None]
        if len(set(shown)) != len(shown) or not _compatible_scales(plot, base, shown, self.labels):
            return False
        # the plot's layers: the base's, less some labelled ones, in the same order
        kept = [i for i, label in self._layers.items() if label in shown]
        others = [i for i in range(len(base.layers)) if i not in self._layers]
        if [self._layers[i] for i in kept] != shown or len(plot.layers) != len(others) + len(kept):
            return False
        matched = iter(plot.layers)
        for i in sorted(others + kept):
            new, old = next(matched), base.layers[i]
            if type(new.geom) is not type(old.geom) or new.mapping != old.mapping:
                return False
            if i in self._movable:
                if new._data is None or FITTED not in new._data or len(new._data) != len(old._data) or \
                        not _same(new._data.drop(columns=FITTED), old._data.drop(columns=FITTED)):
                    return False
            elif not _same(new._data, old._data):
                return False
        if not self._axes_hold(plot, kept):
            return False
        shown = frozenset(_labelled(plot))
        return all(self._width(legend, shown) == legend.width for legend in self._legends)

    def layout(self, labels) -> tuple | None:
        """The legends' widths when only the labelled layers ``labels`` are shown (plots with the
        same widths have the same layout), or None when a legend would be left empty."""
        widths = [self._width(legend, frozenset(labels)) for legend in self._legends]
        return tuple(widths) if all(widths) else None

    def _axes_hold(self, plot, kept: list[int]) -> bool:
        """Whether the axes of ``plot`` are the drawing's: in y held, or every line (as drawn and
        as it would be) within the range of the other layers; in x as well when a line is hidden."""
        built, shown = self._drawn.layers, _labelled(plot)
        static = [k for k in range(len(built)) if k not in self._layers]
        checks = []
        if len(kept) < len(self._layers):
            checks.append(("x", [built[i].data["x"] for i in self._layers]))
        if _coordinates(plot)[1].get("y") is None:
            checks.append(("y", [built[i].data["y"] for i in self._layers]
                           + [shown[self._layers[i]][FITTED] for i in kept]))
        for axis, lines in checks:
            rest = [built[k].data[axis].to_numpy(float) for k in static if axis in built[k].data]
            if not rest:
                return False
            rest = np.concatenate(rest)
            low, high = np.nanmin(rest), np.nanmax(rest)
            if any(len(v) and not (low <= np.nanmin(v) and np.nanmax(v) <= high) for v in lines):
                return False
        return True

    def _width(self, legend: _Legend, shown: frozenset) -> float:
        """The legend's width with the entries of the labels ``shown``, or 0 when it has none."""
        if shown not in legend.widths:
            legend.widths[shown] = self._show_entries(legend, shown)
        return legend.widths[shown]

    def _draw_legend(self, legend: _Legend, shown: frozenset) -> None:
        """Draw the legend with the entries of the labels ``shown``, where plotnine would place
        it (its pixels are kept: they are the same for the same labels)."""
        if shown in legend.images:
            self._canvas.restore_region(legend.images[shown])
            return
        x, y = legend.anchor
        legend.box.set_bbox_to_anchor((x, y + (legend.height - self._show_entries(legend, shown, "height"))
                                       * legend.justification))  # matplotlib's rel_position, as plotnine
        self._canvas.figure.draw_artist(legend.box)
        extent = legend.box.get_window_extent(self._canvas.get_renderer()).padded(2)  # and antialiasing
        legend.images[shown] = self._canvas.copy_from_bbox(extent)

    def _show_entries(self, legend: _Legend, shown: frozenset, size: str = "width") -> float:
        """Show the legend's entries and keys of the labels ``shown``; its width (or height) then,
        0 when it has no entries left."""
        visible = 0
        for entry, label in legend.entries:
            entry.set_visible(label in shown)
            visible += label in shown
        for artist, label in legend.keys:
            artist.set_visible(label in shown)
        if legend.entries and not visible:
            return 0.0
        extent = legend.box.get_window_extent(self._canvas.get_renderer())
        return float(extent.width if size == "width" else extent.height)

    def _find_lines(self, i: int) -> list[tuple[Line2D, np.ndarray | None]] | None:
        """Layer ``i``'s matplotlib lines in the drawing, each with the rows of the layer's frame it
        draws (None for all when a row is drawn in more than one panel: these lines cannot move);
        None unless every line is found and draws exactly its rows."""
        layer = self._drawn.layers[i]
        built, frame = layer.data, self._base.layers[i]._data
        movable = len(built) == len(frame) and np.array_equal(built["y"].to_numpy(float),
                                                              frame[FITTED].to_numpy(float))
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
                found.append((artist, rows if movable else None))
        return found

    def _find_legends(self) -> list[_Legend] | None:
        """The legend boxes beside the panels, each entry of a legend of the labels and each key
        artist of a labelled layer tied to its label; None when a legend is elsewhere or a key's
        artists cannot be told apart."""
        drawn = self._drawn
        placed = getattr(drawn.theme.targets, "legends", None)
        if placed is None:
            return []
        if placed.top or placed.bottom or placed.inside:
            return None  # their height is part of the layout
        guides = {id(guide): guide for _, guide in getattr(drawn.guides, "_lookup", {}).values()}
        layer_label = {id(layer): self._layers.get(i) for i, layer in enumerate(drawn.layers)}
        renderer = self._canvas.get_renderer()
        legends = []
        for side in (placed.right, placed.left):
            if side is None:
                continue
            extent, anchor = side.box.get_window_extent(renderer), side.box.get_bbox_to_anchor()
            legend = _Legend(side.box, float(side.justification), (anchor.x0, anchor.y0), extent.width, extent.height)
            for title, entries in _legend_boxes(side.box):
                texts = [label for _, _, label in entries]
                # the guides drawn as this legend (one per aesthetic, merged into the first
                # when titles and labels agree)
                layers = {tuple(id(p.layer) for p in g._layer_parameters) for g in guides.values()
                          if g.title == title and list(g.key["label"]) == texts and g._layer_parameters}
                if len(layers) != 1:
                    return None
                (layers,) = layers
                for entry, key, label in entries:
                    artists = key.get_children()[1:]  # after the key's background
                    if len(artists) != len(layers):
                        return None
                    legend.keys += [(a, layer_label[layer]) for a, layer in zip(artists, layers)
                                    if layer_label.get(layer) is not None]
                if set(texts) == set(self._layers.values()):  # the legend of the labelled layers
                    legend.entries += [(entry, label) for entry, _, label in entries]
            legends.append(legend)
        return legends


def _legend_boxes(box: OffsetBox) -> list[tuple[str, list[tuple[OffsetBox, DrawingArea, str]]]]:
    """Each legend in a box of legends: its title and entries (the entry, its key, its label)."""
    found = []
    children = box.get_children()
    if children and isinstance(children[0], TextArea) and len(children) == 2:
        entries = _entries(children[1])
        if entries:
            return [(children[0].get_text(), entries)]
    for child in children:
        if not isinstance(child, (TextArea, DrawingArea)):
            found += _legend_boxes(child)
    return found


def _entries(box: OffsetBox) -> list[tuple[OffsetBox, DrawingArea, str]]:
    children = box.get_children()
    keys = [c for c in children if isinstance(c, DrawingArea)]
    texts = [c for c in children if isinstance(c, TextArea)]
    if len(children) == 2 and len(keys) == 1 and len(texts) == 1:
        return [(box, keys[0], texts[0].get_text())]
    if any(isinstance(c, (TextArea, DrawingArea)) for c in children):
        return []
    return [entry for child in children for entry in _entries(child)]


def _layer_labels(plot) -> list[str | None]:
    """Each layer's label: the one ``.label`` of its frame, or None."""
    labels = []
    for layer in plot.layers:
        data = layer._data
        values = data[LABEL].unique() if isinstance(data, pd.DataFrame) and LABEL in data and len(data) else ()
        labels.append(str(values[0]) if len(values) == 1 else None)
    return labels


def _labelled(plot) -> dict[str, pd.DataFrame]:
    """The frames of the plot's labelled layers, by label."""
    return {label: layer._data for label, layer in zip(_layer_labels(plot), plot.layers) if label is not None}


def _compatible_scales(plot, base, shown: list[str], drawn: tuple[str, ...]) -> bool:
    """Whether the plot's scales are the base's, but for discrete limits cut down from the labels
    drawn to the labels shown (with the same values for those)."""
    if len(plot.scales) != len(base.scales):
        return False
    for new, old in zip(plot.scales, base.scales):
        if type(new) is not type(old) or new.aesthetics != old.aesthetics or new.name != old.name:
            return False
        if new.limits == old.limits and _values(new) == _values(old):
            continue
        if list(new.limits or ()) != shown or list(old.limits or ()) != list(drawn):
            return False
        values, drawn_values = _values(new), _values(old)
        if values is None or drawn_values is None or any(drawn_values.get(k) != v for k, v in values.items()):
            return False
    return True


def _values(scale) -> dict | None:
    """What a discrete scale with listed limits maps each of them to; None for other scales."""
    if not isinstance(scale.limits, (list, tuple)) or not hasattr(scale, "palette"):
        return None
    try:
        values = scale.palette(len(scale.limits))
    except Exception:
        return None
    values = [values[k] for k in scale.limits] if isinstance(values, dict) else list(values)
    return dict(zip(scale.limits, values))


def _coordinates(plot) -> tuple:
    """The plot's coordinate system and the limits it holds the axes at."""
    coord = plot.coordinates
    limits = getattr(coord, "limits", None)
    return type(coord), dict(vars(limits)) if limits is not None else {}, getattr(coord, "expand", None)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame) and (a is b or a.equals(b))
