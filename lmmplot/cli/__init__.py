"""The command line: ``lmmplot fit`` and ``lmmplot demo`` (also ``python -m lmmplot``).

Usage::

    lmmplot fit "Reaction ~ Days + (Days|Subject)" --data sleepstudy [--ml] [--out DIR]
    lmmplot demo [--out DIR]

A mistake in what was asked for (an unknown dataset, a missing file, a bad formula, an unknown
column) is reported in one line naming it, with exit status 2 and no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

USAGE_ERROR = 2


class CommandError(Exception):
    """A mistake in the command line's arguments, reported as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lmmplot", description="lme4's linear mixed models from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit", help="fit one model, print its summary, write its tables and a figure",
        description="Fit a linear mixed model as lme4's lmer() does; print lmerTest's summary "
                    "and write tidy.csv, augment.csv and fit.png to the output directory.")
    fit.add_argument("formula", help='an lme4 formula, e.g. "Reaction ~ Days + (Days|Subject)"')
    fit.add_argument("--data", required=True, metavar="NAME|FILE",
                     help="a bundled dataset's name (e.g. sleepstudy) or a .csv or .parquet file")
    fit.add_argument("--ml", action="store_true", help="fit by maximum likelihood (REML = FALSE)")
    fit.add_argument("--out", default=".", metavar="DIR", help="where to write the files (default: .)")

    demo = commands.add_parser(
        "demo", help="fit the course chapter's models, write every summary and figure",
        description="Fit the models of the course chapter 'Fitting mixed models' on the bundled "
                    "data; write each summary and each figure, and index.html showing them in "
                    "the chapter's order.")
    demo.add_argument("--out", default="lmmplot-demo", metavar="DIR",
                      help="where to write the files (default: lmmplot-demo)")
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"lmmplot: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    from ..errors import LmmplotError

    args = build_parser().parse_args(argv)
    if args.command == "fit":
        from .fit import run
    else:
        from .demo import run
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            run(args)
        except (CommandError, LmmplotError) as error:
            print(f"lmmplot: error: {error}", file=sys.stderr)
            return USAGE_ERROR
    return 0


def console() -> None:
    """The ``lmmplot`` command (and ``python -m lmmplot``): :func:`main`, then the process ends.

    It ends with its output flushed but without tearing the interpreter down: freeing what
    numba, pandas, scipy and formulaic loaded takes a few tenths of a second, longer than the
    command's own work after its figure, and everything the command wrote is closed by then.
    """
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status)
