"""normalize(): repair broken Unicode, keep a map back to the raw text, count what each repair saves.

Repairs run in a fixed order so that encoding repair comes before anything that
folds compatibility characters: surrogates, mojibake (ftfy), HTML entities,
line endings, optional de-hyphenation, controls / zero-width / bidi characters,
exotic spaces, fullwidth ASCII, the Unicode form (NFC by default), whitespace.
Every repair is a switch on NormalizeConfig.

Most real text needs nothing, so each block of input is first scanned once for
the characters any repair acts on; passes whose characters are absent do not
run, and passes that do run touch only what their own scan finds. Long input
is cut into blocks (``block_size`` characters, cut at a "letter newline letter"
point where no repair looks across) so memory stays a small multiple of the input.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from . import _fixes as fixes
from ._align import Alignment, EditMap, concat_maps
from ..errors import ConfigError, InputDataError, InputTypeError
from ..tokens import get_tokenizer

Form = Literal["NFC", "NFKC", "none"]

# Every category that can appear in Normalized.fixes, in the order the passes run.
CATEGORIES = (
    "surrogates",
    "mojibake",
    "html_entities",
    "line_endings",
    "dehyphenation",
    "controls",
    "invisible",
    "bidi",
    "spaces",
    "fullwidth",
    "form",
    "whitespace",
)

# The passes that may record an EditMap, one slot each, in run order.
_SLOTS = (
    "surrogates",
    "mojibake",
    "html_entities",
    "line_endings",
    "dehyphenation",
    "invisibles",
    "form",
    "trailing_space",
    "blank_lines",
    "inner_space",
)
_INVISIBLES_SLOT = _SLOTS.index("invisibles")


@dataclass(frozen=True)
class NormalizeConfig:
    """Which repairs normalize() applies; every one can be switched off.

    ``form``: "NFC" (default) composes accents and changes nothing a reader can
    see; "NFKC" also folds compatibility characters (ligatures, circled digits,
    CJK fullwidth punctuation) and, with ``nfkc_protect`` (default), keeps
    superscripts, subscripts and vulgar fractions (NFKC would read ``10³`` as
    ``103``, and ``½`` becomes the longer ``1⁄2``).
    ``bidi``: "remove" bidi embedding/override/isolate controls (they can hide
    code, "Trojan Source"), "report" keeps them and lists their raw offsets in
    ``Normalized.bidi_positions``, "keep" leaves them alone.
    ``html_entities``: "auto" unescapes character references that spell a
    character (``&eacute;``, ``&nbsp;``, ``&#8217;``) and keeps those for the
    characters HTML escaping writes (``& < > " '``): in markup or code
    (``'&amp;'`` in a string literal) those carry meaning. "always" unescapes
    them too (scraped text known to be double-escaped), "never" none. The
    decision is made per reference, never per document (ftfy's default looks
    for a "<" anywhere in the text), so ``normalize(raw[c.start:c.end]).text
    == c.text`` holds for every chunk of ``prepare()``.
    ``surrogates``: lone surrogates become U+FFFD ("replace") or go ("remove");
    "keep" leaves them (most tokenizers then fail). Pairs are always joined
    unless "keep".
    ``block_size``: characters per block of work; memory scales with it. The
    result does not depend on it. 65,536 keeps a block's transient lists (match
    pieces, edits) to a few MB whatever the input; a megabyte of entity soup or
    random latin-1 in one block peaked at 20x its size.
    """

    fix_mojibake: bool = True
    html_entities: Literal["auto", "always", "never"] = "auto"
    surrogates: Literal["replace", "remove", "keep"] = "replace"
    unify_line_endings: bool = True
    dehyphenate: bool = False
    remove_controls: bool = True
    remove_invisible: bool = True
    bidi: Literal["remove", "report", "keep"] = "remove"
    unify_spaces: bool = True
    fold_fullwidth: bool = True
    form: Form = "NFC"
    nfkc_protect: bool = True
    collapse_whitespace: bool = True
    block_size: int = 1 << 16

    def __post_init__(self) -> None:
        choices = {
            "html_entities": ("auto", "always", "never"),
            "surrogates": ("replace", "remove", "keep"),
            "bidi": ("remove", "report", "keep"),
            "form": ("NFC", "NFKC", "none"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name}={getattr(self, name)!r} is not one of {allowed}")
        for item in dataclasses.fields(self):
            if item.type == "bool" and not isinstance(getattr(self, item.name), bool):
                raise ConfigError(f"{item.name} must be True or False, got {getattr(self, item.name)!r}")
        if isinstance(self.block_size, bool) or not isinstance(self.block_size, int) or self.block_size < 16:
            raise ConfigError(f"block_size={self.block_size!r} must be an int of at least 16 characters")

    def only(self, category: str) -> NormalizeConfig:
        """This config with every repair off except the one behind ``category``."""
        if category not in CATEGORIES:
            raise ConfigError(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
        nothing = _NOTHING | {"block_size": self.block_size}
        switches = {name: getattr(self, name) for name in _SWITCHES[category]}
        return NormalizeConfig(**(nothing | switches))


_NOTHING: dict[str, Any] = {
    "fix_mojibake": False,
    "html_entities": "never",
    "surrogates": "keep",
    "unify_line_endings": False,
    "dehyphenate": False,
    "remove_controls": False,
    "remove_invisible": False,
    "bidi": "keep",
    "unify_spaces": False,
    "fold_fullwidth": False,
    "form": "none",
    "collapse_whitespace": False,
}
_SWITCHES: dict[str, tuple[str, ...]] = {
    "surrogates": ("surrogates",),
    "mojibake": ("fix_mojibake",),
    "html_entities": ("html_entities",),
    "line_endings": ("unify_line_endings",),
    "dehyphenation": ("dehyphenate",),
    "controls": ("remove_controls",),
    "invisible": ("remove_invisible",),
    "bidi": ("bidi",),
    "spaces": ("unify_spaces",),
    "fullwidth": ("fold_fullwidth",),
    "form": ("form", "nfkc_protect"),
    "whitespace": ("collapse_whitespace",),
}


@dataclass(frozen=True)
class TokenSaving:
    """Tokens of the raw text, and after one category of repair (or all of them) alone."""

    category: str
    fixes: int
    tokens_before: int
    tokens_after: int

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"tokens_saved": self.tokens_saved}


@dataclass(frozen=True, eq=False)
class Normalized:
    """The normalized text, what was fixed, and the way back to raw offsets."""

    text: str
    raw: str = field(repr=False)
    fixes: Mapping[str, int]
    config: NormalizeConfig = field(repr=False)
    bidi_positions: tuple[int, ...] = ()
    alignment: Alignment = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def changed(self) -> bool:
        return self.text != self.raw

    def to_raw(self, start: int, end: int) -> tuple[int, int]:
        """The raw span that produced ``text[start:end]`` (half-open; O(log n)).

        Monotone in both ends. A span boundary inside a rewritten piece widens to
        cover that piece; removed characters at the edges of a span are left out
        (except at offset 0 and at the end, which map to the raw text's own ends),
        so neighbouring spans never share a raw character unless a single
        rewrite was cut between them. Guarantee tested in tests/test_normalize.py:
        for spans whose ends are "clean cuts" (0, the end, or a plain space after
        a non-space where the characters around map one-to-one to raw), normalizing
        the raw span gives exactly the normalized span.
        """
        if not (0 <= start <= end <= len(self.text)):
            raise InputDataError(
                f"span ({start}, {end}) is outside the normalized text of length {len(self.text)}"
            )
        if not self.alignment.maps:
            return start, end
        raw_starts, raw_ends = self.alignment.to_raw_arrays(np.array([start]), np.array([end]))
        return int(raw_starts[0]), int(raw_ends[0])

    def to_raw_many(self, starts: Any, ends: Any) -> tuple[np.ndarray, np.ndarray]:
        """to_raw for many spans at once (int arrays of equal length)."""
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        if starts.shape != ends.shape:
            raise InputDataError(f"starts {starts.shape} and ends {ends.shape} differ in shape")
        if starts.size and (starts.min() < 0 or ends.max() > len(self.text) or (starts > ends).any()):
            raise InputDataError("every span must satisfy 0 <= start <= end <= len(text)")
        return self.alignment.to_raw_arrays(starts, ends)

    def tokens_saved(self, tokenizer: Any = None) -> dict[str, TokenSaving]:
        """Tokens before and after, per category that fixed something, plus "all".

        Each category is measured alone: the raw text normalized with only that
        repair switched on, against the raw text. Categories interact (a
        mojibake repair can produce NBSPs), so the per-category savings need not
        add up to "all", which is the real before/after of this result.
        ``tokenizer`` is anything chunkwise.tokens.get_tokenizer accepts.
        """

        counter = get_tokenizer(tokenizer)
        categories = [name for name in CATEGORIES if self.fixes.get(name)]
        texts = [self.raw, self.text] + [
            normalize(self.raw, self.config.only(name)).text for name in categories
        ]
        before, after_all, *after_each = counter.count_batch(texts)
        savings = {
            name: TokenSaving(name, self.fixes[name], before, after)
            for name, after in zip(categories, after_each)
        }
        savings["all"] = TokenSaving("all", sum(self.fixes.values()), before, after_all)
        return savings


def normalize(text: str, config: NormalizeConfig | None = None, **options: Any) -> Normalized:
    """Repair ``text`` and return it with per-category fix counts and a map to raw offsets.

    ``options`` are NormalizeConfig fields that override ``config`` (or the defaults).
    Never raises on odd content: lone surrogates, NULs, all-control input all
    come out as valid text.
    """
    config = _resolve_config(config, options)
    if not isinstance(text, str):
        hint = " (decode bytes first, e.g. data.decode('utf-8', errors='replace'))" if isinstance(text, bytes | bytearray) else ""
        raise InputTypeError(f"normalize() takes a str, got {type(text).__name__}{hint}")
    counts: Counter = Counter()
    pieces: list[str] = []
    slot_parts: list[list[tuple[EditMap, int, int]]] = [[] for _ in _SLOTS]  # (map, block offsets in, out)
    slot_in_offset = [0] * len(_SLOTS)
    slot_out_offset = [0] * len(_SLOTS)
    bidi_slot_positions: list[int] = []
    judged: dict[str, str] = {}  # mojibake segments' repairs, shared by the blocks
    for block_start, block_end in _blocks(text, config.block_size):
        block = text[block_start:block_end]
        out, slots, bidi_local = _normalize_block(block, config, counts, judged)
        pieces.append(out)
        bidi_slot_positions.extend(p + slot_in_offset[_INVISIBLES_SLOT] for p in bidi_local)
        input_length = len(block)
        for index, (edit_map, output_length) in enumerate(slots):
            if edit_map is not None:
                slot_parts[index].append((edit_map, slot_in_offset[index], slot_out_offset[index]))
            slot_in_offset[index] += input_length
            slot_out_offset[index] += output_length
            input_length = output_length
    normalized = pieces[0] if len(pieces) == 1 else "".join(pieces)
    del pieces
    slot_maps: list[EditMap | None] = []
    for parts in slot_parts:
        slot_maps.append(concat_maps(parts) if parts else None)
        parts.clear()  # the block maps go as their pass's map is made
    alignment = Alignment(tuple(m for m in slot_maps if m is not None), len(normalized), len(text))
    bidi_positions: tuple[int, ...] = ()
    if bidi_slot_positions:
        # Reported positions are offsets into the input of the invisibles pass: map them back.
        earlier = [m for m in slot_maps[:_INVISIBLES_SLOT] if m is not None]
        positions = np.asarray(bidi_slot_positions, dtype=np.int64)
        for edit_map in reversed(earlier):
            positions = edit_map.back_starts(positions)
        bidi_positions = tuple(int(p) for p in positions)
    fixed = MappingProxyType({name: counts[name] for name in CATEGORIES if counts[name]})
    return Normalized(normalized, text, fixed, config, bidi_positions, alignment)


def _resolve_config(config: NormalizeConfig | None, options: dict[str, Any]) -> NormalizeConfig:
    if config is not None and not isinstance(config, NormalizeConfig):
        raise InputTypeError(f"config must be a NormalizeConfig, got {type(config).__name__}")
    base = config or NormalizeConfig()
    if not options:
        return base
    known = {item.name for item in dataclasses.fields(NormalizeConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"unknown normalize option(s) {unknown}; known: {sorted(known)}")
    return dataclasses.replace(base, **options)


def _normalize_block(
    block: str, config: NormalizeConfig, counts: Counter, judged: dict[str, str]
) -> tuple[str, list[tuple[EditMap | None, int]], list[int]]:
    """Run every enabled pass over one block; one (map, length after) per slot.

    ``judged``: the mojibake repairs of the call's earlier blocks (fix_mojibake adds to it).
    """
    slots: list[tuple[EditMap | None, int]] = []
    bidi_found: list[int] = []
    text = block

    def keep(result: tuple[str, EditMap | None]) -> None:
        nonlocal text
        text = result[0]
        slots.append((result[1], len(text)))

    def skip() -> None:
        slots.append((None, len(text)))

    triggers = fixes.patterns()["triggers"]
    # The distinct trigger characters present decide which passes run at all.
    found = _distinct(triggers, text)

    def present(chars: str) -> bool:
        return any(c in chars for c in found)

    if config.surrogates != "keep" and any("\ud800" <= c <= "\udfff" for c in found):
        keep(fixes.fix_surrogates(text, config.surrogates, counts))
    else:
        skip()
    leads = "".join(c for c in found if "\u00c2" <= c <= "\u00f4")
    if config.fix_mojibake and leads:
        before = text
        keep(fixes.fix_mojibake(text, counts, leads, config.remove_controls, judged))
        if text is not before:
            found = _distinct(triggers, text)
    else:
        skip()
    if config.html_entities != "never" and "&" in found:
        before = text
        keep(fixes.fix_html_entities(text, counts, keep_syntax=config.html_entities == "auto"))
        if text is not before:
            found = _distinct(triggers, text)
    else:
        skip()
    if config.unify_line_endings and present("\r\x0b\x0c\x85\u2028\u2029"):
        keep(fixes.fix_line_breaks(text, counts))
    else:
        skip()
    if config.dehyphenate and "\n" in text:
        keep(fixes.fix_hyphen_breaks(text, counts))
    else:
        skip()
    wants_invisibles = (
        (config.remove_controls and any(c <= "\x9f" and c not in "\t\n\r\x0b\x0c\x85&" for c in found))
        or (config.remove_invisible and present(fixes.INVISIBLE_CHARS + fixes.ZERO_WIDTH_JOINERS))
        or (config.bidi != "keep" and present(fixes.BIDI_CONTROLS))
    )
    if wants_invisibles:
        keep(fixes.fix_invisibles(text, config.remove_controls, config.remove_invisible, config.bidi, counts, bidi_found))
    else:
        skip()
    # Spaces and fullwidth folds are character-for-character: no slot, no map.
    spaces = "".join(c for c in found if c in fixes.SPACE_CHARS)
    if config.unify_spaces and spaces:
        text = fixes.fix_spaces(text, counts, spaces)
    if config.fold_fullwidth and any("\uff01" <= c <= "\uff5e" or c == "\u3000" for c in found):
        text = fixes.fix_fullwidth(text, counts)[0]
    if config.form != "none":
        keep(fixes.apply_form(text, config.form, config.nfkc_protect, counts))
    else:
        skip()
    if config.collapse_whitespace:
        for result in fixes.fix_whitespace(text, counts):
            keep(result)
    else:
        for _ in range(3):
            skip()
    return text, slots, bidi_found


def _distinct(pattern: re.Pattern, text: str) -> str:
    """The distinct characters ``pattern`` matches in ``text``, listed 4K characters at a time:
    a block is not cut inside a run of joiners or marks, so it can be long, and a list of
    every trigger in 1 MB of joiners held 28 MB."""
    distinct: set[str] = set()
    for low in range(0, len(text), 1 << 12):
        found = pattern.findall(text, low, low + (1 << 12))
        distinct.update(found)
        if len(found) > 1 << 10:
            # Text dense with triggers (nothing but CRLFs): each distinct character of the
            # rest is judged once instead of listed at every occurrence (marked in a table
            # of the BMP as code points: a set of 64K one-character strings took 1.5 ms a
            # block of random bytes, a count per code point 0.7 ms).
            seen = np.zeros(0x10000, dtype=bool)
            for window in range(low + (1 << 12), len(text), 1 << 16):
                codes = fixes.code_points(text[window : window + (1 << 16)])
                astral = codes >= 0x10000
                if astral.any():
                    distinct.update(filter(pattern.match, fixes.from_code_points(np.unique(codes[astral]))))
                    codes = codes[~astral]
                seen[codes] = True
            distinct.update(filter(pattern.match, fixes.from_code_points(np.flatnonzero(seen))))
            break
    return "".join(distinct)


def _blocks(text: str, block_size: int):
    """(start, end) pairs covering ``text``, each cut where no repair looks across."""
    start = 0
    length = len(text)
    while start < length:
        end = _cut_point(text, start, block_size)
        yield start, end
        start = end


# The first of two letters or digits in a row that are both ASCII or both beyond U+02FF (re's
# \w is exactly str.isalnum() or "_"): the pairs a stretch without spaces may be cut between.
# Found by the regex itself: listing every pair and testing each in Python cost 0.1 s a MB of
# accented letters with no space, none of which qualify.
_CUTTABLE_PAIR = re.compile(r"[A-Za-z0-9](?=[A-Za-z0-9])|[^\W_\x00-\u02ff](?=[^\W_\x00-\u02ff])")
# A newline or space between two letters or digits, from the letter before it.
_NEWLINE_BETWEEN = re.compile(r"[^\W_]\n(?=[^\W_])")
_SPACE_BETWEEN = re.compile(r"[^\W_] (?=[^\W_])")


def _cut_point(text: str, start: int, block_size: int) -> int:
    limit = start + block_size
    if limit >= len(text):
        return len(text)
    low = start + block_size // 2
    # Best: right after a newline between two letters or digits; then after such a space.
    for separator, between in (("\n", _NEWLINE_BETWEEN), (" ", _SPACE_BETWEEN)):
        position = text.rfind(separator, low, limit)
        for _ in range(16):
            if position <= low:
                break
            if text[position - 1].isalnum() and text[position + 1].isalnum():
                return position + 1
            position = text.rfind(separator, low, position)
        else:
            # Text dense with separators that fall between no letters (a blank line after
            # every line, CRLFs): the last one that does, in one compiled scan, rather than
            # a step back per separator (32,000 steps a block of CRLFs).
            last = None
            for last in between.finditer(text, low, position + 2):
                pass
            if last is not None:
                return last.start() + 2
    # Then inside a long unspaced stretch (CJK, Thai, a URL, entity soup): between two
    # letters or digits that are both ASCII or both beyond Latin, and not inside an
    # entity (an "&" less than 34 characters before, with no ";" after it yet). Only
    # ftfy's view of the stretch can change across such a cut.
    # Scanned backwards a window at a time by the compiled matcher: a character-by-character
    # loop cost more than the rest of normalize() on letters buried in marks.
    high = limit
    while high > low:
        window_low = max(low, high - 512)
        firsts = [match.start() for match in _CUTTABLE_PAIR.finditer(text, window_low, high + 1)]
        for first in reversed(firsts):
            position = first + 1
            if not _inside_entity(text, max(start, position - 34), position):
                return position
        high = window_low
    # Text without letters (all controls, symbols): cut anywhere but inside CRLF or a
    # surrogate pair, and not before a character that attaches to the one before it;
    # before an entity rather than inside it.
    position = limit
    if _inside_entity(text, max(start + 1, limit - 34), limit):
        position = text.rfind("&", max(start + 1, limit - 34), limit)
    if position < len(text) and (
        (text[position - 1] == "\r" and text[position] == "\n")
        or ("\ud800" <= text[position - 1] <= "\udbff" and "\udc00" <= text[position] <= "\udfff")
    ):
        position += 1
    return _past_attached(text, position)


def _past_attached(text: str, position: int) -> int:
    """The first offset at or after ``position`` whose character is neither a joiner nor attaches
    to the one before it. Read in windows of 256 characters and up, each distinct character
    judged once: a character at a time, the cut after a letter under 64,000 marks cost 0.35 s."""
    size = 256
    while position < len(text):
        window = text[position : position + size]
        stops = [char for char in set(window) if char not in "\u200c\u200d" and not _attaches(char)]
        if stops:
            return position + min(window.find(char) for char in stops)
        position += len(window)
        size = min(2 * size, 1 << 16)
    return position


def _inside_entity(text: str, low: int, position: int) -> bool:
    """Whether an entity ("&" ... ";", at most 34 characters) may be open at ``position``."""
    amp = text.rfind("&", low, position)
    return amp >= 0 and text.find(";", amp, position) < 0


@functools.lru_cache(maxsize=4096)
def _attaches(char: str) -> bool:
    # Cached: _past_attached judges the distinct characters of its windows at every block's cut.
    return unicodedata.combining(char) != 0 or unicodedata.category(char) in ("Mn", "Mc", "Me")


__all__ = ["normalize", "Normalized", "NormalizeConfig", "TokenSaving", "CATEGORIES"]
