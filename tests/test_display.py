"""How results show themselves: reprs of a few lines whatever the input's size, escaped notebook HTML."""

from __future__ import annotations

import pickle
import random

import pytest

import chunkwise
from chunkwise import Document, chunk, naive_split, prepare
from chunkwise._types import Chunks

HOSTILE = "<script>alert('x')</script> & \"quoted\""
PARAGRAPH = "Replicas copy each block to three racks. Reads go to the nearest copy when it is healthy.\n\n"


def _prose(seed: int, paragraphs: int) -> str:
    """Distinct seeded paragraphs: nothing in them is a duplicate."""
    rng = random.Random(seed)
    words = "replica block rack read write copy node quorum lease clock drift log index shard page cache".split()
    return "".join(" ".join(rng.choice(words) for _ in range(40)).capitalize() + ".\n\n" for _ in range(paragraphs))


@pytest.fixture(scope="module")
def result():
    docs = [{"id": f"doc-{i}", "text": f"# Part {i}\n\n" + _prose(i, 120) + HOSTILE} for i in range(4)]
    docs.append({"id": "copy", "text": docs[0]["text"]})  # an exact duplicate: something is removed
    return prepare(docs, max_tokens=128)


def test_reprs_stay_short_however_large_the_input(result):
    raw_chars = sum(len(d.text) for d in result.documents)
    assert raw_chars > 100_000
    assert len(repr(result)) < 300
    assert len(repr(result.chunks)) < 1_000
    assert len(repr(result.report)) < 400
    assert len(repr(result.documents[0])) < 200
    assert len(repr(result.removed[0])) < 300
    assert all(len(repr(c)) < 250 for c in result.chunks)


def test_repr_says_what_a_user_checks_first(result):
    report = result.report
    text = repr(result)
    assert f"{len(result.chunks):,} chunks" in text and f"{report.documents} documents" in text
    assert f"{report.prepared.tokens:,}" in text and f"{report.naive.tokens:,}" in text
    assert f"{len(result.removed):,} span{'s' if len(result.removed) != 1 else ''} removed" in text
    first = result.chunks[0]
    assert f"span={first.start}:{first.end}" in repr(first) and f"token_count={first.token_count}" in repr(first)
    assert f"... {len(result.chunks) - 3:,} more" in repr(result.chunks)


def test_print_of_a_report_is_its_text_table(result):
    assert str(result.report) == result.report.to_text()
    assert "tokens in chunks" in str(result.report)


def test_a_chunk_prints_as_its_text_and_a_chunk_list_stays_a_list():
    chunks = chunk(PARAGRAPH * 50, max_tokens=64)
    assert isinstance(chunks, list) and isinstance(chunks, Chunks)
    assert str(chunks[0]) == chunks[0].text
    assert isinstance(chunks[1:3], Chunks) and chunks[1:3] == list(chunks)[1:3]
    assert pickle.loads(pickle.dumps(chunks)) == chunks
    assert isinstance(naive_split(PARAGRAPH * 50, max_tokens=64), Chunks)
    assert repr(Chunks()) == "<Chunks: 0 chunks>"


def test_notebook_html_escapes_document_text_and_caps_its_rows(result):
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<tr>") < 50 + 50 + 20  # chunk and removed tables are capped, plus the report's rows
    assert f"{len(result.chunks) - 50:,} more" in page
    chunks_html = result.chunks._repr_html_()
    assert f"{len(result.chunks):,} chunks" in chunks_html
    report_html = result.report._repr_html_()
    assert f"{result.report.tokens_saved:,} tokens saved" in report_html


def test_compressed_and_index_reprs(result):
    pytest.importorskip("faiss")
    index = chunkwise.Index.build(result.chunks[:20], embedder="fast")
    text = repr(index)
    assert text.startswith("<Index: 20 chunks,") and f"{index.dimension}-d" in text
    packed = chunkwise.compress("How are reads served?", [c.text for c in result.chunks[:6]], budget_tokens=60,
                                embedder="fast")
    assert str(packed) == packed.text
    assert f"-> {packed.tokens_after:,} tokens (budget 60)" in repr(packed)


def test_document_repr_shows_id_and_size():
    doc = Document("a", "x" * 10_000)
    assert repr(doc).startswith("Document(id='a', 10,000 chars, text='xxx")
