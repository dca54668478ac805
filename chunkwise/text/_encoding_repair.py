"""ftfy's ``fix_encoding``, step for step, with less interpreter work per call.

normalize() calls ftfy once per whitespace-delimited segment that looks like
mojibake. A document decoded with the wrong codec is mojibake word after word,
and ftfy's entry point then costs about 45 µs a word (a config tuple, an
explanation list, ten encodability regexes), about 5× the repair itself. This
module walks the same steps in the same order and reaches each decision with
ftfy's own regexes, codecs and byte fixes; what it drops is only the bookkeeping:

* the ten ``possible_encoding`` regexes become one ``set(text)`` and a subset test
  against each codec's character set, built from the same bytes ftfy's regexes are
  built from (bytes 0x80-0xFF and 0x1A decoded, plus the rest of ASCII);
* ``fix_c1_controls``' per-character callback is one ``str.translate`` (its regex
  matches one character at a time, each mapped alone);
* no config tuple or explanation is built, and the embedded-mojibake callback
  recurses into this function rather than ftfy's entry point.

Each distinct embedded part ("Ã©" inside a garble) is repaired once per process
(``PARTS_KEPT``): fix_encoding is a function of its text alone.

Measured on 1 MB of Russian UTF-8 read as cp1252: 8.9 µs a distinct word against
ftfy's 47 µs. On random bytes read as Latin-1 the regexes themselves dominate and
the gain is 1.3×. ``tests/test_encoding_repair.py`` compares the two on 9,000
segments (random Latin-1, mojibake through all ten codecs, random mixes; 128,000 in a
probe, all equal).

This class is the pure-Python twin of ``_crepair.pyx``, which reaches the same
decisions from tables instead of the regexes (about 10x faster again on random
bytes, each with an empty store of parts). ``compiled_tables`` builds the tables
from ftfy's regexes themselves, parsed with ``re``'s own parser and evaluated with
its engine over every BMP code point (about 0.25 s, once per process, at the first
mojibake); a regex with a construct the tables cannot express leaves the twin in use.

It mirrors ftfy 6.2 and 6.3, whose step functions are identical; 6.1 lacks the
"not in macroman" exception. With any other version ftfy's own entry point runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .._backend import compiled

try:  # re's own parser and compiler, read to build the compiled repair's tables
    from re import _compiler as re_compiler  # type: ignore[attr-defined]
    from re import _constants as re_constants  # type: ignore[attr-defined]
    from re import _parser as re_parser  # type: ignore[attr-defined]
except ImportError:  # Python 3.10, where they are the top-level sre_* modules
    import sre_compile as re_compiler
    import sre_constants as re_constants
    import sre_parse as re_parser

# The ftfy releases whose _fix_encoding_one_step_and_explain this module follows.
MIRRORED_VERSIONS = ("6.2.", "6.3.")

# Embedded UTF-8 parts ("Ã©" inside a garble) repaired once each; the store is emptied
# when it holds this many. Random bytes read as Latin-1 have about 4,500 distinct parts a MB.
PARTS_KEPT = 8192


@functools.lru_cache(maxsize=1)
def fix_encoding_function() -> Callable[[str], str]:
    """The compiled mirror's ``fix_encoding`` when built (else this module's) when the
    installed ftfy is one it mirrors; ftfy's own otherwise."""
    import ftfy

    if not ftfy.__version__.startswith(MIRRORED_VERSIONS):
        return ftfy.fix_encoding
    repair = compiled_repair()
    return repair.fix_encoding if repair is not None else _mirror().fix_encoding


@functools.lru_cache(maxsize=1)
def _mirror() -> _Mirror:
    return _Mirror()


@functools.lru_cache(maxsize=1)
def compiled_repair() -> Any:
    """The compiled ``Repair`` (``_crepair.pyx``) over ftfy's tables; None when it is not
    built, the installed ftfy is not one mirrored, or its regexes are beyond the tables."""
    import ftfy

    module = compiled("_crepair")
    if module is None or not ftfy.__version__.startswith(MIRRORED_VERSIONS):
        return None
    tables = compiled_tables(_mirror())
    try:
        return module.Repair(_mirror(), tables, PARTS_KEPT) if tables is not None else None
    except ValueError:  # tables past the compiled limits (more codecs, a wider automaton)
        return None


