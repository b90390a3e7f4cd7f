"""Start-up: ``import lmmplot`` and the command line's ``lmmplot fit`` in fresh processes.

Usage::

    python benchmarks/startup.py [--repeat N] [--cold]

Each command runs ``N`` times (default 5) in a new interpreter; the table gives the median
wall time and the median CPU time (user + system of the process and the children it waited
for, from ``os.wait4``: ``lmmplot fit`` draws its figure in a second process) of each. A row
gives what a notebook waits for, ``import lmmplot`` and the first ``lp.lmer``; two rows split
``lmmplot fit`` in its parts: the same fit, summary and tables without the figure, and
plotnine's floor for the figure, a fresh process that imports plotnine and saves the bare
18-panel sleepstudy figure (points only, no model) at the size ``fit`` writes. On two idle
cores ``fit``'s wall time is about the longer of the two processes', its CPU time their sum;
wall time also counts waiting for a busy machine.
``--cold`` first empties numba's on-disk cache of the compiled kernels, so that the first
``fit`` run shows the one-off compilation a fresh clone pays. The children may write bytecode
caches (``PYTHONDONTWRITEBYTECODE`` is dropped from their environment), as on a user's machine.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMULA = "Reaction ~ Days + (Days|Subject)"


FIRST_FIT = f"""
import lmmplot as lp
lp.lmer({FORMULA!r}, lp.load_dataset("sleepstudy"))
"""
NO_FIGURE = f"""
import lmmplot as lp
model = lp.lmer({FORMULA!r}, lp.load_dataset("sleepstudy"))
print(model.summary())
lp.tidy(model).to_csv({{out!r}} + "/tidy.csv")
lp.augment(model).to_csv({{out!r}} + "/augment.csv")
"""
FIGURE_FLOOR = """
import lmmplot as lp
from plotnine import aes, facet_wrap, geom_point, ggplot
plot = ggplot(lp.load_dataset("sleepstudy"), aes("Days", "Reaction")) + geom_point() + facet_wrap("Subject")
plot.save({out!r} + "/floor.png", width=10, height=6, dpi=100, verbose=False)
"""


def commands(out: str) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "python -c pass": [py, "-c", "pass"],
        "import lmmplot": [py, "-c", "import lmmplot"],
        "import lmmplot, first lp.lmer (sleepstudy)": [py, "-c", FIRST_FIT],
        "lmmplot fit (sleepstudy, summary + csv + figure)":
            [py, "-m", "lmmplot", "fit", FORMULA, "--data", "sleepstudy", "--out", out],
        "its fit, summary and csv alone (no figure)": [py, "-c", NO_FIGURE.format(out=out)],
        "plotnine's floor: the bare 18-panel figure saved": [py, "-c", FIGURE_FLOOR.format(out=out)],
    }


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv`` (which must succeed)."""
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="empty numba's kernel cache first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        if args.cold:
            shutil.rmtree(ROOT / "lmmplot" / "__pycache__", ignore_errors=True)
            wall, cpu = run_once(commands(out)["lmmplot fit (sleepstudy, summary + csv + figure)"])
            print(f"first fit with an empty kernel cache: wall {wall:.2f} s, cpu {cpu:.2f} s\n")
        print("load average before: {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
        print("| command | wall (median) | cpu (median) |\n|---|---|---|")
        for name, argv in commands(out).items():
            runs = [run_once(argv) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"| `{name}` | {wall:.2f} s | {cpu:.2f} s |", flush=True)
        print("\nload average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
