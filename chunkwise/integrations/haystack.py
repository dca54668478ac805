"""Haystack components: a document splitter backed by ``chunkwise.chunk`` and a compressor backed by ``compress``.

Both are ``@component`` classes whose ``run`` returns ``{"documents": [...]}``,
so they connect like Haystack's own ``DocumentSplitter`` (before a
``DocumentWriter``) and a ranker (after a retriever). Split documents carry
Haystack's usual ``source_id``, ``page_number``, ``split_id`` and
``split_idx_start`` metadata, the last being chunkwise's exact offset.
Needs ``pip install "chunkwise[haystack]"``.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import os
from typing import Any

from ._shared import CHUNK_OPTIONS, Passage, Splitter, check_compress_settings, compress_passages, offset_of, require, source_of

require("haystack", "haystack")

from haystack import Document, component, default_from_dict, default_to_dict  # noqa: E402
from haystack.core.errors import SerializationError  # noqa: E402

from ..chunking.chunker import ChunkConfig  # noqa: E402
from ..errors import InputDataError, InputTypeError  # noqa: E402


def _tokenizer_spec(spec: Any, owner: str) -> str | None:
    """The tokenizer as a pipeline file can hold it: None, a catalog name or a path."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, os.PathLike):
        return os.fspath(spec)
    raise SerializationError(
        f"{owner} with a {type(spec).__name__} tokenizer cannot be serialized; "
        "pass a catalog name or a path to a tokenizer.json instead"
    )


@component
class ChunkwiseDocumentSplitter:
    """Split Documents with ``chunkwise.chunk``: structure-aware, hard token cap, exact offsets.

    Options are ``ChunkConfig``'s fields by name (``max_tokens``, ``min_tokens``,
    ``overlap`` in tokens, ``strategy``, ``profile``, ``special_tokens``, ...),
    over a whole ``config`` when one is given, plus ``tokenizer`` and
    ``embedder``; an unknown name is a ConfigError. Each split keeps its document's
    metadata unchanged and adds ``source_id`` (the document's id),
    ``page_number`` (1 + form feeds before the split), ``split_id`` and
    ``split_idx_start`` (the character offset in the document's content).
    Documents with empty content give no splits; a batch is embedded once
    for ``strategy="semantic"``.
    """

    def __init__(self, tokenizer: Any = None, embedder: Any = None, config: Any = None, **options: Any) -> None:
        self._chunkwise = Splitter(tokenizer=tokenizer, embedder=embedder, config=config, **options)

    def to_dict(self) -> dict[str, Any]:
        """Serialize for a pipeline file; a tokenizer or embedder given as an object cannot be written down."""

        config = self._chunkwise.config
        tuned = {
            f.name: getattr(config, f.name)
            for f in dataclasses.fields(ChunkConfig)
            if f.name not in CHUNK_OPTIONS and getattr(config, f.name) != getattr(ChunkConfig(), f.name)
        }
        if "break_scores" in tuned:
            tuned["break_scores"] = {int(k): v for k, v in tuned["break_scores"].items()}
        if self._chunkwise.embedder is not None:
            raise SerializationError(
                "ChunkwiseDocumentSplitter with an embedder object cannot be serialized; use profile= instead"
            )
        return default_to_dict(
            self,
            **{name: getattr(config, name) for name in CHUNK_OPTIONS},
            tokenizer=_tokenizer_spec(self._chunkwise.tokenizer_spec, type(self).__name__),
            embedder=None,
            config=tuned or None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkwiseDocumentSplitter:
        parameters = dict(data.get("init_parameters", {}))
        tuned = parameters.get("config")
        if isinstance(tuned, dict):  # the named options in init_parameters go over it, as in __init__
            parameters["config"] = ChunkConfig(**tuned)
        return default_from_dict(cls, {**data, "init_parameters": parameters})

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Split ``documents``; returns ``{"documents": splits}`` in document order."""
        if not isinstance(documents, list) or any(not isinstance(d, Document) for d in documents):
            raise InputTypeError("ChunkwiseDocumentSplitter.run expects a list of haystack Documents")
        for document in documents:
            if document.content is None:
                raise InputDataError(f"document {document.id} has no text content; only text documents can be split")
        splits: list[Document] = []
        for document, chunks in zip(documents, self._chunkwise.split([d.content for d in documents])):
            text = document.content
            page_breaks = [position for position, char in enumerate(text) if char == "\f"] if "\f" in text else []
            for position, piece in enumerate(chunks):
                meta = copy.deepcopy(document.meta)
                meta["source_id"] = document.id
                meta["page_number"] = 1 + bisect.bisect_left(page_breaks, piece.start)
                meta["split_id"] = position
                meta["split_idx_start"] = piece.start
                splits.append(Document(content=piece.text, meta=meta))
        return {"documents": splits}


@component
class ChunkwiseCompressor:
    """Keep the sentences of retrieved Documents that answer the query, within ``budget_tokens``.

    Backed by ``chunkwise.compress``. Documents come back in the order given
    with their id, score and metadata unchanged and only their kept sentences
    as content; a document with nothing kept is dropped. The kept contents
    joined by ``"\\n\\n"`` never exceed ``budget_tokens`` tokens of ``tokenizer``.
    Splits of one document (``source_id`` and ``split_idx_start`` in their
    metadata) that overlap are stitched, so shared text is kept once.
    ``embedder``: None (``balanced`` MiniLM), a profile name, an Embedder, or
    False for lexical scoring only; ``options``: ``CompressConfig`` fields.
    """

    def __init__(
        self,
        budget_tokens: int,
        tokenizer: Any = None,
        embedder: Any = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        check_compress_settings(budget_tokens, options)
        self.budget_tokens = budget_tokens
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.options = dict(options or {})

    def to_dict(self) -> dict[str, Any]:
        """Serialize for a pipeline file; a tokenizer or embedder given as an object cannot be written down."""
        if not (self.embedder is None or isinstance(self.embedder, (bool, str))):
            raise SerializationError(
                "ChunkwiseCompressor with an embedder object cannot be serialized; pass a profile name or False"
            )
        return default_to_dict(
            self,
            budget_tokens=self.budget_tokens,
            tokenizer=_tokenizer_spec(self.tokenizer, type(self).__name__),
            embedder=self.embedder,
            options=self.options,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkwiseCompressor:
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(self, query: str, documents: list[Document]) -> dict[str, list[Document]]:
        """Compress ``documents`` for ``query``; returns ``{"documents": kept}``."""
        passages = [
            Passage(d.content or "", source_of(d.meta, "source_id"), offset_of(d.meta.get("split_idx_start")))
            for d in documents
        ]
        kept = compress_passages(
            query,
            passages,
            budget_tokens=self.budget_tokens,
            tokenizer=self.tokenizer,
            embedder=self.embedder,
            options=self.options,
        )
        return {
            "documents": [
                dataclasses.replace(document, content=part.text, meta=copy.deepcopy(document.meta), embedding=None)
                for document, part in zip(documents, kept)
                if part is not None
            ]
        }


__all__ = ["ChunkwiseDocumentSplitter", "ChunkwiseCompressor"]
