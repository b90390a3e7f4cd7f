"""A faster ``geom_line`` for the model layers: one LineCollection per panel.

plotnine's ``geom_path`` draws each group (each line) on its own, through a pandas group-by, a
coordinate transform and a Line2D per group: in a faceted figure with a few model layers that
is most of ``ggplot.draw()``. :class:`geom_lines` draws the same lines, each with its own colour,
width, linetype and alpha, as one collection per panel, from numpy arrays; and its stat,
:class:`stat_frame`, passes the frame through without splitting it by panel.
"""
from __future__ import annotations

import numpy as np
from plotnine import coord_cartesian, geom_line, stat_identity
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
    """``geom_line`` drawing every line of a panel as one LineCollection.

    Falls back to ``geom_line``'s drawing where it must (arrows, an aesthetic that changes
    along a line, groups of one point only).
    """

    DEFAULT_PARAMS = {**geom_line.DEFAULT_PARAMS, "stat": stat_frame}

    def draw_panel(self, data, panel_params, coord, ax):
        from matplotlib.collections import LineCollection

        group = data["group"].to_numpy()
        order = np.argsort(group, kind="stable")
        group = group[order]
        inner = group[1:] == group[:-1]  # consecutive points of one line
        starts = np.flatnonzero(np.r_[True, ~inner])
        keep = np.diff(np.r_[starts, len(group)]) >= 2  # as geom_path: a line needs two points
        style = {c: data[c].to_numpy()[order] for c in _STYLE if c in data}
        if self.params.get("arrow") or not keep.any() or any(
                (inner & (v[1:] != v[:-1])).any() for v in style.values()):
            return super().draw_panel(data, panel_params, coord, ax)
        x, y = data["x"].to_numpy(float)[order], data["y"].to_numpy(float)[order]
        if type(coord) is coord_cartesian:  # its transform: infinite values to the panel's edges
            x, y = _squish_infinite(x, panel_params.x.range), _squish_infinite(y, panel_params.y.range)
        else:
            moved = coord.transform(data.iloc[order].reset_index(drop=True), panel_params, munch=True)
            x, y = moved["x"].to_numpy(float), moved["y"].to_numpy(float)
        segments = [part for part, k in zip(np.split(np.column_stack([x, y]), starts[1:]), keep) if k]
        first = starts[keep]
        ax.add_collection(LineCollection(
            segments,
            colors=to_rgba(style["color"][first], style["alpha"][first]),
            linewidths=style["size"][first].astype(float) * SIZE_FACTOR,
            linestyles=list(style["linetype"][first]),
            capstyle=_MPL.get(self.params["lineend"], self.params["lineend"]),
            joinstyle=_MPL.get(self.params["linejoin"], self.params["linejoin"]),
            zorder=self.params["zorder"], rasterized=self.params["raster"]))


def _squish_infinite(values: np.ndarray, limits) -> np.ndarray:
    """-inf and inf moved to the ends of ``limits`` (mizani's squish_infinite)."""
    if not np.isinf(values).any():
        return values
    return np.where(values == -np.inf, limits[0], np.where(values == np.inf, limits[1], values))
