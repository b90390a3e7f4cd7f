"""Time the one-call figures plot_ranef, plot_coef, plot_shrinkage and plot_diagnostics.

For each of the chapter's models: ``data`` is the figure's data frames alone (what its layers
draw: ranef_frame, coef_frame, shrinkage_data, the diagnostics' frames), ``build`` the whole
call that returns the ggplot (data plus plotnine's layer copies), ``draw`` ``ggplot.draw()``.
Each number is the median of several runs after one warm-up, wall time; targets: data under
20 ms, draw under 1.5 s. Run alone on the machine: ``python benchmarks/figures_extra.py``.
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import lmmplot as lp  # noqa: E402
from lmmplot.plotting import coef, diagnostics, ranef, shrinkage  # noqa: E402

MODELS = {
    "sleep_int": ("sleepstudy", "Reaction ~ Days + (1|Subject)"),
    "sleep_slope": ("sleepstudy", "Reaction ~ Days + (1 + Days|Subject)"),
    "irrigation": ("irrigation", "yield ~ irrigation*variety + (1|field)"),
    "dragons": ("dragons", "intelligence ~ wingspan*scales + (1 + wingspan|mountain)"),
}


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def diagnostics_data(model):
    res = diagnostics.residual_frame(model)
    diagnostics.smooth_frame(res[".fitted"].to_numpy(), res[".resid"].to_numpy())
    diagnostics.smooth_frame(res[".fitted"].to_numpy(), res[".sqrt.abs.std.resid"].to_numpy())
    diagnostics.cook_contours(res[".hat"].to_numpy(), model.n_fixed)
    diagnostics.qq_frame(res[".std.resid"].to_numpy())
    ranef.ranef_frame(model)
    diagnostics.ranef_lines(model)
    sims = model.simulate(50, seed=1).to_numpy().T
    diagnostics.density_frame(np.vstack([sims, model.fixed.y]))


def figures(model):
    """name -> (data function, figure function)."""
    return {
        "plot_ranef": (lambda: ranef.ranef_frame(model), lambda: lp.plot_ranef(model)),
        "plot_coef": (lambda: coef.coef_frame({"m1": model}), lambda: lp.plot_coef(model)),
        "plot_shrinkage": (lambda: shrinkage.shrinkage_data(model, next(iter(model.ranef())), "coef"),
                           lambda: lp.plot_shrinkage(model)),
        "plot_shrinkage(ranef)": (lambda: shrinkage.shrinkage_data(model, next(iter(model.ranef())), "ranef"),
                                  lambda: lp.plot_shrinkage(model, space="ranef")),
        "plot_diagnostics": (lambda: diagnostics_data(model), lambda: lp.plot_diagnostics(model, seed=1)),
    }


def draw_ms(make, repeats: int) -> float:
    def once():
        out = make()
        fig = out.draw()
        plt.close(fig)

    return median_ms(once, repeats) - median_ms(make, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--draw-repeats", type=int, default=3)
    args = parser.parse_args()
    print("| model | figure | data (ms) | build (ms) | draw (s) |")
    print("|---|---|---:|---:|---:|")
    for name, (data, formula) in MODELS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = lp.lmer(formula, lp.load_dataset(data))
        for fig, (data_fn, make) in figures(model).items():
            d = median_ms(data_fn, args.repeats)
            b = median_ms(make, args.repeats)
            w = draw_ms(make, args.draw_repeats) / 1000
            print(f"| {name} | {fig} | {d:.1f} | {b:.1f} | {w:.2f} |", flush=True)


if __name__ == "__main__":
    main()
