"""Faster plotnine pieces for the model layers: lines and points drawn from numpy, a lean legend.

plotnine's ``geom_path`` draws each group (each line) through a pandas group-by and a coordinate
transform per group, and its stat splits the frame by panel: in a faceted figure with a few model
layers that is most of ``ggplot.draw()``. :class:`geom_lines` draws the same Line2D artists, one
per line with its own colour, width, linetype and alpha, from numpy arrays; its stat,
:class:`stat_frame`, passes the frame through whole. :class:`geom_points` draws geom_point's
scatter per panel likewise. :class:`guide_lean_legend` is a legend that
does not theme every panel's axes a second time, and :func:`ggplot_of` a plot built without a
copy per part.
"""
from __future__ import annotations

from warnings import warn

import numpy as np
import pandas as pd
from plotnine import coord_cartesian, geom_line, geom_point, ggplot, guide_legend, stat_identity
from plotnine._utils import SIZE_FACTOR, remove_missing, to_rgba
from plotnine.exceptions import PlotnineWarning
from plotnine.scales.scale_shape import FILLED_SHAPES

_STYLE = ("color", "size", "linetype", "alpha")  # what a line may not vary along itself
_MPL = {"square": "projecting", "mitre": "miter"}  # R's line end and join names in matplotlib's


def ggplot_of(data, mapping, *parts, cls=ggplot):
    """``cls(data, mapping) + parts[0] + parts[1] ...``, the parts added in place (plotnine's
    ``+`` copies the whole plot, its theme most, for each part); ``None`` parts are skipped."""
    plot = cls(data, mapping)
    plot += [part for part in parts if part is not None]
    return plot


class stat_frame(stat_identity):
    """``stat_identity`` without its per-panel split: the layer's data as they are, less the rows
    missing a required aesthetic (as every stat drops them)."""

    def compute_layer(self, data, layout):
        data = remove_missing(data, na_rm=self.params.get("na_rm", False),
                              vars=list(self.REQUIRED_AES | self.NON_MISSING_AES),
                              name=type(self).__name__, finite=True)
        return data.reset_index(drop=True)


class geom_lines(geom_line):
    """``geom_line`` drawing a layer's lines from numpy arrays, as geom_line draws them.

    All panels in one pass (plotnine splits the frame per panel, then per line). Falls back to
    ``geom_line``'s drawing where it must (arrows, a coordinate system other than
    ``coord_cartesian``, an aesthetic that changes along a line, groups of one point only).
    """

    DEFAULT_PARAMS = {**geom_line.DEFAULT_PARAMS, "stat": stat_frame}

    def handle_na(self, data):
        """As geom_path: drop the rows before each aesthetic's first value and after its last
        (missing values inside a line break it); one pass over numpy, not a Python loop a row."""
        keep = np.ones(len(data), bool)
        for missing in data[["x", "y", "size", "color", "linetype"]].isna().to_numpy().T:
            present = np.flatnonzero(~missing)
            first, last = (present[0], present[-1] + 1) if len(present) else (1, len(data) - 1)
            keep[:first] = keep[last:] = False
        if not keep.all() and not self.params["na_rm"]:
            warn(f"geom_path: Removed {len(data) - keep.sum()} rows containing missing values.", PlotnineWarning)
        return data[keep].reset_index(drop=True)

    def draw_layer(self, data, layout, coord):
        from matplotlib.lines import Line2D

        if self.params.get("arrow") or type(coord) is not coord_cartesian or not set(_STYLE) <= set(data.columns):
            return super().draw_layer(data, layout, coord)
        panel, order = _panel_order(data, data["group"].to_numpy())
        group = data["group"].to_numpy()[order]
        inner = (group[1:] == group[:-1]) & (panel[1:] == panel[:-1])  # consecutive points of one line
        starts = np.flatnonzero(np.r_[True, ~inner])
        stops = np.r_[starts[1:], len(group)]
        style = {c: data[c].to_numpy()[order] for c in _STYLE}
        if not (stops - starts >= 2).any() or any((inner & (v[1:] != v[:-1])).any() for v in style.values()):
            return super().draw_layer(data, layout, coord)
        x, y = _squished(data, order, panel, layout)
        end = _MPL.get(self.params["lineend"], self.params["lineend"])
        join = _MPL.get(self.params["linejoin"], self.params["linejoin"])
        for start, stop in zip(starts, stops):
            if stop - start < 2:  # as geom_path: a line needs two points
                continue
            linetype = style["linetype"][start]
            # as plotnine: the end and join styles apply to solid and dashed lines
            ends = {"solid": {"solid_joinstyle": join, "solid_capstyle": end},
                    "dashed": {"dash_joinstyle": join, "dash_capstyle": end}}.get(linetype, {})
            layout.axs[panel[start]].add_artist(Line2D(
                x[start:stop], y[start:stop], color=to_rgba(style["color"][start], style["alpha"][start]),
                linewidth=style["size"][start] * SIZE_FACTOR, linestyle=linetype,
                zorder=self.params["zorder"], rasterized=self.params["raster"], **ends))


