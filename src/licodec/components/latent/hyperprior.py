"""Hyperprior composition: ``z = h_a(y)`` coded first, ``h_s(ẑ)`` conditions ``y``."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from licodec.components.fixedpoint import IntegerNetwork
from licodec.components.latent.base import ConditionalLatentCodec, LatentCodec, LatentOutput
from licodec.components.threads import single_threaded
from licodec.core.bitstream import SectionTag


class HyperpriorLatentCodec(LatentCodec):
    """Sections: those of ``z_codec`` (tagged ``HYPER``), then ``y`` (``LATENT``).

    The hyper-latent has ``1/hyper_stride`` of y's resolution.

    Args:
        h_a: hyper-analysis, ``y → z``.
        h_s: hyper-synthesis, ``ẑ → side`` (side has y's resolution).
        z_codec: codes ``z`` on its own (usually a factorized prior named "z").
        y_codec: codes ``y`` given ``side``.
        hyper_stride: spatial ratio between y and z.
        abs_input: feed ``|y|`` to ``h_a`` (Ballé 2018 scale hyperprior).

    Integer path: ``h_s_int`` is the fixed-point twin of ``h_s`` (:class:`IntegerNetwork`,
    input the integers ``ẑ``, output in the units ``y_codec`` asks for, or a calibrated
    activation when ``y_codec`` has networks of its own). ``h_a`` needs none: ``ẑ`` is
    transmitted.

    Threads: outside training, ``h_s`` and ``y_codec`` run on one intra-op thread
    (:mod:`licodec.components.threads`), so float-path parameters do not depend on the
    caller's thread count.
    """

    def __init__(
        self,
        h_a: nn.Module,
        h_s: nn.Module,
        z_codec: LatentCodec,
        y_codec: ConditionalLatentCodec,
        hyper_stride: int = 4,
        abs_input: bool = False,
    ) -> None:
        super().__init__()
        self.h_a = h_a
        self.h_s = h_s
        self.z_codec = z_codec
        self.y_codec = y_codec
        self.hyper_stride = hyper_stride
        self.abs_input = abs_input
        self.h_s_int = IntegerNetwork(h_s, output_bits=y_codec.side_bits)

    @property
    def section_tags(self) -> tuple[SectionTag, ...]:
        return (*self.z_codec.section_tags, SectionTag.LATENT)

    @property
    def calibrated(self) -> bool:
        return self.h_s_int.calibrated and self.y_codec.calibrated

    @torch.no_grad()
    def calibrate(self, ys: list[Tensor]) -> None:
        z_hats = [self.z_codec(self._analyse(y)).y_hat for y in ys]
        unit = self.h_s_int.calibrate(
            self.h_s,
            z_hats,
            torch.ones(z_hats[0].shape[1], dtype=torch.float64),
            self.y_codec.side_units(self.h_s_int.out_channels),
        )
        self.y_codec.calibrate(ys, [self.h_s(z_hat) for z_hat in z_hats], unit)

    def _synthesise(self, z_hat: Tensor) -> Tensor:
        """The side input of ``y_codec``: ``h_s(ẑ)``, as integers on the integer path."""
        with single_threaded():
            return self.h_s_int(z_hat) if self.integer_path else self.h_s(z_hat)

    def _analyse(self, y: Tensor) -> Tensor:
        return self.h_a(y.abs() if self.abs_input else y)

    def forward(self, y: Tensor, mask: Tensor | None = None) -> LatentOutput:
        z_out = self.z_codec(self._analyse(y))
        if self.training:
            y_out = self.y_codec(y, self.h_s(z_out.y_hat), mask)
        else:  # what the coder computes, on the coder's threads
            with single_threaded():
                y_out = self.y_codec(y, self.h_s(z_out.y_hat), mask)
        return LatentOutput(y_out.y_hat, {**y_out.likelihoods, **z_out.likelihoods})

    def compress(self, y: Tensor, mask: Tensor | None = None) -> tuple[list[bytes], Tensor]:
        z_sections, z_hat = self.z_codec.compress(self._analyse(y))
        side = self._synthesise(z_hat)
        with single_threaded():
            y_bytes, y_hat = self.y_codec.compress(y, side, mask)
        return [*z_sections, y_bytes], y_hat

    def decompress(
        self, sections: list[bytes], shape: tuple[int, int], mask: Tensor | None = None
    ) -> Tensor:
        n_z = self.z_codec.n_sections
        z_hat = self.z_codec.decompress(sections[:n_z], self._z_shape(shape))
        side = self._synthesise(z_hat)
        with single_threaded():
            return self.y_codec.decompress(sections[n_z], side, mask)

    def _z_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        return shape[0] // self.hyper_stride, shape[1] // self.hyper_stride

    def decompress_batch(self, files: list[list[bytes]], shape: tuple[int, int]) -> Tensor:
        n_z = self.z_codec.n_sections
        z_hat = self.z_codec.decompress_batch(
            [sections[:n_z] for sections in files], self._z_shape(shape)
        )
        side = self._synthesise(z_hat)
        with single_threaded():
            return self.y_codec.decompress_batch([sections[n_z] for sections in files], side)
