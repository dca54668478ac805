"""Adapters that make chunkwise native inside RAG frameworks; each imports its framework only when used.

* ``chunkwise.integrations.langchain``: ``ChunkwiseTextSplitter`` (a LangChain
  ``TextSplitter``) and ``ChunkwiseCompressor`` (a ``BaseDocumentCompressor``
  for ``ContextualCompressionRetriever``). ``pip install "chunkwise[langchain]"``.
* ``chunkwise.integrations.llamaindex``: ``ChunkwiseNodeParser`` (a node
  parser) and ``ChunkwisePostprocessor`` (a node postprocessor).
  ``pip install "chunkwise[llamaindex]"``.
* ``chunkwise.integrations.haystack``: ``ChunkwiseDocumentSplitter`` and
  ``ChunkwiseCompressor`` components. ``pip install "chunkwise[haystack]"``.

Importing this package imports no framework; importing one of the modules
above without its framework raises ``MissingDependencyError`` naming the extra.
Every adapter keeps the input's metadata as it was and records the chunk's
exact character offset into the source text in the framework's own field.
"""

# No __all__: a star import must not pull in every framework.
