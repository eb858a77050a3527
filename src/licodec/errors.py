"""Exceptions raised by licodec; each names the problem in its message."""


class LicodecError(Exception):
    """Base class of every error licodec raises on purpose."""


class BitstreamError(LicodecError, ValueError):
    """A ``.lic`` file is truncated, corrupted, of an unknown version or not a licodec file."""


class ImageInputError(LicodecError, ValueError):
    """An input image cannot be coded as given (empty, alpha, 16-bit, unknown layout)."""


class ModelError(LicodecError, ValueError):
    """An unknown model or quality, or weights that do not fit the model."""


class BudgetError(LicodecError, ValueError):
    """No available quality codes an image within the requested size."""