class geom_points(geom_point):
    """``geom_point`` drawing a layer's points from numpy arrays: the same scatter per panel and
    shape as geom_point draws, without its per-panel frames (coordinate transform, group-by).

    Falls back to ``geom_point``'s drawing for a coordinate system other than
    ``coord_cartesian`` or a missing shape.
    """

    def draw_layer(self, data, layout, coord):
        shapes = data["shape"].to_numpy()
        if type(coord) is not coord_cartesian or pd.isna(shapes).any():
            return super().draw_layer(data, layout, coord)
        panel, order = _panel_order(data, np.zeros(len(data), np.intp))
        x, y = _squished(data, order, panel, layout)
        column = {c: data[c].to_numpy()[order] for c in ("size", "stroke", "color", "alpha", "fill")}
        shapes = shapes[order]
        for p in np.unique(panel):
            here = panel == p
            for shape in sorted(set(shapes[here])):  # as geom_point: one scatter per shape, in order
                rows = np.flatnonzero(here & (shapes == shape))
                color = to_rgba(column["color"][rows], column["alpha"][rows])
                if shape not in FILLED_SHAPES:
                    fill, color = color, None  # unfilled: the colour is the face's
                elif all(c is None for c in column["fill"][rows]):
                    fill = color
                else:
                    fill = to_rgba(column["fill"][rows], column["alpha"][rows])
                stroke = column["stroke"][rows]
                layout.axs[p].scatter(x=x[rows], y=y[rows], s=(column["size"][rows] + stroke) ** 2 * np.pi,
                                      facecolor=fill, edgecolor=color, linewidth=stroke * SIZE_FACTOR,
                                      marker=shape, zorder=self.params["zorder"], rasterized=self.params["raster"])


def _panel_order(data, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's panel (an index into ``layout.axs``), ordered by panel then ``keys`` (stable:
    rows keep their order within each), and that order."""
    panel = np.asarray(data["PANEL"], dtype=np.intp) - 1
    order = np.lexsort((keys, panel))
    return panel[order], order


def _squished(data, order: np.ndarray, panel: np.ndarray, layout) -> tuple[np.ndarray, np.ndarray]:
    """x and y in ``order``, infinite values at their panel's edges (coord_cartesian's transform)."""
    out = []
    for axis in ("x", "y"):
        values = data[axis].to_numpy(float)[order]
        if np.isinf(values).any():
            limits = np.array([getattr(pp, axis).range for pp in layout.panel_params], float)[panel]
            values = np.where(values == -np.inf, limits[:, 0], np.where(values == np.inf, limits[:, 1], values))
        out.append(values)
    return out[0], out[1]


class guide_lean_legend(guide_legend):
    """``guide_legend`` whose theme styles the legend alone.

    plotnine applies each legend's theme (the plot's, plus the guide's own) to the figure and to
    every panel's axes, then the plot's theme to them again, which overrides it: with many panels,
    a legend costs as much as the theme itself. This legend's theme leaves the axes to the plot's.
    (plotnine reads the kind of a guide from the last word of its class name: "legend".)
    """

    def setup(self, guides):
        super().setup(guides)
        theme, apply = self.theme, self.theme.apply

        def apply_to_legend():
            axs, theme.axs = theme.axs, []
            try:
                apply()
            finally:
                theme.axs = axs

        theme.apply = apply_to_legend
