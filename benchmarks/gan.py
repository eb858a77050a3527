"""Generative compression beside HEVC and WebP: realism at equal bytes, SC's savings, and the
comparison pictures.

Every number is from real files: the shipped ``gan-gc`` / ``gan-sc`` weights (``--twin``:
the MSE-only twin trained the same way, not shipped), HEVC 4:4:4 (x265, QP) and WebP at the
bytes of each GC file. Run from the repository root:

    python benchmarks/gan.py --part kodak    # Kodak (24 pictures)
    python benchmarks/gan.py --part camvid   # CamVid test (every 5th frame: 24)
    python benchmarks/gan.py --part sc       # SC against GC on CamVid test, by kept area
                                             # (--quality 1: SC q1 against GC q1)
    python benchmarks/gan.py --part pictures # the PNGs of results/gan/

``kodak`` / ``camvid`` write ``results/gan/{part}.json``: per system the mean bpp (whole
file), the rate bound and real/bound ratio of GC, PSNR, MS-SSIM, BRISQUE, NIQE, Butteraugli
and SSIMULACRA 2 (:mod:`licodec.app.realism`). The HEVC twin of GC qQ is, per picture, the
smallest QP whose file fits GC's bytes (QP 51 where none fits: then HEVC spends more bytes,
and its mean bpp says so); WebP cannot go as low on these pictures and is left to the
pictures. ``sc`` writes ``results/gan/sc.json`` (``sc-q1.json`` with ``--quality 1``;
``sc-margin0.json`` with ``--keep-margin 0``, the rules' margin, default 1 block): per
keep-rule (everything; all but sky, road and pavement; only the objects car, pedestrian,
bicyclist, sign, pole, fence) the synthesised share of the latent, the bpp of the latent,
label map, mask and whole file, and PSNR inside the kept blocks (the rule's blocks without
its margin), beside GC at the same C on the same pixels (the shipped GC, and with
``--gc-twin`` GC trained as the shipped SC was: same start, data, steps and schedule), and
GC's generator on GC's latent with SC's dropped blocks zeroed (``psnr_kept_gc_masked``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from licodec.app import codec, zoo
from licodec.app.baselines import get_codec
from licodec.app.baselines.base import BaselineCodec, CodedImage
from licodec.app.data import label_folder
from licodec.app.realism import realism_metrics
from licodec.core.bitstream import SectionTag, unpack
from licodec.core.files import list_images
from licodec.core.image import crop, to_pixels, to_tensor
from licodec.core.labels import DEFAULT_MARGIN, KeepRule, parse_classes, read_label_map
from licodec.core.metrics import ms_ssim_uint8, psnr_uint8
from licodec.models import CompressionModel
from licodec.models.gan import CAMVID_CLASSES, STRIDE

SHARED = Path("../shared/data")
HEVC_QPS = range(30, 52)
KEEP_RULES = {
    "everything": None,
    "no-sky-road-pavement": "building,pole,tree,sign,fence,car,pedestrian,bicyclist,void",
    "objects": "car,pedestrian,bicyclist,sign,pole,fence",
}


def pictures(part: str, count: int, split: str = "test", sequence: str = "") -> list[Path]:
    """``count`` pictures: Kodak's first, or CamVid ``split``'s frames (of one ``sequence``,
    the file-name prefix, if given) evenly spaced."""
    if part == "kodak":
        return list_images(SHARED / "kodak")[:count]
    frames = [f for f in list_images(SHARED / "camvid" / split) if f.name.startswith(sequence)]
    return frames[:: max(1, len(frames) // count)][:count]


def load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def labels_of(frame: Path) -> np.ndarray:
    """The label map of a CamVid frame, from the annot folder beside its split."""
    return read_label_map(label_folder(frame.parent) / f"{frame.stem}.png")


def gan_file(model: CompressionModel, pixels: np.ndarray, side: dict | None = None):
    """``(file bytes, decoded pixels)`` of a real GAN file."""
    data = codec.encode(pixels, model, side=side)
    return data, codec.decode_pixels(codec.read(data), model)


def within(baseline: BaselineCodec, pixels: np.ndarray, budget: int, qualities) -> CodedImage:
    """The best quality (in ``qualities``, worst last) whose file fits ``budget`` bytes, by
    bisection (sizes fall with the quality index); the worst one where none fits."""
    qualities = list(qualities)
    lo, hi, best = 0, len(qualities) - 1, None
    worst = baseline.code(pixels, qualities[hi])
    if len(worst.data) > budget:
        return worst
    best = worst
    while lo < hi:
        mid = (lo + hi) // 2
        coded = baseline.code(pixels, qualities[mid])
        if len(coded.data) <= budget:
            best, hi = coded, mid
        else:
            lo = mid + 1
    return best


def measures(reference: np.ndarray, decoded: np.ndarray, data: bytes) -> dict[str, float]:
    h, w = reference.shape[:2]
    return {
        "bpp": 8 * len(data) / (h * w),
        "psnr-rgb": psnr_uint8(reference, decoded),
        "ms-ssim-rgb": ms_ssim_uint8(reference, decoded),
        **realism_metrics(reference, decoded),
    }


def mean_rows(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def rd_part(part: str, count: int, twin: Path | None) -> dict[str, Any]:
    models = {f"gan-gc-q{q}": zoo.load_model("gan-gc", q) for q in (1, 2)}
    if twin is not None:
        models["gan-gc-q2-mse-twin"] = zoo.load_model("gan-gc", 2, twin)
    hevc = get_codec("hevc")
    rows: dict[str, list[dict[str, float]]] = {}
    for path in pictures(part, count):
        pixels = load(path)
        for name, model in models.items():
            data, decoded = gan_file(model, pixels)
            rows.setdefault(name, []).append(measures(pixels, decoded, data))
            if "twin" in name:
                continue
            matched = within(hevc, pixels, len(data), HEVC_QPS)
            rows.setdefault(f"hevc-444@{name}", []).append(
                measures(pixels, matched.decoded, matched.data)
            )
        print(path.name, flush=True)
    result = {name: mean_rows(r) for name, r in rows.items()}
    for q in (1, 2):
        bound = models[f"gan-gc-q{q}"].rate_bound_bpp
        result[f"gan-gc-q{q}"]["rate_bound_bpp"] = bound
        result[f"gan-gc-q{q}"]["bpp_over_bound"] = result[f"gan-gc-q{q}"]["bpp"] / bound
    return {"dataset": part, "pictures": count, "systems": result}


def sc_part(
    count: int,
    split: str,
    quality: int,
    sc_weights: Path | None,
    gc_twin: Path | None,
    sequence: str = "",
    margin: int = DEFAULT_MARGIN,
) -> dict[str, Any]:
    sc = zoo.load_model("gan-sc", quality, sc_weights)
    references = {"gc": zoo.load_model("gan-gc", quality)}
    if gc_twin is not None:
        references["gc_twin"] = zoo.load_model("gan-gc", quality, gc_twin)
    rows: dict[str, list[dict[str, float]]] = {}
    reference_bpp: dict[str, list[float]] = {name: [] for name in references}
    for path in pictures("camvid", count, split, sequence):
        pixels = load(path)
        labels = labels_of(path)
        h, w = labels.shape
        decoded_by = {}
        gc_latent = gc_analysis(references["gc"], pixels)
        for name, model in references.items():
            data, decoded_by[name] = gan_file(model, pixels)
            reference_bpp[name].append(8 * len(data) / (h * w))
        for rule_name, classes in KEEP_RULES.items():
            ids = None if classes is None else parse_classes(classes, CAMVID_CLASSES)
            rule = KeepRule(classes=ids, margin=margin)
            mask = rule.latent_mask(labels, h, w, STRIDE)
            data, decoded = gan_file(sc, pixels, {"labels": labels, "keep": rule})
            container = unpack(data)
            size = dict(zip(container.tags, map(len, container.sections), strict=True))
            kept = own_blocks(ids, labels)
            pixels_kept = pixels[kept]
            rows.setdefault(rule_name, []).append({
                "synthesised_fraction": 1 - float(mask.mean()),
                "bpp": 8 * len(data) / (h * w),
                "latent_bpp": 8 * (size[SectionTag.TABLES] + size[SectionTag.LATENT]) / (h * w),
                "labels_bpp": 8 * size[SectionTag.LABELS] / (h * w),
                "mask_bpp": 8 * size[SectionTag.MASK] / (h * w),
                "psnr_kept_sc": psnr_uint8(pixels_kept, decoded[kept]),
                **{f"psnr_kept_{name}": psnr_uint8(pixels_kept, other[kept])
                   for name, other in decoded_by.items()},
                "psnr_kept_gc_masked": psnr_uint8(pixels_kept, gc_on_masked_latent(
                    references["gc"], gc_latent, mask, h, w)[kept]),
            })  # fmt: skip
        print(path.name, flush=True)
    return {
        **sc_header(split, sequence, count, quality, margin, sc_weights),
        **{f"{name}_q{quality}_bpp": float(np.mean(bpp)) for name, bpp in reference_bpp.items()},
        "keep_rules": {k: {"classes": KEEP_RULES[k], **mean_rows(r)} for k, r in rows.items()},
    }


def sc_header(
    split: str, sequence: str, count: int, quality: int, margin: int, sc_weights: Path | None
) -> dict:
    """The leading keys of an SC result: which frames, quality, keep margin and weights."""
    return {
        "dataset": f"camvid-{split}" + (f" ({sequence} only)" if sequence else ""),
        "pictures": count,
        "quality": quality,
        "keep_margin": margin,
        "sc_weights": str(sc_weights or "shipped"),
    }


def gc_analysis(gc: CompressionModel, pixels: np.ndarray) -> torch.Tensor:
    """GC's unquantized latent ``y`` of one picture (padded as its files pad it)."""
    with torch.no_grad():
        return gc.analyze(*gc.padded(gc.picture(to_tensor(pixels))))


