"""The configuration of a training run, and what a run leaves behind."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from licodec.models import CompressionModel


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
        init_partial: load from ``init_from`` only the tensors the model shares with it
            (a warm start of another model); the rest keeps its initialisation.
        init_only: with ``init_partial``, only the shared tensors whose names start with one
            of these prefixes (e.g. ``("g_a",)``: another model's encoder, the rest fresh).
        model_args: overrides of the registered model configuration (e.g. ``{"n": 64}``).
        calibration_crops: training crops (seeded by ``seed + 1``) on which the finished
            model's fixed-point path is calibrated before export.
        objective: what the run optimises (:data:`licodec.app.training.objectives.OBJECTIVES`;
            default: the one the model's registry entry names).
        freeze: parameter-name prefixes that are not trained (e.g. ``("g_a", "g_s",
            "latent_codec")`` while a post-filter trains on a frozen codec).
        objective_args: the objective's own settings (e.g. ``{"warmup": 0.25}`` of
            ``"adversarial"``); each objective documents and checks its keys.
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
    init_partial: bool = False
    init_only: tuple[str, ...] = ()
    model_args: dict[str, Any] = field(default_factory=dict)
    calibration_crops: int = 200
    objective: str | None = None
    freeze: tuple[str, ...] = ()
    objective_args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        self.init_from = Path(self.init_from) if self.init_from is not None else None
        self.lr_drops = tuple(self.lr_drops)
        self.freeze = tuple(self.freeze)
        self.init_only = tuple(self.init_only)
        if self.init_only and not self.init_partial:
            raise ValueError("init_only picks tensors of a partial start: set init_partial")
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
