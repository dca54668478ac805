"""Remove overlap, exact and near duplicates and boilerplate, recording the kept copy of each removal.

Stages, in order (each works on what the previous ones kept):

1. **overlap**: consecutive windows of one source (see ``stitch_overlaps``) lose the
   prefix that repeats the end of what the source kept so far (containment on
   whitespace-collapsed text, not Jaccard).
2. **exact documents** (reason ``"exact"``): a document whose normalized kept text equals an earlier one's.
3. **boilerplate**: lines that recur in at least ``max(boilerplate_min_docs,
   ceil(boilerplate_min_fraction * documents))`` documents; the first occurrence stays.
4. **near documents** (``"near"``): MinHash LSH over whole documents, verified by exact Jaccard.
5. **exact paragraphs**, then **exact sentences** (``"exact"``): hash of the unit
   after whitespace collapsing and lower-casing; first occurrence in input order stays.
6. **near paragraphs** (``"near"``): MinHash LSH, verified by exact Jaccard.

Whitespace rule: units are found stripped; a removed unit also takes the
whitespace that follows it inside the same kept piece (so ``"A\\n\\nB\\n\\nC"``
minus ``B`` keeps ``"A\\n\\nC"``). An overlap removal is the window's prefix up
to the last matched non-space character. Kept pieces and removed spans tile
every document exactly.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from . import _minhash
from .._types import Document, Removed, RemovedReason, as_documents
from ..chunking.code import CODE_LANGUAGES
from ..errors import ConfigError, InputDataError
from ..tokens import get_tokenizer
from ._overlap import group_keys, overlap_stage
from ._units import (
    KEY_WINDOW_CHARS,
    NON_SPACE,
    Spans,
    document_key,
    iter_lines,
    iter_paragraphs,
    iter_sentences,
    line_spans,
    normalize_unit,
    normalized_length_at_least,
    paragraph_spans,
    sentence_spans,
    strip_span,
)

REASONS: tuple[RemovedReason, ...] = ("overlap", "exact", "near", "boilerplate")


@dataclass(frozen=True, slots=True)
class DedupConfig:
    """What dedup removes and how. Every field is validated on creation.

    ``threshold`` is the Jaccard similarity (over ``shingle`` shingles of
    ``shingle_size`` words or characters) at or above which two paragraphs or
    documents are near duplicates. ``min_unit_chars`` (counted after whitespace
    collapsing) keeps short units such as "Yes." out of exact and near dedup.
    """

    threshold: float = 0.8
    num_perm: int = 128
    shingle: Literal["word", "char"] = "word"
    shingle_size: int = 3
    seed: int = 1
    min_unit_chars: int = 24
    max_candidates: int = 64
    stitch_overlap: bool = True
    exact_documents: bool = True
    boilerplate: bool = True
    near_documents: bool = True
    exact_paragraphs: bool = True
    exact_sentences: bool = True
    near_paragraphs: bool = True
    min_overlap_chars: int = 32
    max_overlap_chars: int = 50_000
    source_keys: tuple[str, ...] = ("source_id", "source")
    boilerplate_min_docs: int = 3
    boilerplate_min_fraction: float = 0.2
    boilerplate_min_chars: int = 8

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
            raise ConfigError(f"threshold must be a number in (0, 1], got {self.threshold!r}")
        if not 0.0 < float(self.threshold) <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1] (a Jaccard similarity), got {self.threshold}")
        if self.shingle not in ("word", "char"):
            raise ConfigError(f"shingle must be 'word' or 'char', got {self.shingle!r}")
        if not 1 <= self.shingle_size <= _minhash.MAX_SHINGLE_SIZE:
            raise ConfigError(f"shingle_size must be in [1, {_minhash.MAX_SHINGLE_SIZE}], got {self.shingle_size}")
        if not 2 <= self.num_perm <= 1024:
            raise ConfigError(f"num_perm must be in [2, 1024], got {self.num_perm}; 128 suits thresholds 0.5-0.9")
        for name in ("min_unit_chars", "boilerplate_min_chars", "min_overlap_chars"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_candidates < 1:
            raise ConfigError(f"max_candidates must be >= 1, got {self.max_candidates}")
        if self.max_overlap_chars < self.min_overlap_chars:
            raise ConfigError(
                f"max_overlap_chars ({self.max_overlap_chars}) must be >= min_overlap_chars ({self.min_overlap_chars})"
            )
        if self.boilerplate_min_docs < 2:
            raise ConfigError(f"boilerplate_min_docs must be >= 2 (a line in one document is not boilerplate), got {self.boilerplate_min_docs}")
        if not 0.0 <= self.boilerplate_min_fraction <= 1.0:
            raise ConfigError(f"boilerplate_min_fraction must be in [0, 1], got {self.boilerplate_min_fraction}")
        if isinstance(self.source_keys, str) or not all(isinstance(key, str) for key in self.source_keys):
            raise ConfigError("source_keys must be a tuple of metadata key names, e.g. ('source_id', 'source')")

    @classmethod
    def build(cls, config: DedupConfig | None = None, **options: Any) -> DedupConfig:
        """``config`` with ``options`` applied (keyword shortcuts of the public functions)."""
        base = config if config is not None else cls()
        if not isinstance(base, DedupConfig):
            raise ConfigError(f"config must be a DedupConfig, got {type(base).__name__}")
        unknown = sorted(set(options) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown dedup option(s) {unknown}; valid: {sorted(cls.__dataclass_fields__)}")
        if "source_keys" in options and isinstance(options["source_keys"], list):
            options["source_keys"] = tuple(options["source_keys"])
        if not options:
            return base
        values = {name: getattr(base, name) for name in cls.__dataclass_fields__}
        values.update(options)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class DedupedDocument:
    """One input document after dedup: the spans of its text that were kept."""

    doc_id: str
    kept: tuple[tuple[int, int], ...]
    document: Document = field(repr=False)

    @property
    def text(self) -> str:
        """The kept pieces joined as they are (no separator added)."""
        source = self.document.text
        return "".join(source[start:end] for start, end in self.kept)

    @property
    def kept_chars(self) -> int:
        return sum(end - start for start, end in self.kept)


@dataclass(frozen=True, slots=True)
class ReasonSummary:
    """How much one reason removed: units, characters and (given a tokenizer) tokens."""

    units: int = 0
    chars: int = 0
    tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"units": self.units, "chars": self.chars, "tokens": self.tokens}


def summarize_removed(removed: Sequence[Removed], counted: bool) -> dict[str, ReasonSummary]:
    summary: dict[str, ReasonSummary] = {}
    for reason in REASONS:
        entries = [entry for entry in removed if entry.reason == reason]
        tokens = sum(entry.token_count or 0 for entry in entries) if counted else None
        summary[reason] = ReasonSummary(len(entries), sum(entry.end - entry.start for entry in entries), tokens)
    return summary


@dataclass(frozen=True, slots=True)
class DedupResult:
    """Kept spans per document, every removal with its kept copy, and totals per reason."""

    documents: list[DedupedDocument]
    removed: list[Removed]
    summary: dict[str, ReasonSummary]
    input_chars: int
    tokenizer_name: str | None = None

    @property
    def kept_chars(self) -> int:
        return sum(document.kept_chars for document in self.documents)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_chars": self.input_chars,
            "kept_chars": self.kept_chars,
            "tokenizer": self.tokenizer_name,
            "summary": {reason: value.to_dict() for reason, value in self.summary.items()},
            "documents": [{"doc_id": d.doc_id, "kept": [list(span) for span in d.kept]} for d in self.documents],
            "removed": [entry.to_dict() for entry in self.removed],
        }


@dataclass(frozen=True, slots=True)
class UnitSelection:
    """Which of the caller's units to drop (``drop[doc][unit]``), with a Removed entry per dropped unit."""

    drop: list[list[bool]]
    removed: list[Removed]
    summary: dict[str, ReasonSummary]


