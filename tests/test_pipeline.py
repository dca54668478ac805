"""prepare(): accepted inputs, the report's arithmetic, determinism, model fallback."""

from __future__ import annotations

import warnings

import pytest

import chunkwise
from chunkwise import Document, naive_split, prepare
from chunkwise.errors import ChunkwiseWarning, InputDataError, InputTypeError

TEXT = "# Title\n\n" + "A sentence about storage. Another about replicas.\n\n" * 30


def test_accepts_every_document_form():
    forms = [TEXT, Document("d", TEXT), {"id": "d", "text": TEXT}, [TEXT, TEXT], ({"text": TEXT} for _ in range(2))]
    for docs in forms:
        result = prepare(docs, max_tokens=64, dedup=False)
        assert result.chunks and result.removed == []
        assert result.report.documents == len(result.documents)


def test_duplicate_document_is_removed_with_its_kept_copy():
    result = prepare([TEXT, TEXT], max_tokens=64)
    assert {c.doc_id for c in result.chunks} == {"doc-0"}
    whole = [r for r in result.removed if r.doc_id == "doc-1"]
    assert whole and all(r.kept_doc_id == "doc-0" and r.reason == "exact" for r in whole)
    for r in whole:
        assert TEXT[r.kept_start : r.kept_end].strip() == TEXT[r.start : r.end].strip()


@pytest.mark.parametrize("bad", [None, b"x", 5, [None], [{"no_text": 1}]])
def test_rejects_bad_documents(bad):
    with pytest.raises(InputTypeError, match="expected|expected a str|Document"):
        prepare(bad)


def test_duplicate_ids_are_an_error():
    with pytest.raises(InputDataError, match="appears twice"):
        prepare([{"id": "x", "text": "a"}, {"id": "x", "text": "b"}])


def test_report_adds_up():
    docs = [{"id": f"d{i}", "text": TEXT * (i + 1)} for i in range(3)]
    result = prepare(docs, max_tokens=128, normalize=False, dedup=False)
    report = result.report
    naive_counts = [c.token_count for d in docs for c in naive_split(d["text"], max_tokens=128)]
    assert report.naive.tokens == sum(naive_counts)
    assert report.naive.chunks == len(naive_counts)
    assert report.prepared.tokens == sum(c.token_count for c in result.chunks)
    assert report.prepared.max_chunk_tokens <= 128
    assert report.tokens_saved == report.naive.tokens - report.prepared.tokens
    assert report.tokens_saved > 0  # the naive baseline repeats a fifth of every window
    data = report.to_dict()
    assert data["schema_version"] == "2" and data["naive"]["chunks"] == len(naive_counts)
    assert "tokens saved" in report.to_text()


def test_chunk_metadata_and_offsets():
    doc = Document("doc-a", TEXT, {"source": "unit-test"})
    result = prepare(doc, max_tokens=64)
    for c in result.chunks:
        assert c.doc_id == "doc-a" and c.metadata["source"] == "unit-test"
        assert TEXT[c.start : c.end] == c.text


def test_deterministic_output():
    first = prepare([TEXT, TEXT + "x"], max_tokens=64)
    second = prepare([TEXT, TEXT + "x"], max_tokens=64)
    assert [c.to_dict() for c in first.chunks] == [c.to_dict() for c in second.chunks]
    assert first.report.to_json() == second.report.to_json()


def test_unknown_local_model_falls_back_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.warns(ChunkwiseWarning, match="not available locally"):
        result = prepare(TEXT, model="qwen2.5-72b", max_tokens=64)
    assert result.report.tokenizer == "cl100k_base"
    assert any("qwen2.5-72b" in note for note in result.report.notes)


def test_no_warning_without_model():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare(TEXT, max_tokens=64)


def test_version_and_backend():
    assert chunkwise.__version__
    assert chunkwise.backend() in ("cython", "python")


DAMAGED = (
    "\ufeffThe caf\u00c3\u00a9 don\u00e2\u20ac\u2122t open before nine.\r\n\r\n"
    "Product code \uff28\uff25\uff23\uff0d\uff14\uff12\uff10\uff10 ships\u00a0today.\u200b Re\u0301sume\u0301 attached.\r\n\r\n"
) * 12 + "A closing paragraph that appears only once and is long enough to keep."


def test_offsets_hold_through_normalization():
    from chunkwise import normalize

    result = prepare({"id": "damaged", "text": DAMAGED}, max_tokens=48, dedup=False)
    assert result.report.fixes  # something was repaired
    for c in result.chunks:
        assert normalize(DAMAGED[c.start : c.end]).text == c.text
        assert c.token_count <= 48
    assert "caf\u00e9" in " ".join(c.text for c in result.chunks)



FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466"


