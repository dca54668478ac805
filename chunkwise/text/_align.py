"""Alignment between normalized and raw text: a stack of compact per-pass edit maps.

Each repair pass rewrites its input text at a few places; it records only those
places (input span, output span) as four int64 arrays, never one entry per
character. A pass that rewrites nothing, or rewrites single characters into
single characters (NBSP to space, fullwidth letters), records nothing at all:
such a rewrite keeps every offset. Mapping an output offset back to the raw
text walks the stack from the last pass to the first, one binary search each,
so it costs O(number of passes x log(number of edits)).

Within an edit the map is deliberately coarse: a start offset inside the
rewritten output maps to the start of the input span and an end offset maps to
its end, so a mapped span always covers everything that produced it, and the
map is monotone (a later offset never maps to an earlier raw offset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class EditMap:
    """The non-trivial edits of one pass, sorted by position: input span -> output span."""

    in_start: np.ndarray
    in_end: np.ndarray
    out_start: np.ndarray
    out_end: np.ndarray

    @classmethod
    def from_edits(cls, in_start: list[int], in_end: list[int], out_len: list[int]) -> EditMap:
        """Build from edits given in input coordinates with the length of each replacement."""
        starts = np.asarray(in_start, dtype=np.int64)
        ends = np.asarray(in_end, dtype=np.int64)
        lengths = np.asarray(out_len, dtype=np.int64)
        # Output offset of edit k = input offset + sum of length changes of edits before k.
        growth = lengths - (ends - starts)
        shift = np.concatenate(([0], np.cumsum(growth)[:-1])) if len(growth) else growth
        out_start = starts + shift
        return cls(starts, ends, out_start, out_start + lengths)

    def __len__(self) -> int:
        return int(self.in_start.shape[0])

    def back_starts(self, positions: np.ndarray) -> np.ndarray:
        """Map span starts (output offsets) to input offsets; inside an edit, its input start."""
        index = np.searchsorted(self.out_start, positions, side="right") - 1
        return self._back(positions, index, inside_is_start=True)

    def back_ends(self, positions: np.ndarray) -> np.ndarray:
        """Map span ends (output offsets) to input offsets; inside an edit, its input end."""
        index = np.searchsorted(self.out_start, positions, side="left") - 1
        return self._back(positions, index, inside_is_start=False)

    def _back(self, positions: np.ndarray, index: np.ndarray, inside_is_start: bool) -> np.ndarray:
        if len(self) == 0:
            return positions.copy()
        safe = np.maximum(index, 0)
        out_end = self.out_end[safe]
        # After edit `index`: unchanged text, shifted by that edit's cumulative growth.
        mapped = self.in_end[safe] + (positions - out_end)
        if inside_is_start:
            inside = positions < out_end
            mapped = np.where(inside, self.in_start[safe], mapped)
        else:
            inside = positions <= out_end
            mapped = np.where(inside, self.in_end[safe], mapped)
        return np.where(index < 0, positions, mapped)


def concat_maps(parts: list[tuple[EditMap, int, int]]) -> EditMap:
    """One map from per-block maps, each with the (input, output) offsets of its block in
    the whole text, in order.

    Shifted while copied into one set of arrays, int32 where the offsets fit: shifted
    copies of every block's map before the join were three times the final map, two
    million edits' worth for 1 MB of random latin-1.
    """
    total = sum(len(edit_map) for edit_map, _, _ in parts)
    largest = max((int(edit_map.in_end[-1]) + in_offset for edit_map, in_offset, _ in parts if len(edit_map)), default=0)
    largest = max([largest, *(int(edit_map.out_end[-1]) + out_offset for edit_map, _, out_offset in parts if len(edit_map))])
    dtype = np.int32 if largest < np.iinfo(np.int32).max else np.int64
    arrays = [np.empty(total, dtype=dtype) for _ in range(4)]
    position = 0
    for edit_map, in_offset, out_offset in parts:
        end = position + len(edit_map)
        for target, source, offset in zip(arrays, (edit_map.in_start, edit_map.in_end, edit_map.out_start, edit_map.out_end),
                                          (in_offset, in_offset, out_offset, out_offset)):
            np.add(source, offset, out=target[position:end], casting="unsafe")
        position = end
    return EditMap(*arrays)


@dataclass(frozen=True, eq=False)
class Alignment:
    """Normalized -> raw offsets through the maps of every pass that changed lengths."""

    maps: tuple[EditMap, ...]
    normalized_length: int
    raw_length: int

    def to_raw_arrays(self, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized span mapping; starts and ends are int64 arrays of equal shape."""
        raw_starts = np.asarray(starts, dtype=np.int64)
        raw_ends = np.asarray(ends, dtype=np.int64)
        for edit_map in reversed(self.maps):
            raw_starts = edit_map.back_starts(raw_starts)
            raw_ends = edit_map.back_ends(raw_ends)
        # The whole normalized text stands for the whole raw text, removed edges included:
        # "a\t " -> "a " must not map back to "a\t", which normalizes differently.
        raw_starts = np.where(np.asarray(starts) == 0, 0, raw_starts)
        raw_ends = np.where(np.asarray(ends) == self.normalized_length, self.raw_length, raw_ends)
        # A span of deleted characters only (or an empty span) must not come out reversed.
        return raw_starts, np.maximum(raw_ends, raw_starts)

    @property
    def edit_count(self) -> int:
        return sum(len(m) for m in self.maps)
