"""``prepare()``: wires the stages together and builds the report; no stage logic lives here."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ._types import Chunk, Document, Removed, as_documents
from .chunking import ChunkConfig, Strategy, chunk_document
from .errors import ChunkwiseWarning, TokenizerNotFoundError
from .report import Report, split_stats
from .tokens import DEFAULT_TOKENIZER, Tokenizer, get_tokenizer


@dataclass(frozen=True)
class PrepareResult:
    """What ``prepare`` returns: chunks, what was removed, and the report."""

    chunks: list[Chunk]
    removed: list[Removed]
    report: Report
    documents: list[Document] = field(default_factory=list)

    def chunks_for(self, doc_id: str) -> list[Chunk]:
        return [c for c in self.chunks if c.doc_id == doc_id]


def resolve_tokenizer(tokenizer: object, model: str | None, special_tokens: bool) -> tuple[Tokenizer, list[str]]:
    """The tokenizer to count with, and notes on any fallback."""
    if tokenizer is not None or model is None:
        return get_tokenizer(tokenizer, special_tokens=special_tokens), []
    try:
        return get_tokenizer(model, special_tokens=special_tokens), []
    except TokenizerNotFoundError:
        note = (
            f"the tokenizer of {model!r} is not available locally; counts use {DEFAULT_TOKENIZER} "
            "(pass tokenizer= a local tokenizer.json for exact counts)"
        )
        warnings.warn(note, ChunkwiseWarning, stacklevel=3)
        return get_tokenizer(None, special_tokens=special_tokens), [note]


def prepare(
    docs: str | Document | dict | Iterable[Any],
    *,
    model: str | None = None,
    max_tokens: int = 512,
    min_tokens: int | None = None,
    tokenizer: object = None,
    strategy: Strategy = "structural",
    overlap: int = 0,
    naive_overlap: int | None = None,
    special_tokens: bool = False,
    config: ChunkConfig | None = None,
) -> PrepareResult:
    """Prepare documents for indexing: chunk under a hard token cap and report against naive splitting.

    ``docs``: a str, a Document, a dict with ``text`` (and ``id``/``metadata``),
    or an iterable of those; ids must be unique. ``model`` names the target
    LLM; its tokenizer is used when found locally, else cl100k_base with a
    ``ChunkwiseWarning`` and a note in the report.
    """
    documents = as_documents(docs)
    if config is None:
        config = ChunkConfig(
            max_tokens=max_tokens,
            min_tokens=min_tokens,
            overlap=overlap,
            strategy=strategy,
            special_tokens=special_tokens,
            naive_overlap=naive_overlap,
        )
    counter, notes = resolve_tokenizer(tokenizer, model, config.special_tokens)
    naive_config = ChunkConfig(
        max_tokens=config.max_tokens, strategy="naive", naive_overlap=config.naive_overlap, special_tokens=config.special_tokens
    )
    chunks: list[Chunk] = []
    naive_counts: list[int] = []
    for document in documents:
        chunks.extend(
            Chunk(c.text, c.start, c.end, c.token_count, c.doc_id, c.index, c.id, document.metadata)
            for c in chunk_document(document.text, document.id, counter, config)
        )
        naive_counts.extend(c.token_count for c in chunk_document(document.text, document.id, counter, naive_config))
    raw_tokens = sum(counter.content_count_batch([d.text for d in documents]))
    report = Report(
        tokenizer=counter.name,
        max_tokens=config.max_tokens,
        naive_overlap=config.effective_naive_overlap,
        documents=len(documents),
        raw_chars=sum(len(d.text) for d in documents),
        raw_tokens=raw_tokens,
        naive=split_stats(naive_counts, config.max_tokens),
        prepared=split_stats([c.token_count for c in chunks], config.max_tokens),
        notes=tuple(notes),
    )
    return PrepareResult(chunks=chunks, removed=[], report=report, documents=documents)


__all__ = ["prepare", "PrepareResult"]
