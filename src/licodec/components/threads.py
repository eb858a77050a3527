"""The threading policy of every network whose output decides a coding probability.

A float convolution or matrix product may sum in another order when torch runs it on
another number of intra-op threads, and the entropy parameters follow those last bits: a
scale can cross a table boundary, a mixture row can change by one count, and the range
decoder then desynchronises. So on the float path the hyper-synthesis and the context
networks always run on **one** intra-op thread, at encode, at decode, in the eval-mode
forward pass and in calibration, whatever ``torch.set_num_threads`` the caller chose
(``[D]``: one thread rather than a fixed count above one, because the per-front products are
too small to gain from threads, and one is available everywhere). The analysis and
synthesis transforms keep the caller's threads: their outputs are transmitted (ŷ, ẑ) or
shown (x̂), never re-derived by the other side.

This makes float-path files independent of the thread count on one machine; across
machines (other CPUs, oneDNN on or off) only the integer path is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block, restoring the caller's count after
    (nesting is harmless)."""
    threads = torch.get_num_threads()
    if threads != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads != 1:
            torch.set_num_threads(threads)
