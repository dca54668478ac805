"""What a store says twice: overlap between consecutive pieces, boilerplate lines, exact and
near-duplicate documents, paragraphs and sentences (``removal``: the stages and ``dedup``), the
units they compare and their keys (``_units``), overlap stitching (``_overlap``), and MinHash
signatures with LSH banding (``_minhash``, compiled twin ``_cminhash.pyx`` beside it).
"""

from . import removal as _removal
from .removal import *  # noqa: F403

__all__ = list(_removal.__all__)
