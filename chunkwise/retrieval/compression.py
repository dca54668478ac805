"""Fit retrieved passages into a token budget by keeping the sentences that answer the query.

``compress(query, passages, budget_tokens=...)`` scores every sentence of the
passages against the query (BM25 with IDF over the candidate sentences, plus
embedding cosine), lifts sentences whose neighbours or whose passage score
well (an answer often sits next to the sentence that names the question's
subject), then selects greedily with a redundancy penalty (MMR) until the
budget is full. Kept sentences stay in their original order and grouped by
passage. Chunks or index hits of one document whose offsets overlap are
stitched into one passage first, so their shared text is neither scored nor
emitted twice. The final text is counted with the tokenizer and never exceeds
the budget, separators included.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

from ._bm25 import BM25, terms
from .._display import plural, preview
from .._types import Chunk
from ..errors import ConfigError, InputDataError, InputTypeError
from ..text.segmentation import sentences_within
from ..embedding.embedders import get_embedder
from .index import Hit
from ..tokens import get_tokenizer

Fusion = Literal["sum", "rrf"]
_RRF_K = 60.0


@dataclass(frozen=True)
class CompressConfig:
    """How sentences are scored and chosen. Defaults were measured on NQ (benchmarks/eval_compress.py).

    ``lexical_weight``: share of BM25 in a sentence's relevance (the rest is
    embedding cosine). ``fusion``: ``"sum"`` of min-max normalised scores or
    reciprocal-rank fusion ``"rrf"``. ``neighbour_weight``: how much of the
    best adjacent sentence's relevance a sentence inherits. ``passage_weight``:
    how much its passage's relevance adds. ``lead_weight``: how much of its
    passage's best sentence a passage's first sentence inherits (it names
    what later sentences refer to). ``mmr_lambda``: 1.0 is pure
    relevance; lower trades relevance for novelty. ``duplicate_cosine``: a
    sentence this close to a kept one is never added. ``min_relevance``: a
    sentence whose raw relevance (cosine to the query; the matched share of
    query terms without an embedder) is below it is never kept, so nothing
    relevant gives an empty result. ``separator`` goes between passages.
    ``max_sentence_chars`` splits longer units at spaces (a 1 MB line becomes
    pieces); ``max_embedded_sentences`` caps how many sentences are embedded
    per call (the lexically best ones and their neighbours). 2,048 is 16 times
    the sentences of five retrieved 512-token chunks (some 128), so only a
    passage of about 200 KB reaches it; their vectors are 3 MB (4,096 held 6 MB, most of the
    memory of compressing a 1 MB passage).
    """

    lexical_weight: float = 0.15
    fusion: Fusion = "sum"
    neighbour_weight: float = 0.25
    passage_weight: float = 1.0
    lead_weight: float = 0.3
    mmr_lambda: float = 0.85
    duplicate_cosine: float = 0.97
    min_relevance: float | None = None
    separator: str = "\n\n"
    max_sentence_chars: int = 600
    max_embedded_sentences: int = 2048

    def __post_init__(self) -> None:
        for name in ("lexical_weight", "mmr_lambda"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
        for name in ("neighbour_weight", "passage_weight", "lead_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 10.0:
                raise ConfigError(f"{name} must be in [0, 10], got {value!r}")
        if self.fusion not in ("sum", "rrf"):
            raise ConfigError(f"fusion must be 'sum' or 'rrf', got {self.fusion!r}")
        if not isinstance(self.duplicate_cosine, (int, float)) or not 0.0 < self.duplicate_cosine <= 1.0:
            raise ConfigError(f"duplicate_cosine must be in (0, 1], got {self.duplicate_cosine!r}")
        if self.min_relevance is not None and (
            not isinstance(self.min_relevance, (int, float)) or not -1.0 <= self.min_relevance <= 1.0
        ):
            raise ConfigError(f"min_relevance must be None or in [-1, 1], got {self.min_relevance!r}")
        if not isinstance(self.separator, str) or not self.separator:
            raise ConfigError("separator must be a non-empty str (it goes between passages)")
        if not isinstance(self.max_sentence_chars, int) or self.max_sentence_chars < 16:
            raise ConfigError(f"max_sentence_chars must be an int >= 16, got {self.max_sentence_chars!r}")
        if not isinstance(self.max_embedded_sentences, int) or self.max_embedded_sentences < 1:
            raise ConfigError(f"max_embedded_sentences must be an int >= 1, got {self.max_embedded_sentences!r}")


@dataclass(frozen=True)
class Compressed:
    """The compressed context and what it kept.

    ``kept[i]`` lists the ``(start, end)`` character spans of passage ``i``'s
    text that are in ``text`` (in order; text shared with an earlier stitched
    passage is attributed to that one). ``truncated`` is True when even the
    best sentence did not fit and was cut at a token boundary.
    """

    text: str
    tokens_before: int
    tokens_after: int
    kept: tuple[tuple[tuple[int, int], ...], ...]
    truncated: bool
    budget_tokens: int
    sentences_total: int = 0
    sentences_kept: int = 0
    duplicates_dropped: int = 0
    passages_stitched: int = 0

    @property
    def ratio(self) -> float:
        """tokens_after / tokens_before (0 when there was nothing)."""
        return self.tokens_after / self.tokens_before if self.tokens_before else 0.0

    def __repr__(self) -> str:
        cut = ", the best sentence cut to fit" if self.truncated else ""
        return (f"<Compressed: {self.tokens_before:,} -> {self.tokens_after:,} tokens (budget {self.budget_tokens:,}), "
                f"{self.sentences_kept:,} of {plural(self.sentences_total, 'sentence')} kept{cut}; text={preview(self.text)}>")

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "budget_tokens": self.budget_tokens,
            "truncated": self.truncated,
            "kept": [[list(span) for span in spans] for spans in self.kept],
            "sentences_total": self.sentences_total,
            "sentences_kept": self.sentences_kept,
            "duplicates_dropped": self.duplicates_dropped,
            "passages_stitched": self.passages_stitched,
        }


# ---------------------------------------------------------------- passages in


@dataclass
class _Source:
    """One input passage, as compress sees it."""

    position: int
    text: str
    doc_id: str | None = None
    start: int | None = None  # exact character offset into its document, when known
    spans: np.ndarray | None = None  # stored sentence spans (relative to text)
    vectors: np.ndarray | None = None  # stored sentence vectors, rows matching spans
    model_id: str | None = None
    prior: float | None = None  # the index's cosine of the whole passage to the query, for hits

    @property
    def end(self) -> int:
        return (self.start or 0) + len(self.text)


@dataclass
class _Group:
    """One passage after stitching: a run of document text covered by one or more sources."""

    members: list[_Source]
    text: str
    start: int | None  # offset of text in the document, when stitched by offsets
    order: int = 0
    sentences: list[tuple[int, int]] = field(default_factory=list)


def _as_source(position: int, passage: Any) -> _Source:
    if isinstance(passage, str):
        return _Source(position, passage)
    if isinstance(passage, Hit):
        chunk = passage.chunk
        exact = chunk.end - chunk.start == len(chunk.text)
        return _Source(
            position,
            chunk.text,
            chunk.doc_id,
            chunk.start if exact else None,
            passage.sentence_spans,
            passage.sentence_vectors,
            passage.model_id,
            float(passage.score),
        )
    if isinstance(passage, Chunk):
        exact = passage.end - passage.start == len(passage.text)
        return _Source(position, passage.text, passage.doc_id, passage.start if exact else None)
    raise InputTypeError(
        f"passage #{position} is a {type(passage).__name__}; passages must be str, chunkwise.Chunk or chunkwise.retrieval.index.Hit"
    )


def _stitch(sources: list[_Source]) -> list[_Group]:
    """Merge sources of one document whose offsets overlap or touch; keep the rest as they are.

    A merge happens only when the shared characters agree, so chunks whose text
    was normalized away from the raw offsets are never glued wrongly.
    """
    groups: list[_Group] = []
    by_doc: dict[str, list[_Source]] = {}
    for source in sources:
        if source.doc_id is not None and source.start is not None:
            by_doc.setdefault(source.doc_id, []).append(source)
        else:
            groups.append(_Group([source], source.text, None, source.position))
    for members in by_doc.values():
        members.sort(key=lambda s: (s.start, -len(s.text)))
        current: _Group | None = None
        for source in members:
            if current is not None and current.start is not None:
                current_end = current.start + len(current.text)
                if source.start <= current_end:
                    offset = source.start - current.start
                    shared = min(len(source.text), current_end - source.start)
                    if current.text[offset : offset + shared] == source.text[:shared]:
                        current.text += source.text[shared:]
                        current.members.append(source)
                        current.order = min(current.order, source.position)
                        continue
            current = _Group([source], source.text, source.start, source.position)
            groups.append(current)
    groups.sort(key=lambda g: g.order)
    return groups


# ---------------------------------------------------------------- scoring


_EMBED_BLOCK = 256
"""Sentences embedded per call when compressing. Each call's arrays (the cache's lookup rows, the
model's output, the static embedder's sums) live beside the store of all embedded vectors:
compress of 1 MB of random latin-1 (11,600 sentences, 2,048 embedded), empty cache, peaked
13.0 MB above its start with blocks of 1,024 and 8.4 MB with 256, at the same speed and with
the same output (the static embedder's vectors do not depend on the block; a transformer batches
them its own way within a call)."""


class _RowVectors:
    """Vectors of the sentences that have one (at most ``max_embedded_sentences`` embedded now, plus
    stored ones), not a zero row for every other sentence of a huge passage."""

    def __init__(self, count: int, rows: list[int], dimension: int) -> None:
        self.rows = np.asarray(rows, dtype=np.int64)
        self.vectors = np.zeros((len(rows), dimension), dtype=np.float32)
        self.position = np.full(count, -1, dtype=np.int64)
        self.position[self.rows] = np.arange(len(rows))

    def put(self, rows: list[int], vectors: Any) -> None:
        self.vectors[self.position[rows]] = vectors

    def cosines(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine of each sentence to the query; a sentence without a vector gets the lowest one found."""
        found = self.vectors @ query_vector
        cosine = np.full(self.position.size, float(found.min()) if found.size else 0.0, dtype=found.dtype)
        cosine[self.rows] = found
        return cosine

    def similarities(self, row: int) -> np.ndarray:
        """Cosine of every sentence to sentence ``row`` (0 where either has no vector)."""
        similarity = np.zeros(self.position.size, dtype=np.float32)
        if self.position[row] >= 0:
            similarity[self.rows] = self.vectors @ self.vectors[self.position[row]]
        return similarity


