"""Base class for entropy models whose coding tables live in the state dict."""

from __future__ import annotations

import torch

from licodec.components.buffers import DataSizedBuffers
from licodec.components.entropy.tables import IntegerTables

LIKELIHOOD_BOUND = 1e-9
"""Training likelihoods are bounded below so −log2 stays finite (≈ 29.9 bits)."""


class TabledEntropyModel(DataSizedBuffers):
    """An entropy model that codes through :class:`IntegerTables` held as buffers.

    The tables are built by :meth:`update` (after training, or at build time for untrained
    models) and saved with the weights, so a file always decodes with exactly the tables
    that encoded it. Loading a state dict resizes the buffers to the stored tables.
    """

    _SIZED_BUFFERS = ("_counts", "_length", "_offset")

    def __init__(self) -> None:
        super().__init__()
        for name in self._SIZED_BUFFERS:
            self.register_buffer(name, torch.zeros(0, dtype=torch.int32))
        self._tables: IntegerTables | None = None

    def build_tables(self) -> IntegerTables:
        """Compute the integer tables from the current parameters."""
        raise NotImplementedError

    def update(self) -> None:
        """Rebuild the coding tables from the current parameters."""
        tables = self.build_tables()
        self._counts = torch.from_numpy(tables.counts.astype("int32"))
        self._length = torch.from_numpy(tables.length.astype("int32"))
        self._offset = torch.from_numpy(tables.offset.astype("int32"))
        self._tables = None

    @property
    def tables(self) -> IntegerTables:
        """The tables as int64 numpy arrays (cached until the next update or load)."""
        if self._length.numel() == 0:
            raise RuntimeError(f"{type(self).__name__} has no coding tables: call update()")
        if self._tables is None:
            self._tables = IntegerTables(
                self._counts.numpy().astype("int64"),
                self._length.numpy().astype("int64"),
                self._offset.numpy().astype("int64"),
            )
        return self._tables

    def _load_from_state_dict(self, *args, **kwargs):  # noqa: ANN002, ANN003
        self._tables = None
        super()._load_from_state_dict(*args, **kwargs)
