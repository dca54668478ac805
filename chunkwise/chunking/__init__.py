"""Cutting documents into chunks under a hard token cap: the structural, semantic and naive
strategies (``chunker``), the boundary DP they share (``_boundaries``, compiled twin
``_cboundaries.pyx``) and the semantic gap scores (``_scores``, twin ``_cscores.pyx``).
"""

from . import chunker as _chunker
from .chunker import *  # noqa: F403
from .chunker import with_keywords

__all__ = [*_chunker.__all__, "with_keywords"]
