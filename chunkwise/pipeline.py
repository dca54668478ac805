"""``prepare()``: wires the stages together and builds the report; no stage logic lives here.

raw docs -> normalize (offset map) -> dedup (kept pieces) -> chunk each kept piece -> map back to raw

A chunk never spans a removed piece, so its raw span normalizes to its text;
``Chunk.start``/``end`` are raw offsets, ``Chunk.text`` is the repaired text.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._display import HTML_ROWS, html_table, plural, preview
from ._memory import trim
from ._types import Chunk, Chunks, Document, Removed, as_documents, chunk_id
from ._options import resolve_tokenizer, stage_config
from .chunking.code import CODE_LANGUAGES
from .chunking.chunker import ChunkConfig, Strategy, chunk_documents, with_keywords
from .duplicates.removal import DedupConfig, DedupedDocument, DedupResult, dedup as run_dedup, summarize_removed
from .errors import ConfigError, InputDataError, InputTypeError
from .text.normalization import Normalized, NormalizeConfig, normalize as run_normalize
from .reporting.report import Report, ReportConfig, build_report
from .reporting.scenarios import CompressionStats, checked_report_config
from .retrieval.compression import compress
from .embedding.embedders import get_embedder
from .retrieval.index import Index


@dataclass(frozen=True)
class DedupPlan:
    """Dedup decided elsewhere for one document: the kept pieces of its repaired text and its
    removals in raw offsets (with token counts). A store run decides dedup over the whole store
    and passes each document's plan to ``prepare([document], dedup=plan)``, so the document's
    chunks are those ``prepare()`` gives on the whole list."""

    kept: tuple[tuple[int, int], ...]
    removed: tuple[Removed, ...] = ()


@dataclass(frozen=True)
class PrepareResult:
    """What ``prepare`` returns: chunks, what was removed, and the report."""

    chunks: list[Chunk]
    removed: list[Removed]
    report: Report
    documents: list[Document] = field(default_factory=list)

    def chunks_for(self, doc_id: str) -> Chunks:
        return Chunks(c for c in self.chunks if c.doc_id == doc_id)

    def __repr__(self) -> str:
        report = self.report
        return (f"<PrepareResult: {plural(len(self.chunks), 'chunk')} from {plural(report.documents, 'document')}, "
                f"{report.prepared.tokens:,} tokens in chunks against naive's {report.naive.tokens:,} "
                f"({100 * report.tokens_saved_fraction:.1f}% fewer); {plural(len(self.removed), 'span')} removed>")

    def _repr_html_(self) -> str:
        removed = [(r.reason, r.doc_id, f"{r.start}:{r.end}", r.kept_doc_id, preview(r.text, 80))
                   for r in self.removed[:HTML_ROWS]]
        return (f"<div><p>{html.escape(repr(self))}</p>" + self.report._repr_html_()
                + Chunks(self.chunks)._repr_html_()
                + (html_table(["reason", "doc_id", "raw span", "kept in", "text"], removed,
                              caption=f"{plural(len(self.removed), 'removed span')}",
                              more=max(0, len(self.removed) - HTML_ROWS)) if self.removed else "")
                + "</div>")


def _to_raw(normalized: Normalized | None, starts: Sequence[int], ends: Sequence[int]) -> tuple[list[int], list[int]]:
    if normalized is None or not starts:
        return list(starts), list(ends)
    raw_starts, raw_ends = normalized.to_raw_many(np.asarray(starts), np.asarray(ends))
    return raw_starts.tolist(), raw_ends.tolist()


def _without_outer_space(raw: str, start: int, end: int, text: str, normalized: Normalized | None) -> tuple[int, int]:
    """A raw span widened to a whole repaired stretch can begin with a space the chunk does not hold: drop it.

    Only where the span without it normalizes to the same text less outer whitespace:
    a whitespace character can also be part of a repair (NEL is the second byte of the
    mojibake "Ñ\x85" for "х").
    """
    if normalized is None or not text:
        return start, end
    new_start, new_end = start, end
    if not text[0].isspace():
        while new_start < new_end and raw[new_start].isspace():
            new_start += 1
    if not text[-1].isspace():
        while new_end > new_start and raw[new_end - 1].isspace():
            new_end -= 1
    if (new_start, new_end) == (start, end):
        return start, end
    config = normalized.config
    if run_normalize(raw[new_start:new_end], config).text.strip() == run_normalize(raw[start:end], config).text.strip():
        return new_start, new_end
    return start, end


def map_removed(removed: list[Removed], normalized: dict[str, Normalized | None]) -> list[Removed]:
    """Removed spans (and their kept copies) in raw offsets."""
    mapped = []
    for entry in removed:
        start, end = _to_raw(normalized.get(entry.doc_id), [entry.start], [entry.end])
        kept_start, kept_end = _to_raw(normalized.get(entry.kept_doc_id), [entry.kept_start], [entry.kept_end])
        mapped.append(replace(entry, start=start[0], end=end[0], kept_start=kept_start[0], kept_end=kept_end[0]))
    return mapped


def measure_compression(chunks: Sequence[Any], queries: Sequence[str], *, top_k: int, budget_tokens: int,
                        tokenizer: Any, embedder: Any = None) -> CompressionStats:
    """Index ``chunks``, retrieve ``top_k`` per query, compress each to ``budget_tokens``, and average.

    Run here, by the pipeline, and handed to the report as figures: the report only
    reports (it used to build the index and run compress itself).
    """

    queries = [q for q in queries if isinstance(q, str) and q.strip()]
    if not queries:
        raise InputDataError("queries must hold at least one non-empty string")
    if not chunks:
        raise InputDataError("there are no chunks to retrieve from")
    index = Index.build(list(chunks), embedder=embedder)
    before: list[int] = []
    after: list[int] = []
    for query, hits in zip(queries, index.search_batch(queries, top_k)):
        result = compress(query, hits, budget_tokens=budget_tokens, tokenizer=tokenizer, embedder=index.embedder)
        before.append(result.tokens_before)
        after.append(result.tokens_after)
    return CompressionStats(len(queries), top_k, budget_tokens, sum(before) / len(before), sum(after) / len(after),
                            getattr(index.embedder, "model_id", str(index.embedder)))


def _embedder(embedder: Any) -> Any:
    """An Embedder, a profile name ("fast", "balanced", "precise") resolved lazily, or None."""
    if embedder is None or not isinstance(embedder, str):
        return embedder

    return get_embedder(embedder)


def prepare(
    docs: str | Document | dict | Iterable[Any],
    *,
    model: str | None = None,
    max_tokens: int = 512,
    min_tokens: int | None = None,
    tokenizer: object = None,
    strategy: Strategy = "structural",
    profile: str = "balanced",
    embedder: Any = None,
    overlap: int = 0,
    naive_overlap: int | None = None,
    special_tokens: bool = False,
    language: str = "auto",
    embed_max_tokens: int | None = None,
    normalize: bool | NormalizeConfig = True,
    dedup: bool | DedupConfig | DedupPlan = True,
    groups: Sequence[Hashable | None] | None = None,
    config: ChunkConfig | None = None,
    gpu: str | None = None,
    queries_per_day: float | None = None,
    top_k: int | None = None,
    price: Any = None,
    report_config: ReportConfig | bool | None = None,
    queries: Sequence[str] | None = None,
    compress_budget_tokens: int | None = None,
) -> PrepareResult:
    """Prepare documents for indexing: repair, remove duplicates, chunk under a hard cap, report.

    ``docs``: a str, a Document, a dict with ``text`` (and ``id``/``metadata``),
    or an iterable of those; ids must be unique. ``model`` names the target
    LLM; its tokenizer is used when found locally, else cl100k_base with a
    ``ChunkwiseWarning`` and a note in the report. ``normalize``/``dedup``:
    True (defaults), False, or a ``NormalizeConfig``/``DedupConfig``;
    ``dedup`` may also be a ``DedupPlan``, dedup decided over a larger collection
    for the one document given (what a store run passes).
    ``strategy="semantic"`` embeds sentences with ``embedder`` (an Embedder or a
    profile name; default the ``profile`` of the config, from local files only).
    ``groups`` names the source of each document for overlap stitching
    (default: metadata ``source_id``/``source``). Chunk offsets are raw;
    ``removed`` entries point into the raw text of both documents. A chunk's
    metadata is its document's; where that has ``page_starts`` (the raw offset
    of each page, as a PDF store gives), the chunk's has ``page`` and
    ``last_page`` (1-based) instead. Chunk keywords override ``config`` (one
    left at its default keeps ``config``'s value). ``language``: as ``chunk``'s;
    with ``"auto"`` each document's ``language`` metadata decides (a store sets it
    from the file suffix). Source code keeps its whitespace, and dedup removes
    only whole duplicate documents and window overlap from it, never a line.

    The report's memory and cost figures assume a ``ReportConfig`` (``report_config=``;
    ``False`` leaves them out): ``model`` as the serving LLM (default llama-3-8b),
    ``gpu`` (default a100-80gb), ``queries_per_day`` (default 10,000), ``top_k``
    retrieved chunks per query (default 5), ``price`` (a catalog name, TokenPrice or
    mapping with a unit; default gpt-4o-mini). These are checked before any work.
    ``queries`` (sample questions) measure the context per query after
    ``compress`` to ``compress_budget_tokens`` (default 512) over an index of the
    chunks; this embeds every chunk (needs ``chunkwise[embed,index]``).
    """
    documents = as_documents(docs)
    config = with_keywords(config, prepare, max_tokens=max_tokens, min_tokens=min_tokens, overlap=overlap,
                           strategy=strategy, profile=profile, special_tokens=special_tokens, naive_overlap=naive_overlap,
                           language=language, embed_max_tokens=embed_max_tokens)
    if config.language != "auto":  # said for every document: their metadata says it to each stage
        documents = [replace(d, metadata={**d.metadata, "language": config.language}) for d in documents]
    normalize_config = stage_config(normalize, NormalizeConfig, "normalize")
    plan = dedup if isinstance(dedup, DedupPlan) else None
    if plan is not None and len(documents) != 1:
        raise ConfigError(f"a DedupPlan is one document's; got {len(documents)} documents")
    dedup_config = None if plan is not None else stage_config(dedup, DedupConfig, "dedup")
    report_options = checked_report_config(report_config, model, gpu=gpu, queries_per_day=queries_per_day, top_k=top_k,
                                           price=price, compress_budget_tokens=compress_budget_tokens)
    if queries is not None:
        queries = None if isinstance(queries, str) else list(queries)
        if queries is None or not all(isinstance(q, str) for q in queries):
            raise InputTypeError("queries must be a list of strings (sample questions for measuring compression)")
    counter, notes = resolve_tokenizer(tokenizer, model, config.special_tokens)
    counter = counter.remembering()  # the stages count the same documents: each is tokenized once for them all

    # 1. Normalize: repaired text plus the way back to raw offsets.
    normalized, repaired, fixes = normalize_all(documents, normalize_config)
    size = sum(len(d.text) for d in documents)
    trim(size)  # each stage's peak starts from what is live, not from what the last one freed

    # 2. Dedup: kept pieces of each repaired text; removals with their kept copies.
    deduped: DedupResult | None = None
    if plan is not None:
        deduped = _planned(repaired[0], plan, counter.name)
        kept_pieces = [list(plan.kept)]
        removed = list(plan.removed)
    elif dedup_config is not None:
        deduped = run_dedup(repaired, dedup_config, groups=groups, tokenizer=counter)
        kept_pieces = [list(d.kept) for d in deduped.documents]
        removed = map_removed(deduped.removed, normalized)
    else:
        kept_pieces = [[(0, len(d.text))] if d.text else [] for d in repaired]
        removed = []
    trim(size)

    # 3. Chunk every kept piece; a chunk never spans a removed one.
    # All pieces go to the chunker at once, so semantic chunking embeds every
    # sentence of the batch once, in length-sorted batches.
    kept_texts = [[text[start:end] for start, end in pieces] for text, pieces in zip((d.text for d in repaired), kept_pieces)]
    piece_documents = [Document(d.id, piece, _language_only(d)) for d, pieces in zip(documents, kept_texts) for piece in pieces]
    embedder = _embedder(embedder)  # a profile name resolves once, for chunking and the report
    piece_chunks = iter(chunk_documents(piece_documents, counter, config, embedder=embedder))
    chunks = [c for document, pieces in zip(documents, kept_pieces)
              for c in _raw_chunks(document, pieces, piece_chunks, normalized[document.id])]
    # The maps back to raw offsets and the chunks in piece offsets are spent: the report
    # needs neither (random latin-1 holds 1.3 MB of maps and 0.6 MB of chunks per MB).
    del normalized, piece_chunks, piece_documents
    trim(size)

    # 4. The report: naive windows over the raw text against these chunks, and what that costs.
    compression = None
    if queries and report_options.economics:
        # Context after compression, measured: index the chunks, retrieve top_k, compress to the budget.
        compression = measure_compression(chunks, queries, top_k=report_options.top_k,
                                          budget_tokens=report_options.compress_budget_tokens, tokenizer=counter,
                                          embedder=embedder)
    report = build_report(documents, repaired, kept_texts, chunks, counter, config, normalized=normalize_config is not None,
                          deduped=deduped, fixes=fixes, notes=notes, report_config=report_options, model_hint=model,
                          compression=compression)
    return PrepareResult(chunks=Chunks(chunks), removed=removed, report=report, documents=documents)


def _planned(repaired: Document, plan: DedupPlan, tokenizer_name: str) -> DedupResult:
    """The DedupResult a plan stands for (its removals already in raw offsets: the report reads
    only their texts and token counts)."""
    size = len(repaired.text)
    if any(not 0 <= start < end <= size for start, end in plan.kept):
        raise ConfigError(f"the DedupPlan of {repaired.id!r} keeps a span outside its repaired text of {size} characters")
    return DedupResult([DedupedDocument(repaired.id, plan.kept, repaired)], list(plan.removed),
                       summarize_removed(plan.removed, True), size, tokenizer_name)


def _language_only(document: Document) -> dict[str, Any]:
    """The metadata a piece of ``document`` is chunked with: its language, which picks prose or code units."""
    language = document.metadata.get("language")
    return {"language": language} if language is not None else {}


def normalize_all(documents: list[Document], config: NormalizeConfig | None
                   ) -> tuple[dict[str, Normalized | None], list[Document], dict[str, int]]:
    """Each document repaired, the way back to its raw offsets (None where they are unchanged), and the
    repairs counted by category."""
    normalized: dict[str, Normalized | None] = {}
    repaired: list[Document] = []
    fixes: dict[str, int] = {}
    code_config: NormalizeConfig | None = None  # made on the first code document (most batches have none)
    for document in documents:
        # Source code keeps its whitespace: indentation and aligned columns are its syntax.
        chosen = config
        if config is not None and document.metadata.get("language") in CODE_LANGUAGES:
            code_config = code_config or replace(config, collapse_whitespace=False)
            chosen = code_config
        result = run_normalize(document.text, chosen) if chosen is not None else None
        # An unchanged text can still have stretches judged as a whole (a segment ftfy left
        # alone), whose inside offsets map to their ends.
        keeps_offsets = result is None or not (result.changed or result.alignment.maps)
        normalized[document.id] = None if keeps_offsets else result
        if result is not None:
            for category, count in result.fixes.items():
                fixes[category] = fixes.get(category, 0) + count
        text = result.text if result is not None else document.text
        repaired.append(Document(document.id, text, document.metadata))
    return normalized, repaired, fixes


def _raw_chunks(document: Document, pieces: list[tuple[int, int]], piece_chunks: Iterator[list[Chunk]],
                normalized: Normalized | None) -> list[Chunk]:
    """One document's chunks, from the chunks of its kept pieces (next of ``piece_chunks`` per piece),
    with raw offsets, indices and ids."""
    starts: list[int] = []
    ends: list[int] = []
    pieces_chunks: list[Chunk] = []
    for piece_start, _piece_end in pieces:
        for c in next(piece_chunks):
            pieces_chunks.append(c)
            starts.append(piece_start + c.start)
            ends.append(piece_start + c.end)
    raw_starts, raw_ends = _to_raw(normalized, starts, ends)
    repeats: dict[tuple[int, int, str], int] = {}
    chunks = []
    pages = _Pages.of(document.metadata)
    for index, (c, raw_start, raw_end) in enumerate(zip(pieces_chunks, raw_starts, raw_ends)):
        raw_start, raw_end = _without_outer_space(document.text, raw_start, raw_end, c.text, normalized)
        # Chunks cut inside one stretch repaired as a whole share its span, and can share a text.
        repeat = repeats.get((raw_start, raw_end, c.text), 0)
        repeats[(raw_start, raw_end, c.text)] = repeat + 1
        chunks.append(
            Chunk(c.text, raw_start, raw_end, c.token_count, document.id, index,
                  chunk_id(document.id, raw_start, raw_end, c.text, repeat),
                  document.metadata if pages is None else pages.metadata(raw_start, raw_end))
        )
    return chunks


@dataclass(frozen=True)
class _Pages:
    """A document's ``page_starts`` (raw offsets where each page begins, as the PDF reader gives them):
    each chunk's metadata names its first and last page (1-based) instead of holding the list."""

    starts: tuple[int, ...]
    rest: dict[str, Any]

    @classmethod
    def of(cls, metadata: dict[str, Any]) -> _Pages | None:
        starts = metadata.get("page_starts")
        if not isinstance(starts, (list, tuple)) or not starts or not all(isinstance(s, int) for s in starts):
            return None
        return cls(tuple(starts), {key: value for key, value in metadata.items() if key != "page_starts"})

    def metadata(self, start: int, end: int) -> dict[str, Any]:
        first = max(1, bisect.bisect_right(self.starts, start))
        last = max(first, bisect.bisect_right(self.starts, max(start, end - 1)))
        return {**self.rest, "page": first, "last_page": last}


__all__ = ["prepare", "PrepareResult", "DedupPlan"]
