"""chunkwise.evaluate and ``chunkwise eval``: metric definitions, evidence location, errors, real data."""

from __future__ import annotations

import csv
import hashlib
import json
import random

import numpy as np
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

import chunkwise
from chunkwise import get_tokenizer
from chunkwise.cli import main
from chunkwise.errors import InputDataError, InputTypeError
from chunkwise.retrieval.evaluation import (
    EvidenceNotFoundError, Question, _Corpus, budget_recall, chunk_spans, evaluate, load_questions, omega_score,
    paired_interval, rank_chunks, top_k_scores,
)


class WordEmbedder:
    """Hashed bag of words, L2-normalised: deterministic, no model."""

    dimension = 512
    model_id = "test-words-512"
    max_seq_length = 1 << 30

    def token_counts(self, texts):
        return [len(t.split()) for t in texts]

    def embed(self, texts):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in regex.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def corpus_of(chunks: list[tuple[int, int, int]], tokens: list[int] | None = None) -> _Corpus:
    doc, start, end = (np.asarray(column, dtype=np.int64) for column in zip(*chunks))
    return _Corpus(doc, start, end, np.asarray(tokens if tokens else [e - s for _, s, e in chunks], dtype=np.int64))


# ---------------------------------------------------------------- metric definitions, by hand


def test_top_k_scores_by_hand():
    # Evidence [10, 30) in doc 0; retrieved: [0, 20) of doc 0, [100, 140) of doc 1, [25, 50) of doc 0.
    question = Question("q", "a", ((10, 30),))
    corpus = corpus_of([(0, 0, 20), (1, 100, 140), (0, 25, 50)])
    recall, precision, iou = top_k_scores(question, 0, np.array([0, 1, 2]), corpus, top_k=3)
    assert recall == pytest.approx(15 / 20)  # [10,20) and [25,30) found
    assert precision == pytest.approx(15 / (20 + 40 + 25))  # other documents' chunks count in precision
    assert iou == pytest.approx(15 / (20 + 40 + 25 + 5))  # plus the evidence no chunk holds: [20, 25)
    # top_k cuts the ranking.
    assert top_k_scores(question, 0, np.array([0, 1, 2]), corpus, top_k=1)[0] == pytest.approx(10 / 20)


def test_overlapping_chunks_count_evidence_once_but_length_twice():
    question = Question("q", "a", ((0, 10),))
    corpus = corpus_of([(0, 0, 10), (0, 0, 10)])
    recall, precision, _ = top_k_scores(question, 0, np.array([0, 1]), corpus, top_k=2)
    assert recall == 1.0
    assert precision == pytest.approx(10 / 20)  # as Chroma's sum_of_ranges: retrieved lengths add up


def test_omega_by_hand():
    question = Question("q", "a", ((10, 30), (80, 90)))
    corpus = corpus_of([(0, 0, 20), (0, 20, 60), (0, 60, 100), (1, 0, 500)])
    # Touching chunks cover [0, 100); all 30 evidence characters are in them.
    assert omega_score(question, 0, corpus) == pytest.approx(30 / 100)
    lonely = Question("q", "a", ((10, 30),))
    assert omega_score(lonely, 0, corpus_of([(0, 0, 15)])) == pytest.approx(5 / (15 + 15))


