"""Time the one-call figures plot_ranef, plot_coef, plot_shrinkage and plot_diagnostics.

usage: python benchmarks/figures_extra.py [--repeat N]

For each of the chapter's models: ``data`` is the figure's data frames alone (what its layers
draw: ranef_frame, coef_frame, shrinkage_data, the diagnostics' frames), ``build`` the whole
call that returns the ggplot (data plus plotnine's layer copies), ``draw`` ``ggplot.draw()`` at
640 × 480 pixels. plot_diagnostics returns its six checks, each a ggplot: ``draw`` is the
composed figure (``Diagnostics.draw()``), and the row ``plot_diagnostics (slowest check)`` the
slowest single check's draw. Each number is the median of ``--repeat`` runs after one warm-up,
as CPU time (``process_time``: what the figure costs, less the waiting on a busy machine) and
wall time; targets: data under 20 ms, draw under 1.5 s. The last column counts Python's full
garbage collections inside the timed draws and their seconds: each walks every object of the
process (0.3-0.6 s here), and falls in whichever draw sets it off. The load average is printed
first and last; run nothing else heavy at the same time (the machine has 2 cores).
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib.pyplot as plt  # noqa: E402
from plotnine import options  # noqa: E402

import lmmplot as lp  # noqa: E402
from measure import full_collections, median_time  # noqa: E402
from lmmplot.plotting import coef, diagnostics, ranef, shrinkage  # noqa: E402

MODELS = {
    "sleep_int": ("sleepstudy", "Reaction ~ Days + (1|Subject)"),
    "sleep_slope": ("sleepstudy", "Reaction ~ Days + (1 + Days|Subject)"),
    "irrigation": ("irrigation", "yield ~ irrigation*variety + (1|field)"),
    "dragons": ("dragons", "intelligence ~ wingspan*scales + (1 + wingspan|mountain)"),
}


def draw_time(make, repeat: int) -> tuple[float, float, str]:
    """Median wall and CPU seconds of ``make().draw()``, each on a new figure (draw changes it),
    and the full garbage collections that fell inside the timed draws ("count: seconds")."""
    plots = iter([make() for _ in range(repeat + 1)])
    plt.close(next(plots).draw())
    with full_collections() as seen:
        wall, cpu = median_time(lambda: plt.close(next(plots).draw()), repeat)
    return wall, cpu, f"{len(seen)}: {sum(seen):.2f}"


def diagnostics_data(model):
    res = diagnostics.residual_frame(model)
    diagnostics.smooth_frame(res[".fitted"].to_numpy(), res[".resid"].to_numpy())
    diagnostics.smooth_frame(res[".fitted"].to_numpy(), res[".sqrt.abs.std.resid"].to_numpy())
    diagnostics.cook_contours(res[".hat"].to_numpy(), model.n_fixed)
    diagnostics.qq_frame(res[".std.resid"].to_numpy())
    diagnostics.ranef_lines(model, ranef.ranef_frame(model))
    diagnostics.ppc_frame(model, 50, seed=1)


def figures(model):
    """name -> (data function, figure function)."""
    group = next(iter(model.ranef()))
    return {
        "plot_ranef": (lambda: ranef.ranef_frame(model), lambda: lp.plot_ranef(model)),
        "plot_coef": (lambda: coef.coef_frame({"m1": model}), lambda: lp.plot_coef(model)),
        "plot_shrinkage": (lambda: shrinkage.shrinkage_data(model, group, "coef"),
                           lambda: lp.plot_shrinkage(model)),
        "plot_shrinkage(ranef)": (lambda: shrinkage.shrinkage_data(model, group, "ranef"),
                                  lambda: lp.plot_shrinkage(model, space="ranef")),
        "plot_diagnostics": (lambda: diagnostics_data(model), lambda: lp.plot_diagnostics(model, seed=1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    options.figure_size = (640 / 72, 480 / 72)
    options.dpi = 72
    print("load average before: {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
    print("| model | figure | data, cpu (ms) | build, cpu (ms) | draw, wall (s) | draw, cpu (s) "
          "| full GCs in the draws: s |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (data, formula) in MODELS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = lp.lmer(formula, lp.load_dataset(data))
        for fig, (data_fn, make) in figures(model).items():
            d = median_time(data_fn, args.repeat, warmup=True)[1]
            b = median_time(make, args.repeat, warmup=True)[1]
            w = draw_time(make, args.repeat)
            print(f"| {name} | {fig} | {1000 * d:.1f} | {1000 * b:.1f} | {w[0]:.2f} | {w[1]:.2f} | {w[2]} |",
                  flush=True)
        checks = lp.plot_diagnostics(model, seed=1)
        slowest = max(((draw_time(lambda c=c: lp.plot_diagnostics(model, checks=[c], seed=1)[c], args.repeat), c)
                       for c in checks), key=lambda timed: timed[0][1])
        print(f"| {name} | plot_diagnostics (slowest check: {slowest[1]}) | | | {slowest[0][0]:.2f} | "
              f"{slowest[0][1]:.2f} | {slowest[0][2]} |", flush=True)
    print("\nload average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
