"""chunkwise: fewer, better tokens for retrieval-augmented generation.

``prepare(docs)`` runs the whole pipeline; each stage is also usable alone.
Nothing is loaded at import: tokenizers and models load on first use, from
local files only.
"""

from ._backend import backend
from ._types import Chunk, Document, Removed, Span
from .retrieval.budget import plan_budget
from .chunking.chunker import ChunkConfig, chunk, chunk_documents, naive_split
from .retrieval.compression import CompressConfig, Compressed, compress
from .duplicates.removal import DedupConfig, DedupResult, dedup
from .embedding.embedders import CachedEmbedder, Embedder, EmbeddingCache, SentenceTransformerEmbedder, StaticEmbedder, embed_window, get_embedder
from .text.normalization import Normalized, NormalizeConfig, normalize
from . import errors as _errors
from .errors import *  # noqa: F403 - every error class and the warning, as errors.__all__ lists them
from .retrieval.evaluation import Evaluation, evaluate
from .retrieval.index import Hit, Index
from .pipeline import PrepareResult, prepare
from .reporting.auditing import AuditReport, audit
from .stores.batch import BatchConfig, BatchSummary, prepare_store
from .reporting.report import Report, ReportConfig
from .text.segmentation import segment
from .tokens import Tokenizer, get_tokenizer

from ._version import __version__

# In pipeline order: the whole job, its stages, the store and query-time tools, the types,
# then the errors (every one a ChunkwiseError, so one except catches them all).
__all__ = [
    # the whole job
    "prepare",
    "PrepareResult",
    "prepare_store",
    "BatchConfig",
    "BatchSummary",
    "audit",
    "AuditReport",
    "Report",
    "ReportConfig",
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
    "SentenceTransformerEmbedder",
    "StaticEmbedder",
    "CachedEmbedder",
    "EmbeddingCache",
    "embed_window",
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
