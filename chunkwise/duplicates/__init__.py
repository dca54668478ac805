"""What a store says twice: overlap between consecutive pieces, boilerplate lines, exact and
near-duplicate documents, paragraphs and sentences (``removal``), with MinHash signatures
and LSH banding in ``_minhash`` (compiled twin ``_cminhash.pyx`` beside it).
"""

from . import removal as _removal
from .removal import *  # noqa: F403

__all__ = list(_removal.__all__)
