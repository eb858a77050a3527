"""``licodec`` command: one subcommand per module, each with ``register`` and ``run``.

Errors that licodec raises on purpose (bad input, corrupted files, unknown models) and
operating-system errors print one line, ``licodec: error: …``, and exit with status 2; any
other exception is a defect and prints one line too, ``licodec: internal error: …`` (exit 1).
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from licodec import __version__
from licodec.errors import LicodecError

SUBCOMMANDS = (
    "encode",
    "decode",
    "info",
    "zoo",
    "eval",
    "baseline",
    "bdrate",
    "plot",
    "demo",
    "train",
    "calibrate",
    "allocate",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="licodec", description="Learned image compression that writes real files."
    )
    parser.add_argument("--version", action="version", version=f"licodec {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"licodec.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``licodec`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as err:
        if args.debug:
            raise
        return _report(err)


def _report(err: Exception) -> int:
    """Print ``err`` on one line; returns the exit status (2: bad input, 1: a defect)."""
    if isinstance(err, LicodecError):
        print(f"licodec: error: {err}", file=sys.stderr)
        return 2
    if isinstance(err, OSError):
        message = f"{err.strerror or err}: {err.filename or ''}".rstrip(": ")
        print(f"licodec: error: {message}", file=sys.stderr)
        return 2
    print(
        f"licodec: internal error: {type(err).__name__}: {err} (rerun with --debug)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
