"""How options reach a run, shared by ``prepare``, ``audit`` and the store runner.

A stage is switched by ``True`` (its defaults), ``False``/``None`` (off) or its
config; the tokenizer comes from ``tokenizer=``, else the ``model``'s own, else
cl100k_base with a note. (Chunk keywords over a ``ChunkConfig``: ``chunking.with_keywords``;
the report's assumptions: ``reporting.scenarios.checked_report_config``.)
"""

from __future__ import annotations

import warnings
from typing import Any

from .errors import ChunkwiseWarning, ConfigError, TokenizerNotFoundError
from .tokens import DEFAULT_TOKENIZER, Tokenizer, get_tokenizer


def resolve_tokenizer(tokenizer: object, model: str | None, special_tokens: bool) -> tuple[Tokenizer, list[str]]:
    """The tokenizer to count with, and notes on any fallback."""
    if tokenizer is not None or model is None:
        return get_tokenizer(tokenizer, special_tokens=special_tokens), []
    try:
        return get_tokenizer(model, special_tokens=special_tokens), []
    except TokenizerNotFoundError:
        note = (
            f"the tokenizer of {model!r} is not available locally; counts use {DEFAULT_TOKENIZER} "
            "(pass tokenizer= a local tokenizer.json for exact counts)"
        )
        warnings.warn(note, ChunkwiseWarning, stacklevel=3)
        return get_tokenizer(None, special_tokens=special_tokens), [note]


def stage_config(value: Any, kind: type, name: str) -> Any:
    """``True`` -> defaults, ``False``/``None`` -> off, a config -> itself."""
    if value is True:
        return kind()
    if value is False or value is None:
        return None
    if isinstance(value, kind):
        return value
    raise ConfigError(f"{name} must be True, False or a {kind.__name__}, got {type(value).__name__}")
