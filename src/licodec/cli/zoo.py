"""``licodec zoo``: list the registered models and the weights that ship."""

from __future__ import annotations

import argparse

from licodec.app import zoo
from licodec.models import available, spec


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``zoo`` subcommand."""
    parser = subparsers.add_parser("zoo", help="list models, qualities and shipped weights")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """One line per model: qualities, shipped qualities with their Kodak bpp/PSNR."""
    for name in available():
        family = spec(name)
        qualities = ",".join(str(q) for q in sorted(family.qualities))
        shipped = zoo.shipped_qualities(name)
        marker = " (default)" if name == zoo.DEFAULT_MODEL else ""
        print(f"{name}{marker}: qualities {qualities}; {family.description}")
        for quality in shipped:
            entry = zoo.manifest()[name][str(quality)]
            kodak = entry.get("kodak", {})
            print(
                f"    q{quality}: shipped, Kodak {kodak.get('bpp', float('nan')):.3f} bpp, "
                f"{kodak.get('psnr_rgb', float('nan')):.2f} dB"
            )
    return 0