class _Unsupported(Exception):
    """A regex construct the table builder does not read; the twin's regexes run instead."""


def _sequences(items: list[Any]) -> list[tuple[bool, list[Any]]]:
    """Every fixed-length sequence of one-character items that ``items`` (a parsed regex)
    can match, each with whether it is anchored at the start of the text."""
    out: list[tuple[bool, list[Any]]] = [(False, [])]
    for index, (op, value) in enumerate(items):
        if op in (re_constants.LITERAL, re_constants.NOT_LITERAL, re_constants.IN, re_constants.ANY):
            out = [(anchored, [*sequence, (op, value)]) for anchored, sequence in out]
        elif op is re_constants.AT and value in (re_constants.AT_BEGINNING, re_constants.AT_BEGINNING_STRING):
            if index:
                raise _Unsupported(op)
            out = [(True, sequence) for _, sequence in out]
        elif op in (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT):
            low, high, body = value
            inner = _sequences(list(body))
            if high is re_constants.MAXREPEAT or high > 4 or any(anchored for anchored, _ in inner):
                raise _Unsupported(op)
            repeated: list[tuple[bool, list[Any]]] = []
            for anchored, sequence in out:
                tails: list[list[Any]] = [[]]
                for count in range(high + 1):
                    if count >= low:
                        repeated.extend((anchored, sequence + tail) for tail in tails)
                    tails = [tail + more for tail in tails for _, more in inner]
            out = repeated
        elif op in (re_constants.SUBPATTERN, re_constants.BRANCH):
            if op is re_constants.SUBPATTERN:
                _, added, removed, body = value
                if added or removed:
                    raise _Unsupported(op)
                inner = _sequences(list(body))
            else:
                inner = [found for branch in value[1] for found in _sequences(list(branch))]
            out = [(a or b, seq + more) for a, seq in out for b, more in inner if not (b and seq)]
        else:
            raise _Unsupported(op)
    return out


def _single(item: Any, pattern: re.Pattern[Any], state: Any) -> re.Pattern[Any]:
    """The one-character regex ``item`` of ``pattern``, compiled alone with its flags."""
    return re_compiler.compile(re_parser.SubPattern(state, [item]), pattern.flags)


def _may_match_astral(item: Any) -> bool:
    """Whether the one-character regex ``item`` can match a character beyond the BMP: a
    class of literals and ranges below U+10000 cannot; anything else is asked, char by char."""
    op, value = item
    if op is re_constants.LITERAL:
        return value >= 0x10000
    if op is not re_constants.IN:
        return True
    for member_op, member in value:
        if member_op is re_constants.LITERAL and member < 0x10000:
            continue
        if member_op is re_constants.RANGE and member[1] < 0x10000:
            continue
        return True
    return False


def _bmp_members(item: Any, pattern: re.Pattern[str], state: Any, every: str) -> np.ndarray:
    """Per BMP code point, whether the one-character regex ``item`` matches it; found with
    the regex engine itself (``item`` repeated, over a string of every BMP code point)."""
    body = re_parser.SubPattern(state, [item])
    repeated = re_parser.SubPattern(state, [(re_constants.MAX_REPEAT, (1, re_constants.MAXREPEAT, body))])
    table = np.zeros(0x10000, dtype=bool)
    for run in re_compiler.compile(repeated, pattern.flags).finditer(every):
        table[run.start() : run.end()] = True
    return table


