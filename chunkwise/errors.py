"""The exception hierarchy: every error chunkwise raises on purpose is a ChunkwiseError.

Each class also derives from the builtin a caller would naturally catch
(``ValueError`` for bad values, ``TypeError`` for bad types, ``LookupError``
for things that are not there), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class ChunkwiseError(Exception):
    """Base class of every error raised by chunkwise."""


class ConfigError(ChunkwiseError, ValueError):
    """A configuration value is out of range or inconsistent with another."""


class InputTypeError(ChunkwiseError, TypeError):
    """An input has a type chunkwise does not accept; the message lists what it does."""


class InputDataError(ChunkwiseError, ValueError):
    """An input has the right type but unusable content (duplicate ids, NaN vectors...)."""


class TokenizerError(ChunkwiseError, ValueError):
    """A tokenizer could not be built or used."""


class TokenizerNotFoundError(TokenizerError, LookupError):
    """A tokenizer name did not resolve to local files; nothing is downloaded."""


class ModelNotFoundError(ChunkwiseError, LookupError):
    """A model (embedder, catalog entry) is not available locally."""


class CatalogError(ChunkwiseError, LookupError):
    """An unknown model or GPU name; the message lists close names."""


class MissingDependencyError(ChunkwiseError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


__all__ = [
    "ChunkwiseError",
    "ConfigError",
    "InputTypeError",
    "InputDataError",
    "TokenizerError",
    "TokenizerNotFoundError",
    "ModelNotFoundError",
    "CatalogError",
    "MissingDependencyError",
]


class ChunkwiseWarning(UserWarning):
    """Something worked, but not as asked (a fallback tokenizer, a truncated embedding)."""


__all__.append("ChunkwiseWarning")


class EmbedderMismatchError(ConfigError):
    """A saved index or vectors were made by another embedder than the one given; vectors would not compare."""


__all__.append("EmbedderMismatchError")


class OutputError(ChunkwiseError, OSError):
    """An output could not be written (a read-only or full disk, a bad path); nothing half-written is left as complete."""


__all__.append("OutputError")


class DeviceUnavailableError(ChunkwiseError, RuntimeError):
    """A measurement needs a device (a CUDA GPU) that is not visible here."""


__all__.append("DeviceUnavailableError")
