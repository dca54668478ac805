"""The resumable manifest of a batch job: which documents are done, with which content, in which part file.

One SQLite database in WAL mode (no pickle; safe to inspect with ``sqlite3``).
Tables:

* ``meta(key, value)``: ``schema_version`` and the ``fingerprint`` of the
  configuration the parts were made with; a different fingerprint starts over.
* ``documents(doc_id, content_hash, status, part, offset, length, reason, detail)``:
  the last processed version of every document; ``status`` is ``done`` (its
  record is ``length`` bytes at ``offset`` in ``part``) or ``quarantined``.
* ``parts(name, documents, bytes)``: every part file the documents point into.
* ``listing(position, doc_id, content_hash, reason, detail)``: the store as
  seen by the current run, in store order; ``reason`` is set for records the
  reader rejected (too large, malformed, duplicate id). Rebuilt every run.

A part file is written (atomically) before the transaction that references it
commits, so after a crash every referenced part exists; unreferenced parts are
removed on the next start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputDataError

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, status TEXT NOT NULL,
    part TEXT, offset INTEGER, length INTEGER, reason TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS parts (name TEXT PRIMARY KEY, documents INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS listing (
    position INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, content_hash TEXT NOT NULL, reason TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS listing_doc_id ON listing (doc_id);
"""


@dataclass(frozen=True, slots=True)
class DoneDocument:
    """A document whose record is in a part file."""

    doc_id: str
    content_hash: str
    part: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class QuarantinedDocument:
    """A document that could not be processed, and why."""

    doc_id: str
    content_hash: str
    reason: str
    detail: str


