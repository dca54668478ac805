"""LlamaIndex adapters: a node parser backed by ``chunkwise.chunk`` and a node postprocessor backed by ``compress``.

``ChunkwiseNodeParser`` goes wherever LlamaIndex takes a node parser or a
transformation (``get_nodes_from_documents``, ``IngestionPipeline``,
``VectorStoreIndex.from_documents(transformations=[...])``). Its nodes carry
chunkwise's exact ``start_char_idx``/``end_char_idx`` into the parent's text
(LlamaIndex's own post-processing re-finds them with ``str.find``, which
goes wrong on repeated text; the parser puts chunkwise's back) and the usual
SOURCE/PREVIOUS/NEXT relationships. ``ChunkwisePostprocessor`` goes in
``node_postprocessors=[...]`` of a query engine, or is called directly.
Needs ``pip install "chunkwise[llamaindex]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._shared import (
    CHUNK_OPTIONS,
    ChunkOption,
    Passage,
    Splitter,
    chunk_options,
    check_compress_settings,
    compress_passages,
    describe_embedder,
    describe_tokenizer,
    offset_of,
    require,
)

require("llama_index.core", "llamaindex")

from llama_index.core.bridge.pydantic import Field, create_model, field_serializer  # noqa: E402
from llama_index.core.node_parser.interface import TextSplitter  # noqa: E402
from llama_index.core.postprocessor.types import BaseNodePostprocessor  # noqa: E402
from llama_index.core.schema import (  # noqa: E402
    BaseNode,
    Document,
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    TextNode,
)

from ..errors import InputDataError  # noqa: E402


def _option_field(option: ChunkOption) -> tuple[Any, Any]:
    """A pydantic field for a chunk option. A choice is typed ``str`` and its choices named in the
    description, so a bad value reaches ChunkConfig, whose ConfigError message (choices listed)
    is what the user reads, inside pydantic's ValidationError as for any model_post_init error."""
    if option.choices is None:
        return option.annotation, Field(default=option.default, description=option.help)
    described = f"{option.help}: one of {', '.join(map(repr, option.choices))}"
    return str, Field(default=option.default, description=described)


# One pydantic field per chunk option, typed, defaulted and described by ChunkConfig itself.
_ChunkOptionFields = create_model(
    "_ChunkOptionFields",
    __base__=TextSplitter,
    **{option.name: _option_field(option) for option in chunk_options()},
)


class ChunkwiseNodeParser(_ChunkOptionFields):  # type: ignore[misc,valid-type]
    """A LlamaIndex node parser that cuts with ``chunkwise.chunk``: structure-aware, hard token cap, exact offsets.

    Fields are ``ChunkConfig``'s chunk options (``max_tokens``, ``min_tokens``,
    ``overlap`` in tokens, ``strategy``, ``profile``, ``special_tokens``), plus
    ``tokenizer`` and ``embedder``. The cap applies to the node's text;
    metadata that LlamaIndex adds when embedding is not counted. Each node
    keeps its parent's metadata and metadata settings unchanged.
    """

    tokenizer: Any = Field(default=None, description="Anything chunkwise.get_tokenizer accepts.")
    embedder: Any = Field(default=None, description="Embedder for strategy='semantic'.")

    # IngestionPipeline keys its cache on to_dict(): objects serialize by name so that
    # two parsers with different tokenizers or embedders never share cached nodes.
    @field_serializer("tokenizer")
    def _tokenizer_name(self, tokenizer: Any) -> Any:
        return describe_tokenizer(tokenizer)

    @field_serializer("embedder")
    def _embedder_name(self, embedder: Any) -> Any:
        return describe_embedder(embedder)

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        self._splitter()  # validate the options now, not at the first document

    def _splitter(self) -> Splitter:
        # Built from the fields on each use, so a field changed after construction takes effect.
        return Splitter(tokenizer=self.tokenizer, embedder=self.embedder, **{name: getattr(self, name) for name in CHUNK_OPTIONS})

    @classmethod
    def class_name(cls) -> str:
        return "ChunkwiseNodeParser"

    def split_text(self, text: str) -> list[str]:
        return [piece.text for piece in self._splitter().split([text])[0]]

    def split_texts(self, texts: list[str]) -> list[str]:
        return [piece.text for chunks in self._splitter().split(texts) for piece in chunks]

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        nodes = list(nodes)
        texts = [node.get_content(metadata_mode=MetadataMode.NONE) for node in nodes]
        parsed: list[BaseNode] = []
        for node, chunks in zip(nodes, self._splitter().split(texts)):
            # One relationship object per parent: computing it hashes the parent's whole text.
            source = node.as_related_node_info()
            for position, piece in enumerate(chunks):
                parsed.append(
                    TextNode(
                        id_=self.id_func(position, node),
                        text=piece.text,
                        start_char_idx=piece.start,
                        end_char_idx=piece.end,
                        metadata=dict(node.metadata),
                        excluded_embed_metadata_keys=list(node.excluded_embed_metadata_keys),
                        excluded_llm_metadata_keys=list(node.excluded_llm_metadata_keys),
                        metadata_seperator=node.metadata_separator,
                        metadata_template=node.metadata_template,
                        text_template=getattr(node, "text_template", TextNode.model_fields["text_template"].default),
                        relationships={NodeRelationship.SOURCE: source},
                    )
                )
        return parsed

    def _postprocess_parsed_nodes(self, nodes: list[BaseNode], parent_doc_map: dict[str, Document]) -> list[BaseNode]:
        offsets = [(node.start_char_idx, node.end_char_idx) if isinstance(node, TextNode) else None for node in nodes]
        nodes = super()._postprocess_parsed_nodes(nodes, parent_doc_map)
        for node, exact in zip(nodes, offsets):
            if exact is not None:
                node.start_char_idx, node.end_char_idx = exact
        return nodes


