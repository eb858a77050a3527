"""Rate-distortion training of zoo models, on one device or data parallel under ``torchrun``.

Loss (``metric="mse"``): ``R + λ·255²·MSE`` with ``R`` in bits per pixel and MSE on [0, 1]
pixels, λ the quality's registered value (CompressAI's). Loss (``metric="ms-ssim"``):
``R + λ·(1 − MS-SSIM)``; MS-SSIM is bounded by 1 where 255²·MSE is not, so its λ is about
1300 times larger: quality ``q`` uses CompressAI's MS-SSIM λ of the same index,
:data:`MS_SSIM_LAMBDAS` (2.40 … 220). ``--lmbda`` overrides either, in the metric's units.

Schedule: Adam at ``lr`` (1e-4), multiplied by 0.1 after 80 % and again after 95 % of
``steps`` (``lr_drops``); gradients are clipped to norm 1. The rate is a function of the
step and ``steps`` alone: resuming with another ``steps`` extends or shortens a run, which
then goes on exactly as a run started with that ``steps`` would have.

Data parallel: under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` in the
environment) every process trains on its own shard of each epoch with its own noise seed
(``seed + rank``); gradients are averaged by DistributedDataParallel (NCCL on CUDA, Gloo on
CPU). ``batch_size`` is per process. Only rank 0 writes checkpoints, the CSV log, the
progress bar and the exported weights.

Files in ``out``: ``checkpoint.pt`` (atomically replaced; model, optimizer, scheduler,
step, every rank's RNG states and the sampler position, so ``resume`` continues exactly),
``log.csv`` (step, loss, bpp, mse, psnr, lr, seconds; means over ``log_every`` steps and
all ranks) and, at the end, ``{model}-q{quality}[-ms-ssim].safetensors`` with its JSON
manifest (see :mod:`licodec.app.weights`). Before that export the finished model's
parameters are rounded to float16, its coding tables rebuilt and its fixed-point path
calibrated on ``calibration_crops`` training crops, so the file codes bit-exactly with
exactly what it stores.
"""

from __future__ import annotations

import csv
import os
import platform
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from licodec.app.calibration import calibration_crops
from licodec.app.data import ImageFolderCrops, ShardedStreamSampler
from licodec.app.weights import export_weights, load_weights, round_parameters_to_fp16
from licodec.errors import ModelError
from licodec.models import MSE_LAMBDAS, CompressionModel, build

MS_SSIM_LAMBDAS = (2.40, 4.58, 8.73, 16.64, 31.73, 60.50, 115.37, 220.0)
"""λ of qualities 1..8 for MS-SSIM training (loss R + λ·(1 − MS-SSIM)), CompressAI's values."""

LR_GAMMA = 0.1
"""Factor applied to the learning rate at each of ``TrainConfig.lr_drops``."""

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.csv"
LOG_FIELDS = ("step", "loss", "bpp", "mse", "psnr", "lr", "seconds")
_RESUME_MUST_MATCH = ("model", "quality", "model_args", "lmbda", "metric", "crop", "seed")