# ----------------------------------------------------------------------------- unit-level cores


def first_occurrences(keys: Sequence[Hashable | None]) -> list[int | None]:
    """For each unit, the index of the first earlier unit with the same key (None: keep; key None: skip)."""
    first: dict[Hashable, int] = {}
    result: list[int | None] = []
    for index, key in enumerate(keys):
        if key is None:
            result.append(None)
            continue
        earlier = first.setdefault(key, index)
        result.append(None if earlier == index else earlier)
    return result


def boilerplate_occurrences(
    keys: Sequence[Hashable | None], doc_of_unit: Sequence[int], min_docs: int
) -> list[int | None]:
    """Like ``first_occurrences``, restricted to keys found in at least ``min_docs`` distinct documents."""
    docs_with_key: dict[Hashable, set[int]] = {}
    for key, doc in zip(keys, doc_of_unit):
        if key is not None:
            docs_with_key.setdefault(key, set()).add(doc)
    frequent = {key for key, docs in docs_with_key.items() if len(docs) >= min_docs}
    return first_occurrences([key if key in frequent else None for key in keys])


def boilerplate_min_docs(config: DedupConfig, document_count: int) -> int:
    """Documents a line must recur in to count as boilerplate: both the count and the fraction must hold."""
    return max(config.boilerplate_min_docs, math.ceil(config.boilerplate_min_fraction * document_count))


