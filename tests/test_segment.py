"""Segmentation: spans of the input, Markdown structure, sentence ends across scripts, PUD F1."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chunkwise.segment import Break, segment, sentence_boundaries

ROOT = Path(__file__).resolve().parents[1]


def _texts(text):
    return [text[s.start : s.end] for s in segment(text)]


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


def test_english_sentences_and_abbreviations():
    text = "Dr. Smith arrived at 5 p.m. on Monday. He met J. R. Ortiz, e.g. the lead. Was it 3.14? Yes! Then he left."
    assert _texts(text) == [
        "Dr. Smith arrived at 5 p.m. on Monday.",
        "He met J. R. Ortiz, e.g. the lead.",
        "Was it 3.14?",
        "Yes!",
        "Then he left.",
    ]


def test_german_ordinals_are_not_sentence_ends():
    text = "In der 4. Klasse liegen sie im Durchschnitt. Am 3. Oktober z.B. ist frei."
    assert _texts(text) == ["In der 4. Klasse liegen sie im Durchschnitt.", "Am 3. Oktober z.B. ist frei."]


def test_chinese_without_spaces():
    text = "他們的成績屬於全國平均水平。學生通過實踐學習！你明白嗎？"
    assert _texts(text) == ["他們的成績屬於全國平均水平。", "學生通過實踐學習！", "你明白嗎？"]


def test_arabic_question_mark():
    text = "هل فهمت الدرس؟ نعم، فهمته جيدا."
    assert _texts(text) == ["هل فهمت الدرس؟", "نعم، فهمته جيدا."]


def test_markdown_structure():
    text = "# Title\n\nIntro sentence. Second one.\n\n- item one\n- item two\n\n```python\nx = 1\n\ny = 2\n```\n\n| a | b |\n|---|---|\n\n## Next\nBody."
    spans = segment(text)
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


def test_chat_lines_are_records():
    text = "[10:01] Ana: hi there\n[10:02] Bo: hello, how can I help\n[10:03] Ana: my export fails"
    spans = segment(text)
    assert len(spans) == 3 and all(s.break_before >= Break.LINE for s in spans[1:])


def test_hard_wrapped_prose_is_not_split_at_line_ends():
    text = "This sentence is wrapped across\nseveral lines the way e-mail\nclients wrap text at a column."
    assert _texts(text) == [text]


def test_long_line_without_spaces_is_one_unit():
    text = "x" * 100_000
    assert [(s.start, s.end) for s in segment(text)] == [(0, 100_000)]


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
