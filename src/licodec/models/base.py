"""``CompressionModel``: analysis and synthesis transforms around a latent codec."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from licodec.components.entropy.base import TabledEntropyModel
from licodec.components.latent import LatentCodec
from licodec.core.image import crop, pad_to_multiple


class CompressionModel(nn.Module):
    """``x → g_a → latent codec → g_s → x̂``.

    Args:
        g_a: analysis transform, 3×H×W → C×H/stride×W/stride.
        g_s: synthesis transform, the inverse shape map.
        latent_codec: codes the analysis output (see :mod:`licodec.components.latent`).
        stride: spatial downsampling of ``g_a``.
        pad_multiple: images are padded to multiples of this before coding (the product of
            every stride on the way to the deepest latent).

    Attributes set by the registry: ``name``, ``quality``, ``lmbda`` and ``config``.
    """

    name: str = "unnamed"
    quality: int = 0
    lmbda: float = 0.0
    config: dict[str, Any]

    def __init__(
        self,
        g_a: nn.Module,
        g_s: nn.Module,
        latent_codec: LatentCodec,
        stride: int = 16,
        pad_multiple: int = 64,
    ) -> None:
        super().__init__()
        self.g_a = g_a
        self.g_s = g_s
        self.latent_codec = latent_codec
        self.stride = stride
        self.pad_multiple = pad_multiple
        self.config = {}

    @property
    def n_sections(self) -> int:
        """Byte sections a file of this model holds."""
        return self.latent_codec.n_sections

    def forward(self, x: Tensor) -> dict[str, Any]:
        """Training / estimation pass on N×3×H×W (H, W multiples of ``pad_multiple``).

        Returns ``{"x_hat": N×3×H×W, "likelihoods": {name: tensor}}``; in eval mode the
        latents are rounded exactly as the codec rounds them. The latent codec always runs
        in float32, also under autocast: bfloat16's 8-bit mantissa cannot hold the
        quantization noise or the small likelihoods of the rate term.
        """
        y = self.g_a(x)
        with torch.autocast(x.device.type, enabled=False):
            out = self.latent_codec(y.float())
        return {"x_hat": self.g_s(out.y_hat), "likelihoods": out.likelihoods}

    @torch.no_grad()
    def compress(self, x: Tensor) -> tuple[list[bytes], Tensor]:
        """Code one image 1×3×H×W in [0, 1] of any size; returns ``(sections, x̂)``."""
        height, width = x.shape[-2:]
        sections, y_hat = self.latent_codec.compress(
            self.g_a(pad_to_multiple(x, self.pad_multiple))
        )
        return sections, crop(self.g_s(y_hat), height, width).clamp(0, 1)

    @torch.no_grad()
    def decompress(self, sections: list[bytes], height: int, width: int) -> Tensor:
        """Decode the sections of an image of ``height``×``width`` pixels → 1×3×H×W."""
        padded_h = -(-height // self.pad_multiple) * self.pad_multiple
        padded_w = -(-width // self.pad_multiple) * self.pad_multiple
        shape = (padded_h // self.stride, padded_w // self.stride)
        y_hat = self.latent_codec.decompress(sections, shape)
        return crop(self.g_s(y_hat), height, width).clamp(0, 1)

    def update(self) -> None:
        """Rebuild every entropy model's integer coding tables (after training or loading)."""
        for module in self.modules():
            if isinstance(module, TabledEntropyModel):
                module.update()

    def aux_loss(self) -> Tensor:
        """Auxiliary loss; zero here: factorized tables come from the density itself."""
        return torch.zeros(())