def near_duplicates(
    texts: Sequence[str | None],
    config: DedupConfig,
    *,
    implementation: str | None = None,
    banding: _minhash.Banding | None = None,
) -> list[tuple[int, float] | None]:
    """For each text, ``(index of the earlier kept text it nearly duplicates, Jaccard)`` or None.

    Texts are visited in order; a text is compared (exact Jaccard of shingle
    sets) with at most ``max_candidates`` earlier *kept* texts that share an
    LSH band with it, and the most similar one at or above the threshold wins
    (ties: the earliest). None entries are skipped.
    """
    present = [index for index, text in enumerate(texts) if text is not None]
    result: list[tuple[int, float] | None] = [None] * len(texts)
    if len(present) < 2:
        return result
    hashes, hash_offsets = _minhash.shingle_hashes(
        (texts[index] for index in present),  # read once, in order: not all held at once
        by_words=config.shingle == "word",
        size=config.shingle_size,
        implementation=implementation,
    )
    perm_a, perm_b = _minhash.permutations(config.num_perm, config.seed)
    matrix = _minhash.signatures(hashes, hash_offsets, perm_a, perm_b, implementation=implementation)
    if banding is None:
        banding = _minhash.choose_banding(float(config.threshold), config.num_perm)
    band_keys = _minhash.band_keys(matrix, banding)
    del matrix
    offsets = hash_offsets.tolist()
    # A band's table maps a key to the one unit that has it, or to a list once several do:
    # most keys are unique, and a list per key was most of near dedup's memory on prose.
    tables: list[dict[int, int | list[int]]] = [{} for _ in range(banding.bands)]

    def shingles(position: int) -> set[int]:
        # Built on demand, not cached: sets for every kept unit would cost more memory than the text.
        return set(hashes[offsets[position] : offsets[position + 1]].tolist())

    threshold = float(config.threshold)
    for position in _sharing_a_band(band_keys, np.flatnonzero(np.diff(hash_offsets) > 0)):
        unit_keys = band_keys[position].tolist()
        candidates: list[int] = []
        seen: set[int] = set()
        for band, key in enumerate(unit_keys):
            found = tables[band].get(key, ())
            for other in (found,) if isinstance(found, int) else found:
                if other not in seen:
                    seen.add(other)
                    candidates.append(other)
            if len(candidates) >= config.max_candidates:
                break
        best: tuple[int, float] | None = None
        if candidates:
            mine = shingles(position)
            for other in sorted(candidates)[: config.max_candidates]:
                theirs = shingles(other)
                similarity = len(mine & theirs) / len(mine | theirs)
                if similarity >= threshold and (best is None or similarity > best[1]):
                    best = (other, similarity)
        if best is not None:
            result[present[position]] = (present[best[0]], best[1])
            continue
        for band, key in enumerate(unit_keys):
            table = tables[band]
            earlier = table.get(key)
            if earlier is None:
                table[key] = position
            elif isinstance(earlier, int):
                table[key] = [earlier, position]
            else:
                earlier.append(position)
    return result


def _sharing_a_band(band_keys: np.ndarray, live: np.ndarray) -> list[int]:
    """The units of ``live`` (in order) whose key in some band another live unit has too.

    Only these can find a candidate or be one: a unit whose every band key is its own is
    kept and never looked up, so the LSH loop skips it (one sort per band instead of a
    dictionary lookup and insert per unit and band: most units of a store share nothing).
    """
    involved = np.zeros(band_keys.shape[0], dtype=bool)
    for band in range(band_keys.shape[1]):
        keys = band_keys[live, band]
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        repeat = ordered[1:] == ordered[:-1]
        shared = np.zeros(len(live), dtype=bool)
        shared[1:] |= repeat
        shared[:-1] |= repeat
        involved[live[order[shared]]] = True
    return np.flatnonzero(involved).tolist()


