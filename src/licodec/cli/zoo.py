"""``licodec zoo``: list the registered models and the weights that ship."""

from __future__ import annotations

import argparse

from licodec.app import zoo
from licodec.models import available, spec

DATASETS = {"kodak": "Kodak", "camvid-test": "CamVid test"}
"""Manifest keys of the evaluation sets, and how they are named."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``zoo`` subcommand."""
    parser = subparsers.add_parser("zoo", help="list models, qualities and shipped weights")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """One line per model: qualities, shipped qualities with their measured bpp/PSNR (Kodak,
    or the set the manifest names, e.g. CamVid test for ``gan-sc``)."""
    for name in available():
        family = spec(name)
        qualities = ",".join(str(q) for q in sorted(family.qualities))
        shipped = zoo.shipped_qualities(name)
        marker = " (default)" if name == zoo.DEFAULT_MODEL else ""
        print(f"{name}{marker}: qualities {qualities}; {family.description}")
        for quality in shipped:
            entry = zoo.manifest()[name][str(quality)]
            dataset = next((d for d in DATASETS if d in entry), "kodak")
            measured = entry.get(dataset, {})
            psnr = next((k for k in ("psnr_rgb", "psnr_yuv") if k in measured), "psnr_rgb")
            print(
                f"    q{quality}: shipped, {DATASETS.get(dataset, dataset)} "
                f"{measured.get('bpp', float('nan')):.3f} bpp, "
                f"{measured.get(psnr, float('nan')):.2f} dB {psnr[5:].upper()}"
            )
    return 0
