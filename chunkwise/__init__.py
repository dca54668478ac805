"""chunkwise: fewer, better tokens for retrieval-augmented generation.

``prepare(docs)`` runs the whole pipeline; each stage is also usable alone.
Nothing is loaded at import: tokenizers and models load on first use, from
local files only.
"""

from . import errors as _errors
from ._backend import backend
from ._types import Chunk, Document, Removed, Span
from .chunking import ChunkConfig, chunk, chunk_documents, naive_split
from .duplicates import DedupConfig, DedupResult, dedup
from .embedding import Embedder, get_embedder
from .errors import *  # noqa: F403 - every error class and the warning, as errors.__all__ lists them
from .pipeline import PrepareResult, prepare
from .reporting import AuditReport, Report, ReportConfig, Visualization, audit, visualize
from .retrieval import CompressConfig, Compressed, Evaluation, Hit, Index, compress, evaluate, plan_budget
from .stores import BatchConfig, BatchSummary, iter_documents, prepare_batch, prepare_store
from .text import Normalized, NormalizeConfig, normalize, segment
from .tokens import Tokenizer, get_tokenizer

# Kept importable from here for code written against earlier versions, but not in __all__:
# they are the embedding package's parts, not the pipeline's (chunkwise.embedding lists them).
from .embedding import CachedEmbedder, EmbeddingCache, SentenceTransformerEmbedder, StaticEmbedder, embed_window  # noqa: F401

from ._version import __version__

# In pipeline order: the whole job, its stages, the store and query-time tools, the types,
# then the errors (every one a ChunkwiseError, so one except catches them all).
__all__ = [
    # the whole job
    "prepare",
    "PrepareResult",
    "prepare_store",
    "prepare_batch",
    "iter_documents",
    "BatchConfig",
    "BatchSummary",
    "audit",
    "AuditReport",
    "Report",
    "ReportConfig",
    "visualize",
    "Visualization",
    # the stages
    "normalize",
    "Normalized",
    "NormalizeConfig",
    "dedup",
    "DedupConfig",
    "DedupResult",
    "segment",
    "chunk",
    "chunk_documents",
    "naive_split",
    "ChunkConfig",
    # query time
    "Index",
    "Hit",
    "compress",
    "Compressed",
    "CompressConfig",
    "plan_budget",
    "evaluate",
    "Evaluation",
    # tokenizers and embedders
    "Tokenizer",
    "get_tokenizer",
    "Embedder",
    "get_embedder",
    # types
    "Chunk",
    "Document",
    "Removed",
    "Span",
    # errors and warnings: every name errors.py exports
    *_errors.__all__,
    # the build
    "backend",
    "__version__",
]
