"""The figure's second process: its results and failures as the command line reports them."""
import os
import subprocess
import sys
import time

import pytest

from lmmplot.cli import CommandError
from lmmplot.cli.worker import Drawer
from lmmplot.errors import DataError

BOTH = pytest.mark.parametrize("process", [True, False], ids=["child", "inline"])


def write(model, path):
    path.write_text(f"figure of {model}")


def fail(model, path):
    raise ValueError(f"no figure of {model}\nsecond line")


def refuse(model, path):
    raise DataError(f"column {model!r} is not numeric")


def vanish(model, path):
    os._exit(3)


def nothing():
    pass


@BOTH
def test_the_figure_is_drawn_from_what_is_sent(tmp_path, process):
    with Drawer(write, nothing, process=process) as drawer:
        drawer.submit("m", tmp_path / "f.txt")
        drawer.result()
    assert (tmp_path / "f.txt").read_text() == "figure of m"


@BOTH
@pytest.mark.parametrize("draw, message", [
    (fail, "cannot draw the figure: ValueError: no figure of m"),
    (refuse, "column 'm' is not numeric"),
])
def test_a_failure_is_a_one_line_command_error(tmp_path, process, draw, message):
    with Drawer(draw, nothing, process=process) as drawer:
        drawer.submit("m", tmp_path / "f.txt")
        with pytest.raises(CommandError) as error:
            drawer.result()
    assert str(error.value) == message


def test_a_child_that_dies_is_reported(tmp_path):
    with Drawer(vanish, nothing, process=True) as drawer:
        drawer.submit("m", tmp_path / "f.txt")
        with pytest.raises(CommandError, match=r"the figure's process ended unexpectedly \(exit code 3\)"):
            drawer.result()


def test_a_failed_preparation_is_reported_by_the_drawing(tmp_path):
    def prepare():
        raise ImportError("no plotnine")

    with Drawer(fail, prepare, process=True) as drawer:
        drawer.submit("m", tmp_path / "f.txt")
        with pytest.raises(CommandError, match="ValueError"):
            drawer.result()


@pytest.mark.parametrize("submitted", [False, True])
def test_leaving_on_an_error_leaves_no_child_running(tmp_path, submitted):
    with pytest.raises(KeyError):
        with Drawer(write, nothing, process=True) as drawer:
            child = drawer._child
            if submitted:
                drawer.submit("m", tmp_path / "f.txt")
            raise KeyError("the fit failed")
    assert child.exitcode is not None and not child.is_alive()


def test_what_cannot_be_sent_is_drawn_here(tmp_path):
    with Drawer(write, nothing, process=True) as drawer:
        child = drawer._child
        drawer.submit(lambda: None, tmp_path / "f.txt")  # a lambda does not pickle
        assert not child.is_alive()
        drawer.result()
    assert (tmp_path / "f.txt").read_text().startswith("figure of <function")


def test_a_child_whose_parent_dies_ends(tmp_path):
    parent = (
        "import os, sys\n"
        "from lmmplot.cli.worker import Drawer\n"
        "drawer = Drawer(print, lambda: None, process=True)\n"
        "print(drawer._child.pid, flush=True)\n"
        "os._exit(0)  # as if killed: no clean-up\n")
    done = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=60)
    pid = int(done.stdout)
    for _ in range(100):
        if not _running(pid):
            break
        time.sleep(0.1)
    assert not _running(pid)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
