"""The model zoo's registry: names, qualities and how to build each model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from licodec.core.colour import CodedFormat
from licodec.errors import ModelError
from licodec.models.base import CompressionModel

Builder = Callable[..., CompressionModel]

MSE_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)
"""λ of qualities 1..8 for MSE training (CompressAI's values, loss R + λ·255²·MSE)."""

MS_SSIM_LAMBDAS = (2.40, 4.58, 8.73, 16.64, 31.73, 60.50, 115.37, 220.0)
"""λ of qualities 1..8 for MS-SSIM training (loss R + λ·(1 − MS-SSIM)), CompressAI's values:
MS-SSIM is bounded by 1 where 255²·MSE is not, so they are about 1300 times larger."""


@dataclass(frozen=True)
class ModelSpec:
    """A registered model family: its builder, the keyword arguments of each quality (with
    ``lmbda`` where the quality has a rate-distortion trade-off), the picture format it
    codes and the training objective it is trained with by default."""

    name: str
    builder: Builder
    qualities: dict[int, dict[str, Any]]
    description: str
    input_format: CodedFormat = CodedFormat.RGB444
    objective: str = "rate-distortion"


_REGISTRY: dict[str, ModelSpec] = {}


def register(
    name: str,
    qualities: dict[int, dict[str, Any]],
    description: str,
    input_format: CodedFormat = CodedFormat.RGB444,
    objective: str = "rate-distortion",
) -> Callable:
    """Decorator registering ``builder(**config) -> CompressionModel`` under ``name``."""

    def wrap(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(name, builder, qualities, description, input_format, objective)
        return builder

    return wrap


def spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``; :class:`ModelError` lists the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelError(f"unknown model {name!r}; known models: {known}") from None


def available() -> list[str]:
    """Names of every registered model."""
    return sorted(_REGISTRY)


def registered_config(name: str, quality: int) -> dict[str, Any]:
    """The registered configuration (with ``lmbda``) of ``name`` at ``quality``.

    Raises:
        ModelError: unknown model, or a quality it does not have.
    """
    family = spec(name)
    if quality not in family.qualities:
        known = ", ".join(str(q) for q in sorted(family.qualities))
        raise ModelError(f"model {name!r} has no quality {quality}; qualities: {known}")
    return dict(family.qualities[quality])


def build(name: str, quality: int, **overrides: Any) -> CompressionModel:
    """Build ``name`` at ``quality`` with its registered configuration (untrained).

    The returned model has its coding tables built, so it can compress right away.
    """
    config = {**registered_config(name, quality), **overrides}
    lmbda = config.pop("lmbda", None)
    family = spec(name)
    model = family.builder(**config)
    if model.input_format != family.input_format:
        raise ModelError(
            f"{name} is registered for {family.input_format.name} but builds a model of "
            f"{model.input_format.name}"
        )
    model.name, model.quality, model.lmbda = name, quality, lmbda
    model.config = config if lmbda is None else {**config, "lmbda": lmbda}
    model.update()
    return model


def qualities_by_channels(small: dict[str, int], large: dict[str, int], first_large: int) -> dict:
    """Quality → config for the common pattern "small channels below ``first_large``"."""
    return {
        q: {**(small if q < first_large else large), "lmbda": MSE_LAMBDAS[q - 1]}
        for q in range(1, len(MSE_LAMBDAS) + 1)
    }