class Manifest:
    """The job's state on disk. One writer (the coordinating process); every method commits what it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # isolation_level=None: transactions are explicit, so a batch commits all or nothing.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        version = self._meta("schema_version")
        if version is None:
            self._set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise InputDataError(
                f"{path} has manifest schema {version}, this chunkwise writes {SCHEMA_VERSION}; use a new output path"
            )

    def close(self) -> None:
        self._db.close()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def start_run(self, fingerprint: str) -> bool:
        """Begin a run with this configuration; False (and a clean slate) when the parts were made with another."""
        previous = self._meta("fingerprint")
        with self._transaction():
            self._db.execute("DELETE FROM listing")
            if previous is not None and previous != fingerprint:
                self._db.execute("DELETE FROM documents")
                self._db.execute("DELETE FROM parts")
            self._set_meta("fingerprint", fingerprint)
        return previous is None or previous == fingerprint

    def _transaction(self) -> sqlite3.Connection:
        return _Transaction(self._db)  # type: ignore[return-value]

    # -- listing (this run's view of the store)

    def list_document(self, position: int, doc_id: str, content_hash: str) -> tuple[str, str | None] | None:
        """Record a document of the store; returns its stored (status, quarantine reason) when the same
        content is already handled."""
        self._in_listing_transaction()
        self._db.execute(
            "INSERT INTO listing (position, doc_id, content_hash) VALUES (?, ?, ?)", (position, doc_id, content_hash)
        )
        row = self._db.execute(
            "SELECT status, reason FROM documents WHERE doc_id = ? AND content_hash = ?", (doc_id, content_hash)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def is_listed(self, doc_id: str) -> bool:
        return self._db.execute(
            "SELECT 1 FROM listing WHERE doc_id = ? AND reason IS NULL LIMIT 1", (doc_id,)
        ).fetchone() is not None

    def list_problem(self, position: int, doc_id: str, content_hash: str, reason: str, detail: str) -> None:
        """Record a store entry the reader rejected; it is reported, never processed."""
        self._in_listing_transaction()
        self._db.execute(
            "INSERT INTO listing (position, doc_id, content_hash, reason, detail) VALUES (?, ?, ?, ?, ?)",
            (position, doc_id, content_hash, reason, detail),
        )

    def _in_listing_transaction(self) -> None:
        # A batch's commit ends the listing's transaction; without a new one every listed document
        # was a transaction of its own (a WAL commit each: 0.27 ms a document, a tenth of a small
        # document's time). Listing rows are rebuilt by every run, so losing them to a crash is harmless.
        if not self._db.in_transaction:
            self._db.execute("BEGIN")

    def commit(self) -> None:
        """End the listing's transaction (listing writes open one as needed)."""
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    # -- batches

    def commit_batch(
        self, part: str | None, part_bytes: int, done: Iterable[DoneDocument], quarantined: Iterable[QuarantinedDocument]
    ) -> None:
        """Record one finished batch: the part file (already on disk) and the state of each of its documents."""
        done = list(done)
        with self._transaction():
            if part is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO parts (name, documents, bytes) VALUES (?, ?, ?)", (part, len(done), part_bytes)
                )
            self._db.executemany(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, 'done', ?, ?, ?, NULL, NULL)",
                [(d.doc_id, d.content_hash, d.part, d.offset, d.length) for d in done],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, 'quarantined', NULL, NULL, NULL, ?, ?)",
                [(q.doc_id, q.content_hash, q.reason, q.detail) for q in quarantined],
            )

    # -- assembly

    def done_in_order(self) -> Iterator[DoneDocument]:
        """The done documents of the current listing, in store order."""
        cursor = self._db.execute(
            "SELECT d.doc_id, d.content_hash, d.part, d.offset, d.length FROM listing l "
            "JOIN documents d ON d.doc_id = l.doc_id AND d.content_hash = l.content_hash "
            "WHERE l.reason IS NULL AND d.status = 'done' ORDER BY l.position"
        )
        for row in cursor:
            yield DoneDocument(*row)

    def quarantined_in_order(self) -> Iterator[tuple[int, QuarantinedDocument]]:
        """Every quarantined entry of the current listing (reader or worker), in store order."""
        cursor = self._db.execute(
            "SELECT l.position, l.doc_id, l.content_hash, COALESCE(l.reason, d.reason), COALESCE(l.detail, d.detail) "
            "FROM listing l LEFT JOIN documents d ON l.reason IS NULL AND d.doc_id = l.doc_id "
            "AND d.content_hash = l.content_hash "
            "WHERE l.reason IS NOT NULL OR d.status = 'quarantined' ORDER BY l.position"
        )
        for position, *fields in cursor:
            yield position, QuarantinedDocument(*fields)

    def unfinished(self) -> int:
        """Listed documents with no state for their current content (0 once a run is complete)."""
        return self._db.execute(
            "SELECT COUNT(*) FROM listing l LEFT JOIN documents d ON d.doc_id = l.doc_id "
            "AND d.content_hash = l.content_hash WHERE l.reason IS NULL AND d.doc_id IS NULL"
        ).fetchone()[0]

    def part_names(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT name FROM parts")}

    def forget_unlisted(self) -> tuple[int, set[str]]:
        """Drop documents no longer in the store or superseded, and parts nothing points into.

        Returns (documents dropped, part names to delete from disk).
        """
        with self._transaction():
            dropped = self._db.execute(
                "DELETE FROM documents WHERE NOT EXISTS (SELECT 1 FROM listing l WHERE l.doc_id = documents.doc_id "
                "AND l.reason IS NULL AND l.content_hash = documents.content_hash)"
            ).rowcount
            unused = {
                row[0]
                for row in self._db.execute(
                    "SELECT name FROM parts WHERE name NOT IN (SELECT part FROM documents WHERE part IS NOT NULL)"
                )
            }
            self._db.executemany("DELETE FROM parts WHERE name = ?", [(name,) for name in sorted(unused)])
        return dropped, unused


class _Transaction:
    """``with``: BEGIN ... COMMIT, or ROLLBACK on an exception (commits any open listing transaction first)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, kind, value, traceback) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")


__all__ = ["Manifest", "DoneDocument", "QuarantinedDocument", "SCHEMA_VERSION"]
