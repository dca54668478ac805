"""The mojibake repair: the mirror of ftfy's fix_encoding and its compiled twin (whose tables
are read from ftfy's regexes) give ftfy's answers, and the segment finder for dense mojibake
finds the segments the search-based one finds."""

from __future__ import annotations

import random

import ftfy
import pytest

from chunkwise._backend import compiled
from chunkwise.text import _encoding_repair
from chunkwise.text import _fixes
from chunkwise.text._fixes import _mojibake_segments, _sparse_mojibake_segments

CODECS = ("latin-1", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257", "iso-8859-2", "mac-roman", "cp437")
# Letters, quotes and symbols whose UTF-8 bytes each codec reads differently, plus
# the characters ftfy's steps key on (NBSP, soft hyphen, U+FFFD, C1 controls).
SOURCE = "aeé è€’“”—…😀ñüßøçàÀЖжРлλ中文ئ\u00a0\u00ad\ufffd\x85\x9d "
ODD = [chr(c) for c in range(0, 0x250)] + list("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ\ufffd\u200b√≈ÄâвЂβā×²ГўВ")


def segments(seed: int, count: int) -> list[str]:
    """Random Latin-1 bytes, text through every codec (replace or ignore), and odd mixes."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        kind = rng.randrange(3)
        if kind == 0:
            out.append(rng.randbytes(rng.randint(1, 60)).decode("latin-1"))
        elif kind == 1:
            text = "".join(rng.choice(SOURCE) for _ in range(rng.randint(1, 14)))
            data = text.encode()
            if rng.random() < 0.3:
                data = data.replace(b"\xa0", b" ")  # byte A0 taken for a space ("Ã la")
            if rng.random() < 0.2:  # CESU-8 (a surrogate pair as two UTF-8 triples) and Java's C0 80
                data += rng.choice(("\ud83d\ude00".encode("utf-8", "surrogatepass"), b"\xc0\x80"))
            out.append(data.decode(rng.choice(CODECS), errors=rng.choice(("replace", "ignore"))))
        else:
            out.append("".join(rng.choice(ODD) for _ in range(rng.randint(1, 30))))
    return out


@pytest.mark.skipif(
    not ftfy.__version__.startswith(_encoding_repair.MIRRORED_VERSIONS), reason="ftfy version not mirrored"
)
def test_mirror_gives_ftfys_answers():
    fix = _encoding_repair.fix_encoding_function()
    assert fix is not ftfy.fix_encoding
    cases = segments(11, 9000)
    expected = [ftfy.fix_encoding(text) for text in cases]
    assert sum(e != t for e, t in zip(expected, cases)) > 3000  # most are repaired
    mismatches = [(t, e, fix(t)) for t, e in zip(cases, expected) if fix(t) != e]
    assert not mismatches[:5]


def test_other_ftfy_versions_get_ftfys_own(monkeypatch):
    _encoding_repair.fix_encoding_function.cache_clear()
    try:
        monkeypatch.setattr(ftfy, "__version__", "6.1.3")
        assert _encoding_repair.fix_encoding_function() is ftfy.fix_encoding
        monkeypatch.setattr(ftfy, "__version__", "7.0.0")
        _encoding_repair.fix_encoding_function.cache_clear()
        assert _encoding_repair.fix_encoding_function() is ftfy.fix_encoding
    finally:
        _encoding_repair.fix_encoding_function.cache_clear()


def test_dense_segments_are_the_searched_ones():
    """Mojibake word after word, with the characters the boundary and hint patterns treat
    specially: a space after a lead ("Ã" + NBSP is "à") stays inside, U+3000 and the line
    separators end a segment, invisibles may stand between a lead and its continuation."""
    rng = random.Random(5)
    words = ["cafÃ©", "donâ€™t", "Ã\u00a0la", "Ð¿Ñ€Ð¸", "Ã\u200b©", "Ã\u00ad", "plain", "Â\u00a0", "ä¸\xadæ\x96\x87"]
    # Hiding characters between a lead and what follows: the soft hyphen both hides and
    # continues, and a no-break space after a hiding character is a boundary inside a hint.
    words += ["Ã\xad\u200bx", "Ã\u200b\xa0x", "Ã\x01\xadz", "Ã\u2066\u200b", "Ã\u200b", "Ã\xad\xad\u200b\xa0"]
    gaps = [" ", "\u00a0", "\u3000", "\u2028", "\n", "\t", "\u2009", ""]
    module = compiled("_crepair")  # then _mojibake_segments is its hint_segments, else the twin
    flag_bits = (_fixes._LEAD, _fixes._SPACE, _fixes._BREAK, _fixes._HIDING, _fixes._CONTINUATION)
    checked = 0
    for _ in range(300):
        text = "".join(rng.choice(words) + rng.choice(gaps) for _ in range(rng.randint(1, 40)))
        leads = "".join(sorted({c for c in text if "\u00c2" <= c <= "\u00f4"}))
        if not leads or sum(text.count(c) for c in leads) * 64 <= len(text):
            continue
        expected = _sparse_mojibake_segments(text, leads)
        assert _fixes._dense_mojibake_segments(text) == expected, text
        if module is not None:
            assert _mojibake_segments(text, leads) == expected, text
        checked += 1
    assert checked > 250
    # Random characters from the classes involved, astral ones too (they read U+FFFF's flags).
    alphabet = "Ã©â€Â\xa0\xad\u200b\x01 \n\u3000\u2028x\U0001f600\uffff\u2066"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        leads = "".join(sorted({c for c in text if "\u00c2" <= c <= "\u00f4"}))
        if not leads:
            continue
        expected = _sparse_mojibake_segments(text, leads)
        assert _fixes._dense_mojibake_segments(text) == expected, text
        if module is not None:
            assert module.hint_segments(text, _fixes._mojibake_flags(), *flag_bits) == expected, text


def test_code_point_classes_are_the_patterns():
    """The dense segment finder reads the hint and boundary patterns' classes as code points."""
    import re

    characters = [chr(c) for c in range(0x3100)] + [chr(c) for c in range(0xFE00, 0x10000)]
    flags = _fixes._mojibake_flags()
    boundary = _fixes.patterns()["mojibake_boundary"]
    expected = {ord(c) for c in characters if boundary.fullmatch(c)}
    assert expected == {ord(c) for c in characters if flags[ord(c)] & (_fixes._SPACE | _fixes._BREAK)}
    for members, flag in [(_fixes._HIDES_MOJIBAKE, _fixes._HIDING), (_fixes._CP1252_CONTINUATION, _fixes._CONTINUATION)]:
        pattern = re.compile(f"[{members}]")
        assert {ord(c) for c in characters if pattern.fullmatch(c)} == {ord(c) for c in characters if flags[ord(c)] & flag}


def test_repairs_shared_by_blocks_give_one_pass_result(monkeypatch):
    """Segments judged in one block are reused by the next, and the store of them is
    emptied when full: neither changes the text, the counts or the map."""
    import numpy as np

    from chunkwise.text.normalization import normalize

    rng = random.Random(8)
    words = ["".join(rng.choice("абвгдежзийклмнопрстуфх") for _ in range(rng.randint(2, 8))) for _ in range(400)]
    text = " ".join(rng.choice(words) for _ in range(6000)).encode().decode("cp1252", errors="replace")
    whole = normalize(text, block_size=len(text) + 1)
    monkeypatch.setattr(_fixes, "_JUDGED_KEPT", 60)
    blocked = normalize(text, block_size=2000)
    assert blocked.text == whole.text
    assert whole.fixes["mojibake"] > 5000
    assert dict(blocked.fixes) == dict(whole.fixes)
    ends = np.arange(len(whole.text) + 1)
    assert np.array_equal(blocked.to_raw_many(ends * 0, ends)[1], whole.to_raw_many(ends * 0, ends)[1])


def _compiled_repair(parts_kept: int = _encoding_repair.PARTS_KEPT):
    """The compiled Repair over ftfy's tables, or a skip when it is not built or not mirrored."""

    module = compiled("_crepair")
    if module is None or not ftfy.__version__.startswith(_encoding_repair.MIRRORED_VERSIONS):
        pytest.skip("compiled repair not built (or ftfy version not mirrored)")
    mirror = _encoding_repair._Mirror()
    tables = _encoding_repair.compiled_tables(mirror)
    assert tables is not None  # ftfy 6.2/6.3's regexes are all ones the tables express
    return module, module.Repair(mirror, tables, parts_kept)


def test_compiled_repair_gives_ftfys_answers():
    """The compiled steps against ftfy itself: the seeded segments, longer random Latin-1
    (several steps, embedded parts), text beyond the BMP, and a store of parts of 3 that
    is emptied again and again."""
    _, repair = _compiled_repair()
    _, forgetful = _compiled_repair(parts_kept=3)
    rng = random.Random(23)
    cases = segments(12, 9000)
    cases += [rng.randbytes(rng.randint(40, 300)).decode("latin-1") for _ in range(1500)]
    cases += [t + rng.choice(["😀", "𝄞", "\U000172bd"]) + t for t in cases[:400]]  # rows built per code point
    cases += ["ð\x9f\x98\x80Ã©", "ðŸ˜€ and cafÃ©", "Ã", "\x81\x8d\x8f\x90\x9dÃ©"]
    expected = [ftfy.fix_encoding(text) for text in cases]
    assert sum(e != t for e, t in zip(expected, cases)) > 4000
    for fix in (repair.fix_encoding, forgetful.fix_encoding):
        mismatches = [(t, e, fix(t)) for t, e in zip(cases, expected) if fix(t) != e]
        assert not mismatches[:5]


def _pattern_characters(pattern) -> list[str]:
    """The characters a pattern's text holds (its classes' members, written out by ftfy),
    with Latin-1 and a few letters, spaces and breaks: an alphabet on which random strings
    match it often."""
    return sorted(set(pattern.pattern) | set(map(chr, range(0x80, 0x100))) | set("aZz .\n\t😀𝄞\U000172bd\U0010ffff"))


def test_compiled_tables_read_the_regexes():
    """The badness automaton and the detector scan against ftfy's own regexes, on strings
    drawn from the characters those regexes name (so that most of them match somewhere),
    with characters beyond the BMP (whose rows are built one by one)."""
    from ftfy.badness import BADNESS_RE
    from ftfy.chardata import UTF8_DETECTOR_RE

    _, repair = _compiled_repair()
    rng = random.Random(31)
    bad_alphabet = _pattern_characters(BADNESS_RE)
    detector_alphabet = _pattern_characters(UTF8_DETECTOR_RE)
    bad_hits = spans_found = 0
    for _ in range(20000):
        text = "".join(rng.choice(bad_alphabet) for _ in range(rng.randint(1, 12)))
        expected = BADNESS_RE.search(text) is not None
        assert repair.is_bad(text) == expected, text
        bad_hits += expected
        text = "".join(rng.choice(detector_alphabet) for _ in range(rng.randint(1, 16)))
        expected_spans = [m.span() for m in UTF8_DETECTOR_RE.finditer(text)]
        assert repair.detector_spans(text) == expected_spans, text
        spans_found += bool(expected_spans)
    assert 3000 < bad_hits < 17000 and 3000 < spans_found < 17000
    # Anchored at the start only ("^[ÃÂ][ ]"), and a sequence of one ("[{c1}]").
    assert repair.is_bad("Ã ") and not repair.is_bad("1Ã ") and repair.is_bad("\x85")
    # Beyond the BMP: "." matches an emoji, so "Œ" then one is bad ("[Œœ][^A-Za-z]").
    assert repair.is_bad("Œ😀") and not repair.is_bad("😀😀")


def test_byte_shortcuts_skip_only_what_cannot_match():
    """The needles of ftfy's byte regexes are bytes each match holds; the UTF-8 pre-check
    says no only where Python's decoder (or ftfy's utf-8-variants) raises, and yes to every
    well-formed text."""
    import re

    from ftfy.chardata import ALTERED_UTF8_RE, LOSSY_UTF8_RE

    module, _ = _compiled_repair()
    assert _encoding_repair._needles(ALTERED_UTF8_RE) == (0x20,)
    assert _encoding_repair._needles(LOSSY_UTF8_RE) == (0x1A, 0x3F)
    assert _encoding_repair._needles(re.compile(b"a|b|c")) == ()
    assert _encoding_repair._needles(re.compile(b"xa|y?a")) == (0x61,)
    rng = random.Random(3)
    rejected = 0
    for round_ in range(40000):
        data = rng.randbytes(rng.randint(1, 12))
        if round_ % 2:  # well-formed text, CESU-8 pairs and C0 80 among it, one byte changed
            text = "".join(chr(rng.choice([rng.randrange(0x80, 0x800), rng.randrange(0x800, 0xD800), rng.randrange(0x10000, 0x110000)])) for _ in range(3))
            data = bytearray(text.encode() + rng.choice([b"", b"\xc0\x80", "\ud83d\ude00".encode("utf-8", "surrogatepass")]))
            data[rng.randrange(len(data))] = rng.choice([rng.randrange(0x80, 0x100), 0x80, 0xBF, 0xA0, 0x9F, 0x8F, 0x90])
            data = bytes(data)
        elif rng.random() < 0.3:
            data += rng.choice([b"\xc0\x80", "\ud83d\ude00".encode("utf-8", "surrogatepass"), "é中😀".encode()])
        for encoding, java_null in (("utf-8", False), ("utf-8-variants", True)):
            if not module.could_be_utf8(data, java_null):
                rejected += 1
                with pytest.raises(UnicodeDecodeError):
                    data.decode(encoding)
    assert rejected > 40000
    assert module.could_be_utf8(b"a\xc0\x80", True)
    # A CESU-8 pair is a character to utf-8-variants; a lone surrogate, an overlong form and a
    # code point past U+10FFFF are none, to either decoder.
    pair = "\ud83d\ude00".encode("utf-8", "surrogatepass")
    assert module.could_be_utf8(pair, True) and not module.could_be_utf8(pair)
    for bad in (b"\xed\xa0\x80", b"\xed\xb0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xc0\x81"):
        assert not module.could_be_utf8(bad, True) and not module.could_be_utf8(bad)
    for _ in range(2000):  # and yes to every well-formed text, up to U+10FFFF
        text = "".join(chr(rng.choice([rng.randrange(0x80), rng.randrange(0xD800), rng.randrange(0xE000, 0x110000)])) for _ in range(8))
        assert module.could_be_utf8(text.encode()) and module.could_be_utf8(text.encode(), True)


def test_judge_classes_are_the_patterns():
    """The compiled _judge reads the hides-mojibake and controls classes from a BMP table:
    they match the patterns over the BMP, and the patterns match nothing beyond it."""
    characters = "".join(map(chr, range(0x10000)))
    classes = _fixes._judge_classes()
    pats = _fixes.patterns()
    for bit, name in ((1, "hides_mojibake"), (2, "controls")):
        expected = {m.start() for m in pats[name].finditer(characters)}
        assert expected == {int(c) for c in (classes & bit).nonzero()[0]}
        assert expected  # a class the table did not leave empty
        assert pats[name].search("".join(map(chr, range(0x10000, 0x110000)))) is None


def test_compiled_lossy_replacement_is_ftfys():
    """replace_lossy_sequences read from its regex's alternatives, in order, against ftfy's
    own on bytes thick with what the regex looks for (0x1A, "?", leads, continuations)."""
    from ftfy.fixes import replace_lossy_sequences

    _, repair = _compiled_repair()
    rng = random.Random(41)
    alphabet = [0x1A, 0x3F, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0x80, 0x9F, 0xA0, 0xAF, 0xB0, 0xBF, 0x41]
    changed = 0
    for _ in range(20000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        expected = replace_lossy_sequences(data)
        assert repair.lossy_replaced(data) == expected, data
        changed += expected != data
    assert changed > 5000
    # Longer bytes with needles (0x1A, "?") far apart, so the compiled scan's skips between
    # them are taken and end right where a match could start: among the pieces, matches
    # whose one needle is their last byte (the longest is six bytes).
    pieces = [b"\xed\xa5\x85\xed\xb5?", b"\xed\xa0\xbf\xed\xbf\x1a", b"\xf0\x90\x80?", b"\xe2\x80\x1a", b"\xc3?"]
    changed = 0
    for _ in range(5000):
        data = b"".join(
            rng.choice(pieces) if rng.random() < 0.02 else bytes([rng.choice((0x1A, 0x3F))]) if rng.random() < 0.02
            else bytes([rng.choice(alphabet[2:]) if rng.random() < 0.5 else rng.randrange(0x100)])
            for _ in range(rng.randint(1, 200))
        )
        expected = replace_lossy_sequences(data)
        assert repair.lossy_replaced(data) == expected, data
        changed += expected != data
    assert changed > 1000
