"""What every framework adapter shares: importing the framework, chunking texts, compressing passages.

The adapters only translate between a framework's document type and these
helpers, so chunking and compression behave the same in LangChain,
LlamaIndex and Haystack.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from .._types import Chunk, Document
from ..errors import ConfigError, InputTypeError, MissingDependencyError
from ..chunking.chunker import ChunkConfig, chunk_documents
from ..retrieval.compression import CompressConfig, compress
from ..tokens import get_tokenizer


def require(module: str, extra: str) -> ModuleType:
    """Import a framework module, or say which chunkwise extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"this chunkwise integration needs {module.split('.')[0]!r}, which is not installed; "
            f'install it with: pip install "chunkwise[{extra}]"'
        ) from err


@dataclass(frozen=True)
class ChunkOption:
    """A ``ChunkConfig`` field that adapters and the CLI take by name: its type, default, help and choices."""

    name: str
    annotation: Any
    default: Any
    help: str
    choices: tuple[Any, ...] | None


def chunk_options() -> tuple[ChunkOption, ...]:
    """The ``ChunkConfig`` fields with a ``help`` in their metadata, read from the class itself.

    Every adapter's options and the CLI's chunk flags come from here, so a field
    added, renamed or given a new default in ``ChunkConfig`` changes them all.
    """
    hints = typing.get_type_hints(ChunkConfig)
    found = []
    for item in dataclasses.fields(ChunkConfig):
        if "help" not in item.metadata:
            continue
        annotation = hints[item.name]
        choices = typing.get_args(annotation) if typing.get_origin(annotation) is Literal else None
        found.append(ChunkOption(item.name, annotation, item.default, item.metadata["help"], choices))
    return tuple(found)


CHUNK_OPTIONS: tuple[str, ...] = tuple(option.name for option in chunk_options())
"""Names of the options ``chunk_options`` describes, in ``ChunkConfig``'s order."""


