"""Faster plotnine pieces for the model layers: lines drawn from numpy, a lean legend.

plotnine's ``geom_path`` draws each group (each line) through a pandas group-by and a coordinate
transform per group, and its stat splits the frame by panel: in a faceted figure with a few model
layers that is most of ``ggplot.draw()``. :class:`geom_lines` draws the same Line2D artists, one
per line with its own colour, width, linetype and alpha, from numpy arrays; its stat,
:class:`stat_frame`, passes the frame through whole. :class:`guide_lean_legend` is a legend that
does not theme every panel's axes a second time.
"""
from __future__ import annotations

import numpy as np
from plotnine import coord_cartesian, geom_line, guide_legend, stat_identity
from plotnine._utils import SIZE_FACTOR, remove_missing, to_rgba

_STYLE = ("color", "size", "linetype", "alpha")  # what a line may not vary along itself
_MPL = {"square": "projecting", "mitre": "miter"}  # R's line end and join names in matplotlib's


class stat_frame(stat_identity):
    """``stat_identity`` without its per-panel split: the layer's data as they are, less the rows
    missing a required aesthetic (as every stat drops them)."""

    def compute_layer(self, data, layout):
        data = remove_missing(data, na_rm=self.params.get("na_rm", False),
                              vars=list(self.REQUIRED_AES | self.NON_MISSING_AES),
                              name=type(self).__name__, finite=True)
        return data.reset_index(drop=True)


class geom_lines(geom_line):
    """``geom_line`` drawing a panel's lines from numpy arrays, as geom_line draws them.

    Falls back to ``geom_line``'s drawing where it must (arrows, an aesthetic that changes
    along a line, groups of one point only).
    """

    DEFAULT_PARAMS = {**geom_line.DEFAULT_PARAMS, "stat": stat_frame}

    def draw_panel(self, data, panel_params, coord, ax):
        from matplotlib.lines import Line2D

        group = data["group"].to_numpy()
        order = np.argsort(group, kind="stable")
        group = group[order]
        inner = group[1:] == group[:-1]  # consecutive points of one line
        starts = np.flatnonzero(np.r_[True, ~inner])
        stops = np.r_[starts[1:], len(group)]
        style = {c: data[c].to_numpy()[order] for c in _STYLE if c in data}
        if self.params.get("arrow") or not (stops - starts >= 2).any() or len(style) < len(_STYLE) or any(
                (inner & (v[1:] != v[:-1])).any() for v in style.values()):
            return super().draw_panel(data, panel_params, coord, ax)
        x, y = data["x"].to_numpy(float)[order], data["y"].to_numpy(float)[order]
        if type(coord) is coord_cartesian:  # its transform: infinite values to the panel's edges
            x, y = _squish_infinite(x, panel_params.x.range), _squish_infinite(y, panel_params.y.range)
        else:
            moved = coord.transform(data.iloc[order].reset_index(drop=True), panel_params, munch=True)
            x, y = moved["x"].to_numpy(float), moved["y"].to_numpy(float)
        end = _MPL.get(self.params["lineend"], self.params["lineend"])
        join = _MPL.get(self.params["linejoin"], self.params["linejoin"])
        for start, stop in zip(starts, stops):
            if stop - start < 2:  # as geom_path: a line needs two points
                continue
            linetype = style["linetype"][start]
            # as plotnine: the end and join styles apply to solid and dashed lines
            ends = {"solid": {"solid_joinstyle": join, "solid_capstyle": end},
                    "dashed": {"dash_joinstyle": join, "dash_capstyle": end}}.get(linetype, {})
            ax.add_artist(Line2D(
                x[start:stop], y[start:stop], color=to_rgba(style["color"][start], style["alpha"][start]),
                linewidth=style["size"][start] * SIZE_FACTOR, linestyle=linetype,
                zorder=self.params["zorder"], rasterized=self.params["raster"], **ends))


def _squish_infinite(values: np.ndarray, limits) -> np.ndarray:
    """-inf and inf moved to the ends of ``limits`` (mizani's squish_infinite)."""
    if not np.isinf(values).any():
        return values
    return np.where(values == -np.inf, limits[0], np.where(values == np.inf, limits[1], values))


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
