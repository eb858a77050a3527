"""Fuzz campaign over ``.lic`` files of every model family; prints JSON counts.

    PYTHONPATH=src python benchmarks/fuzz.py --cases 100000 --seconds 3600 --memory-gib 4
    PYTHONPATH=src python benchmarks/fuzz.py --families gan-sc cca-yuv420 --cases 4000

``--cases`` is split evenly over the chosen ``--families`` (default: all, in the order below).

Each family (a loud seeded small model per registered context/hyperprior type) writes one
real file; seeded mutations of it — bit flips, byte replacements, insertions, deletions,
truncations and section-length edits, with the CRC recomputed so the checks behind it run —
are decoded in worker processes under an address-space cap (``--memory-gib``) and a
per-case time limit (``--case-seconds``). Outcomes:

* ``refused``: a licodec error (``BitstreamError``, ``ModelError``, ``ImageInputError``);
* ``decoded``: a picture of the header's size came back (an edit the format cannot see);
* ``other:<Type>``: any other exception (a defect);
* ``hang``: past the per-case limit; ``memory``: the worker died (cap hit).

The JSON has the counts per family and in total.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import struct
import time
import zlib
from collections import Counter
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from licodec.app import codec
from licodec.core.labels import KeepRule
from licodec.errors import LicodecError
from licodec.models import CompressionModel, build

FAMILIES = (
    "bmshj2018-factorized",
    "mbt2018-mean",
    "mbt2018-ckbd",
    "mbt2018-ckbd-lvqac",
    "tucodec",
    "cheng2020-anchor",
    "cca-yuv420",
    "gan-gc",
    "gan-sc",
)
_SMALL = {
    "cheng2020-anchor": {"n": 16},
    "gan-gc": {"width": 4, "blocks": 1, "noise": 2},
    "gan-sc": {"width": 4, "blocks": 1},
}


def family_file(name: str) -> tuple[CompressionModel, bytes]:
    """A loud seeded small model of ``name`` and a real file it wrote (48×64 picture)."""
    torch.manual_seed(0)
    model = build(name, 1, **_SMALL.get(name, {"n": 16, "m": 24})).eval()
    last = [m for m in model.g_a.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.mul_(30)
        last.bias.mul_(30)
        for module in model.modules():  # companding heads: a spread of A levels
            if hasattr(module, "compander"):
                nn.init.normal_(module.compander[2].weight, std=0.5)
                nn.init.constant_(module.compander[2].bias, 0.0)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    side = {}
    if "labels" in model.side_inputs:  # a label map of 8×8 regions; the cars are kept
        regions = rng.integers(0, 12, (6, 8), dtype=np.uint8)
        side = {"labels": np.kron(regions, np.ones((8, 8), np.uint8)),
                "keep": KeepRule(classes=frozenset({int(regions[0, 0])}))}  # fmt: skip
    return model, codec.encode(pixels, model, side=side)


def _reseal(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


def mutations(data: bytes, rng: np.random.Generator, count: int) -> Iterator[bytes]:
    """``count`` seeded mutations of ``data``, each with its CRC recomputed."""
    body = data[:-4]
    for _ in range(count):
        edited = bytearray(body)
        kind = int(rng.integers(0, 6))
        at = int(rng.integers(0, len(edited)))
        if kind == 0:  # bit flip
            edited[at] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # byte replacement
            edited[at] = (edited[at] + int(rng.integers(1, 256))) % 256
        elif kind == 2:  # insertion
            edited[at:at] = bytes(rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8))
        elif kind == 3:  # deletion
            del edited[at : at + int(rng.integers(1, 9))]
        elif kind == 4:  # truncation
            del edited[at:]
        else:  # a run of 0xff or 0x00 over several bytes
            width = int(rng.integers(2, 33))
            edited[at : at + width] = bytes([255 if rng.random() < 0.5 else 0]) * width
        yield _reseal(bytes(edited)) if edited else b""


def outcome(model: CompressionModel, data: bytes) -> str:
    """``refused``, ``decoded`` or ``other:<Type>`` (see module docstring)."""
    try:
        container = codec.read(data)
        image = codec.decode(container, model)
    except LicodecError:
        return "refused"
    except Exception as err:  # noqa: BLE001 - the point is to find them
        return f"other:{type(err).__name__}"
    expected = (container.header.width, container.header.height)
    return "decoded" if image.size == expected else "other:wrong-size"


def _worker(family: str, seed: int, count: int, memory_gib: float, queue: mp.Queue) -> None:
    limit = int(memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    torch.set_num_threads(1)
    model, data = family_file(family)
    for mutated in mutations(data, np.random.default_rng(seed), count):
        queue.put(outcome(model, mutated))


def campaign(args: argparse.Namespace) -> dict:
    """Run the campaign in chunks of ``--chunk`` cases per worker process."""
    totals: dict[str, Counter] = {family: Counter() for family in args.families}
    deadline = time.monotonic() + args.seconds
    per_family = args.cases // len(args.families)
    context = mp.get_context("spawn")
    for family in args.families:
        seed, done = 0, 0
        while done < per_family and time.monotonic() < deadline:
            count = min(args.chunk, per_family - done)
            queue: mp.Queue = context.Queue()
            worker = context.Process(
                target=_worker, args=(family, seed, count, args.memory_gib, queue)
            )
            worker.start()
            seen = 0
            while seen < count:
                try:
                    totals[family][queue.get(timeout=args.case_seconds + 60 * (seen == 0))] += 1
                    seen += 1
                except Exception:  # noqa: BLE001 - queue.Empty: a hang or a dead worker
                    totals[family]["memory" if not worker.is_alive() else "hang"] += 1
                    break
            worker.terminate()
            worker.join()
            done += count
            seed += 1
    total = sum(totals.values(), Counter())
    return {
        "cases": sum(total.values()),
        "total": dict(total),
        "families": {family: dict(counts) for family, counts in totals.items()},
        "memory_gib": args.memory_gib,
        "case_seconds": args.case_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3600.0, help="time box of the campaign")
    parser.add_argument("--chunk", type=int, default=2000, help="cases per worker process")
    parser.add_argument("--memory-gib", type=float, default=4.0, help="address-space cap")
    parser.add_argument("--case-seconds", type=float, default=10.0, help="hang threshold")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    print(json.dumps(campaign(parser.parse_args())))


if __name__ == "__main__":
    main()