def gc_on_masked_latent(
    gc: CompressionModel, y: torch.Tensor, mask: np.ndarray, height: int, width: int
) -> np.ndarray:
    """GC's generator on GC's own latent ``y`` (:func:`gc_analysis`) with the blocks an SC
    rule drops set to 0 (the latent codec codes the masked latent losslessly, so this is what
    such a file decodes to): SC without its selective training, the reference for how much
    that training buys."""
    with torch.no_grad():
        _, w_hat = gc.latent_codec.compress(y, torch.from_numpy(mask)[None, None])
        return to_pixels(crop(gc.generate(w_hat, None, None, None), height, width).clamp(0, 1))


def kept_pixels(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """The ``height``×``width`` pixels of the latent blocks a keep-mask keeps."""
    return np.kron(mask, np.ones((STRIDE, STRIDE), bool))[:height, :width]


def own_blocks(classes: frozenset[int] | None, labels: np.ndarray) -> np.ndarray:
    """The ``H×W`` pixels of the blocks a rule keeping ``classes`` (``None``: everything)
    keeps without its margin: where a benchmark compares kept pixels."""
    h, w = labels.shape
    return kept_pixels(KeepRule(classes=classes, margin=0).latent_mask(labels, h, w, STRIDE), h, w)


def label(panel: np.ndarray, text: str) -> np.ndarray:
    image = Image.fromarray(panel)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width, 14), fill=(0, 0, 0))
    draw.text((3, 2), text, fill=(255, 255, 255))
    return np.asarray(image)


