"""Alignment between normalized and raw text: a stack of compact per-pass edit maps.

Each repair pass rewrites its input text at a few places; it records only those
places (input start and length, output start and length) as four arrays, never
one entry per character. A pass that rewrites nothing, or rewrites single characters into
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

from .._memory import release_freed


@dataclass(frozen=True, eq=False)
class EditMap:
    """The non-trivial edits of one pass, sorted by position: input span -> output span.

    Kept as starts and lengths, the lengths in the smallest unsigned type that holds them
    (a byte, for nearly every edit): a pass with an edit every other character (CRLF line
    endings, a control after every letter) held 32 bytes an edit as four int64 arrays of
    starts and ends, 10 this way.
    """

    in_start: np.ndarray
    in_length: np.ndarray
    out_start: np.ndarray
    out_length: np.ndarray

    @classmethod
    def from_edits(cls, in_start: list[int], in_end: list[int], out_len: list[int]) -> EditMap:
        """Build from edits given in input coordinates with the length of each replacement."""
        starts = np.asarray(in_start, dtype=np.int64)
        in_lengths = np.asarray(in_end, dtype=np.int64) - starts
        lengths = np.asarray(out_len, dtype=np.int64)
        # Output offset of edit k = input offset + sum of length changes of edits before k.
        growth = lengths - in_lengths
        shift = np.concatenate(([0], np.cumsum(growth)[:-1])) if len(growth) else growth
        del growth
        out_start = starts + shift
        del shift
        largest = max(int(starts[-1] + in_lengths[-1]), int(out_start[-1] + lengths[-1])) if len(starts) else 0
        offsets = _offset_type(largest)
        return cls(starts.astype(offsets, copy=False), in_lengths.astype(_length_type(in_lengths), copy=False),
                   out_start.astype(offsets, copy=False), lengths.astype(_length_type(lengths), copy=False))

    @property
    def in_end(self) -> np.ndarray:
        return self.in_start + self.in_length

    @property
    def out_end(self) -> np.ndarray:
        return self.out_start + self.out_length

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
        out_end = self.out_start[safe] + self.out_length[safe]
        in_start = self.in_start[safe].astype(np.int64)
        in_end = in_start + self.in_length[safe]
        # After edit `index`: unchanged text, shifted by that edit's cumulative growth.
        mapped = in_end + (positions - out_end)
        if inside_is_start:
            inside = positions < out_end
            mapped = np.where(inside, in_start, mapped)
        else:
            inside = positions <= out_end
            mapped = np.where(inside, in_end, mapped)
        return np.where(index < 0, positions, mapped)


def _offset_type(largest: int) -> type:
    return np.int32 if largest < np.iinfo(np.int32).max else np.int64


def _length_type(lengths: np.ndarray) -> type:
    longest = int(lengths.max()) if len(lengths) else 0
    for dtype in (np.uint8, np.uint16, np.uint32):
        if longest <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def concat_maps(parts: list[tuple[EditMap, int, int]]) -> EditMap:
    """One map from per-block maps, each with the (input, output) offsets of its block in
    the whole text, in order.

    Shifted while copied into one set of arrays, int32 where the offsets fit: shifted
    copies of every block's map before the join were three times the final map, two
    million edits' worth for 1 MB of random latin-1.
    """
    total = sum(len(edit_map) for edit_map, _, _ in parts)
    largest = max((int(edit_map.in_start[-1]) + int(edit_map.in_length[-1]) + in_offset
                   for edit_map, in_offset, _ in parts if len(edit_map)), default=0)
    largest = max([largest, *(int(edit_map.out_start[-1]) + int(edit_map.out_length[-1]) + out_offset
                              for edit_map, _, out_offset in parts if len(edit_map))])
    offsets = _offset_type(largest)
    in_lengths = np.result_type(*(edit_map.in_length for edit_map, _, _ in parts))
    out_lengths = np.result_type(*(edit_map.out_length for edit_map, _, _ in parts))
    arrays = [np.empty(total, dtype=dtype) for dtype in (offsets, in_lengths, offsets, out_lengths)]
    position = 0
    # Each block's map is let go once copied (the caller's list empties as the copy fills),
    # and the heap pages they held are handed back every megabyte or so: the block maps and
    # the whole map side by side were 16 MB for 1 MB of CRLF line endings, 8 MB without.
    parts.reverse()
    freed = 0
    while parts:
        edit_map, in_offset, out_offset = parts.pop()
        end = position + len(edit_map)
        np.add(edit_map.in_start, np.int64(in_offset), out=arrays[0][position:end], casting="unsafe")
        arrays[1][position:end] = edit_map.in_length
        np.add(edit_map.out_start, np.int64(out_offset), out=arrays[2][position:end], casting="unsafe")
        arrays[3][position:end] = edit_map.out_length
        position = end
        freed += sum(array.nbytes for array in (edit_map.in_start, edit_map.in_length, edit_map.out_start, edit_map.out_length))
        del edit_map
        if freed >= 1 << 20:
            release_freed()
            freed = 0
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
