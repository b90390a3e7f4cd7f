"""The explorer's widget: controls, the fits behind them (cached) and what they show."""
from __future__ import annotations

import asyncio
import gc
import html
import itertools
import re
import warnings
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..errors import ArgumentTypeError, DataError, FormulaError
from ..frame import as_pandas
from ..linalg import single_threaded_blas
from ..model import LinearMixedModel, lmer
from ..plotting.pooling import plot_pooling
from ..tidiers import tidy
from .canvas import FITTED, Canvas

#: the random-effect structures the explorer offers, as lme4 writes them
STRUCTURES = {
    "intercepts": "(1|{g})",
    "slopes": "(0 + {x}|{g})",
    "intercepts + slopes": "(1 + {x}|{g})",
    "uncorrelated": "(1 + {x}||{g})",
}
#: the three lines of plot_pooling, as its legend names them
LAYERS = ("complete pooling", "no pooling", "partial pooling")
FACETS = ("per group", "overlaid")
#: the figure's size in the widget (inches at ``DPI``)
WIDTH, HEIGHT, DPI = 9.0, 6.0, 80
#: seconds the kernel's event loop is left to itself between two drawings ahead
IDLE_TURN = 0.05


def random_part(structure: str, x: str, group: str) -> str:
    """The random term of ``structure`` for slope variable ``x`` and grouping factor ``group``."""
    if structure not in STRUCTURES:
        raise ArgumentTypeError(f"structure must be one of {list(STRUCTURES)}, not {structure!r}")
    return STRUCTURES[structure].format(x=x, g=group)


def model_formula(response: str, fixed: str, structure: str, x: str, group: str) -> str:
    """The lmer formula ``response ~ fixed + <random term of structure>``."""
    return f"{response} ~ {fixed} + {random_part(structure, x, group)}"


@dataclass
class Fit:
    """One cached fit: the model, or the error that stopped it, and the warnings it gave."""

    model: LinearMixedModel | None
    messages: list[str] = field(default_factory=list)
    error: str | None = None
    _tables: tuple[str, str] | None = None

    def tables(self) -> tuple[str, str]:
        """The model's summary and tidy table as HTML (made once; empty without a model)."""
        if self._tables is None:
            self._tables = ("", "") if self.model is None else (
                self.model._repr_html_(),
                tidy(self.model).to_html(index=False, na_rep="", float_format="{:.4g}".format))
        return self._tables


