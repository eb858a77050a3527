"""Transforms shared by the Ballé / Minnen family: GDN analysis and synthesis stacks."""

from __future__ import annotations

from torch import nn

from licodec.components.layers import GDN, PolyphaseConvTranspose2d, conv, deconv


def gdn_analysis(n: int, m: int) -> nn.Sequential:
    """3 → N → N → N → M channels, four 5×5 stride-2 convolutions with GDN between."""
    return nn.Sequential(conv(3, n), GDN(n), conv(n, n), GDN(n), conv(n, n), GDN(n), conv(n, m))


def gdn_synthesis(n: int, m: int) -> nn.Sequential:
    """M → N → N → N → 3 channels, four 5×5 stride-2 transposed convolutions with IGDN.

    The last one, to 3 channels at full resolution, infers in its faster polyphase form.
    """
    return nn.Sequential(
        deconv(m, n),
        GDN(n, inverse=True),
        deconv(n, n),
        GDN(n, inverse=True),
        deconv(n, n),
        GDN(n, inverse=True),
        PolyphaseConvTranspose2d(n, 3),
    )