@pytest.mark.parametrize("max_tokens", [8, 9, 13, 24, 64])
def test_each_chunk_normalizes_alone_to_its_text(max_tokens):
    """Issue 13, item 3: entity and joiner repairs are decided locally, so every raw span agrees with its chunk.

    The document has a "<" far from its entities (once the whole document's entities were kept while a
    span without "<" had them unescaped) and emoji sequences longer than the cap (a chunk then ends
    right after a joiner, which normalizing the span alone used to drop).
    """
    from chunkwise import normalize

    paragraph = "Caf&eacute; AT&amp;T &quot;menu&quot; caf&#233; " + FAMILY + " family&nbsp;day. "
    raw = "<b>Header</b> if a < b keep going.\n\n" + paragraph * 6 + "\n\n" + ("x&#8217;s " + FAMILY) * 4
    result = prepare({"id": "d", "text": raw}, max_tokens=max_tokens, dedup=False)
    assert result.chunks
    for c in result.chunks:
        assert normalize(raw[c.start : c.end]).text == c.text, (c.start, c.end)
        assert not c.text.startswith("\u200d")
    joined = "".join(c.text for c in result.chunks)
    assert "caf\u00e9" in joined and "&amp;" in joined  # a letter is repaired, HTML syntax is kept


@pytest.mark.parametrize("raw", ["\u00d1\x85", "ab \u00d1\x85", "a" + "\u0316\u0301" * 30, " \u0316\u0301" * 12])
def test_spans_of_repaired_stretches_keep_what_the_repair_read(raw):
    """Fuzzer counterexamples: NEL is whitespace but also the second byte of the mojibake for 'х'; a span
    widened to a stretch repaired as a whole loses only outer spaces that the chunk does not hold."""
    from chunkwise import normalize

    result = prepare({"id": "d", "text": raw}, max_tokens=16, report_config=False)
    assert result.chunks
    for c in result.chunks:
        produced = normalize(raw[c.start : c.end]).text
        assert c.text in produced and produced.strip() == produced
    assert "".join(c.text for c in result.chunks).replace(" ", "") == normalize(raw).text.replace(" ", "")

@pytest.mark.parametrize("max_tokens", range(8, 20))
def test_a_slice_of_a_segment_left_alone_is_not_repaired_alone(max_tokens):
    """Fuzzer counterexample (1:16240): ftfy leaves this segment alone as a whole, but its slice "ÙŠØŸ"
    reads as the mojibake of "ي؟"; a chunk cut inside the segment carries the segment's raw span."""
    from chunkwise import normalize

    raw = "\u2020\xd8\xd8\xb1\xd9\u017d\xd9\u0160\xd8\u0178"
    assert normalize(raw).text == raw
    result = prepare({"id": "d", "text": raw}, max_tokens=max_tokens, report_config=False)
    assert "".join(c.text for c in result.chunks) == raw
    for c in result.chunks:
        assert c.text in normalize(raw[c.start : c.end]).text, (c.start, c.end)


def test_a_long_word_is_never_cut_before_a_non_joiner():
    """Fuzzer counterexample (1:45224): an Arabic word longer than the cap was cut right before its
    ZWNJ; the chunk then started with it, and normalizing that chunk alone dropped it (nothing
    before it to join), though the whole text kept it."""
    from chunkwise import normalize
    from chunkwise.text.segmentation import cluster_safe_cut

    raw = ("\u0645\u064f\u0645\u0636\u0630\u064b\u0637\u0647\u0630\u062b \u062c\u0635\u0639\u0630 \u064b\u0647\u064e"
           "\u062c\u0646\u0645\u0628\u0627\u0650 \u062b\u062b\u062e\u0651\u063a \u062b\u0648\u0637\u0650\u064a\u064e"
           "\u0629\u062f\u0643\u0628\u0643\u0634\u0647 \u0644\u064b\u064a\u0628\u0638\u200c\u064d")
    assert normalize(raw).text == raw  # the joiner stays: it follows an Arabic letter
    joiner = raw.index("\u200c")
    # Neither before the joiner nor between it and the mark after it: before the letter it follows.
    assert cluster_safe_cut(raw, joiner - 5, joiner) == joiner - 1
    assert cluster_safe_cut(raw, joiner - 5, joiner + 1) == joiner - 1
    counter = lambda s: len(s.encode("utf-8")) // 3 + 3  # noqa: E731 - as the fuzzer's 'overhead' tokenizer
    result = prepare({"id": "d", "text": raw}, max_tokens=16, tokenizer=counter, dedup=False, report_config=False)
    assert len(result.chunks) > 2  # the cap cuts inside the word
    for c in result.chunks:
        assert not c.text.startswith("\u200c")
        assert normalize(raw[c.start : c.end]).text == c.text, (c.start, c.end)


