"""An ipywidgets explorer: switch a mixed model's random-effect structure and watch the lines move.

``explore(data, response=, x=, group=)`` (or ``explore(model)``) returns an :class:`Explorer`:
controls on top, then :func:`lmmplot.plot_pooling`'s figure for the current model, its formula,
any warning or error of the fit, its summary and its tidy table. Every change refits (fits are
cached by formula and REML) and redraws. The figure is sent to the browser as a PNG in an
``ipywidgets.Image``, so it shows the same in JupyterLab, Voila and a static export. Its PNG
is drawn on a kept canvas (:mod:`.canvas`): plotnine draws in full once per layout, and a click
redraws only the lines and the legend. The canvases of the other settings are drawn ahead while
the kernel is idle, so that no click waits for a full draw.
"""
from .widget import LAYERS, STRUCTURES, Explorer, explore, model_formula

__all__ = ["LAYERS", "STRUCTURES", "Explorer", "explore", "model_formula"]