@dataclass
class TrainConfig:
    """Everything a training run depends on (the CLI's ``licodec train`` options).

    Attributes:
        model: registered model name, e.g. ``"mbt2018-mean"``.
        quality: quality index; picks the channel counts and the default λ.
        data: folder of training images (searched recursively).
        out: run folder for checkpoint, log and exported weights.
        lmbda: λ override, in the units of ``metric`` (see the module docstring).
        metric: distortion term, ``"mse"`` or ``"ms-ssim"``.
        crop: side of the square training crops (a multiple of 64; ≥ 192 for MS-SSIM).
        batch_size: crops per step and process.
        steps: optimizer steps of the whole run (also sets the schedule).
        lr: initial Adam learning rate.
        lr_drops: fractions of ``steps`` after which the rate is multiplied by 0.1.
        clip_grad: maximal gradient norm.
        num_workers: data loader processes per training process.
        device: ``"cpu"`` or ``"cuda"`` (each process uses GPU ``LOCAL_RANK``).
        checkpoint_every: steps between checkpoints (one is always written at the end).
        log_every: steps between CSV rows and progress bar updates.
        seed: seeds initialisation, data order, crops and quantization noise.
        channels_last: NHWC memory format for model and inputs.
        bf16: bfloat16 autocast for the forward pass (the loss stays float32).
        compile: ``torch.compile`` the model.
        resume: continue from ``out/checkpoint.pt`` (starts afresh if there is none).
        init_from: weights (``.safetensors``) or a checkpoint to start from, e.g. a higher-λ
            model to fine-tune; ignored when resuming from a checkpoint.
        model_args: overrides of the registered model configuration (e.g. ``{"n": 64}``).
        calibration_crops: training crops (seeded by ``seed + 1``) on which the finished
            model's fixed-point path is calibrated before export.
    """

    model: str
    quality: int
    data: Path
    out: Path
    lmbda: float | None = None
    metric: Literal["mse", "ms-ssim"] = "mse"
    crop: int = 256
    batch_size: int = 8
    steps: int = 100_000
    lr: float = 1e-4
    lr_drops: tuple[float, ...] = (0.8, 0.95)
    clip_grad: float = 1.0
    num_workers: int = 4
    device: Literal["cpu", "cuda"] = "cpu"
    checkpoint_every: int = 1000
    log_every: int = 10
    seed: int = 0
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False
    resume: bool = False
    init_from: Path | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    calibration_crops: int = 200

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        self.init_from = Path(self.init_from) if self.init_from is not None else None
        self.lr_drops = tuple(self.lr_drops)
        if self.metric not in ("mse", "ms-ssim"):
            raise ValueError(f"metric must be 'mse' or 'ms-ssim', got {self.metric!r}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.crop <= 0 or self.crop % 64:
            raise ValueError(f"crop must be a positive multiple of 64, got {self.crop}")
        if self.metric == "ms-ssim" and self.crop < 192:
            raise ValueError(f"MS-SSIM needs crops of at least 192 pixels, got {self.crop}")
        for name in ("batch_size", "steps", "checkpoint_every", "log_every", "calibration_crops"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {self.num_workers}")
        if not all(0 < f <= 1 for f in self.lr_drops):
            raise ValueError(f"lr_drops must be fractions in (0, 1], got {self.lr_drops}")

    def as_dict(self) -> dict[str, Any]:
        """The configuration with paths as strings (for checkpoints and manifests)."""
        return {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(self).items()
        }


@dataclass
class TrainResult:
    """What :func:`train` leaves: the trained model (on CPU, coding tables rebuilt) and, on
    rank 0, the exported weights file and its manifest (``None`` on other ranks)."""

    model: CompressionModel
    weights: Path | None
    manifest: dict[str, Any] | None


@dataclass(frozen=True)
class _Dist:
    """This process's place in a data-parallel job (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def train(config: TrainConfig) -> TrainResult:
    """Train ``config.model`` at ``config.quality`` as described in the module docstring."""
    ddp = _init_distributed(config.device)
    try:
        return _Trainer(config, ddp).run()
    finally:
        if ddp.active:
            dist.destroy_process_group()


def loss_lambda(config: TrainConfig, model: CompressionModel) -> float:
    """The λ of the loss: the override, else the quality's λ for ``config.metric``."""
    if config.lmbda is not None:
        return config.lmbda
    if config.metric == "mse":
        return model.lmbda
    if model.lmbda not in MSE_LAMBDAS:
        raise ModelError(
            f"{model.name} q{model.quality} has no standard MS-SSIM λ: pass lmbda explicitly"
        )
    return MS_SSIM_LAMBDAS[MSE_LAMBDAS.index(model.lmbda)]


def rate_distortion(
    output: dict[str, Any], x: Tensor, lmbda: float, metric: str
) -> dict[str, Tensor]:
    """Loss terms of one batch in float32: ``loss``, ``bpp``, ``mse`` and ``psnr``."""
    n, _, height, width = x.shape
    bits = sum(-torch.log2(lik.float()).sum() for lik in output["likelihoods"].values())
    bpp = bits / (n * height * width)
    x_hat = output["x_hat"].float()
    mse = F.mse_loss(x_hat, x)
    if metric == "mse":
        distortion = 255**2 * mse
    else:
        from pytorch_msssim import ms_ssim

        distortion = 1 - ms_ssim(x_hat, x, data_range=1.0)
    psnr = -10 * torch.log10(mse.detach().clamp_min(1e-10))
    return {"loss": bpp + lmbda * distortion, "bpp": bpp, "mse": mse, "psnr": psnr}


def train_step(
    net: nn.Module,
    model: CompressionModel,
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    lmbda: float,
    config: TrainConfig,
) -> dict[str, Tensor]:
    """One optimizer step on batch ``x``; returns :func:`rate_distortion`'s terms.

    ``net`` is what runs the forward pass (``model`` itself, or it wrapped by DDP and/or
    ``torch.compile``); the forward pass runs under bfloat16 autocast if ``config.bf16``.
    """
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.bf16):
        output = net(x)
    terms = rate_distortion(output, x, lmbda, config.metric)
    optimizer.zero_grad(set_to_none=True)
    (terms["loss"] + model.aux_loss()).backward()
    nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad)
    optimizer.step()
    return terms


