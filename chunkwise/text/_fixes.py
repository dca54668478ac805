"""The repair passes of normalize(): each one finds its few targets with one compiled scan.

A pass takes a text and returns the repaired text plus an EditMap of the places
where lengths changed (None when nothing moved). Passes never look further than
one character across an ASCII whitespace boundary (mojibake is repaired per
whitespace-delimited segment), which is what lets normalize() cut long input
into blocks at "letter newline letter" points and still give the same result.
Counts of what each pass changed go into a shared Counter, keyed by category.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from .._backend import compiled
from ._align import EditMap
from ._encoding_repair import compiled_repair, fix_encoding_function

# Characters a cp1252 / Latin-1 decoder makes from UTF-8 continuation bytes 0x80-0xBF.
_CP1252_CONTINUATION = (
    "\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160"
    "\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122"
    "\u0161\u203a\u0153\u017e\u0178"
)
# UTF-8 lead bytes 0xC2-0xF4 as cp1252 / Latin-1 show as U+00C2-U+00F4.
# Characters later passes remove may sit between the two (a second run would see through them).
_HIDES_MOJIBAKE = "\x00-\x08\x0e-\x1f\u200b\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069"
MOJIBAKE_HINT = f"[\u00c2-\u00f4][{_HIDES_MOJIBAKE}]*[{_CP1252_CONTINUATION}]"

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH_JOINERS = "\u200c\u200d"
# Removed outright: zero-width space, soft hyphen, BOM / zero-width no-break space,
# word joiner, Mongolian vowel separator, deprecated format characters.
INVISIBLE = "\u00ad\u200b\u2060\ufeff\u180e\u206a-\u206f"
INVISIBLE_CHARS = "\u00ad\u200b\u2060\ufeff\u180e\u206a\u206b\u206c\u206d\u206e\u206f"
# C0 and C1 controls and DEL; tab and the line-break controls are handled elsewhere.
CONTROLS = "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"
LINE_BREAKS = "\r\x0b\x0c\x85\u2028\u2029"
SPACES = "\u00a0\u1680\u2000-\u200a\u202f\u205f"
SPACE_CHARS = (
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
)

FULLWIDTH = "\uff01-\uff5e\u3000"
SURROGATES = "\ud800-\udfff"

# One character class covering every single-character trigger, for the block pre-scan.
TRIGGERS = (
    f"[{CONTROLS}{LINE_BREAKS}{INVISIBLE}{ZERO_WIDTH_JOINERS}{BIDI_CONTROLS}"
    f"{SPACES}{FULLWIDTH}{SURROGATES}\u00c2-\u00f4&]"
)

# Scripts where ZWJ / ZWNJ select letter forms: Arabic, Syriac, Thaana, N'Ko,
# the Indic blocks (Devanagari to Sinhala), Tibetan, Myanmar, Khmer, Mongolian.
_JOINER_SCRIPTS = (
    "\u0600-\u06ff\u0700-\u074f\u0750-\u077f\u0780-\u07bf\u07c0-\u07ff\u0860-\u08ff"
    "\u0900-\u0dff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u1800-\u18af"
    "\ua8e0-\ua8ff\ufb50-\ufdff\ufe70-\ufefc"  # stops before U+FEFF (BOM), which is removed
)

_ENTITY_BODY = r"(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"


@functools.lru_cache(maxsize=1)
def patterns() -> dict[str, Any]:
    """Compiled patterns, built on first use (no work at import)."""
    import re

    import regex

    return {
        "triggers": re.compile(TRIGGERS),
        "surrogates": re.compile(f"[\ud800-\udbff][\udc00-\udfff]|[{SURROGATES}]"),
        "mojibake_hint": re.compile(MOJIBAKE_HINT),
        "ascii_space": re.compile(r"[ \t\n\r\x0b\x0c]"),
        # Mojibake segments end at whitespace, and at other spaces unless they follow a
        # lead character ("Ã" + NBSP is the mojibake of "à"): ftfy judges a segment whole,
        # so "Über" + NBSP + "â€™" must not be one segment. The line and paragraph
        # separators end one too: they become "\n" later, and a segment that took one in
        # was judged otherwise than the same text cut before it (fuzzer 1:92272). NEL is
        # left out: it is the second byte of the mojibake "Ñ\x85".
        "mojibake_boundary": regex.compile(f"[ \\t\\n\\r\\x0b\\x0c\u2028\u2029]|(?<![\u00c2-\u00f4])[{SPACES}\u3000]"),
        "mojibake_boundary_backwards": regex.compile(
            f"(?r)[ \\t\\n\\r\\x0b\\x0c\u2028\u2029]|(?<![\u00c2-\u00f4])[{SPACES}\u3000]"
        ),
        # Never C1 controls or other Latin-1 characters: those can be mojibake bytes themselves.
        "hides_mojibake": re.compile(f"[{_HIDES_MOJIBAKE}]"),
        "controls": re.compile(f"[{CONTROLS}]"),
        "entity": re.compile("&" + _ENTITY_BODY),
        "entity_body": re.compile(_ENTITY_BODY),
        "line_breaks": re.compile(f"\r\n|[{LINE_BREAKS}]"),
        # Characters later passes remove or turn into spaces may sit around the break;
        # looking through them now keeps a second run from finding a new break.
        "hyphen_break": regex.compile(
            r"(?<=\p{L}[\p{Cf}\x00-\x08\x0e-\x1f\x7f-\x9f]*)[\-\u00ad\u2010\uff0d]"
            r"[\p{Cf}\p{Zs}\t\x00-\x08\x0e-\x1f\x7f-\x9f]*\n"
            r"[\p{Cf}\p{Zs}\t\x00-\x08\x0e-\x1f\x7f-\x9f]*(?=\p{Ll})"
        ),
        "invisibles": re.compile(f"[{CONTROLS}{INVISIBLE}{ZERO_WIDTH_JOINERS}{BIDI_CONTROLS}]"),
        # The same, but a joiner only where it joins nothing: a character of a joining script
        # before it, or (ZWJ only) an emoji, its modifier or a variation selector. Judged by
        # the character before alone: a chunk may end right after a joiner (a cap smaller
        # than one emoji sequence), and normalizing that chunk alone must keep what
        # normalizing the whole text kept; chunks never start with a joiner.
        "removable_invisibles": regex.compile(
            f"[{CONTROLS}{INVISIBLE}{BIDI_CONTROLS}]"
            f"|(?<![{_JOINER_SCRIPTS}\\p{{Extended_Pictographic}}\\p{{Emoji_Modifier}}\ufe0f\ufe0e])\u200d"
            f"|(?<![{_JOINER_SCRIPTS}])\u200c"
        ),
        "spaces": re.compile(f"[{SPACES}]+"),
        "fullwidth": re.compile(f"[{FULLWIDTH}]+"),
        "fullwidth_punct": re.compile(r"[\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff5e]"),
        "form_candidates": {"NFC": re.compile("[^\x00-\u02ff]+"), "NFKC": re.compile("[^\x00-\x9f]+")},
        "unstable": {
            "NFC": regex.compile(r"[\P{ccc=0}\p{NFC_QC=N}\p{NFC_QC=M}]+"),
            "NFKC": regex.compile(r"[\P{ccc=0}\p{NFKC_QC=N}\p{NFKC_QC=M}]+"),
        },
        # NFKC would turn 10³ into 103 and ½ into the longer 1⁄2: these stay as they are.
        "nfkc_protected": regex.compile(r"[\p{dt=super}\p{dt=sub}\p{dt=fraction}]"),
        "blank_lines": re.compile(r"\n\n\n+"),
        # A literal prefix lets the scanner skip ahead; the tab variant runs only on text with tabs.
        "inner_space": re.compile(r"  +"),
        "inner_space_tab": re.compile(r"[ \t]{2,}"),
    }


Fix = Callable[[Any], str]


def substitute(text: str, pattern: Any, fix: Fix, one_to_one: bool = False) -> tuple[str, EditMap | None]:
    """pattern.sub(fix) that records every replacement which moves later offsets.

    A one-character-to-one-character replacement keeps offsets and is not recorded;
    with ``one_to_one`` the caller promises every replacement is character-for-character.
    """
    in_start: list[int] = []
    in_end: list[int] = []
    out_len: list[int] = []

    def replace(match: Any) -> str:
        old = match.group()
        new = fix(match)
        if new != old and not one_to_one and not (len(old) == 1 == len(new)):
            start, end = match.span()
            in_start.append(start)
            in_end.append(end)
            out_len.append(len(new))
        return new

    result = pattern.sub(replace, text)
    return result, (EditMap.from_edits(in_start, in_end, out_len) if in_start else None)


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as a read-only uint32 array (surrogates included)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def from_code_points(codes: np.ndarray) -> str:
    """The text of a uint32 array of code points (surrogates included)."""
    return np.ascontiguousarray(codes, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")


def splice(text: str, starts: list[int], ends: list[int], news: list[str]) -> tuple[str, EditMap | None]:
    """``text`` with ``text[starts[k]:ends[k]]`` replaced by ``news[k]`` (sorted, non-overlapping),
    and the map of the replacements that move later offsets (not one character by one).

    The one splice of the passes that find their edits themselves: they list three values an
    edit, and the text and map are built here in a few whole-list steps (a Python loop over
    the edits cost as much as normalizing a run of marks).
    """
    if not starts:
        return text, None
    gaps = [text[low:high] for low, high in zip([0, *ends], [*starts, len(text)])]
    pieces: list[str] = [""] * (2 * len(news) + 1)
    pieces[0::2] = gaps
    pieces[1::2] = news
    start = np.asarray(starts, dtype=np.int64)
    end = np.asarray(ends, dtype=np.int64)
    length = np.fromiter(map(len, news), dtype=np.int64, count=len(news))
    moves = ~((end - start == 1) & (length == 1))
    mapped = EditMap.from_edits(start[moves], end[moves], length[moves]) if moves.any() else None
    return "".join(pieces), mapped


def apply_edits(text: str, edits: list[tuple[int, int, str]], trim: bool = True) -> tuple[str, EditMap | None]:
    """Apply sorted, non-overlapping (start, end, replacement) edits, trimming each to its change.

    ``trim=False`` keeps each edit whole, for a repair decided over a stretch as a
    whole (a mojibake segment, a run of marks canonical ordering sorts), whose
    unchanged ends need not be one-to-one: offsets inside it map to its ends.
    """
    starts: list[int] = []
    ends: list[int] = []
    news: list[str] = []
    for start, end, new in edits:
        old = text[start:end]
        # Trim the common prefix and suffix so the map stays as fine as the change itself.
        prefix = 0
        limit = min(len(old), len(new)) if trim else 0
        while prefix < limit and old[prefix] == new[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
            suffix += 1
        starts.append(start + prefix)
        ends.append(end - suffix)
        news.append(new[prefix : len(new) - suffix])
    return splice(text, starts, ends, news)


# --- the passes, in the order normalize() runs them ---------------------------------


def fix_surrogates(text: str, mode: str, counts: Counter) -> tuple[str, EditMap | None]:
    """Join surrogate pairs into the character they encode; lone ones become U+FFFD (or go).

    By code points, not a call per surrogate (which made 1 MB of them 30x slower per MB than
    prose): a high surrogate followed by a low one is a pair, read left to right as the
    pattern does (pairs cannot overlap: a low surrogate never starts one).
    """
    codes = _surrogate_code_points(text)
    high = (codes >= 0xD800) & (codes <= 0xDBFF)
    low = (codes >= 0xDC00) & (codes <= 0xDFFF)
    pairs = np.flatnonzero(high[:-1] & low[1:])
    lone = high | low
    lone[pairs] = False
    lone[pairs + 1] = False
    single = np.flatnonzero(lone)
    if not len(pairs) and not len(single):
        return text, None
    counts["surrogates"] += len(pairs) + len(single)
    codes[pairs] = 0x10000 + ((codes[pairs] - 0xD800) << 10) + (codes[pairs + 1] - 0xDC00)
    codes[single] = 0xFFFD
    keep = np.ones(len(codes), dtype=bool)
    keep[pairs + 1] = False
    if mode != "replace":
        keep[single] = False
    fixed = from_code_points(codes[keep])
    # A pair is two characters made one; a lone surrogate that goes is one made none.
    starts = np.sort(np.concatenate((pairs, single if mode != "replace" else single[:0])))
    if not len(starts):
        return fixed, None
    lengths = np.where(np.isin(starts, pairs, assume_unique=True), 2, 1)
    return fixed, EditMap.from_edits(starts, starts + lengths, lengths - 1)


# Surrogates moved to plane 15's private use area (U+F0000-U+F07FF) and back, so the text encodes
# without an error-handler call per surrogate (0.1 s for 333,000 of them).
_SURROGATE_SHIFT = {code: code - 0xD800 + 0xF0000 for code in range(0xD800, 0xE000)}


def _surrogate_code_points(text: str) -> np.ndarray:
    """The code points of ``text``, which holds surrogates (a writable array)."""
    many = sum(1 for _ in itertools.islice(patterns()["surrogates"].finditer(text), _DENSE_MATCHES)) == _DENSE_MATCHES
    if not many or re.search("[\U000f0000-\U000f07ff]", text):
        return code_points(text).copy()
    codes = code_points(text.translate(_SURROGATE_SHIFT)).copy()
    moved = (codes >= 0xF0000) & (codes < 0xF0800)
    codes[moved] -= 0xF0000 - 0xD800
    return codes


def fix_mojibake(
    text: str, counts: Counter, leads: str, removes_controls: bool = True, judged: dict[str, str] | None = None
) -> tuple[str, EditMap | None]:
    """Run ftfy's encoding repair on the whitespace-delimited segments that look like mojibake.

    ``removes_controls``: whether a later pass removes control characters (then a
    repair is judged again without the ones ftfy left, as a second run would).
    ``judged``: segments' repairs from earlier blocks of the same normalize() call (with
    the same ``removes_controls``), added to here; a document decoded with the wrong
    codec repeats its words across blocks (half of them, in the benchmark's mojibake).
    """
    pats = patterns()
    invisible = pats["hides_mojibake"] if pats["hides_mojibake"].search(text) else None
    controls = pats["controls"]
    fix_encoding = fix_encoding_function()
    starts, ends = _mojibake_segments(text, leads)
    segments = [text[start:end] for start, end in zip(starts, ends)]
    # Each distinct segment judged once: mojibake repeats its words ("donâ€™t", "itâ€™s"),
    # and a repair costs 10-100 µs. At most _JUDGED_KEPT are kept across blocks.
    if judged is None:
        judged = {}
    new_segments = set(segments).difference(judged)
    if len(judged) + len(new_segments) > _JUDGED_KEPT:
        judged.clear()
        new_segments = set(segments)
    screen = controls if removes_controls else None
    repair = compiled_repair()
    if repair is not None and fix_encoding == repair.fix_encoding:  # _judge's, in C (Repair.judge_all)
        fresh = list(new_segments)
        judged.update(zip(fresh, repair.judge_all(fresh, invisible is not None, screen is not None, _judge_classes())))
    else:
        judged.update((segment, _judge(segment, fix_encoding, invisible, screen)) for segment in new_segments)
    news = [judged[segment] for segment in segments]
    repairs = sum(map(operator.ne, news, segments))
    if repairs:
        counts["mojibake"] += repairs
    # Every segment is one edit, whole, not trimmed to the change: ftfy judges a segment
    # as a whole, and its repair need not keep the segment's unchanged ends in place, so
    # a slice of it may be repaired otherwise or not at all. A segment ftfy left alone is
    # an edit too (to itself): a slice of it can read as mojibake where the whole did not
    # ("ÙŠØŸ" of "†ØØ±ÙŽÙŠØŸ"), so a chunk cut inside it carries the whole segment's raw
    # span, as for a repair. (A segment holds its hint's lead and the character after it,
    # so it is never one character, which splice would not map.)
    return splice(text, starts, ends, news)


_JUDGED_KEPT = 4096


@functools.lru_cache(maxsize=1)
def _judge_classes() -> np.ndarray:
    """Per BMP code point, for the compiled _judge: bit 1 when the hides-mojibake class holds
    it, bit 2 when the controls class does. Neither class holds a character beyond the BMP
    (a test checks), so those need no row."""
    classes = np.zeros(0x10000, dtype=np.uint8)
    pats = patterns()
    for bit, name in ((1, "hides_mojibake"), (2, "controls")):
        classes[_code_point_table(re.compile(pats[name].pattern + "+"), 0x10000)] |= bit
    return classes


def _judge(segment: str, fix_encoding: Callable[[str], str], invisible: Any, controls: Any) -> str:
    """A segment's repair: ftfy's, judged as later passes and a second run would see it.

    ``invisible``: the pattern of characters that hide mojibake, None when the text has
    none; ``controls``: the controls pattern when a later pass removes them, else None.
    Its compiled twin is ``_crepair.Repair.judge_all``: keep the two in step.
    """
    # A stray invisible character can hide mojibake from ftfy; later passes remove it
    # and a second run would then repair: judge the segment without it too, and prefer
    # that repair (then the segment as it is need not be judged). A soft hyphen can
    # also be a mojibake byte: "Ã" + SHY is "í".
    visible = invisible.sub("", segment) if invisible is not None and invisible.search(segment) else segment
    repaired = fix_encoding(visible) if visible is not segment else visible
    if repaired == visible:
        repaired = fix_encoding(segment)
    # C1 controls can be mojibake bytes, so they are not stripped up front; but a
    # control ftfy left in place goes in a later pass, and a second run would judge
    # what is left ("\x8dÂ\x80" -> "\x8dÂ€" -> "Â€" -> "€"): judge it now.
    if controls is not None and controls.search(repaired):
        settled = controls.sub("", repaired)
        repaired_settled = fix_encoding(settled)
        if repaired_settled != settled:
            repaired = repaired_settled
    return repaired


def _mojibake_segments(text: str, leads: str) -> tuple[list[int], list[int]]:
    """The segments fix_mojibake judges, in order: for each MOJIBAKE_HINT not inside the
    segment before, from the boundary before the hint to the first one after its end.

    The boundary before is searched backwards from the hint, bounded below by the last
    segment's end (itself a boundary), so the searches stay linear overall. Where lead
    characters are dense (a document decoded with the wrong codec: a hint in every word)
    hints and boundaries are read from the code points in one compiled pass
    (``_crepair.hint_segments``; its twin, in whole-array steps, finds each hint's pair by
    bisection): the searches' own overhead had cost more than the repairs (1.1 of 1.5 s per
    MB of mojibake French).
    """
    if not _leads_dense(text, leads):
        return _sparse_mojibake_segments(text, leads)
    module = compiled("_crepair")
    if module is not None:
        return module.hint_segments(text, _mojibake_flags(), _LEAD, _SPACE, _BREAK, _HIDING, _CONTINUATION)
    return _dense_mojibake_segments(text)


def _dense_mojibake_segments(text: str) -> tuple[list[int], list[int]]:
    """``_mojibake_segments`` where leads are dense, in whole-array steps: the twin of
    ``_crepair.hint_segments`` (one pass, used when built)."""
    codes = code_points(text)
    # Every class involved is in the BMP below U+FFFF: one table lookup gives them all.
    flags = _mojibake_flags()[np.minimum(codes, 0xFFFF)]
    lead = (flags & _LEAD) != 0
    # The boundary pattern's classes: a space ends a segment unless it follows a lead.
    space = (flags & _SPACE) != 0
    space[1:] &= ~lead[:-1]
    boundaries = np.flatnonzero(space | ((flags & _BREAK) != 0))
    # A hint is a lead, characters that hide mojibake, and a continuation. The soft hyphen
    # is the one character both hiding and continuing, so a lead starts a hint when the
    # first character after its hiding run continues, or a soft hyphen is in that run.
    hiding = (flags & _HIDING) != 0
    continuation = (flags & _CONTINUATION) != 0
    leads = np.flatnonzero(lead)
    shown = np.flatnonzero(~hiding)
    after_run = np.concatenate((shown, [len(codes)]))[np.searchsorted(shown, leads, side="right")]
    continued = np.concatenate((continuation, [False]))[after_run]
    soft_hyphens = np.concatenate(([0], np.cumsum(codes == 0xAD)))
    hinted = continued | (soft_hyphens[after_run] > soft_hyphens[leads + 1])
    hint_starts = leads[hinted]
    hint_runs_to = after_run[hinted]
    before = np.searchsorted(boundaries, hint_starts)
    after = np.searchsorted(boundaries, hint_starts, side="right")
    ends = np.concatenate((boundaries, [len(text)]))
    # The first boundary after a lead is inside its hint only where it is the hint's own
    # continuation: a no-break space after hiding characters (a space right after a lead
    # is no boundary). The regex's match then runs through it.
    inside = (ends[after] == hint_runs_to) & (hint_runs_to > hint_starts + 1)
    inside &= np.concatenate((codes, [0]))[ends[after]] == 0xA0
    starts = np.where(before > 0, ends[np.maximum(before - 1, 0)] + 1, 0)
    ends = ends[np.minimum(after + inside, len(boundaries))]
    # A hint's segment ends at the first boundary after it, so the hints that start a segment
    # are the first of each run sharing that boundary (a group); the rest of a group is inside
    # its first one's segment. A segment that runs through its boundary (``inside``) reaches the
    # next one, so it covers the whole next group, whose first hint then starts none; each
    # group after such a covered one starts a segment again.
    first = np.unique(after, return_index=True)[1]
    groups = after[first]
    covers_next = np.zeros(len(first), dtype=bool)
    covers_next[1:] = (groups[1:] == groups[:-1] + 1) & inside[first[:-1]]
    chosen = np.ones(len(first), dtype=bool)
    for index in np.flatnonzero(covers_next).tolist():  # rare: in order, each after the one it follows
        chosen[index] = not chosen[index - 1]
    first = first[chosen]
    return starts[first].tolist(), ends[first].tolist()


def _leads_dense(text: str, leads: str) -> bool:
    """Whether lead characters are more than 1 in 64 of ``text``; counted lead by lead until
    that is known (random bytes have 50 distinct leads, and counting them all cost 2 ms a block)."""
    count = 0
    for lead in leads:
        count += text.count(lead)
        if count * 64 > len(text):
            return True
    return False


_LEAD, _SPACE, _BREAK, _HIDING, _CONTINUATION = 1, 2, 4, 8, 16


@functools.lru_cache(maxsize=1)
def _mojibake_flags() -> np.ndarray:
    """One byte of the flags above per BMP code point, from the patterns' own classes (the
    boundary pattern's spaces and breaks, MOJIBAKE_HINT's hiding and continuing characters;
    none reaches U+FFFF)."""
    flags = np.zeros(0x10000, dtype=np.uint8)
    flags[0xC2:0xF5] |= _LEAD
    for flag, members in [
        (_SPACE, SPACES + "\u3000"),
        (_BREAK, " \t\n\r\x0b\x0c\u2028\u2029"),
        (_HIDING, _HIDES_MOJIBAKE),
        (_CONTINUATION, _CP1252_CONTINUATION),
    ]:
        flags[_code_point_table(re.compile(f"[{members}]+"), 0x10000)] |= flag
    return flags


def _sparse_mojibake_segments(text: str, leads: str) -> tuple[list[int], list[int]]:
    pats = patterns()
    boundary = pats["mojibake_boundary"]
    boundary_backwards = pats["mojibake_boundary_backwards"]
    starts: list[int] = []
    ends: list[int] = []
    segment_end = 0
    for hint_start, hint_end in _mojibake_hints(text, leads):
        if hint_start < segment_end:
            continue  # already inside the segment judged last
        found = boundary_backwards.search(text, segment_end, hint_start)
        start = found.end() if found else segment_end
        found = boundary.search(text, hint_end)
        segment_end = found.start() if found else len(text)
        starts.append(start)
        ends.append(segment_end)
    return starts, ends


def _mojibake_hints(text: str, leads: str) -> list[tuple[int, int]]:
    """Spans matching MOJIBAKE_HINT, for the lead characters ``leads`` known to occur.

    Where lead characters are rare (English with the odd "café"), str.find on each
    is far faster than a character-class scan of the whole text.
    """
    pattern = patterns()["mojibake_hint"]
    occurrences = sum(text.count(c) for c in leads)
    if occurrences * 64 > len(text):
        return [m.span() for m in pattern.finditer(text)]
    spans = []
    for lead in leads:
        position = text.find(lead)
        while position != -1:
            hint = pattern.match(text, position)
            if hint:
                spans.append(hint.span())
            position = text.find(lead, position + 1)
    spans.sort()
    return spans


# The characters HTML escaping writes as references: in markup or code ("&amp;" in a
# string literal) unescaping them changes what the text means, not just how it is spelt.
HTML_SYNTAX = frozenset("&<>\"'")


def fix_html_entities(text: str, counts: Counter, keep_syntax: bool = False) -> tuple[str, EditMap | None]:
    """Unescape HTML character references via ftfy, never creating a new entity.

    With ``keep_syntax`` the references to HTML_SYNTAX characters stay. The
    decision is made per reference, from the reference alone, so normalizing
    any slice of a text unescapes exactly what normalizing the whole did.
    """
    fast = _every_ampersand_a_reference(text, counts, keep_syntax)
    if fast is not None:
        return fast
    body = patterns()["entity_body"]
    # A page repeats a handful of references, and ftfy's unescape costs a few microseconds a
    # call: each spelling is decided once. The edits are listed and spliced in one go
    # (substitute()'s callback per match was half the time on entity-dense text).
    decided: dict[str, str] = {}
    starts: list[int] = []
    ends: list[int] = []
    news: list[str] = []
    for match in patterns()["entity"].finditer(text):
        found = match.group()
        new = decided.get(found)
        if new is None:
            new = decided[found] = _unescaped(found, keep_syntax)
        if new == found:
            continue
        start, end = match.span()
        # "&amp;lt;" must stay: unescaping it would make "&lt;", and a second run would differ.
        if new == "&" and body.match(text, end):
            continue
        starts.append(start)
        ends.append(end)
        news.append(new)
    if news:
        counts["html_entities"] += len(news)
    return splice(text, starts, ends, news)


def _unescaped(spelling: str, keep_syntax: bool) -> str:
    from ftfy.fixes import unescape_html

    new = unescape_html(spelling)
    return spelling if keep_syntax and new in HTML_SYNTAX else new


def _every_ampersand_a_reference(text: str, counts: Counter, keep_syntax: bool) -> tuple[str, EditMap | None] | None:
    """``fix_html_entities`` without a step per reference, for text where every "&" starts one
    (escaped HTML): None otherwise, or where an "&" it makes is followed by a reference's body.

    Then the references are ``findall``'s strings, the k-th starting at the k-th "&"; and a
    str.replace per changed spelling gives the splice's text: no reference overlaps another,
    a replacement holds no "&" but the "&" ones (replaced last, and none followed by a
    body), so no replacement makes or breaks another's match. The references' regex and a
    Python step each were two thirds of the pass on text of nothing but references.
    """
    found = patterns()["entity"].findall(text)
    if not found or len(found) != text.count("&"):
        return None
    decided = {spelling: _unescaped(spelling, keep_syntax) for spelling in set(found)}
    changed = [spelling for spelling, new in decided.items() if new != spelling]
    if not changed:
        return text, None
    codes = code_points(text)
    starts = np.flatnonzero(codes == 0x26)
    del codes
    sizes = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
    replaced = list(map(decided.__getitem__, found))
    if "&" in decided.values():
        body = patterns()["entity_body"]
        ampersands = np.flatnonzero(np.fromiter(map("&".__eq__, replaced), dtype=bool, count=len(found)))
        if any(body.match(text, end) for end in (starts[ampersands] + sizes[ampersands]).tolist()):
            return None  # "&amp;lt;" stays: the reference by reference path decides
    moved = np.fromiter(map(operator.ne, replaced, found), dtype=bool, count=len(found))
    new_sizes = np.fromiter(map(len, replaced), dtype=np.int64, count=len(found))[moved]
    counts["html_entities"] += int(moved.sum())
    for spelling in sorted(changed, key=lambda spelling: decided[spelling] == "&"):  # the "&" ones last
        text = text.replace(spelling, decided[spelling])
    starts = starts[moved]
    # References are 4+ characters: every one moves later offsets (as in splice's map).
    return text, EditMap.from_edits(starts, starts + sizes[moved], new_sizes)


def fix_line_breaks(text: str, counts: Counter) -> tuple[str, EditMap | None]:
    r"""CRLF, CR, VT, FF, NEL, LINE and PARAGRAPH SEPARATOR all become ``\n``.

    Without a call per break: every break becomes "\n" and only a CRLF moves later offsets,
    so the text is a str.replace per break character present, CRLF first (what the
    ``line_breaks`` pattern's substitution gives, 5x faster on random bytes; a test compares
    them), and the map the CRLFs' positions. A callback per break made text of nothing but
    CRLFs 40x slower per MB than prose.
    """
    present = {char: text.count(char) for char in LINE_BREAKS}  # a CRLF is one break, counted by its CR
    found = sum(present.values())
    if not found:
        return text, None
    counts["line_endings"] += found
    fixed = text.replace("\r\n", "\n")
    for char, occurrences in present.items():
        if occurrences:
            fixed = fixed.replace(char, "\n")
    if "\r\n" not in text:
        return fixed, None
    codes = code_points(text)
    starts = np.flatnonzero((codes[:-1] == 0x0D) & (codes[1:] == 0x0A))  # CRLFs cannot overlap
    del codes
    return fixed, EditMap.from_edits(starts, starts + 2, np.ones(len(starts), dtype=np.int64))


def fix_hyphen_breaks(text: str, counts: Counter) -> tuple[str, EditMap | None]:
    """Join a word hyphenated across a line break when the next line goes on in lower case."""

    def fix(match: Any) -> str:
        counts["dehyphenation"] += 1
        return ""

    return substitute(text, patterns()["hyphen_break"], fix)


def fix_invisibles(
    text: str, remove_controls: bool, remove_invisible: bool, bidi: str, counts: Counter,
    bidi_found: list[int],
) -> tuple[str, EditMap | None]:
    """Remove control, zero-width and bidi characters; ZWJ / ZWNJ stay where they join."""
    pattern = patterns()["removable_invisibles" if remove_invisible else "invisibles"]
    # Every match is one character, and what happens to it depends on the character alone:
    # each distinct one is judged once. Text dense with matches (nothing but joiners or NULs)
    # is read as code points through a table instead of a match at a time: a callback per
    # match made it 30-70x slower per MB than prose, and an edit per deleted character held
    # 55-90 MB for 1 MB. (A joiner that joins is never matched, so emoji cost nothing here.)
    matches = pattern.finditer(text)
    first = [match.start() for match in itertools.islice(matches, _DENSE_MATCHES)]
    if len(first) < _DENSE_MATCHES:
        positions = np.asarray(first, dtype=np.int64)
        found = np.fromiter(map(ord, (text[position] for position in first)), dtype=np.uint32, count=len(first))
    else:
        del matches
        positions, found = _invisible_positions(text, remove_invisible)
    if not len(positions):
        return text, None
    distinct, tally = np.unique(found, return_counts=True)
    kept: list[int] = []
    for code, occurrences in zip(distinct.tolist(), tally.tolist()):
        category, goes = _invisible_verdict(chr(code), remove_controls, remove_invisible, bidi)
        if category is not None:
            counts[category] += occurrences
        if not goes:
            kept.append(code)
    if bidi == "report":
        bidi_found.extend(positions[np.isin(found, [ord(char) for char in BIDI_CONTROLS])].tolist())
    removed = positions[~np.isin(found, kept)] if kept else positions
    return _deleted(text, removed)


_DENSE_MATCHES = 256
"""Matches of a pass's pattern in one text (a block) past which the pass reads it as code points
(invisibles, forms, surrogates); below it, match by match, so text with a few such characters
(prose) is never encoded whole."""


@functools.lru_cache(maxsize=1)
def _invisible_flags() -> np.ndarray:
    """A byte per code point: 1 when the invisibles class holds it, 2 when a ZWJ after it
    joins (and is kept), 4 when a ZWNJ after it does; from the patterns' own classes."""
    import regex

    flags = np.zeros(0x110000, dtype=np.uint8)
    classes = (
        (1, f"[{CONTROLS}{INVISIBLE}{ZERO_WIDTH_JOINERS}{BIDI_CONTROLS}]+"),
        (2, f"[{_JOINER_SCRIPTS}\\p{{Extended_Pictographic}}\\p{{Emoji_Modifier}}\ufe0f\ufe0e]+"),
        (4, f"[{_JOINER_SCRIPTS}]+"),
    )
    for bit, members in classes:
        flags[_code_point_table(regex.compile(members))] |= bit
    return flags


