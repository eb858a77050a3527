"""A strided transposed convolution that infers as a convolution plus pixel shuffle.

A transposed convolution with stride ``s``, odd kernel ``k``, padding ``p = k // 2`` and
output padding ``s − 1`` writes output row ``Y = s·u + a`` (phase ``a ∈ [0, s)``) from the
input rows ``y = u + d`` with ``d = (a + p − k_y) / s`` for every tap ``k_y`` where that is an
integer. Every phase is therefore a small ordinary convolution of the input; stacking the
``s²`` phases as output channels ``o·s² + a·s + b`` and pixel-shuffling by ``s`` gives the
same map:

    deconv(x; W) = pixel_shuffle(conv(x; K), s),
    K[o·s² + a·s + b, c, d_y, d_x] = W[c, o, k_y, k_x].

oneDNN runs the transposed form faster for wide outputs but the polyphase form ~2.5×
faster for the narrow last layer of a synthesis transform (3 output channels at full
resolution, measured on 2 CPU cores). The two forms sum in different orders, so they agree
to float rounding, not bit for bit: training uses the transposed form, eval mode (which
``compress``, ``decompress`` and the eval-mode forward all run) the polyphase one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PolyphaseConvTranspose2d(nn.ConvTranspose2d):
    """``in_ch×H×W → out_ch×sH×sW``; parameters and state-dict keys of ``nn.ConvTranspose2d``.

    Args:
        in_ch, out_ch: channel counts.
        kernel: odd kernel size ``k``.
        stride: upsampling factor ``s`` (the padding is ``k // 2``, output padding ``s − 1``).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> None:
        if kernel % 2 != 1:
            raise ValueError(f"the polyphase form needs an odd kernel, got {kernel}")
        padding = kernel // 2
        super().__init__(
            in_ch, out_ch, kernel, stride=stride, padding=padding, output_padding=stride - 1
        )
        # (phase, offset d, tap k) for one axis: input index u + d feeds phase a via tap k.
        taps = [
            (phase, (phase + padding - tap) // stride, tap)
            for phase in range(stride)
            for tap in range(kernel)
            if (phase + padding - tap) % stride == 0
        ]
        self.reach = max(abs(offset) for _, offset, _ in taps)
        self._taps = [(phase, offset + self.reach, tap) for phase, offset, tap in taps]

    def phase_weight(self) -> Tensor:
        """``K``: ``(out_ch·s²) × in_ch × (2r+1) × (2r+1)`` with ``r`` the largest offset."""
        stride, width = self.stride[0], 2 * self.reach + 1
        in_ch, out_ch = self.weight.shape[:2]
        kernel = self.weight.new_zeros(out_ch, stride, stride, in_ch, width, width)
        transposed = self.weight.permute(1, 0, 2, 3)  # out_ch × in_ch × k × k
        for row_phase, row, row_tap in self._taps:
            for col_phase, col, col_tap in self._taps:
                kernel[:, row_phase, col_phase, :, row, col] = transposed[:, :, row_tap, col_tap]
        return kernel.reshape(out_ch * stride * stride, in_ch, width, width)

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        if self.training or output_size is not None:
            return super().forward(x, output_size)
        stride = self.stride[0]
        bias = None if self.bias is None else self.bias.repeat_interleave(stride * stride)
        phases = F.conv2d(x, self.phase_weight(), bias, padding=self.reach)
        return torch.pixel_shuffle(phases, stride)
