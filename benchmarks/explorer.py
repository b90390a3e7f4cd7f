"""How long the explorer takes to answer a click, end to end (fit, figure, PNG, tables).

    python benchmarks/explorer.py               # sleepstudy, 3 rounds
    python benchmarks/explorer.py --rounds 10 --data dragons

A click is setting a control's value, which is what the browser's click does in the kernel;
what is timed is everything the kernel does before the widget's new state has gone out
("figure": until the new PNG is set, which is sent first; "all": until the tables are set too).
The explorer opens with all eight fits and one full plotnine draw, then draws the canvases of the
other panels setting and of every choice of lines when the kernel is idle ("drawing ahead"). Kinds of click,
once that is done:

- structure / criterion, new fit: to a structure (or REML/ML) whose fit and figure the
  explorer's caches were emptied of just before (the canvases and the held y range are kept);
- structure, fitted, new figure: to a structure fitted (when the explorer opened) but not drawn
  yet with these settings: the first visit to each in a session;
- structure / criterion, cached: back to one already shown;
- panels / lines, new figure: to a panels or lines setting not shown yet with this fit;
- panels / lines, cached: back to one shown.

Drawing ahead is timed drawing by drawing: in a notebook each is one turn of the kernel's
event loop, and a click that comes during one waits for it to end.
Each row is the median over the rounds (and the slowest), with the number of full plotnine
draws the clicks made. Then where a new-fit click's time goes. Targets (issue #9): new fit
< 0.5 s, any other click < 0.3 s. Load average and CPU time are printed: the machine is shared.
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's lmmplot

import lmmplot as lp  # noqa: E402
from lmmplot.explorer import LAYERS, STRUCTURES, model_formula  # noqa: E402
from lmmplot.explorer.canvas import Canvas  # noqa: E402
from lmmplot.explorer.widget import DPI, HEIGHT, WIDTH, fit  # noqa: E402
from lmmplot.linalg import single_threaded_blas  # noqa: E402

CASES = {
    "sleepstudy": dict(response="Reaction", x="Days", group="Subject"),
    "dragons": dict(response="intelligence", x="wingspan", group="mountain", fixed="wingspan * scales",
                    colour="scales"),
}


class Clicker:
    """Sets controls and times them: wall time until the image is set and until all is done."""

    def __init__(self, ex):
        self.ex, self.image_at = ex, None
        ex._image.observe(self._seen, names="value")
        self.rows: dict[str, list[tuple[float, float, float, int]]] = {}

    def _seen(self, change) -> None:
        self.image_at = time.perf_counter()

    def draws(self) -> int:
        return sum(c.full_draws for canvases in self.ex._canvases.values() for c in canvases)

    def click(self, kind: str | None, **values) -> None:
        draws, self.image_at = self.draws(), None
        cpu, start = time.process_time(), time.perf_counter()
        for name, value in values.items():
            self.ex.controls[name].value = value
        end = time.perf_counter()
        if kind is not None:
            figure = (self.image_at or end) - start
            self.rows.setdefault(kind, []).append((figure, end - start, time.process_time() - cpu,
                                                   self.draws() - draws))


def forget_fits(ex) -> None:
    ex._fits.clear()
    ex._figures.clear()


def forget_figures(ex, **settings) -> None:
    """Forget the figures made with these lines or panels settings (their canvases are kept)."""
    index = {"layers": 2, "facet": 3}
    for key in [k for k in ex._figures if all(k[index[name]] == value for name, value in settings.items())]:
        del ex._figures[key]


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def opened(data, case) -> tuple:
    """A new explorer, with the wall and CPU time of its opening."""
    cpu, start = time.process_time(), time.perf_counter()
    ex = lp.explore(data, **case)
    return ex, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(CASES), default="sleepstudy")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data, case = lp.load_dataset(args.data), CASES[args.data]
    load_before = os.getloadavg()
    first, cold, cold_cpu = opened(data, case)  # compiles the fitting code, warms plotnine up
    first.draw_ahead()
    ex, opening, opening_cpu = opened(data, case)
    c = Clicker(ex)
    ahead = []  # each drawing ahead (one turn of the kernel's event loop in a notebook)
    while True:
        cpu, start = time.process_time(), time.perf_counter()
        if next(ex._ahead, None) is None:
            break
        ahead.append((time.perf_counter() - start, time.process_time() - cpu))
    order = list(STRUCTURES)[1:] + list(STRUCTURES)[:1]  # it opens on "intercepts + slopes"
    choices = [lines for k in range(len(LAYERS)) for lines in itertools.combinations(LAYERS, k)]
    for _ in range(args.rounds):
        for structure in order:
            forget_fits(ex)
            c.click("structure, new fit", structure=structure)
        for structure in order:
            ex._figures.clear()
            c.click("structure, fitted, new figure", structure=structure)
        for structure in order:  # every structure drawn once more, then timed
            c.click(None, structure=structure)
        for structure in order:
            c.click("structure, cached", structure=structure)
        for REML in (False, True):
            forget_fits(ex)
            c.click("criterion, new fit", REML=REML)
        for REML in (False, True):
            c.click(None, REML=REML)
        for REML in (False, True):
            c.click("criterion, cached", REML=REML)
        for structure in order:
            c.click(None, structure=structure)
            forget_figures(ex, facet="overlaid")
            c.click("panels, new figure", facet="overlaid")
            c.click("panels, cached", facet="per group")
            c.click("panels, cached", facet="overlaid")
            c.click(None, facet="per group")
        for facet in ("per group", "overlaid"):
            c.click(None, facet=facet)
            forget_figures(ex, facet=facet)
            for lines in choices:
                c.click("lines, new figure", layers=lines)
                c.click("lines, cached", layers=LAYERS)
                c.click("lines, cached", layers=lines)
                c.click(None, layers=LAYERS)
        c.click(None, facet="per group")

    # where a new fit's click goes: the same steps, one by one
    parts = {"fit": [], "plot_pooling": [], "canvas (lines only)": [], "summary + tidy": []}
    layers, facet = tuple(ex.controls["layers"].value), ex.controls["facet"].value
    canvas = Canvas(WIDTH, HEIGHT, DPI)
    canvas.render(ex._draw(ex.model, layers, facet))
    with single_threaded_blas():
        for _ in range(args.rounds):
            for structure in order:
                formula = model_formula(ex.response, ex.fixed, structure, ex.x, ex.group)
                result, t = timed(lambda: fit(formula, ex.data, True))
                parts["fit"].append(t)
                plot, t = timed(lambda: ex._draw(result.model, layers, facet))
                parts["plot_pooling"].append(t)
                parts["canvas (lines only)"].append(timed(lambda: canvas.render(plot))[1])
                parts["summary + tidy"].append(timed(result.tables)[1])
    assert canvas.full_draws == 1

    load = os.getloadavg()
    print(f"explorer on {args.data}: {args.rounds} rounds on {os.cpu_count()} cores, load average "
          f"{load_before[0]:.1f} before, {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} after\n"
          f"opening (8 fits, a full draw): {opening:.2f} s wall, {opening_cpu:.2f} s CPU (the first in the "
          f"process: {cold:.2f} s wall, {cold_cpu:.2f} s CPU); then drawing ahead, {len(ahead)} "
          f"full draws one per idle turn: {sum(w for w, _ in ahead):.2f} s wall, {sum(u for _, u in ahead):.2f} s "
          f"CPU in all, the longest {max(w for w, _ in ahead):.2f} s wall, {max(u for _, u in ahead):.2f} s CPU "
          "(what a click during it may wait)\n")
    print("| click | figure out, median s | all, median s | all, slowest s | CPU, median s | "
          "full plotnine draws |")
    print("|---|---|---|---|---|---|")
    for kind, rows in c.rows.items():
        figure, total, cpu, draws = zip(*rows)
        print(f"| {kind} | {statistics.median(figure):.3f} | {statistics.median(total):.3f} | "
              f"{max(total):.3f} | {statistics.median(cpu):.3f} | {sum(draws)} of {len(rows)} |")
    print("\n| part of a new-fit click | median s | slowest s |")
    print("|---|---|---|")
    for name, values in parts.items():
        print(f"| {name} | {statistics.median(values):.3f} | {max(values):.3f} |")


if __name__ == "__main__":
    main()
