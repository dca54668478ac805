"""The mojibake repair: the mirror of ftfy's fix_encoding gives ftfy's answers, and the
segment finder for dense mojibake finds the segments the search-based one finds."""

from __future__ import annotations

import random

import ftfy
import pytest

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
    checked = 0
    for _ in range(300):
        text = "".join(rng.choice(words) + rng.choice(gaps) for _ in range(rng.randint(1, 40)))
        leads = "".join(sorted({c for c in text if "\u00c2" <= c <= "\u00f4"}))
        if not leads or sum(text.count(c) for c in leads) * 64 <= len(text):
            continue
        assert _mojibake_segments(text, leads) == _sparse_mojibake_segments(text, leads), text
        checked += 1
    assert checked > 250


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
