"""The value types every stage shares: Document, Span, Chunk, Removed."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal, NamedTuple, overload

import numpy as np

from ._display import HTML_ROWS, html_table, plural, preview
from .errors import InputDataError, InputTypeError

SpanKind = Literal["heading", "paragraph", "sentence", "list_item", "code", "table", "line", "piece"]
RemovedReason = Literal["overlap", "exact", "near", "boilerplate"]

ACCEPTED_DOCS = "a str, a chunkwise.Document, a dict with 'text' (and optional 'id'/'metadata'), or an iterable of those"


@dataclass(frozen=True, slots=True)
class Document:
    """One input document. ``text`` is the raw text every offset refers to."""

    id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise InputTypeError(f"Document.id must be a str, got {type(self.id).__name__}")
        if not isinstance(self.metadata, Mapping):
            raise InputTypeError(f"Document.metadata must be a mapping (a dict), got {type(self.metadata).__name__}")
        if not isinstance(self.text, str):
            raise InputTypeError(
                f"Document.text must be a str, got {type(self.text).__name__}; decode bytes first"
            )

    def __repr__(self) -> str:
        return f"Document(id={self.id!r}, {plural(len(self.text), 'char')}, text={preview(self.text)})"


class Break(IntEnum):
    """Strength of the gap before a unit, weakest first."""

    PIECE = 0  # inside a word or run: a forced cut to meet the cap
    WORD = 1  # between words of one sentence
    CLAUSE = 2  # after , ; : or a Thai phrase space
    SENTENCE = 3
    LINE = 4  # a line break that ends a record (chat line, quote line, table row)
    ITEM = 5  # a new list item
    PARAGRAPH = 6  # a blank line
    SECTION = 7  # before a heading or a horizontal rule


class Span(NamedTuple):
    """A half-open character range ``[start, end)`` of a text, with what it is.

    ``break_before`` is the structural strength of the gap that precedes the
    span (see ``Break``); the chunker turns it into a boundary score.
    A NamedTuple: segmentation makes one per sentence, and this is the cheapest
    immutable record to build.
    """

    start: int
    end: int
    kind: SpanKind = "sentence"
    break_before: int = 0


SPAN_KINDS: tuple[SpanKind, ...] = ("sentence", "paragraph", "list_item", "code", "heading", "line", "table", "piece")
"""Kind codes of a ``SpanTable`` (the compiled segmenter writes the first seven)."""


class SpanTable(Sequence[Span]):
    """Spans as rows of one int array, ``[start, end, kind code, break]``: a sequence of ``Span``.

    The chunker's units live here rather than in a list of ``Span``: a text of tiny
    units (one-line paragraphs) made one tuple and two ints per unit, ~130 bytes,
    33x the text; a row is 16 bytes (int32, where offsets fit) or 32. Indexing makes
    the ``Span`` on demand.
    """

    __slots__ = ("rows",)

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows

    @classmethod
    def from_spans(cls, spans: Iterable[Span]) -> SpanTable:
        codes = {kind: code for code, kind in enumerate(SPAN_KINDS)}
        flat = [value for s in spans for value in (s.start, s.end, codes[s.kind], int(s.break_before))]
        return cls(np.array(flat, dtype=np.int64).reshape(-1, 4))

    @property
    def starts(self) -> np.ndarray:
        return self.rows[:, 0]

    @property
    def ends(self) -> np.ndarray:
        return self.rows[:, 1]

    @property
    def kinds(self) -> np.ndarray:
        return self.rows[:, 2]

    @property
    def breaks(self) -> np.ndarray:
        return self.rows[:, 3]

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @overload
    def __getitem__(self, index: int) -> Span: ...

    @overload
    def __getitem__(self, index: slice) -> SpanTable: ...

    def __getitem__(self, index: int | slice) -> Span | SpanTable:
        if isinstance(index, slice):
            return SpanTable(self.rows[index])
        start, end, kind, strength = self.rows[index].tolist()
        return Span(start, end, SPAN_KINDS[kind], _break_members()[strength])

    def __iter__(self) -> Iterator[Span]:
        breaks = _break_members()
        for block in range(0, len(self), 4096):  # a block of rows at a time: no list of every span
            for start, end, kind, strength in self.rows[block : block + 4096].tolist():
                yield Span(start, end, SPAN_KINDS[kind], breaks[strength])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpanTable):
            return np.array_equal(self.rows, other.rows)
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SpanTable({len(self)} spans)"


@functools.cache
def _break_members() -> tuple[int, ...]:
    """``Break`` members by strength."""
    return tuple(sorted(Break))


def chunk_id(doc_id: str, start: int, end: int, text: str, repeat: int = 0) -> str:
    """Content-derived chunk id: the same document, span and text give the same id.

    ``repeat``: how many earlier chunks of the document had this same span and
    text (chunks the cap cut inside one stretch repaired as a whole all carry its
    raw span, and can read alike: "Ã©" x 200 is "é" x 200); 0 leaves the id as it was.
    """
    digest = hashlib.blake2b(digest_size=10)
    digest.update(doc_id.encode("utf-8", "surrogatepass"))
    digest.update(b"\x1f%d\x1f%d\x1f" % (start, end))
    digest.update(text.encode("utf-8", "surrogatepass"))
    if repeat:
        digest.update(b"\x1e%d" % repeat)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document, ready to embed.

    Contract: ``document.text[start:end] == text`` when no normalization ran;
    with normalization, ``start``/``end`` are the raw span that produced ``text``.
    ``token_count`` is by the configured tokenizer, special tokens included
    when the tokenizer is configured to add them, and never exceeds the cap.
    """

    text: str
    start: int
    end: int
    token_count: int
    doc_id: str
    index: int
    id: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "token_count": self.token_count,
            "text": self.text,
            "metadata": dict(self.metadata),
        }

    def __repr__(self) -> str:
        return (f"Chunk(doc_id={self.doc_id!r}, index={self.index}, token_count={self.token_count}, "
                f"span={self.start}:{self.end}, text={preview(self.text)})")

    def __str__(self) -> str:
        return self.text