def fit(formula: str, data: pd.DataFrame, REML: bool) -> Fit:
    """Fit ``formula``, catching its warnings and any error as text for the widget."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = lmer(formula, data, REML=REML)
        except Exception as exc:  # shown in the widget, which must keep working
            return Fit(None, _unique(str(w.message) for w in caught), f"{type(exc).__name__}: {exc}")
    return Fit(model, _unique(str(w.message) for w in caught))


def _unique(messages) -> list[str]:
    return list(dict.fromkeys(messages))


class Explorer:
    """Controls, figure and tables for one data set and a choice of random-effect structures.

    Attributes
    ----------
    controls : dict of str to ipywidgets widget
        ``"structure"``, ``"layers"``, ``"facet"`` and ``"REML"``: set their ``value`` to drive the
        explorer from code, as a click does.
    widget : ipywidgets.VBox
        What the notebook shows (the explorer displays as this widget).
    formula : str
        The current lmer formula.
    model : LinearMixedModel or None
        The current fit (None when the fit failed: the widget shows why).
    figure : plotnine.ggplot or None
        The current figure, ``lp.plot_pooling`` of the current model with ``ylim=ylim``.
    ylim : (float, float) or None
        The y range every figure is held at: the data and the lines of all four structures under
        REML and ML (all eight are fitted when the explorer opens).
    """

    def __init__(self, data, response: str, x: str, group: str, fixed: str | None = None,
                 colour: str | None = None, structure: str = "intercepts + slopes",
                 REML: bool = True, layers=LAYERS, facet: str = "per group",
                 start: LinearMixedModel | None = None):
        gc.unfreeze()  # earlier explorers' objects (see _drawings_ahead) may be collected again
        self.data = as_pandas(data)
        for role, name in [("response", response), ("x", x), ("group", group), ("colour", colour)]:
            if name is None and role == "colour":
                continue
            if not isinstance(name, str):
                raise ArgumentTypeError(f"{role} must be a column name, not {name!r}")
            if name not in self.data.columns:
                raise DataError(f"column {name!r} (the {role}) is not in the data")
        if fixed is not None and not isinstance(fixed, str):
            raise ArgumentTypeError(f"fixed must be a formula's right-hand side such as 'x * z', not {fixed!r}")
        random_part(structure, x, group)  # checks the name
        if facet not in FACETS:
            raise ArgumentTypeError(f"facet must be one of {list(FACETS)}, not {facet!r}")
        if not isinstance(REML, bool):
            raise ArgumentTypeError(f"REML must be True or False, not {REML!r}")
        self.response, self.x, self.group, self.colour = response, x, group, colour
        self.fixed = x if fixed is None else fixed
        self._fits: dict[tuple[str, bool], Fit] = {}
        self._figures: dict[tuple, tuple[object, bytes]] = {}  # (formula, REML, lines, panels)
        self._canvases: dict[str, list[Canvas]] = {name: [] for name in FACETS}  # where they are drawn
        if start is not None:  # a fit of the first structure: no need to fit it again
            first = model_formula(response, self.fixed, structure, x, group)
            self._fits[(first, start.REML)] = Fit(start, list(start.messages))
        self.ylim: tuple[float, float] | None = None  # the figures' own ranges, while measuring them
        with single_threaded_blas():
            for name in STRUCTURES:
                for criterion in (True, False):
                    self._fit(model_formula(response, self.fixed, name, x, group), criterion)
            self.ylim = self._y_range()

        self.controls = {
            "structure": widgets.ToggleButtons(options=list(STRUCTURES), value=structure,
                                               description="random effects"),
            "layers": widgets.SelectMultiple(options=list(LAYERS), value=tuple(layers), rows=3,
                                             description="lines"),
            "facet": widgets.ToggleButtons(options=list(FACETS), value=facet, description="panels"),
            "REML": widgets.ToggleButtons(options=[("REML", True), ("ML", False)], value=REML,
                                          description="criterion"),
        }
        self._image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self._formula = widgets.HTML()
        self._status = widgets.HTML()
        self._summary = widgets.HTML()
        self._tidy = widgets.HTML()
        c = self.controls
        self.widget = widgets.VBox([
            c["structure"], widgets.HBox([c["facet"], c["REML"]]), c["layers"],
            self._image, self._formula, self._status, self._summary, self._tidy,
        ])
        self.widget.add_class("lmmplot-explorer")
        for control in c.values():
            control.observe(self._update, names="value")
        self.formula: str = ""
        self.model: LinearMixedModel | None = None
        self.figure = None
        self._update()
        self._ahead = self._drawings_ahead(self.model, tuple(layers), facet)
        self._draw_ahead_when_idle()

    # ------------------------------------------------------------------ state
    def _fit(self, formula: str, REML: bool) -> Fit:
        key = (formula, REML)
        if key not in self._fits:
            self._fits[key] = fit(formula, self.data, REML)
        return self._fits[key]

    def _draw(self, model: LinearMixedModel, layers: tuple[str, ...], facet: str):
        return plot_pooling(model, x=self.x, group=self.group, colour=self.colour, lines=layers,
                            facet=facet == "per group", ylim=self.ylim)

    def _y_range(self) -> tuple[float, float] | None:
        """The range of the data and of every line the explorer shows: the three pooling lines
        under every structure and both criteria. The figures hold their y axis at it, so that
        switching moves the lines, never the axis (and redraws only the lines)."""
        values = []
        for result in self._fits.values():
            if result.model is None:
                continue
            try:  # the data and the lines that stay put once, the moving lines of every fit
                plot = self._draw(result.model, ("partial pooling",) if values else LAYERS, "overlaid")
            except Exception:  # shown in the widget when that fit is chosen
                continue
            values += [plot.data[self.response].to_numpy(float)] + [
                layer._data[FITTED].to_numpy(float) for layer in plot.layers
                if isinstance(layer._data, pd.DataFrame) and FITTED in layer._data]
        if not values:
            return None
        values = np.concatenate(values)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        return (low, high) if low < high else None

    def draw_ahead(self) -> None:
        """Draw now what the other panels setting and every choice of lines need, so that no
        click waits for a full plotnine draw. In a notebook (JupyterLab, Voila) the explorer
        does this itself, one drawing at a time, whenever the kernel is idle after it shows."""
        with single_threaded_blas():
            for _ in self._ahead:
                pass

    def _draw_ahead_when_idle(self) -> None:
        """Draw ahead in the kernel's event loop, one drawing per turn, so that messages (the
        display, clicks) are answered between drawings; nothing without a running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a script: drawn when a click needs it, or by draw_ahead()
            return

        def step():
            with single_threaded_blas():
                more = next(self._ahead, None) is not None
            if more:
                loop.call_later(IDLE_TURN, step)

        loop.call_later(IDLE_TURN, step)

    def _drawings_ahead(self, model: LinearMixedModel | None, layers: tuple[str, ...], facet: str):
        """Draw the canvases of the other panels setting and of every choice of lines, nearest to
        ``layers`` and ``facet`` first; yields each canvas drawn. Then takes what they hold out
        of Python's garbage collection (``gc.freeze``), until the next explorer opens."""
        if model is None:
            return
        other = next(name for name in FACETS if name != facet)
        nearest = sorted(_choices(), key=lambda chosen: len(set(chosen) ^ set(layers)))
        for panels, chosen in [(other, layers)] + [(f, c) for f in (facet, other) for c in nearest]:
            if not any(_covers(canvas, chosen) for canvas in self._canvases[panels]):
                try:
                    yield self._new_canvas(model, chosen, panels)
                except Exception:  # the figure's error is shown when a click asks for it
                    return
        # the canvases hold some hundred thousand objects, which each of Python's full garbage
        # collections would walk (0.6 s, inside whichever click set it off): collected once
        # here, in an idle turn, then frozen out of later collections until an explorer opens
        gc.collect()
        gc.freeze()

    def _render(self, plot, model: LinearMixedModel, layers: tuple[str, ...], facet: str) -> bytes:
        """The PNG of ``plot`` (``_draw(model, layers, facet)``), on a canvas kept if one draws
        it without a full draw, else on a new one."""
        canvas = next((c for c in self._canvases[facet] if c.can_render(plot)), None)
        return (canvas or self._new_canvas(model, layers, facet)).render(plot)

    def _new_canvas(self, model: LinearMixedModel, layers: tuple[str, ...], facet: str) -> Canvas:
        """A canvas drawn in full for ``layers`` and every other choice of lines whose figure has
        the same layout."""
        canvas = Canvas(WIDTH, HEIGHT, DPI)
        canvas.draw(self._draw(model, self._padded(layers, facet), facet))
        self._canvases[facet].append(canvas)
        return canvas

    def _padded(self, layers: tuple[str, ...], facet: str) -> tuple[str, ...]:
        """All the lines whose legend is as wide as that of ``layers`` (so the panels are where
        they are for ``layers``): a canvas drawn with them draws every such choice of lines."""
        full = next((canvas for canvas in self._canvases[facet] if canvas.labels == LAYERS), None)
        layout = full.layout(layers) if full is not None else None
        if layout is None:
            return layers
        alike = [chosen for chosen in _choices() if full.layout(chosen) == layout]
        return tuple(name for name in LAYERS if any(name in chosen for chosen in alike))

    def _update(self, change=None) -> None:
        with single_threaded_blas():
            self._show()

    def _show(self) -> None:
        c = self.controls
        structure, REML = c["structure"].value, c["REML"].value
        layers, facet = tuple(c["layers"].value), c["facet"].value
        self.formula = model_formula(self.response, self.fixed, structure, self.x, self.group)
        result = self._fit(self.formula, REML)
        self.model, self.figure = result.model, None
        problems = list(result.messages)
        if result.error is not None:
            problems.append(result.error)
        image = b""
        if result.model is not None:
            key = (self.formula, REML, layers, facet)
            try:
                if key not in self._figures:
                    plot = self._draw(result.model, layers, facet)
                    self._figures[key] = (plot, self._render(plot, result.model, layers, facet))
                self.figure, image = self._figures[key]
            except Exception as exc:  # a figure that cannot be drawn is shown as text too
                problems.append(f"{type(exc).__name__}: {exc}")
        # the figure goes out first, then the tables (each value is sent as it is set)
        self._formula.value = f"<code class='lmmplot-formula'>{html.escape(self.formula)}</code>" + (
            "" if REML else " (ML)")
        self._status.value = "".join(
            f"<pre class='lmmplot-message'>{html.escape(p)}</pre>" for p in problems)
        self._image.value = image
        self._summary.value, self._tidy.value = result.tables()

    # ---------------------------------------------------------------- display
    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        # the text form names the formula (the widget's own would spell out every child's value)
        return {**bundle, "text/plain": repr(self)} if bundle else bundle

    def __repr__(self) -> str:
        return f"<lmmplot explorer: {self.formula}>"


