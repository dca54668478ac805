"""Semantic chunking speed: chunkwise (balanced, fast) vs Chonkie's and LangChain's SemanticChunker, same model,
and against the model's own speed on the same sentence units.

    python benchmarks/bench_semantic.py --json out.json [--corpus chroma-dev|nq-pydoc] [--mb 1.0] [--skip-peers]

Corpus: by default the whole of Chroma's chunking benchmark's dev split
(../shared/data/chroma-dev, every corpus one document, not a sample); with
``--corpus nq-pydoc`` (or without that folder) NaturalQuestions passages from
../shared/data/nq (a blank line between passages) followed by Python's own
reference prose (pydoc_data.topics), repeated with a seeded shuffle until
``--mb`` megabytes. Every chunker uses all-MiniLM-L6-v2 from the same local
folder, on the same device (CUDA when torch sees it, else CPU), with the same
cap and no embedding cache, in one run; model loading is excluded and reported
apart.

The limit: the sentence units the semantic strategy embeds (recorded from the
run itself) are embedded again by the model alone, three ways: sentence-
transformers ``encode`` (its own tokenization, sorting and batching), the
tokenizer alone in one call, and the forward pass alone on pre-tokenized,
length-sorted batches. chunkwise's time over the forward pass is the ratio the
speed target reads (on a GPU: at most 1.5x). The boundary-scoring loop is also
timed alone against its NumPy twin on the corpus's own vectors and on 50,000
synthetic ones.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import platform
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message=".*langchain-experimental.*")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import chunkwise  # noqa: E402
from chunkwise import Document, get_tokenizer  # noqa: E402
from chunkwise.chunking._scores import gap_scores  # noqa: E402
from chunkwise.chunking.chunker import ChunkConfig, chunk_documents  # noqa: E402
from chunkwise.embedding.embedders import SentenceTransformerEmbedder, static_embedder  # noqa: E402

NQ = ROOT.parent / "shared" / "data" / "nq" / "nq_open_oracle_dev.jsonl.gz"
CHROMA_DEV = ROOT.parent / "shared" / "data" / "chroma-dev"
# Speed targets of the semantic path (issue 17): against Chonkie on CPU, and against the forward pass.
TARGET_VS_CHONKIE = 5.0
TARGET_VS_FORWARD_GPU = 1.5


def chroma_corpus() -> list[Document]:
    """Every corpus of the chroma-dev split, whole, one document each (questions left out)."""
    paths = sorted(p for p in CHROMA_DEV.glob("*.md") if p.name != "README.md")
    return [Document(path.stem, path.read_text(encoding="utf-8")) for path in paths]


def corpus(megabytes: float, seed: int) -> list[Document]:
    pieces = []
    if NQ.exists():
        for line in gzip.open(NQ, "rt", encoding="utf-8"):
            ctxs = json.loads(line)["ctxs"]
            ctxs = ast.literal_eval(ctxs) if isinstance(ctxs, str) else ctxs
            pieces.append(ctxs[0]["text"].strip())
    from pydoc_data.topics import topics

    pieces += [text.strip() for text in topics.values() if text.strip()]
    rng = random.Random(seed)
    documents, size, round_ = [], 0, 0
    while size < megabytes * 1_000_000:
        order = pieces[:]
        rng.shuffle(order)
        for first in range(0, len(order), 12):
            text = "\n\n".join(order[first : first + 12])
            documents.append(Document(f"d{round_}-{first}", text))
            size += len(text.encode("utf-8"))
            if size >= megabytes * 1_000_000:
                break
        round_ += 1
    return documents


def timed(function):
    began = time.perf_counter()
    value = function()
    return value, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=("chroma-dev", "nq-pydoc"), default=None,
                        help="default: chroma-dev when ../shared/data/chroma-dev exists, else nq-pydoc")
    parser.add_argument("--mb", type=float, default=1.0, help="size of the nq-pydoc corpus")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="the forward-pass limit's batch (default: the embedder's own on CPU, 1024 on CUDA)")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()

    name = args.corpus or ("chroma-dev" if CHROMA_DEV.is_dir() else "nq-pydoc")
    if name == "chroma-dev" and not CHROMA_DEV.is_dir():
        raise SystemExit(f"no chroma-dev corpus at {CHROMA_DEV}")
    documents = chroma_corpus() if name == "chroma-dev" else corpus(args.mb, args.seed)
    megabytes = sum(len(d.text.encode("utf-8")) for d in documents) / 1e6
    tokenizer = get_tokenizer(None)
    results: dict = {"versions": _versions(), "corpus": name, "mb": megabytes, "documents": len(documents),
                     "max_tokens": args.max_tokens, "rows": {}}
    print(f"corpus {name}: {megabytes:.2f} MB in {len(documents)} documents; cap {args.max_tokens} tokens; "
          f"backend={chunkwise.backend()}")

    minilm, load_seconds = timed(lambda: SentenceTransformerEmbedder(long_texts="head"))
    fast, fast_load = timed(lambda: static_embedder(minilm))
    results["load_seconds"] = {"minilm": load_seconds, "static_table": fast_load}
    print(f"device={minilm.device} precision={minilm.precision}; load MiniLM {load_seconds:.1f}s, static table {fast_load:.1f}s")

    def add(name, seconds, chunks):
        results["rows"][name] = {"seconds": seconds, "mb_per_s": megabytes / seconds, "chunks": chunks}
        print(f"{name:34s} {seconds:8.2f} s  {megabytes / seconds:8.4f} MB/s  {chunks} chunks", flush=True)

    config = ChunkConfig(max_tokens=args.max_tokens, strategy="semantic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, seconds = timed(lambda: chunk_documents(documents, tokenizer, config, embedder=fast))
        add("chunkwise semantic fast", seconds, sum(map(len, out)))
        recorder = _Recording(fast)  # the units the semantic strategy embeds, for the limit below (untimed)
        chunk_documents(documents, tokenizer, config, embedder=recorder)
        out, seconds = timed(lambda: chunk_documents(documents, tokenizer, config, embedder=minilm))
        add("chunkwise semantic balanced", seconds, sum(map(len, out)))
        structural = ChunkConfig(max_tokens=args.max_tokens, strategy="structural")
        out, seconds = timed(lambda: chunk_documents(documents, tokenizer, structural))
        add("chunkwise structural (no model)", seconds, sum(map(len, out)))

    if not args.skip_peers:
        from chonkie import SemanticChunker as ChonkieSemantic
        from chonkie.embeddings import SentenceTransformerEmbeddings

        chonkie = ChonkieSemantic(embedding_model=SentenceTransformerEmbeddings(minilm.model), chunk_size=args.max_tokens)
        out, seconds = timed(lambda: [chonkie.chunk(d.text) for d in documents])
        add("Chonkie SemanticChunker", seconds, sum(map(len, out)))

        from langchain_core.embeddings import Embeddings
        from langchain_experimental.text_splitter import SemanticChunker as LangChainSemantic

        class MiniLM(Embeddings):
            """What HuggingFaceEmbeddings does: SentenceTransformer.encode, normalised."""

            def embed_documents(self, texts):
                return minilm.model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False).tolist()

            def embed_query(self, text):
                return self.embed_documents([text])[0]

        langchain = LangChainSemantic(MiniLM())
        out, seconds = timed(lambda: [langchain.split_text(d.text) for d in documents])
        add("LangChain SemanticChunker", seconds, sum(map(len, out)))

    rows = results["rows"]
    for peer in ("Chonkie SemanticChunker", "LangChain SemanticChunker"):
        if peer in rows:
            for ours in ("chunkwise semantic balanced", "chunkwise semantic fast"):
                ratio = rows[peer]["seconds"] / rows[ours]["seconds"]
                results.setdefault("ratios", {})[f"{ours} vs {peer}"] = ratio
                target = f" (target >= {TARGET_VS_CHONKIE:g}x)" if peer.startswith("Chonkie") and "balanced" in ours else ""
                print(f"{ours} is {ratio:.1f}x faster than {peer}{target}")

    # The limit: the model alone on the units the semantic strategy embedded.
    units = recorder.texts
    batch = args.batch_size or (1024 if minilm.device.startswith("cuda") else minilm.batch_size)
    limit = model_limit(minilm, units, batch)
    results["limit"] = limit
    ours = rows["chunkwise semantic balanced"]["seconds"]
    print(f"\nthe limit, the model alone on the same {limit['units']} units ({limit['word_pieces_mean']:.1f} word pieces "
          f"on average), {minilm.device} {minilm.precision}, batch {batch}:")
    print(f"  sentence-transformers encode  {limit['encode_seconds']:8.2f} s  ({limit['units'] / limit['encode_seconds']:,.0f} units/s)")
    print(f"  tokenization alone, one call  {limit['tokenize_seconds']:8.2f} s")
    print(f"  forward pass alone (sorted)   {limit['forward_seconds']:8.2f} s  ({limit['units'] / limit['forward_seconds']:,.0f} units/s)")
    results["ratios_to_limit"] = {
        "chunkwise semantic balanced / forward pass": ours / limit["forward_seconds"],
        "chunkwise semantic balanced / encode": ours / limit["encode_seconds"],
    }
    gpu = minilm.device.startswith("cuda")
    print(f"chunkwise semantic balanced takes {ours / limit['forward_seconds']:.2f}x the forward pass"
          f"{f' (target <= {TARGET_VS_FORWARD_GPU:g}x on a GPU)' if gpu else ' (the GPU target is <= 1.5x; this is a CPU)'}"
          f" and {ours / limit['encode_seconds']:.2f}x sentence-transformers' encode")

    # The scoring loop alone: compiled vs its NumPy twin.
    units = [d.text[s.start : s.end] for d in documents[:200] for s in chunkwise.segment(d.text)]
    vectors = fast.embed(units)
    cases = {"corpus units (static vectors)": (vectors, np.array([0, len(units)], dtype=np.int64))}
    rng = np.random.default_rng(args.seed)
    synthetic = rng.standard_normal((50_000, 384)).astype(np.float32)
    cases["50,000 x 384 synthetic, 100 docs"] = (synthetic, np.linspace(0, 50_000, 101).astype(np.int64))
    results["scoring"] = {}
    for name, (matrix, offsets) in cases.items():
        timings = {}
        for implementation in ("cython", "python"):
            best = min(timed(lambda: gap_scores(matrix, offsets, weight=500_000, implementation=implementation))[1] for _ in range(3))
            timings[implementation] = best
        ratio = timings["python"] / timings["cython"]
        results["scoring"][name] = {**timings, "ratio": ratio, "units": int(matrix.shape[0])}
        print(f"scoring {name}: Cython {timings['cython'] * 1e3:.1f} ms, NumPy {timings['python'] * 1e3:.1f} ms, {ratio:.1f}x")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))


class _Recording:
    """An embedder that records the texts it is asked to embed, and delegates."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.texts: list[str] = []
        self.dimension = embedder.dimension
        self.model_id = embedder.model_id
        self.max_seq_length = embedder.max_seq_length

    def embed(self, texts):
        self.texts.extend(texts)
        return self.embedder.embed(texts)

    def token_counts(self, texts):
        return self.embedder.token_counts(texts)