def _init_distributed(device: str) -> _Dist:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return _Dist()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    return _Dist(rank, world_size, local_rank)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state(device: torch.device) -> dict[str, Any]:
    _, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    random.setstate(state["python"])
    keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def hardware_description(device: torch.device, world_size: int = 1) -> str:
    """E.g. ``1x NVIDIA H100 80GB HBM3`` or ``2x CPU AMD EPYC (2 threads)``."""
    if device.type == "cuda":
        return f"{world_size}x {torch.cuda.get_device_name(device)}"
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"{world_size}x CPU {name} ({torch.get_num_threads()} threads)"


def _save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _init_weights(model: CompressionModel, source: Path) -> None:
    """Load weights to start from: a ``.safetensors`` export or a training checkpoint."""
    if source.suffix == ".safetensors":
        load_weights(model, source)
        return
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"] if "model" in state else state)
    except (OSError, RuntimeError, KeyError, TypeError) as err:
        raise ModelError(f"cannot initialise {model.name} from {source}: {err}") from err


class _CsvLog:
    """``log.csv`` of rank 0; on resume, rows after the checkpoint's step are dropped."""

    def __init__(self, path: Path, start_step: int) -> None:
        kept: list[dict[str, str]] = []
        if start_step > 0 and path.exists():
            with open(path, newline="") as handle:
                kept = [row for row in csv.DictReader(handle) if int(row["step"]) <= start_step]
        self.handle = open(path, "w", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=LOG_FIELDS)
        self.writer.writeheader()
        self.writer.writerows(kept)
        self.handle.flush()

    def write(self, row: dict[str, float]) -> None:
        self.writer.writerow(row)
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


