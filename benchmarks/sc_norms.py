"""Where SC's kept areas lose to GC: the instance norms' statistics, or the invented surround?

``gan-sc`` runs ``gan-gc``'s generator, whose every layer normalises each channel over the
whole picture (instance norm), on features that are GC's where a block is kept and invented
elsewhere. So two things separate SC's kept pixels from GC's: the invented blocks near them
(through the convolutions) and the statistics every norm takes over the invented area too.
This diagnostic decodes each SC file again with its norms fed GC's statistics — the means
and variances GC's generator computed on the file's full latent, per layer and channel (an
oracle: a decoder does not have them) — first at the first norm alone, then at every norm,
and reports PSNR inside the kept blocks (the rule's own, without its margin) beside SC and GC
as decoded. What the oracle recovers is the statistics' share of the gap; what it leaves is
the surround's. Real files of the shipped weights; CamVid val unless ``--split``:

    python benchmarks/sc_norms.py --split val --quality 2 --keep-margin 1
    python benchmarks/sc_norms.py --split train --sequence 0001TP   # the dusk check

Written to ``--out`` (default ``results/gan/sc-norms-{split}-q{Q}.json``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from gan import (
    KEEP_RULES,
    gan_file,
    labels_of,
    load,
    mean_rows,
    own_blocks,
    pictures,
    sc_header,
)
from torch import Tensor, nn

from licodec.app import codec, zoo
from licodec.core.labels import DEFAULT_MARGIN, KeepRule, parse_classes
from licodec.core.metrics import psnr_uint8
from licodec.models import CompressionModel
from licodec.models.gan import CAMVID_CLASSES

Statistics = list[tuple[Tensor, Tensor]]


def instance_norms(model: CompressionModel) -> list[nn.InstanceNorm2d]:
    """The generator's instance norms in the order a forward pass runs them."""
    return [m for m in model.g_s.modules() if isinstance(m, nn.InstanceNorm2d)]


@contextmanager
def recording(norms: list[nn.InstanceNorm2d]) -> Iterator[Statistics]:
    """Collect each norm's input mean and (biased) variance per channel, ``N×C×1×1``."""
    seen: Statistics = []

    def hook(_module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        x = inputs[0]
        seen.append((x.mean((2, 3), keepdim=True), x.var((2, 3), keepdim=True, unbiased=False)))

    handles = [norm.register_forward_pre_hook(hook) for norm in norms]
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def replaying(norms: list[nn.InstanceNorm2d], statistics: Statistics) -> Iterator[None]:
    """Make norm ``i`` normalise with ``statistics[i]`` instead of its input's own."""

    def hook_for(index: int):
        def hook(module: nn.InstanceNorm2d, inputs: tuple[Tensor, ...], _out: Tensor) -> Tensor:
            mean, var = statistics[index]
            y = (inputs[0] - mean) / torch.sqrt(var + module.eps)
            return y * module.weight[:, None, None] + module.bias[:, None, None]

        return hook

    handles = [norm.register_forward_hook(hook_for(i)) for i, norm in enumerate(norms)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def measure(
    split: str,
    quality: int,
    margin: int,
    count: int,
    sequence: str = "",
    sc_weights: Path | None = None,
) -> dict:
    sc, gc = zoo.load_model("gan-sc", quality, sc_weights), zoo.load_model("gan-gc", quality)
    sc_norms, gc_norms = instance_norms(sc), instance_norms(gc)
    rows: dict[str, list[dict[str, float]]] = {}
    for path in pictures("camvid", count, split, sequence):
        pixels, labels = load(path), labels_of(path)
        with recording(gc_norms) as statistics:
            _, gc_decoded = gan_file(gc, pixels)
        if len(statistics) != len(sc_norms):
            raise RuntimeError("gan-sc's generator is not gan-gc's: the norms do not pair")
        for name, classes in KEEP_RULES.items():
            if classes is None:
                continue
            ids = parse_classes(classes, CAMVID_CLASSES)
            rule = KeepRule(classes=ids, margin=margin)
            data, decoded = gan_file(sc, pixels, {"labels": labels, "keep": rule})
            container = codec.read(data)
            with replaying(sc_norms[:1], statistics[:1]):
                first = codec.decode_pixels(container, sc)
            with replaying(sc_norms, statistics):
                every = codec.decode_pixels(container, sc)
            kept = own_blocks(ids, labels)
            rows.setdefault(name, []).append({
                f"psnr_kept_{key}": psnr_uint8(pixels[kept], picture[kept])
                for key, picture in (("sc", decoded), ("sc_gc_first_norm", first),
                                     ("sc_gc_norms", every), ("gc", gc_decoded))
            })  # fmt: skip
        print(path.name, flush=True)
    return {
        **sc_header(split, sequence, count, quality, margin, sc_weights),
        "keep_rules": {k: {"classes": KEEP_RULES[k], **mean_rows(r)} for k, r in rows.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="val")
    parser.add_argument("--quality", type=int, default=2)
    parser.add_argument("--keep-margin", type=int, default=DEFAULT_MARGIN)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--sequence", default="", help="only the frames of this sequence")
    parser.add_argument("--sc-weights", type=Path, help="gan-sc weights (default: shipped)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = measure(
        args.split, args.quality, args.keep_margin, args.count, args.sequence, args.sc_weights
    )
    out = args.out or Path(f"results/gan/sc-norms-{args.split}-q{args.quality}.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