def _minmax(values: np.ndarray) -> np.ndarray:
    if not values.size:
        return values
    low, high = float(values.min()), float(values.max())
    if high - low <= 1e-12:
        return np.ones_like(values) if high > 0 else np.zeros_like(values)
    return (values - low) / (high - low)


def _rank_scores(values: np.ndarray) -> np.ndarray:
    """Reciprocal-rank weights 1 / (k + rank), ties sharing the better rank."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    return 1.0 / (_RRF_K + ranks)


def _fuse(embedding: np.ndarray | None, lexical: np.ndarray, config: CompressConfig) -> np.ndarray:
    if embedding is None:
        return _minmax(lexical)
    if config.fusion == "rrf":
        weight = config.lexical_weight
        fused = (1.0 - weight) * _rank_scores(embedding) + weight * _rank_scores(lexical)
        # no lexical evidence at all should not earn rank credit
        if not lexical.any():
            fused = _rank_scores(embedding)
        return _minmax(fused)
    return (1.0 - config.lexical_weight) * _minmax(embedding) + config.lexical_weight * _minmax(lexical)


def _resolve_embedder(embedder: Any) -> Any:
    if embedder is False:
        return None
    if embedder is None or isinstance(embedder, str):
        return get_embedder(embedder or "balanced")
    if not hasattr(embedder, "embed") or not hasattr(embedder, "model_id"):
        raise InputTypeError(
            f"embedder must be None, a profile name, False (lexical only) or an Embedder, got {type(embedder).__name__}"
        )
    return embedder


def _embeddable_head(embedder: Any, texts: list[str]) -> list[str]:
    """Heads of ``texts`` within the embedder's sequence limit, so no text is silently cut by the model."""
    limit = int(getattr(embedder, "max_seq_length", 1 << 30))
    heads = [text[: limit * 8] for text in texts]
    if limit >= 1 << 20 or not hasattr(embedder, "token_counts"):
        return heads
    for _ in range(4):
        counts = embedder.token_counts(heads)
        over = [i for i, c in enumerate(counts) if c > limit]
        if not over:
            break
        for i in over:
            heads[i] = heads[i][: max(1, int(len(heads[i]) * 0.9 * limit / counts[i]))]
    return heads


