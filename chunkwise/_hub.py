"""Models and tokenizers in the local Hugging Face cache, through huggingface_hub's cache API.

One lookup for both the embedder (a model folder) and the tokenizers (a
``tokenizer.json``). Never a download: the cache is only read. The cache
folders are read from the environment at each call (``HF_HUB_CACHE``,
``HUGGINGFACE_HUB_CACHE``, ``HF_HOME``, ``SENTENCE_TRANSFORMERS_HOME``), not once
at import as huggingface_hub's own constants are, so a process that sets them
late is still served.
"""

from __future__ import annotations

import os
from pathlib import Path


def hub_cache_dirs() -> list[Path]:
    """The Hugging Face cache folders to look in, most specific first."""
    dirs = [Path(os.environ[name]) for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE") if os.environ.get(name)]
    dirs.append(Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    if os.environ.get("SENTENCE_TRANSFORMERS_HOME"):
        dirs.append(Path(os.environ["SENTENCE_TRANSFORMERS_HOME"]))
    return list(dict.fromkeys(dirs))


def cached_snapshot(repo: str, required: tuple[str, ...]) -> Path | None:
    """The snapshot folder of model ``repo`` ("org/name") holding every file in ``required``, or None.

    The revision ``main`` points to wins; else the most recently changed one
    (a cache copied without its refs still serves).
    """
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.utils import CacheNotFound
    except ImportError:  # pragma: no cover - tokenizers depends on huggingface_hub
        return None
    for cache in hub_cache_dirs():
        if not cache.is_dir():
            continue
        try:
            info = scan_cache_dir(cache)
        except (CacheNotFound, OSError):
            continue
        for cached in info.repos:
            if cached.repo_type != "model" or cached.repo_id != repo:
                continue
            revisions = sorted(cached.revisions, key=lambda r: ("main" in r.refs, r.last_modified), reverse=True)
            for revision in revisions:
                if all((revision.snapshot_path / name).is_file() for name in required):
                    return Path(revision.snapshot_path)
    return None
