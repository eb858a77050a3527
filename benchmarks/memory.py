"""Peak memory of encode and decode per pixel, in fresh processes; prints JSON.

    PYTHONPATH=src python benchmarks/memory.py --sizes 512 1024 2048 --model mbt2018-mean

For each square size a random smooth picture is encoded to a file and decoded back, each
step in its own Python process, and the process's peak resident memory (``ru_maxrss``) is
recorded, with the baseline of a process that only imported licodec and loaded the model
subtracted (``bytes_per_pixel = (peak − baseline) / pixels``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_STEP = r"""
import resource, sys
import numpy as np
from licodec.app import codec, zoo
model = zoo.load_model(sys.argv[2], int(sys.argv[3]))
size, path, what = int(sys.argv[1]), sys.argv[4], sys.argv[5]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if what == "encode":
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (size // 8 + 1, size // 8 + 1, 3)).astype(np.uint8)
    pixels = np.kron(small, np.ones((8, 8, 1), np.uint8))[:size, :size]
    open(path, "wb").write(codec.encode(pixels, model, max_pixels=size * size))
elif what == "decode":
    codec.decode(open(path, "rb").read(), model, max_pixels=size * size)
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(size: int, model: str, quality: int, path: Path, what: str) -> tuple[int, int]:
    """``(baseline, peak)`` resident KiB of one step in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _STEP, str(size), model, str(quality), str(path), what],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--model", default="mbt2018-mean")
    parser.add_argument("--quality", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.lic"
        for size in args.sizes:
            row = {"model": args.model, "quality": args.quality, "size": size}
            for what in ("encode", "decode"):
                base, peak = measure(size, args.model, args.quality, path, what)
                row[f"{what}_peak_mib"] = round(peak / 1024, 1)
                row[f"{what}_bytes_per_pixel"] = round((peak - base) * 1024 / size**2, 1)
            rows.append(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