def _badness_tables(pattern: re.Pattern[str], every: str) -> dict[str, Any]:
    """Shift-and tables for ``pattern``: one bit per position of each sequence it matches, a
    row of bits per BMP code point. A sequence never straddles two 64-bit words, and an
    anchored one starts a word, so no bit shifts into an anchored start."""
    parsed = re_parser.parse(pattern.pattern, pattern.flags)
    found = sorted(_sequences(list(parsed)), key=lambda pair: not pair[0])
    words: list[list[tuple[bool, list[Any]]]] = []
    for anchored, sequence in found:
        if len(sequence) > 64 or not sequence:
            raise _Unsupported(len(sequence))
        used = sum(len(s) for _, s in words[-1]) if words else 64
        if anchored or used + len(sequence) > 64:
            words.append([])
        words[-1].append((anchored, sequence))
    members: dict[str, np.ndarray] = {}
    singles: dict[str, tuple[re.Pattern[str], list[int]]] = {}  # element: its bits, for astral rows
    masks = np.zeros((0x10000, len(words)), dtype=np.uint64)
    starts, anchors, finals = [0] * len(words), [0] * len(words), [0] * len(words)
    for word, placed in enumerate(words):
        bit = 0
        for anchored, sequence in placed:
            if anchored:
                anchors[word] |= 1 << bit
            else:
                starts[word] |= 1 << bit
            for item in sequence:
                key = repr(item)
                if key not in members:
                    members[key] = _bmp_members(item, pattern, parsed.state, every)
                masks[members[key], word] |= np.uint64(1 << bit)
                if _may_match_astral(item):
                    single, row = singles.setdefault(key, (_single(item, pattern, parsed.state), [0] * len(words)))
                    row[word] |= 1 << bit
                bit += 1
            finals[word] |= 1 << (bit - 1)
    return {"bad_masks": masks, "bad_starts": starts, "bad_anchored": anchors, "bad_finals": finals, "bad_singles": list(singles.values())}


def _detector_tables(pattern: re.Pattern[str], every: str) -> dict[str, Any]:
    """Flags for ftfy's UTF-8 detector: a negative lookbehind of one class, then one or more
    repetitions of a choice of fixed-length sequences (each element one flag bit)."""
    parsed = re_parser.parse(pattern.pattern, pattern.flags)
    items = list(parsed)
    if len(items) != 2 or items[0][0] is not re_constants.ASSERT_NOT or items[1][0] is not re_constants.MAX_REPEAT:
        raise _Unsupported(items)
    direction, behind = items[0][1]
    low, high, body = items[1][1]
    behind_items = list(behind)
    if direction != -1 or len(behind_items) != 1 or low != 1 or high is not re_constants.MAXREPEAT:
        raise _Unsupported(items)
    body_items = list(body)
    if len(body_items) == 1 and body_items[0][0] is re_constants.SUBPATTERN:
        body_items = list(body_items[0][1][3])
    if len(body_items) != 1 or body_items[0][0] is not re_constants.BRANCH:
        raise _Unsupported(body_items)
    sequences = []
    for branch in body_items[0][1][1]:  # in order: the first that fits is the one re takes
        expanded = _sequences(list(branch))
        if len(expanded) != 1 or expanded[0][0]:
            raise _Unsupported(branch)
        sequences.append(expanded[0][1])
    bits: dict[str, int] = {repr(behind_items[0]): 1}
    for sequence in sequences:
        for item in sequence:
            bits.setdefault(repr(item), 1 << len(bits))
    if len(bits) > 8:
        raise _Unsupported(len(bits))
    flags = np.zeros(0x10000, dtype=np.uint8)
    singles = {}
    for item in [behind_items[0], *(item for sequence in sequences for item in sequence)]:
        if repr(item) not in singles:
            flags[_bmp_members(item, pattern, parsed.state, every)] |= bits[repr(item)]
            if _may_match_astral(item):
                singles[repr(item)] = (bits[repr(item)], _single(item, pattern, parsed.state))
    return {
        "detector_flags": flags,
        "detector_singles": list(singles.values()),
        "detector_behind": 1,
        "detector_sequences": [[bits[repr(item)] for item in sequence] for sequence in sequences],
    }


def _needles(pattern: re.Pattern[bytes]) -> tuple[int, ...]:
    """Bytes one of which every match of ``pattern`` holds (each of its sequences has an
    element matching only those bytes), or () when there is no such set of at most two."""
    table, lengths = _byte_sequences(pattern, in_order=False)
    classes = [
        [frozenset(np.flatnonzero(table[index, position]).tolist()) for position in range(length)]
        for index, length in enumerate(lengths)
    ]
    small = {byte for sets in classes for members in sets if len(members) <= 2 for byte in members}
    for needles in ({*pair} for pair in (*((a,) for a in small), *((a, b) for a in small for b in small if a < b))):
        if all(any(members <= needles for members in sets) for sets in classes):
            return tuple(sorted(needles))
    return ()


