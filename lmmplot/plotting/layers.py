"""plotnine layers that draw a fitted model: each group's line, the population line, no pooling.

Each layer computes its prediction frames once, when it is made, and keeps the frames, not the
model. Added to a ggplot (``plot + layer``, or in a list), it picks the frame for the plot's x
and grouping and adds ordinary geoms (``geom_line``, ``geom_ribbon`` ...) drawing it.
"""
from __future__ import annotations

import pandas as pd
from plotnine import aes, geom_point, geom_pointrange, geom_ribbon, position_dodge

from ..errors import ArgumentTypeError, DataError
from . import frames as F
from .geoms import geom_lines

LABEL = ".label"  # the column a layer's ``label`` is written to, mapped to colour and linetype
_ALIASES = {"colour": "color", "linewidth": "size"}


def _params(params: dict) -> dict:
    """Geom parameters with R's spellings (``colour``, ``linewidth``) as plotnine spells them."""
    return {_ALIASES.get(k, k): v for k, v in params.items()}


def plot_columns(plot) -> tuple[dict[str, str], list[str]]:
    """The plot's aesthetics that name a column (``{"x": "Days", "color": "Subject"}``) and the
    columns it is faceted by."""
    mapping = {k: v for k, v in plot.mapping.items() if isinstance(v, str)}
    facet = plot.facet
    facets = list(getattr(facet, "vars", ())) + list(getattr(facet, "rows", ())) + list(getattr(facet, "cols", ()))
    return mapping, facets


