"""Vectors kept in SQLite (WAL: several processes may share it), keyed by model id and a BLAKE2b
hash of the text, so re-embedding an unchanged store costs nothing; nothing read is unpickled.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._common import Embedder, cache_dir, check_texts, check_vectors

def text_key(text: str) -> bytes:
    """The cache key of a text: BLAKE2b-128 of its UTF-8 bytes."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


_BUSY_SECONDS = 60
"""How long a connection waits for another process's lock (SQLite's busy timeout, and the WAL switch's retries)."""


class EmbeddingCache:
    """Vectors by (model id, text hash) in SQLite; safe to share between processes (WAL mode).

    Values are raw float32 bytes, never pickles. One connection per cache
    object, guarded by a lock, so threads of one process may share it too.
    """

    _QUERY_CHUNK = 500

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / "embeddings.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._wal_mode()
            self._connection.execute("PRAGMA synchronous=NORMAL")
            # SQLite's own page cache (2 MB by default) was the largest fixed cost of a small
            # semantic run; the OS caches the file, and lookups are by random key anyway.
            self._connection.execute("PRAGMA cache_size=-256")
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, "
                "vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
            )

    def _wal_mode(self) -> None:
        """Switch the file to WAL. Processes opening a new file at once can get "database is
        locked" here without SQLite's busy timeout being consulted (the switch needs the file
        alone; seen with three processes on a loaded machine), so it is retried for up to the
        connection's own busy timeout."""
        deadline = time.monotonic() + _BUSY_SECONDS
        delay = 0.01
        while True:
            try:
                self._connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def get(self, model_id: str, texts: Sequence[str], dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, found): rows for texts in the cache; ``found`` marks which rows are filled."""
        position: dict[bytes, int] = {}
        inverse = np.fromiter(
            (position.setdefault(text_key(text), len(position)) for text in texts), dtype=np.int64, count=len(texts)
        )
        unique = list(position)
        hits: list[int] = []
        blobs: list[bytes] = []
        with self._lock:
            for first in range(0, len(unique), self._QUERY_CHUNK):
                part = unique[first : first + self._QUERY_CHUNK]
                marks = ",".join("?" * len(part))
                cursor = self._connection.execute(
                    f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})", [model_id, *part]
                )
                for key, blob in cursor:
                    if len(blob) != 4 * dimension:
                        continue  # written by another model version; treat as missing
                    hits.append(position[key])
                    blobs.append(blob)
        # Filled in one assignment, then spread to the rows: an assignment per key was most of
        # a lookup's time for short texts (one-line paragraphs).
        vectors = np.zeros((len(unique), dimension), dtype=np.float32)
        found = np.zeros(len(unique), dtype=bool)
        if hits:
            vectors[hits] = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(hits), dimension)
            found[hits] = True
        if len(unique) == len(texts):  # no repeats: the unique rows are the rows, in order
            return vectors, found
        if not hits:  # nothing cached: zeros, whose pages are never touched, not a copy of them
            return np.zeros((len(texts), dimension), dtype=np.float32), np.zeros(len(texts), dtype=bool)
        return vectors[inverse], found[inverse]

    def put(self, model_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # Rows go in a slice at a time, in one transaction: a list of every row's bytes was a
        # second copy of all the vectors (1.5 KB a text: 10x the sentences of a compressed passage).
        records = ((model_id, text_key(text), vector.tobytes()) for text, vector in zip(texts, vectors))
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                while part := list(itertools.islice(records, self._QUERY_CHUNK)):
                    self._connection.executemany("INSERT OR REPLACE INTO vectors (model, key, vector) VALUES (?, ?, ?)", part)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class CachedEmbedder:
    """An embedder whose vectors go through an ``EmbeddingCache``; only unseen texts reach the model.

    Identical texts within one call are embedded once.
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self.inner = embedder
        self.cache = cache
        self.model_id = embedder.model_id
        self.max_seq_length = embedder.max_seq_length
        self.dimension = embedder.dimension
        self.misses = 0  # texts sent to the model, for tests and reports

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return self.inner.token_counts(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        vectors, found = self.cache.get(self.model_id, texts, self.dimension)
        if not found.all():
            missing = np.flatnonzero(~found)
            unique = list(dict.fromkeys(texts[index] for index in missing))
            fresh = check_vectors(np.asarray(self.inner.embed(unique), dtype=np.float32), self.model_id)
            self.misses += len(unique)
            self.cache.put(self.model_id, unique, fresh)
            if len(unique) == len(texts):  # nothing cached, no repeats: the rows are already in order
                return fresh
            position = {text: row for row, text in enumerate(unique)}
            vectors[missing] = fresh[[position[texts[index]] for index in missing]]
        return vectors
