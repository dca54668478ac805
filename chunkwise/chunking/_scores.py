"""Semantic gap scores: how strongly the meaning shifts at each gap between units.

For the gap before unit k of a document, the left window is the sum of the
vectors of units [k - window, k) and the right window of units [k, k + window)
(both clipped to the document); their cosine similarity, rounded to 1e-6, is
turned into a dissimilarity, smoothed with weights 1-2-1 over neighbouring
gaps, and scored against the document's own level:

    score = weight * clip((d - mean d) / (clip_z * mean |d - mean d|), -1, 1)

in fixed point (``SCORE_SCALE`` of ``_boundaries``), so a gap where meaning
shifts more than usual in this document is worth up to ``weight`` and a gap
inside a coherent stretch costs up to ``weight``. Scoring against the
document's own mean and spread makes the score independent of the embedder's
cosine range (a static table and a transformer differ a lot there). A document
whose gaps are all alike (repeated sentences) scores 0 everywhere.

This file holds the NumPy twin of ``_cscores.pyx`` (beside it) and the dispatcher.
Only the cosine is floating point; it is rounded to 1e-6 and everything after
is integer arithmetic, so the twins agree unless a cosine lands within ~1e-13
of a rounding edge.
"""

from __future__ import annotations

import numpy as np

from .._backend import chosen
from ..errors import ConfigError, InputDataError

SIM_SCALE = 1_000_000
"""Cosines are rounded to multiples of 1 / SIM_SCALE before any further step."""