def test_budget_recall_takes_whole_chunks_then_cuts_one():
    question = Question("q", "a", ((150, 170),))
    corpus = corpus_of([(0, 0, 100), (0, 100, 200), (1, 0, 50)], tokens=[100, 100, 50])
    order = np.array([2, 0, 1])

    def cut(index, tokens):  # one token per character in this corpus
        return tokens

    # 50 + 100 tokens taken whole, then 30 tokens of [100, 200): [100, 130), no evidence.
    assert budget_recall(question, 0, order, corpus, 180, cut) == 0.0
    # 60 tokens left for chunk 1: [100, 160) holds [150, 160).
    assert budget_recall(question, 0, order, corpus, 210, cut) == pytest.approx(10 / 20)
    assert budget_recall(question, 0, order, corpus, 250, cut) == 1.0
    # A budget smaller than the first chunk still takes its head.
    assert budget_recall(Question("q", "a", ((0, 5),)), 1, order, corpus, 10, cut) == 1.0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 60), st.integers(1, 30)), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 80), st.integers(1, 20)), min_size=1, max_size=3),
    st.integers(1, 6),
    st.integers(1, 200),
    st.randoms(use_true_random=False),
)
def test_metrics_match_character_sets(raw_chunks, raw_references, top_k, budget, rng):
    """Every metric against a brute-force count over sets of character positions."""
    chunks = [(doc, start, start + length) for doc, start, length in raw_chunks]
    # Disjoint evidence, as Chroma's excerpts are (its definitions sum lengths, they do not union them).
    references = []
    for start, end in sorted((start, start + length) for start, length in raw_references):
        if references and start <= references[-1][1]:
            references[-1] = (references[-1][0], max(end, references[-1][1]))
        else:
            references.append((start, end))
    question = Question("q", "a", tuple(references))
    corpus = corpus_of(chunks)
    order = np.array(rng.sample(range(len(chunks)), len(chunks)))
    evidence = {p for a, b in references for p in range(a, b)}
    reference_total = sum(b - a for a, b in references)

    retrieved = [chunks[i] for i in order[:top_k]]
    found = {p for doc, a, b in retrieved if doc == 0 for p in range(a, b)} & evidence
    length = sum(b - a for _, a, b in retrieved)
    recall, precision, iou = top_k_scores(question, 0, order, corpus, top_k)
    assert recall == pytest.approx(len(found) / reference_total)
    assert precision == pytest.approx(len(found) / length)
    assert iou == pytest.approx(len(found) / (length + len(evidence - found)))

    touching = [(a, b) for doc, a, b in chunks if doc == 0 and any(p in evidence for p in range(a, b))]
    covered = {p for a, b in touching for p in range(a, b)}
    expected_omega = len(covered & evidence) / len(covered | evidence) if touching else 0.0
    assert omega_score(question, 0, corpus) == pytest.approx(expected_omega)

    taken: set[int] = set()
    left = budget
    for index in order:
        doc, a, b = chunks[index]
        size = min(b - a, left)
        if doc == 0:
            taken |= set(range(a, a + size))
        left -= size
        if left == 0:
            break
    assert budget_recall(question, 0, order, corpus, budget, lambda i, t: t) == pytest.approx(len(taken & evidence) / reference_total)


@pytest.mark.parametrize("depth", [1, 3, 7, 40])
def test_rank_chunks_to_a_depth_is_the_head_of_the_full_ranking(depth):
    rng = np.random.default_rng(depth)
    chunks = rng.integers(-2, 3, size=(40, 4)).astype(np.float32)  # small integers: many exact ties
    questions = rng.integers(-2, 3, size=(9, 4)).astype(np.float32)
    full = np.argsort(-(questions @ chunks.T), axis=1, kind="stable")
    np.testing.assert_array_equal(rank_chunks(questions, chunks, depth=depth), full[:, :depth])
    np.testing.assert_array_equal(rank_chunks(questions, chunks), full)


def test_paired_interval_brackets_a_known_shift():
    rng = np.random.default_rng(1)
    differences = rng.normal(0.05, 0.1, 400)
    mean, low, high = paired_interval(differences, resamples=1000, seed=3)
    assert low < 0.05 < high and low < mean < high
    assert paired_interval(np.zeros(50)) == (0.0, 0.0, 0.0)


# ---------------------------------------------------------------- questions and chunker outputs


DOCS = [chunkwise.Document("a.md", "Cats purr when they are happy.\n\nDogs   bark at strangers."),
        chunkwise.Document("b.md", "The moon orbits the earth.")]


def test_load_questions_accepts_every_evidence_shape():
    questions = load_questions(
        [
            {"question": "span?", "doc_id": "a.md", "start": 0, "end": 4},
            {"question": "chroma?", "corpus_id": "a.md", "references": json.dumps([{"content": "x", "start_index": 5, "end_index": 9}])},
            {"question": "text anywhere?", "evidence": "moon orbits"},
            {"question": "collapsed?", "doc_id": "a.md", "evidence": ["Dogs bark at"]},
            {"question": "pairs?", "doc_id": "b.md", "evidence": [[4, 8], {"start": 9, "end": 15}]},
        ],
        DOCS,
    )
    assert questions[0].spans == ((0, 4),)
    assert questions[1].spans == ((5, 9),) and questions[1].doc_id == "a.md"
    assert questions[2].doc_id == "b.md" and DOCS[1].text[slice(*questions[2].spans[0])] == "moon orbits"
    start, end = questions[3].spans[0]
    assert DOCS[0].text[start:end] == "Dogs   bark at"
    assert questions[4].spans == ((4, 8), (9, 15))


