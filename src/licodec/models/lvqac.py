"""LVQAC (Zhang & Wu 2023) on Minnen 2018: lattice vector quantization and adaptive companding.

Each variant is ``mbt2018`` / ``mbt2018-ckbd`` with another quantizer in its entropy head —
transforms, hyperprior and context network are the scalar model's, tensor for tensor, so a
variant fine-tunes from its scalar twin's weights (``--init-from W --init-partial``):

* ``-lattice``: ``D_n*`` over channel groups of ``group`` channels (``[D]`` default 8:
  a group of near-deterministic channels stays on ``Z^n`` and its coset bit costs almost
  nothing, while whole-vector groups (the paper's reading) almost never leave ``Z^M`` at our
  rates, since most of the ``M`` channels are inactive), coset bits coded first
  (:mod:`licodec.components.quant.lattice`);
* ``-companding``: scalar rounding inside a per-position A-law
  (:mod:`licodec.components.quant.companding`), ``A`` predicted from the head's parameters;
* ``-lvqac``: both, lattice quantization of the companded latent (the paper's system).

``cheng2020-lattice`` / ``cheng2020-ckbd-lattice``: the Cheng 2020 anchor (K = 3 mixture)
with the lattice quantizer. ``[D]``: no companded Cheng variant — the integer mixture
coder evaluates Gaussian CDFs at integer bin edges, and companded edges would need their
own fixed-point tables; at q1–q4 the trained ``mbt2018-ckbd`` compander also chose
``A = 1`` almost everywhere (README, LVQAC section).

Order ``[R]``: centre with ``μ``, compand, lattice-quantize, code the integer parts under the
Gaussian on the coset-shifted companded cells plus the coset bits; decoding inverts.
"""

from __future__ import annotations

from licodec.components.entropy import GaussianConditional
from licodec.components.latent.checkerboard import CheckerboardLatentCodec
from licodec.components.latent.companded_head import CompandedMeanScaleHead
from licodec.components.latent.context import ContextLatentCodec
from licodec.components.latent.heads import EntropyHead, MeanScaleHead
from licodec.components.latent.serial import SerialContextLatentCodec
from licodec.components.quant.base import Quantizer
from licodec.components.quant.companding import CompandingQuantizer
from licodec.components.quant.lattice import LATTICE_OFFSETS, LatticeQuantizer
from licodec.components.quant.scalar import ScalarQuantizer
from licodec.models.base import CompressionModel
from licodec.models.cheng2020 import QUALITIES as CHENG_QUALITIES
from licodec.models.cheng2020 import cheng_model
from licodec.models.mbt2018_context import joint_model
from licodec.models.registry import qualities_by_channels, register

_QUALITIES = qualities_by_channels({"n": 192, "m": 192}, {"n": 192, "m": 320}, first_large=5)

_BACKBONES: dict[str, tuple[type[ContextLatentCodec], str]] = {
    "mbt2018": (SerialContextLatentCodec, "serial 5×5 context"),
    "mbt2018-ckbd": (CheckerboardLatentCodec, "checkerboard context"),
}

_VARIANTS = {
    "lattice": "lattice vector quantization (D_n*, coset bits coded)",
    "companding": "scalar rounding in a per-position A-law compander",
    "lvqac": "lattice vector quantization of a per-position A-law companded latent",
}


DEFAULT_GROUP = 8
"""Channels per lattice vector unless a model is built with ``group``."""


def lvqac_head(
    m: int, variant: str, group: int | None = None, radius: float | None = None
) -> EntropyHead:
    """The entropy head of ``variant`` for ``M = m`` latent channels (``radius``: the
    A-law's range ``R``, default :class:`CompandingQuantizer`'s)."""
    inner: Quantizer
    if variant == "companding":
        inner = ScalarQuantizer()
    else:
        inner = LatticeQuantizer(m, group or DEFAULT_GROUP)
        if variant == "lattice":
            return MeanScaleHead(GaussianConditional(offsets=LATTICE_OFFSETS), inner)
    if variant not in _VARIANTS:
        raise ValueError(f"unknown LVQAC variant {variant!r}; known: {sorted(_VARIANTS)}")
    compander = CompandingQuantizer(inner) if radius is None else CompandingQuantizer(inner, radius)
    return CompandedMeanScaleHead(m, compander)


def _register(backbone: str, variant: str) -> None:
    codec, context = _BACKBONES[backbone]

    def build(
        n: int, m: int, group: int | None = None, radius: float | None = None
    ) -> CompressionModel:
        if variant == "companding" and group is not None:
            raise ValueError("the companding-only variant has no lattice group")
        if variant == "lattice" and radius is not None:
            raise ValueError("the lattice-only variant has no compander radius")
        return joint_model(n, m, codec, lvqac_head(m, variant, group, radius))

    build.__doc__ = f"{backbone} ({context}) with {_VARIANTS[variant]}."
    register(
        f"{backbone}-{variant}",
        _QUALITIES,
        f"Minnen 2018 ({context}) with {_VARIANTS[variant]} (LVQAC).",
    )(build)


for _backbone in _BACKBONES:
    for _variant in _VARIANTS:
        _register(_backbone, _variant)


_CHENG_BACKBONES: dict[str, tuple[type[ContextLatentCodec], str]] = {
    "cheng2020": (SerialContextLatentCodec, "serial 5×5 context"),
    "cheng2020-ckbd": (CheckerboardLatentCodec, "checkerboard context"),
}


def _register_cheng(backbone: str) -> None:
    codec, context = _CHENG_BACKBONES[backbone]

    def build(n: int, group: int | None = None) -> CompressionModel:
        return cheng_model(n, False, codec, LatticeQuantizer(n, group or DEFAULT_GROUP))

    build.__doc__ = f"Cheng 2020 anchor ({context}) with {_VARIANTS['lattice']}."
    register(
        f"{backbone}-lattice",
        CHENG_QUALITIES,
        f"Cheng 2020 anchor ({context}), K = 3 mixture, with {_VARIANTS['lattice']} (LVQAC).",
    )(build)


for _backbone in _CHENG_BACKBONES:
    _register_cheng(_backbone)
