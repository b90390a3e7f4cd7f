"""A second process that draws a figure while the first one fits the model.

``lmmplot fit`` spends about as long importing plotnine and drawing as importing the engine and
fitting. :class:`Drawer` starts a child process (forked once the engine's imports are done, so
that it shares them) which imports plotnine and pays its first-use costs while the parent fits;
the parent then sends it the fitted model and the figure's path, prints the summary and writes
the tables, and waits for the figure. Where fork is not safe (macOS, Windows) it draws in the
process itself, after the fit.
"""
from __future__ import annotations

import signal
import sys

from . import CommandError


class Drawer:
    """Draws ``draw(model, path)`` in a child process prepared by ``prepare()``, or inline.

    Use as a context manager: leaving it stops the child (it is never left running).

    Parameters
    ----------
    draw : callable
        ``draw(model, path)`` writes the figure of ``model`` to ``path``.
    prepare : callable
        Run by the child while it waits: imports and first-use costs of ``draw``.
    process : bool, optional
        Whether to draw in a child process; by default where fork is safe (Linux).
    """

    def __init__(self, draw, prepare, process: bool | None = None):
        self.draw = draw
        self._job = None
        self._child = None
        if process is None:
            process = sys.platform.startswith("linux")
        if process:
            import multiprocessing

            context = multiprocessing.get_context("fork")
            self._conn, child_end = context.Pipe()
            self._child = context.Process(target=_serve, args=(child_end, self._conn, draw, prepare),
                                          daemon=True, name="lmmplot-figure")
            self._child.start()
            child_end.close()

    def submit(self, model, path) -> None:
        """Start drawing the figure of ``model`` to ``path``."""
        if self._child is not None:
            try:
                self._conn.send((model, path))
                return
            except Exception:  # noqa: BLE001 - a model that cannot be pickled is drawn here
                self._stop()
        self._job = (model, path)

    def result(self) -> None:
        """Wait for the figure; a failure is a :class:`CommandError` with a one-line message."""
        if self._child is None:
            message = _draw(self.draw, *self._job)
        else:
            try:
                message = self._conn.recv()
            except EOFError:
                self._child.join()
                message = f"the figure's process ended unexpectedly (exit code {self._child.exitcode})"
        if message is not None:
            raise CommandError(message)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._child is not None:
            self._stop(wanted=exc[0] is None)

    def _stop(self, wanted: bool = False) -> None:
        """End the child: let it finish a figure still ``wanted``, else terminate it."""
        self._conn.close()  # a child still waiting for a model reads the end and exits
        if not wanted and self._child.is_alive():
            self._child.terminate()
        self._child.join()
        self._child = None


def _draw(draw, model, path) -> str | None:
    """``draw(model, path)``; None, or the one-line message of its failure."""
    from ..errors import LmmplotError

    try:
        draw(model, path)
    except LmmplotError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - any failure is reported as one line, not a traceback
        text = str(error).strip().splitlines()
        return f"cannot draw the figure: {type(error).__name__}" + (f": {text[0]}" if text else "")
    return None


def _serve(conn, parent_end, draw, prepare) -> None:
    """The child: prepare, then draw the one figure it is sent and answer with :func:`_draw`'s result."""
    parent_end.close()  # so that the pipe ends, and the child with it, if the parent dies
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is the parent's to handle
    try:
        prepare()
    except Exception:  # noqa: BLE001 - draw() meets the same failure and reports it
        pass
    try:
        job = conn.recv()
    except EOFError:  # the parent stopped before it had a model
        return
    conn.send(_draw(draw, *job))
