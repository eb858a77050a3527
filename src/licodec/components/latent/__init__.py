"""Latent codecs: how a model's latents become bytes (see :mod:`.base`)."""

from licodec.components.latent.base import (
    ConditionalLatentCodec,
    LatentCodec,
    LatentOutput,
    training_modes,
)
from licodec.components.latent.factorized import FactorizedLatentCodec
from licodec.components.latent.gaussian import ScaleLatentCodec
from licodec.components.latent.hyperprior import HyperpriorLatentCodec

__all__ = [
    "ConditionalLatentCodec",
    "FactorizedLatentCodec",
    "HyperpriorLatentCodec",
    "LatentCodec",
    "LatentOutput",
    "ScaleLatentCodec",
    "training_modes",
]
