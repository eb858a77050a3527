"""Ballé et al. 2018: factorized prior and scale hyperprior."""

from __future__ import annotations

from torch import nn

from licodec.components.latent import (
    FactorizedLatentCodec,
    HyperpriorLatentCodec,
    ParametricLatentCodec,
    ScaleHead,
)
from licodec.components.layers import conv, deconv
from licodec.models.base import CompressionModel
from licodec.models.registry import qualities_by_channels, register
from licodec.models.transforms import gdn_analysis, gdn_synthesis


@register(
    "bmshj2018-factorized",
    qualities_by_channels({"n": 128, "m": 192}, {"n": 192, "m": 320}, first_large=6),
    "Ballé 2018 factorized prior: GDN transforms, per-channel learned density.",
)
def factorized(n: int, m: int) -> CompressionModel:
    """Factorized-prior model with N hidden and M latent channels."""
    return CompressionModel(
        gdn_analysis(n, m), gdn_synthesis(n, m), FactorizedLatentCodec(m), pad_multiple=16
    )


@register(
    "bmshj2018-hyperprior",
    qualities_by_channels({"n": 128, "m": 192}, {"n": 192, "m": 320}, first_large=6),
    "Ballé 2018 scale hyperprior: z = h_a(|y|) gives the Gaussian scales of y.",
)
def hyperprior(n: int, m: int) -> CompressionModel:
    """Scale-hyperprior model: y ~ N(0, s²), s = h_s(ẑ)."""
    h_a = nn.Sequential(conv(m, n, 3, 1), nn.ReLU(), conv(n, n), nn.ReLU(), conv(n, n))
    h_s = nn.Sequential(
        deconv(n, n), nn.ReLU(), deconv(n, n), nn.ReLU(), conv(n, m, 3, 1), nn.ReLU()
    )
    latent = HyperpriorLatentCodec(
        h_a,
        h_s,
        FactorizedLatentCodec(n, name="z"),
        ParametricLatentCodec(ScaleHead()),
        abs_input=True,
    )
    return CompressionModel(gdn_analysis(n, m), gdn_synthesis(n, m), latent)
