"""Segmentation: spans of the input, Markdown structure, sentence ends across scripts, PUD F1, twin agreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chunkwise._backend import compiled
from chunkwise.errors import ConfigError
from chunkwise.text.segmentation import Break, segment, segment_table, sentence_boundaries

ROOT = Path(__file__).resolve().parents[1]


def _texts(text, implementation=None):
    return [text[s.start : s.end] for s in segment(text, implementation=implementation)]


def _check_spans(text, spans):
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip()
        assert not text[previous_end : span.start].strip(), "non-whitespace text fell between units"
        previous_end = span.end
    assert not text[previous_end:].strip()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list("ab .!?\n#-|`*:,。！你好ไทย \u00a0") + ["\r\n", "```", "# ", "- ", "\n\n"]), max_size=120))
def test_spans_cover_all_text_in_order(pieces):
    text = "".join(pieces)
    _check_spans(text, segment(text))


def test_english_sentences_and_abbreviations(implementation):
    text = "Dr. Smith arrived at 5 p.m. on Monday. He met J. R. Ortiz, e.g. the lead. Was it 3.14? Yes! Then he left."
    assert _texts(text, implementation) == [
        "Dr. Smith arrived at 5 p.m. on Monday.",
        "He met J. R. Ortiz, e.g. the lead.",
        "Was it 3.14?",
        "Yes!",
        "Then he left.",
    ]


def test_german_ordinals_are_not_sentence_ends(implementation):
    text = "In der 4. Klasse liegen sie im Durchschnitt. Am 3. Oktober z.B. ist frei."
    assert _texts(text, implementation) == ["In der 4. Klasse liegen sie im Durchschnitt.", "Am 3. Oktober z.B. ist frei."]


def test_chinese_without_spaces(implementation):
    text = "他們的成績屬於全國平均水平。學生通過實踐學習！你明白嗎？"
    assert _texts(text, implementation) == ["他們的成績屬於全國平均水平。", "學生通過實踐學習！", "你明白嗎？"]


def test_arabic_question_mark(implementation):
    text = "هل فهمت الدرس؟ نعم، فهمته جيدا."
    assert _texts(text, implementation) == ["هل فهمت الدرس؟", "نعم، فهمته جيدا."]


def test_markdown_structure(implementation):
    text = "# Title\n\nIntro sentence. Second one.\n\n- item one\n- item two\n\n```python\nx = 1\n\ny = 2\n```\n\n| a | b |\n|---|---|\n\n## Next\nBody."
    spans = segment(text, implementation=implementation)
    kinds = [(text[s.start : s.end], s.kind, s.break_before) for s in spans]
    assert kinds[0] == ("# Title", "heading", Break.SECTION)
    assert ("Intro sentence.", "paragraph", Break.PARAGRAPH) in kinds
    assert ("Second one.", "sentence", Break.SENTENCE) in kinds
    assert ("- item two", "list_item", Break.ITEM) in kinds
    code = [k for k in kinds if k[1] == "code"]
    assert [c[0] for c in code] == ["```python", "x = 1", "y = 2", "```"]
    assert code[2][2] == Break.PARAGRAPH  # blank line inside the fence
    assert ("| a | b |", "table", Break.PARAGRAPH) in kinds
    assert ("## Next", "heading", Break.SECTION) in kinds


def test_chat_lines_are_records(implementation):
    text = "[10:01] Ana: hi there\n[10:02] Bo: hello, how can I help\n[10:03] Ana: my export fails"
    spans = segment(text, implementation=implementation)
    assert len(spans) == 3 and all(s.break_before >= Break.LINE for s in spans[1:])


def test_hard_wrapped_prose_is_not_split_at_line_ends(implementation):
    text = "This sentence is wrapped across\nseveral lines the way e-mail\nclients wrap text at a column."
    assert _texts(text, implementation) == [text]


def test_long_line_without_spaces_is_one_unit(implementation):
    text = "x" * 100_000
    assert [(s.start, s.end) for s in segment(text, implementation=implementation)] == [(0, 100_000)]


PUD_MIN_F1 = {"en": 0.97, "de": 0.95, "zh": 0.97, "ar": 0.97, "th": 0.55}


def _load_eval():
    import importlib.util

    spec = importlib.util.spec_from_file_location("eval_segment", ROOT / "benchmarks" / "eval_segment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("language", sorted(PUD_MIN_F1))
def test_pud_sentence_boundary_f1(shared_data, language):
    path = shared_data / "pud" / f"{language}.jsonl"
    if not path.exists():
        pytest.skip(f"{path} missing")
    evaluate = _load_eval().evaluate
    result = evaluate(path, "" if language == "zh" else " ")
    assert result["f1"] >= PUD_MIN_F1[language], result


# ---------------------------------------------------------------- the compiled twin

needs_compiled = pytest.mark.skipif(compiled("_csegment") is None, reason="chunkwise.text._csegment not built or forced off")


def _both(text, markdown=True):
    compiled_spans = segment(text, markdown=markdown, implementation="cython")
    python_spans = segment(text, markdown=markdown, implementation="python")
    assert compiled_spans == python_spans
    # Same records, not just equal tuples: Span instances with Break members.
    assert [type(s) for s in compiled_spans] == [type(s) for s in python_spans]
    assert [type(s.break_before) for s in compiled_spans] == [type(s.break_before) for s in python_spans]
    # The rows the chunker reads (int32, narrowed in place) hold the same spans, and so do the wide ones.
    table = segment_table(text, markdown=markdown)
    assert table.rows.dtype == np.int32 and table == compiled_spans
    wide = compiled("_csegment").segment_rows(text, markdown)
    assert np.array_equal(wide, table.rows) and len(wide) == len(compiled_spans)
    return python_spans


# Pieces chosen to reach every branch of the twins: Markdown markers at line
# starts (and near misses), terminals and closers of every script, abbreviation
# shapes (ASCII and not), CJK and Thai runs long enough for Thai sentence cuts,
# record starts, every line terminator and the whitespace regex and str disagree on.
_PIECES = [
    # words and abbreviations
    "word", "Word", "the", "A", "J", "Dr", "dr", "e.g", "U.S", "z.B", "approx", "etc", "Mr", "no", "vs",
    "3", "12", "123", "3.14", "2024-03-14", "Stra\u00dfe", "\u0130", "\u212a", "Ca", "x" * 45, "don't", "-well",
    # terminals, closers, clause marks
    ".", ".", ".", "!", "?", "...", "\u2026", "\u203c", "\u3002", "\uff01", "\uff1f", "\uff0e", "\uff61",
    "\u061f", "\u06d4", "\u0964", '"', "'", "\u201d", "\u2019", "\u00bb", "\u203a", ")", "]", "}", "\u300d",
    "\uff09", ",", ";", ":",
    # scripts
    "\u4f60\u597d", "\u5b78\u751f", "\u30ab\u30bf", "\ud55c\uad6d", "\U00020000", "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
    "\u0e41\u0e25\u0e30", "\u0e17\u0e35\u0e48", "\u0e01\u0e32\u0e23\u0e1b\u0e23\u0e30\u0e0a\u0e38\u0e21" * 3,
    "\u0647\u0644 \u0641\u0647\u0645\u062a", "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0661\u0662", "\u00e9t\u00e9",
    # Markdown and records (meaningful after a newline)
    "# ", "## ", "####### ", "#", "```", "~~~", "````", "    ```", "   ~~~ ", "- ", "* ", "+ ", "\u2022 ", "1. ",
    "12) ", "1234. ", "1\u0661. ", "a) ", "B. ", "> ", "| a | b |", "|", "---", "* * *", "___", "- -", "[10:01] ",
    "Q: ", "Answer. ", "Ana: ", "Bo Li: ",
    # whitespace and line terminators
    " ", " ", " ", "  ", "\t", "\n", "\n", "\n\n", "\r\n", "\r", "\u2028", "\u2029", "\x0b", "\x0c", "\x85",
    "\u00a0", "\u3000", "\x1c", "\x1f",
]


@needs_compiled
@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=80), st.booleans())
def test_twins_agree_on_structured_text(pieces, markdown):
    text = "".join(pieces)
    spans = _both(text, markdown)
    _check_spans(text, spans)


_WORDS = [
    "word", "Word", "the", "A", "J", "Dr", "dr", "e.g", "U.S", "z.B", "approx", "etc", "Mr", "no", "fig", "3", "12",
    "123", "3.14", "Stra\u00dfe", "\u0130", "\u212a", "x" * 45, "don't", "co-op", "Ana:", "[10:01]", "Q:", "2024-03-14",
    "\u4f60\u597d", "\u5b78\u751f\u901a\u904e", "\u30ab\u30bf\u30ab\u30ca", "\ud55c\uad6d\uc5b4", "\U00020000",
    "\u0647\u0644", "\u0641\u0647\u0645\u062a", "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0661\u0662",
]
# Thai words of many lengths, so that the 40-character sentence threshold is met exactly.
_THAI_WORDS = ["\u0e01" * k for k in range(1, 12)] + [
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22", "\u0e41\u0e25\u0e30", "\u0e17\u0e35\u0e48", "\u0e01\u0e47",
    "\u0e16\u0e49\u0e32\u0e40\u0e02\u0e32",
]
_PUNCT = ["", "", "", "", ".", ".", ".", "!", "?", "...", ".)", '."', ".\u201d", ".\u203a", "?!", "\u3002", "\uff01",
          "\u3002\u300d", "\u061f", "\u0964", ",", ";", ":", "\u2026"]
_SPACES = [" ", " ", " ", " ", "", "  ", "\u00a0", "\t", "\u3000", "\x1c", " \u00a0 "]
_INDENTS = ["", "", "", "", " ", "   ", "    ", "\t", "\u00a0", "\x1c"]
_MARKERS = ["", "", "", "", "", "# ", "## ", "###### ", "####### ", "#", "```", "```py", "~~~", "````", "- ", "* ",
            "+ ", "\u2022 ", "\u25cf ", "1. ", "12) ", "1234. ", "1\u0661. ", "a) ", "B. ", "> ", "| ", "---", "* * *",
            "___", "- - -", "-- ", "[10:01] "]
_TERMINATORS = ["\n", "\n", "\n", "\n\n", "\r\n", "\r", "\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\n \n"]


@st.composite
def _documents(draw):
    line_count = draw(st.integers(0, 14))
    pieces = []
    for _ in range(line_count):
        words = st.sampled_from(_THAI_WORDS) if draw(st.integers(0, 4)) == 0 else st.sampled_from(_WORDS)
        tokens = draw(st.lists(st.tuples(words, st.sampled_from(_PUNCT), st.sampled_from(_SPACES)), max_size=12))
        pieces.append(draw(st.sampled_from(_INDENTS)) + draw(st.sampled_from(_MARKERS)))
        pieces.append("".join(word + punct + space for word, punct, space in tokens))
        pieces.append(draw(st.sampled_from(_TERMINATORS)))
    return "".join(pieces)


@needs_compiled
@settings(max_examples=150, deadline=None)
@given(_documents(), st.booleans())
def test_twins_agree_on_documents(text, markdown):
    _check_spans(text, _both(text, markdown))


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.booleans())
def test_twins_agree_on_arbitrary_text(text, markdown):
    _both(text, markdown)


def _random_document(rng):
    pieces = []
    for _ in range(rng.randrange(15)):
        words = _THAI_WORDS if rng.randrange(5) == 0 else _WORDS
        pieces.append(rng.choice(_INDENTS) + rng.choice(_MARKERS))
        for _ in range(rng.randrange(13)):
            pieces.append(rng.choice(words) + rng.choice(_PUNCT) + rng.choice(_SPACES))
        pieces.append(rng.choice(_TERMINATORS))
    return "".join(pieces)


@needs_compiled
def test_twins_agree_on_many_seeded_documents():
    # Breadth that hypothesis's example budget cannot give cheaply: the same grammar, 4000 documents.
    import random

    rng = random.Random(20240611)
    for _ in range(2000):
        text = _random_document(rng)
        _both(text)
        _both(text, markdown=False)


@needs_compiled
@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n",
        "x",
        ".",
        "Hi. ",
        "\u0130. Next",  # lower() grows the word: the non-ASCII path
        "\u212a. Next",  # Kelvin sign lowers to ASCII "k"
        "See 3.\U00020000",  # a period then astral CJK, no space
        "1\u0661. item\n2\u0662) item",  # a non-ASCII digit inside a list marker
        "\x1c- not a list\n\x1c| not a table",
        "```\ncode\n``\n````\nstill code\n```",
        "~~~~\n~~~\n~~~~~\nafter",
        "a\rb\r\nc\u2028d\u2029e\x85f\x0bg\x0ch",
        "Ana: hi\nBo: hello there, how are you doing today my friend\nAna: fine",
        "\ud800. Lone surrogates \udfff! Fine.",
        "\u0e20\u0e32\u0e29\u0e32 \u0e44\u0e17\u0e22 " * 30,
        # Thai spaces 39, 40 and 41 characters after the last end.
        "\u0e01" * 38 + " " + "\u0e01" * 5 + " \u0e02",
        "\u0e01" * 39 + " " + "\u0e01" * 5 + " \u0e02",
        "\u0e01" * 40 + " " + "\u0e01" * 5 + " \u0e02",
    ],
)
def test_twins_agree_on_edge_cases(text):
    _both(text)
    _both(text, markdown=False)


class _MyStr(str):
    pass


@needs_compiled
def test_twins_accept_str_subclasses():
    text = _MyStr("One. Two.\n\n# Three")
    assert _both(text) == segment(str(text), implementation="python")


@needs_compiled
def test_twins_agree_on_sample_corpus():
    sample = ROOT / "chunkwise" / "data" / "sample"
    paths = sorted(p for p in sample.iterdir() if p.is_file())
    assert paths
    for path in paths:
        text = path.read_text(encoding="utf-8")
        _both(text)
        _both(text, markdown=False)


@needs_compiled
@pytest.mark.parametrize("language", ["en", "de", "zh", "ar", "th"])
def test_twins_agree_on_pud(shared_data, language):
    import json

    path = shared_data / "pud" / f"{language}.jsonl"
    if not path.exists():
        pytest.skip(f"{path} missing")
    joiner = "" if language == "zh" else " "
    with path.open(encoding="utf-8") as f:
        documents = [json.loads(line)["sentences"] for line in f if line.strip()]
    # Each document joined as eval_segment does, and all of them as one text.
    texts = [joiner.join(s.strip() for s in sentences) for sentences in documents]
    for text in texts:
        _both(text)
    _both("\n\n".join(texts))


@needs_compiled
def test_compiled_character_tables_match_the_twin():
    import regex

    from chunkwise.text import _csegment
    from chunkwise.text import segmentation as twin

    every = "".join(chr(c) for c in range(0x110000))

    def members(pattern):
        return {m.start() for m in regex.compile(pattern).finditer(every)}

    classes = [
        (1, members(twin._char_class(twin._TERMINALS))),
        (2, members(twin._char_class(twin._CLOSERS))),
        (4, members(twin._CJK_CHAR.pattern)),
        (8, members(twin._THAI)),
        (16, set(map(ord, twin._CJK_TERMINAL))),
        (32, set(map(ord, twin._ABBREVIATION_CLOSERS))),
        (64, set(map(ord, twin._CLAUSE_ENDS))),
        (128, set(map(ord, twin._BULLETS))),
        (256, set(map(ord, twin._STRUCTURE_FIRST))),
    ]
    expected = [0] * 0x110000
    for bit, codes in classes:
        assert codes, bit
        for code in codes:
            expected[code] |= bit
    actual = [_csegment.char_classes(chr(c)) for c in range(0x110000)]
    mismatched = [hex(c) for c in range(0x110000) if actual[c] != expected[c]]
    assert not mismatched, mismatched[:20]
    # The compiled twin reads the regex module's \s as str.isspace() less U+001C..U+001F.
    spaces = members(r"\s")
    assert spaces == {c for c in range(0x110000) if chr(c).isspace() and not 0x1C <= c <= 0x1F}


def test_implementation_argument(force_python):
    text = "One. Two."
    assert segment(text) == segment(text, implementation="python")
    with pytest.raises(ImportError):
        segment(text, implementation="cython")
    with pytest.raises(ConfigError):
        segment(text, implementation="fortran")
    with pytest.raises(TypeError):
        segment(b"bytes")
