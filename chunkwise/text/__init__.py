"""Text in, text out, offsets kept: Unicode repair with a map back to the raw text
(``normalization``, with the repairs in ``_fixes``, the offset maps in ``_align``, and ftfy's
mojibake steps mirrored in ``_encoding_repair``, whose compiled twin is ``_crepair.pyx``, also
that of ``_fixes._dense_mojibake_segments``) and
the units the chunker cuts between (``segmentation``; its compiled twin is ``_csegment.pyx`` beside it).
"""

from . import normalization as _normalization, segmentation as _segmentation
from .normalization import *  # noqa: F403
from .segmentation import *  # noqa: F403

__all__ = [*_normalization.__all__, *_segmentation.__all__]
