"""The units duplicates are found among: lines, paragraphs and sentences as stripped spans, and the
whitespace-collapsed, lower-cased key of a unit or a whole document (read in windows)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

Spans = list[tuple[int, int]]

# A line stripped of surrounding whitespace (``\n`` is the only line break).
_LINE = re.compile(r"\S(?:[^\n]*\S)?")
# A paragraph: non-blank lines separated by single newlines; a blank (or
# whitespace-only) line ends it.
# What ends one: a newline, then a line of whitespace only. paragraph_spans cuts at
# these rather than matching a paragraph as one regex of repeated lines, whose
# repeated group keeps backtracking state for every line (200 MB for a 1 MB
# paragraph of two-letter lines).
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
# End of a sentence: terminal punctuation (plus closing quotes/brackets)
# followed by whitespace, or a CJK full stop.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09]*")
NON_SPACE = re.compile(r"\S")
_SPACE_OR_WORD = re.compile(r"\s+|\S+")


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    match = NON_SPACE.search(text, start, end)
    if match is None:
        return end, end
    start = match.start()
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def line_spans(text: str, start: int = 0, end: int | None = None) -> Spans:
    """Stripped non-empty lines of ``text[start:end]`` as absolute spans."""
    return list(iter_lines(text, start, end))


def iter_lines(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    return (m.span() for m in _LINE.finditer(text, start, len(text) if end is None else end))


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> Spans:
    """Stripped paragraphs (separated by blank lines) of ``text[start:end]`` as absolute spans.

    A paragraph is a run of lines holding non-space characters; a line of whitespace
    only ends it.
    """
    return list(iter_paragraphs(text, start, end))


def iter_paragraphs(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    end = len(text) if end is None else end
    return _stripped_between(text, start, end, ((m.start(), m.end()) for m in _PARAGRAPH_BREAK.finditer(text, start, end)))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> Spans:
    """Stripped sentences of ``text[start:end]``: the one place to swap in a better segmenter."""
    return list(iter_sentences(text, start, end))


def iter_sentences(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    end = len(text) if end is None else end
    # A sentence keeps its terminal punctuation: the cut is after the match, with nothing skipped.
    return _stripped_between(text, start, end, ((m.end(), m.end()) for m in _SENTENCE_END.finditer(text, start, end)))


def _stripped_between(text: str, start: int, end: int, cuts: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The stripped, non-empty pieces of ``text[start:end]`` around ``cuts`` (ascending (from, to) spans skipped)."""
    cursor = start
    for cut_start, cut_end in cuts:
        piece = strip_span(text, cursor, cut_start)
        if piece[1] > piece[0]:
            yield piece
        cursor = cut_end
    piece = strip_span(text, cursor, end)
    if piece[1] > piece[0]:
        yield piece


def normalize_unit(text: str) -> str:
    """The exact-match key of a unit: whitespace runs collapsed to one space, stripped, lower-cased."""
    return " ".join(text.split()).lower()


KEY_WINDOW_CHARS = 1 << 16


def _normalized_windows(text: str) -> Iterator[str]:
    """``normalize_unit(text)`` in consecutive pieces, so a whole document is never a list of its words."""
    start = 0
    while start < len(text):
        end = min(len(text), start + KEY_WINDOW_CHARS)
        while end < len(text) and end > start and not text[end].isspace():
            end -= 1  # end the window at whitespace, so no word is split
        if end == start:
            end = min(len(text), start + KEY_WINDOW_CHARS)  # one word longer than the window
        piece = normalize_unit(text[start:end])
        if piece:
            # A space where whitespace separates this piece from the text before it (not in a word cut).
            yield " " + piece if start and (text[start - 1].isspace() or text[start].isspace()) else piece
        start = end


def document_key(text: str) -> bytes | None:
    """A digest of ``normalize_unit(text)`` (None when that is empty), with memory bounded for any length."""
    digest = hashlib.blake2b(digest_size=16)
    empty = True
    for piece in _normalized_windows(text):
        digest.update((piece.lstrip() if empty else piece).encode("utf-8", "surrogatepass"))
        empty = False
    return None if empty else digest.digest()


def normalized_length_at_least(text: str, length: int) -> bool:
    """Whether ``len(normalize_unit(text)) >= length``, reading only as much of ``text`` as that takes."""
    if length <= 0:
        return True
    total = 0
    for piece in _normalized_windows(text):
        total += len(piece if total else piece.lstrip())
        if total >= length:
            return True
    return False