def model_limit(embedder: SentenceTransformerEmbedder, units: list[str], batch: int) -> dict:
    """The model's own time on ``units``: encode, tokenization alone, forward pass alone (sorted, pre-tokenized)."""
    import torch

    model = embedder.model
    synchronize = torch.cuda.synchronize if embedder.device.startswith("cuda") else (lambda: None)
    model.encode(units[:batch], batch_size=batch, show_progress_bar=False)  # warm-up
    _, encode_seconds = timed(lambda: model.encode(units, batch_size=batch, convert_to_numpy=True,
                                                   normalize_embeddings=True, show_progress_bar=False))
    tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 5.x
    features, tokenize_seconds = timed(lambda: tokenize(units))
    features = {key: value for key, value in features.items() if isinstance(value, torch.Tensor)}
    lengths = features["attention_mask"].sum(dim=1)
    order = torch.argsort(lengths, descending=True, stable=True)
    batches = []
    for first in range(0, len(units), batch):
        rows = order[first : first + batch]
        width = int(lengths[rows].max())
        batches.append({key: value[rows, :width].to(embedder.device) for key, value in features.items()})
    synchronize()

    def forward(items: list[dict]) -> None:
        with torch.inference_mode():
            for item in items:
                model.forward(dict(item))["sentence_embedding"]
        synchronize()

    forward(batches[-1:])  # warm-up (kernels, allocator) on the shortest batch
    forward_seconds = timed(lambda: forward(batches))[1]
    return {"units": len(units), "word_pieces_mean": float(lengths.float().mean()), "batch": batch,
            "device": embedder.device, "precision": embedder.precision, "encode_seconds": encode_seconds,
            "tokenize_seconds": tokenize_seconds, "forward_seconds": forward_seconds}


def _versions() -> dict:
    versions = {"python": platform.python_version(), "chunkwise": chunkwise.__version__}
    for name in ("numpy", "torch", "sentence_transformers", "chonkie", "langchain_experimental"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            versions[name] = None
    return versions


if __name__ == "__main__":
    main()
