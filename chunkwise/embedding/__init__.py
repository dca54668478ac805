"""Vectors for text: the profiles and ``get_embedder`` (``embedders``), the sentence-transformers
model (``transformer``), the static-table ``fast`` profile (``static``), the SQLite cache that
spares a model every text it has seen (``cache``), and what they share (``_common``: the
``Embedder`` protocol, finding a model in local files only, checks on texts and vectors).
"""

from . import embedders as _embedders
from .embedders import *  # noqa: F403

__all__ = list(_embedders.__all__)
