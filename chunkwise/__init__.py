"""chunkwise: fewer, better tokens for retrieval-augmented generation.

``prepare(docs)`` runs the whole pipeline; each stage is also usable alone.
Nothing is loaded at import: tokenizers and models load on first use, from
local files only.
"""

from ._backend import backend
from ._types import Chunk, Document, Removed, Span
from .budget import plan_budget
from .chunking import ChunkConfig, chunk, chunk_documents, naive_split
from .compress import CompressConfig, Compressed, compress
from .dedup import DedupConfig, DedupResult, dedup
from .embed import CachedEmbedder, Embedder, EmbeddingCache, SentenceTransformerEmbedder, StaticEmbedder, embed_window, get_embedder
from .normalize import Normalized, NormalizeConfig, normalize
from .errors import ChunkwiseError, ChunkwiseWarning
from .evaluation import Evaluation, evaluate
from .index import Hit, Index
from .pipeline import PrepareResult, prepare
from .audit import AuditReport, audit
from .batch import BatchConfig, BatchSummary, prepare_store
from .report import Report, ReportConfig
from .segment import segment
from .tokens import Tokenizer, get_tokenizer

__version__ = "0.1.0"

__all__ = [
    "prepare",
    "PrepareResult",
    "chunk",
    "naive_split",
    "chunk_documents",
    "Embedder",
    "get_embedder",
    "SentenceTransformerEmbedder",
    "StaticEmbedder",
    "EmbeddingCache",
    "CachedEmbedder",
    "embed_window",
    "segment",
    "normalize",
    "Normalized",
    "NormalizeConfig",
    "dedup",
    "compress",
    "Compressed",
    "CompressConfig",
    "plan_budget",
    "Index",
    "Hit",
    "DedupConfig",
    "DedupResult",
    "ChunkConfig",
    "Chunk",
    "Document",
    "Removed",
    "Span",
    "Report",
    "ReportConfig",
    "audit",
    "evaluate",
    "Evaluation",
    "prepare_store",
    "BatchConfig",
    "BatchSummary",
    "AuditReport",
    "Tokenizer",
    "get_tokenizer",
    "backend",
    "ChunkwiseError",
    "ChunkwiseWarning",
    "__version__",
]
