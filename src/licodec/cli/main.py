"""``licodec`` command: one subcommand per module, each with ``register`` and ``run``.

Errors that licodec raises on purpose (bad input, corrupted files, unknown models) print one
line, ``licodec: error: …``, and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
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
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="licodec", description="Learned image compression that writes real files."
    )
    parser.add_argument("--version", action="version", version=f"licodec {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"licodec.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``licodec`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LicodecError as err:
        print(f"licodec: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(
            f"licodec: error: {err.strerror or err}: {err.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