def _passage_cosines(embedder: Any, groups: list[_Group], query_vector: np.ndarray, model_id: str | None) -> np.ndarray:
    """Cosine of each passage (its head, within the embedder's limit) to the query; hits reuse their score."""
    cosines = np.zeros(len(groups), dtype=np.float64)
    missing = []
    for index, group in enumerate(groups):
        priors = [m.prior for m in group.members if m.prior is not None and m.model_id == model_id]
        if model_id is not None and len(priors) == len(group.members):
            cosines[index] = max(priors)
        else:
            missing.append(index)
    if missing:
        vectors = embedder.embed(_embeddable_head(embedder, [groups[i].text for i in missing]))
        cosines[missing] = np.asarray(vectors, dtype=np.float32) @ query_vector
    return cosines


def _truncate(tokenizer: Any, text: str, budget: int) -> str:
    """The longest prefix of ``text`` (cut at a token start when the tokenizer knows them) within ``budget``."""
    starts = tokenizer.token_starts(text)
    cuts = sorted(set(starts[1:])) + [len(text)] if starts else list(range(1, len(text) + 1))
    low, high, best = 0, len(cuts) - 1, ""
    while low <= high:
        middle = (low + high) // 2
        candidate = text[: cuts[middle]].rstrip()
        if tokenizer.count(candidate) <= budget:
            best = candidate if len(candidate) > len(best) else best
            low = middle + 1
        else:
            high = middle - 1
    return best


