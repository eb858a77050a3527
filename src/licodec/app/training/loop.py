"""The training loop, on one device or data parallel under ``torchrun``; what it optimises
is an objective (:mod:`licodec.app.training.objectives`).

Schedule: every objective's learning rates follow :func:`~.objectives.multistep` (×0.1 after
80 % and 95 % of ``steps`` by default). The rate is a function of the step and ``steps``
alone: resuming with another ``steps`` extends or shortens a run, which then goes on exactly
as a run started with that ``steps`` would have.

Data parallel: under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` in the
environment) every process trains on its own shard of each epoch with its own noise seed
(``seed + rank``); gradients are averaged by DistributedDataParallel (NCCL on CUDA, Gloo on
CPU). ``batch_size`` is per process. Only rank 0 writes checkpoints, the CSV log, the
progress bar and the exported weights.

Files in ``out``: ``checkpoint.pt`` (atomically replaced; the model, the objective's
optimizers, schedules and other modules, the step, every rank's RNG states and the sampler
position, so ``resume`` continues exactly), ``log.csv`` (step, the objective's terms, lr,
seconds; means over ``log_every`` steps and all ranks) and, at the end,
``{model}-q{quality}[-ms-ssim].safetensors`` with its JSON manifest
(:mod:`licodec.app.training.export`).
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from licodec.app.data import ShardedStreamSampler
from licodec.app.training.config import TrainConfig, TrainResult
from licodec.app.training.export import (
    calibration_batches,
    finalize,
    training_manifest,
    weights_path,
)
from licodec.app.training.objectives import LR_GAMMA, Objective, milestones, objective_for
from licodec.app.training.state import (
    Distributed,
    hardware_description,
    init_distributed,
    rng_state,
    save_atomic,
    seed_everything,
    set_rng_state,
)
from licodec.app.weights import export_weights, load_weights
from licodec.errors import ModelError
from licodec.models import CompressionModel, build, spec

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.csv"
_RESUME_MUST_MATCH = ("model", "quality", "model_args", "lmbda", "metric", "crop", "seed")


def train(config: TrainConfig) -> TrainResult:
    """Train ``config.model`` at ``config.quality`` as described in the module docstring."""
    ddp = init_distributed(config.device)
    try:
        return Trainer(config, ddp).run()
    finally:
        if ddp.active:
            dist.destroy_process_group()


def init_weights(
    model: CompressionModel, source: Path, partial: bool = False, only: tuple[str, ...] = ()
) -> None:
    """Load weights to start from: a ``.safetensors`` export (``partial``: only the tensors
    the model shares with it, and of those only the ones named ``only*`` when given, see
    :func:`~licodec.app.weights.load_weights`) or a training checkpoint."""
    if source.suffix == ".safetensors":
        load_weights(model, source, partial=partial, only=only)
        return
    if only:
        raise ModelError(f"init_only needs a .safetensors export to start from, not {source}")
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"] if "model" in state else state)
    except (OSError, RuntimeError, KeyError, TypeError) as err:
        raise ModelError(f"cannot initialise {model.name} from {source}: {err}") from err


class CsvLog:
    """``log.csv`` of rank 0; on resume, rows after the checkpoint's step are dropped."""

    def __init__(self, path: Path, fields: tuple[str, ...], start_step: int) -> None:
        kept: list[dict[str, str]] = []
        if start_step > 0 and path.exists():
            with open(path, newline="") as handle:
                kept = [row for row in csv.DictReader(handle) if int(row["step"]) <= start_step]
        self.handle = open(path, "w", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=fields)
        self.writer.writeheader()
        self.writer.writerows(kept)
        self.handle.flush()

    def write(self, row: dict[str, float]) -> None:
        self.writer.writerow(row)
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def _objective_state(state: dict[str, Any]) -> dict[str, Any]:
    """The objective's part of a checkpoint; checkpoints from before objectives existed
    held one optimizer and one scheduler."""
    if "objective" in state:
        return state["objective"]
    return {
        "optimizers": {"model": state["optimizer"]},
        "schedulers": {"model": state["scheduler"]},
        "modules": {},
    }