# ----------------------------------------------------------------------------- overlap (the stage is in _overlap)


def stitch_overlaps(
    docs: Any, *, groups: Sequence[Hashable | None] | None = None, config: DedupConfig | None = None, **options: Any
) -> list[Removed]:
    """Overlap removals only: for each window, the prefix that repeats what its source kept before.

    Windows of one source are the documents sharing ``groups[i]`` (when given)
    or else the first present metadata key of ``config.source_keys``
    (``"source_id"``, then ``"source"``); documents without one are not
    stitched. Windows follow input order within a source. A window's removed
    prefix is split into one entry per earlier window it repeats, each with the
    kept span there. The kept text of window i is ``text[max(end of its entries):]``.
    """
    config = DedupConfig.build(config, **options)
    documents = as_documents(docs)
    kept = [[(0, len(d.text))] if d.text else [] for d in documents]
    return overlap_stage(documents, kept, group_keys(documents, groups, config), config)


# ----------------------------------------------------------------------------- dedup


def _cut(kept: list[Spans], cuts: dict[int, Spans]) -> None:
    """Subtract sorted, disjoint cuts (each inside one kept piece) from the kept pieces."""
    for doc, doc_cuts in cuts.items():
        doc_cuts.sort()
        pieces: Spans = []
        cut_index = 0
        for start, end in kept[doc]:
            cursor = start
            while cut_index < len(doc_cuts) and doc_cuts[cut_index][0] < end:
                cut_start, cut_end = doc_cuts[cut_index]
                if cut_start > cursor:
                    pieces.append((cursor, cut_start))
                cursor = max(cursor, cut_end)
                cut_index += 1
            if cursor < end:
                pieces.append((cursor, end))
        kept[doc] = pieces


def _absorb_whitespace(text: str, end: int, piece_end: int) -> int:
    match = NON_SPACE.search(text, end, piece_end)
    return piece_end if match is None else match.start()


@dataclass(slots=True)
class _Unit:
    doc: int
    start: int
    end: int
    piece_end: int


class _UnitTable(Sequence[_Unit]):
    """Units as rows ``[doc, start, end, piece_end]`` of one int64 array; a ``_Unit`` is made when read.

    A store of one-line paragraphs has a unit every few characters: as ``_Unit``
    objects in a list they cost ~130 bytes each (over 30x the text), as rows 32.
    """

    __slots__ = ("rows",)

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows

    @property
    def docs(self) -> list[int]:
        return self.rows[:, 0].tolist()

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def __getitem__(self, index: int) -> _Unit:  # type: ignore[override]
        return _Unit(*self.rows[index].tolist())

    def __iter__(self) -> Iterator[_Unit]:
        for block in range(0, len(self), 4096):
            for row in self.rows[block : block + 4096].tolist():
                yield _Unit(*row)


class _UnitTexts(Sequence[str | None]):
    """The text of each unit, sliced out of its document when read; None for a unit too short
    to compare. A list of every unit's text was a second copy of the corpus (1.6 MB for
    1 MB of random latin-1, whose repaired text is four bytes a character)."""

    __slots__ = ("documents", "units", "long_enough")

    def __init__(self, documents: Sequence[Document], units: _UnitTable, min_chars: int) -> None:
        self.documents = documents
        self.units = units
        self.long_enough = bytearray(normalized_length_at_least(self._text(unit), min_chars) for unit in units)

    def _text(self, unit: _Unit) -> str:
        return self.documents[unit.doc].text[unit.start : unit.end]

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, index: int) -> str | None:  # type: ignore[override]
        return self._text(self.units[index]) if self.long_enough[index] else None

    def __iter__(self) -> Iterator[str | None]:
        for unit, long_enough in zip(self.units, self.long_enough):
            yield self._text(unit) if long_enough else None


# str.lower() makes at most two characters of one ("İ" -> "i̇"), so a unit shorter than
# half the minimum key length can never have a key: such units are not kept at all.
_LOWER_GROWTH = 2


