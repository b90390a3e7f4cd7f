"""How long the explorer takes to answer a click, end to end (fit, figure, PNG, tables).

    python benchmarks/explorer.py               # sleepstudy, 3 rounds
    python benchmarks/explorer.py --rounds 10 --data dragons

A click is setting a control's value, which is what the browser's click does in the kernel;
what is timed is everything the kernel does before the widget's new state has gone out
("figure": until the new PNG is set, which is sent first; "all": until the tables are set too).
Kinds of click:

- structure / criterion, new fit: to a structure (or REML/ML) whose fit and figure the
  explorer's caches were emptied of just before (it fits all eight when it opens; the canvas
  that holds the drawn figure and the held y range are kept, as in a session);
- structure, fitted, new figure: to a structure fitted (when the explorer opened) but not drawn
  yet with these settings: the first visit to each in a session;
- structure / criterion, cached: back to one already shown;
- panels / lines, new canvas: to a facet or lines setting never drawn (a full plotnine draw);
- panels / lines, canvas kept: to one drawn before, with another structure shown meanwhile.

Each row is the median over the rounds (and the slowest), with the number of full plotnine
draws. Then where a new-fit click's time goes. Targets (issue #9): new fit < 0.5 s, cached
< 0.3 s. Load average and CPU time are printed: the machine is shared.
"""
from __future__ import annotations

import argparse
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
        return sum(c.full_draws for c in self.ex._canvases.values())

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


def forget_canvas(ex, layers, facet) -> None:
    ex._canvases.pop((tuple(layers), facet), None)
    for key in [k for k in ex._figures if k[2:] == (tuple(layers), facet)]:
        del ex._figures[key]


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(CASES), default="sleepstudy")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = lp.load_dataset(args.data)
    load_before = os.getloadavg()
    start = time.perf_counter()
    ex = lp.explore(data, **CASES[args.data])  # eight fits, the first full draw; compiles the fitting code
    opened = time.perf_counter() - start
    c = Clicker(ex)
    order = list(STRUCTURES)[1:] + list(STRUCTURES)[:1]  # it opens on "intercepts + slopes"
    few = ("partial pooling",)
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
        forget_canvas(ex, LAYERS, "overlaid")
        c.click("panels, new canvas", facet="overlaid")
        c.click(None, facet="per group")
        c.click(None, structure="slopes")
        c.click("panels, canvas kept", facet="overlaid")  # slopes not drawn overlaid yet
        c.click(None, facet="per group")
        forget_canvas(ex, few, "per group")
        c.click("lines, new canvas", layers=few)
        c.click(None, layers=LAYERS)
        c.click(None, structure="intercepts + slopes")
        c.click("lines, canvas kept", layers=few)  # intercepts + slopes not drawn with them yet
        c.click(None, layers=LAYERS)

    # where a new fit's click goes: the same steps, one by one
    parts = {"fit": [], "plot_pooling": [], "canvas (lines only)": [], "summary + tidy": []}
    layers, facet = tuple(ex.controls["layers"].value), ex.controls["facet"].value
    canvas = Canvas(WIDTH, HEIGHT, DPI, moving="partial pooling")
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
          f"{load_before[0]:.1f} before, {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} after; "
          f"opening it (8 fits, a full draw) took {opened:.2f} s\n")
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
