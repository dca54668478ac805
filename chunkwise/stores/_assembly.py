"""Assembling a store's output from its part files in store order: store-wide duplicate chunks
removed, and the store's report summed from its documents' reports."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._memory import trim
from .._types import Chunk, Removed
from .manifest import DoneDocument, Manifest
from .sources import ChunkWriter
from ..duplicates.removal import normalize_unit
from ..reporting.report import (
    DocumentRow,
    EXCERPT_CHARS,
    REMOVED_EXAMPLES,
    RemovedExample,
    Report,
    SplitStats,
    TOP_DOCUMENTS,
)
from ..reporting.scenarios import economics
from ..chunking.code import language_of
from ..reporting.visualization import MAX_CHARS, Totals, render_document
from ._output import Commit, OutputPaths

if TYPE_CHECKING:
    from .batch import BatchConfig, Progress

# Report fields that describe the configuration, not the documents: equal in every piece.
_REPORT_SETTINGS = frozenset({"tokenizer", "max_tokens", "naive_overlap", "naive_overlap_set"})
_OPEN_PARTS = 32
_WORDS = re.compile(r"\S+")  # re's \s is str.isspace(), the whitespace str.split() splits on
_CHUNK_BLOCK = 1024


class _Header:
    """A document's header line in a part (``_engines._write_header``), its removals parsed one at a time.

    Removals carry their text, so the header of a document that is mostly repeats is as
    large as the document; parsed whole it was held as dicts and strings beside the line
    (a 10 MB file's sample page took the run from 9x its size to 13.7x). The line has no
    spaces, and its first ``"removed":[`` is the key: inside a JSON string the quote would
    be escaped.
    """

    def __init__(self, line: bytes) -> None:
        self._text = line.decode("utf-8")
        key = self._text.index('"removed":[')
        self.chunks: int = json.loads(self._text[:key].rstrip(",") + "}")["chunks"]
        self._at = key + len('"removed":[')
        self._decoder = json.JSONDecoder()

    def removals(self) -> Iterator[dict[str, Any]]:
        """The removal entries, in order; once only (a second call yields none)."""
        text = self._text
        while text[self._at] != "]":
            entry, at = self._decoder.raw_decode(text, self._at)
            self._at = at + 1 if text[at] == "," else at
            yield entry

    def report(self) -> dict[str, Any]:
        """The document's report fields (after any removals not yet read)."""
        for _ in self.removals():
            pass
        value, _ = self._decoder.raw_decode(self._text, self._at + len('],"report":'))
        return value


class _PartReader:
    """Random access to document records in part files, with a few files kept open."""

    def __init__(self, parts_dir: Path) -> None:
        self._dir = parts_dir
        self._open: dict[str, Any] = {}

    def _header_line(self, document: DoneDocument) -> tuple[Any, bytes]:
        handle = self._open.pop(document.part, None)
        if handle is None:
            if len(self._open) >= _OPEN_PARTS:
                oldest = next(iter(self._open))
                self._open.pop(oldest).close()
            handle = (self._dir / document.part).open("rb")
        self._open[document.part] = handle  # most recently used last
        handle.seek(document.offset)
        return handle, handle.readline()

    @staticmethod
    def _blocks(handle: Any, position: int, count: int) -> Iterator[list[dict[str, Any]]]:
        handle.seek(position)
        left = count
        while left:
            block = [json.loads(handle.readline()) for _ in range(min(left, _CHUNK_BLOCK))]
            left -= len(block)
            yield block

    def record(self, document: DoneDocument) -> tuple[_Header, Iterator[list[dict[str, Any]]]]:
        """A document's header and its chunks, a block of ``_CHUNK_BLOCK`` at a time (read as they are
        consumed: a 50 MB document's chunks parsed at once were most of a store run's memory)."""
        handle, line = self._header_line(document)
        header = _Header(line)
        return header, self._blocks(handle, handle.tell(), header.chunks)

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()


class _SeenChunks:
    """Normalized chunk text -> the first chunk with it, on disk (memory stays flat for any store size)."""

    def __init__(self, path: Path, min_chars: int) -> None:
        import sqlite3


        path.unlink(missing_ok=True)
        self._path = path
        self._normalize = normalize_unit
        self._min_chars = min_chars
        self._db = sqlite3.connect(path, isolation_level=None)
        # A scratch index rebuilt every run: durability would only cost time.
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (key BLOB PRIMARY KEY, doc_id TEXT, start INTEGER, end INTEGER) WITHOUT ROWID")
        self._db.execute("BEGIN")

    def first_copies(self, chunks: list[dict[str, Any]]) -> list[tuple[str, int, int] | None]:
        """For each chunk, the earlier chunk it duplicates, or None (and it becomes the first copy)."""
        keys: list[bytes | None] = []
        for chunk in chunks:
            normalized = self._normalize(chunk["text"])
            keys.append(
                hashlib.blake2b(normalized.encode("utf-8", "surrogatepass"), digest_size=16).digest()
                if len(normalized) >= self._min_chars else None
            )
        wanted = [key for key in keys if key is not None]
        known: dict[bytes, tuple[str, int, int]] = {}
        if wanted:
            marks = ",".join("?" * len(wanted))
            for key, doc_id, start, end in self._db.execute(
                f"SELECT key, doc_id, start, end FROM seen WHERE key IN ({marks})", wanted
            ):
                known[key] = (doc_id, start, end)
        result: list[tuple[str, int, int] | None] = []
        fresh: list[tuple[bytes, str, int, int]] = []
        for key, chunk in zip(keys, chunks):
            if key is None:
                result.append(None)
            elif key in known:
                result.append(known[key])
            else:
                known[key] = (chunk["doc_id"], chunk["start"], chunk["end"])
                fresh.append((key, chunk["doc_id"], chunk["start"], chunk["end"]))
                result.append(None)
        self._db.executemany("INSERT INTO seen VALUES (?, ?, ?, ?)", fresh)
        return result

    def close(self) -> None:
        self._db.close()
        self._path.unlink(missing_ok=True)


_SUMMED = ("raw_chars", "raw_tokens", "normalized_tokens", "deduplicated_tokens", "naive_overlap_tokens",
           "prepared_overlap_tokens", "naive_no_overlap_tokens")
_SUMMED_BY_KEY = ("removed_tokens", "fixes")
# Report options whose figures depend on the whole corpus's distribution: applied once, when the store is assembled.


class _StoreReport:
    """The store's report figures, added up document by document in store order."""

    def __init__(self, notes: list[str], economics: Any = None) -> None:
        from array import array

        self.settings: dict[str, Any] = {}
        # Every naive window's and kept chunk's tokens (4 bytes each) for the economics' distributions.
        self.economics = economics
        self.naive_lengths = array("I")
        self.chunk_lengths = array("I")
        self.sums: dict[str, int | None] = {}
        self.by_key: dict[str, dict[str, int]] = {name: {} for name in _SUMMED_BY_KEY}
        self.naive = [0, 0, 0, 0]  # chunks, tokens, largest, padded
        self.prepared = [0, 0, 0]  # chunks, tokens, largest
        self.notes: list[str] = []
        self.documents = 0
        self.rows: list[tuple[int, str, tuple[str, int, int, int, int]]] = []
        self.examples: list[tuple[int, int, tuple[str, str, str, int | None, str]]] = []
        self._pending_notes = notes

    def add_document(self, doc_id: str, piece: dict[str, Any], kept_tokens: list[int]) -> None:
        import heapq


        self.documents += 1
        for name in _REPORT_SETTINGS:
            self.settings.setdefault(name, piece.get(name))
        for name in _SUMMED:
            value = piece.get(name)
            if value is not None:
                self.sums[name] = (self.sums.get(name) or 0) + value
            else:
                self.sums.setdefault(name, None)
        for name in _SUMMED_BY_KEY:
            for key, value in (piece.get(name) or {}).items():
                self.by_key[name][key] = self.by_key[name].get(key, 0) + value
        naive = piece["naive"]
        self.naive[0] += naive["chunks"]
        self.naive[1] += naive["tokens"]
        self.naive[2] = max(self.naive[2], naive["max_chunk_tokens"])
        self.naive[3] += naive["padded_tokens"]
        if self.economics is not None:
            self.naive_lengths.extend(piece.get("naive_window_tokens") or ())
            self.chunk_lengths.extend(kept_tokens)
        chunk_tokens = sum(kept_tokens)
        self.prepared[2] = max(self.prepared[2], max(kept_tokens, default=0))
        self.prepared[0] += len(kept_tokens)
        self.prepared[1] += chunk_tokens
        self.notes.extend(note for note in piece.get("notes") or () if note not in self.notes)
        # Keep the documents that saved most, as prepare's report does (ties by id).
        row = (doc_id, piece.get("raw_tokens", 0), naive["tokens"], len(kept_tokens), chunk_tokens)
        heapq.heappush(self.rows, (naive["tokens"] - chunk_tokens, _Reversed(doc_id), row))
        if len(self.rows) > TOP_DOCUMENTS:
            heapq.heappop(self.rows)

    def add_removed(self, entry: Removed, position: int) -> None:
        """A chunk the store-wide pass dropped: its tokens come off the documents' kept tokens."""
        tokens = entry.token_count or 0
        self.by_key["removed_tokens"][entry.reason] = self.by_key["removed_tokens"].get(entry.reason, 0) + tokens
        if self.sums.get("deduplicated_tokens") is not None:
            self.sums["deduplicated_tokens"] -= tokens
        self.add_example(entry, position)

    def add_example(self, entry: Removed, position: int) -> None:
        """A removal the report may show (the largest ``REMOVED_EXAMPLES``; its tokens are counted elsewhere)."""
        import heapq

        tokens = entry.token_count or 0
        # The text's words joined by single spaces, read only as far as the excerpt shows: a
        # removal can be a whole repeated section, and splitting it all made a list of every
        # word (a 10 MB file of repeats: 7.9x -> 11.3x its size while assembling).
        words: list[str] = []
        length = -1
        for word in _WORDS.finditer(entry.text):
            words.append(word.group())
            length += len(words[-1]) + 1
            if length > EXCERPT_CHARS:
                break
        flat = " ".join(words)
        excerpt = flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "\u2026"
        heapq.heappush(self.examples, (tokens, -position, (entry.doc_id, entry.reason, entry.kept_doc_id, entry.token_count, excerpt)))
        if len(self.examples) > REMOVED_EXAMPLES:
            heapq.heappop(self.examples)

    def report(self) -> Any:
        max_tokens = self.settings.get("max_tokens") or 0
        notes = self.notes + [note for note in self._pending_notes if note not in self.notes]

        rows = [DocumentRow(*row) for _, _, row in sorted(self.rows, reverse=True)]
        examples = [RemovedExample(*example) for _, _, example in sorted(self.examples, reverse=True)]
        econ = None
        if self.economics is not None and self.naive_lengths and self.chunk_lengths:
            econ = economics(self.naive_lengths, self.chunk_lengths, self.economics, max_tokens=max_tokens)
        elif self.economics is not None:
            notes.append("no economics section: the store produced no chunks")
        return Report(
            tokenizer=self.settings.get("tokenizer") or "",
            max_tokens=max_tokens,
            naive_overlap=self.settings.get("naive_overlap") or 0,
            documents=self.documents,
            raw_chars=self.sums.get("raw_chars") or 0,
            raw_tokens=self.sums.get("raw_tokens") or 0,
            naive=SplitStats(*self.naive),
            prepared=SplitStats(*self.prepared, self.prepared[0] * max_tokens),
            removed_tokens={k: v for k, v in sorted(self.by_key["removed_tokens"].items()) if v},
            normalized_tokens=self.sums.get("normalized_tokens"),
            deduplicated_tokens=self.sums.get("deduplicated_tokens"),
            fixes={k: v for k, v in sorted(self.by_key["fixes"].items()) if v},
            notes=tuple(notes),
            naive_overlap_tokens=self.sums.get("naive_overlap_tokens"),
            prepared_overlap_tokens=self.sums.get("prepared_overlap_tokens"),
            top_documents=tuple(rows),
            removed_examples=tuple(examples),
            economics=econ,
            naive_no_overlap_tokens=self.sums.get("naive_no_overlap_tokens"),
            naive_overlap_set=bool(self.settings.get("naive_overlap_set")),
        )


class _Reversed:
    """Orders strings backwards, so a min-heap on (saving, _Reversed(id)) drops the later id on ties."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value


_NO_SAMPLE = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>chunkwise sample</title></head>"
              "<body><p>No sample document: the store had none, or it is not on this machine's disk to be read again. "
              "Draw any document with <code>chunkwise viz FILE</code>.</p></body></html>\n")


def _sample_page(reader: _PartReader, document: DoneDocument, sample_text: Callable[[str], str | None] | None,
                 max_tokens: int) -> str | None:
    """One document of the store drawn with its chunks and removals (``visualize``'s page), or None."""
    text = sample_text(document.doc_id) if sample_text is not None else None
    if text is None:
        return None
    # The page draws the first MAX_CHARS characters and the chunks that start in them; the rest
    # of a large document (and its chunks' texts) is counted, never held: drawing a 20 MB
    # document whole held it and all its chunks at the end of the run (12.9x the file -> 14.9x).
    characters = len(text)
    text = text[:MAX_CHARS]
    header, blocks = reader.record(document)
    chunks: list[Chunk] = []
    count = tokens = largest = 0
    for block in blocks:
        for entry in block:
            if not 0 <= entry["start"] <= entry["end"] <= characters:
                return None  # the document changed since it was prepared
            count += 1
            tokens += entry["token_count"]
            largest = max(largest, entry["token_count"])
            if entry["start"] < len(text) or characters == len(text):
                chunks.append(Chunk(**entry))
    removed: list[Removed] = []
    spans = removed_chars = 0
    for entry in header.removals():
        if not 0 <= entry["start"] <= entry["end"] <= characters:
            return None
        spans += 1
        removed_chars += entry["end"] - entry["start"]
        if entry["start"] < len(text) or characters == len(text):
            removed.append(Removed(**{**entry, "text": ""}))  # the page draws a span from the document's text
    return render_document(text, chunks, removed, doc_id=document.doc_id, max_tokens=max_tokens,
                           title=f"Sample document: {document.doc_id}", language=language_of(Path(document.doc_id).suffix),
                           totals=Totals(characters, count, tokens, largest, spans, removed_chars))


def assemble(
    manifest: Manifest,
    paths: OutputPaths,
    config: BatchConfig,
    notes: list[str],
    counts: dict[str, int],
    progress: Callable[[Progress], None] | None,
    commit: Commit,
    economics: Any = None,
    sample_text: Callable[[str], str | None] | None = None,
) -> tuple[int, int, int]:
    """Stage the chunks, removals, quarantine list and report of the whole store, in store order, in ``commit``.

    ``sample_text(doc_id)``: the raw text of a document, for the sample page the report
    links (the document with the most removed tokens); None where it cannot be read again.
    """
    # The workers' freed pages (an in-process worker's whole prepare) go back before assembly
    # stacks its own peak on them; so do the main pass's before the sample page.
    trim(counts.get("bytes_read", 0))
    writer = ChunkWriter(paths.chunks, paths.output_format, tmp=commit.temporary(paths.chunks))
    removed_tmp = commit.temporary(paths.sidecar(".removed.jsonl"))
    reader = _PartReader(paths.parts)
    seen = _SeenChunks(paths.state / "seen.sqlite", config.min_dedup_chars) if config.dedup_mode == "chunks" else None
    totals = _StoreReport(notes, economics)
    chunk_count = removed_count = 0
    try:
        with removed_tmp.open("wb") as removed_out:
            sample: tuple[tuple[int, int], DoneDocument] | None = None
            for document in manifest.done_in_order():
                header, blocks = reader.record(document)
                removed_tokens = 0
                for entry in header.removals():
                    removed_tokens += entry.get("token_count") or 0
                    removed_out.write(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
                    removed_count += 1
                    totals.add_example(Removed(**entry), removed_count)
                # The sample: a document cut at least once, with the most removed tokens, then the most
                # chunks; the first of equals.
                weight = (header.chunks >= 2, removed_tokens, header.chunks)
                if sample is None or weight > sample[0]:
                    sample = (weight, document)
                kept: list[int] = []  # token counts of the kept chunks
                for chunks in blocks:
                    copies = seen.first_copies(chunks) if seen is not None else [None] * len(chunks)
                    for chunk, copy in zip(chunks, copies):
                        if copy is None:
                            kept.append(chunk["token_count"])
                            writer.write(chunk)
                            continue
                        entry = Removed(chunk["doc_id"], chunk["start"], chunk["end"], "exact", *copy, chunk["text"],
                                        None, chunk["token_count"])
                        removed_out.write(json.dumps(entry.to_dict(), ensure_ascii=False).encode() + b"\n")
                        removed_count += 1
                        totals.add_removed(entry, removed_count)
                totals.add_document(document.doc_id, header.report(), kept)
                chunk_count += len(kept)
                if progress is not None and totals.documents % 1000 == 0:
                    progress(Progress("assembling", counts["listed"], counts["processed"], counts["skipped"], 0,
                                      counts["bytes_read"], None, chunk_count))
            removed_out.flush()
            os.fsync(removed_out.fileno())
        quarantine_lines = []
        for position, entry in manifest.quarantined_in_order():
            quarantine_lines.append(json.dumps(
                {"position": position, "doc_id": entry.doc_id, "reason": entry.reason, "detail": entry.detail},
                ensure_ascii=False,
            ).encode() + b"\n")
        report = totals.report()
        commit.stage(paths.sidecar(".quarantine.jsonl"), b"".join(quarantine_lines))
        commit.stage(paths.sidecar(".report.json"), report.to_json().encode("utf-8"))
        commit.stage(paths.sidecar(".report.txt"), report.to_text().encode("utf-8") + b"\n")
        sample_page = paths.sidecar(".sample.html")
        doc_id = sample[1].doc_id if sample is not None else None
        trim(counts.get("bytes_read", 0))
        page = _sample_page(reader, sample[1], sample_text, report.max_tokens) if sample is not None else None
        commit.stage(sample_page, (page or _NO_SAMPLE).encode("utf-8"))
        link = (sample_page.name, doc_id) if page is not None and doc_id is not None else None
        commit.stage(paths.sidecar(".report.html"), report.to_html(sample=link).encode("utf-8"))
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        reader.close()
        if seen is not None:
            seen.close()
    return chunk_count, removed_count, len(quarantine_lines)
