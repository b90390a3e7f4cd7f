"""The figure process of ``lmmplot fit``, step by step, in one fresh process.

usage: python benchmarks/startup_steps.py

Runs, in the order the command's figure process meets them, the imports both of its processes
share, matplotlib and plotnine, the warm-up drawing (:func:`lmmplot.cli.fit.prepare_figure`),
the fit of ``Reaction ~ Days + (Days|Subject)`` (numba's import, its cached kernels, the fit:
the other process's part) and the figure built, drawn and saved (:func:`lmmplot.cli.fit.save_figure`),
and prints each step's wall and CPU time.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's lmmplot


def main() -> None:
    clock = [time.perf_counter(), time.process_time()]

    def lap(step: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        print(f"| {step} | {wall - clock[0]:.2f} | {cpu - clock[1]:.2f} |")
        clock[:] = wall, cpu

    print("| step | wall (s) | cpu (s) |\n|---|---:|---:|")
    import pandas  # noqa: F401
    import scipy.linalg  # noqa: F401

    import lmmplot.model  # noqa: F401
    import lmmplot.tidiers  # noqa: F401
    from lmmplot.cli import fit as cli_fit
    lap("shared imports (pandas, scipy, formulaic, the engine)")
    import plotnine  # noqa: F401
    lap("matplotlib and plotnine")
    cli_fit.prepare_figure()
    lap("warm-up drawing")
    import lmmplot as lp
    model = lp.lmer("Reaction ~ Days + (Days|Subject)", lp.load_dataset("sleepstudy"))
    lap("numba, its cached kernels and the fit (the other process's part)")
    with tempfile.TemporaryDirectory() as out:
        cli_fit.save_figure(model, Path(out) / "fit.png")
    lap("the pooling figure built, drawn and saved")


if __name__ == "__main__":
    main()