def _code_point_table(pattern: Any, end: int = 0x110000) -> np.ndarray:
    """Per code point below ``end``, whether ``pattern`` (one character class, repeated)
    matches it; read 64K code points at a time (all of them at once were 9 MB of text for a
    moment)."""
    table = np.zeros(end, dtype=bool)
    for low in range(0, end, 1 << 16):
        every = from_code_points(np.arange(low, min(low + (1 << 16), end), dtype=np.uint32))
        for run in pattern.finditer(every):
            table[low + run.start() : low + run.end()] = True
    return table


def _invisible_positions(text: str, removable_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and code points of what the invisibles pattern matches in ``text``, read as code
    points: with ``removable_only``, a joiner whose character before it joins is left out."""
    codes = code_points(text)
    flags = _invisible_flags()[codes]
    matched = (flags & 1).astype(bool)
    if removable_only:
        before = np.zeros_like(flags)
        before[1:] = flags[:-1]
        joins = ((codes == 0x200D) & ((before & 2) > 0)) | ((codes == 0x200C) & ((before & 4) > 0))
        matched &= ~joins
    positions = np.flatnonzero(matched)
    return positions, codes[positions]


def _deleted(text: str, removed: np.ndarray) -> tuple[str, EditMap | None]:
    """``text`` without the characters at the sorted offsets ``removed``; the map has an edit per
    run of adjacent deletions (offsets map the same as with an edit per character)."""
    if not len(removed):
        return text, None
    breaks = np.flatnonzero(np.diff(removed) != 1) + 1
    starts = removed[np.r_[0, breaks]]
    ends = removed[np.r_[breaks - 1, len(removed) - 1]] + 1
    if len(starts) < _DENSE_MATCHES:
        fixed = "".join(text[low:high] for low, high in zip([0, *ends.tolist()], [*starts.tolist(), len(text)]))
    else:
        keep = np.ones(len(text), dtype=bool)
        keep[removed] = False
        fixed = from_code_points(code_points(text)[keep])
    return fixed, EditMap.from_edits(starts, ends, np.zeros(len(starts), dtype=np.int64))


def _invisible_verdict(char: str, remove_controls: bool, remove_invisible: bool, bidi: str) -> tuple[str | None, bool]:
    """(category counted, or None when left alone; whether it goes) for a character the
    invisibles pattern matched."""
    if char in BIDI_CONTROLS:
        return (None, False) if bidi == "keep" else ("bidi", bidi == "remove")
    if char in ZERO_WIDTH_JOINERS:
        # Only joiners that join nothing match when invisibles go (see the pattern).
        return ("invisible", True) if remove_invisible else (None, False)
    if "\x00" <= char <= "\x9f":
        return ("controls", True) if remove_controls else (None, False)
    return ("invisible", True) if remove_invisible else (None, False)


def fix_spaces(text: str, counts: Counter, present: str) -> str:
    """NBSP, narrow NBSP, en/em/thin/hair spaces and friends become a plain space.

    ``present``: the space characters known to occur. One str.replace per
    character is far faster than a character-class scan, and keeps every offset.
    """
    for char in present:
        counts["spaces"] += text.count(char)
        text = text.replace(char, " ")
    return text


_FULLWIDTH_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def fix_fullwidth(text: str, counts: Counter) -> tuple[str, EditMap | None]:
    """Fold fullwidth letters, digits and symbols to ASCII; fullwidth punctuation stays.

    Fullwidth punctuation is correct typography in CJK text ("你好，世界"), and
    whether a mark sits in CJK text can only be told from its neighbours: a chunk
    holding the mark without them would then normalize differently from the whole
    document. Judging each character by itself alone keeps
    ``normalize(raw[c.start:c.end]).text == c.text`` for every chunk.
    """
    pats = patterns()
    punct = pats["fullwidth_punct"]

    def fix(match: Any) -> str:
        run = match.group()
        folded = "".join(c if punct.match(c) else c.translate(_FULLWIDTH_TABLE) for c in run)
        counts["fullwidth"] += sum(1 for a, b in zip(run, folded) if a != b)
        return folded

    return substitute(text, pats["fullwidth"], fix, one_to_one=True)


def normal_form(text: str, form: str, protect: bool = False) -> str:
    """``unicodedata.normalize(form, text)``; for NFKC with ``protect``, super/subscripts and fractions stay."""
    return apply_form(text, form, protect, Counter())[0]


def _candidate_windows(pattern: Any, text: str, most: int) -> list[tuple[int, int]] | None:
    """Spans of ``pattern`` in ``text``; None once they cover more than ``most`` characters or
    number more than ``most // 8`` (then the whole text is scanned anyway, and text with a mark
    on every letter has a span every few characters: listing them all was a fifth of the
    pass's time)."""
    windows: list[tuple[int, int]] = []
    covered = 0
    matches = pattern.finditer(text)
    while batch := [match.span() for match in itertools.islice(matches, 256)]:
        windows += batch
        covered += sum(end - start for start, end in batch)
        if covered > most or len(windows) > most // 8:
            return None  # mostly candidates, or candidates every few characters
    return windows


_RUN_SEPARATOR = "\x00"
"""Joins unstable runs normalized in one call: canonical class 0, stable under every form, and
the first character of no composition, so nothing moves or composes across it."""


def apply_form(text: str, form: str, protect: bool, counts: Counter) -> tuple[str, EditMap | None]:
    """NFC or NFKC, applied only to the runs of characters that are not stable under the form.

    A stable character (canonical class 0, quick-check Yes) is a safe boundary
    before itself, so normalizing each unstable run together with the character
    before it gives exactly the whole-text result, with a map as fine as the runs.
    """
    if text.isascii():
        return text, None
    pats = patterns()
    # Nothing below U+0300 (NFC) or U+00A0 (NFKC) is unstable: a fast scan for higher
    # characters bounds where the slower property-class scan has to look.
    windows = _candidate_windows(pats["form_candidates"][form], text, len(text) // 8)
    whole = windows is None
    if whole:
        # Mostly non-Latin text: one quick check of the whole, then one scan of it.
        if unicodedata.is_normalized(form, text) and not (protect and form == "NFKC"):
            return text, None
        windows = [(0, len(text))]
    protected = pats["nfkc_protected"] if (protect and form == "NFKC") else None
    unstable = pats["unstable"][form]
    normalize = unicodedata.normalize
    # Spliced directly rather than through apply_edits(): text with a mark on every letter has
    # a run every few characters, and its trimming loop cost as much as the normalizing
    # itself. Runs are maximal, so each one's stable character before it lies after the
    # previous run: the edits never overlap. Each edit is whole: canonical ordering moves
    # marks within the run, so no slice of it maps one to one.
    separable = _RUN_SEPARATOR not in text
    found = (run.span() for window_start, window_end in windows for run in unstable.finditer(text, window_start, window_end))
    # Text scanned whole goes to the code points at once: listing its first runs with the
    # regex to count them was a seventh of the pass on repaired random bytes.
    spans = [] if whole else list(itertools.islice(found, _DENSE_MATCHES))
    if whole or len(spans) == _DENSE_MATCHES:
        if (protected is None or not protected.search(text)) and separable:
            dense = _apply_form_dense(text, form, counts)
            if dense is not None:
                return dense
        spans += found
    del found
    if not spans:
        return text, None
    run_starts = [start - 1 if start else start for start, _ in spans]
    run_ends = [end for _, end in spans]
    segments = [text[start:end] for start, end in zip(run_starts, run_ends)]
    del spans
    if protected is None and separable:
        # All runs in one call, a separator between them: the separator is a starter that
        # composes with nothing and no form changes, so each run comes out as it would alone.
        # A call per run was half the pass's time on text with a mark on every letter.
        joined = _RUN_SEPARATOR.join([_ordered(segment, form) if len(segment) > _ORDER_CHARS else segment for segment in segments])
        normalized = normalize(form, joined).split(_RUN_SEPARATOR)
        del joined
    else:
        normalized = [
            _normalize_keeping(segment, form, protected) if protected is not None and protected.search(segment)
            else _normalize_run(segment, form)
            for segment in segments
        ]
    changed = [index for index, (old, new) in enumerate(zip(segments, normalized)) if old != new]
    if not changed:
        return text, None
    counts["form"] += len(changed)
    return splice(text, [run_starts[k] for k in changed], [run_ends[k] for k in changed], [normalized[k] for k in changed])


@functools.lru_cache(maxsize=2)
def _unstable_table(form: str) -> np.ndarray:
    """Per code point, whether the form's unstable pattern holds it (from the pattern itself)."""
    return _code_point_table(patterns()["unstable"][form])


def _apply_form_dense(text: str, form: str, counts: Counter) -> tuple[str, EditMap | None] | None:
    """``apply_form`` for text with a run every few characters (a mark on every letter), by
    code points instead of a Python step per run: the runs from a table, every run's form in
    one call, the changed ones told apart by comparing code points. None where there is no
    run (then the run-by-run path finds none either).

    A step per run made 1 MB of letters each with one mark 40x slower per MB than prose. The
    runs reach unicodedata decomposed and in order (``_decomposed_in_order``): its own
    ordering, by insertion, made runs of a few hundred marks each 5-8x slower than prose.
    """
    codes = code_points(text)
    unstable = _unstable_table(form)[codes]
    edges = np.flatnonzero(np.diff(np.concatenate(([False], unstable, [False])).astype(np.int8)))
    del unstable
    starts = np.maximum(edges[0::2] - 1, 0)  # each run with the stable character before it
    ends = edges[1::2]
    lengths = ends - starts
    if not len(lengths):
        return None
    count = len(lengths)
    # The runs back to back, a NUL between each two (see _RUN_SEPARATOR): run k at slot[k].
    slot = np.cumsum(lengths + 1) - (lengths + 1)
    within = _offsets_within(lengths)
    joined = np.zeros(int(lengths.sum()) + count - 1, dtype=np.uint32)
    joined[np.repeat(slot, lengths) + within] = codes[np.repeat(starts, lengths) + within]
    del within
    # Runs short enough cost unicodedata's insertion sort little; otherwise they are ordered
    # first (one mark per letter would pay 50% more for it, runs of 1,000 marks half as much).
    ordered = _decomposed_in_order(joined, form) if int(lengths.max()) > _SORT_CHARS else joined
    normalized = code_points(unicodedata.normalize(form, from_code_points(ordered)))
    del ordered
    separators = np.flatnonzero(normalized == 0)
    if len(separators) != count - 1:
        return None  # cannot happen (see _RUN_SEPARATOR); the run-by-run path then decides
    new_starts = np.concatenate(([0], separators + 1))
    new_lengths = np.concatenate((separators, [len(normalized)])) - new_starts
    changed = new_lengths != lengths
    same = np.flatnonzero(~changed)
    if len(same):
        # Runs that kept their length changed if any code point differs.
        size = lengths[same]
        offset = _offsets_within(size)
        old = joined[np.repeat(slot[same], size) + offset]
        new = normalized[np.repeat(new_starts[same], size) + offset]
        differs = np.add.reduceat((old != new).astype(np.int64), np.cumsum(size) - size) > 0
        changed[same] = differs
    edits = np.flatnonzero(changed)
    if not len(edits):
        return text, None
    counts["form"] += len(edits)
    # Each run normalizes as it would in place (stable characters are safe boundaries), so
    # the text with each changed run's form in its place is the form of the whole, read
    # from the code points (the form of the whole text again was 40% of this pass on
    # repaired random bytes); the map lists the runs that changed, whole.
    kept_starts = np.concatenate(([0], ends[edits]))
    kept_lengths = np.concatenate((starts[edits], [len(codes)])) - kept_starts
    pieces = np.empty(2 * len(edits) + 1, dtype=np.int64)  # where each piece is read from
    sizes = np.empty_like(pieces)
    pieces[0::2], sizes[0::2] = kept_starts, kept_lengths
    pieces[1::2], sizes[1::2] = len(codes) + new_starts[edits], new_lengths[edits]
    # Piece k's characters are source[pieces[k]:pieces[k] + sizes[k]], written end to end.
    written = np.cumsum(sizes) - sizes
    source = np.concatenate((codes, normalized))
    fixed = source[np.arange(int(sizes.sum())) + np.repeat(pieces - written, sizes)]
    return from_code_points(fixed), EditMap.from_edits(starts[edits], ends[edits], new_lengths[edits])


def _offsets_within(lengths: np.ndarray) -> np.ndarray:
    """0..lengths[0]-1, 0..lengths[1]-1, ... end to end: each position's offset in its run."""
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _normalize_keeping(segment: str, form: str, protected: Any) -> str:
    pieces: list[str] = []
    position = 0
    for keep in protected.finditer(segment):
        pieces.append(_normalize_run(segment[position : keep.start()], form))
        pieces.append(_normalize_run(keep.group(), "NFC"))
        position = keep.end()
    pieces.append(_normalize_run(segment[position:], form))
    return "".join(pieces)


_SORT_CHARS = 32
"""Where a run is longer than this, the dense path hands unicodedata every run already in order."""

_ORDER_CHARS = 512
"""Runs longer than this are put in canonical order by ``_ordered`` before the form is applied."""


def _normalize_run(run: str, form: str) -> str:
    return unicodedata.normalize(form, _ordered(run, form) if len(run) > _ORDER_CHARS else run)


def _ordered(run: str, form: str) -> str:
    """``run`` decomposed (NFD for NFC, NFKD for NFKC) and in canonical order: what the form does
    first, so applying the form to the result gives what it gives for ``run``.

    unicodedata orders the marks after a character by insertion, which is quadratic in their
    number: a letter under 64,000 marks took 5.9 s to normalize; ordered here first
    (``_decomposed_in_order``), a few milliseconds.
    """
    return from_code_points(_decomposed_in_order(code_points(run), form))


def _decomposed_in_order(codes: np.ndarray, form: str) -> np.ndarray:
    """The code points ``codes`` decomposed (NFD for NFC, NFKD for NFKC) and in canonical
    order, as code points: each distinct character decomposed once (a str.replace per one
    that decomposes: few do), then the whole sorted stably by combining class within each
    stretch between starters (a starter, class 0, opens a stretch and stays first in it).
    The sort is skipped when nothing is out of order.
    """
    decomposition = "NFD" if form == "NFC" else "NFKD"
    if not len(codes):
        return codes
    seen = np.zeros(int(codes.max()) + 1, dtype=bool)
    seen[codes] = True
    distinct = set(np.flatnonzero(seen).tolist())
    del seen
    decomposing = [(chr(code), unicodedata.normalize(decomposition, chr(code))) for code in distinct]
    decomposing = [(char, piece) for char, piece in decomposing if piece != char]
    if decomposing:
        text = from_code_points(codes)
        for char, piece in decomposing:
            text = text.replace(char, piece)
            distinct.update(map(ord, piece))
        codes = code_points(text)
        del text
    table = np.zeros(max(distinct) + 1, dtype=np.uint8)
    for code in distinct:
        table[code] = unicodedata.combining(chr(code))
    classes = table[codes].astype(np.int64)
    key = np.cumsum(classes == 0) * 256 + classes
    del classes
    if bool((key[1:] < key[:-1]).any()):
        return codes[np.argsort(key, kind="stable")]
    return codes


def fix_whitespace(text: str, counts: Counter) -> list[tuple[str, EditMap | None]]:
    """Trailing spaces go, 3+ newlines become one blank line, inner runs one space.

    Indentation at the start of a line is kept (code, nested lists). Returns
    exactly three (text, map) results, one per sub-pass, in order; a sub-pass
    with nothing to do returns its input and None. Each sub-pass looks for a
    literal needle first: a character-class scan would cost more than all the
    rest of normalize() on clean prose, where a space is every sixth character.
    """
    pats = patterns()
    results: list[tuple[str, EditMap | None]] = []

    # Trailing spaces: find each " \n" / "\t\n" and widen leftwards over the run.
    trailing: list[tuple[int, int, str]] = []
    for needle in (" \n", "\t\n") if "\t" in text else (" \n",):
        position = text.find(needle)
        while position != -1:
            start = position
            while start > 0 and text[start - 1] in " \t":
                start -= 1
            trailing.append((start, position + 1, ""))
            position = text.find(needle, position + 2)
    if trailing:
        trailing.sort()
        counts["whitespace"] += len(trailing)
        text, edit_map = apply_edits(text, trailing)
        results.append((text, edit_map))
    else:
        results.append((text, None))

    def blank(match: Any) -> str:
        counts["whitespace"] += 1
        return "\n\n"

    results.append(substitute(text, pats["blank_lines"], blank) if "\n\n\n" in text else (text, None))
    text = results[-1][0]

    # Inner runs: keep the first character (as a space), drop the rest. Collected with
    # finditer and filtered in bulk: a per-match callback would dominate on clean prose.
    pattern = pats["inner_space_tab"] if "\t" in text else pats["inner_space"] if "  " in text else None
    if pattern is None:
        results.append((text, None))
        return results
    spans = [m.span() for m in pattern.finditer(text)]
    # A run right after a newline (or at the start) is indentation and stays.
    spans = [(start, end) for start, end in spans if start and text[start - 1] != "\n"]
    if not spans:
        results.append((text, None))
        return results
    counts["whitespace"] += len(spans)
    pieces = [text[:spans[0][0]]]
    pieces.extend([" " + text[end:following] for (_, end), (following, _) in zip(spans, spans[1:])])
    pieces.append(" " + text[spans[-1][1]:])
    in_start = [start + 1 for start, _ in spans]
    in_end = [end for _, end in spans]
    text = "".join(pieces)
    results.append((text, EditMap.from_edits(in_start, in_end, [0] * len(spans))))
    return results
