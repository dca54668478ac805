"""A faiss index over chunks that also keeps each chunk's sentence vectors, for compress().

``Index.build(chunks)`` embeds every chunk (inner product on unit vectors, so
scores are cosines) and every sentence of every chunk (each sentence once;
the embedding cache makes sentences already embedded for semantic chunking
free). ``search`` returns ``Hit``s that carry those sentence vectors, so
``compress(query, hits, ...)`` costs one query embedding plus arithmetic.

Exact search (``IndexFlatIP``) up to ``APPROXIMATE_FROM`` chunks, HNSW above:
see benchmarks/bench_compress.py for the measurements behind the threshold.

``save(path)`` writes a folder: ``index.faiss``, ``chunks.jsonl``,
``sentence_spans.npy``, ``sentence_offsets.npy``, ``sentence_vectors.npy`` and
``manifest.json`` (embedder id, dimension, format version). Nothing is
pickled; ``Index.load`` refuses an embedder other than the one that built it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from ..text.segmentation import sentences_within
from ..errors import ConfigError, EmbedderMismatchError, InputDataError, InputTypeError, MissingDependencyError
from .._display import plural
from .._types import Chunk, chunk_id
from ..embedding.embedders import get_embedder

IndexKind = Literal["auto", "flat", "hnsw", "ivf"]
FORMAT_VERSION = 1
# Below this many chunks exact search is fast enough (a few ms per query on two cores at
# 384 dimensions) and costs no build time; above it HNSW answers in well under a millisecond.
APPROXIMATE_FROM = 50_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
IVF_PROBE_SHARE = 1 / 16  # of the lists, at least 8
_FILES = ("index.faiss", "chunks.jsonl", "sentence_spans.npy", "sentence_offsets.npy", "sentence_vectors.npy", "manifest.json")


@dataclass(frozen=True, eq=False)
class Hit:
    """One search result: the chunk, its cosine ``score`` to the query and its ``rank`` (0 = best).

    ``sentence_spans`` (int64, (n, 2), offsets into ``chunk.text``) and
    ``sentence_vectors`` (float32, (n, dimension)) come from the index;
    ``model_id`` names the embedder that made them.
    """

    chunk: Chunk
    score: float
    rank: int
    sentence_spans: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None
    model_id: str | None = None


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as err:
        raise MissingDependencyError('the index needs faiss: pip install "chunkwise[index]" (faiss-cpu)') from err
    return faiss


def _resolve_embedder(embedder: Any) -> tuple[Any, str | None]:
    """(embedder, profile name or None)."""
    if embedder is None or isinstance(embedder, str):
        profile = embedder or "balanced"
        return get_embedder(profile), profile
    if not hasattr(embedder, "embed") or not hasattr(embedder, "model_id") or not hasattr(embedder, "dimension"):
        raise InputTypeError(f"embedder must be None, a profile name or an Embedder, got {type(embedder).__name__}")
    return embedder, None


def _chunk_from_dict(row: dict[str, Any]) -> Chunk:
    return Chunk(
        text=row["text"],
        start=int(row["start"]),
        end=int(row["end"]),
        token_count=int(row["token_count"]),
        doc_id=str(row["doc_id"]),
        index=int(row["index"]),
        id=str(row["id"]),
        metadata=row.get("metadata") or {},
    )


def _as_chunks(chunks: Any) -> list[Chunk]:
    if isinstance(chunks, (str, Chunk)) or not isinstance(chunks, Sequence):
        chunks = [chunks] if isinstance(chunks, (str, Chunk)) else list(chunks)
    out = []
    for position, item in enumerate(chunks):
        if isinstance(item, Chunk):
            out.append(item)
        elif isinstance(item, str):
            doc_id = f"text-{position}"
            out.append(Chunk(item, 0, len(item), 0, doc_id, 0, chunk_id(doc_id, 0, len(item), item)))
        else:
            raise InputTypeError(f"chunk #{position} is a {type(item).__name__}; Index.build takes chunkwise.Chunk objects or str")
    return out


def _choose_kind(kind: str, count: int) -> str:
    if kind not in ("auto", "flat", "hnsw", "ivf"):
        raise ConfigError(f"kind must be 'auto', 'flat', 'hnsw' or 'ivf', got {kind!r}")
    if kind == "auto":
        return "hnsw" if count >= APPROXIMATE_FROM else "flat"
    if kind == "ivf" and count < 1_000:
        raise ConfigError(f"an IVF index needs at least 1,000 chunks to train its lists, got {count}; use kind='flat'")
    return kind


def build_faiss(vectors: np.ndarray, kind: str) -> Any:
    """A faiss inner-product index of ``kind`` ("flat", "hnsw", "ivf") holding ``vectors`` (unit rows)."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    count, dimension = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf":
        lists = max(8, min(4 * int(np.sqrt(count)), count // 39))  # faiss wants >= 39 training points per list
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, lists, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors if count <= 256 * lists else vectors[rng.choice(count, 256 * lists, replace=False)]
        index.train(sample)
        index.nprobe = max(8, int(lists * IVF_PROBE_SHARE))
    else:
        raise ConfigError(f"unknown index kind {kind!r}")
    if count:
        index.add(vectors)
    return index


class Index:
    """Chunks, their vectors in faiss, and their sentences' spans and vectors for compress()."""

    def __init__(
        self,
        chunks: list[Chunk],
        faiss_index: Any,
        embedder: Any,
        sentence_spans: np.ndarray,
        sentence_offsets: np.ndarray,
        sentence_vectors: np.ndarray,
        *,
        kind: str,
        profile: str | None = None,
    ) -> None:
        self.chunks = chunks
        self.faiss_index = faiss_index
        self.embedder = embedder
        self.sentence_spans = sentence_spans
        self.sentence_offsets = sentence_offsets
        self.sentence_vectors = sentence_vectors
        self.kind = kind
        self.profile = profile

    def __len__(self) -> int:
        return len(self.chunks)

    def __repr__(self) -> str:
        profile = f" (profile {self.profile!r})" if self.profile else ""
        return (f"<Index: {plural(len(self.chunks), 'chunk')}, {plural(len(self.sentence_spans), 'sentence')}, "
                f"{self.kind}, {self.model_id} {self.dimension}-d{profile}>")

    @property
    def model_id(self) -> str:
        return str(self.embedder.model_id)

    @property
    def dimension(self) -> int:
        return int(self.embedder.dimension)

    # ------------------------------------------------------------ building

    @classmethod
    def build(cls, chunks: Any, *, embedder: Any = None, kind: IndexKind = "auto", max_sentence_chars: int = 600) -> Index:
        """Embed ``chunks`` (Chunk objects or str) and their sentences; index the chunk vectors.

        ``embedder``: an Embedder, or a profile name (None = ``"balanced"``).
        ``kind``: ``"flat"`` (exact), ``"hnsw"``, ``"ivf"`` or ``"auto"`` (exact
        below ``APPROXIMATE_FROM`` chunks, HNSW from there).
        """
        chunks = _as_chunks(chunks)
        embedder, profile = _resolve_embedder(embedder)
        chosen = _choose_kind(kind, len(chunks))
        spans: list[tuple[int, int]] = []
        offsets = [0]
        sentence_texts: list[str] = []
        for chunk in chunks:
            for start, end in sentences_within(chunk.text, max_sentence_chars):
                if chunk.text[start:end].strip():
                    spans.append((start, end))
                    sentence_texts.append(chunk.text[start:end])
            offsets.append(len(spans))
        dimension = int(embedder.dimension)
        chunk_vectors = _embed(embedder, [c.text for c in chunks], dimension)
        sentence_vectors = _embed(embedder, sentence_texts, dimension)
        return cls(
            chunks,
            build_faiss(chunk_vectors, chosen),
            embedder,
            np.asarray(spans, dtype=np.int64).reshape(-1, 2),
            np.asarray(offsets, dtype=np.int64),
            sentence_vectors,
            kind=chosen,
            profile=profile,
        )

    # ------------------------------------------------------------ searching

    def _hit(self, row: int, score: float, rank: int) -> Hit:
        first, last = int(self.sentence_offsets[row]), int(self.sentence_offsets[row + 1])
        return Hit(
            self.chunks[row],
            float(score),
            rank,
            self.sentence_spans[first:last],
            self.sentence_vectors[first:last],
            self.model_id,
        )

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """The ``k`` chunks closest to ``query`` (fewer when the index holds fewer), best first."""
        return self.search_batch([query], k)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        """``search`` for many queries with one embedding call and one faiss call."""
        if isinstance(queries, str) or not isinstance(queries, Sequence):
            raise InputTypeError(f"queries must be a list of str, got {type(queries).__name__}")
        for position, query in enumerate(queries):
            if not isinstance(query, str):
                raise InputTypeError(f"query #{position} is a {type(query).__name__}; expected str")
            if not query.strip():
                raise InputDataError(f"query #{position} is empty; a search needs words to look for")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be an int >= 1, got {k!r}")
        if not queries:
            return []
        if not self.chunks:
            return [[] for _ in queries]
        vectors = _embed(self.embedder, list(queries), self.dimension)
        return self.search_vectors(vectors, k)

    def search_vectors(self, vectors: np.ndarray, k: int = 10) -> list[list[Hit]]:
        """``search_batch`` for query vectors already embedded (unit rows of the index's dimension)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise InputDataError(f"query vectors must have shape (n, {self.dimension}), got {vectors.shape}")
        scores, rows = self.faiss_index.search(vectors, min(k, len(self.chunks)))
        return [
            [self._hit(int(row), float(score), rank) for rank, (row, score) in enumerate(zip(row_ids, row_scores)) if row >= 0]
            for row_ids, row_scores in zip(rows, scores)
        ]

    # ------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index folder (created if missing; files replaced atomically one by one)."""
        faiss = _faiss()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": "chunkwise-index",
            "format_version": FORMAT_VERSION,
            "model_id": self.model_id,
            "dimension": self.dimension,
            "profile": self.profile,
            "kind": self.kind,
            "chunks": len(self.chunks),
            "sentences": int(self.sentence_spans.shape[0]),
            "files": list(_FILES),
        }

        def write(name: str, writer: Any) -> None:
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            os.close(handle)
            try:
                writer(temporary)
                os.replace(temporary, folder / name)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

        def write_text(content: str) -> Any:
            return lambda p: Path(p).write_text(content, encoding="utf-8")

        def write_npy(array: np.ndarray) -> Any:
            def writer(p: str) -> None:
                with open(p, "wb") as f:
                    np.save(f, array, allow_pickle=False)

            return writer

        write("index.faiss", lambda p: faiss.write_index(self.faiss_index, p))
        write("chunks.jsonl", write_text("".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in self.chunks)))
        write("sentence_spans.npy", write_npy(self.sentence_spans))
        write("sentence_offsets.npy", write_npy(self.sentence_offsets))
        write("sentence_vectors.npy", write_npy(self.sentence_vectors))
        write("manifest.json", write_text(json.dumps(manifest, indent=2) + "\n"))  # last: marks the folder complete
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike, *, embedder: Any = None) -> Index:
        """Read a folder written by ``save``. ``embedder`` must be the one that built it.

        With ``embedder=None`` the profile recorded at build time is loaded
        (an index built with a custom embedder needs that embedder passed).
        """
        faiss = _faiss()
        folder = Path(path)
        manifest = _read_manifest(folder)
        if embedder is None:
            if not manifest.get("profile"):
                raise EmbedderMismatchError(
                    f"{folder} was built with a custom embedder ({manifest['model_id']}); pass embedder= to Index.load()"
                )
            embedder = manifest["profile"]
        embedder, profile = _resolve_embedder(embedder)
        if embedder.model_id != manifest["model_id"] or int(embedder.dimension) != manifest["dimension"]:
            raise EmbedderMismatchError(
                f"{folder} was built with embedder {manifest['model_id']!r} (dimension {manifest['dimension']}), "
                f"but the embedder given is {embedder.model_id!r} (dimension {embedder.dimension}); its vectors would "
                "not be comparable. Load it with the same embedder or rebuild the index with Index.build()"
            )
        try:
            chunks = [
                _chunk_from_dict(json.loads(line))
                for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            spans = np.load(folder / "sentence_spans.npy", allow_pickle=False)
            offsets = np.load(folder / "sentence_offsets.npy", allow_pickle=False)
            vectors = np.load(folder / "sentence_vectors.npy", allow_pickle=False)
            faiss_index = faiss.read_index(str(folder / "index.faiss"))
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            raise InputDataError(f"{folder} is damaged or incomplete: {err}; rebuild it with Index.build()") from err
        dimension = manifest["dimension"]
        consistent = (
            len(chunks) == manifest["chunks"] == faiss_index.ntotal
            and offsets.shape == (len(chunks) + 1,)
            and spans.ndim == 2
            and spans.shape[1] == 2
            and vectors.shape == (spans.shape[0], dimension)
            and int(offsets[-1]) == spans.shape[0]
            and faiss_index.d == dimension
        )
        if not consistent:
            raise InputDataError(f"{folder} is inconsistent (counts or shapes disagree with manifest.json); rebuild it")
        return cls(
            chunks,
            faiss_index,
            embedder,
            spans.astype(np.int64, copy=False),
            offsets.astype(np.int64, copy=False),
            vectors.astype(np.float32, copy=False),
            kind=manifest["kind"],
            profile=manifest.get("profile") or profile,
        )


# The manifest's fields and the types load() relies on; anything else is a damaged folder.
_MANIFEST_FIELDS: dict[str, tuple[type, ...]] = {
    "model_id": (str,),
    "dimension": (int,),
    "chunks": (int,),
    "profile": (str, type(None)),
    "kind": (str,),
}


def _read_manifest(folder: Path) -> dict[str, Any]:
    """``manifest.json`` of an index folder, checked field by field (a hand-edited one gets a clear error)."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InputDataError(f"{folder} is not a chunkwise index folder (no manifest.json); write one with Index.save()")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputDataError(f"{manifest_path} is not readable JSON: {err}") from err
    if not isinstance(manifest, dict):
        raise InputDataError(f"{manifest_path} must hold a JSON object, not {type(manifest).__name__}; rebuild the index")
    if manifest.get("format") != "chunkwise-index" or manifest.get("format_version") != FORMAT_VERSION:
        raise InputDataError(
            f"{folder} holds index format {manifest.get('format')!r} version {manifest.get('format_version')!r}; "
            f"this chunkwise reads version {FORMAT_VERSION}: rebuild the index with Index.build()"
        )
    manifest.setdefault("kind", "flat")
    manifest.setdefault("profile", None)
    for name, types in _MANIFEST_FIELDS.items():
        value = manifest.get(name)
        if not isinstance(value, types) or isinstance(value, bool) or (isinstance(value, int) and value < 0):
            raise InputDataError(
                f"{manifest_path} has {name}={value!r}, which is not a valid {' or '.join(t.__name__ for t in types)}; "
                "the file was edited or damaged: rebuild the index with Index.build()"
            )
    if manifest["kind"] not in get_args(IndexKind):
        raise InputDataError(f"{manifest_path} has kind={manifest['kind']!r}; expected one of {get_args(IndexKind)}")
    return manifest


def _embed(embedder: Any, texts: list[str], dimension: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    vectors = np.ascontiguousarray(embedder.embed(texts), dtype=np.float32)
    if vectors.shape != (len(texts), dimension):
        raise InputDataError(f"the embedder returned shape {vectors.shape} for {len(texts)} texts of dimension {dimension}")
    return vectors


__all__ = ["Index", "Hit", "build_faiss", "APPROXIMATE_FROM", "IndexKind"]