def _covers(canvas: Canvas, layers: tuple[str, ...]) -> bool:
    """Whether the canvas was drawn with ``layers`` or with more lines and the same layout (its
    figures of these lines need no full draw; ``Canvas.can_render`` has the last word)."""
    if not set(layers) <= set(canvas.labels):
        return False
    if set(layers) == set(canvas.labels):
        return True
    layout = canvas.layout(layers)
    return layout is not None and layout == canvas.layout(canvas.labels)


def _choices() -> list[tuple[str, ...]]:
    """Every choice of lines, in LAYERS' order."""
    return [chosen for k in range(len(LAYERS) + 1) for chosen in itertools.combinations(LAYERS, k)]


def explore(data, response: str | None = None, x: str | None = None, group: str | None = None,
            fixed: str | None = None, colour: str | None = None, structure: str | None = None,
            REML: bool | None = None, facet: str = "per group") -> Explorer:
    """Switch between random intercepts, slopes, both and uncorrelated, and see the lines change.

    Parameters
    ----------
    data : pandas.DataFrame, polars.DataFrame or LinearMixedModel
        The data, or a fitted model to start from (its data, formula and REML are taken).
    response, x, group : str
        The response, the variable whose slope may vary, and the grouping factor. Read from the
        model when one is given.
    fixed : str, optional
        The fixed effects, e.g. ``"wingspan * scales"``; default ``x``.
    colour : str, optional
        A categorical column to colour the lines and points by.
    structure : str, optional
        The first structure shown: ``"intercepts"`` ``(1|g)``, ``"slopes"`` ``(0 + x|g)``,
        ``"intercepts + slopes"`` ``(1 + x|g)`` (the default) or ``"uncorrelated"`` ``(1 + x||g)``.
    REML : bool, optional
        Fit by REML (default) or ML; the explorer's ``"REML"`` control switches.
    facet : str
        ``"per group"`` (a panel per group, the default) or ``"overlaid"`` (one panel).

    Returns
    -------
    Explorer
        Shows as the widget; ``controls``, ``formula``, ``model`` and ``figure`` as attributes.
    """
    if isinstance(data, LinearMixedModel):
        model = data
        read = _read_model(model)
        response = response or read["response"]
        x = x or read["x"]
        group = group or read["group"]
        fixed = fixed or read["fixed"]
        structure = structure or read["structure"]
        REML = model.REML if REML is None else REML
        return Explorer(model.data, response, x, group, fixed=fixed, colour=colour,
                        structure=structure, REML=REML, facet=facet, start=model)
    for role, name in [("response", response), ("x", x), ("group", group)]:
        if name is None:
            raise ArgumentTypeError(f"explore(data, ...) needs {role}=, the name of a column")
    return Explorer(data, response, x, group, fixed=fixed, colour=colour, facet=facet,
                    structure=structure or "intercepts + slopes", REML=True if REML is None else REML)


