"""Where the chunks were cut: one document as a self-contained HTML page.

The page shows the document's raw text with each chunk shaded, a marker at every
cut with the chunk's number, its token count against the cap and the strength
of the boundary it starts at (the structural break ``segment`` found there:
section, paragraph, sentence... or "inside a unit" where the cap forced the
cut), and the spans dedup removed, struck through with the reason and where the
kept copy is. Everything from the document is escaped; the page loads nothing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._types import Break, Chunk, Removed
from ..chunking.chunker import chunk
from ..chunking.code import CODE_LANGUAGES, code_span_table
from ..errors import InputDataError, InputTypeError
from ..text.segmentation import segment_table

MAX_CHARS = 300_000  # raw characters drawn before the page says it stops: a browser stays responsive
MAX_ROWS = 2_000  # chunks listed in the table under the text
DEFAULT_MAX_TOKENS = 512  # chunk()'s own default cap

CSS = """
body{font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2933;
background:#f5f7fa;margin:0}
main{max-width:1100px;margin:0 auto;padding:20px}
h1{font-size:20px;margin:0 0 4px}
.sub{color:#52606d;margin:0 0 12px}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:13px;margin:0 0 12px}
.legend span{padding:1px 6px;border-radius:3px}
.doc{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #d9e2ec;border-radius:6px;
padding:14px;font:13px/1.65 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.c0{background:#e3f0ff}.c1{background:#fff3d6}
.ov{background:#d6f5e3;outline:1px dashed #2f9e68}
.rm{background:#fde2e2;color:#9b1c1c;text-decoration:line-through}
.gap{color:#9aa5b1}
.cut{display:inline-block;font:600 11px/1.4 -apple-system,Segoe UI,Roboto,sans-serif;color:#fff;background:#1f4e8c;
border-radius:3px;padding:0 5px;margin:0 3px 0 0;white-space:nowrap;text-decoration:none}
.cut.weak{background:#b44d12}
.bar{display:inline-block;height:6px;background:#9fb3c8;vertical-align:middle;margin-left:4px;border-radius:2px}
table{border-collapse:collapse;margin-top:16px;background:#fff;font-size:13px}
th,td{border:1px solid #d9e2ec;padding:3px 8px;text-align:right}
td.t{text-align:left;font-family:ui-monospace,Menlo,Consolas,monospace;color:#3e4c59}
.note{color:#52606d;font-size:13px}
"""

# Cuts at these breaks are the ones a reader would make; weaker ones are marked in another colour.
STRONG_BREAKS = frozenset({Break.SECTION, Break.PARAGRAPH, Break.ITEM, Break.LINE, Break.SENTENCE})


@dataclass(frozen=True)
class Visualization:
    """The page ``visualize`` made: ``html`` is the whole page; a notebook shows it inline."""

    html: str
    doc_id: str
    chunks: int
    removed: int

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return (f"<Visualization of {self.doc_id!r}: {self.chunks:,} chunks, {self.removed:,} removed spans, "
                f"{len(self.html):,} bytes of HTML; .save(path)>")

    def _repr_html_(self) -> str:
        # In an iframe: the page's styles stay out of the notebook's.
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:600px;'
                'border:1px solid #d9e2ec" sandbox></iframe>')


def visualize(
    source: Any,
    *,
    doc_id: str | None = None,
    chunks: Sequence[Chunk] | None = None,
    removed: Sequence[Removed] = (),
    max_tokens: int | None = None,
    title: str | None = None,
    max_chars: int = MAX_CHARS,
    path: str | Path | None = None,
    **chunk_options: Any,
) -> Visualization:
    """Draw one document with its chunk boundaries, token counts, removed spans and boundary strengths.

    ``source``: a text (chunked here by ``chunk(text, max_tokens=..., **chunk_options)``
    unless ``chunks`` of it are given), or a ``PrepareResult`` (its document
    ``doc_id``, by default the first that has chunks, with its removed spans).
    Offsets are the raw ones chunks carry. ``path`` also writes the page there.
    """
    if hasattr(source, "chunks") and hasattr(source, "documents") and hasattr(source, "removed"):
        text, doc_id, chunks, removed, cap, language = _from_result(source, doc_id)
    elif isinstance(source, str):
        config = chunk_options.get("config")
        language = chunk_options.get("language") or (config.language if config is not None else None)
        cap = max_tokens or (config.max_tokens if config is not None else DEFAULT_MAX_TOKENS)
        if chunks is None:
            chunks = chunk(source, **chunk_options, **({"max_tokens": max_tokens} if max_tokens else {}))
        elif chunk_options:
            raise InputTypeError(f"chunk options {sorted(chunk_options)} were given with chunks already made")
        text, doc_id = source, doc_id or (chunks[0].doc_id if chunks else "doc-0")
    else:
        raise InputTypeError(f"visualize() takes a str or a PrepareResult, got {type(source).__name__}")
    chunks = sorted(chunks, key=lambda c: (c.start, c.end))
    removed = sorted((r for r in removed if r.doc_id == doc_id), key=lambda r: r.start)
    for item in (*chunks, *removed):
        if not 0 <= item.start <= item.end <= len(text):
            raise InputDataError(f"span {item.start}:{item.end} of {doc_id!r} is outside its {len(text):,} characters; "
                                 "were the chunks made from another text?")
    page = render_document(text, chunks, removed, doc_id=doc_id, max_tokens=cap, title=title, max_chars=max_chars,
                           language=language)
    shown = Visualization(page, doc_id, len(chunks), len(removed))
    if path is not None:
        shown.save(path)
    return shown


def _from_result(result: Any, doc_id: str | None) -> tuple[str, str, list[Chunk], list[Removed], int, str | None]:
    documents = {document.id: document for document in result.documents}
    if doc_id is None:
        if not result.chunks:
            raise InputDataError("the result has no chunks to show")
        doc_id = result.chunks[0].doc_id
    if doc_id not in documents:
        raise InputDataError(f"no document {doc_id!r} in the result; it has {len(documents):,} "
                             f"(first: {next(iter(documents), None)!r})")
    chunks = [c for c in result.chunks if c.doc_id == doc_id]
    removed = [r for r in result.removed if r.doc_id == doc_id]
    document = documents[doc_id]
    return document.text, doc_id, chunks, removed, result.report.max_tokens, document.metadata.get("language")


def cut_strengths(text: str, starts: Sequence[int], language: str | None = None) -> list[Break | None]:
    """The structural break before each chunk start: ``None`` where the start is inside a unit (a cut the cap forced).

    ``language`` "python" or "code" reads the breaks from the program's structure, as the chunker did.
    """
    table = code_span_table(text, language) if language in CODE_LANGUAGES else segment_table(text)
    unit_starts = table.starts.astype(np.int64)
    breaks = table.breaks
    out: list[Break | None] = []
    for start in starts:
        # A chunk starts at a unit's first character, or in the space before it.
        index = int(np.searchsorted(unit_starts, start, side="left"))
        if index < len(unit_starts) and (unit_starts[index] == start or not text[start:unit_starts[index]].strip()):
            out.append(Break(int(breaks[index])))
        else:
            out.append(None)
    return out


class Totals(NamedTuple):
    """The whole document's figures, for a page given only its first part (a store's sample of a large document)."""

    characters: int
    chunks: int
    tokens: int
    largest: int
    removed_spans: int | None = None  # None: counted from the removals the page is given
    removed_chars: int | None = None


def render_document(text: str, chunks: Sequence[Chunk], removed: Sequence[Removed], *, doc_id: str, max_tokens: int,
                    title: str | None = None, max_chars: int = MAX_CHARS, language: str | None = None,
                    totals: Totals | None = None) -> str:
    """The page: heading, legend, the text with cuts and removals marked, then a row per chunk.

    ``totals``: when ``text`` is the document's first part and ``chunks`` those that start in it,
    the whole document's figures for the heading (the table then lists those chunks).
    """
    strengths = cut_strengths(text, [c.start for c in chunks], language)
    shown_chars = min(len(text), max_chars)
    body = [f"<h1>{_e(title or f'Chunks of {doc_id}')}</h1>"]
    tokens = [c.token_count for c in chunks]
    whole = totals or Totals(len(text), len(chunks), sum(tokens), max(tokens, default=0))
    removed_spans = len(removed) if whole.removed_spans is None else whole.removed_spans
    removed_chars = sum(r.end - r.start for r in removed) if whole.removed_chars is None else whole.removed_chars
    body.append(f'<p class="sub">{_e(doc_id)} \u00b7 {whole.characters:,} characters \u00b7 {whole.chunks:,} chunks \u00b7 '
                f"cap {max_tokens:,} tokens \u00b7 {whole.tokens:,} tokens in chunks (largest {whole.largest:,}) "
                f"\u00b7 {removed_spans:,} removed spans ({removed_chars:,} characters)</p>")
    body.append('<div class="legend"><span class="c0">chunk</span><span class="c1">next chunk</span>'
                '<span class="ov">in two chunks (overlap)</span><span class="rm">removed by dedup</span>'
                '<span class="cut">#3 \u00b7 412 tok \u00b7 paragraph</span> a cut at a structural boundary'
                '<span class="cut weak">#4 \u00b7 512 tok \u00b7 inside a unit</span> a cut the cap forced</div>')
    body.append('<div class="doc">' + _marked_text(text[:shown_chars], chunks, removed, strengths, max_tokens) + "</div>")
    if shown_chars < whole.characters:
        listed = ("the table lists every chunk" if whole.chunks == len(chunks) else
                  f"the table lists the {len(chunks):,} chunks that start there")
        body.append(f'<p class="note">The text stops at {shown_chars:,} of {whole.characters:,} characters '
                    f"(max_chars); {listed}.</p>")
    body.append(_chunk_table(chunks, strengths, max_tokens))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title or f'Chunks of {doc_id}')}</title><style>{CSS}</style></head><body><main>"
            + "".join(body) + "</main></body></html>\n")


def _strength_name(strength: Break | None) -> str:
    return "inside a unit" if strength is None else strength.name.lower().replace("_", " ")


def _marker(number: int, chunk: Chunk, strength: Break | None, max_tokens: int) -> str:
    weak = "" if strength in STRONG_BREAKS else " weak"
    width = max(2, round(40 * chunk.token_count / max_tokens)) if max_tokens else 2
    label = f"#{number} \u00b7 {chunk.token_count:,} tok \u00b7 {_strength_name(strength)}"
    hint = f"chunk {number}: {chunk.token_count:,} of {max_tokens:,} tokens, raw {chunk.start}:{chunk.end}"
    return (f'<span class="cut{weak}" id="c{number}" title="{_e(hint)}">{_e(label)}'
            f'<span class="bar" style="width:{width}px"></span></span>')


def _marked_text(text: str, chunks: Sequence[Chunk], removed: Sequence[Removed], strengths: Sequence[Break | None],
                 max_tokens: int) -> str:
    """The text cut into runs at every chunk and removal edge; each run shaded by what covers it."""
    limit = len(text)
    edges = {0, limit}
    for item in (*chunks, *removed):
        edges.add(min(item.start, limit))
        edges.add(min(item.end, limit))
    ordered = sorted(edges)
    starts_at: dict[int, list[int]] = {}
    for number, item in enumerate(chunks):
        starts_at.setdefault(item.start, []).append(number)
    chunk_starts = np.array([c.start for c in chunks], dtype=np.int64)
    chunk_ends = np.array([c.end for c in chunks], dtype=np.int64)
    removed_starts = np.array([r.start for r in removed], dtype=np.int64)
    removed_ends = np.array([r.end for r in removed], dtype=np.int64)
    out: list[str] = []
    for left, right in zip(ordered, ordered[1:]):
        for number in starts_at.get(left, ()):
            out.append(_marker(number, chunks[number], strengths[number], max_tokens))
        run = _e(text[left:right])
        covering = np.flatnonzero((chunk_starts <= left) & (chunk_ends >= right)) if len(chunks) else []
        removals = np.flatnonzero((removed_starts <= left) & (removed_ends >= right)) if len(removed) else []
        if len(removals):
            item = removed[int(removals[0])]  # removed spans of a document are disjoint: one covers the run
            hint = f"removed ({item.reason}): the kept copy is {item.kept_doc_id} {item.kept_start}:{item.kept_end}"
            out.append(f'<span class="rm" title="{_e(hint)}">{run}</span>')
        elif len(covering) >= 2:
            out.append(f'<span class="ov">{run}</span>')
        elif len(covering) == 1:
            out.append(f'<span class="c{int(covering[0]) % 2}">{run}</span>')
        else:
            out.append(f'<span class="gap">{run}</span>')
    return "".join(out)


def _chunk_table(chunks: Sequence[Chunk], strengths: Sequence[Break | None], max_tokens: int) -> str:
    rows = ["<table><tr><th>#</th><th>tokens</th><th>of cap</th><th>raw span</th><th>cut at</th><th>begins</th></tr>"]
    for number, (item, strength) in enumerate(zip(chunks[:MAX_ROWS], strengths)):
        share = item.token_count / max_tokens if max_tokens else 0.0
        begins = " ".join(item.text.split())[:80]
        rows.append(f'<tr><td><a href="#c{number}">{number}</a></td><td>{item.token_count:,}</td><td>{share:.0%}</td>'
                    f"<td>{item.start}:{item.end}</td><td>{_e(_strength_name(strength))}</td>"
                    f'<td class="t">{_e(begins)}</td></tr>')
    if len(chunks) > MAX_ROWS:
        rows.append(f'<tr><td colspan="6">\u2026 {len(chunks) - MAX_ROWS:,} more</td></tr>')
    rows.append("</table>")
    return "".join(rows)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


__all__ = ["visualize", "Visualization", "render_document", "cut_strengths", "Totals"]
