"""Retrieval quality per token of chunkers, measured on a team's own documents and labelled questions.

``evaluate(documents, questions)`` cuts every document with each chunker,
embeds all chunks of all documents into one exact-cosine index, retrieves for
each question and scores the evidence characters it finds:

- ``recall``, ``precision``, ``iou`` of the top ``top_k`` chunks and
  ``omega`` (precision_Ω: the best precision any retrieval of whole chunks
  could reach), with the definitions of Chroma's chunking study
  (``base_evaluation.py`` of brandonstarxel/chunking_evaluation): recall's
  denominator is the evidence length, precision's the summed length of the
  retrieved chunks, IoU's that plus the evidence no retrieved chunk covers;
- ``recall@B``, recall at a context budget: chunks are taken in rank order
  while they fit in ``B`` tokens, the first that does not fit is cut to the
  tokens left, and the score is the share of evidence characters inside what
  was taken. This is what a token bill buys: it does not reward a chunker
  for making chunks small, nor for making them large.

Differences between chunkers come with paired-bootstrap 95% intervals over
questions. Questions give evidence as character spans of a document or as
text, located in the document (exactly, else with whitespace collapsed);
evidence that cannot be located raises ``EvidenceNotFoundError`` naming the
question.
"""

from __future__ import annotations

import html
import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._types import Document, as_documents
from ..chunking.chunker import fit_cut, chunk, naive_split
from ..embedding.embedders import get_embedder
from ..errors import ChunkwiseWarning, ConfigError, InputDataError, InputTypeError
from ..tokens import get_tokenizer

BUDGETS: tuple[int, ...] = (256, 512, 1024, 2048)
METRICS: tuple[str, ...] = ("recall", "precision", "iou", "omega")

ChunkSpans = list[tuple[int, int]]
Chunker = Callable[[str], Sequence[Any]]
"""A chunker for ``evaluate``: text -> chunks as str, ``(start, end)`` pairs or objects with ``.start``/``.end``."""


class EvidenceNotFoundError(InputDataError):
    """A question's evidence text is not in its document (or in any document)."""


# ---------------------------------------------------------------- questions


@dataclass(frozen=True)
class Question:
    """A labelled question: its evidence as half-open character spans of one document's text."""

    question: str
    doc_id: str
    spans: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise InputDataError("a question must be a non-empty str")
        if not self.spans:
            raise InputDataError(f"question {self.question[:60]!r} has no evidence span")
        for start, end in self.spans:
            if not 0 <= start < end:
                raise InputDataError(f"question {self.question[:60]!r}: evidence span ({start}, {end}) is empty or negative")


def _collapsed(text: str) -> tuple[str, list[int]]:
    """``text`` without whitespace, and where each kept character was."""
    kept = [index for index, char in enumerate(text) if not char.isspace()]
    return "".join(text[index] for index in kept), kept


def _find(text: str, evidence: str, collapsed: tuple[str, list[int]] | None) -> tuple[int, int] | None:
    at = text.find(evidence)
    if at >= 0:
        return at, at + len(evidence)
    squeezed = "".join(evidence.split())
    if not squeezed or collapsed is None:
        return None
    joined, positions = collapsed
    at = joined.find(squeezed)
    if at < 0:
        return None
    return positions[at], positions[at + len(squeezed) - 1] + 1


def _record_spans(record: Mapping[str, Any], number: int) -> list[Any]:
    """The evidence entries of a question record: spans or texts, in any of the accepted shapes."""
    if "start" in record and "end" in record:
        return [(record["start"], record["end"])]
    for key in ("references", "evidence", "spans"):
        if key in record:
            value = record[key]
            if isinstance(value, str):
                try:
                    value = json.loads(value) if value.lstrip().startswith("[") else value
                except json.JSONDecodeError:
                    pass
            return value if isinstance(value, list) else [value]
    raise InputDataError(
        f"question #{number} has no evidence: give 'start'/'end', 'evidence' (text or list) or 'references' "
        "(a list of {'content', 'start_index', 'end_index'})"
    )


