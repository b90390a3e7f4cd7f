"""How long the explorer takes to answer a click, end to end (fit, figure, PNG, tables).

    python benchmarks/explorer.py               # sleepstudy, 5 rounds
    python benchmarks/explorer.py --rounds 10 --data dragons

A click is setting a control's value, which is what the browser's click does in the kernel;
what is timed is everything the kernel does before the widget's new state goes out. "new fit":
the structure changes to one not fitted yet (the explorer's caches are emptied before each such
click, except the canvas that holds the drawn figure, which a real session keeps too); "cached":
back to a structure already shown. Each row is the median over the rounds (and the slowest).
Then where a new-fit click's time goes. Targets (issue #9): new fit < 0.5 s, cached < 0.3 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import lmmplot as lp
from lmmplot.explorer import STRUCTURES, model_formula
from lmmplot.explorer.canvas import Canvas
from lmmplot.explorer.widget import DPI, HEIGHT, WIDTH, fit

CASES = {
    "sleepstudy": dict(response="Reaction", x="Days", group="Subject"),
    "dragons": dict(response="intelligence", x="wingspan", group="mountain", fixed="wingspan * scales",
                    colour="scales"),
}


def click(ex, **values) -> float:
    start = time.perf_counter()
    for name, value in values.items():
        ex.controls[name].value = value
    return time.perf_counter() - start


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(CASES), default="sleepstudy")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = lp.load_dataset(args.data)
    start = time.perf_counter()
    ex = lp.explore(data, **CASES[args.data])  # the first full draw; compiles the fitting code
    opened = time.perf_counter() - start

    new = {s: [] for s in STRUCTURES}
    cached = {s: [] for s in STRUCTURES}
    full_draws = []
    order = list(STRUCTURES)[1:] + list(STRUCTURES)[:1]  # starts at "intercepts + slopes"
    for _ in range(args.rounds):
        for structure in order:
            ex._fits.clear()
            ex._figures.clear()
            draws = sum(c.full_draws for c in ex._canvases.values())
            new[structure].append(click(ex, structure=structure))
            full_draws.append((structure, sum(c.full_draws for c in ex._canvases.values()) - draws))
        for structure in order:  # every structure fitted and drawn once more, then timed
            click(ex, structure=structure)
        for structure in order:
            cached[structure].append(click(ex, structure=structure))

    # where a new fit's click goes: the same steps, one by one
    parts = {"fit": [], "plot_pooling": [], "canvas": [], "summary + tidy": []}
    canvas = Canvas(WIDTH, HEIGHT, DPI, moving="partial pooling")
    canvas.render(ex._draw(ex.model, tuple(ex.controls["layers"].value), ex.controls["facet"].value))
    for _ in range(args.rounds):
        for structure in order:
            formula = model_formula(ex.response, ex.fixed, structure, ex.x, ex.group)
            result, t = timed(lambda: fit(formula, ex.data, True))
            parts["fit"].append(t)
            plot, t = timed(lambda: ex._draw(result.model, tuple(ex.controls["layers"].value),
                                             ex.controls["facet"].value))
            parts["plot_pooling"].append(t)
            parts["canvas"].append(timed(lambda: canvas.render(plot))[1])
            parts["summary + tidy"].append(timed(lambda: (result.model._repr_html_(),
                                                          lp.tidy(result.model).to_html()))[1])

    print(f"explorer on {args.data}: {args.rounds} rounds, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores; opening it took {opened:.2f} s\n")
    print("| click | structure | median s | slowest s | full plotnine draws |")
    print("|---|---|---|---|---|")
    for structure in order:
        draws = sum(d for s, d in full_draws if s == structure)
        print(f"| new fit | {structure} | {statistics.median(new[structure]):.3f} | "
              f"{max(new[structure]):.3f} | {draws} of {args.rounds} |")
    for structure in order:
        print(f"| cached | {structure} | {statistics.median(cached[structure]):.3f} | "
              f"{max(cached[structure]):.3f} | 0 |")
    print("\n| part of a new-fit click | median s | slowest s |")
    print("|---|---|---|")
    for name, values in parts.items():
        print(f"| {name} | {statistics.median(values):.3f} | {max(values):.3f} |")


if __name__ == "__main__":
    main()
