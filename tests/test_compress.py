"""compress(): budget always held, relevant sentences kept, order and grouping, stitching, bad input."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chunkwise import get_tokenizer
from chunkwise.retrieval._bm25 import BM25, terms
from chunkwise._types import Chunk, chunk_id
from chunkwise.retrieval.budget import plan, plan_budget
from chunkwise.retrieval.compression import CompressConfig, Compressed, compress
from chunkwise.errors import ChunkwiseError, ConfigError, InputDataError, InputTypeError

from support_tokenizers import llama3_tokenizer_path


class BagOfWordsEmbedder:
    """A deterministic stand-in for a sentence model: hashed word counts, L2-normalised."""

    def __init__(self, dimension: int = 1024, model_id: str = "test-bow-1024") -> None:
        self.dimension = dimension
        self.model_id = model_id
        self.max_seq_length = 1 << 30
        self.calls: list[int] = []

    def token_counts(self, texts):
        return [len(t.split()) for t in texts]

    def embed(self, texts):
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in terms(text):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


@pytest.fixture(scope="module")
def tokenizer():
    return get_tokenizer(None)


@pytest.fixture
def embedder():
    return BagOfWordsEmbedder()


PASSAGES = [
    "The Eiffel Tower is in Paris. It was completed in 1889 for the World's Fair. Gustave Eiffel's company built it.",
    "Bananas are rich in potassium. They grow in tropical regions. Many people eat them for breakfast.",
    "The Great Wall of China is very long. Construction lasted many centuries. It was built to protect against raids.",
    "Mount Everest is the highest mountain. Climbers attempt it every spring. The summit is 8,849 metres high.",
]


def test_keeps_the_answer_sentence_under_a_small_budget(tokenizer, embedder):
    result = compress("When was the tower completed for the fair?", PASSAGES, budget_tokens=20, tokenizer=tokenizer, embedder=embedder)
    assert "1889" in result.text
    assert result.tokens_after == tokenizer.count(result.text) <= 20
    assert result.tokens_before == tokenizer.count("\n\n".join(PASSAGES))
    assert not result.truncated
    assert (30, 76) in result.kept[0]  # the sentence with the answer, by its span in passage 0


def test_kept_spans_point_into_the_passages_and_keep_order(tokenizer, embedder):
    result = compress("Eiffel Tower Paris and Everest summit height", PASSAGES, budget_tokens=60, tokenizer=tokenizer, embedder=embedder)
    pieces = [(i, PASSAGES[i][a:b]) for i, spans in enumerate(result.kept) for a, b in spans]
    assert pieces, result
    position = -1
    for _, piece in pieces:  # in passage order, then sentence order: each found after the previous
        found = result.text.find(piece, position + 1)
        assert found > position
        position = found
    blocks = result.text.split("\n\n")
    assert len(blocks) == sum(1 for spans in result.kept if spans)


def test_everything_fits_when_the_budget_is_large(tokenizer, embedder):
    result = compress("anything about towers", PASSAGES, budget_tokens=10_000, tokenizer=tokenizer, embedder=embedder)
    for passage, spans in zip(PASSAGES, result.kept):
        assert "".join(passage[a:b] for a, b in spans).replace(" ", "") == passage.replace(" ", "")


def test_min_relevance_returns_nothing_when_nothing_is_relevant(tokenizer, embedder):
    result = compress("quantum chromodynamics lattice gauge", PASSAGES, budget_tokens=50, tokenizer=tokenizer, embedder=embedder, min_relevance=0.2)
    assert result.text == "" and result.tokens_after == 0 and not any(result.kept)
    assert result.tokens_before > 0
    relevant = compress("Eiffel Tower", PASSAGES, budget_tokens=50, tokenizer=tokenizer, embedder=embedder, min_relevance=0.2)
    assert "Eiffel" in relevant.text


def test_lexical_only_min_relevance(tokenizer):
    result = compress("zeppelin", PASSAGES, budget_tokens=50, tokenizer=tokenizer, embedder=False, min_relevance=0.5)
    assert result.text == ""
    result = compress("potassium bananas", PASSAGES, budget_tokens=12, tokenizer=tokenizer, embedder=False)
    assert "potassium" in result.text


def test_budget_below_every_sentence_truncates_the_best_one(tokenizer, embedder):
    result = compress("When was the Eiffel Tower completed?", PASSAGES, budget_tokens=3, tokenizer=tokenizer, embedder=embedder)
    assert result.truncated
    assert 0 < result.tokens_after <= 3
    assert result.tokens_after == tokenizer.count(result.text)
    (start, end), = result.kept[0]
    assert PASSAGES[0][start:end] == result.text


def test_overlapping_chunks_of_one_document_are_stitched(tokenizer, embedder):
    document = (
        "Alpha particles are helium nuclei. Beta particles are electrons. Gamma rays are photons. "
        "Neutrons are neutral. Protons carry positive charge."
    )
    first_end = document.index("Neutrons") - 1
    second_start = document.index("Beta")

    def make(start, end, index):
        text = document[start:end]
        return Chunk(text, start, end, tokenizer.count(text), "physics", index, chunk_id("physics", start, end, text))

    first, second = make(0, first_end, 0), make(second_start, len(document), 1)
    other = "Cats sleep a lot. Dogs bark at strangers."
    result = compress("what are gamma rays and beta particles", [second, other, first], budget_tokens=500, tokenizer=tokenizer, embedder=embedder)
    assert result.passages_stitched == 1
    assert result.text.count("Beta particles are electrons.") == 1
    assert result.text.count("Gamma rays are photons.") == 1
    # the stitched passage takes the place of its earliest member (position 0), before the other passage
    assert result.text.index("Alpha") < result.text.index("Cats")
    # shared text is attributed to the earlier passage in the input (``second``), the rest to ``first``
    kept_second = "".join(second.text[a:b] for a, b in result.kept[0])
    kept_first = "".join(first.text[a:b] for a, b in result.kept[2])
    assert "Gamma rays are photons." in kept_second and "Gamma" not in kept_first
    assert kept_first.startswith("Alpha")


def test_chunks_whose_text_differs_from_their_offsets_are_not_glued(tokenizer, embedder):
    # normalized chunks: the raw span length differs from the text, so offsets cannot be trusted
    a = Chunk("Water boils at 100 degrees. Ice melts at zero.", 0, 60, 12, "d", 0, "a")
    b = Chunk("Ice melts at zero. Steam is hot.", 40, 80, 9, "d", 1, "b")
    result = compress("at what temperature does ice melt", [a, b], budget_tokens=200, tokenizer=tokenizer, embedder=embedder)
    assert result.passages_stitched == 0
    assert result.text.count("Ice melts at zero.") == 1
    assert result.duplicates_dropped == 1


def test_near_duplicate_sentences_are_kept_once(tokenizer, embedder):
    passages = [
        "The capital of Australia is Canberra. Sydney is larger.",
        "The capital of Australia is Canberra! Melbourne was once the capital.",
        "Kangaroos live in Australia.",
    ]
    result = compress("What is the capital of Australia?", passages, budget_tokens=200, tokenizer=tokenizer, embedder=embedder)
    assert result.text.count("Canberra") == 1


def test_hits_use_stored_sentence_vectors(tokenizer):
    pytest.importorskip("faiss")
    from chunkwise.retrieval.index import Index

    embedder = BagOfWordsEmbedder()
    index = Index.build(PASSAGES, embedder=embedder)
    hits = index.search("Everest summit height", k=3)
    embedder.calls.clear()
    result = compress("Everest summit height", hits, budget_tokens=30, tokenizer=tokenizer, embedder=embedder)
    assert embedder.calls == [1]  # the query only: sentences and passage scores come from the index
    embedder.calls.clear()
    reused = compress("Everest summit height", hits, budget_tokens=30, tokenizer=tokenizer, embedder=embedder,
                      query_vector=embedder.embed(["Everest summit height"])[0])
    assert embedder.calls == [1] and reused == result  # no embedding inside compress at all
    assert "8,849" in result.text
    # another embedder's vectors are not trusted: sentences are embedded again
    other = BagOfWordsEmbedder(model_id="another-model")
    compress("Everest summit height", hits, budget_tokens=30, tokenizer=tokenizer, embedder=other)
    assert sum(other.calls) > 1


def test_several_languages(tokenizer, embedder):
    passages = [
        "東京は日本の首都です。人口は約1400万人です。富士山は日本で一番高い山です。",
        "برلين هي عاصمة ألمانيا. يبلغ عدد سكانها حوالي أربعة ملايين نسمة.",
        "Berlin ist die Hauptstadt Deutschlands. Die Stadt hat etwa 3,7 Millionen Einwohner.",
        "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย มีประชากรมาก",
    ]
    for budget in (5, 20, 60, 500):
        result = compress("東京の人口は?", passages, budget_tokens=budget, tokenizer=tokenizer, embedder=embedder)
        assert result.tokens_after == tokenizer.count(result.text) <= budget
    result = compress("東京の人口", passages, budget_tokens=25, tokenizer=tokenizer, embedder=embedder)
    assert "1400" in result.text
    result = compress("Einwohner Berlin", passages, budget_tokens=25, tokenizer=tokenizer, embedder=embedder)
    assert "Einwohner" in result.text


def test_a_one_megabyte_passage(tokenizer, embedder):
    rng = np.random.default_rng(3)
    words = np.array("river stone cloud lantern harbor meadow copper violin orbit glacier".split())
    sentences = [" ".join(rng.choice(words, size=12)).capitalize() + "." for _ in range(12_500)]
    sentences[6_000] = "The secret launch code is 7741."
    text = " ".join(sentences)
    assert len(text) > 1_000_000
    started = time.perf_counter()
    result = compress("what is the secret launch code", [text, "Short other passage."], budget_tokens=40, tokenizer=tokenizer, embedder=embedder)
    assert time.perf_counter() - started < 30
    assert result.tokens_after <= 40
    assert "7741" in result.text


def test_a_one_megabyte_line_without_punctuation(tokenizer, embedder):
    rng = np.random.default_rng(4)
    words = np.array("river stone cloud lantern harbor meadow copper violin orbit glacier".split())
    text = " ".join(rng.choice(words, size=170_000))
    assert len(text) > 1_000_000
    result = compress("copper violin", [text], budget_tokens=64, tokenizer=tokenizer, embedder=embedder)
    assert 0 < result.tokens_after <= 64
    assert all(text[a:b] in result.text for a, b in result.kept[0])


def test_llama3_tokenizer_budget_holds(embedder):
    tokenizer = get_tokenizer(str(llama3_tokenizer_path()))
    for budget in (1, 7, 33, 90):
        result = compress("Great Wall construction", PASSAGES, budget_tokens=budget, tokenizer=tokenizer, embedder=embedder)
        assert result.tokens_after == tokenizer.count(result.text) <= budget


sentences = st.text(alphabet=st.sampled_from(list("abcdefg xyz,") + ["é", "字", "!"]), min_size=1, max_size=60).map(lambda s: s.strip() + ".")
passage_lists = st.lists(st.lists(sentences, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(passages=passage_lists, budget=st.integers(1, 120), query=st.sampled_from(["abc", "xyz fed", "字 é", "g"]), lam=st.sampled_from([0.5, 0.85, 1.0]), fusion=st.sampled_from(["sum", "rrf"]))
def test_budget_is_never_exceeded(tokenizer, passages, budget, query, lam, fusion):
    embedder = BagOfWordsEmbedder(dimension=32)
    result = compress(query, passages, budget_tokens=budget, tokenizer=tokenizer, embedder=embedder, mmr_lambda=lam, fusion=fusion)
    assert result.tokens_after == (tokenizer.count(result.text) if result.text else 0)
    assert result.tokens_after <= budget
    for passage, spans in zip(passages, result.kept):
        for a, b in spans:
            assert passage[a:b] and passage[a:b] in result.text


def test_empty_and_bad_input(tokenizer, embedder):
    with pytest.raises(InputDataError, match="query is empty"):
        compress("   ", PASSAGES, budget_tokens=10, tokenizer=tokenizer, embedder=embedder)
    with pytest.raises(InputTypeError):
        compress(None, PASSAGES, budget_tokens=10, tokenizer=tokenizer, embedder=embedder)
    with pytest.raises(ConfigError):
        compress("q", PASSAGES, budget_tokens=0, tokenizer=tokenizer, embedder=embedder)
    with pytest.raises(InputTypeError):
        compress("q", PASSAGES, budget_tokens=2.5, tokenizer=tokenizer, embedder=embedder)
    with pytest.raises(InputTypeError):
        compress("q", "a single string", budget_tokens=10, tokenizer=tokenizer, embedder=embedder)
    with pytest.raises(InputTypeError, match="passage #1"):
        compress("q", ["fine", 42], budget_tokens=10, tokenizer=tokenizer, embedder=embedder)
    with pytest.raises(ConfigError):
        compress("q", PASSAGES, budget_tokens=10, tokenizer=tokenizer, embedder=embedder, mmr_lambda=1.5)
    with pytest.raises(TypeError):
        compress("q", PASSAGES, budget_tokens=10, tokenizer=tokenizer, embedder=embedder, no_such_option=1)
    empty = compress("q", [], budget_tokens=10, tokenizer=tokenizer, embedder=embedder)
    assert empty == Compressed("", 0, 0, (), False, 10)
    blank = compress("q", ["", "  \n"], budget_tokens=10, tokenizer=tokenizer, embedder=embedder)
    assert blank.text == "" and blank.kept == ((), ())


@pytest.mark.parametrize(
    "options",
    [
        {"lexical_weight": -0.1},
        {"fusion": "max"},
        {"passage_weight": 11},
        {"duplicate_cosine": 0},
        {"min_relevance": 2.0},
        {"separator": ""},
        {"max_sentence_chars": 3},
        {"max_embedded_sentences": 0},
    ],
)
def test_config_is_validated(options):
    with pytest.raises(ConfigError):
        CompressConfig(**options)


def test_bm25_prefers_rare_matching_terms():
    documents = [terms(t) for t in ("the cat sat", "the dog sat", "a quokka smiled", "the the the")]
    scores = BM25(documents).scores(terms("quokka cat"))
    assert scores[2] > 0 and scores[0] > 0 and scores[1] == 0 and scores[3] == 0
    assert terms("Films of the 1990s") == ["film", "1990"]
    assert "東京" in terms("東京都")


# ---------------------------------------------------------------- plan_budget


def test_plan_budget_leaves_room_for_the_answer(tokenizer):
    assert plan_budget(8192, system_prompt_tokens=500, question_tokens=50, max_output_tokens=1024, safety_margin=100) == 6518
    system = "You are a careful assistant. Answer from the context only."
    expected = 4096 - tokenizer.count(system) - 512 - 82  # 2% of 4096, rounded up
    assert plan_budget(4096, system_prompt=system, max_output_tokens=512) == expected
    details = plan(4096, system_prompt=system, question="Who?", max_output_tokens=512, safety_margin=0)
    assert details.context_tokens == 4096 - details.system_prompt_tokens - details.question_tokens - 512
    assert details.to_dict()["max_output_tokens"] == 512


@pytest.mark.parametrize(
    "kwargs",
    [
        {"context_window": 1000, "max_output_tokens": 1000},
        {"context_window": 1000, "max_output_tokens": 500, "system_prompt_tokens": 480},
        {"context_window": 0, "max_output_tokens": 1},
        {"context_window": 1000, "max_output_tokens": 0},
        {"context_window": 1000, "max_output_tokens": 10, "system_prompt_tokens": -1},
        {"context_window": 1000, "max_output_tokens": 10, "system_prompt_tokens": 5, "system_prompt": "x"},
        {"context_window": 1000, "max_output_tokens": 10, "safety_margin": 1.5},
    ],
)
def test_plan_budget_errors(kwargs):
    with pytest.raises(ConfigError):
        plan_budget(**kwargs)


def test_plan_budget_types():
    with pytest.raises(InputTypeError):
        plan_budget("8k", max_output_tokens=10)
    with pytest.raises(ChunkwiseError):
        plan_budget(100, max_output_tokens=10, system_prompt=b"bytes")


def test_sentences_embedded_a_block_at_a_time_give_the_same_result(tokenizer, monkeypatch):
    """Issue 13, item 5: compress embeds a block of sentences per call (memory); with the query in the
    first block and each block stored in place, the result is the one-call result."""
    from chunkwise.retrieval import compression as compress_module

    query = "When was the tower completed for the fair?"
    whole_embedder = BagOfWordsEmbedder()
    whole = compress(query, PASSAGES, budget_tokens=40, tokenizer=tokenizer, embedder=whole_embedder)
    monkeypatch.setattr(compress_module, "_EMBED_BLOCK", 2)
    blocked_embedder = BagOfWordsEmbedder()
    blocked = compress(query, PASSAGES, budget_tokens=40, tokenizer=tokenizer, embedder=blocked_embedder)
    assert (blocked.text, blocked.kept, blocked.tokens_after) == (whole.text, whole.kept, whole.tokens_after)
    # One call held the query and every sentence; blocked, the query rides with the first two.
    sentences = whole_embedder.calls[0] - 1
    blocks = -(-sentences // 2)
    assert sentences > 4 and blocked_embedder.calls[:blocks] == [3] + [2] * (sentences // 2 - 1) + [1] * (sentences % 2)
    assert blocked_embedder.calls[blocks:] == whole_embedder.calls[1:]  # then the passages, as before
