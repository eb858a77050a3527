"""Minnen et al. 2018: mean-scale hyperprior (``mbt2018-mean``)."""

from __future__ import annotations

from torch import nn

from licodec.components.latent import (
    FactorizedLatentCodec,
    HyperpriorLatentCodec,
    MeanScaleHead,
    ParametricLatentCodec,
)
from licodec.components.layers import conv, deconv
from licodec.models.base import CompressionModel
from licodec.models.registry import qualities_by_channels, register
from licodec.models.transforms import gdn_analysis, gdn_synthesis


def mean_scale_hyper_transforms(n: int, m: int) -> tuple[nn.Sequential, nn.Sequential]:
    """``h_a``: M → N at 1/4 resolution; ``h_s``: N → 2M (scales, means) back at y's size."""
    h_a = nn.Sequential(
        conv(m, n, 3, 1),
        nn.LeakyReLU(inplace=True),
        conv(n, n),
        nn.LeakyReLU(inplace=True),
        conv(n, n),
    )
    h_s = nn.Sequential(
        deconv(n, m),
        nn.LeakyReLU(inplace=True),
        deconv(m, m * 3 // 2),
        nn.LeakyReLU(inplace=True),
        conv(m * 3 // 2, m * 2, 3, 1),
    )
    return h_a, h_s


@register(
    "mbt2018-mean",
    qualities_by_channels({"n": 128, "m": 192}, {"n": 192, "m": 320}, first_large=5),
    "Minnen 2018 mean-scale hyperprior (no context): y ~ N(μ, s²), (s, μ) = h_s(ẑ).",
)
def mean_scale(n: int, m: int) -> CompressionModel:
    """Mean-scale hyperprior model."""
    h_a, h_s = mean_scale_hyper_transforms(n, m)
    latent = HyperpriorLatentCodec(
        h_a, h_s, FactorizedLatentCodec(n, name="z"), ParametricLatentCodec(MeanScaleHead())
    )
    return CompressionModel(gdn_analysis(n, m), gdn_synthesis(n, m), latent)