def chunk_config(config: Any = None, options: Mapping[str, Any] | None = None) -> ChunkConfig:
    """``config`` (default ``ChunkConfig()``) with ``options`` over it: the one rule, keywords override.

    Any ``ChunkConfig`` field may be given; a name that is none raises, naming them.
    """
    if config is not None and not isinstance(config, ChunkConfig):
        raise InputTypeError(f"config must be a chunkwise.ChunkConfig, got {type(config).__name__}")
    options = dict(options or {})
    known = [item.name for item in dataclasses.fields(ChunkConfig)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(f"unknown chunk option(s) {', '.join(map(repr, unknown))}; the options are ChunkConfig's fields: {', '.join(known)}")
    base = config if config is not None else ChunkConfig()
    return dataclasses.replace(base, **options) if options else base


class Splitter:
    """``chunk`` with its options fixed once, for a framework splitter to call on batches of texts.

    ``options`` are ``ChunkConfig`` fields and override ``config``; they are
    validated here, so a bad value fails when the adapter is built, not on the
    first document.
    """

    def __init__(self, *, tokenizer: Any = None, embedder: Any = None, config: Any = None, **options: Any) -> None:
        self.config = chunk_config(config, options)
        self.tokenizer_spec = tokenizer
        self.embedder = embedder

    @property
    def tokenizer(self) -> Any:

        # get_tokenizer caches what it loads, so resolving on each use costs nothing after the first.
        return get_tokenizer(self.tokenizer_spec, special_tokens=self.config.special_tokens)

    def count(self, text: str) -> int:
        """Tokens of ``text`` as the cap counts them."""
        return self.tokenizer.count(text)

    def split(self, texts: Sequence[str]) -> list[list[Chunk]]:
        """Chunks of each text (offsets into that text); a batch is embedded once for ``semantic``."""

        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputTypeError(f"document #{position} has {type(text).__name__} content; chunkwise splits str only")
        documents = [Document(f"doc-{position}", text) for position, text in enumerate(texts)]
        return chunk_documents(documents, self.tokenizer, self.config, embedder=self.embedder)


@dataclass(frozen=True)
class Passage:
    """One retrieved text, with where it came from when known (lets overlapping chunks be stitched)."""

    text: str
    doc_id: str | None = None
    start: int | None = None


@dataclass(frozen=True)
class Kept:
    """What compression kept of one passage: the text and its ``(start, end)`` spans in the passage."""

    text: str
    spans: tuple[tuple[int, int], ...]


def describe_tokenizer(spec: Any) -> Any:
    """A JSON-ready name for a tokenizer spec (frameworks hash configs to key caches; objects must not collide)."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, os.PathLike):
        return os.fspath(spec)

    return get_tokenizer(spec).name


def describe_embedder(embedder: Any) -> Any:
    """A JSON-ready name for an embedder option: None, False, a profile name, or the model id."""
    if embedder is None or isinstance(embedder, (bool, str)):
        return embedder
    return str(getattr(embedder, "model_id", type(embedder).__name__))


def offset_of(value: Any) -> int | None:
    """An int offset from metadata, or None for anything else (bools and strings are not offsets)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def source_of(metadata: Mapping[str, Any], key: str | None) -> str | None:
    """The document id under ``key`` in metadata, as a str, or None."""
    if key is None:
        return None
    value = metadata.get(key)
    return None if value is None else str(value)


def _as_input(position: int, passage: Passage) -> Any:
    if passage.doc_id is None or passage.start is None:
        return passage.text
    start, end = passage.start, passage.start + len(passage.text)
    return Chunk(passage.text, start, end, 0, passage.doc_id, position, f"{passage.doc_id}:{start}:{end}")


def _rebuild(text: str, spans: Sequence[tuple[int, int]]) -> str:
    # Join as compress joins sentences: a newline where the original gap had one, else a space.
    parts: list[str] = []
    previous_end: int | None = None
    for start, end in spans:
        if previous_end is not None:
            parts.append("\n" if "\n" in text[previous_end:start] else " ")
        parts.append(text[start:end])
        previous_end = end
    return "".join(parts)


def check_compress_settings(budget_tokens: Any, options: Mapping[str, Any] | None) -> None:
    """Fail when an adapter is built, not at its first query, on a bad budget or compress option."""

    if isinstance(budget_tokens, bool) or not isinstance(budget_tokens, int):
        raise InputTypeError(f"budget_tokens must be an int, got {type(budget_tokens).__name__}")
    if budget_tokens < 1:
        raise ConfigError(f"budget_tokens must be >= 1, got {budget_tokens}; use chunkwise.plan_budget() to size it")
    CompressConfig(**dict(options or {}))


def compress_passages(
    query: str,
    passages: Sequence[Passage],
    *,
    budget_tokens: int,
    tokenizer: Any = None,
    embedder: Any = None,
    options: Mapping[str, Any] | None = None,
) -> list[Kept | None]:
    """``chunkwise.compress`` over ``passages``, returned per passage (None where nothing was kept).

    The kept texts, joined by the configured separator (``"\\n\\n"``, as the
    frameworks' "stuff" prompts join documents), never exceed
    ``budget_tokens``. compress guarantees that for its own joined text; split
    back per passage, a sentence shared by two stitched passages can gain a
    token at the seam, so the budget is tightened by any excess and the call
    repeated.
    """

    options = dict(options or {})
    config = CompressConfig(**options)
    resolved = get_tokenizer(tokenizer)
    inputs = [_as_input(position, passage) for position, passage in enumerate(passages)]
    budget = budget_tokens
    for _ in range(8):
        result = compress(query, inputs, budget_tokens=budget, tokenizer=resolved, embedder=embedder, config=config)
        kept: list[Kept | None] = []
        for passage, spans in zip(passages, result.kept):
            text = _rebuild(passage.text, spans)
            kept.append(Kept(text, tuple(spans)) if text.strip() else None)
        texts = [k.text for k in kept if k is not None]
        total = resolved.count(config.separator.join(texts)) if texts else 0
        if total <= budget_tokens:
            return kept
        budget -= total - budget_tokens
        if budget < 1:
            break
    raise ConfigError(
        f"could not fit the kept passages into {budget_tokens} tokens with this tokenizer; raise budget_tokens"
    )
