"""Time the chapter's figures: their layer data (the prediction frames) and ggplot.draw().

usage: python benchmarks/figures.py [--repeat N]

For each figure of lmmplot.chapter and plot_pooling of each chapter model: the median time to
build the ggplot with its layers (everything the layers compute, no drawing), and the median
time of ``ggplot.draw()`` at 640 × 480 pixels. Targets: layer data < 20 ms, draw < 1.5 s. Run
nothing else heavy at the same time: the machine has 2 cores, and every number is wall time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib.pyplot as plt  # noqa: E402
from plotnine import options  # noqa: E402

import lmmplot as lp  # noqa: E402
from lmmplot import chapter  # noqa: E402


def median_time(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    options.figure_size = (640 / 72, 480 / 72)
    options.dpi = 72
    fits = chapter.models()
    builders = {name: (lambda n=name: chapter.figure(n, fits)) for name in chapter.FIGURE_NAMES}
    for key in ("lme_sleep1", "lme_sleep2", "lme_slopesonly", "lme_dragons"):
        builders[f"plot_pooling({key})"] = lambda k=key: lp.plot_pooling(fits[k])
    for build in builders.values():  # first calls import and compile what they need
        plt.close(build().draw())
    print("| figure | layer data (ms) | draw (s) |\n| --- | ---: | ---: |")
    for name, build in builders.items():
        data = median_time(build, args.repeat)
        plot = build()
        draw = median_time(lambda: plt.close(plot.draw()), max(1, args.repeat // 2))
        print(f"| {name} | {1000 * data:.1f} | {draw:.2f} |", flush=True)


if __name__ == "__main__":
    main()
