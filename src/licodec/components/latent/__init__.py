"""Latent codecs: how a model's latents become bytes (see :mod:`.base`)."""

from licodec.components.latent.base import (
    ConditionalLatentCodec,
    LatentCodec,
    LatentOutput,
)
from licodec.components.latent.factorized import FactorizedLatentCodec
from licodec.components.latent.heads import EntropyHead, MeanScaleHead, MixtureHead, ScaleHead
from licodec.components.latent.hyperprior import HyperpriorLatentCodec
from licodec.components.latent.parametric import ParametricLatentCodec

__all__ = [
    "ConditionalLatentCodec",
    "EntropyHead",
    "FactorizedLatentCodec",
    "HyperpriorLatentCodec",
    "LatentCodec",
    "LatentOutput",
    "MeanScaleHead",
    "MixtureHead",
    "ParametricLatentCodec",
    "ScaleHead",
]
