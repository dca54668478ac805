"""The ``fast`` profile's embedder: every vocabulary token embedded once by the transformer, a text
the mean of its tokens' vectors; the table is built on first use and kept under ``cache_dir()``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputDataError
from ..tokens import text_windows
from ._common import DEFAULT_MODEL, cache_dir, check_texts, check_vectors, fingerprint, normalize_rows, resolve_model_path
from .transformer import SentenceTransformerEmbedder

# Bump when the derivation of the static table changes, so stale tables are not reused.
_STATIC_TABLE_VERSION = 2
_STATIC_BATCH_CHARS = 1 << 15
_STATIC_POOL_TOKENS = 512
# A long text is tokenized in pieces of about this many characters. The tokenizers library
# encodes a batch on its thread pool, and each thread's malloc arena keeps the high-water
# mark of the pieces it handled: 32K-character pieces left 14-18 MB behind once per
# process (14x a 1 MB passage), 4K-character pieces 2 MB, at the same speed.
_STATIC_PIECE_CHARS = 1 << 12
# Batches whose pieces average this many characters or more are encoded on the calling thread.
_SEQUENTIAL_PIECE_CHARS = 1 << 11
# A run without spaces is tokenized whole up to this many characters. Encoding 1 MB of CJK (a
# token a character) in pieces of 32K characters left the process 15.7 MB larger; in pieces of
# 8K, 2.8 MB; of 4K, 0.5 MB (measured). Runs longer than this are cut, as they always were past 32K.
_STATIC_RUN_CHARS = 1 << 13


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
        check_vectors(table, "the static table")
        self.table = table
        self.dimension = int(table.shape[1])
        self.model_id = model_id
        self.max_seq_length = 1 << 30
        tokenizer = _plain_tokenizer(tokenizer)
        self._tokenizer = tokenizer

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(check_texts(texts), add_special_tokens=False)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # Tokenized in batches of about _STATIC_BATCH_CHARS characters (a long text in pieces of
        # _STATIC_PIECE_CHARS cut before a space, where the tokenizer splits anyway) and pooled
        # _STATIC_POOL_TOKENS rows at a time, so memory is bounded by those, not by the input
        # (one 1 MB passage).
        texts = check_texts(texts)
        sums = np.zeros((len(texts), self.dimension), dtype=np.float32)
        rows: list[int] = []
        pieces: list[str] = []
        size = 0
        for row, text in enumerate(texts):
            for start, end in _pieces(text) if len(text) > _STATIC_PIECE_CHARS else ((0, len(text)),):
                rows.append(row)
                pieces.append(text if end - start == len(text) else text[start:end])
                size += end - start
                if size >= _STATIC_BATCH_CHARS:
                    self._pool(rows, pieces, sums)
                    rows, pieces, size = [], [], 0
        if pieces:
            self._pool(rows, pieces, sums)
        return normalize_rows(sums, in_place=True)

    def _pool(self, rows: list[int], pieces: list[str], sums: np.ndarray) -> None:
        """Add the token vectors of each piece to its row of ``sums``."""
        size = sum(map(len, pieces))
        if size >= _SEQUENTIAL_PIECE_CHARS * len(pieces):
            # Long pieces (a passage) are encoded here, on this thread: the library's thread pool
            # grows its threads' malloc arenas by the pieces they handle and keeps them. compress
            # of 1 MB, cold cache: CJK 17.5 -> 14.5 MB peak, random latin-1 18.8 -> 15.7, prose
            # 10.7 -> 9.2. Short texts keep the pool: batching them is about 2x faster.
            encodings = [self._tokenizer.encode(piece, add_special_tokens=False) for piece in pieces]
        else:
            encodings = self._tokenizer.encode_batch(pieces, add_special_tokens=False)
        id_lists = [e.ids for e in encodings]  # each access of .ids builds a new list
        del encodings
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(pieces))
        ids = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=int(lengths.sum()))
        del id_lists
        owners = np.repeat(np.asarray(rows, dtype=np.int64), lengths)
        known = (ids >= 0) & (ids < self.table.shape[0])
        if not known.all():
            ids, owners = ids[known], owners[known]
        # The rows of a block are gathered into one buffer, reused for every block, rather than
        # a new 786 KB array each time (the pooled values are the same).
        rows_buffer = np.empty((min(_STATIC_POOL_TOKENS, ids.size), self.dimension), dtype=np.float32)
        for low in range(0, ids.size, _STATIC_POOL_TOKENS):
            part = owners[low : low + _STATIC_POOL_TOKENS]
            firsts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
            gathered = rows_buffer[: part.size]
            # mode="clip": the ids are in range (filtered above), and "raise" would buffer the output.
            np.take(self.table, ids[low : low + _STATIC_POOL_TOKENS], axis=0, out=gathered, mode="clip")
            sums[part[firsts]] += np.add.reduceat(gathered, firsts, axis=0)


def _pieces(text: str) -> Iterator[tuple[int, int]]:
    """Windows of about _STATIC_PIECE_CHARS characters cut before a space (where the tokenizer
    splits anyway); a window the limit cut inside a run without spaces (JSON, base64, a URL)
    grows with the next ones, up to _STATIC_RUN_CHARS, so the run is tokenized whole."""
    start = -1
    for low, high in text_windows(text, _STATIC_PIECE_CHARS):
        if start < 0:
            start = low
        clean = high == len(text) or (text[high] in " \t" and not text[high - 1].isspace())
        if clean or high - start >= _STATIC_RUN_CHARS:
            yield start, high
            start = -1


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
    key = f"{name}@{fingerprint(path)}-v{_STATIC_TABLE_VERSION}"
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