def comparison(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Rows GC q1 and q2; columns original, GC, HEVC and WebP at GC's bytes and at twice."""
    top, left, height, width = box
    cut = lambda a: a[top : top + height, left : left + width]  # noqa: E731
    hevc, webp = get_codec("hevc"), get_codec("webp")
    rows = []
    for q in (1, 2):
        data, decoded = gan_file(zoo.load_model("gan-gc", q), pixels)
        panels = [label(cut(pixels), "original"), label(cut(decoded), f"GC q{q}: {len(data)} B")]
        for factor in (1, 2):
            budget = factor * len(data)
            for name, baseline, qualities in (
                ("HEVC", hevc, HEVC_QPS),
                ("WebP", webp, range(100, -1, -5)),
            ):
                coded = within(baseline, pixels, budget, qualities)
                note = "" if len(coded.data) <= budget else " (smallest)"
                text = f"{name} @{factor}x: {len(coded.data)} B{note}"
                panels.append(label(cut(coded.decoded), text))
        rows.append(np.concatenate(panels, axis=1))
    return np.concatenate(rows, axis=0)


def sc_example(pixels: np.ndarray, labels: np.ndarray, classes: str) -> np.ndarray:
    """Original, SC with the synthesised blocks shaded, SC as decoded, GC at the same C."""
    sc, gc = zoo.load_model("gan-sc", 2), zoo.load_model("gan-gc", 2)
    h, w = labels.shape
    rule = KeepRule(classes=parse_classes(classes, CAMVID_CLASSES))
    mask = rule.latent_mask(labels, h, w, STRIDE)
    data, decoded = gan_file(sc, pixels, {"labels": labels, "keep": rule})
    gc_data, gc_decoded = gan_file(gc, pixels)
    synthesised = ~kept_pixels(mask, h, w)
    shaded = decoded.copy()
    shaded[synthesised] = (0.6 * shaded[synthesised] + 0.4 * np.array([255, 0, 160])).astype(
        np.uint8
    )
    return np.concatenate(
        [
            label(pixels, "original"),
            label(shaded, f"SC q2 ({classes} kept), synthesised shaded"),
            label(decoded, f"SC q2: {len(data)} B, {100 * synthesised.mean():.0f}% synthesised"),
            label(gc_decoded, f"GC q2: {len(gc_data)} B"),
        ],
        axis=1,
    )


def pictures_part(out: Path) -> dict[str, str]:
    kodak = load(SHARED / "kodak" / "kodim23.png")
    frame = pictures("camvid", 24)[3]
    camvid = load(frame)
    labels = labels_of(frame)
    written = {
        "gan-kodim23.png": comparison(kodak, (128, 192, 256, 384)),
        f"gan-camvid-{frame.stem}.png": comparison(camvid, (60, 0, 240, 360)),
        f"gan-sc-{frame.stem}.png": sc_example(camvid, labels, "car,pedestrian,bicyclist,sign"),
    }
    for name, panel in written.items():
        Image.fromarray(panel).save(out / name, optimize=True)
    return {name: str(out / name) for name in written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("kodak", "camvid", "sc", "pictures"), required=True)
    parser.add_argument("--count", type=int, default=24, help="pictures per dataset")
    parser.add_argument("--twin", type=Path, help="weights of the MSE-only twin of gan-gc q2")
    parser.add_argument("--gc-twin", type=Path, help="sc: weights of gan-gc trained as gan-sc was")
    parser.add_argument("--quality", type=int, default=2, help="sc: the quality (C) of SC and GC")
    parser.add_argument("--sc-weights", type=Path, help="sc: gan-sc weights (default: shipped)")
    parser.add_argument("--split", default="test", help="sc: CamVid split (val to choose weights)")
    parser.add_argument("--sequence", default="", help="sc: only the frames of this sequence")
    parser.add_argument(
        "--keep-margin",
        type=int,
        default=DEFAULT_MARGIN,
        help="sc: blocks coded around the kept ones (default: the library's)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/gan"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.part == "pictures":
        result: dict[str, Any] = pictures_part(args.out)
    elif args.part == "sc":
        result = sc_part(
            args.count,
            args.split,
            args.quality,
            args.sc_weights,
            args.gc_twin,
            args.sequence,
            args.keep_margin,
        )
    else:
        result = rd_part(args.part, args.count, args.twin)
    text = json.dumps(result, indent=2)
    if args.part != "pictures":
        name = args.part
        if args.part == "sc":
            name += f"-q{args.quality}" if args.quality != 2 else ""
            name += f"-margin{args.keep_margin}" if args.keep_margin != DEFAULT_MARGIN else ""
        (args.out / f"{name}.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
