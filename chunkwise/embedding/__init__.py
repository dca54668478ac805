"""Vectors for text: sentence-transformers models, the static-table ``fast`` profile and the
SQLite cache that spares a model every text it has seen (``embedders``). Models load from
local files only (``chunkwise._hub``, shared with the tokenizers).
"""

from . import embedders as _embedders
from .embedders import *  # noqa: F403

__all__ = list(_embedders.__all__)
