"""Overlap between consecutive windows of one source: each window loses the prefix that repeats
the end of what its source kept so far (containment on whitespace-collapsed text, not Jaccard)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

from .._types import Document, Removed
from ..errors import InputDataError
from ._units import NON_SPACE, Spans

if TYPE_CHECKING:
    from .removal import DedupConfig


def group_keys(documents: Sequence[Document], groups: Sequence[Hashable | None] | None, config: DedupConfig) -> list[Hashable | None]:
    if groups is not None:
        groups = list(groups)
        if len(groups) != len(documents):
            raise InputDataError(f"groups has {len(groups)} entries for {len(documents)} documents; give one per document (None: no group)")
        return groups
    keys: list[Hashable | None] = []
    for document in documents:
        key = None
        for name in config.source_keys:
            value = document.metadata.get(name) if isinstance(document.metadata, Mapping) else None
            if value is not None:
                key = (name, value) if isinstance(value, Hashable) else (name, repr(value))
                break
        keys.append(key)
    return keys


_SPACE_RUN = re.compile(r"\s+")


class _CollapsedMap:
    """Whitespace-collapsed pieces of raw text, back to back, mapping each collapsed char to (doc, raw start, raw end).

    Stored per whitespace run (non-space characters map one to one between
    runs), so building it costs one C-level regex pass per piece.
    """

    __slots__ = ("texts", "starts", "docs", "raw_starts", "space_norm", "space_raw")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.starts: list[int] = []  # collapsed offset of each piece in the whole
        self.docs: list[int] = []
        self.raw_starts: list[int] = []
        self.space_norm: list[list[int]] = []  # per piece: collapsed offsets of its space runs
        self.space_raw: list[list[tuple[int, int]]] = []

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def __len__(self) -> int:
        return self.starts[-1] + len(self.texts[-1]) if self.texts else 0

    def add(self, text: str, start: int, end: int, doc: int, skip_leading_space: bool = False) -> None:
        runs = [m.span() for m in _SPACE_RUN.finditer(text, start, end)]
        norm: list[int] = []
        removed = 0
        for run_start, run_end in runs:
            norm.append(run_start - start - removed)
            removed += run_end - run_start - 1
        collapsed = _SPACE_RUN.sub(" ", text[start:end])
        if skip_leading_space and collapsed.startswith(" "):
            collapsed = collapsed[1:]
            start = runs[0][1]
            runs = runs[1:]
            norm = [n - 1 for n in norm[1:]]
        self.starts.append(len(self))
        self.texts.append(collapsed)
        self.docs.append(doc)
        self.raw_starts.append(start)
        self.space_norm.append(norm)
        self.space_raw.append(runs)

    def __getitem__(self, index: int) -> tuple[int, int, int]:
        piece = bisect.bisect_right(self.starts, index) - 1
        local = index - self.starts[piece]
        norm = self.space_norm[piece]
        run = bisect.bisect_right(norm, local) - 1
        if run >= 0 and norm[run] == local:
            raw_start, raw_end = self.space_raw[piece][run]
            return self.docs[piece], raw_start, raw_end
        position = self.raw_starts[piece] + local if run < 0 else self.space_raw[piece][run][1] + local - norm[run] - 1
        return self.docs[piece], position, position + 1

    def doc_run_end(self, index: int, stop: int) -> int:
        """First index in (index, stop] whose doc differs from index's (or stop)."""
        piece = bisect.bisect_right(self.starts, index) - 1
        doc = self.docs[piece]
        while piece + 1 < len(self.starts) and self.starts[piece + 1] < stop and self.docs[piece + 1] == doc:
            piece += 1
        return stop if piece + 1 >= len(self.starts) else min(stop, self.starts[piece + 1])


def _tail_start(text: str, start: int, end: int, wanted: int) -> int:
    """A raw start in [start, end) whose collapsed tail holds at least ``wanted`` chars (or ``start``)."""
    size = wanted
    while end - size > start:
        if len(_SPACE_RUN.sub(" ", text[end - size : end])) > wanted:
            return end - size
        size *= 2
    return start


