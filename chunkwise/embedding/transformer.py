"""The transformer embedder: all-MiniLM-L6-v2 (or any sentence-transformers model) from local files,
and ``embed_window`` for texts longer than the model reads.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..errors import ChunkwiseWarning, ConfigError, MissingDependencyError, ModelNotFoundError
from ._common import DEFAULT_MODEL, INSTALL_HINT, Embedder, Precision, check_texts, check_vectors, fingerprint, normalize_rows, resolve_model_path

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
            raise MissingDependencyError(f"semantic chunking with a transformer needs sentence-transformers: {INSTALL_HINT}") from err
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            # A local folder and local_files_only: nothing is fetched, and no environment is changed.
            self.model = SentenceTransformer(str(self.path), device=device, local_files_only=True)
        except OSError as err:
            raise ModelNotFoundError(f"could not load the model in {self.path}: {err}; {INSTALL_HINT}") from err
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
        self.model_id = f"{name}@{fingerprint(self.path)}:{precision}:{long_texts}"
        self._tokenizer = self.model.tokenizer
        self._warned_long = False

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text by the model's tokenizer, special tokens included, no truncation."""
        encoded = self._tokenizer(check_texts(texts), add_special_tokens=True, truncation=False, verbose=False)
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
        texts = check_texts(texts)
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
                self._warn_long(len(long_indexes), len(texts), max(counts))
            vectors = self._encode(texts)
        return check_vectors(vectors, f"model {self.model_id}")

    def _warn_long(self, count: int, total: int, longest: int) -> None:
        if self._warned_long:
            return
        self._warned_long = True
        warnings.warn(
            f"{count} of {total} texts are longer than the embedder's window of {self.max_seq_length} word pieces "
            f"(the longest has {longest}) and are embedded from their head only: the rest of each is never "
            f"searched. Chunk with embed_max_tokens={self.max_seq_length} (chunk(), prepare(), "
            f"--embed-max-tokens) so every chunk also fits the embedder, or pass long_texts='window' (the mean of "
            "windowed embeddings; the 'precise' profile does this). This warning is shown once per embedder.",
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
    texts = check_texts(texts)
    if isinstance(embedder, SentenceTransformerEmbedder):
        return check_vectors(embedder._windowed(texts) if texts else embedder.embed(texts), embedder.model_id)
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
