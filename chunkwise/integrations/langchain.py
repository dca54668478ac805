"""LangChain adapters: a ``TextSplitter`` backed by ``chunkwise.chunk`` and a document compressor backed by ``compress``.

``ChunkwiseTextSplitter`` works wherever LangChain takes a splitter
(``split_documents``, ``transform_documents``, indexing helpers); each piece's
``start_index`` is chunkwise's exact offset into the source text, never a
``str.find`` guess. ``ChunkwiseCompressor`` plugs into
``ContextualCompressionRetriever`` (package ``langchain-classic``) or any
chain that calls ``compress_documents``. Needs ``pip install "chunkwise[langchain]"``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from ._shared import Kept, Passage, Splitter, check_compress_settings, compress_passages, offset_of, require, source_of

require("langchain_core", "langchain")
require("langchain_text_splitters", "langchain")

from langchain_core.callbacks import Callbacks  # noqa: E402
from langchain_core.documents import BaseDocumentCompressor, Document  # noqa: E402
from langchain_text_splitters import TextSplitter  # noqa: E402
from pydantic import ConfigDict, Field  # noqa: E402


class ChunkwiseTextSplitter(TextSplitter):
    """A LangChain text splitter that cuts with ``chunkwise.chunk``: structure-aware, hard token cap, exact offsets.

    Options are ``ChunkConfig``'s fields by name (``max_tokens``, ``min_tokens``,
    ``overlap`` in tokens, ``strategy``, ``profile``, ``special_tokens``, ...),
    over a whole ``config`` when one is given, plus ``tokenizer`` and
    ``embedder``; an unknown name is a ConfigError. ``add_start_index`` (on by default,
    unlike LangChain's splitters) writes the chunk's character offset into
    the source ``page_content`` as ``metadata["start_index"]``; the rest of the
    metadata is copied unchanged. ``split_documents`` on a batch embeds every
    unit once for ``strategy="semantic"``.
    """

    def __init__(
        self,
        *,
        tokenizer: Any = None,
        embedder: Any = None,
        config: Any = None,
        add_start_index: bool = True,
        **options: Any,
    ) -> None:
        self._chunkwise = Splitter(tokenizer=tokenizer, embedder=embedder, config=config, **options)
        settings = self._chunkwise.config
        # LangChain's own fields, so code that reads them sees sizes in tokens.
        super().__init__(
            chunk_size=settings.max_tokens,
            chunk_overlap=settings.overlap,
            length_function=self._chunkwise.count,
            add_start_index=add_start_index,
            strip_whitespace=True,
        )

    @property
    def config(self) -> Any:
        """The ``chunkwise.ChunkConfig`` in force."""
        return self._chunkwise.config

    def split_text(self, text: str) -> list[str]:
        return [piece.text for piece in self._chunkwise.split([text])[0]]

    def create_documents(self, texts: list[str], metadatas: list[dict[Any, Any]] | None = None) -> list[Document]:
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(metadatas)} metadata dicts; pass one per text")
        documents = []
        for position, chunks in enumerate(self._chunkwise.split(list(texts))):
            source = metadatas[position] if metadatas is not None else {}
            for piece in chunks:
                metadata = copy.deepcopy(source)
                if self._add_start_index:
                    metadata["start_index"] = piece.start
                documents.append(Document(page_content=piece.text, metadata=metadata))
        return documents

    def split_documents(self, documents: Iterable[Document]) -> list[Document]:
        documents = list(documents)
        return self.create_documents([d.page_content for d in documents], [d.metadata for d in documents])


class ChunkwiseCompressor(BaseDocumentCompressor):
    """A LangChain document compressor that keeps the sentences answering the query, within ``budget_tokens``.

    Backed by ``chunkwise.compress`` (BM25 plus embedding relevance, MMR,
    hard token budget). Documents come back in the order given, each with
    only its kept sentences as ``page_content`` and its metadata unchanged;
    a document with nothing kept is dropped. The returned contents joined by
    ``"\\n\\n"`` never exceed ``budget_tokens`` tokens of ``tokenizer``.

    ``embedder``: None (chunkwise's ``balanced`` MiniLM), a profile name, an
    Embedder, or False for lexical scoring only. ``options``: fields of
    ``chunkwise.retrieval.compression.CompressConfig``. Documents whose metadata holds
    ``start_index`` and a source id under ``source_key`` are stitched where
    they overlap, so shared text is kept once. ``spans_key``, when set,
    records the kept ``(start, end)`` spans of the original ``page_content``
    under that metadata key (off by default, so metadata stays as it was).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    budget_tokens: int
    tokenizer: Any = None
    embedder: Any = None
    options: dict[str, Any] = Field(default_factory=dict)
    source_key: str | None = "source"
    spans_key: str | None = None

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        check_compress_settings(self.budget_tokens, self.options)

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        documents = list(documents)
        passages = []
        for document in documents:
            metadata = document.metadata or {}
            passages.append(
                Passage(document.page_content, source_of(metadata, self.source_key), offset_of(metadata.get("start_index")))
            )
        kept = compress_passages(
            query,
            passages,
            budget_tokens=self.budget_tokens,
            tokenizer=self.tokenizer,
            embedder=self.embedder,
            options=self.options,
        )
        return [self._kept_document(document, part) for document, part in zip(documents, kept) if part is not None]

    def _kept_document(self, document: Document, kept: Kept) -> Document:
        metadata = copy.deepcopy(document.metadata)
        if self.spans_key is not None:
            metadata[self.spans_key] = [list(span) for span in kept.spans]
        return Document(page_content=kept.text, metadata=metadata, id=document.id)


__all__ = ["ChunkwiseTextSplitter", "ChunkwiseCompressor"]