def _byte_sequences(pattern: re.Pattern[bytes], in_order: bool = True) -> tuple[np.ndarray, list[int]]:
    """``pattern``'s fixed sequences of byte classes as a membership table, with their
    lengths. ``in_order``: alternative by alternative in the regex's order, which needs a
    regex without repetition or anchor (re.sub's choice among them is then that order)."""

    def repeats(items: Any) -> bool:
        for op, value in items:
            if op in (re_constants.MAX_REPEAT, re_constants.MIN_REPEAT):
                return True
            if op is re_constants.SUBPATTERN and repeats(value[3]):
                return True
            if op is re_constants.BRANCH and any(repeats(branch) for branch in value[1]):
                return True
        return False

    parsed = re_parser.parse(pattern.pattern, pattern.flags)
    if in_order and repeats(list(parsed)):
        raise _Unsupported("repetition")  # its alternatives would not be in re's order
    sequences = _sequences(list(parsed))
    if in_order and any(anchored or not sequence for anchored, sequence in sequences):
        raise _Unsupported("anchor")
    every = bytes(range(0x100))
    table = np.zeros((len(sequences), max(len(sequence) for _, sequence in sequences), 0x100), dtype=np.uint8)
    for index, (_, sequence) in enumerate(sequences):
        for position, item in enumerate(sequence):
            single = _single(item, pattern, parsed.state)
            table[index, position] = [bool(single.fullmatch(every[byte : byte + 1])) for byte in range(0x100)]
    return table, [len(sequence) for _, sequence in sequences]