def load_questions(records: Iterable[Mapping[str, Any] | Question], documents: Sequence[Document]) -> list[Question]:
    """Questions from records: ``question``, ``doc_id`` (optional when evidence is text) and evidence.

    Evidence is ``start``/``end``, or ``evidence``/``references``: a list whose
    items are ``[start, end]``, ``{"start_index", "end_index"}`` (Chroma's
    format), ``{"start", "end"}`` or text to locate. Text is located in the
    question's document, or in every document when ``doc_id`` is missing.
    """
    by_id = {d.id: d for d in documents}
    collapsed_cache: dict[str, tuple[str, list[int]]] = {}
    questions: list[Question] = []
    for number, record in enumerate(records):
        if isinstance(record, Question):
            if record.doc_id not in by_id:
                raise InputDataError(f"question #{number} names doc_id {record.doc_id!r}, which is not among the documents")
            questions.append(record)
            continue
        if not isinstance(record, Mapping):
            raise InputTypeError(f"question #{number} is a {type(record).__name__}; give dicts or chunkwise.retrieval.evaluation.Question")
        text = record.get("question")
        if not isinstance(text, str) or not text.strip():
            raise InputDataError(f"question #{number} has no 'question' text")
        doc_id = record.get("doc_id", record.get("corpus_id"))
        if doc_id is not None and str(doc_id) not in by_id:
            raise InputDataError(f"question #{number} names doc_id {doc_id!r}, which is not among the documents")
        candidates = [by_id[str(doc_id)]] if doc_id is not None else list(documents)
        spans: list[tuple[int, int]] = []
        owner: str | None = None if doc_id is None else str(doc_id)
        for item in _record_spans(record, number):
            span: tuple[int, int] | None = None
            if isinstance(item, Mapping) and ("start_index" in item or "start" in item):
                span = (int(item.get("start_index", item.get("start"))), int(item.get("end_index", item.get("end"))))
            elif isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(v, int) for v in item):
                span = (int(item[0]), int(item[1]))
            if span is not None:
                if owner is None:
                    raise InputDataError(f"question #{number} gives character spans but no doc_id they refer to")
                if not 0 <= span[0] < span[1] <= len(by_id[owner].text):
                    raise InputDataError(
                        f"question #{number}: evidence span {span} is outside document {owner!r} ({len(by_id[owner].text)} characters)"
                    )
                spans.append(span)
                continue
            evidence = item.get("content") if isinstance(item, Mapping) else item
            if not isinstance(evidence, str) or not evidence.strip():
                raise InputDataError(f"question #{number}: evidence {item!r} is neither a span nor text")
            found = None
            for document in candidates if owner is None else [by_id[owner]]:
                if document.id not in collapsed_cache:
                    collapsed_cache[document.id] = _collapsed(document.text)
                found = _find(document.text, evidence.strip(), collapsed_cache[document.id])
                if found is not None:
                    owner = document.id
                    break
            if found is None:
                where = f"document {owner!r}" if owner is not None else f"any of the {len(documents)} documents"
                raise EvidenceNotFoundError(
                    f"question #{number} ({text[:60]!r}): evidence {evidence[:80]!r} is not in {where}, even with whitespace "
                    "collapsed; fix the text or give character spans"
                )
            spans.append(found)
        if owner is None:
            raise InputDataError(f"question #{number} has no evidence")
        questions.append(Question(text, owner, tuple(spans)))
    if not questions:
        raise InputDataError("no questions to evaluate")
    return questions


# ---------------------------------------------------------------- chunkers


def chunk_spans(output: Sequence[Any], text: str) -> ChunkSpans:
    """Spans of a chunker's output in ``text``: offsets where it gives them, else found in order."""
    spans: ChunkSpans = []
    cursor = 0
    collapsed: tuple[str, list[int]] | None = None
    for piece in output:
        if isinstance(piece, str):
            if not piece.strip():
                continue
            at = text.find(piece, cursor)
            if at < 0:
                at = text.find(piece)
            if at >= 0:
                span = (at, at + len(piece))
            else:
                # Splitters that re-join sentences with other whitespace: find it with whitespace collapsed.
                if collapsed is None:
                    collapsed = _collapsed(text)
                found = _find(text, piece, collapsed)
                if found is None:
                    raise InputDataError(f"a chunk {piece[:60]!r} is not in its document; return offsets instead")
                span = found
            spans.append(span)
            cursor = span[0] + 1
            continue
        if isinstance(piece, (tuple, list)) and len(piece) == 2:
            start, end = int(piece[0]), int(piece[1])
        elif hasattr(piece, "start") and hasattr(piece, "end"):
            start, end = int(piece.start), int(piece.end)
        elif hasattr(piece, "start_index") and hasattr(piece, "end_index"):
            start, end = int(piece.start_index), int(piece.end_index)
        else:
            raise InputTypeError(f"a chunker returned a {type(piece).__name__}; return str, (start, end) or objects with start/end")
        if not 0 <= start <= end <= len(text):
            raise InputDataError(f"a chunk span ({start}, {end}) is outside its document of {len(text)} characters")
        if end > start:
            spans.append((start, end))
    return spans


