"""``licodec train``: train a zoo model (one device, or data parallel under ``torchrun``)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from licodec.app.training import OBJECTIVES, TrainConfig, train

_DEFAULTS = TrainConfig(model="", quality=0, data=Path(), out=Path())


def _model_arg(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with an integer, float or text value."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "train",
        help="train a model (also under torchrun for data-parallel training)",
        description=(
            "Rate-distortion training: loss R + λ·255²·MSE (or R + λ·(1 − MS-SSIM)), Adam with "
            "the learning rate ×0.1 after 80% and 95% of the steps, gradient clipping. "
            "Writes checkpoint.pt, log.csv and, at the end, fp16 .safetensors weights with a "
            "JSON manifest into --out. Run with torchrun --nproc-per-node N for data "
            "parallelism (--batch-size is per process)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", help="registered model name, e.g. mbt2018-mean")
    parser.add_argument("--quality", "-q", type=int, required=True, help="quality index")
    parser.add_argument("--data", type=Path, required=True, help="folder of training images")
    parser.add_argument("--out", type=Path, required=True, help="run folder")
    parser.add_argument(
        "--metric", choices=("mse", "ms-ssim"), default=_DEFAULTS.metric, help="distortion"
    )
    parser.add_argument(
        "--lmbda", type=float, default=None, help="λ override (default: the quality's λ)"
    )
    parser.add_argument("--steps", type=int, default=_DEFAULTS.steps)
    parser.add_argument("--batch-size", type=int, default=_DEFAULTS.batch_size)
    parser.add_argument("--crop", type=int, default=_DEFAULTS.crop, help="crop side (×64)")
    parser.add_argument("--lr", type=float, default=_DEFAULTS.lr, help="initial learning rate")
    parser.add_argument(
        "--lr-drops",
        type=float,
        nargs="+",
        default=list(_DEFAULTS.lr_drops),
        help="fractions of --steps after which the learning rate is multiplied by 0.1",
    )
    parser.add_argument("--clip-grad", type=float, default=_DEFAULTS.clip_grad)
    parser.add_argument("--num-workers", type=int, default=_DEFAULTS.num_workers)
    parser.add_argument("--device", choices=("cpu", "cuda"), default=_DEFAULTS.device)
    parser.add_argument("--checkpoint-every", type=int, default=_DEFAULTS.checkpoint_every)
    parser.add_argument("--log-every", type=int, default=_DEFAULTS.log_every)
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--resume", action="store_true", help="continue from --out")
    parser.add_argument(
        "--init-from", type=Path, default=None, help="weights or checkpoint to start from"
    )
    parser.add_argument(
        "--init-partial",
        action="store_true",
        help="take from --init-from only the tensors this model shares with it",
    )
    parser.add_argument(
        "--init-only",
        nargs="+",
        default=[],
        metavar="PREFIX",
        help="with --init-partial: only tensors whose names start so, e.g. g_a",
    )
    parser.add_argument(
        "--calibration-crops",
        type=int,
        default=_DEFAULTS.calibration_crops,
        help="training crops that calibrate the exported model's fixed-point path",
    )
    parser.add_argument(
        "--objective",
        choices=sorted(OBJECTIVES),
        default=None,
        help="training objective (default: the model's registered one)",
    )
    parser.add_argument(
        "--freeze",
        nargs="+",
        default=[],
        metavar="PREFIX",
        help="parameter-name prefixes not to train, e.g. g_a g_s latent_codec",
    )
    parser.add_argument(
        "--model-arg",
        type=_model_arg,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the registered model configuration (repeatable), e.g. n=64",
    )
    parser.add_argument(
        "--objective-arg",
        type=_model_arg,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the objective (repeatable), e.g. warmup=0.25 for adversarial",
    )
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` that parsed ``licodec train`` arguments describe: each option
    fills the field of its name (``--model-arg`` pairs fill ``model_args``); a field without
    an option keeps its default."""
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    values["lr_drops"] = tuple(args.lr_drops)
    values["freeze"] = tuple(args.freeze)
    values["init_only"] = tuple(args.init_only)
    values["model_args"] = dict(args.model_arg)
    values["objective_args"] = dict(args.objective_arg)
    return TrainConfig(**values)


def run(args: argparse.Namespace) -> int:
    """Run ``licodec train``; returns the exit status (2 for a bad configuration)."""
    try:
        config = config_from_args(args)
        result = train(config)
    except (ValueError, FileNotFoundError) as err:
        print(f"licodec train: error: {err}", file=sys.stderr)
        return 2
    if result.weights is not None:
        print(f"weights: {result.weights}")
    return 0