class ChunkwisePostprocessor(BaseNodePostprocessor):
    """A LlamaIndex node postprocessor that keeps the sentences answering the query, within ``budget_tokens``.

    Backed by ``chunkwise.compress``. Nodes come back in the order given,
    each a copy holding only its kept sentences, with its id, score and
    metadata unchanged (``start_char_idx``/``end_char_idx`` narrow to the
    range the kept text covers); a node with nothing kept is dropped. The
    kept texts joined by ``"\\n\\n"`` never exceed ``budget_tokens``. Nodes of one
    document whose offsets overlap are stitched, so shared text is kept once.
    ``embedder``: None (``balanced`` MiniLM), a profile name, an Embedder, or
    False for lexical scoring only; ``options``: ``CompressConfig`` fields.
    """

    budget_tokens: int = Field(description="Hard cap on the tokens of all kept text together.")
    tokenizer: Any = Field(default=None)
    embedder: Any = Field(default=None)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("tokenizer")
    def _tokenizer_name(self, tokenizer: Any) -> Any:
        return describe_tokenizer(tokenizer)

    @field_serializer("embedder")
    def _embedder_name(self, embedder: Any) -> Any:
        return describe_embedder(embedder)

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        check_compress_settings(self.budget_tokens, self.options)

    @classmethod
    def class_name(cls) -> str:
        return "ChunkwisePostprocessor"

    def _postprocess_nodes(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        if query_bundle is None:
            raise InputDataError("ChunkwisePostprocessor needs the query: pass query_str= or query_bundle=")
        passages = []
        for scored in nodes:
            node = scored.node
            start = offset_of(getattr(node, "start_char_idx", None))
            text = node.get_content(metadata_mode=MetadataMode.NONE)
            end = getattr(node, "end_char_idx", None)
            exact = start is not None and end == start + len(text)
            passages.append(Passage(text, node.ref_doc_id if exact else None, start if exact else None))
        kept = compress_passages(
            query_bundle.query_str,
            passages,
            budget_tokens=self.budget_tokens,
            tokenizer=self.tokenizer,
            embedder=self.embedder,
            options=self.options,
        )
        out = []
        for scored, passage, part in zip(nodes, passages, kept):
            if part is None:
                continue
            changes: dict[str, Any] = {"text": part.text, "embedding": None, "metadata": dict(scored.node.metadata)}
            start = offset_of(getattr(scored.node, "start_char_idx", None))
            if start is not None and getattr(scored.node, "end_char_idx", None) == start + len(passage.text):
                changes["start_char_idx"] = start + part.spans[0][0]
                changes["end_char_idx"] = start + part.spans[-1][1]
            out.append(NodeWithScore(node=scored.node.model_copy(update=changes), score=scored.score))
        return out


__all__ = ["ChunkwiseNodeParser", "ChunkwisePostprocessor"]