@pytest.mark.parametrize(
    "record, error, words",
    [
        ({"question": "q", "doc_id": "a.md", "evidence": "giraffes"}, EvidenceNotFoundError, "giraffes"),
        ({"question": "q", "evidence": "giraffes"}, EvidenceNotFoundError, "any of the 2 documents"),
        ({"question": "q", "doc_id": "zzz", "evidence": "Cats"}, InputDataError, "zzz"),
        ({"question": "q", "doc_id": "a.md"}, InputDataError, "no evidence"),
        ({"question": "", "doc_id": "a.md", "start": 0, "end": 2}, InputDataError, "no 'question'"),
        ({"question": "q", "doc_id": "b.md", "start": 0, "end": 999}, InputDataError, "outside"),
        ({"question": "q", "start": 0, "end": 3}, InputDataError, "no doc_id"),
    ],
)
def test_bad_questions_raise_clear_errors(record, error, words):
    with pytest.raises(error, match=regex.escape(words)):
        load_questions([record], DOCS)


def test_chunk_spans_from_every_output_shape():
    text = "one two one two three"
    # Overlapping repeated strings are found in order, not at their first occurrence.
    assert chunk_spans(["one two", "two one", "one two three"], text) == [(0, 7), (4, 11), (8, 21)]
    assert chunk_spans([(0, 3), (4, 7)], text) == [(0, 3), (4, 7)]
    long_text = " ".join(f"Sentence number {n} is here." for n in range(40))
    chunks = chunkwise.chunk(long_text, max_tokens=16)
    assert len(chunks) > 3 and chunk_spans(chunks, long_text) == [(c.start, c.end) for c in chunks]
    assert chunk_spans(["one  two"], "one two") == [(0, 7)]  # re-joined whitespace
    with pytest.raises(InputDataError, match="not in its document"):
        chunk_spans(["zebra"], text)
    with pytest.raises(InputTypeError):
        chunk_spans([3.5], text)
    with pytest.raises(InputDataError, match="outside"):
        chunk_spans([(0, 99)], text)


# ---------------------------------------------------------------- evaluate end to end


def _topic_documents(seed: int = 0):
    """Twelve documents, each of four topical paragraphs; a question per paragraph."""
    rng = random.Random(seed)
    topics = ["volcano lava magma eruption crater", "violin cello orchestra symphony", "tomato basil garlic sauce",
              "rocket orbit satellite launch", "glacier ice melt arctic", "chess bishop knight gambit"]
    documents, questions = [], []
    for number in range(12):
        paragraphs = []
        for topic in rng.sample(topics, 4):
            words = topic.split()
            paragraphs.append(" ".join(rng.choice(words + ["the", "a", "of", "and"]) for _ in range(60)) + ".")
        text = "\n\n".join(paragraphs)
        doc_id = f"doc-{number}.md"
        documents.append(chunkwise.Document(doc_id, text))
        for paragraph in paragraphs[:2]:
            at = text.index(paragraph)
            questions.append({"question": " ".join(sorted(set(paragraph.split()) - {"the", "a", "of", "and"})),
                              "doc_id": doc_id, "start": at, "end": at + len(paragraph)})
    return documents, questions


def test_evaluate_ranks_a_paragraph_chunker_above_a_blind_one():
    documents, questions = _topic_documents()

    def one_chunk_per_document(text):
        return [text]

    result = evaluate(documents, questions, {"whole documents": one_chunk_per_document}, max_tokens=64,
                      embedder=WordEmbedder(), resamples=500)
    names = [row.name for row in result.rows]
    assert names[0] == "chunkwise" and "naive (report baseline)" in names and "whole documents" in names
    chunkwise_row, whole = result.row("chunkwise"), result.row("whole documents")
    # Whole documents are found (recall), but every retrieved character is a paid token: IoU and budgets suffer.
    assert whole.mean("iou") < chunkwise_row.mean("iou")
    assert chunkwise_row.mean("recall@128") > whole.mean("recall@128") if 128 in result.budgets else True
    assert chunkwise_row.mean("recall@256") > whole.mean("recall@256")
    for row in result.rows:
        assert set(row.scores) == {"recall", "precision", "iou", "omega", "recall@256", "recall@512", "recall@1024", "recall@2048"}
        assert all(len(values) == len(questions) for values in row.scores.values())
        assert row.max_tokens <= 64 or row.name == "whole documents"
    mean, low, high = result.compare("chunkwise", "whole documents", "iou")
    assert low <= mean <= high and mean > 0
    payload = result.to_dict()
    json.dumps(payload)
    assert payload["rows"][0]["vs_first"] is None and payload["rows"][1]["vs_first"]["recall"]
    assert "chunkwise minus each row" in result.to_text()
    assert "<table>" in result._repr_html_() and "Evaluation" in repr(result)


def test_evaluate_is_deterministic():
    documents, questions = _topic_documents(seed=5)
    one = chunkwise.evaluate(documents, questions, max_tokens=48, embedder=WordEmbedder(), resamples=200).to_dict()
    two = evaluate(documents, questions, max_tokens=48, embedder=WordEmbedder(), resamples=200).to_dict()
    assert one == two