# ---------------------------------------------------------------- scoring


def _union_length(spans: list[tuple[int, int]]) -> int:
    total, reach = 0, -1
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def _intersections(chunk: tuple[int, int], references: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(max(chunk[0], a), min(chunk[1], b)) for a, b in references if max(chunk[0], a) < min(chunk[1], b)]


def _subtract(spans: list[tuple[int, int]], cut: tuple[int, int]) -> list[tuple[int, int]]:
    left = []
    for start, end in spans:
        if cut[1] <= start or end <= cut[0]:
            left.append((start, end))
            continue
        if start < cut[0]:
            left.append((start, cut[0]))
        if cut[1] < end:
            left.append((cut[1], end))
    return left


@dataclass
class _Corpus:
    """Every chunk of every document of one chunker, as the index sees them."""

    doc: np.ndarray  # document number of each chunk
    start: np.ndarray
    end: np.ndarray
    tokens: np.ndarray  # budget tokenizer's count of each chunk


def top_k_scores(question: Question, doc_number: int, ranked: np.ndarray, corpus: _Corpus, top_k: int) -> tuple[float, float, float]:
    """Recall, precision and IoU of the top ``top_k`` chunks, exactly as Chroma's ``base_evaluation`` scores them."""
    references = list(question.spans)
    found: list[tuple[int, int]] = []
    unused = list(references)
    retrieved_length = 0
    for index in ranked[:top_k]:
        span = (int(corpus.start[index]), int(corpus.end[index]))
        retrieved_length += span[1] - span[0]
        if corpus.doc[index] != doc_number:
            continue
        for piece in _intersections(span, references):
            found.append(piece)
            unused = _subtract(unused, piece)
    numerator = _union_length(found)
    reference_length = sum(b - a for a, b in references)
    recall = numerator / reference_length if reference_length else 0.0
    precision = numerator / retrieved_length if retrieved_length else 0.0
    denominator = retrieved_length + sum(b - a for a, b in unused)
    return recall, precision, numerator / denominator if denominator else 0.0


def omega_score(question: Question, doc_number: int, corpus: _Corpus) -> float:
    """precision_Ω: evidence over the union of every chunk that touches it (plus evidence no chunk holds)."""
    references = list(question.spans)
    mask = corpus.doc == doc_number
    starts, ends = corpus.start[mask], corpus.end[mask]
    found: list[tuple[int, int]] = []
    touching: list[tuple[int, int]] = []
    unused = list(references)
    low = min(a for a, _ in references)
    high = max(b for _, b in references)
    for position in np.flatnonzero((starts < high) & (ends > low)):
        span = (int(starts[position]), int(ends[position]))
        pieces = _intersections(span, references)
        if pieces:
            touching.append(span)
            found.extend(pieces)
            for piece in pieces:
                unused = _subtract(unused, piece)
    if not found:
        return 0.0
    return _union_length(found) / _union_length(touching + unused)


def budget_recall(question: Question, doc_number: int, ranked: np.ndarray, corpus: _Corpus, budget: int,
                  cut_chars: Callable[[int, int], int]) -> float:
    """Share of evidence characters in the chunks taken in rank order within ``budget`` tokens.

    Whole chunks are taken while they fit; the first that does not fit is cut
    to its first remaining tokens (``cut_chars(chunk, tokens)`` says where in
    characters) and nothing more is taken.
    """
    references = list(question.spans)
    found: list[tuple[int, int]] = []
    left = budget
    for index in ranked:
        tokens = int(corpus.tokens[index])
        start, end = int(corpus.start[index]), int(corpus.end[index])
        if tokens > left:
            if left <= 0:
                break
            end = start + cut_chars(int(index), left)
            left = 0
        else:
            left -= tokens
        if corpus.doc[index] == doc_number:
            found.extend(_intersections((start, end), references))
        if left <= 0:
            break
    reference_length = sum(b - a for a, b in references)
    return _union_length(found) / reference_length if reference_length else 0.0