class Trainer:
    """One training run's state; :meth:`run` is the loop."""

    def __init__(self, config: TrainConfig, ddp: Distributed) -> None:
        self.config, self.ddp = config, ddp
        if config.device == "cuda":
            if not torch.cuda.is_available():
                raise ValueError("device 'cuda' requested but CUDA is not available")
            self.device = torch.device("cuda", ddp.local_rank)
            torch.backends.cudnn.benchmark = True
            torch.set_float32_matmul_precision("high")  # TF32 matmuls; cuDNN convs use TF32
        else:
            self.device = torch.device("cpu")
        self.hardware = hardware_description(self.device, ddp.world_size)
        """What trains this run; checkpoints carry it so a later export names it, not the
        machine that exports."""
        self.checkpoint_path = config.out / CHECKPOINT_NAME

        seed_everything(config.seed)
        self.model = build(config.model, config.quality, **config.model_args)
        state = self._load_checkpoint()
        if state is None and config.init_from is not None:
            init_weights(self.model, config.init_from, config.init_partial, config.init_only)
        self.model.to(self.device)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.objective: Objective = objective_for(self.model, config, spec(config.model).objective)
        for module in self.objective.modules.values():
            module.to(self.device)
        self.log_fields = ("step", *self.objective.terms, "lr", "seconds")
        self.step, self.elapsed, self.metrics = 0, 0.0, {}
        if state is None:
            seed_everything(config.seed + ddp.rank)
        else:
            self._restore(state)

        self.dataset = self.objective.dataset(config)
        self.objective.wrap(self._wrap)

    def _wrap(self, module: nn.Module) -> nn.Module:
        """``module`` under DDP (data parallel) and/or ``torch.compile``."""
        if self.ddp.active:
            module = DistributedDataParallel(
                module,
                device_ids=[self.ddp.local_rank] if self.device.type == "cuda" else None,
                broadcast_buffers=False,  # buffers (coding tables, calibration): unused here
            )
        return torch.compile(module) if self.config.compile else module

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
        self.objective.load_state_dict(_objective_state(state))
        steps = milestones(self.config)  # this run's ``steps``, perhaps not the saved run's
        for key, scheduler in self.objective.schedulers.items():
            scheduler.milestones = Counter(steps)
            drops = sum(m <= scheduler.last_epoch for m in steps)
            for group in self.objective.optimizers[key].param_groups:
                group["lr"] = group["initial_lr"] * LR_GAMMA**drops
        self.step, self.elapsed, self.metrics = state["step"], state["elapsed"], state["metrics"]
        rng = state["rng"]
        if len(rng) == self.ddp.world_size:
            set_rng_state(rng[self.ddp.rank], self.device)
        else:  # another number of processes: continue, but not bit-exactly
            seed_everything(self.config.seed + self.ddp.rank + self.step * self.ddp.world_size)

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
        rng = rng_state(self.device)
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
            "objective": self.objective.state_dict(),
            "rng": states,
            "sampler": {
                "position": self.step * self.config.batch_size,
                "world_size": self.ddp.world_size,
            },
            "elapsed": self.elapsed,
            "metrics": self.metrics,
            "hardware": self.hardware,
        }
        save_atomic(state, self.checkpoint_path)

    def _reduce(self, window: list[Tensor]) -> list[float]:
        """Means over the window's steps and all ranks of the objective's terms."""
        means = torch.stack(window).mean(0)
        if self.ddp.active:
            dist.all_reduce(means)
            means /= self.ddp.world_size
        return means.tolist()

    def run(self) -> TrainResult:
        config, ddp, objective = self.config, self.ddp, self.objective
        if ddp.main:
            config.out.mkdir(parents=True, exist_ok=True)
        log = CsvLog(config.out / LOG_NAME, self.log_fields, self.step) if ddp.main else None
        progress = tqdm(total=config.steps, initial=self.step, disable=not ddp.main, unit="step")
        batches = iter(self._loader())
        window: list[Tensor] = []
        started = time.perf_counter() - self.elapsed
        for module in objective.modules.values():
            module.train()
        while self.step < config.steps:
            x = next(batches).to(self.device, non_blocking=True)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            lr = objective.lr()
            objective.set_progress(self.step, config.steps)
            terms = objective.step(x)
            self.step += 1
            progress.update()
            window.append(torch.stack([terms[k].detach().float() for k in objective.terms]))
            if self.step % config.log_every == 0 or self.step == config.steps:
                self.elapsed = time.perf_counter() - started
                values = dict(zip(objective.terms, self._reduce(window), strict=True))
                window.clear()
                self.metrics = {"step": self.step, **values, "lr": lr, "seconds": self.elapsed}
                if log is not None:
                    log.write(self.metrics)
                progress.set_postfix({k: f"{values[k]:.4f}" for k in objective.progress_terms})
            if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                self.elapsed = time.perf_counter() - started
                self._checkpoint()
        progress.close()
        if log is not None:
            log.close()
        return self._finish()

    def _finish(self) -> TrainResult:
        """Finalize the exported model (:func:`~.export.finalize`) and export it (rank 0)."""
        model = finalize(self.objective.exported(), calibration_batches(self.config))
        if not self.ddp.main:
            return TrainResult(model, None, None)
        path = weights_path(self.config)
        manifest = training_manifest(
            self.config,
            model,
            self.objective.manifest(),
            world_size=self.ddp.world_size,
            images=len(self.dataset),
            hardware=self.hardware,
            steps=self.config.steps,
            wall_time_s=self.elapsed,
            final_train={key: self.metrics.get(key) for key in ("step", "loss", "bpp", "psnr")},
        )
        return TrainResult(model, path, export_weights(model, path, manifest))