def _check(vectors: np.ndarray, doc_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    doc_offsets = np.ascontiguousarray(doc_offsets, dtype=np.int64)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D (units, dimension), got shape {vectors.shape}")
    if doc_offsets.ndim != 1 or doc_offsets.size < 1 or doc_offsets[0] != 0 or doc_offsets[-1] != vectors.shape[0]:
        raise ValueError("doc_offsets must start at 0 and end at the number of vectors")
    if np.any(np.diff(doc_offsets) < 0):
        raise ValueError("doc_offsets must not decrease")
    if vectors.size and not np.isfinite(vectors).all():
        row = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
        raise InputDataError(f"embedding of unit {row} holds NaN or inf; the embedder produced an invalid vector")
    return vectors, doc_offsets


def _quantized_similarities(vectors: np.ndarray, doc_offsets: np.ndarray, window: int) -> np.ndarray:
    """Rounded cosine (times SIM_SCALE, int32) between the windows around each gap; 0 at document starts."""
    count = vectors.shape[0]
    similarities = np.zeros(count, dtype=np.int32)
    if count == 0:
        return similarities
    units = vectors.astype(np.float64)
    lengths = np.diff(doc_offsets)
    doc_of = np.repeat(np.arange(lengths.size), lengths)
    index = np.arange(count)
    before = index - doc_offsets[doc_of]  # units of the same document before each unit
    after = doc_offsets[doc_of + 1] - index  # units from this one to the document's end
    left = np.zeros_like(units)
    right = units.copy()
    # Summed in the same order as the C loop (nearest unit first); a masked
    # row adds an exact 0.0, so the sums are bit-identical to the C loop's.
    for step in range(1, window + 1):
        if step < count:
            left[step:] += units[:-step] * (before[step:] >= step)[:, None]
    for step in range(1, window):
        if step < count:
            right[:-step] += units[step:] * (after[:-step] > step)[:, None]
    gaps = before > 0
    dot = np.einsum("ij,ij->i", left, right)
    norms = np.einsum("ij,ij->i", left, left) * np.einsum("ij,ij->i", right, right)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.where(norms > 0, dot / np.sqrt(norms), 1.0)
    cosine = np.clip(cosine, -1.0, 1.0)
    similarities[gaps] = np.floor(cosine[gaps] * SIM_SCALE + 0.5).astype(np.int32)
    return similarities


def scores_from_similarities_python(similarities: np.ndarray, doc_offsets: np.ndarray, weight: int, clip_z_percent: int) -> np.ndarray:
    """NumPy twin of ``_cscores.scores_from_similarities``."""
    scores = np.zeros(similarities.shape[0], dtype=np.int32)
    for begin, end in zip(doc_offsets[:-1].tolist(), doc_offsets[1:].tolist()):
        gaps = end - begin - 1
        if gaps < 1:
            continue
        raw = SIM_SCALE - similarities[begin + 1 : end].astype(np.int64)  # dissimilarity in [0, 2 * SIM_SCALE]
        padded = np.concatenate((raw[:1], raw, raw[-1:]))
        smooth = padded[:-2] + 2 * padded[1:-1] + padded[2:]
        center = int(smooth.sum()) // gaps
        spread = int(np.abs(smooth - center).sum()) // gaps
        limit = spread * clip_z_percent // 100
        if limit <= 0:
            continue
        shifted = np.clip(smooth - center + limit, 0, 2 * limit)
        scores[begin + 1 : end] = weight * shifted // limit - weight
    return scores


def gap_scores_python(
    vectors: np.ndarray, doc_offsets: np.ndarray, window: int, weight: int, clip_z_percent: int
) -> np.ndarray:
    """NumPy twin of ``_cscores.gap_scores``."""
    vectors, doc_offsets = _check(vectors, doc_offsets)
    similarities = _quantized_similarities(vectors, doc_offsets, window)
    return scores_from_similarities_python(similarities, doc_offsets, weight, clip_z_percent)


def gap_similarities(vectors: np.ndarray, doc_offsets: np.ndarray, *, window: int = 3,
                     implementation: str | None = None) -> np.ndarray:
    """The first half of ``gap_scores``: int32 rounded cosine (times SIM_SCALE) per gap, 0 at document starts.

    Each gap's value reads only the ``window`` units either side of it, so a long
    batch can be computed a block at a time (with ``window`` units of context on
    each side) and give the same values.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ConfigError(f"window must be an int >= 1, got {window!r}")
    vectors, doc_offsets = _check(vectors, doc_offsets)
    module = chosen("_cscores", implementation)
    if module is None:
        return _quantized_similarities(vectors, doc_offsets, window)
    return module.gap_similarities(vectors, doc_offsets, int(window))


def scores_from_similarities(similarities: np.ndarray, doc_offsets: np.ndarray, *, weight: int,
                             clip_z_percent: int = 250, implementation: str | None = None) -> np.ndarray:
    """The second half of ``gap_scores``: each document's gaps scored against its own level, as int32.

    Similarities and scores are int32 (4 bytes a unit each, not 8: a text of
    one-line paragraphs has a unit per 4 bytes); the arithmetic is int64.
    """
    if weight < 0 or clip_z_percent < 1 or weight > 2**31 - 1:
        raise ConfigError("weight must be in [0, 2**31) and clip_z_percent >= 1")
    similarities = np.asarray(similarities)
    if similarities.dtype != np.int32 and similarities.size and np.abs(similarities).max() > SIM_SCALE:
        raise ValueError(f"similarities must lie within [-{SIM_SCALE}, {SIM_SCALE}]")
    similarities = np.ascontiguousarray(similarities, dtype=np.int32)
    doc_offsets = np.ascontiguousarray(doc_offsets, dtype=np.int64)
    if doc_offsets.ndim != 1 or doc_offsets.size < 1 or doc_offsets[0] != 0 or doc_offsets[-1] != similarities.shape[0]:
        raise ValueError("doc_offsets must start at 0 and end at the number of similarities")
    module = chosen("_cscores", implementation)
    if module is None:
        return scores_from_similarities_python(similarities, doc_offsets, int(weight), int(clip_z_percent))
    return module.scores_from_similarities(similarities, doc_offsets, int(weight), int(clip_z_percent))


def gap_scores(
    vectors: np.ndarray,
    doc_offsets: np.ndarray,
    *,
    window: int = 3,
    weight: int,
    clip_z_percent: int = 250,
    implementation: str | None = None,
) -> np.ndarray:
    """int32 semantic score per unit (the gap before it; 0 at each document's first unit).

    ``vectors``: float32 (units, dimension), rows of a batch of documents
    (unit-length or not: cosine ignores length). ``doc_offsets``: int64, one
    more than there are documents. ``weight``: fixed-point magnitude of the
    largest score. ``clip_z_percent``: deviations beyond this many hundredths
    of the mean absolute deviation get the full weight.
    ``implementation``: ``"cython"``, ``"python"`` or None (the active backend).
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ConfigError(f"window must be an int >= 1, got {window!r}")
    if weight < 0 or clip_z_percent < 1:
        raise ConfigError("weight must be >= 0 and clip_z_percent >= 1")
    vectors, doc_offsets = _check(vectors, doc_offsets)
    args = (vectors, doc_offsets, int(window), int(weight), int(clip_z_percent))
    module = chosen("_cscores", implementation)
    return gap_scores_python(*args) if module is None else module.gap_scores(*args)


__all__ = ["gap_scores", "gap_scores_python", "gap_similarities", "scores_from_similarities", "SIM_SCALE"]
