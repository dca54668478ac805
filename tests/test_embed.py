"""Embedders, the static table, the SQLite cache, offline loading and bad vectors."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import warnings

import numpy as np
import pytest

from chunkwise.embedding import embedders as embed
from chunkwise.embedding import static as static_module
from chunkwise.embedding._common import check_texts
from chunkwise.embedding.embedders import (
    CachedEmbedder,
    EmbeddingCache,
    StaticEmbedder,
    build_static_table,
    embed_window,
    get_embedder,
    resolve_model_path,
    static_embedder,
)
from chunkwise.errors import ChunkwiseWarning, ConfigError, InputDataError, InputTypeError, ModelNotFoundError

SENTENCES = [
    "The cluster keeps three replicas of every block.",
    "When a node fails, the coordinator schedules re-replication.",
    "Bread needs flour, water, salt and time.",
    "Knead the dough until it is smooth.",
]


def _have_model() -> bool:
    try:
        resolve_model_path()
        import sentence_transformers  # noqa: F401
    except (ModelNotFoundError, ImportError):
        return False
    return True


needs_model = pytest.mark.skipif(not _have_model(), reason='needs pip install "chunkwise[embed]"')


class CountingEmbedder:
    """A deterministic toy embedder: hashed character trigrams; counts what it is asked."""

    model_id = "toy-trigrams"
    max_seq_length = 64
    dimension = 32

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def token_counts(self, texts):
        return [len(t.split()) + 2 for t in texts]

    def embed(self, texts):
        self.calls.append(list(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for i in range(max(1, len(text) - 2)):
                vectors[row, hash(text[i : i + 3]) % self.dimension] += 1.0
        return embed.normalize_rows(vectors)


class NaNEmbedder(CountingEmbedder):
    def embed(self, texts):
        vectors = super().embed(texts)
        vectors[-1, 0] = np.nan
        return vectors


@pytest.fixture(scope="module")
def minilm():
    if not _have_model():
        pytest.skip('needs pip install "chunkwise[embed]"')
    return embed.SentenceTransformerEmbedder()


# ---------------------------------------------------------------- locating models, offline


def test_missing_model_is_a_clear_error_without_network(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("chunkwise tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.delenv("SENTENCE_TRANSFORMERS_HOME", raising=False)
    with pytest.raises(ModelNotFoundError, match=r'pip install "chunkwise\[embed\]"'):
        resolve_model_path("some-org/not-a-local-model")
    with pytest.raises(ModelNotFoundError, match="chunkwise\\[embed\\]"):
        embed.SentenceTransformerEmbedder("some-org/not-a-local-model")
    with pytest.raises(LookupError):  # ModelNotFoundError is a LookupError too
        resolve_model_path(tmp_path)  # a folder, but no model in it


def test_hugging_face_cache_layout_is_found(monkeypatch, tmp_path):
    snapshot = tmp_path / "hub" / "models--acme--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot / "tokenizer.json").write_text("{}")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert resolve_model_path("acme/tiny") == snapshot


def test_the_revision_main_points_to_wins(monkeypatch, tmp_path):
    """Issue 15: the cache is read through huggingface_hub's cache API, shared by models and
    tokenizers; of two snapshots, the one refs/main names is taken, though the other is newer."""
    import os

    repo = tmp_path / "hub" / "models--acme--tiny"
    for name in ("old", "new"):
        (repo / "snapshots" / name).mkdir(parents=True)
        for file in ("config.json", "tokenizer.json"):
            (repo / "snapshots" / name / file).write_text("{}")
    os.utime(repo / "snapshots" / "old" / "config.json", (1_000_000, 1_000_000))
    os.utime(repo / "snapshots" / "old" / "tokenizer.json", (1_000_000, 1_000_000))
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert resolve_model_path("acme/tiny") == repo / "snapshots" / "new"  # no refs: the newest
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("old")
    assert resolve_model_path("acme/tiny") == repo / "snapshots" / "old"


def test_bad_arguments():
    with pytest.raises(ConfigError):
        get_embedder("turbo")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        embed.SentenceTransformerEmbedder(precision="int4")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError):
        check_texts("one string, not a list")
    with pytest.raises(InputTypeError):
        check_texts(["ok", b"bytes"])


# ---------------------------------------------------------------- the transformer embedder


@needs_model
def test_minilm_vectors(minilm):
    vectors = minilm.embed(SENTENCES)
    assert vectors.dtype == np.float32 and vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    # Same topic pairs are closer than cross-topic pairs.
    assert similarity[0, 1] > similarity[0, 2] and similarity[2, 3] > similarity[1, 3]
    np.testing.assert_array_equal(vectors, minilm.embed(SENTENCES))  # deterministic
    assert minilm.embed([]).shape == (0, 384)
    assert minilm.device == "cpu" or minilm.precision == "float16"
    assert minilm.max_seq_length == 256


@needs_model
def test_long_text_warns_once_and_window_remedy(minilm):
    long_text = " ".join(f"Sentence {i} is about storage replicas and failover." for i in range(80))
    assert minilm.token_counts([long_text])[0] > minilm.max_seq_length
    minilm._warned_long = False
    longest = minilm.token_counts([long_text])[0]
    with pytest.warns(ChunkwiseWarning, match="head only") as caught:
        head = minilm.embed([long_text, "a short one"])
    message = str(caught[0].message)
    assert "1 of 2 texts" in message and f"the longest has {longest}" in message
    assert f"embed_max_tokens={minilm.max_seq_length}" in message  # the remedy, with the number to pass
    head = head[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        minilm.embed([long_text])  # once per embedder: no second warning
        windowed = embed_window(minilm, [long_text])
    np.testing.assert_allclose(np.linalg.norm(windowed), 1.0, atol=1e-5)
    assert float(head[0] @ windowed[0]) < 0.9999  # the windows see the whole text


# ---------------------------------------------------------------- the static embedder


def test_static_embedder_pools_token_vectors():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(resolve_model_path() / "tokenizer.json")) if _have_model() else None
    if tokenizer is None:
        pytest.skip("needs the MiniLM tokenizer")
    rng = np.random.default_rng(7)
    table = rng.standard_normal((tokenizer.get_vocab_size(with_added_tokens=True), 16)).astype(np.float32)
    static = StaticEmbedder(table, tokenizer, model_id="random-table")
    vectors = static.embed(["hello world", "", "hello world"])
    # MiniLM's tokenizer.json pads to 128 and truncates; the embedder must pool real tokens only.
    assert tokenizer.padding is not None
    tokenizer.no_padding()
    ids = tokenizer.encode("hello world", add_special_tokens=False).ids
    assert len(ids) == 2
    expected = table[ids].mean(axis=0)
    np.testing.assert_allclose(vectors[0], expected / np.linalg.norm(expected), atol=1e-5)
    np.testing.assert_array_equal(vectors[1], 0.0)  # nothing to pool
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert static.token_counts(["hello world"]) == [len(ids)]
    with pytest.raises(InputDataError):
        StaticEmbedder(np.full((4, 4), np.nan, dtype=np.float32), tokenizer, "nan-table")


@needs_model
def test_static_table_rows_come_from_the_model(minilm):
    rows = build_static_table(minilm, batch_size=16, limit=40)
    assert rows.shape == (40, 384) and rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    # The common direction is removed: raw token vectors average to a long mean vector, these do not.
    raw = minilm.model.encode(["the", "of", "and", "cat", "##s"], normalize_embeddings=True)
    assert np.linalg.norm(rows.mean(axis=0)) < 0.5 * np.linalg.norm(raw.mean(axis=0))


@needs_model
def test_static_table_is_cached_atomically_without_pickle(minilm, monkeypatch, tmp_path):
    built = []

    def fake_build(source, batch_size=512, *, limit=None):
        built.append(source)
        rng = np.random.default_rng(0)
        return embed.normalize_rows(rng.standard_normal((30522, 8)))

    monkeypatch.setattr(static_module, "build_static_table", fake_build)  # where static_embedder looks it up
    first = static_embedder(minilm, directory=tmp_path)
    second = static_embedder(minilm, directory=tmp_path)
    assert len(built) == 1
    np.testing.assert_array_equal(first.table, second.table)
    files = list((tmp_path / "static").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npy"  # no temporary left behind
    assert np.load(files[0], allow_pickle=False).shape == (30522, 8)
    files[0].write_bytes(b"not a numpy file")  # a damaged table is rebuilt
    static_embedder(minilm, directory=tmp_path)
    assert len(built) == 2


# ---------------------------------------------------------------- the cache


def test_cache_round_trip_and_hits(tmp_path):
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, EmbeddingCache(tmp_path / "e.sqlite3"))
    first = cached.embed(SENTENCES + SENTENCES[:1])
    assert inner.calls == [SENTENCES]  # the repeated text went to the model once
    second = cached.embed(list(reversed(SENTENCES)))
    assert len(inner.calls) == 1  # all hits
    np.testing.assert_array_equal(second, first[:4][::-1])
    cached.embed(SENTENCES + ["a new sentence"])
    assert inner.calls[-1] == ["a new sentence"]
    assert len(cached.cache) == 5 and cached.misses == 5
    with sqlite3.connect(tmp_path / "e.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # Values are raw float32 bytes (never pickles).
        blob = connection.execute("SELECT vector FROM vectors LIMIT 1").fetchone()[0]
        assert len(blob) == 4 * CountingEmbedder.dimension


def test_cache_keys_by_model(tmp_path):
    cache = EmbeddingCache(tmp_path / "e.sqlite3")
    cache.put("model-a", ["x"], np.ones((1, 4), dtype=np.float32))
    vectors, found = cache.get("model-b", ["x"], 4)
    assert not found.any()
    vectors, found = cache.get("model-a", ["x", "y"], 4)
    assert found.tolist() == [True, False] and vectors[0].tolist() == [1, 1, 1, 1]
    _, found = cache.get("model-a", ["x"], 8)  # another dimension: a miss, not garbage
    assert not found.any()
    cache.put("model-a", ["z"], np.full((1, 4), 2, dtype=np.float32))
    vectors, found = cache.get("model-a", ["z", "y", "x", "z", "x"], 4)  # repeats get their key's row
    assert found.tolist() == [True, False, True, True, True]
    assert vectors[:, 0].tolist() == [2, 0, 1, 2, 1]


def test_cache_is_safe_across_processes(tmp_path):
    path = tmp_path / "shared.sqlite3"
    script = (
        "import sys, numpy as np\n"
        "from chunkwise.embedding.embedders import EmbeddingCache\n"
        "cache = EmbeddingCache(sys.argv[1])\n"
        "worker = int(sys.argv[2])\n"
        "for batch in range(20):\n"
        "    texts = [f'w{worker}-b{batch}-{i}' for i in range(25)] + ['shared text']\n"
        "    cache.put('m', texts, np.full((len(texts), 4), worker, dtype=np.float32))\n"
        "    cache.get('m', texts, 4)\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, str(path), str(w)]) for w in range(3)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    assert len(EmbeddingCache(path)) == 3 * 20 * 25 + 1


def test_nan_vectors_are_a_clear_error(tmp_path):
    cached = CachedEmbedder(NaNEmbedder(), EmbeddingCache(tmp_path / "e.sqlite3"))
    with pytest.raises(InputDataError, match="NaN"):
        cached.embed(SENTENCES)
    assert len(cached.cache) == 0  # nothing invalid was stored