def paired_interval(differences: np.ndarray, *, resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-question differences with a percentile-bootstrap 95% interval."""
    differences = np.asarray(differences, dtype=np.float64)
    if differences.size == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for first in range(0, resamples, 250):  # bounded memory for many questions
        rows = min(250, resamples - first)
        means[first : first + rows] = differences[rng.integers(0, differences.size, (rows, differences.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(differences.mean()), float(low), float(high)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ChunkerScores:
    """Per-question scores of one chunker (arrays in question order) and its chunk statistics."""

    name: str
    chunks: int
    mean_tokens: float
    max_tokens: int
    scores: dict[str, np.ndarray]  # metric name -> per-question values; "recall@256" etc. included

    def mean(self, metric: str) -> float:
        return float(self.scores[metric].mean()) if self.scores[metric].size else 0.0


@dataclass(frozen=True)
class Evaluation:
    """What ``evaluate`` measured: one row per chunker, all on the same questions."""

    rows: tuple[ChunkerScores, ...]
    questions: tuple[Question, ...]
    top_k: int
    budgets: tuple[int, ...]
    embedder: str
    tokenizer: str
    resamples: int = 2000
    seed: int = 0
    groups: tuple[str, ...] = field(default=())  # a label per question (its document unless given)

    @property
    def metrics(self) -> tuple[str, ...]:
        return METRICS + tuple(f"recall@{b}" for b in self.budgets)

    def row(self, name: str) -> ChunkerScores:
        for row in self.rows:
            if row.name == name:
                return row
        raise InputDataError(f"no chunker named {name!r}; rows are {[r.name for r in self.rows]}")

    def compare(self, name: str, baseline: str, metric: str = "recall") -> tuple[float, float, float]:
        """Mean difference ``name - baseline`` of ``metric`` with its paired 95% interval."""
        return paired_interval(self.row(name).scores[metric] - self.row(baseline).scores[metric], resamples=self.resamples, seed=self.seed)

    def by_group(self) -> dict[str, dict[str, dict[str, float]]]:
        """Means per group (document or corpus): {group: {chunker: {metric: mean}}}."""
        labels = np.asarray(self.groups) if self.groups else np.asarray([q.doc_id for q in self.questions])
        out: dict[str, dict[str, dict[str, float]]] = {}
        for label in sorted(set(labels.tolist())):
            mask = labels == label
            out[label] = {row.name: {m: float(row.scores[m][mask].mean()) for m in self.metrics} for row in self.rows}
        return out

    def to_dict(self) -> dict[str, Any]:
        first = self.rows[0].name if self.rows else None
        return {
            "questions": len(self.questions),
            "top_k": self.top_k,
            "budgets": list(self.budgets),
            "embedder": self.embedder,
            "tokenizer": self.tokenizer,
            "rows": [
                {
                    "name": row.name,
                    "chunks": row.chunks,
                    "mean_tokens": round(row.mean_tokens, 2),
                    "max_tokens": row.max_tokens,
                    **{metric: round(row.mean(metric), 5) for metric in self.metrics},
                    "vs_first": None
                    if row.name == first
                    else {m: [round(v, 5) for v in self.compare(first, row.name, m)] for m in self.metrics},
                }
                for row in self.rows
            ],
            "groups": self.by_group() if len(set(self.groups or [q.doc_id for q in self.questions])) > 1 else {},
        }

    def _table(self) -> tuple[list[str], list[list[str]]]:
        header = ["chunker", "chunks", "mean tok", "recall", "precision", "IoU", "prec_Ω"] + [f"@{b}" for b in self.budgets]
        lines = []
        for row in self.rows:
            lines.append(
                [row.name, str(row.chunks), f"{row.mean_tokens:.0f}"]
                + [f"{100 * row.mean(m):.1f}" if m == "recall" or m.startswith("recall@") else f"{100 * row.mean(m):.2f}" for m in self.metrics]
            )
        return header, lines

    def to_text(self) -> str:
        header, lines = self._table()
        widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]
        out = [
            f"{len(self.questions)} questions, top {self.top_k} by exact cosine ({self.embedder}); "
            f"budgets in {self.tokenizer} tokens; percentages",
            "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))),
        ]
        out += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))) for line in lines]
        if len(self.rows) > 1:
            first = self.rows[0].name
            out.append(f"\n{first} minus each row (paired bootstrap 95% interval, points):")
            for row in self.rows[1:]:
                parts = []
                for metric in ("recall", "iou") + tuple(f"recall@{b}" for b in self.budgets[:3]):
                    mean, low, high = self.compare(first, row.name, metric)
                    digits = 2 if metric == "iou" else 1
                    parts.append(f"{metric} {100 * mean:+.{digits}f} [{100 * low:+.{digits}f}, {100 * high:+.{digits}f}]")
                out.append(f"  vs {row.name}: " + "; ".join(parts))
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        best = max(self.rows, key=lambda r: r.mean("recall@512")).name if self.rows else None
        return f"<Evaluation: {len(self.rows)} chunkers, {len(self.questions)} questions, best recall@512: {best}>"

    def _repr_html_(self) -> str:
        header, lines = self._table()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line) + "</tr>" for line in lines)
        return f"<table><caption>{html.escape(self.to_text().splitlines()[0])}</caption><tr>{head}</tr>{body}</table>"


# ---------------------------------------------------------------- evaluate


def _default_chunkers(max_tokens: int, tokenizer: Any) -> dict[str, Chunker]:
    return {
        "chunkwise": lambda text: chunk(text, max_tokens=max_tokens, tokenizer=tokenizer),
        "naive (report baseline)": lambda text: naive_split(text, max_tokens=max_tokens, tokenizer=tokenizer),
        "naive, no overlap": lambda text: naive_split(text, max_tokens=max_tokens, overlap=0, tokenizer=tokenizer),
    }


def _as_chunkers(chunkers: Mapping[str, Chunker] | Sequence[Chunker] | Chunker | None, max_tokens: int, tokenizer: Any) -> dict[str, Chunker]:
    defaults = _default_chunkers(max_tokens, tokenizer)
    if chunkers is None:
        return defaults
    if callable(chunkers):
        chunkers = {getattr(chunkers, "__name__", "custom"): chunkers}
    elif not isinstance(chunkers, Mapping):
        chunkers = {getattr(c, "__name__", f"custom-{i}"): c for i, c in enumerate(chunkers)}
    out = dict(defaults)
    for name, fn in chunkers.items():
        if not callable(fn):
            raise InputTypeError(f"chunker {name!r} is a {type(fn).__name__}, not a callable text -> chunks")
        out[str(name)] = fn
    return out


def retrieval_corpus(spans_by_doc: Sequence[ChunkSpans], texts: Sequence[str], tokenizer: Any) -> tuple[_Corpus, list[str]]:
    """All chunks of all documents as one index's rows, with their token counts; and their texts."""
    docs, starts, ends, pieces = [], [], [], []
    for number, (spans, text) in enumerate(zip(spans_by_doc, texts)):
        for start, end in spans:
            docs.append(number)
            starts.append(start)
            ends.append(end)
            pieces.append(text[start:end])
    counts = tokenizer.count_batch(pieces) if pieces else []
    corpus = _Corpus(np.asarray(docs, dtype=np.int64), np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64),
                     np.asarray(counts, dtype=np.int64))
    return corpus, pieces


