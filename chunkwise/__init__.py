"""chunkwise: fewer, better tokens for retrieval-augmented generation."""

from ._backend import backend
from .errors import ChunkwiseError

__version__ = "0.1.0"

__all__ = ["backend", "ChunkwiseError", "__version__"]