def _longest_border(tail: str, head: str, minimum: int) -> int:
    """Longest L >= minimum with ``tail.endswith(head[:L])`` (0 if none); linear time."""
    if len(tail) < minimum or len(head) < minimum:
        return 0
    probe = head[:minimum]
    position = max(0, len(tail) - len(head))
    tries = 0
    # Fast path: a few candidate positions checked by C-level string compares.
    while tries < 64:
        position = tail.find(probe, position)
        if position < 0 or len(tail) - position < minimum:
            return 0
        if head.startswith(tail[position:]):
            return len(tail) - position
        position += 1
        tries += 1
    # Periodic text: fall back to the prefix function (KMP), linear in both lengths.
    pattern = head[: len(tail)]
    failure = [0] * len(pattern)
    k = 0
    for i in range(1, len(pattern)):
        while k and pattern[i] != pattern[k]:
            k = failure[k - 1]
        if pattern[i] == pattern[k]:
            k += 1
        failure[i] = k
    k = 0
    for char in tail:
        while k and (k == len(pattern) or char != pattern[k]):
            k = failure[k - 1]
        if char == pattern[k]:
            k += 1
    return k if k >= minimum else 0


def overlap_stage(
    documents: Sequence[Document], kept: list[Spans], groups: Sequence[Hashable | None], config: DedupConfig
) -> list[Removed]:
    removed: list[Removed] = []
    members: dict[Hashable, list[int]] = {}
    limit = config.max_overlap_chars
    for index, group in enumerate(groups):
        if group is None:
            continue
        earlier = members.setdefault(group, [])
        text = documents[index].text
        if earlier and kept[index]:
            first_start, first_end = kept[index][0]
            head_start = NON_SPACE.search(text, first_start, first_end)
            head_map = _CollapsedMap()
            if head_start is not None:
                head_end = min(first_end, head_start.start() + 2 * limit)
                head_map.add(text, head_start.start(), head_end, index)
            head = head_map.text[:limit]
            # The stream: what the group kept so far, newest last, collapsed; only as
            # much of its end as the head could repeat (plus a trailing space).
            wanted = len(head) + 1
            parts: list[tuple[int, int, int]] = []
            total = 0
            # Bounded walk: windows removed whole add nothing, and must not make this quadratic.
            for walked, previous in enumerate(reversed(earlier)):
                for start, end in reversed(kept[previous]):
                    start = _tail_start(documents[previous].text, start, end, wanted + 1 - total)
                    parts.append((previous, start, end))
                    total += len(_SPACE_RUN.sub(" ", documents[previous].text[start:end]))
                    if total > wanted:
                        break
                if total > wanted or walked >= 1000:
                    break
            stream_map = _CollapsedMap()
            for previous, start, end in reversed(parts):
                merge = len(stream_map) > 0 and stream_map.texts[-1].endswith(" ")
                stream_map.add(documents[previous].text, start, end, previous, skip_leading_space=merge)
            stream = stream_map.text
            stripped = stream.rstrip(" ")
            if head:
                length = _longest_border(stripped, head, config.min_overlap_chars)
                trailing_space = False
                if length and len(stripped) < len(stream) and head[length : length + 1] == " ":
                    # The previous window ended inside whitespace that this one repeats.
                    length += 1
                    trailing_space = True
                if length:
                    base = len(stripped) + (1 if trailing_space else 0) - length
                    cut = first_start
                    position = 0
                    while position < length:
                        doc = stream_map[base + position][0]
                        stop = stream_map.doc_run_end(base + position, base + length) - base
                        end = head_map[stop - 1][2]
                        if trailing_space and stop == length:
                            # Take from this window's whitespace run only as much as the kept copy has.
                            _, run_start, run_end = head_map[stop - 1]
                            kept_run = stream_map[base + stop - 1]
                            end = run_start + min(run_end - run_start, kept_run[2] - kept_run[1])
                        removed.append(
                            Removed(
                                doc_id=documents[index].id,
                                start=cut,
                                end=end,
                                reason="overlap",
                                kept_doc_id=documents[doc].id,
                                kept_start=stream_map[base + position][1],
                                kept_end=stream_map[base + stop - 1][2],
                                text=text[cut:end],
                                similarity=None,
                            )
                        )
                        cut = end
                        position = stop
                    first = kept[index][0]
                    kept[index] = ([(cut, first[1])] if cut < first[1] else []) + kept[index][1:]
        earlier.append(index)
    return removed
