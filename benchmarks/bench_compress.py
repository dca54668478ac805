"""Speed of compress() on index hits, and faiss search at 100k chunks: exact vs approximate.

Part 1 (needs sentence-transformers and the NQ data in ../shared/data): an
Index over the NQ gold passages; per question, search k=20, then compress the
hits to 25% of their tokens. Timed end to end with an uncached query
embedding (torch and faiss on 2 threads), side by side with compressing the
same 20 passages as plain strings (sentence vectors from the SQLite cache)
and with embedding the 20 passages afresh (what a reranker without stored
vectors pays).

Part 2: faiss on 100k synthetic unit vectors of dimension 384 (clustered,
like sentence embeddings; and isotropic, the worst case for graph search):
queries/s single and batched, build time and recall@10 of HNSW and IVF
against exact search, and the latency of exact search by collection size
(the basis of Index's APPROXIMATE_FROM).

    python benchmarks/bench_compress.py --json bench-out/bench_compress.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

THREADS = 2


def _clustered(count: int, dimension: int, rng: np.random.Generator, clusters: int = 2000, spread: float = 1.0) -> np.ndarray:
    centres = rng.standard_normal((clusters, dimension)).astype(np.float32)
    vectors = centres[rng.integers(0, clusters, count)] + spread * rng.standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _isotropic(count: int, dimension: int, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def _qps(index, queries: np.ndarray, k: int, single: int = 300) -> tuple[float, float]:
    """(queries/s one at a time, queries/s in one batch)."""
    started = time.perf_counter()
    for row in range(min(single, len(queries))):
        index.search(queries[row : row + 1], k)
    one = min(single, len(queries)) / (time.perf_counter() - started)
    started = time.perf_counter()
    index.search(queries, k)
    batch = len(queries) / (time.perf_counter() - started)
    return one, batch


def bench_faiss(count: int, dimension: int, seed: int) -> dict:
    import faiss

    from chunkwise.retrieval import index as index_module
    from chunkwise.retrieval.index import build_faiss

    faiss.omp_set_num_threads(THREADS)
    rng = np.random.default_rng(seed)
    results: dict = {"count": count, "dimension": dimension, "threads": THREADS, "datasets": {}}
    for name, make in (("clustered", _clustered), ("isotropic", _isotropic)):
        data = make(count + 1000, dimension, rng)
        vectors, queries = data[:count], data[count:]
        flat = build_faiss(vectors, "flat")
        _, truth = flat.search(queries, 10)
        rows = {}
        one, batch = _qps(flat, queries, 10)
        rows["flat (exact)"] = {"build_s": 0.0, "qps_single": one, "qps_batch": batch, "recall@10": 1.0}
        started = time.perf_counter()
        hnsw = build_faiss(vectors, "hnsw")
        build_s = time.perf_counter() - started
        for ef in (32, 64, index_module.HNSW_EF_SEARCH, 192):
            hnsw.hnsw.efSearch = ef
            _, found = hnsw.search(queries, 10)
            one, batch = _qps(hnsw, queries, 10)
            label = f"hnsw M={index_module.HNSW_NEIGHBOURS} efSearch={ef}" + (" (default)" if ef == index_module.HNSW_EF_SEARCH else "")
            rows[label] = {"build_s": build_s, "qps_single": one, "qps_batch": batch, "recall@10": _recall(found, truth)}
        started = time.perf_counter()
        ivf = build_faiss(vectors, "ivf")
        build_s = time.perf_counter() - started
        default_probe = ivf.nprobe
        for probe in sorted({8, default_probe, 64}):
            ivf.nprobe = probe
            _, found = ivf.search(queries, 10)
            one, batch = _qps(ivf, queries, 10)
            label = f"ivf nlist={ivf.nlist} nprobe={probe}" + (" (default)" if probe == default_probe else "")
            rows[label] = {"build_s": build_s, "qps_single": one, "qps_batch": batch, "recall@10": _recall(found, truth)}
        results["datasets"][name] = rows
        print(f"\nfaiss, {count:,} {name} vectors of dimension {dimension}, {THREADS} threads, k=10, 1,000 queries")
        print("| index | build s | queries/s (one at a time) | queries/s (batch) | recall@10 |")
        print("| --- | --- | --- | --- | --- |")
        for label, row in rows.items():
            print(f"| {label} | {row['build_s']:.1f} | {row['qps_single']:,.0f} | {row['qps_batch']:,.0f} | {row['recall@10']:.3f} |")
    # Exact-search latency by size: where does a flat index stop being "free"?
    latency = {}
    for size in (10_000, 25_000, 50_000, 100_000, 200_000):
        data = _clustered(size, dimension, rng)
        flat = build_faiss(data, "flat")
        queries = _clustered(200, dimension, rng)
        one, _ = _qps(flat, queries, 10, single=200)
        latency[size] = 1000.0 / one
    results["flat_ms_per_query_by_size"] = latency
    print("\nexact search, ms per single query: " + ", ".join(f"{s:,}: {ms:.2f}" for s, ms in latency.items()))
    return results


def bench_compress(questions: int, seed: int) -> dict:
    import torch

    torch.set_num_threads(THREADS)
    import faiss

    faiss.omp_set_num_threads(THREADS)
    import eval_compress as ev

    from chunkwise.retrieval.compression import compress
    from chunkwise.embedding.embedders import get_embedder
    from chunkwise.retrieval.index import Index
    from chunkwise.tokens import get_tokenizer

    tokenizer = get_tokenizer(None)
    cached = get_embedder("balanced")  # builds the index through the cache
    model = get_embedder("balanced", cache=False)  # same model id: queries embedded afresh every time
    rows = ev.load_questions(ev.DATA, questions, seed)
    pool = list(dict.fromkeys(p for r in rows for p in r["passages"]))
    started = time.perf_counter()
    index = Index.build(pool, embedder=cached)
    build_s = time.perf_counter() - started
    for q in rows[:5]:  # warm up torch and the tokenizer
        compress(q["question"], index.search(q["question"], 20), budget_tokens=200, tokenizer=tokenizer, embedder=model)
    timings = {"search k=20 (query embedded)": [], "compress hits (query embedded, stored vectors)": [],
               "compress hits (query vector from the search)": [],
               "compress strings (vectors from cache)": [], "embed 20 passages afresh": []}
    ratios = []
    for q in rows:
        started = time.perf_counter()
        hits = _search(index, model, q["question"])
        timings["search k=20 (query embedded)"].append(time.perf_counter() - started)
        total = tokenizer.count("\n\n".join(h.chunk.text for h in hits))
        budget = max(1, total // 4)
        started = time.perf_counter()
        result = compress(q["question"], hits, budget_tokens=budget, tokenizer=tokenizer, embedder=model)
        timings["compress hits (query embedded, stored vectors)"].append(time.perf_counter() - started)
        ratios.append(result.tokens_before / max(1, result.tokens_after))
        vector = model.embed([q["question"]])[0]
        started = time.perf_counter()
        compress(q["question"], hits, budget_tokens=budget, tokenizer=tokenizer, embedder=model, query_vector=vector)
        timings["compress hits (query vector from the search)"].append(time.perf_counter() - started)
        texts = [h.chunk.text for h in hits]
        started = time.perf_counter()
        compress(q["question"], texts, budget_tokens=budget, tokenizer=tokenizer, embedder=cached)
        timings["compress strings (vectors from cache)"].append(time.perf_counter() - started)
        started = time.perf_counter()
        model.embed(texts)
        timings["embed 20 passages afresh"].append(time.perf_counter() - started)
    summary = {name: {"ms_mean": 1000 * float(np.mean(v)), "ms_p50": 1000 * float(np.median(v)), "ms_p95": 1000 * float(np.percentile(v, 95))} for name, v in timings.items()}
    print(f"\ncompress, {len(rows)} NQ questions, 20 hits each from an index of {len(pool):,} passages (built in {build_s:.1f} s), budget 25%, {THREADS} threads")
    print("| step | mean ms | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- |")
    for name, row in summary.items():
        print(f"| {name} | {row['ms_mean']:.1f} | {row['ms_p50']:.1f} | {row['ms_p95']:.1f} |")
    print(f"mean compression ratio (tokens before / after): {np.mean(ratios):.2f}x")
    return {"questions": len(rows), "index_passages": len(pool), "index_build_s": build_s, "timings": summary, "mean_ratio": float(np.mean(ratios))}


def _search(index, model, question: str):
    """Search with the uncached model embedding the query (what a fresh query costs)."""
    vector = model.embed([question])
    return index.search_vectors(vector, 20)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--skip-compress", action="store_true")
    parser.add_argument("--skip-faiss", action="store_true")
    args = parser.parse_args()
    import faiss

    versions = {"python": platform.python_version(), "numpy": np.__version__, "faiss": faiss.__version__}
    out: dict = {"versions": versions}
    if not args.skip_compress:
        import sentence_transformers
        import torch

        versions.update({"torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__})
        out["compress"] = bench_compress(args.questions, args.seed)
    if not args.skip_faiss:
        out["faiss"] = bench_faiss(args.count, args.dimension, args.seed)
    print("versions:", versions)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
