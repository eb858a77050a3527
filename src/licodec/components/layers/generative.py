"""The networks of generative compression (Agustsson et al. 2019, after pix2pixHD).

Notation of the paper: ``c7s1-k`` is a 7×7 convolution of stride 1 with ``k`` filters,
``dk`` a 3×3 convolution of stride 2 (``k`` filters), ``uk`` a 3×3 transposed convolution of
stride 2, ``Rk`` a residual block of two 3×3 convolutions; each is followed by instance
normalisation and ReLU unless said otherwise. Pictures enter as ``2x − 1`` (``[−1, 1]``).

* :class:`GenerativeEncoder` — ``c7s1-w0, d w1 … d w4, c3s1-C``: ``B×I×H×W → B×C×H/16×W/16``
  (the last convolution has neither norm nor activation: the quantizer follows).
* :class:`Generator` — ``c3s1-w4, 9×R w4, u w3 … u w0, c7s1-3`` then ``(tanh + 1)/2``:
  ``B×C'×h×w → B×3×16h×16w`` in [0, 1]; its first convolution, the norm after it and the
  rest (:meth:`Generator.synthesise`) can run apart, for SC's gated input.
* :class:`MultiScaleDiscriminator` — PatchGAN at 3 scales (the picture, and twice 2× average
  pooled): ``c4s2-w0`` (LeakyReLU 0.2, no norm), ``c4s2-w1``, ``c4s2-w2``, ``c4s1-w3`` (IN +
  LeakyReLU), ``c4s1-1``; returns every layer's features (feature matching) of every scale.

Paper widths are ``(60, 120, 240, 480, 960)`` for encoder and generator and
``(64, 128, 256, 512)`` for the discriminator; the shipped CPU-trained weights use a sixth
of the first (``w0 = 10``) and a quarter of the second (``[D]``, :mod:`licodec.models.gan`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def _norm(channels: int) -> nn.Module:
    """``[D]`` instance norm with a learned affine (pix2pixHD's has none)."""
    return nn.InstanceNorm2d(channels, affine=True)


def conv_block(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """Reflection-padded ``kernel``×``kernel`` convolution, instance norm, ReLU."""
    return nn.Sequential(
        nn.ReflectionPad2d(kernel // 2),
        nn.Conv2d(cin, cout, kernel, stride),
        _norm(cout),
        nn.ReLU(inplace=True),
    )


def up_block(cin: int, cout: int) -> nn.Sequential:
    """``uk``: 3×3 transposed convolution of stride 2 (exactly 2× the size), norm, ReLU."""
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1),
        _norm(cout),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """``x + IN(conv(ReLU(IN(conv(x)))))`` with reflection-padded 3×3 convolutions."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_block(channels, channels, 3),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class GenerativeEncoder(nn.Module):
    """``c7s1-w0, d w1, …, d w4, c3s1-C`` (module docstring); ``len(widths) − 1`` halvings.

    Args:
        in_channels: 3 for pictures (taken in [0, 1], scaled to [−1, 1] here), or the classes
            of a one-hot label map (taken as they are).
        widths: ``(w0, …, w4)``.
        out_channels: ``C``.
        picture: whether the input is a picture (scaled) or features.
    """

    def __init__(
        self, in_channels: int, widths: tuple[int, ...], out_channels: int, picture: bool = True
    ) -> None:
        super().__init__()
        layers = [conv_block(in_channels, widths[0], 7)]
        layers += [conv_block(a, b, 3, stride=2) for a, b in zip(widths, widths[1:], strict=False)]
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(widths[-1], out_channels, 3)]
        self.layers = nn.Sequential(*layers)
        self.picture = picture

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(2 * x - 1 if self.picture else x)


class Generator(nn.Module):
    """``c3s1-w4, blocks×R w4, u w3 … u w0, c7s1-3`` → ``(tanh + 1)/2`` (module docstring).

    Args:
        in_channels: channels of the generator input (``ŵ``, noise, label features).
        widths: ``(w0, …, w4)`` as in the encoder (used in reverse).
        blocks: residual blocks (``[R]`` 9).
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...], blocks: int = 9) -> None:
        super().__init__()
        top = widths[-1]
        layers: list[nn.Module] = [conv_block(in_channels, top, 3)]
        layers += [ResidualBlock(top) for _ in range(blocks)]
        rev = widths[::-1]
        layers += [up_block(a, b) for a, b in zip(rev, rev[1:], strict=False)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(widths[0], 3, 7)]
        self.layers = nn.Sequential(*layers)

    def first_conv(self, w: Tensor) -> Tensor:
        """The first layer's convolution, before its norm: ``B×in_channels×h×w → B×w4×h×w``."""
        pad, conv, _, _ = self.layers[0]
        return conv(pad(w))

    def first_norm(self, h: Tensor) -> Tensor:
        """The rest of the first layer, ``ReLU(IN(h))``, on a :meth:`first_conv` output (or a
        stand-in for one, as SC's gated input gives it)."""
        _, _, norm, relu = self.layers[0]
        return relu(norm(h))

    def synthesise(self, h: Tensor) -> Tensor:
        """The residual blocks, upsampling and output layer on first-layer features ``h``:
        ``B×w4×h×w → B×3×16h×16w`` in [0, 1]."""
        return (self.layers[1:](h).tanh() + 1) / 2

    def forward(self, w: Tensor) -> Tensor:
        return self.synthesise(self.first_norm(self.first_conv(w)))


class PatchDiscriminator(nn.Module):
    """One scale of the PatchGAN (module docstring); returns the features of every layer,
    the last being the ``B×1×h×w`` real/fake map."""

    def __init__(self, in_channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i, width in enumerate(widths):
            stride = 2 if i < len(widths) - 1 else 1
            conv = nn.Conv2d(cin, width, 4, stride, padding=2)
            norm = [] if i == 0 else [nn.InstanceNorm2d(width)]
            layers.append(nn.Sequential(conv, *norm, nn.LeakyReLU(0.2, inplace=True)))
            cin = width
        layers.append(nn.Sequential(nn.Conv2d(cin, 1, 4, 1, padding=2)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> list[Tensor]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features


class MultiScaleDiscriminator(nn.Module):
    """PatchGAN discriminators at ``scales`` scales (module docstring).

    Args:
        in_channels: 3, plus the classes of a one-hot label map for a conditional
            discriminator (``[D]`` SC conditions on the labels, as pix2pixHD does).
        widths: ``(w0, …, w3)``.
        scales: ``[R]`` 3.
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...], scales: int = 3) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(in_channels, widths) for _ in range(scales))

    def forward(self, x: Tensor, condition: Tensor | None = None) -> list[list[Tensor]]:
        """Features of each scale for picture ``x`` in [0, 1] (and the condition, e.g. a
        one-hot label map of the same size)."""
        x = 2 * x - 1
        if condition is not None:
            x = torch.cat([x, condition.to(x.dtype)], dim=1)
        outputs = []
        for i, discriminator in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            outputs.append(discriminator(x))
        return outputs