def _undefined(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return True
    return False


def compiled_tables(mirror: _Mirror) -> dict[str, Any] | None:
    """The tables the compiled ``Repair`` reads, built from ftfy's own regexes and codecs; None
    when a regex holds a construct they cannot express (the twin then runs)."""
    from ftfy import badness, chardata

    every = "".join(map(chr, range(0x10000)))
    try:
        tables = {**_badness_tables(badness.BADNESS_RE, every), **_detector_tables(chardata.UTF8_DETECTOR_RE, every)}
    except _Unsupported:
        return None
    try:
        lossy_needles = _needles(chardata.LOSSY_UTF8_RE)
        altered_needles = _needles(chardata.ALTERED_UTF8_RE)
    except _Unsupported:
        lossy_needles = altered_needles = ()
    try:  # replace_lossy_sequences is LOSSY_UTF8_RE.sub(U+FFFD's UTF-8) in ftfy 6.2 and 6.3
        lossy_classes, lossy_lengths = _byte_sequences(chardata.LOSSY_UTF8_RE)
    except _Unsupported:
        lossy_classes, lossy_lengths = np.zeros((0, 0, 0x100), dtype=np.uint8), []
    undefined = [byte for byte in range(0x100) if _undefined(bytes([byte]), "windows-1252")]
    if any(bytes([byte]).decode("windows-1252") != chr(byte) for byte in [*range(0x80), *range(0xA0, 0x100)]):
        return None  # the compiled step maps only bytes 0x80-0x9F
    codec_masks = np.zeros(0x10000, dtype=np.uint16)
    # A single-byte codec encodes character by character: its table, filled by the codec itself.
    encode_tables = np.zeros((len(mirror.charsets), 0x10000), dtype=np.uint8)
    for bit, (encoding, charset) in enumerate(mirror.charsets):
        if max(map(ord, charset)) > 0xFFFF:
            return None
        codec_masks[[ord(char) for char in charset]] |= 1 << bit
        for char in charset:
            encoded = char.encode(encoding)
            if len(encoded) != 1:
                return None
            encode_tables[bit, ord(char)] = encoded[0]
    words = tables["bad_masks"].shape[1]
    bad_singles, detector_singles = tables.pop("bad_singles"), tables.pop("detector_singles")

    def astral_row(code: int) -> tuple[tuple[int, ...], int]:
        """(badness row, detector flags) of one code point beyond the BMP, from the elements
        that can match such a character (in ftfy 6.3, four of the badness regex: any
        character, a negated class, a word and a space category; none of the detector's)."""
        char = chr(code)
        row = [0] * words
        for single, bits in bad_singles:
            if single.fullmatch(char):
                row = [have | more for have, more in zip(row, bits)]
        return tuple(row), sum(bit for bit, single in detector_singles if single.fullmatch(char))

    return {
        **tables,
        "astral_row": astral_row,
        "encodings": [encoding for encoding, _ in mirror.charsets],
        "codec_masks": codec_masks,
        "encode_tables": encode_tables,
        "c1_table": mirror.c1_table,
        "lossy_needles": lossy_needles,
        "lossy_classes": lossy_classes,
        "lossy_lengths": lossy_lengths,
        "altered_needles": altered_needles,
        "windows_1252_undefined": undefined,
        "windows_1252_c1": [0 if byte in undefined else ord(bytes([byte]).decode("windows-1252")) for byte in range(0x80, 0xA0)],
    }


class _Mirror:
    """ftfy's fix_encoding with the default config; the names follow ftfy's own."""

    def __init__(self) -> None:
        from ftfy import chardata, fixes
        from ftfy.badness import BADNESS_RE

        self.is_bad = BADNESS_RE.search
        ascii_but_1a = frozenset(map(chr, [*range(0x1A), *range(0x1B, 0x80)]))
        byte_range = bytes([*range(0x80, 0x100), 0x1A])
        self.charsets = tuple(
            (encoding, ascii_but_1a | frozenset(byte_range.decode(encoding)))
            for encoding in chardata.CHARMAP_ENCODINGS
        )
        self.altered_utf8 = chardata.ALTERED_UTF8_RE.search
        self.utf8_detector = chardata.UTF8_DETECTOR_RE
        self.c1_control = chardata.C1_CONTROL_RE.search
        self.c1_table = {c: bytes([c]).decode("sloppy-windows-1252") for c in range(0x80, 0xA0)}
        self.restore_byte_a0 = fixes.restore_byte_a0
        self.replace_lossy_sequences = fixes.replace_lossy_sequences
        self.parts: dict[str, str] = {}

    def fix_encoding(self, text: str) -> str:
        """Steps until one changes nothing (ftfy's fix_encoding_and_explain loop)."""
        while True:
            fixed = self.step(text)
            if fixed == text:
                return fixed
            text = fixed

    def step(self, text: str) -> str:
        """One step of ftfy's _fix_encoding_one_step_and_explain, in its order."""
        if not text or text.isascii() or not self.is_bad(text):
            return text
        characters = set(text)
        possible = []
        for encoding, charset in self.charsets:
            if not characters <= charset:
                continue
            possible.append(encoding)
            encoded = text.encode(encoding)
            try:
                if encoding != "macroman" and self.altered_utf8(encoded):
                    encoded = self.restore_byte_a0(encoded)
                if encoding.startswith("sloppy"):
                    encoded = self.replace_lossy_sequences(encoded)
                decoding = "utf-8-variants" if 0xED in encoded or 0xC0 in encoded else "utf-8"
                return encoded.decode(decoding)
            except UnicodeDecodeError:
                pass
        if self.utf8_detector.search(text):
            length = len(text)

            def embedded(match):  # ftfy's fix_embedded_mojibake, less its is_bad test: the
                part = match.group(0)  # first step of a part that is not bad returns it as is
                if len(part) >= length:
                    return part
                fixed = self.parts.get(part)
                if fixed is None:
                    if len(self.parts) >= PARTS_KEPT:
                        self.parts.clear()
                    fixed = self.parts[part] = self.fix_encoding(part)
                return fixed

            fixed = self.utf8_detector.sub(embedded, text)
            if fixed != text:
                return fixed
        if "latin-1" in possible:
            if "windows-1252" in possible:  # as in ftfy; its list names only sloppy-windows-1252
                return text
            try:
                fixed = text.encode("latin-1").decode("windows-1252")
                if fixed != text:
                    return fixed
            except UnicodeDecodeError:
                pass
        if self.c1_control(text):
            return text.translate(self.c1_table)
        return text