def rank_chunks(question_vectors: np.ndarray, chunk_vectors: np.ndarray, depth: int | None = None) -> np.ndarray:
    """The ``depth`` best chunk indices by descending cosine for each question (ties: lower index first).

    ``depth=None`` ranks every chunk. Questions go in blocks, so memory stays
    bounded by the block, not by questions x chunks.
    """
    count = chunk_vectors.shape[0]
    depth = count if depth is None else min(depth, count)
    out = np.empty((question_vectors.shape[0], depth), dtype=np.int64)
    block = max(1, 2_000_000 // max(count, 1))
    for first in range(0, question_vectors.shape[0], block):
        similarity = question_vectors[first : first + block] @ chunk_vectors.T
        if depth < count:
            # Cut at the depth-th best score, keeping every chunk tied with it, then order exactly.
            threshold = -np.partition(-similarity, depth - 1, axis=1)[:, depth - 1 : depth]
            similarity = np.where(similarity >= threshold, similarity, -np.inf)
        out[first : first + block] = np.argsort(-similarity, axis=1, kind="stable")[:, :depth]
    return out


def score_chunker(name: str, questions: Sequence[Question], doc_numbers: Sequence[int], corpus: _Corpus, pieces: Sequence[str],
                  ranked: np.ndarray, *, top_k: int, budgets: Sequence[int], tokenizer: Any) -> ChunkerScores:
    """Every metric for one chunker, given its chunks and each question's ranking of them."""
    per: dict[str, list[float]] = {m: [] for m in METRICS}
    for budget in budgets:
        per[f"recall@{budget}"] = []

    def cut_chars(index: int, tokens: int) -> int:
        # The chunker's own cut: by token offsets where the tokenizer has them, else by counting prefixes.
        return fit_cut(pieces[index], 0, len(pieces[index]), tokens, tokenizer)

    for question, number, order in zip(questions, doc_numbers, ranked):
        recall, precision, iou = top_k_scores(question, number, order, corpus, top_k)
        per["recall"].append(recall)
        per["precision"].append(precision)
        per["iou"].append(iou)
        per["omega"].append(omega_score(question, number, corpus))
        for budget in budgets:
            per[f"recall@{budget}"].append(budget_recall(question, number, order, corpus, budget, cut_chars))
    tokens = corpus.tokens
    return ChunkerScores(
        name,
        int(tokens.size),
        float(tokens.mean()) if tokens.size else 0.0,
        int(tokens.max()) if tokens.size else 0,
        {metric: np.asarray(values, dtype=np.float64) for metric, values in per.items()},
    )


def evaluate(
    documents: Any,
    questions: Iterable[Mapping[str, Any] | Question],
    chunkers: Mapping[str, Chunker] | Sequence[Chunker] | Chunker | None = None,
    *,
    max_tokens: int = 250,
    top_k: int = 5,
    budgets: Sequence[int] = BUDGETS,
    embedder: Any = None,
    tokenizer: Any = None,
    groups: Sequence[str] | None = None,
    resamples: int = 2000,
    seed: int = 0,
) -> Evaluation:
    """Compare chunkers by the evidence their chunks let a retriever find, per question and per context token.

    ``documents``: what ``prepare`` accepts. ``questions``: records (see
    ``load_questions``) or ``Question`` objects. ``chunkers``: extra chunkers
    to compare (a name -> callable mapping, a list or one callable: text ->
    chunks); chunkwise's ``chunk`` and naive splitting at ``max_tokens`` are
    always rows, chunkwise first, and intervals are differences against it.
    ``embedder``: an Embedder or profile name (default ``balanced``,
    all-MiniLM-L6-v2 from local files); a chunk longer than its window is
    embedded from its head, for every chunker alike. ``tokenizer`` counts the
    budgets (default cl100k_base).
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ConfigError(f"top_k must be an int >= 1, got {top_k!r}")
    budgets = tuple(int(b) for b in budgets)
    if any(b < 1 for b in budgets):
        raise ConfigError(f"budgets must be positive token counts, got {budgets}")
    docs = as_documents(documents)
    if not docs:
        raise InputDataError("no documents to evaluate on")
    if len({d.id for d in docs}) != len(docs):
        raise InputDataError("document ids must be unique: evidence is located by doc_id")
    resolved_questions = load_questions(questions, docs)
    if groups is not None and len(groups) != len(resolved_questions):
        raise ConfigError(f"groups has {len(groups)} labels for {len(resolved_questions)} questions")
    counter = get_tokenizer(tokenizer)
    table = _as_chunkers(chunkers, max_tokens, tokenizer)
    if embedder is None or isinstance(embedder, str):
        embedder = get_embedder(embedder or "balanced")
    number_of = {d.id: i for i, d in enumerate(docs)}
    doc_numbers = [number_of[q.doc_id] for q in resolved_questions]
    texts = [d.text for d in docs]
    with warnings.catch_warnings():
        # Head-only embedding of long chunks is the protocol, the same for every chunker.
        warnings.simplefilter("ignore", ChunkwiseWarning)
        question_vectors = np.asarray(embedder.embed([q.question for q in resolved_questions]), dtype=np.float32)
        rows = []
        for name, fn in table.items():
            spans = [chunk_spans(fn(text), text) for text in texts]
            corpus, pieces = retrieval_corpus(spans, texts, counter)
            if not pieces:
                raise InputDataError(f"chunker {name!r} returned no chunks")
            vectors = np.asarray(embedder.embed(pieces), dtype=np.float32)
            # Every chunk holds at least one token, so no budget reaches past this depth.
            ranked = rank_chunks(question_vectors, vectors, depth=max((top_k, *budgets)))
            rows.append(score_chunker(name, resolved_questions, doc_numbers, corpus, pieces, ranked, top_k=top_k,
                                      budgets=budgets, tokenizer=counter))
    return Evaluation(
        tuple(rows), tuple(resolved_questions), top_k, budgets, str(getattr(embedder, "model_id", type(embedder).__name__)),
        counter.name, resamples, seed, tuple(groups) if groups is not None else (),
    )


__all__ = [
    "BUDGETS",
    "ChunkerScores",
    "Evaluation",
    "EvidenceNotFoundError",
    "Question",
    "budget_recall",
    "chunk_spans",
    "evaluate",
    "load_questions",
    "omega_score",
    "paired_interval",
    "top_k_scores",
]