def test_evaluate_with_a_counting_callable_cuts_budgets_without_offsets():
    documents, questions = _topic_documents(seed=3)
    result = chunkwise.evaluate(documents, questions, max_tokens=48, embedder=WordEmbedder(), resamples=100,
                                tokenizer=lambda text: len(text.split()), budgets=(60, 1000))
    for row in result.rows:
        assert row.max_tokens <= 48
        assert np.all(row.scores["recall@60"] <= row.scores["recall@1000"])
        assert 0 < row.mean("recall@60") < 1


def test_evaluate_rejects_bad_input():
    documents, questions = _topic_documents()
    with pytest.raises(InputTypeError):
        evaluate(documents, questions, {"bad": 3}, embedder=WordEmbedder())
    with pytest.raises(InputDataError, match="unique"):
        evaluate([chunkwise.Document("x", "a b"), chunkwise.Document("x", "c d")], [{"question": "q", "evidence": "a"}], embedder=WordEmbedder())
    with pytest.raises(chunkwise.ChunkwiseError):
        evaluate(documents, questions, top_k=0, embedder=WordEmbedder())
    with pytest.raises(InputDataError, match="returned no chunks"):
        evaluate(documents, questions, {"empty": lambda text: []}, embedder=WordEmbedder())


# ---------------------------------------------------------------- real data, real model


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers")
    from chunkwise.embedding.embedders import SentenceTransformerEmbedder

    try:
        return SentenceTransformerEmbedder(precision="float32")
    except chunkwise.ChunkwiseError as err:  # the model package is missing
        pytest.skip(str(err))


def test_chroma_state_of_the_union_with_minilm(shared_data, minilm):
    """Chroma's dev questions on one corpus: the protocol runs and chunkwise's cap holds; figures are sane."""
    folder = shared_data / "chroma-dev"
    if not folder.is_dir():
        pytest.skip("chroma-dev is not present")
    text = (folder / "state_of_the_union.md").read_text(encoding="utf-8")
    with open(folder / "questions_dev.csv", encoding="utf-8", newline="") as handle:
        records = [{"question": r["question"], "doc_id": r["corpus_id"], "references": r["references"]}
                   for r in csv.DictReader(handle) if r["corpus_id"] == "state_of_the_union"]
    result = evaluate([chunkwise.Document("state_of_the_union", text)], records, embedder=minilm, resamples=200)
    default = result.row("chunkwise")
    assert default.max_tokens <= 250
    # A retriever over 250-token chunks finds most of this corpus's evidence; nothing is out of range.
    assert 0.6 < default.mean("recall") <= 1.0
    for row in result.rows:
        for metric, values in row.scores.items():
            assert np.all((values >= 0) & (values <= 1)), (row.name, metric)
        assert row.mean("recall@256") <= row.mean("recall@2048")


def test_cli_eval_on_a_folder(tmp_path, capsys, minilm):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "cats.md").write_text("# Cats\n\nCats purr when they are content and sleep most of the day.\n\n"
                                    "# Dogs\n\nDogs bark at strangers and love long walks in the park.", encoding="utf-8")
    (folder / "sub" / "space.txt").write_text("The moon orbits the earth every twenty-seven days. "
                                              "Mars has two small moons named Phobos and Deimos.", encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"question": "What are the moons of Mars called?", "doc_id": "sub/space.txt", "evidence": "Phobos and Deimos"}) + "\n"
        + json.dumps({"question": "Why do cats purr?", "evidence": "Cats purr when they are content"}) + "\n",
        encoding="utf-8",
    )
    assert main(["eval", str(folder), "--questions", str(questions), "--max-tokens", "16", "--json", "-q"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["questions"] == 2 and payload["rows"][0]["name"] == "chunkwise"
    assert payload["rows"][0]["recall"] == 1.0  # two questions, each answered by its own chunk

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "Where do penguins live?", "evidence": "Antarctica"}) + "\n", encoding="utf-8")
    assert main(["eval", str(folder), "--questions", str(bad), "-q"]) == 3
    assert "Antarctica" in capsys.readouterr().err
    bad.write_text("{not json\n", encoding="utf-8")
    assert main(["eval", str(folder), "--questions", str(bad), "-q"]) == 3
    assert "bad.jsonl:1" in capsys.readouterr().err
    assert main(["eval", str(folder), "--questions", str(questions), "--chunker", "nowhere", "-q"]) == 2  # usage
    assert "module:function" in capsys.readouterr().err
