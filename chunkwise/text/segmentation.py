"""Find paragraphs and sentences as ``(start, end)`` spans of the input, never by re-searching text.

``segment(text)`` returns sentence-level units in order. Each ``Span`` carries
the strength of the gap before it (a ``Break``), so the chunker can prefer
cutting before a heading over cutting inside a paragraph. Units never include
leading or trailing whitespace and never overlap; whitespace between units
belongs to no unit.

Markdown-aware: ATX headings, fenced code (one unit per line), tables (one
unit per row), list items and block quotes. Sentence ends are found for Latin,
Cyrillic, Greek, CJK (。！？ with no space needed), Arabic (؟ ۔), Devanagari (।)
and Thai (no sentence punctuation: a space between Thai words is a weak
boundary). Units longer than a token budget are split further by the chunker.

This module is also the pure-Python twin of ``_csegment.pyx`` (beside it), which
``segment`` uses when it is built; the two return identical span lists, and
the compiled one builds its character tables from the constants here.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

import numpy as np
import regex

from .._backend import chosen, compiled
from .._types import Break, Span, SpanTable  # Break is re-exported here, beside the segmenter that sets it


# Character tables shared with the compiled twin (_csegment.pyx builds its
# lookup tables from these), so the two cannot drift apart.
_TERMINALS = ".!?\u2026\u203c\u2047\u2048\u2049\u061f\u06d4\u0964\u0965\u3002\uff01\uff0e\uff1f\uff61"
_CLOSERS = "\"'\u201d\u2019\u00bb\u203a)]}\u300d\u300f\uff09\u300b\u3009\u3011\uff63"
_CJK_TERMINALS = "\u3002\uff01\uff0e\uff1f\uff61"
# Closers that may follow the period of an abbreviation ("(approx.)" still has one).
_ABBREVIATION_CLOSERS = "\"'\u201d\u2019\u00bb)]}"
# A line ending in one of these ends a record even inside a paragraph.
_CLAUSE_ENDS = ".!?:;\u3002\uff01\uff1f\u061f"
_BULLETS = "-*+\u2022\u25cf\u25aa"
# Han, Hiragana, Katakana and Hangul (script extensions, as the regex module's
# \p{Han} etc. give them), as inclusive code-point ranges: explicit so that both
# twins agree whatever Unicode version a library ships.
_CJK_RANGES = (
    (0x1100, 0x11FF), (0x2E80, 0x2E99), (0x2E9B, 0x2EF3), (0x2F00, 0x2FD5), (0x3005, 0x3005),
    (0x3007, 0x3007), (0x3021, 0x3029), (0x302E, 0x302F), (0x3038, 0x303B), (0x3041, 0x3096),
    (0x309D, 0x309F), (0x30A1, 0x30FA), (0x30FD, 0x30FF), (0x3131, 0x318E), (0x31F0, 0x321E),
    (0x3260, 0x327E), (0x32D0, 0x32FE), (0x3300, 0x3357), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xA960, 0xA97C), (0xAC00, 0xD7A3), (0xD7B0, 0xD7C6), (0xD7CB, 0xD7FB), (0xF900, 0xFA6D),
    (0xFA70, 0xFAD9), (0xFF66, 0xFF6F), (0xFF71, 0xFF9D), (0xFFA0, 0xFFBE), (0xFFC2, 0xFFC7),
    (0xFFCA, 0xFFCF), (0xFFD2, 0xFFD7), (0xFFDA, 0xFFDC), (0x16FE2, 0x16FE3), (0x16FF0, 0x16FF6),
    (0x1AFF0, 0x1AFF3), (0x1AFF5, 0x1AFFB), (0x1AFFD, 0x1AFFE), (0x1B000, 0x1B128), (0x1B132, 0x1B132),
    (0x1B150, 0x1B152), (0x1B155, 0x1B155), (0x1B164, 0x1B168), (0x1F200, 0x1F200), (0x20000, 0x2A6DF),
    (0x2A700, 0x2B81E), (0x2B820, 0x2CEAD), (0x2CEB0, 0x2EBE0), (0x2EBF0, 0x2EE5D), (0x2F800, 0x2FA1D),
    (0x30000, 0x3134A), (0x31350, 0x33479),
)
_THAI_RANGES = ((0x0E01, 0x0E3A), (0x0E40, 0x0E5B))


def _char_class(chars: str) -> str:
    return "[" + "".join(regex.escape(c) for c in chars) + "]"


def _range_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "[" + "".join(f"{regex.escape(chr(lo))}-{regex.escape(chr(hi))}" for lo, hi in ranges) + "]"


_SENTENCE_END = regex.compile(f"({_char_class(_TERMINALS)}+{_char_class(_CLOSERS)}*)(\\s*)")
_CJK_TERMINAL = frozenset(_CJK_TERMINALS)
_CJK_CHAR = regex.compile(_range_class(_CJK_RANGES))
_THAI = _range_class(_THAI_RANGES)
_THAI_SPACE = regex.compile(f"(?<={_THAI})[ \u00a0]+(?={_THAI})")
# Thai marks sentences with a space, as it marks clauses: a space is taken as a
# sentence end only when the text since the last end is long enough and the
# next word is not a conjunction that continues the sentence.
_THAI_CONTINUATIONS = (
    "\u0e0b\u0e36\u0e48\u0e07", "\u0e41\u0e25\u0e30", "\u0e41\u0e15\u0e48", "\u0e42\u0e14\u0e22",
    "\u0e41\u0e25\u0e49\u0e27", "\u0e40\u0e0a\u0e48\u0e19", "\u0e40\u0e1e\u0e37\u0e48\u0e2d",
    "\u0e2b\u0e23\u0e37\u0e2d", "\u0e23\u0e27\u0e21\u0e16\u0e36\u0e07", "\u0e40\u0e1e\u0e23\u0e32\u0e30",
    "\u0e27\u0e48\u0e32", "\u0e17\u0e35\u0e48", "\u0e08\u0e36\u0e07", "\u0e01\u0e47", "\u0e2b\u0e32\u0e01",
    "\u0e16\u0e49\u0e32",
)
_THAI_MIN_SENTENCE_CHARS = 40
_NEWLINE = regex.compile(r"\r\n|\r|\n|\u2028|\u2029|\x0b|\x0c|\x85")

_HEADING = regex.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_FENCE = regex.compile(r" {0,3}(`{3,}|~{3,})")
_RULE = regex.compile(r" {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_TABLE_ROW = regex.compile(r"\s*\|")
_LIST_ITEM = regex.compile(f"\\s*(?:{_char_class(_BULLETS)}|\\d{{1,3}}[.)]|[a-zA-Z][.)])\\s+\\S")
# Lines that start a new record even without a blank line before them. (Patterns
# here are used with match(text, pos, endpos), which anchors them at the line.)
_RECORD_START = regex.compile(
    r"\s*(?:>|\[?\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}|(?:Q|A|Question|Answer)\s*[:.]|[\p{Lu}][\p{L}.' -]{0,23}:\s)"
)

# Only lines whose first non-space character is one of these can be Markdown structure.
_STRUCTURE_FIRST_CHARS = "#`~_|0123456789" + _BULLETS
_STRUCTURE_FIRST = frozenset(_STRUCTURE_FIRST_CHARS)

# Lower-cased, dots removed. A period after one of these rarely ends a sentence.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc eg ie cf al approx ca inc ltd co corp llc plc dept est
    fig figs no nos vol vols pp ch sec art ed eds rev gen gov sen rep col lt sgt capt cmdr adm
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    am pm us uk eu un usa ph bsc msc mba ave blvd rd
    zb bzw usw ua dh ca nr str vgl evtl ggf inkl bspw sog hr fr
    """.split()
)


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(line_start, line_end) pairs, line_end excluding the line terminator."""
    lines = []
    position = start
    for match in _NEWLINE.finditer(text, start, end):
        lines.append((position, match.start()))
        position = match.end()
    lines.append((position, end))
    return lines


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    piece = text[start:end]
    left = len(piece) - len(piece.lstrip())
    if left == len(piece):
        return start + left, start + left
    return start + left, start + len(piece.rstrip())


def _is_sentence_end(text: str, match: regex.Match, region_end: int) -> bool:
    punct_start = match.start(1)
    punct = match.group(1)
    after = match.end()
    if after >= region_end:
        return True
    next_char = text[after]
    if punct[0] in _CJK_TERMINAL or punct[-1] in _CJK_TERMINAL:
        return True
    if not match.group(2):
        # "3.14", "e.g.x", "example.com": no space, no end -- unless CJK follows directly.
        return _CJK_CHAR.match(next_char) is not None
    if next_char.islower():
        return False
    if punct[0] == "." and len(punct.rstrip(_ABBREVIATION_CLOSERS)) == 1:
        word_start = punct_start
        floor = max(0, punct_start - 40)
        while word_start > floor and (text[word_start - 1].isalnum() or text[word_start - 1] in ".'-"):
            word_start -= 1
        while word_start < punct_start and not text[word_start].isalnum():
            word_start += 1  # a word starts with a letter or digit
        if word_start < punct_start and _period_continues(text[word_start:punct_start]):
            return False
    return True


def _period_continues(word: str) -> bool:
    """True when a period right after ``word`` (and then a space) does not end the sentence.

    Shared by both twins (the compiled one repeats it for ASCII words only).
    """
    bare = word.replace(".", "").lower()
    if bare in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True  # an initial: "J. Smith"
    if "." in word and len(bare) <= 4:
        return True  # "U.S.", "z.B.", "i.e."
    if word.isdigit() and len(word) <= 2:
        return True  # an ordinal or list number: "am 4. Oktober", "2. Install"
    return False


def _sentence_cuts(text: str) -> list[int]:
    """Every sentence end in ``text``, as the offset where the next sentence may begin."""
    cuts = []
    end = len(text)
    for match in _SENTENCE_END.finditer(text):
        if _is_sentence_end(text, match, end):
            cuts.append(match.end())
    return cuts


def _sentences(
    text: str, start: int, end: int, first_break: int, forced: dict[int, int], sentence_cuts: list[int], thai: bool
) -> list[Span]:
    """Split the region [start, end) into sentence spans; ``forced`` maps offsets to line breaks."""
    inside = sentence_cuts[bisect_right(sentence_cuts, start) : bisect_left(sentence_cuts, end)]
    if not inside and not forced and not thai:
        unit_start, unit_end = _strip(text, start, end)
        return [Span(unit_start, unit_end, "sentence", first_break)] if unit_start < unit_end else []
    cuts: dict[int, int] = dict(forced)
    for cut in inside:
        cuts[cut] = max(cuts.get(cut, 0), Break.SENTENCE)
    if thai:
        last_thai_end = start
        for match in _THAI_SPACE.finditer(text, start, end):
            cut = match.end()
            if cut in cuts:
                continue
            if cut - last_thai_end >= _THAI_MIN_SENTENCE_CHARS and not text.startswith(_THAI_CONTINUATIONS, cut):
                cuts[cut] = Break.SENTENCE
                last_thai_end = cut
            else:
                cuts[cut] = Break.CLAUSE
    spans: list[Span] = []
    previous = start
    strength = first_break
    for cut in sorted(cuts):
        unit_start, unit_end = _strip(text, previous, cut)
        if unit_start < unit_end:
            spans.append(Span(unit_start, unit_end, "sentence", strength))
            strength = cuts[cut]
        else:
            strength = max(strength, cuts[cut])
        previous = cut
    unit_start, unit_end = _strip(text, previous, end)
    if unit_start < unit_end:
        spans.append(Span(unit_start, unit_end, "sentence", strength))
    return spans


def _starts_record(text: str, line_start: int, line_end: int) -> bool:
    """A line that begins a new record (quote, timestamp, speaker label, Q/A) -- cheap checks first."""
    first_position = line_start
    while first_position < line_end and text[first_position] in " \t":
        first_position += 1
    if first_position >= line_end:
        return False
    first = text[first_position]
    if first not in ">[0123456789" and not (first.isupper() and text.find(":", first_position, first_position + 30) != -1):
        return False
    return _RECORD_START.match(text, line_start, line_end) is not None


class _Paragraph:
    """Lines of one prose block waiting to be sentence-split."""

    __slots__ = ("lines", "first_break", "kind")

    def __init__(self, first_break: int, kind: str) -> None:
        self.lines: list[tuple[int, int]] = []
        self.first_break = first_break
        self.kind = kind

    def spans(self, text: str, sentence_cuts: list[int], thai: bool) -> list[Span]:
        if not self.lines:
            return []
        forced: dict[int, int] = {}
        if len(self.lines) == 1:
            line_start, line_end = self.lines[0]
            spans = _sentences(text, line_start, line_end, self.first_break, forced, sentence_cuts, thai)
            if self.kind != "sentence" and spans:
                spans[0] = spans[0]._replace(kind=self.kind)
            return spans
        longest = max(line_end - line_start for line_start, line_end in self.lines)
        for (prev_start, prev_end), (line_start, _line_end) in zip(self.lines, self.lines[1:]):
            stripped_prev = text[prev_start:prev_end].rstrip()
            ends_clause = bool(stripped_prev) and stripped_prev[-1] in _CLAUSE_ENDS
            ragged = longest > 40 and (prev_end - prev_start) < 0.6 * longest
            if ends_clause or ragged or _starts_record(text, line_start, _line_end):
                forced[line_start] = Break.LINE
        start = self.lines[0][0]
        end = self.lines[-1][1]
        spans = _sentences(text, start, end, self.first_break, forced, sentence_cuts, thai)
        if self.kind != "sentence" and spans:
            spans[0] = spans[0]._replace(kind=self.kind)
        return spans


def segment(text: str, *, markdown: bool = True, implementation: str | None = None) -> list[Span]:
    """Sentence-level units of ``text`` as spans, each with the strength of the gap before it.

    ``implementation`` is ``"cython"``, ``"python"`` or None (the compiled
    twin when it is built and not switched off by CHUNKWISE_PURE_PYTHON);
    both return the same list.
    """
    if not isinstance(text, str):
        raise TypeError(f"segment() needs a str, got {type(text).__name__}")
    module = chosen("_csegment", implementation)
    return _segment_python(text, markdown) if module is None else module.segment(text, markdown)


def segment_table(text: str, *, markdown: bool = True) -> SpanTable:
    """``segment(text)`` as a ``SpanTable``: what the chunker uses, with no object per unit.

    The compiled twin writes the rows directly; the Python twin converts its list.
    """
    if not isinstance(text, str):
        raise TypeError(f"segment() needs a str, got {type(text).__name__}")
    # 16 bytes a unit instead of 32 where offsets fit (a text under 2**31 characters).
    narrow = len(text) < 2**31 - 1
    module = compiled("_csegment")
    if module is not None:
        return SpanTable(module.segment_rows(text, markdown, narrow))
    rows = SpanTable.from_spans(_segment_python(text, markdown)).rows
    return SpanTable(rows.astype(np.int32) if narrow else rows)


def _segment_python(text: str, markdown: bool) -> list[Span]:
    """Pure-Python twin of ``chunkwise.text._csegment.segment``."""
    spans: list[Span] = []
    sentence_cuts = _sentence_cuts(text)
    thai = _THAI_SPACE.search(text) is not None
    paragraph: _Paragraph | None = None
    pending = Break.SECTION  # the first unit's break is irrelevant; SECTION keeps headings consistent
    fence: str | None = None

    def flush() -> None:
        nonlocal paragraph
        if paragraph is not None:
            spans.extend(paragraph.spans(text, sentence_cuts, thai))
            paragraph = None

    for line_start, line_end in _line_spans(text, 0, len(text)):
        content_start, content_end = _strip(text, line_start, line_end)
        if fence is not None:
            if content_start == content_end:
                pending = max(pending, Break.PARAGRAPH)
                continue
            spans.append(Span(content_start, content_end, "code", max(pending, Break.LINE)))
            pending = Break.LINE
            if text.startswith(fence, content_start) and not text[content_start:content_end].strip(fence[0]):
                fence = None
                pending = Break.PARAGRAPH
            continue
        if content_start == content_end:
            flush()
            pending = max(pending, Break.PARAGRAPH)
            continue
        first = text[content_start]
        maybe_structure = first in _STRUCTURE_FIRST or (
            first.isalpha() and content_start + 1 < content_end and text[content_start + 1] in ".)"
        )
        if markdown and maybe_structure:
            fence_match = _FENCE.match(text, line_start, line_end)
            if fence_match is not None:
                flush()
                fence = fence_match.group(1)
                spans.append(Span(content_start, content_end, "code", max(pending, Break.PARAGRAPH)))
                pending = Break.LINE
                continue
            if _HEADING.match(text, line_start, line_end) or _RULE.match(text, line_start, line_end):
                flush()
                kind = "heading" if text[content_start] == "#" else "line"
                spans.append(Span(content_start, content_end, kind, Break.SECTION))
                pending = Break.PARAGRAPH if kind == "heading" else Break.SECTION
                continue
            if _TABLE_ROW.match(text, line_start, line_end):
                flush()
                spans.append(Span(content_start, content_end, "table", max(pending, Break.LINE)))
                pending = Break.LINE
                continue
            if _LIST_ITEM.match(text, line_start, line_end):
                flush()
                paragraph = _Paragraph(max(pending, Break.ITEM), "list_item")
                paragraph.lines.append((line_start, line_end))
                pending = Break.LINE
                continue
        if paragraph is None:
            paragraph = _Paragraph(pending, "paragraph")
        paragraph.lines.append((line_start, line_end))
        pending = Break.LINE
    flush()
    return spans


# A cut steps left at most this many characters to keep a character with its marks:
# a longer cluster (a letter under 1,000 stacked marks) is cut inside, so splitting
# it costs the same per character as any other text.
MAX_CLUSTER_STEPS = 32


def cluster_safe_cut(text: str, start: int, cut: int) -> int:
    """Move a cut in (start, len(text)) left so it does not separate a character from its marks or joiners.

    A cut may fall right after a zero-width joiner or non-joiner (it stays with the
    character it follows, as normalize keeps it), never before one: an emoji
    sequence or an Arabic word longer than the cap is then cut into pieces that
    each normalize to themselves. The cut never moves to ``start`` or before; a cluster longer
    than ``MAX_CLUSTER_STEPS``, or one that covers all of (start, cut], is cut where asked.
    """
    floor = max(start + 1, cut - MAX_CLUSTER_STEPS)
    position = cut
    while position > start + 1 and position < len(text):
        char = text[position]
        if not _extends_cluster(char):
            return position
        if position == floor:
            return cut  # a cluster too long to keep whole
        position -= 1
    if position == start + 1 < cut and _extends_cluster(text[position]):
        # The cluster began at start or before and reaches past the cut: no cut keeps it whole.
        # Stepping back to start + 1 cut a piece of one character each time: a letter under
        # 4,000 marks took 8,000 pieces, not 250, when the cap held fewer than 33 characters.
        return cut
    return position


def _extends_cluster(char: str) -> bool:
    """Whether ``char`` belongs with the character before it (a mark, a joiner, a variation selector)."""
    return unicodedata.category(char)[0] == "M" or char in "\u200c\u200d\ufe0f\ufe0e"


def sentence_boundaries(text: str) -> list[int]:
    """Start offsets of every unit after the first: predicted sentence boundaries, for evaluation."""
    return [span.start for span in segment(text)[1:] if span.break_before >= Break.SENTENCE]


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut a unit longer than ``limit`` characters at spaces (or anywhere, when there are none)."""
    pieces = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cluster_safe_cut(text, start, start + limit) if cut <= start else cut
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def sentences_within(text: str, limit: int) -> Iterator[tuple[int, int]]:
    """Sentence spans of ``text``, each of at most ``limit`` characters (longer ones cut at spaces).

    The sentences compression scores and the index stores vectors for: both must cut alike.
    """
    table = segment_table(text)  # rows, not a Span per sentence: a passage of tiny lines stays small
    for block in range(0, len(table), 4096):
        for start, end in table.rows[block : block + 4096, :2].tolist():
            if end - start > limit:
                yield from _split_long(text, start, end, limit)
            else:
                yield start, end


__all__ = ["Break", "segment", "sentence_boundaries", "sentences_within", "cluster_safe_cut", "ABBREVIATIONS"]