def _read_model(model: LinearMixedModel) -> dict[str, str]:
    """Response, x, grouping factor, fixed part and structure of a model the explorer can vary."""
    parsed = model.formula
    groups = {spec.group for spec in parsed.random}
    kinds = set()
    for spec in parsed.random:
        tokens = [t.strip() for t in spec.expr.split("+")]
        kinds.add(("0" not in tokens, tuple(t for t in tokens if t not in ("0", "1"))))
    slopes = {v for _, variables in kinds for v in variables}
    if len(slopes) > 1:
        structure = None
    elif not slopes:
        structure = "intercepts" if kinds == {(True, ())} else None
    else:
        x = tuple(slopes)
        structure = {frozenset({(False, x)}): "slopes", frozenset({(True, x)}): "intercepts + slopes",
                     frozenset({(True, ()), (False, x)}): "uncorrelated"}.get(frozenset(kinds))
    if len(groups) != 1 or structure is None:
        raise FormulaError(
            f"explore varies (1|g), (0 + x|g), (1 + x|g) or (1 + x||g) for one grouping factor g "
            f"and one variable x; {parsed.text!r} has another random part")
    if slopes:
        (x,) = slopes
    else:
        numeric = [name for name in re.findall(r"[A-Za-z_.][\w.]*", parsed.fixed)
                   if name in model.data.columns and pd.api.types.is_numeric_dtype(model.data[name])]
        if not numeric:
            raise FormulaError(f"{parsed.text!r} has no numeric fixed effect to use as x: give x=")
        x = numeric[0]
    return {"response": parsed.response, "x": x, "group": groups.pop(), "fixed": parsed.fixed,
            "structure": structure}