class _Trainer:
    """One training run's state; :meth:`run` is the loop."""

    def __init__(self, config: TrainConfig, ddp: _Dist) -> None:
        self.config, self.ddp = config, ddp
        if config.device == "cuda":
            if not torch.cuda.is_available():
                raise ValueError("device 'cuda' requested but CUDA is not available")
            self.device = torch.device("cuda", ddp.local_rank)
            torch.backends.cudnn.benchmark = True
            torch.set_float32_matmul_precision("high")  # TF32 matmuls; cuDNN convs use TF32
        else:
            self.device = torch.device("cpu")
        self.checkpoint_path = config.out / CHECKPOINT_NAME

        _seed_everything(config.seed)
        self.model = build(config.model, config.quality, **config.model_args)
        self.lmbda = loss_lambda(config, self.model)
        state = self._load_checkpoint()
        if state is None and config.init_from is not None:
            _init_weights(self.model, config.init_from)
        self.model.to(self.device)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=self._milestones(), gamma=LR_GAMMA
        )
        self.step, self.elapsed, self.metrics = 0, 0.0, {}
        if state is None:
            _seed_everything(config.seed + ddp.rank)
        else:
            self._restore(state)

        self.dataset = ImageFolderCrops(config.data, crop=config.crop, seed=config.seed)
        self.net: nn.Module = self.model
        if ddp.active:
            self.net = DistributedDataParallel(
                self.model,
                device_ids=[ddp.local_rank] if self.device.type == "cuda" else None,
                broadcast_buffers=False,  # buffers (coding tables, calibration): unused here
            )
        if config.compile:
            self.net = torch.compile(self.net)

    def _load_checkpoint(self) -> dict[str, Any] | None:
        if not self.config.resume:
            if self.checkpoint_path.exists():
                raise ValueError(
                    f"{self.checkpoint_path} exists: resume (--resume) to continue that run, "
                    "or choose another output folder"
                )
            return None
        if not self.checkpoint_path.exists():
            return None
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        saved, current = state["config"], self.config.as_dict()
        changed = [k for k in _RESUME_MUST_MATCH if saved.get(k) != current[k]]
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {current[k]!r}" for k in changed)
            raise ValueError(f"cannot resume {self.checkpoint_path} with changed {details}")
        if self.config.init_from is None and saved.get("init_from"):
            self.config.init_from = Path(saved["init_from"])  # where the run first started
        self.model.load_state_dict(state["model"])
        return state

    def _restore(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        milestones = self._milestones()  # this run's ``steps``, perhaps not the saved run's
        self.scheduler.milestones = Counter(milestones)
        drops = sum(m <= self.scheduler.last_epoch for m in milestones)
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * LR_GAMMA**drops
        self.step, self.elapsed, self.metrics = state["step"], state["elapsed"], state["metrics"]
        rng = state["rng"]
        if len(rng) == self.ddp.world_size:
            _set_rng_state(rng[self.ddp.rank], self.device)
        else:  # another number of processes: continue, but not bit-exactly
            _seed_everything(self.config.seed + self.ddp.rank + self.step * self.ddp.world_size)

    def _milestones(self) -> list[int]:
        """Steps after which the learning rate drops: the ``lr_drops`` fractions of ``steps``."""
        return sorted({max(1, round(f * self.config.steps)) for f in self.config.lr_drops})

    def _loader(self) -> DataLoader:
        config, ddp = self.config, self.ddp
        sampler = ShardedStreamSampler(
            len(self.dataset),
            seed=config.seed,
            rank=ddp.rank,
            world_size=ddp.world_size,
            start=self.step * config.batch_size,
        )
        workers = config.num_workers
        # One endless iterator serves the whole run, so its workers live as long as the
        # run does (persistent_workers would add nothing). A private generator keeps the
        # loader from drawing on the global RNG, which a resumed run must find untouched.
        return DataLoader(
            self.dataset,
            batch_size=config.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            drop_last=True,
            prefetch_factor=4 if workers > 0 else None,
            generator=torch.Generator(),
        )

    def _checkpoint(self) -> None:
        rng = _rng_state(self.device)
        states = [rng]
        if self.ddp.active:
            states = [None] * self.ddp.world_size
            dist.all_gather_object(states, rng)
        if not self.ddp.main:
            return
        state = {
            "config": self.config.as_dict(),
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": states,
            "sampler": {
                "position": self.step * self.config.batch_size,
                "world_size": self.ddp.world_size,
            },
            "elapsed": self.elapsed,
            "metrics": self.metrics,
        }
        _save_atomic(state, self.checkpoint_path)

    def _reduce(self, window: list[Tensor]) -> list[float]:
        """Means over the window's steps and all ranks of (loss, bpp, mse, psnr)."""
        means = torch.stack(window).mean(0)
        if self.ddp.active:
            dist.all_reduce(means)
            means /= self.ddp.world_size
        return means.tolist()

    def run(self) -> TrainResult:
        config, ddp = self.config, self.ddp
        if ddp.main:
            config.out.mkdir(parents=True, exist_ok=True)
        log = _CsvLog(config.out / LOG_NAME, self.step) if ddp.main else None
        progress = tqdm(total=config.steps, initial=self.step, disable=not ddp.main, unit="step")
        batches = iter(self._loader())
        window: list[Tensor] = []
        started = time.perf_counter() - self.elapsed
        self.model.train()
        while self.step < config.steps:
            x = next(batches).to(self.device, non_blocking=True)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            lr = self.optimizer.param_groups[0]["lr"]
            terms = train_step(self.net, self.model, self.optimizer, x, self.lmbda, config)
            self.scheduler.step()
            self.step += 1
            progress.update()
            window.append(torch.stack([terms[k].detach() for k in LOG_FIELDS[1:5]]))
            if self.step % config.log_every == 0 or self.step == config.steps:
                self.elapsed = time.perf_counter() - started
                values = dict(zip(LOG_FIELDS[1:5], self._reduce(window), strict=True))
                window.clear()
                self.metrics = {"step": self.step, **values, "lr": lr, "seconds": self.elapsed}
                if log is not None:
                    log.write(self.metrics)
                progress.set_postfix(
                    loss=f"{values['loss']:.4f}",
                    bpp=f"{values['bpp']:.4f}",
                    psnr=f"{values['psnr']:.2f}",
                )
            if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                self.elapsed = time.perf_counter() - started
                self._checkpoint()
        progress.close()
        if log is not None:
            log.close()
        return self._finish()

    def _calibration_batches(self, batch_size: int = 8) -> Iterator[Tensor]:
        """``calibration_crops`` training crops, the same on every rank and every run."""
        config = self.config
        count, seed = config.calibration_crops, config.seed + 1
        crops = calibration_crops(config.data, count, config.crop, seed)
        for start in range(0, len(crops), batch_size):
            yield torch.cat(crops[start : start + batch_size])

    def _finish(self) -> TrainResult:
        """Round to the stored precision, rebuild the coding tables, calibrate the integer
        path on training crops, export (rank 0)."""
        model = self.model.cpu().to(memory_format=torch.contiguous_format).eval()
        round_parameters_to_fp16(model)
        model.update()
        model.calibrate(self._calibration_batches())
        if not self.ddp.main:
            return TrainResult(model, None, None)
        config = self.config
        suffix = "-ms-ssim" if config.metric == "ms-ssim" else ""
        path = config.out / f"{config.model}-q{config.quality}{suffix}.safetensors"
        manifest = {
            "model": config.model,
            "quality": config.quality,
            "model_config": model.config,
            "lmbda": self.lmbda,
            "metric": config.metric,
            "steps": config.steps,
            "batch": {
                "per_process": config.batch_size,
                "processes": self.ddp.world_size,
                "global": config.batch_size * self.ddp.world_size,
            },
            "crop": config.crop,
            "lr_schedule": {
                "optimizer": "Adam",
                "lr": config.lr,
                "gamma": LR_GAMMA,
                "milestones": sorted(self.scheduler.milestones),
                "clip_grad_norm": config.clip_grad,
            },
            "data": {"path": str(config.data), "images": len(self.dataset)},
            "hardware": hardware_description(self.device, self.ddp.world_size),
            "precision": "bf16 autocast" if config.bf16 else "fp32",
            "calibration": {"crops": config.calibration_crops, "crop": config.crop},
            "init_from": str(config.init_from) if config.init_from else None,
            "seed": config.seed,
            "torch": torch.__version__,
            "wall_time_s": round(self.elapsed, 1),
            "final_train": {key: self.metrics[key] for key in ("step", "loss", "bpp", "psnr")},
        }
        return TrainResult(model, path, export_weights(model, path, manifest))