def _units(documents: Sequence[Document], kept: list[Spans], finder, min_chars: int = 0) -> _UnitTable:
    """Units of every kept piece of prose, leaving out those too short to ever reach ``min_chars``.

    A unit without a key never gets a decision and is never another's source, so
    leaving it out changes nothing; a store of two-letter lines then builds no rows.
    """
    shortest = -(-min_chars // _LOWER_GROWTH)

    def values() -> Iterator[int]:
        for doc, pieces in enumerate(kept):
            if documents[doc].metadata.get("language") in CODE_LANGUAGES:
                # Source code (a store sets the language from the file suffix): a repeated line or docstring
                # sentence of a program is not removable text; whole duplicate files and overlap still go.
                continue
            text = documents[doc].text
            for piece_start, piece_end in pieces:
                for start, end in finder(text, piece_start, piece_end):
                    if end - start < shortest:
                        continue
                    yield doc
                    yield start
                    yield end
                    yield piece_end

    return _UnitTable(np.fromiter(values(), dtype=np.int64).reshape(-1, 4))


def _apply(
    documents: Sequence[Document],
    kept: list[Spans],
    units: Sequence[_Unit],
    decisions: Sequence[tuple[int, float | None] | int | None],
    reason: RemovedReason,
    removed: list[Removed],
) -> None:
    cuts: dict[int, Spans] = {}
    for unit, decision in zip(units, decisions):
        if decision is None:
            continue
        other, similarity = decision if isinstance(decision, tuple) else (decision, None)
        source = units[other]
        text = documents[unit.doc].text
        end = _absorb_whitespace(text, unit.end, unit.piece_end)
        removed.append(
            Removed(
                doc_id=documents[unit.doc].id,
                start=unit.start,
                end=end,
                reason=reason,
                kept_doc_id=documents[source.doc].id,
                kept_start=source.start,
                kept_end=source.end,
                text=text[unit.start : end],
                similarity=similarity,
            )
        )
        cuts.setdefault(unit.doc, []).append((unit.start, end))
    _cut(kept, cuts)


def _document_units(documents: Sequence[Document], kept: list[Spans]) -> list[tuple[list[_Unit], str]]:
    """Per document: its kept pieces as units (stripped) and its kept text joined by newlines."""
    result = []
    for doc, pieces in enumerate(kept):
        text = documents[doc].text
        units = []
        for start, end in pieces:
            s, e = strip_span(text, start, end)
            if e > s:
                units.append(_Unit(doc, s, e, end))
        result.append((units, "\n".join(text[u.start : u.end] for u in units)))
    return result


def _whole_document_stage(
    documents: Sequence[Document],
    kept: list[Spans],
    decisions_for,
    reason: RemovedReason,
    removed: list[Removed],
) -> None:
    """Remove every kept piece of documents that duplicate an earlier document as a whole."""
    per_doc = _document_units(documents, kept)
    decisions = decisions_for([joined if units else None for units, joined in per_doc])
    cuts: dict[int, Spans] = {}
    for doc, decision in enumerate(decisions):
        if decision is None:
            continue
        other, similarity = decision if isinstance(decision, tuple) else (decision, None)
        units = per_doc[doc][0]
        kept_units = per_doc[other][0]
        # Exact copies map piece to piece when the two documents were kept in the same shape.
        same_shape = reason == "exact" and len(units) == len(kept_units)
        text = documents[doc].text
        for position, unit in enumerate(units):
            source = kept_units[position] if same_shape else _Unit(other, kept_units[0].start, kept_units[-1].end, 0)
            end = _absorb_whitespace(text, unit.end, unit.piece_end)
            removed.append(
                Removed(
                    doc_id=documents[doc].id,
                    start=unit.start,
                    end=end,
                    reason=reason,
                    kept_doc_id=documents[other].id,
                    kept_start=source.start,
                    kept_end=source.end,
                    text=text[unit.start : end],
                    similarity=similarity,
                )
            )
            cuts.setdefault(doc, []).append((unit.start, end))
    _cut(kept, cuts)


def _exact_keys(documents: Sequence[Document], units: Sequence[_Unit], min_chars: int) -> list[bytes | None]:
    """A digest of ``normalize_unit`` of every unit.

    Digests, not the keys themselves: every unit's key held a second copy of the
    corpus. Each unit is lower-cased alone: ``str.lower()`` of a whole document
    allocates 12 bytes per character while it works.
    """
    keys: list[bytes | None] = []
    for unit in units:
        if unit.end - unit.start > KEY_WINDOW_CHARS:
            # A long unit (a whole document of short lines is one paragraph) is read in
            # windows: its words as one list cost 60 bytes each, 22x the text.
            text = documents[unit.doc].text[unit.start : unit.end]
            keys.append(document_key(text) if normalized_length_at_least(text, min_chars) else None)
            continue
        key = documents[unit.doc].text[unit.start : unit.end].lower()
        # Every whitespace character but " " is non-printable, so this finds all runs to collapse.
        if "  " in key or not key.isprintable():
            key = " ".join(key.split())
        keys.append(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest() if len(key) >= min_chars else None)
    return keys


def _with_tokens(removed: list[Removed], tokenizer: Any) -> tuple[list[Removed], str | None]:
    if tokenizer is None:
        return removed, None
    from dataclasses import replace


    counter = get_tokenizer(tokenizer)
    counts = counter.count_batch([entry.text for entry in removed]) if removed else []
    return [replace(entry, token_count=int(count)) for entry, count in zip(removed, counts)], counter.name


def dedup(
    docs: Any,
    config: DedupConfig | None = None,
    *,
    groups: Sequence[Hashable | None] | None = None,
    tokenizer: Any = None,
    implementation: str | None = None,
    **options: Any,
) -> DedupResult:
    """Remove overlap, duplicates and boilerplate; return kept spans and every removal with its kept copy.

    ``docs``: anything ``chunkwise.Document``-like (see ``as_documents``); ids
    must be unique. ``options`` override ``config`` fields (``threshold=0.7``).
    ``groups`` names the source of each document for overlap stitching (see
    ``stitch_overlaps``). ``tokenizer`` (anything ``get_tokenizer`` accepts)
    adds token counts to the removals and the summary. Offsets are into each
    document's ``text``; kept pieces and removed spans tile every document.
    """
    config = DedupConfig.build(config, **options)
    documents = as_documents(docs)
    kept: list[Spans] = [[(0, len(d.text))] if d.text else [] for d in documents]
    removed: list[Removed] = []

    if config.stitch_overlap:
        removed.extend(overlap_stage(documents, kept, group_keys(documents, groups, config), config))
    elif groups is not None and len(list(groups)) != len(documents):
        raise InputDataError(f"groups has {len(list(groups))} entries for {len(documents)} documents")

    if config.exact_documents:
        _whole_document_stage(
            documents,
            kept,
            lambda texts: first_occurrences([None if t is None else document_key(t) for t in texts]),
            "exact",
            removed,
        )

    # Each stage's units are dropped before the next stage builds its own.
    if config.boilerplate:
        units = _units(documents, kept, iter_lines, config.boilerplate_min_chars)
        keys = _exact_keys(documents, units, config.boilerplate_min_chars)
        live_docs = sum(1 for pieces in kept if pieces)
        decisions = boilerplate_occurrences(keys, units.docs, boilerplate_min_docs(config, live_docs))
        _apply(documents, kept, units, decisions, "boilerplate", removed)
        del units, keys, decisions

    banding = _minhash.choose_banding(float(config.threshold), config.num_perm) if config.near_documents or config.near_paragraphs else None

    def near_keys(texts: Sequence[str | None]) -> list[str | None]:
        return [t if t is not None and normalized_length_at_least(t, config.min_unit_chars) else None for t in texts]

    if config.near_documents:
        _whole_document_stage(
            documents,
            kept,
            lambda texts: near_duplicates(near_keys(texts), config, implementation=implementation, banding=banding),
            "near",
            removed,
        )

    for finder, wanted in ((iter_paragraphs, config.exact_paragraphs), (iter_sentences, config.exact_sentences)):
        if wanted:
            units = _units(documents, kept, finder, config.min_unit_chars)
            _apply(documents, kept, units, first_occurrences(_exact_keys(documents, units, config.min_unit_chars)), "exact", removed)
            del units

    if config.near_paragraphs:
        units = _units(documents, kept, iter_paragraphs, config.min_unit_chars)
        texts = _UnitTexts(documents, units, config.min_unit_chars)
        _apply(documents, kept, units, near_duplicates(texts, config, implementation=implementation, banding=banding), "near", removed)

    order = {document.id: position for position, document in enumerate(documents)}
    removed.sort(key=lambda entry: (order[entry.doc_id], entry.start))
    removed, tokenizer_name = _with_tokens(removed, tokenizer)
    return DedupResult(
        documents=[DedupedDocument(d.id, tuple(pieces), d) for d, pieces in zip(documents, kept)],
        removed=removed,
        summary=summarize_removed(removed, tokenizer is not None),
        input_chars=sum(len(d.text) for d in documents),
        tokenizer_name=tokenizer_name,
    )


def select_units(
    docs: Any,
    units: Sequence[Sequence[tuple[int, int]]],
    config: DedupConfig | None = None,
    *,
    tokenizer: Any = None,
    implementation: str | None = None,
    **options: Any,
) -> UnitSelection:
    """Decide which of the caller's already-segmented units to drop (boilerplate, exact, near).

    ``units[d]`` lists ``(start, end)`` spans of document ``d`` (paragraphs or
    sentences, in order, disjoint). Stages run in that order, each on the
    units still kept: boilerplate (unit text recurring in enough documents,
    ``boilerplate_min_*``), exact (normalized text; ``min_unit_chars``) and,
    when ``near_paragraphs`` is on, near duplicates. Removed spans are the
    units exactly as given (no whitespace absorbed). Overlap stitching is
    separate: call ``stitch_overlaps`` first and drop units inside its spans.
    """
    config = DedupConfig.build(config, **options)
    documents = as_documents(docs)
    if len(units) != len(documents):
        raise InputDataError(f"units has {len(units)} entries for {len(documents)} documents; give one list per document")
    flat: list[_Unit] = []
    for doc, spans in enumerate(units):
        size = len(documents[doc].text)
        for start, end in spans:
            if not 0 <= start <= end <= size:
                raise InputDataError(f"unit ({start}, {end}) is outside document {documents[doc].id!r} of length {size}")
            flat.append(_Unit(doc, int(start), int(end), int(end)))
    texts = [documents[u.doc].text[u.start : u.end] for u in flat]
    alive = [True] * len(flat)
    decisions: list[tuple[RemovedReason, int, float | None] | None] = [None] * len(flat)

    def run(reason: RemovedReason, found: Sequence[tuple[int, float] | int | None], indexes: list[int]) -> None:
        for local, decision in enumerate(found):
            if decision is None:
                continue
            other, similarity = decision if isinstance(decision, tuple) else (decision, None)
            decisions[indexes[local]] = (reason, indexes[other], similarity)
            alive[indexes[local]] = False

    keys = [normalize_unit(text) for text in texts]
    if config.boilerplate:
        indexes = [i for i in range(len(flat)) if alive[i]]
        live_docs = len({flat[i].doc for i in indexes})
        found = boilerplate_occurrences(
            [keys[i] if len(keys[i]) >= config.boilerplate_min_chars else None for i in indexes],
            [flat[i].doc for i in indexes],
            boilerplate_min_docs(config, live_docs),
        )
        run("boilerplate", found, indexes)
    if config.exact_paragraphs or config.exact_sentences:
        indexes = [i for i in range(len(flat)) if alive[i]]
        run("exact", first_occurrences([keys[i] if len(keys[i]) >= config.min_unit_chars else None for i in indexes]), indexes)
    if config.near_paragraphs:
        indexes = [i for i in range(len(flat)) if alive[i]]
        found = near_duplicates(
            [texts[i] if len(keys[i]) >= config.min_unit_chars else None for i in indexes], config, implementation=implementation
        )
        run("near", found, indexes)

    drop = [[False] * len(spans) for spans in units]
    removed: list[Removed] = []
    position = 0
    for doc, spans in enumerate(units):
        for local in range(len(spans)):
            decision = decisions[position]
            if decision is not None:
                reason, other, similarity = decision
                unit, source = flat[position], flat[other]
                drop[doc][local] = True
                removed.append(
                    Removed(
                        doc_id=documents[doc].id,
                        start=unit.start,
                        end=unit.end,
                        reason=reason,
                        kept_doc_id=documents[source.doc].id,
                        kept_start=source.start,
                        kept_end=source.end,
                        text=texts[position],
                        similarity=similarity,
                    )
                )
            position += 1
    removed, _ = _with_tokens(removed, tokenizer)
    return UnitSelection(drop=drop, removed=removed, summary=summarize_removed(removed, tokenizer is not None))


__all__ = [
    "DedupConfig",
    "DedupResult",
    "DedupedDocument",
    "ReasonSummary",
    "UnitSelection",
    "dedup",
    "select_units",
    "stitch_overlaps",
    "line_spans",
    "paragraph_spans",
    "sentence_spans",
    "normalize_unit",
    "first_occurrences",
    "boilerplate_occurrences",
    "near_duplicates",
]
