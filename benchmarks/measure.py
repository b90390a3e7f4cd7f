"""Run one measurement in a child process: its JSON answer, its peak memory, a time limit.

Each child's peak resident set comes from ``os.wait4``, which reports that child's own
resource usage, so peaks of different targets never mix.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass


@dataclass
class ChildResult:
    """What a child printed as JSON on its last line (None on failure), and how it ended."""

    answer: dict | None
    peak_mb: float
    seconds: float
    status: str  # "ok", "timeout" or "failed"
    stderr: str


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
        seconds = time.perf_counter() - start
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
    return ChildResult(answer, usage.ru_maxrss / 1024.0, seconds, status, stderr)


def repeat_count(first_seconds: float, budget: float, min_reps: int, max_reps: int) -> int:
    """How many timed fits follow the warm-up: about ``budget`` seconds' worth, within bounds."""
    if first_seconds <= 0:
        return max_reps
    return max(min_reps, min(max_reps, math.ceil(budget / first_seconds)))


def timed_repeats(fit, budget: float, min_reps: int, max_reps: int, warm_up: bool = True) -> tuple[list[float], object]:
    """Wall times of repeated ``fit()`` calls, and the last result.

    With ``warm_up`` one untimed call comes first and sets how many timed calls fit in
    ``budget`` seconds; without it, ``min_reps`` timed calls are made.
    """
    reps = min_reps
    if warm_up:
        t0 = time.perf_counter()
        fit()
        reps = repeat_count(time.perf_counter() - t0, budget, min_reps, max_reps)
    times: list[float] = []
    result = None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - t0)
    return times, result