class Chunks(list):  # type: ignore[type-arg]
    """A list of Chunk that prints as a summary and renders as a table in a notebook."""

    def summary(self) -> str:
        tokens = [c.token_count for c in self]
        documents = len({c.doc_id for c in self})
        if not tokens:
            return "0 chunks"
        return (f"{plural(len(tokens), 'chunk')} from {plural(documents, 'document')}, {sum(tokens):,} tokens "
                f"({min(tokens)}-{max(tokens)} per chunk, mean {sum(tokens) / len(tokens):.0f})")

    def __repr__(self) -> str:
        shown = [f"  {chunk!r}," for chunk in self[:3]]
        if len(self) > 3:
            shown.append(f"  ... {len(self) - 3:,} more")
        return f"<Chunks: {self.summary()}>" + ("\n" + "\n".join(shown) if shown else "")

    def _repr_html_(self) -> str:
        rows = [(c.index, c.doc_id, c.token_count, f"{c.start}:{c.end}", preview(c.text, 100)) for c in self[:HTML_ROWS]]
        return html_table(["index", "doc_id", "tokens", "raw span", "text"], rows, caption=self.summary(),
                          more=max(0, len(self) - HTML_ROWS))

    def __getitem__(self, index: Any) -> Any:
        found = super().__getitem__(index)
        return Chunks(found) if isinstance(index, slice) else found


@dataclass(frozen=True, slots=True)
class Removed:
    """A unit dropped before chunking, and where the copy that was kept lives."""

    doc_id: str
    start: int
    end: int
    reason: RemovedReason
    kept_doc_id: str
    kept_start: int
    kept_end: int
    text: str
    similarity: float | None = None
    token_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "start": self.start,
            "end": self.end,
            "reason": self.reason,
            "kept_doc_id": self.kept_doc_id,
            "kept_start": self.kept_start,
            "kept_end": self.kept_end,
            "similarity": self.similarity,
            "token_count": self.token_count,
            "text": self.text,
        }

    def __repr__(self) -> str:
        return (f"Removed({self.reason}, doc_id={self.doc_id!r}, span={self.start}:{self.end}, "
                f"kept_in={self.kept_doc_id!r} {self.kept_start}:{self.kept_end}, text={preview(self.text)})")


def as_document(item: Any, position: int) -> Document:
    """Coerce one accepted input into a Document, or raise InputTypeError naming what is accepted."""
    if isinstance(item, Document):
        return item
    if isinstance(item, str):
        return Document(id=f"doc-{position}", text=item)
    if isinstance(item, Mapping):
        if "text" not in item:
            raise InputTypeError(f"document #{position} is a mapping without a 'text' key; expected {ACCEPTED_DOCS}")
        text = item["text"]
        if not isinstance(text, str):
            raise InputTypeError(
                f"document #{position} has 'text' of type {type(text).__name__}; expected a str"
            )
        raw_id = item.get("id", item.get("doc_id", f"doc-{position}"))
        metadata = item.get("metadata") or {k: v for k, v in item.items() if k not in ("id", "doc_id", "text")}
        if not isinstance(metadata, Mapping):
            raise InputTypeError(f"document {raw_id!r}: 'metadata' must be a dict, got {type(metadata).__name__}")
        return Document(id=str(raw_id), text=text, metadata=dict(metadata))
    raise InputTypeError(f"document #{position} is a {type(item).__name__}; expected {ACCEPTED_DOCS}")


def as_documents(docs: Any) -> list[Document]:
    """Accept one document or an iterable of them; ids must be unique."""
    if docs is None or isinstance(docs, (bytes, bytearray, int, float, bool)):
        raise InputTypeError(f"got {type(docs).__name__}; expected {ACCEPTED_DOCS}")
    if isinstance(docs, (str, Document, Mapping)):
        documents = [as_document(docs, 0)]
    elif isinstance(docs, Iterable):
        documents = [as_document(item, position) for position, item in enumerate(docs)]
    else:
        raise InputTypeError(f"got {type(docs).__name__}; expected {ACCEPTED_DOCS}")
    seen: dict[str, int] = {}
    for position, document in enumerate(documents):
        if document.id in seen:
            raise InputDataError(
                f"document id {document.id!r} appears twice (#{seen[document.id]} and #{position}); ids must be unique"
            )
        seen[document.id] = position
    return documents