class ModelLayer:
    """What the layers share: frames per (x, group) made once, resolved against the plot when added.

    Subclasses set ``_frames`` in ``__init__`` through :meth:`_compute` and define :meth:`geoms`.
    """

    needs_group = True
    position = None  # where a categorical x's points go; None: dodged by ``dodge``

    def __init__(self, model, x: str | None, group: str | None, label: str | None, params: dict,
                 roles: F.Roles | None = None):
        self.mapping = params.pop("mapping", None)
        self.roles = roles or F.roles(model)
        self.formula = model.formula.text
        self.x, self.group, self.label = x, group, label
        self.params = _params(params)
        if x is not None:
            F.check_x(model, x, self.roles)
        if group is not None:
            F.group_columns(model, group, self.roles)

    def _compute(self, model, make) -> None:
        """``make(model, xs, groups)``, {(x, group): frame}, for every x and grouping factor the
        plot might ask for."""
        xs = [self.x] if self.x is not None else list(self.roles.predictors)
        if not self.needs_group or not self.roles.groups:
            groups = [None]
        else:
            groups = [self.group] if self.group is not None else list(self.roles.groups)
        self._frames = make(model, xs, groups)

    # ----------------------------------------------------------------- resolve
    def _resolve(self, plot) -> tuple[str, str | None, pd.DataFrame]:
        mapping, facets = plot_columns(plot)
        x = self.x or mapping.get("x")
        if x is None:
            raise ArgumentTypeError(f"{type(self).__name__} needs an x: map one in ggplot(aes(x=...)) or "
                                    "pass x=")
        if x not in self.roles.predictors:
            raise DataError(f"x {x!r} is not a predictor of {self.formula!r}; its predictors are "
                            f"{list(self.roles.predictors)}")
        group = None
        if self.needs_group and self.roles.groups:
            used = set(mapping.values()) | set(facets) | self._own_columns()
            group = self.group or next((g for g, cols in self.roles.groups.items() if set(cols) <= used),
                                       next(iter(self.roles.groups)))
        columns = self.roles.groups.get(group, ()) if group else ()
        if isinstance(plot.data, pd.DataFrame):
            missing = [c for c in (*self.roles.response, x, *columns) if c not in plot.data.columns]
            if missing:
                raise DataError(f"the plot's data have no column {missing[0]!r}, which the model "
                                f"{self.formula!r} uses: draw it over the data it was fitted to, or "
                                "lp.augment(model)")
        return x, group, self._with_facets(self._frames[(x, group)], plot, facets, x)

    def _own_columns(self) -> set[str]:
        return {v for v in (self.mapping or {}).values() if isinstance(v, str)}

    def _with_facets(self, frame: pd.DataFrame, plot, facets: list[str], x: str) -> pd.DataFrame:
        """Add each facet column the frame lacks, where the plot's data hold it constant per line,
        so that the lines land in their panels."""
        keys = [c for c, dtype in frame.dtypes.items() if c != x and F.is_categorical(dtype)]
        for col in facets:
            if col in frame.columns or not keys or not isinstance(plot.data, pd.DataFrame) \
                    or col not in plot.data.columns or not set(keys) <= set(plot.data.columns):
                continue
            pairs = plot.data[keys + [col]].drop_duplicates()
            if pairs.duplicated(keys).any():
                continue  # not constant within a line: the line is drawn in every panel
            pairs = pairs.astype({k: frame[k].dtype for k in keys})
            frame = frame.merge(pairs, on=keys, how="left")
        return frame

    def _mapping(self, plot, frame: pd.DataFrame, geom, **fixed) -> aes:
        """The layer's aesthetics: ``fixed``, then the plot's that name a column of the frame and
        that the geom draws, except those set as parameters."""
        mapping, _ = plot_columns(plot)
        known = set(geom.REQUIRED_AES) | set(geom.DEFAULT_AES)
        out = dict(fixed)
        for k, v in (self.mapping or {}).items():
            if isinstance(v, str) and v not in frame.columns:
                raise DataError(f"{type(self).__name__}'s mapping {k}={v!r} names no column of its lines; "
                                f"they have {list(frame.columns)}")
            out[k] = v
        for k, v in mapping.items():
            if k not in out and k not in self.params and k in known and v in frame.columns:
                out[k] = v
        if self.label is not None:  # named by linetype (lines) or shape (points), and by colour if free
            for k in ("linetype" if "linetype" in known else "shape", "color"):
                if k not in out and k not in self.params and k in known:
                    out[k] = LABEL
        return aes(**out)

    def __radd__(self, plot):
        x, group, frame = self._resolve(plot)
        if self.label is not None:
            frame = frame.assign(**{LABEL: self.label})
        for geom in self.geoms(plot, frame, x):
            plot += geom
        return plot

    def geoms(self, plot, frame: pd.DataFrame, x: str) -> list:
        raise NotImplementedError

    def _lines_or_points(self, plot, frame: pd.DataFrame, x: str, dodge: float) -> list:
        """Lines over a numeric x; over a categorical x, a point per level, dodged."""
        if F.is_categorical(frame[x]):
            mapping = self._mapping(plot, frame, geom_point, x=x, y=F.FITTED, group=F.LINE)
            return [geom_point(mapping, frame, inherit_aes=False, position=self.position or position_dodge(width=dodge),
                               **self.params)]
        mapping = self._mapping(plot, frame, geom_lines, x=x, y=F.FITTED, group=F.LINE)
        return [geom_lines(mapping, frame, inherit_aes=False, **self.params)]

    @classmethod
    def of_frame(cls, model, frame: pd.DataFrame, x: str, group: str | None, label=None, dodge: float = 0.5,
                 roles: F.Roles | None = None, position=None, **params) -> "ModelLayer":
        """The layer drawing ``frame``, lines made from ``model`` elsewhere (columns ``x``,
        ``.fitted``, ``.line``), when the plot's x is ``x`` and its grouping factor ``group``
        (``roles``: the model's, if known); over a categorical x, its points at ``position``
        (a plotnine position) if given."""
        self = cls.__new__(cls)
        ModelLayer.__init__(self, model, x, group, label, params, roles)
        self.dodge, self.position = dodge, position
        self._frames = {(x, group): frame}
        return self


class geom_fitted(ModelLayer):
    """The fitted lines of a model: each group's for ``lp.lmer`` (its prediction with its random
    effects, lme4's ``coef()`` lines), the single line for ``lp.lm``.

    One line per level of the grouping factor and of each categorical predictor, over the x range
    each covers, computed by ``model.predict`` on a grid (curved terms draw curves); a GLMM's
    (``lp.glmer``) on the response scale, its fitted means. Over a categorical x, a point per
    level, dodged.

    Parameters
    ----------
    model : LinearMixedModel or LinearModel
    x : str, optional
        The predictor along the x axis; by default the plot's x.
    group : str, optional
        The grouping factor whose lines to draw; by default one the plot maps or facets by, else
        the one with most levels. Other grouping factors contribute no random effect.
    n : int
        Points per line.
    label : str, optional
        A name for the lines, shown in a legend of linetype (shape for points) and colour.
    mapping : plotnine.aes, optional
        Aesthetics of the lines' own columns, e.g. ``aes(linetype="scales")``.
    dodge : float
        Dodge width for a categorical x.
    **params
        Geom parameters: ``colour``, ``linetype``, ``size``, ``alpha`` ...
    """

    def __init__(self, model, x=None, group=None, n: int = 50, label=None, dodge: float = 0.5, **params):
        super().__init__(model, x, group, label, params)
        self.dodge = dodge
        self._compute(model, lambda m, xs, groups: F.fitted_frames(m, xs, groups, n, self.roles))


    def geoms(self, plot, frame, x):
        return self._lines_or_points(plot, frame, x, self.dodge)