def _join(groups: list[_Group], chosen: dict[int, list[int]], texts: list[str], spans: _Spans, separator: str) -> str:
    """Kept sentences in order, a newline where the original had one between them, passages apart."""
    blocks = []
    for group_index in sorted(chosen):
        group = groups[group_index]
        parts: list[str] = []
        previous_end = None
        for row in sorted(chosen[group_index], key=lambda r: spans[r][1]):
            _, start, end = spans[row]
            if previous_end is not None:
                gap = group.text[previous_end:start] if previous_end <= start else ""
                parts.append("\n" if "\n" in gap else " ")
            parts.append(texts[row])
            previous_end = end
        blocks.append("".join(parts))
    return separator.join(blocks)


def _attribute(groups: list[_Group], sources_count: int, kept_spans: list[tuple[int, int, int]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Map kept group spans back to input passages; shared text goes to the earliest passage."""
    kept: list[list[tuple[int, int]]] = [[] for _ in range(sources_count)]
    for group_index, start, end in kept_spans:
        group = groups[group_index]
        if group.start is None:
            kept[group.members[0].position].append((start, end))
            continue
        remaining = [(group.start + start, group.start + end)]
        for member in sorted(group.members, key=lambda s: s.position):
            next_remaining = []
            for low, high in remaining:
                a, b = max(low, member.start), min(high, member.end)
                if a < b:
                    kept[member.position].append((a - member.start, b - member.start))
                    if low < a:
                        next_remaining.append((low, a))
                    if b < high:
                        next_remaining.append((b, high))
                else:
                    next_remaining.append((low, high))
            remaining = next_remaining
            if not remaining:
                break
    return tuple(tuple(sorted(spans)) for spans in kept)


# ---------------------------------------------------------------- the entry point


class _Spans:
    """(group, start, end) of each candidate sentence, in three int64 arrays: a tuple of three
    ints per sentence was 130 bytes, most of the records of a huge passage's sentences."""

    def __init__(self) -> None:
        self.group = array("q")
        self.start = array("q")
        self.end = array("q")

    def append(self, group: int, start: int, end: int) -> None:
        self.group.append(group)
        self.start.append(start)
        self.end.append(end)

    def __getitem__(self, row: int) -> tuple[int, int, int]:
        return self.group[row], self.start[row], self.end[row]

    def __len__(self) -> int:
        return len(self.group)


def _candidates(groups: list[_Group], model_id: str | None,
                max_sentence_chars: int) -> tuple[list[str], _Spans, list[np.ndarray | None], int]:
    """The sentences compression chooses from: (texts, (group, start, end) spans into each group's text,
    stored vectors where a single unstitched hit already has them, exact repeats dropped).

    Exact repeats (after whitespace and case folding) are kept once, the first in
    passage order; they are dropped as they come, so a passage of repeated lines never
    holds a record per line.
    """
    texts: list[str] = []
    spans = _Spans()  # (group, start, end) into group.text
    vectors_known: list[np.ndarray | None] = []
    seen: set[str] = set()
    duplicates = 0
    for group_index, group in enumerate(groups):
        stored: dict[tuple[int, int], np.ndarray] = {}
        for member in group.members:
            if member.spans is not None and member.vectors is not None and member.model_id == model_id and model_id is not None:
                shift = (member.start - group.start) if group.start is not None else 0
                for (a, b), vector in zip(member.spans.tolist(), member.vectors):
                    stored[(a + shift, b + shift)] = vector
        if len(group.members) == 1 and group.members[0].spans is not None:
            sentence_spans: Iterable[tuple[int, int]] = [(int(a), int(b)) for a, b in group.members[0].spans.tolist()]
        else:
            sentence_spans = sentences_within(group.text, max_sentence_chars)
        for start, end in sentence_spans:
            text = group.text[start:end]
            if not text.strip():
                continue
            key = " ".join(text.lower().split())
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            texts.append(text)
            spans.append(group_index, start, end)
            vectors_known.append(stored.get((start, end)))
    return texts, spans, vectors_known, duplicates


def _greedy_mmr(score: np.ndarray, eligible: np.ndarray, costs: np.ndarray, separator_cost: int, remaining: int,
                lam: float, sentence_vectors: _RowVectors | None,
                duplicate_cosine: float) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Greedy MMR under the budget: (chosen rows in order, still available, redundancy of each row).

    Each sentence is charged one separator (conservative); the caller then counts the
    assembled text exactly. A sentence this close to a chosen one is never added.
    """
    redundancy = np.zeros(score.shape[0], dtype=np.float64)
    available = eligible.copy()
    chosen_rows: list[int] = []
    while True:
        fits = available & (costs + separator_cost <= remaining)
        if not fits.any():
            break
        value = lam * score - (1.0 - lam) * redundancy
        value[~fits] = -np.inf
        row = int(np.argmax(value))
        chosen_rows.append(row)
        available[row] = False
        remaining -= int(costs[row]) + separator_cost
        if sentence_vectors is not None:
            similarity = sentence_vectors.similarities(row)
            redundancy = np.maximum(redundancy, similarity)
            available &= ~(similarity >= duplicate_cosine)
    return chosen_rows, available, redundancy


def _sentence_vectors(embedder: Any, query: str, query_vector: np.ndarray | None, texts: list[str],
                      vectors_known: list[np.ndarray | None], lexical: np.ndarray, config: CompressConfig
                      ) -> tuple[_RowVectors, np.ndarray]:
    """Vectors of the candidate sentences (stored ones where they match this embedder, at most
    ``max_embedded_sentences`` embedded now) and the query's vector."""
    count = len(texts)
    dimension = int(embedder.dimension)
    known = {row: v for row, v in enumerate(vectors_known) if v is not None and v.shape == (dimension,)}
    missing = [row for row in range(count) if row not in known]
    if len(missing) > config.max_embedded_sentences:
        # Too many to embed in one call (a huge passage): the lexically best and their neighbours.
        order = sorted(missing, key=lambda r: -lexical[r])
        wanted: set[int] = set()
        for row in order:
            wanted.update((row - 1, row, row + 1))
            if len(wanted) >= config.max_embedded_sentences:
                break
        missing = [row for row in missing if row in wanted]
    sentence_vectors = _RowVectors(count, sorted([*known, *missing]), dimension)
    for row, vector in known.items():
        sentence_vectors.put([row], vector)
    if query_vector is not None:
        query_vector = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        if query_vector.shape != (dimension,):
            raise InputDataError(f"query_vector must have shape ({dimension},), got {query_vector.shape}")
    # A block of sentences per call (the query rides with the first), each block's vectors
    # stored as they come: the embedder's output for 4,096 sentences beside their store
    # was 12 MB, a 1 MB passage's memory twice over.
    for block in range(0, max(len(missing), 1), _EMBED_BLOCK):
        rows = missing[block : block + _EMBED_BLOCK]
        asks_query = query_vector is None  # set by the first block's call
        if not rows and not asks_query:
            break
        found = embedder.embed(([query] if asks_query else []) + [texts[row] for row in rows])
        if asks_query:
            query_vector = np.asarray(found[0], dtype=np.float32)
        if rows:
            sentence_vectors.put(rows, found[1:] if asks_query else found)
        del found
    return sentence_vectors, query_vector


def _sentence_scores(cosine: np.ndarray | None, lexical: np.ndarray, group_lexical: np.ndarray, group_of: np.ndarray,
                     group_count: int, config: CompressConfig, group_cosine: np.ndarray | None) -> np.ndarray:
    """Each candidate's score in [0, 1]: its relevance, its neighbours', its passage's lead and its passage's."""
    count = len(lexical)
    relevance = _fuse(cosine, lexical, config)
    # Passage relevance: its BM25 and the cosine of the whole passage (the index's score for a hit).
    group_relevance = _fuse(group_cosine, group_lexical, config) if group_cosine is not None else _minmax(group_lexical)
    # Neighbours: a sentence inherits part of the better of its two neighbours in the same passage.
    neighbour = np.zeros(count, dtype=np.float64)
    if count > 1:
        same_prev = group_of[1:] == group_of[:-1]
        left = np.where(same_prev, relevance[:-1], 0.0)
        neighbour[1:] = np.maximum(neighbour[1:], left)
        neighbour[:-1] = np.maximum(neighbour[:-1], np.where(same_prev, relevance[1:], 0.0))
    # The lead: a passage's first sentence usually names what its later sentences say "he" or "it"
    # about, so it inherits part of the passage's best sentence.
    lead = np.zeros(count, dtype=np.float64)
    if config.lead_weight and count:
        best_in_group = np.zeros(group_count, dtype=np.float64)
        np.maximum.at(best_in_group, group_of, relevance)
        first_rows = np.flatnonzero(np.r_[True, group_of[1:] != group_of[:-1]])
        lead[first_rows] = best_in_group[group_of[first_rows]]
    score = (
        relevance
        + config.neighbour_weight * neighbour
        + config.lead_weight * lead
        + config.passage_weight * group_relevance[group_of]
    )
    score = score / score.max() if score.max() > 0 else score
    return score


def _checked_arguments(query: Any, passages: Any, budget_tokens: Any, config: Any, options: dict[str, Any]) -> CompressConfig:
    """``config`` with ``options`` over it (keywords override, as for every other function), once
    every argument is known good; a bad one is an error naming it."""
    known = sorted(f.name for f in fields(CompressConfig))
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InputTypeError(f"compress() got unknown options {unknown}; options are {known}")
    if config is not None and not isinstance(config, CompressConfig):
        raise InputTypeError(f"config must be a CompressConfig, got {type(config).__name__}")
    config = replace(config, **options) if config is not None else CompressConfig(**options)
    if not isinstance(query, str):
        raise InputTypeError(f"query must be a str, got {type(query).__name__}")
    if not query.strip():
        raise InputDataError("query is empty; compress needs the question the passages should answer")
    if isinstance(budget_tokens, bool) or not isinstance(budget_tokens, int):
        raise InputTypeError(f"budget_tokens must be an int, got {type(budget_tokens).__name__}")
    if budget_tokens < 1:
        raise ConfigError(f"budget_tokens must be >= 1, got {budget_tokens}; use chunkwise.plan_budget() to size it")
    if isinstance(passages, (str, bytes)) or not isinstance(passages, Sequence):
        raise InputTypeError(f"passages must be a list of str, Chunk or Hit, got {type(passages).__name__}")
    return config


def _fit(chosen_rows: list[int], available: np.ndarray, redundancy: np.ndarray, score: np.ndarray, eligible: np.ndarray,
         costs: np.ndarray, lam: float, budget_tokens: int, tokenizer: Any, groups: list[_Group], group_of: np.ndarray,
         texts: list[str], spans: _Spans, separator: str
         ) -> tuple[str, int, list[tuple[int, int, int]], list[int], bool]:
    """The MMR choice joined and held to the budget by real counts: the weakest dropped while over,
    then the room the separator charge left filled; with no choice, the best sentence truncated.
    Returns the text, its tokens, the kept spans, the rows and whether a sentence was truncated."""
    def assemble(rows: list[int]) -> str:
        chosen: dict[int, list[int]] = {}
        for r in rows:
            chosen.setdefault(int(group_of[r]), []).append(r)
        return _join(groups, chosen, texts, spans, separator)

    truncated = False
    kept_spans: list[tuple[int, int, int]]
    if chosen_rows:
        text = assemble(chosen_rows)
        tokens_after = tokenizer.count(text)
        while tokens_after > budget_tokens and len(chosen_rows) > 1:
            chosen_rows.remove(min(chosen_rows, key=lambda r: score[r]))
            text = assemble(chosen_rows)
            tokens_after = tokenizer.count(text)
        # Fill what the conservative separator charge left over, checking the real count each time.
        value = lam * score - (1.0 - lam) * redundancy
        for row in np.argsort(-value, kind="stable")[:64]:
            row = int(row)
            if not available[row] or costs[row] > budget_tokens - tokens_after:
                continue
            trial = assemble(chosen_rows + [row])
            trial_tokens = tokenizer.count(trial)
            if trial_tokens <= budget_tokens:
                chosen_rows.append(row)
                available[row] = False
                text, tokens_after = trial, trial_tokens
        kept_spans = [spans[r] for r in chosen_rows]
    else:
        candidates = np.flatnonzero(eligible)
        best = int(candidates[np.argmax(score[candidates])])
        text = _truncate(tokenizer, texts[best], budget_tokens)
        tokens_after = tokenizer.count(text) if text else 0
        truncated = True
        group_index, start, _ = spans[best]
        kept_spans = [(group_index, start, start + len(text))] if text else []
        chosen_rows = [best] if text else []
    return text, tokens_after, kept_spans, chosen_rows, truncated


def compress(
    query: str,
    passages: Sequence[Any],
    *,
    budget_tokens: int,
    tokenizer: Any = None,
    special_tokens: bool = False,
    embedder: Any = None,
    config: CompressConfig | None = None,
    query_vector: np.ndarray | None = None,
    **options: Any,
) -> Compressed:
    """Keep the sentences of ``passages`` that answer ``query``, within ``budget_tokens``.

    ``passages``: strings, ``Chunk`` objects or ``Hit`` objects from
    ``Index.search`` (hits carry stored sentence vectors, so a call costs one
    query embedding plus arithmetic). ``tokenizer``: anything
    ``get_tokenizer`` accepts (default cl100k_base); the budget is in its
    tokens and holds for the final text, separators included, and the
    tokenizer's special tokens too with ``special_tokens=True`` (or a
    Tokenizer built with it), as a prompt template that adds them would count.
    ``embedder``: an Embedder, a profile name, None (the ``balanced`` profile)
    or False (lexical scoring only). ``query_vector``: the query already
    embedded by the same embedder (e.g. for the search), saving that call. Options of ``CompressConfig``
    (``min_relevance=0.3``, ``mmr_lambda=...``) may be passed as keywords; they override ``config``.
    """
    config = _checked_arguments(query, passages, budget_tokens, config, options)

    tokenizer = get_tokenizer(tokenizer, special_tokens=special_tokens)
    sources = [_as_source(position, passage) for position, passage in enumerate(passages)]
    empty_kept = tuple(() for _ in sources)
    nonblank = [s for s in sources if s.text.strip()]
    if not nonblank:
        return Compressed("", 0, 0, empty_kept, False, budget_tokens)
    tokens_before = tokenizer.overhead + sum(tokenizer.estimate_content_count_batch(
        [config.separator.join(s.text for s in sources if s.text.strip())]))

    groups = _stitch(nonblank)
    embedder = _resolve_embedder(embedder)
    model_id = getattr(embedder, "model_id", None)

    texts, spans, vectors_known, duplicates = _candidates(groups, model_id, config.max_sentence_chars)
    count = len(texts)
    group_of = np.array(spans.group, dtype=np.int64)

    # Lexical relevance: BM25 of the query against sentences and against whole passages.
    # Postings are kept for the query's terms only (a 1 MB passage has a million distinct bigrams).
    query_terms = terms(query)
    sentence_bm25 = BM25((terms(t) for t in texts), vocabulary=frozenset(query_terms))
    lexical = sentence_bm25.scores(query_terms)
    group_lexical = sentence_bm25.grouped(group_of, len(groups)).scores(query_terms)

    # Embedding relevance: stored vectors where they match this embedder, the rest embedded now.
    sentence_vectors: _RowVectors | None = None
    cosine = None
    if embedder is not None:
        sentence_vectors, query_vector = _sentence_vectors(embedder, query, query_vector, texts, vectors_known, lexical, config)
        cosine = sentence_vectors.cosines(query_vector)

    score = _sentence_scores(cosine, lexical, group_lexical, group_of, len(groups), config,
                             _passage_cosines(embedder, groups, query_vector, model_id) if embedder is not None else None)

    eligible = np.ones(count, dtype=bool)
    if config.min_relevance is not None:
        raw = cosine if cosine is not None else sentence_bm25.matched_fraction(query_terms)
        eligible = raw >= config.min_relevance
        if not eligible.any():
            return Compressed("", tokens_before, 0, empty_kept, False, budget_tokens, count, 0, duplicates, _stitched(groups))

    costs = np.asarray(tokenizer.content_count_batch(texts), dtype=np.int64)
    separator_cost = max(tokenizer.content_count(config.separator), 1)
    overhead = tokenizer.overhead

    lam = config.mmr_lambda
    chosen_rows, available, redundancy = _greedy_mmr(score, eligible, costs, separator_cost, budget_tokens - overhead,
                                                     lam, sentence_vectors, config.duplicate_cosine)

    text, tokens_after, kept_spans, chosen_rows, truncated = _fit(
        chosen_rows, available, redundancy, score, eligible, costs, lam, budget_tokens, tokenizer, groups, group_of, texts,
        spans, config.separator)
    if tokens_after > budget_tokens:  # _fit cannot leave this; a tokenizer that is not monotone could
        raise AssertionError(f"compress produced {tokens_after} tokens for a budget of {budget_tokens}")
    kept = _attribute(groups, len(sources), sorted(kept_spans))
    return Compressed(
        text, tokens_before, tokens_after, kept, truncated, budget_tokens, count, len(chosen_rows), duplicates, _stitched(groups)
    )


def _stitched(groups: list[_Group]) -> int:
    return sum(len(g.members) - 1 for g in groups)


__all__ = ["compress", "Compressed", "CompressConfig"]
