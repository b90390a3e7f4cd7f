"""Time the chapter's figures: their layer data (the prediction frames) and ggplot.draw().

usage: python benchmarks/figures.py [--repeat N]

For each figure of lmmplot.chapter and plot_pooling of each chapter model: the median time to
build the ggplot with its layers (everything the layers compute, no drawing), and the median
time of ``ggplot.draw()`` at 640 × 480 pixels, each as wall and as CPU time (``process_time``:
what the figure costs, less the waiting on a busy machine). Targets: layer data < 20 ms, draw
< 1.5 s. The first row, ``floor``, is plotnine's own cost of the sleepstudy facets, the data
alone (``ggplot(sleep, aes("Days", "Reaction")) + geom_point() + facet_wrap("Subject", nrow=3)``):
what the 18-panel figures cost before any line is drawn; ``floor + theme_bw()`` the same in the
chapter's theme, which every chapter figure adds. The last column counts Python's full garbage
collections inside the timed draws and their seconds (each walks every object of the process).
The load average is printed first; run nothing else heavy at the same time (2 cores).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib.pyplot as plt  # noqa: E402
from plotnine import aes, facet_wrap, geom_point, ggplot, options, theme_bw  # noqa: E402

import lmmplot as lp  # noqa: E402
from measure import full_collections, median_time  # noqa: E402
from lmmplot import chapter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    options.figure_size = (640 / 72, 480 / 72)
    options.dpi = 72
    fits = chapter.models()
    sleep = fits["sleepstudy"]
    builders = {"floor": lambda: ggplot(sleep, aes("Days", "Reaction")) + geom_point()
                + facet_wrap("Subject", nrow=3),
                "floor + theme_bw()": lambda: ggplot(sleep, aes("Days", "Reaction")) + geom_point()
                + facet_wrap("Subject", nrow=3) + theme_bw()}
    builders.update({name: (lambda n=name: chapter.figure(n, fits)) for name in chapter.FIGURE_NAMES})
    for key in ("lme_sleep1", "lme_sleep2", "lme_slopesonly", "lme_dragons"):
        builders[f"plot_pooling({key})"] = lambda k=key: lp.plot_pooling(fits[k])
    for build in builders.values():  # first calls import and compile what they need
        plt.close(build().draw())
    print("load average before: {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
    print("| figure | layer data, wall (ms) | cpu (ms) | draw, wall (s) | cpu (s) | full GCs in the draws: s |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, build in builders.items():
        data = median_time(build, args.repeat)
        plots = iter([build() for _ in range(args.repeat)])  # draw() changes a plot: a new one each time
        with full_collections() as seen:
            draw = median_time(lambda: plt.close(next(plots).draw()), args.repeat)
        print(f"| {name} | {1000 * data[0]:.1f} | {1000 * data[1]:.1f} | {draw[0]:.2f} | {draw[1]:.2f} | "
              f"{len(seen)}: {sum(seen):.2f} |", flush=True)
    print("\nload average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
