"""Run one measurement in a child process: its JSON answer, its peak memory, a time limit.

Each child's peak resident set comes from ``os.wait4``, which reports that child's own
resource usage, so peaks of different targets never mix. A child that resets its peak
(:func:`reset_peak_memory`) before fitting reports the peak of the fits alone.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ChildResult:
    """What a child printed as JSON on its last line (None on failure), and how it ended."""

    answer: dict | None
    peak_mb: float
    status: str  # "ok", "timeout" or "failed"
    stderr: str


def child_args(names) -> argparse.Namespace:
    """A child's command line: the target's name and the repeat rule (see timed_repeats)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(names))
    parser.add_argument("--budget", type=float, default=3.0)
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--max-reps", type=int, default=30)
    return parser.parse_args()


def run_child(cmd: list[str], timeout: float) -> ChildResult:
    """Run ``cmd``; kill it after ``timeout`` seconds. Its stdout's last line must be JSON."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        status = "ok"
        while True:
            pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                pid, wait_status, usage = os.wait4(proc.pid, 0)
                status = "timeout"
                break
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        if status == "ok" and proc.returncode != 0:
            status = "failed"
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    answer = None
    if status == "ok":
        lines = stdout.strip().splitlines()
        try:
            answer = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            status = "failed"
            stderr += "\n[stdout] " + stdout[-1000:]
    return ChildResult(answer, usage.ru_maxrss / 1024.0, status, stderr)


def memory_mb() -> tuple[float, float]:
    """This process's resident set now and its peak (VmRSS, VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return tuple(float(fields[name].split()[0]) / 1024.0 for name in ("VmRSS", "VmHWM"))


def reset_peak_memory() -> bool:
    """Start this process's peak resident set afresh (Linux: clear_refs 5); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def repeat_count(first_seconds: float, budget: float, min_reps: int, max_reps: int) -> int:
    """How many timed fits follow the warm-up: about ``budget`` seconds' worth, within bounds."""
    if first_seconds <= 0:
        return max_reps
    return max(min_reps, min(max_reps, math.ceil(budget / first_seconds)))


def timed_repeats(fit, budget: float, min_reps: int, max_reps: int) -> tuple[list[float], object]:
    """Wall times of repeated ``fit()`` calls after a warm-up call, and the last result.

    The warm-up sets how many timed calls fit in ``budget`` seconds (within the bounds);
    a warm-up slower than the whole budget is itself the one measurement.
    """
    t0 = time.perf_counter()
    result = fit()
    first = time.perf_counter() - t0
    if first >= budget:
        return [first], result
    times: list[float] = []
    for _ in range(repeat_count(first, budget, min_reps, max_reps)):
        result = None  # let the previous fit go before the next one, so peaks do not add up
        t0 = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - t0)
    return times, result


def median_time(func, repeat: int, warmup: bool = False) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``func()`` over ``repeat`` calls (after one
    untimed call with ``warmup``)."""
    if warmup:
        func()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


@contextlib.contextmanager
def full_collections():
    """Count Python's full (generation 2) garbage collections inside the block and their
    seconds: yields a list that ends up holding each one's duration."""
    seen: list[float] = []
    started = [0.0]

    def callback(phase, info):
        if info["generation"] == 2:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                seen.append(time.perf_counter() - started[0])

    gc.callbacks.append(callback)
    try:
        yield seen
    finally:
        gc.callbacks.remove(callback)
