"""Boundary selection: choose where chunks start so every chunk fits the token cap.

A document is a sequence of units (sentences, or pieces of an over-long
sentence) with token counts, and a score for cutting in each gap. The
selection maximises

    sum(score of each cut) - cut_penalty * chunks - underfill_penalty * tokens short of min_tokens

subject to every chunk holding at most ``max_tokens`` tokens. A dynamic
programme over a window bounded by ``max_tokens`` (every unit counts at least
one token) makes it linear in the number of units.

This file is the pure-Python twin of ``_cboundaries.pyx`` (beside it); the two
must agree exactly, which is why scores are integers (fixed-point).
"""

from __future__ import annotations

import numpy as np

from .._backend import chosen
from ..errors import ConfigError

SCORE_SCALE = 1_000_000
"""Fixed-point scale: a float score s is passed to the loops as round(s * SCORE_SCALE)."""

_NEG_INF = -(1 << 62)


def select_starts_python(
    unit_tokens: np.ndarray,
    gap_scores: np.ndarray,
    doc_offsets: np.ndarray,
    max_tokens: int,
    min_tokens: int,
    cut_penalty: int,
    underfill_penalty: int,
) -> np.ndarray:
    """Pure-Python twin of ``_cboundaries.select_starts``."""
    tokens = [int(t) for t in unit_tokens]
    scores = [int(s) for s in gap_scores]
    offsets = [int(o) for o in doc_offsets]
    if len(scores) != len(tokens):
        raise ValueError("gap_scores and unit_tokens differ in length")
    if not offsets or offsets[0] != 0 or offsets[-1] != len(tokens):
        raise ValueError("doc_offsets must start at 0 and end at len(unit_tokens)")
    starts = np.zeros(len(tokens), dtype=np.int8)
    for begin, end in zip(offsets, offsets[1:]):
        unit_count = end - begin
        if unit_count <= 0:
            continue
        prefix = [0] * (unit_count + 1)
        for i in range(unit_count):
            prefix[i + 1] = prefix[i] + tokens[begin + i]
        best = [_NEG_INF] * (unit_count + 1)
        prev = [-1] * (unit_count + 1)
        best[0] = 0
        for i in range(1, unit_count + 1):
            j = i - 1
            while j >= 0:
                size = prefix[i] - prefix[j]
                if size > max_tokens:
                    break
                if best[j] > _NEG_INF:
                    value = best[j] - cut_penalty
                    if j > 0:
                        value += scores[begin + j]
                    if size < min_tokens:
                        value -= underfill_penalty * (min_tokens - size)
                    if value > best[i]:
                        best[i] = value
                        prev[i] = j
                j -= 1
        i = unit_count
        while i > 0:
            j = prev[i]
            if j < 0:
                raise ValueError("a unit is larger than max_tokens; split units before selecting boundaries")
            starts[begin + j] = 1
            i = j
    return starts


def _int32(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` as contiguous int32 (the DP's input type); out-of-range values raise, never wrap."""
    array = np.asarray(values)
    if array.dtype != np.int32 and array.size:
        low, high = int(array.min()), int(array.max())
        if low < -(2**31) or high >= 2**31:
            raise ValueError(f"{name} must fit in int32, got values in [{low}, {high}]")
    return np.ascontiguousarray(array, dtype=np.int32)


def select_starts(
    unit_tokens: np.ndarray,
    gap_scores: np.ndarray,
    doc_offsets: np.ndarray,
    *,
    max_tokens: int,
    min_tokens: int = 0,
    cut_penalty: int = 0,
    underfill_penalty: int = 0,
    implementation: str | None = None,
) -> np.ndarray:
    """Return an int8 mask over units: 1 where a chunk starts.

    ``unit_tokens`` (each >= 1), ``gap_scores`` (fixed-point; entry k scores a cut
    before unit k, entry 0 of each document is ignored), both integers that fit in
    int32 (int32 arrays are used as they are, others converted), and
    ``doc_offsets`` (int64, len = documents + 1) describe a batch of documents.
    ``implementation`` is ``"cython"``, ``"python"`` or None (the active backend).
    """
    if max_tokens < 1:
        raise ConfigError(f"max_tokens must be >= 1, got {max_tokens}")
    if min_tokens < 0 or cut_penalty < 0 or underfill_penalty < 0:
        raise ConfigError("min_tokens, cut_penalty and underfill_penalty must be >= 0")
    unit_tokens = _int32(unit_tokens, "unit_tokens")
    gap_scores = _int32(gap_scores, "gap_scores")
    doc_offsets = np.ascontiguousarray(doc_offsets, dtype=np.int64)
    if unit_tokens.size and int(unit_tokens.min()) < 1:
        raise ValueError("every unit must count at least one token")
    args = (unit_tokens, gap_scores, doc_offsets, int(max_tokens), int(min_tokens), int(cut_penalty), int(underfill_penalty))
    module = chosen("_cboundaries", implementation)
    return select_starts_python(*args) if module is None else module.select_starts(*args)
