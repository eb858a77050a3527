"""Options several subcommands share."""

from __future__ import annotations

import argparse
from pathlib import Path

from licodec.core.files import default_images_dir, list_images


def add_images_option(parser: argparse.ArgumentParser) -> None:
    """``--images DIR``: the image folder (default: ``$LICODEC_KODAK``, else Kodak beside the
    checkout)."""
    parser.add_argument(
        "--images",
        type=Path,
        help="image folder (default: $LICODEC_KODAK, else ../shared/data/kodak)",
    )


def images_of(args: argparse.Namespace) -> list[Path]:
    """The image files ``--images`` names (or the default folder's)."""
    return list_images(args.images or default_images_dir())