class geom_no_pooling(ModelLayer):
    """Each group's own least-squares line: the model's fixed formula fitted to each group alone
    (lme4's ``lmList``); groups too small to determine every coefficient draw none.

    Parameters are those of :class:`geom_fitted`.
    """

    def __init__(self, model, x=None, group=None, n: int = 50, label=None, dodge: float = 0.5, **params):
        super().__init__(model, x, group, label, params)
        if not self.roles.groups:
            raise ArgumentTypeError(f"geom_no_pooling needs a mixed model (lp.lmer) for its groups, not "
                                    f"{self.formula!r}")
        self.dodge = dodge
        self._compute(model, lambda m, xs, groups: F.no_pooling_frames(m, xs, groups, n, self.roles))

    def geoms(self, plot, frame, x):
        return self._lines_or_points(plot, frame, x, self.dodge)


class geom_population(ModelLayer):
    """The population line Xβ (no random effects), with its confidence or prediction band; for
    a GLMM, Xβ and its confidence band mapped through the inverse link.

    Categorical predictors the plot maps (colour, linetype, facets ...) get a line per level; the
    others sit at their reference level, numeric ones at their mean.

    Parameters
    ----------
    model : LinearMixedModel or LinearModel
    x : str, optional
        The predictor along the x axis; by default the plot's x.
    interval : None, "confidence" or "prediction"
        The band: from x vcov(β) xᵀ, or adding the random effects' and residual variance.
    level : float
        Coverage of the band.
    n : int
        Points per line.
    fill, band_alpha
        The band's colour and opacity.
    **params
        Parameters of the line (``colour``, ``size`` ...); by default geom_smooth's blue, size 1.
    """

    needs_group = False

    def __init__(self, model, x=None, interval=None, level: float = 0.95, n: int = 50, label=None,
                 fill: str = "#999999", band_alpha: float = 0.4, dodge: float = 0.5, **params):
        super().__init__(model, x, None, label, params)
        self.interval, self.fill, self.band_alpha, self.dodge = interval, fill, band_alpha, dodge
        self.reference = F.reference_levels(model, self.roles)
        self._compute(model, lambda m, xs, _: {(x, None): frame for x, frame in
                                              F.population_frames(m, xs, n, interval, level, self.roles).items()})

    def geoms(self, plot, frame, x):
        mapping, facets = plot_columns(plot)
        used = set(mapping.values()) | set(facets) | self._own_columns()
        for col, ref in self.reference.items():
            if col != x and col in frame.columns and col not in used:
                frame = frame[frame[col] == ref]
        params = dict(self.params)
        if "color" not in params and "color" not in self._mapping(plot, frame, geom_lines) and self.label is None:
            params["color"] = "#3366FF"
        params.setdefault("size", 1)
        out = []
        if F.is_categorical(frame[x]):
            dodge = position_dodge(width=self.dodge)
            if self.interval:
                m = self._mapping(plot, frame, geom_pointrange, x=x, y=F.FITTED, ymin=F.LOWER, ymax=F.UPPER,
                                  group=F.LINE)
                params["size"] = params["size"] / 2
                return [geom_pointrange(m, frame, inherit_aes=False, position=dodge, **params)]
            m = self._mapping(plot, frame, geom_point, x=x, y=F.FITTED, group=F.LINE)
            return [geom_point(m, frame, inherit_aes=False, position=dodge, **params)]
        if self.interval:
            band = aes(x=x, ymin=F.LOWER, ymax=F.UPPER, group=F.LINE)
            out.append(geom_ribbon(band, frame, inherit_aes=False, fill=self.fill, alpha=self.band_alpha))
        m = self._mapping(plot, frame, geom_lines, x=x, y=F.FITTED, group=F.LINE)
        out.append(geom_lines(m, frame, inherit_aes=False, **params))
        return out
