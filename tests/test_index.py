"""Index: exact and approximate search, hits with sentence vectors, save/load without pickle, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chunkwise import chunk
from chunkwise.errors import ChunkwiseError, ConfigError, EmbedderMismatchError, InputDataError, InputTypeError

faiss = pytest.importorskip("faiss")

from chunkwise.retrieval import index as index_module  # noqa: E402
from chunkwise.retrieval.index import Hit, Index, build_faiss  # noqa: E402

from test_compress import BagOfWordsEmbedder  # noqa: E402

DOCUMENT = """# Rivers

The Nile is the longest river in Africa. It flows north into the Mediterranean Sea.

The Amazon carries more water than any other river. Its basin covers much of Brazil.

# Mountains

Mount Kilimanjaro is the highest mountain in Africa. It is a dormant volcano in Tanzania.

Denali is the highest peak in North America. It stands in Alaska.
"""


@pytest.fixture
def embedder():
    return BagOfWordsEmbedder()


@pytest.fixture
def chunks():
    return chunk(DOCUMENT, max_tokens=24, min_tokens=1)


def test_search_finds_the_right_chunk(chunks, embedder):
    index = Index.build(chunks, embedder=embedder)
    assert index.kind == "flat" and len(index) == len(chunks) > 3
    hits = index.search("Kilimanjaro volcano Tanzania", k=3)
    assert [h.rank for h in hits] == [0, 1, 2]
    assert "Kilimanjaro" in hits[0].chunk.text
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert isinstance(hits[0], Hit) and hits[0].model_id == embedder.model_id
    # every hit carries its chunk's sentences: spans into chunk.text, one vector per span
    for hit in hits:
        assert hit.sentence_vectors.shape == (len(hit.sentence_spans), embedder.dimension)
        for start, end in hit.sentence_spans.tolist():
            assert hit.chunk.text[start:end].strip() == hit.chunk.text[start:end]
    assert len(index.search("Nile", k=100)) == len(chunks)


def test_search_batch_matches_single_searches(chunks, embedder):
    index = Index.build(chunks, embedder=embedder)
    queries = ["Nile Mediterranean", "Denali Alaska", "Amazon basin Brazil"]
    batch = index.search_batch(queries, k=2)
    for query, hits in zip(queries, batch):
        single = index.search(query, k=2)
        assert [h.chunk.id for h in hits] == [h.chunk.id for h in single]
        assert np.allclose([h.score for h in hits], [h.score for h in single])
    assert index.search_batch([], k=2) == []


def test_sentences_are_embedded_once(chunks):
    embedder = BagOfWordsEmbedder()
    Index.build(chunks, embedder=embedder)
    assert embedder.calls[0] == len(chunks)  # chunk vectors, then all sentences in one call
    assert len(embedder.calls) == 2


def test_save_and_load_round_trip(tmp_path, chunks, embedder):
    index = Index.build(chunks, embedder=embedder)
    folder = index.save(tmp_path / "idx")
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(index_module._FILES)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model_id"] == embedder.model_id and manifest["dimension"] == embedder.dimension
    assert manifest["format_version"] == index_module.FORMAT_VERSION
    for name in ("sentence_spans.npy", "sentence_offsets.npy", "sentence_vectors.npy"):
        np.load(folder / name, allow_pickle=False)  # plain arrays, no pickled objects
    loaded = Index.load(folder, embedder=embedder)
    assert [c.to_dict() for c in loaded.chunks] == [c.to_dict() for c in chunks]
    for query in ("Amazon water", "highest peak North America"):
        before, after = index.search(query, k=3), loaded.search(query, k=3)
        assert [h.chunk.id for h in before] == [h.chunk.id for h in after]
        assert np.array_equal(before[0].sentence_vectors, after[0].sentence_vectors)


def test_loading_with_another_embedder_is_a_clear_error(tmp_path, chunks, embedder):
    Index.build(chunks, embedder=embedder).save(tmp_path / "idx")
    with pytest.raises(EmbedderMismatchError, match="test-bow-1024") as caught:
        Index.load(tmp_path / "idx", embedder=BagOfWordsEmbedder(model_id="other-model"))
    assert isinstance(caught.value, ChunkwiseError)
    with pytest.raises(EmbedderMismatchError):
        Index.load(tmp_path / "idx", embedder=BagOfWordsEmbedder(dimension=64, model_id="test-bow-1024"))
    with pytest.raises(EmbedderMismatchError, match="pass embedder="):
        Index.load(tmp_path / "idx")  # built with a custom embedder: no profile to fall back on


def test_damaged_or_foreign_folders(tmp_path, chunks, embedder):
    with pytest.raises(InputDataError, match="manifest.json"):
        Index.load(tmp_path, embedder=embedder)
    folder = Index.build(chunks, embedder=embedder).save(tmp_path / "idx")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(InputDataError, match="version"):
        Index.load(folder, embedder=embedder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    np.save(folder / "sentence_vectors.npy", np.zeros((1, embedder.dimension), dtype=np.float32))
    with pytest.raises(InputDataError, match="inconsistent"):
        Index.load(folder, embedder=embedder)
    np.save(folder / "sentence_vectors.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputDataError, match="damaged"):
        Index.load(folder, embedder=embedder)



@pytest.mark.parametrize(
    "edit",
    [
        lambda m: [m],
        lambda m: {**m, "dimension": "384"},
        lambda m: {**m, "dimension": True},
        lambda m: {k: v for k, v in m.items() if k != "model_id"},
        lambda m: {**m, "chunks": -1},
        lambda m: {**m, "kind": "annoy"},
        lambda m: {**m, "profile": 7},
    ],
)
def test_a_tampered_manifest_is_a_clear_error(tmp_path, chunks, embedder, edit):
    folder = Index.build(chunks, embedder=embedder).save(tmp_path / "idx")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(edit(manifest)))
    with pytest.raises(InputDataError, match="manifest.json"):
        Index.load(folder, embedder=embedder)

@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_kinds_agree_with_exact_search(kind):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, 48))
    vectors = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.standard_normal((4000, 48))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    queries = vectors[rng.choice(4000, 100, replace=False)] + 0.05 * rng.standard_normal((100, 48)).astype(np.float32)
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    _, exact = build_faiss(vectors, "flat").search(queries, 10)
    _, approximate = build_faiss(vectors, kind).search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approximate, exact)])
    assert recall >= 0.9


def test_auto_switches_to_hnsw_above_the_threshold(monkeypatch, chunks, embedder):
    monkeypatch.setattr(index_module, "APPROXIMATE_FROM", 3)
    index = Index.build(chunks, embedder=embedder)
    assert index.kind == "hnsw"
    assert "Denali" in index.search("Denali Alaska", k=1)[0].chunk.text
    assert Index.build(chunks, embedder=embedder, kind="flat").kind == "flat"


def test_plain_strings_and_an_empty_index(embedder):
    index = Index.build(["Cats purr.", "Dogs bark loudly."], embedder=embedder)
    assert index.search("bark", k=1)[0].chunk.text == "Dogs bark loudly."
    empty = Index.build([], embedder=embedder)
    assert empty.search("anything", k=3) == []


def test_bad_input(chunks, embedder):
    index = Index.build(chunks, embedder=embedder)
    with pytest.raises(InputDataError, match="empty"):
        index.search("  ", k=3)
    with pytest.raises(ConfigError):
        index.search("Nile", k=0)
    with pytest.raises(InputTypeError):
        index.search_batch("Nile", k=2)
    with pytest.raises(ConfigError):
        Index.build(chunks, embedder=embedder, kind="lsh")
    with pytest.raises(ConfigError, match="1,000"):
        Index.build(chunks, embedder=embedder, kind="ivf")
    with pytest.raises(InputTypeError):
        Index.build([1, 2], embedder=embedder)
    with pytest.raises(InputTypeError):
        Index.build(chunks, embedder=object())
    with pytest.raises(InputDataError):
        index.search_vectors(np.zeros((1, 3), dtype=np.float32))
