"""Store-wide dedup, decided before any document is chunked: ``prepare()``'s own dedup over the
store's readable documents, in store order, so a store run removes what ``prepare()`` removes on
the same documents (overlap within a source, exact and near duplicate documents, boilerplate
lines, exact paragraphs and sentences, near paragraphs).

The coordinator reads every document once more for this (the repaired texts of the whole store
are in its memory while it decides; ``store_dedup="chunks"`` is the streaming alternative that
only drops repeated chunks). Each document's decision, a ``DedupPlan``, goes to its worker with
the document, and its digest joins the document's content hash: a document is prepared again
when its own content or what dedup keeps of it changes (a kept copy elsewhere disappeared, say),
and skipped otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from .._options import stage_config
from .._types import Document, Removed
from ..duplicates.removal import DedupConfig, dedup as run_dedup
from ..pipeline import DedupPlan, map_removed, normalize_all
from ..text.normalization import NormalizeConfig
from .sources import Store, StoreRecord, record_document, with_unique_ids


# Peak memory of the plan per byte of store: 8.0x measured on a 212 MB JSONL store of 2 KB documents
# (benchmarks/bench_batch.py's; 1.7 GB), rounded up.
MEMORY_PER_STORE_BYTE = 10


class StoreTooLarge(Exception):
    """The store outgrew the memory the plan may use (raised while reading; the caller falls back)."""

    def __init__(self, read_bytes: int, limit: int) -> None:
        super().__init__(f"read {read_bytes:,} bytes of the store, over the {limit:,} the plan may hold")
        self.read_bytes = read_bytes
        self.limit = limit


def memory_budget() -> int | None:
    """Bytes of store the plan may read: the memory available now (Linux's MemAvailable, else free
    physical pages) over ``MEMORY_PER_STORE_BYTE``; None where neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // MEMORY_PER_STORE_BYTE
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // MEMORY_PER_STORE_BYTE
    except (OSError, ValueError, AttributeError):
        return None


# The digest of "this document's own dedup" (a store of one document), joined to its content hash like a plan's.
OWN_DEDUP_DIGEST = hashlib.blake2b(b"the document's own dedup", digest_size=16).hexdigest()


class StorePlan:
    """Each readable document's ``DedupPlan`` (or True: its worker runs the document's own dedup) and
    the digest that joins its content hash."""

    def __init__(self, plans: dict[str, tuple[DedupPlan | bool, str]]) -> None:
        self._plans = plans

    def attach(self, record: StoreRecord) -> StoreRecord:
        """``record`` carrying its plan, with the plan's digest in its content hash (unchanged when
        the coordinator could not read the record: its worker quarantines it as before)."""
        found = self._plans.get(record.doc_id)
        if found is None or record.problem is not None:
            return record
        plan, digest = found
        combined = hashlib.blake2b((record.content_hash + digest).encode(), digest_size=16).hexdigest()
        return replace(record, content_hash=combined, dedup_plan=plan)


def _readable(store: Store, progress: Callable[[int, int], None] | None, limit: int | None) -> Iterator[Document]:
    """The documents a worker would prepare; one that cannot be read is left out (its worker
    quarantines it with its reason, as without store-wide dedup). ``progress(records, bytes)``
    every 256 records read; StoreTooLarge once more than ``limit`` bytes are read."""
    read = size = 0
    for record in with_unique_ids(store.records()):
        read += 1
        size += record.size
        if limit is not None and size > limit:
            raise StoreTooLarge(size, limit)
        if progress is not None and read % 256 == 0:
            progress(read, size)
        if record.problem is not None:
            continue
        try:
            yield record_document(record)
        except Exception:  # noqa: BLE001 - the worker classifies and quarantines it
            continue


def plan_store(store: Store, prepare_options: dict[str, Any], counter: Any,
               progress: Callable[[int, int], None] | None = None, limit: int | None = None) -> StorePlan:
    """Decide dedup over the whole store as ``prepare(list_of_documents)`` would, one plan per document.

    Raises StoreTooLarge, having read more than ``limit`` bytes of records (None: no limit).
    """
    normalize_config = stage_config(prepare_options.get("normalize", True), NormalizeConfig, "normalize")
    documents = list(_readable(store, progress, limit))
    if len(documents) == 1:
        # Dedup over a store of one document is that document's own, which its worker can run: the
        # coordinator neither repairs nor dedups it first (a 20 MB file: 12.9x -> 12.1x its size
        # at the run's peak, and one pass over it fewer). Same output (tests/test_batch.py).
        return StorePlan({documents[0].id: (True, OWN_DEDUP_DIGEST)})
    normalized, repaired, _ = normalize_all(documents, normalize_config)
    deduped = run_dedup(repaired, DedupConfig(), tokenizer=counter)
    del repaired
    removed_by_doc: dict[str, list[Removed]] = {}
    for entry in map_removed(deduped.removed, normalized):
        removed_by_doc.setdefault(entry.doc_id, []).append(entry)
    del normalized
    plans: dict[str, tuple[DedupPlan | bool, str]] = {}
    for kept in deduped.documents:
        removed = tuple(removed_by_doc.get(kept.doc_id, ()))
        plan = DedupPlan(tuple(kept.kept), removed)
        described = json.dumps([plan.kept, [entry.to_dict() for entry in removed]], ensure_ascii=True, default=str)
        plans[kept.doc_id] = (plan, hashlib.blake2b(described.encode(), digest_size=16).hexdigest())
    return StorePlan(plans)