def test_a_paragraph_separator_ends_a_mojibake_segment():
    """Fuzzer counterexample (1:92272): ftfy left "ëµµ�ì¶½?" + U+2029 alone as one segment, but repairs
    the same text cut before the separator; a chunk ending there normalized otherwise than its text.
    The separator now ends the segment, so the whole and the slice are judged alike."""
    from chunkwise import normalize

    raw = ("\xec\u2018\xe1\u201e\u20ac\xa9\xed\u2122\u2030\xec\u017e\xa0\xeb\xb5\xb5\ufffd\xec\xb6\xbd?"
           "\u2029 \u2029\u017d\xbd \u20ac\xab\u2022\u2021\xec\xa6\xec\xb4\xec")
    separator = raw.index("\u2029")
    assert normalize(raw).text.split("\n")[0] == normalize(raw[:separator]).text
    for max_tokens in (10, 14, 20, 72):
        result = prepare({"id": "d", "text": raw}, max_tokens=max_tokens, tokenizer="all-minilm-l6-v2",
                         special_tokens=True, report_config=False)
        chunks = result.chunks
        for i, c in enumerate(chunks):
            produced = normalize(raw[c.start : c.end]).text
            shares = (i > 0 and chunks[i - 1].end > c.start) or (i + 1 < len(chunks) and chunks[i + 1].start < c.end)
            # A cut inside a stretch mapped whole carries the stretch's span (README); any other chunk is exact.
            assert (c.text in produced) if shares else (produced == c.text), (max_tokens, c.start, c.end)


def test_chunks_cut_inside_one_repaired_stretch_have_distinct_ids():
    """Fuzzer counterexample (1:300132): chunks the cap cuts inside one stretch repaired as a whole carry
    the stretch's raw span, and where they also read alike their content-derived ids were equal."""
    raw = "\xc3\xa9" * 200  # one mojibake segment: "é" x 200 once repaired
    result = prepare({"id": "d", "text": raw}, max_tokens=8, dedup=False, report_config=False)
    assert len(result.chunks) > 2
    assert len({(c.start, c.end) for c in result.chunks}) == 1 and len({c.text for c in result.chunks}) < len(result.chunks)
    assert len({c.id for c in result.chunks}) == len(result.chunks)
    again = prepare({"id": "d", "text": raw}, max_tokens=8, dedup=False, report_config=False)
    assert [c.id for c in again.chunks] == [c.id for c in result.chunks]  # still derived, so stable


def test_nothing_lost_with_dedup_and_normalization():
    from chunkwise import normalize

    docs = [{"id": "a", "text": DAMAGED}, {"id": "b", "text": DAMAGED + " Extra tail sentence for b."}]
    result = prepare(docs, max_tokens=48)
    for doc in docs:
        repaired = normalize(doc["text"]).text
        kept = "".join(c.text for c in result.chunks if c.doc_id == doc["id"])
        dropped = [r for r in result.removed if r.doc_id == doc["id"]]
        # Every non-space character of the repaired text is in a chunk or a removal.
        assert len("".join(kept.split())) + sum(len("".join(r.text.split())) for r in dropped) == len("".join(repaired.split()))
        for r in dropped:
            assert r.kept_doc_id in ("a", "b") and 0 <= r.start < r.end <= len(doc["text"])
    stages = result.report.stages
    assert stages["raw"] > stages["normalized"] > stages["deduplicated"] >= stages["chunked"] - 5
    assert result.report.removed_tokens.get("exact", 0) > 0


def test_stage_switches_validate():
    from chunkwise.errors import ConfigError

    with pytest.raises(ConfigError, match="normalize must be"):
        prepare(TEXT, normalize="yes")


def test_a_dedup_plan_chunks_only_the_kept_pieces_of_one_document():
    """A DedupPlan (dedup decided over a store) is applied as given: chunks come from the kept pieces only,
    the removals are returned as they are and counted in the report; a plan is one document's."""
    from chunkwise import prepare
    from chunkwise._types import Removed
    from chunkwise.errors import ConfigError
    from chunkwise.pipeline import DedupPlan

    text = "First paragraph about quotas and exports.\n\nSecond paragraph, removed elsewhere.\n\nThird one about ledgers."
    cut = text.index("Second")
    resume = text.index("Third")
    entry = Removed("d", cut, resume, "exact", "other", 0, 37, text[cut:resume], None, 7)
    result = prepare({"id": "d", "text": text}, dedup=DedupPlan(((0, cut), (resume, len(text))), (entry,)))
    assert "Second" not in "".join(c.text for c in result.chunks)
    assert all(text[c.start:c.end] == c.text for c in result.chunks)
    assert result.removed == [entry] and result.report.removed_tokens == {"exact": 7}
    with pytest.raises(ConfigError, match="one document"):
        prepare([{"id": "a", "text": text}, {"id": "b", "text": text}], dedup=DedupPlan(((0, 5),)))
    with pytest.raises(ConfigError, match="outside"):
        prepare({"id": "d", "text": text}, dedup=DedupPlan(((0, len(text) + 5),)))
