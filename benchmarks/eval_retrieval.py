"""Retrieval quality per chunker at equal mean chunk size, on long documents built from NQ passages.

    python benchmarks/eval_retrieval.py --json eval.json [--questions 300] [--target-tokens 200]

Documents: the gold Wikipedia passages of NaturalQuestions-Open (dev, from
../shared/data/nq) in a seeded random order, ``--passages-per-doc`` to a
document, in two layouts: ``paragraphs`` (a blank line between passages, as
an article has) and ``flat`` (passages run together with a space: no
structural cue where the topic changes). Each question's answer span is the
first occurrence of one of its answers in its own passage, by character
offsets into the document.

Every chunker cuts every document; all chunks of all documents form one index;
questions and chunks are embedded with all-MiniLM-L6-v2 (the same model for
every chunker; a chunk over its 256 word pieces is embedded from its head, for
all alike); the top 5 chunks by cosine are retrieved. Per question:
recall = answer characters covered by retrieved chunks / answer characters;
precision = covered answer characters / characters of the retrieved chunks;
IoU = covered answer characters / |answer ∪ retrieved characters|.
Means with percentile-bootstrap 95% intervals, and paired bootstrap
differences against the best baseline (2,000 resamples, seeded).

Tunable chunkers are calibrated to the same mean chunk size (cl100k tokens,
``--target-tokens``, ±4%) by bisection on their size knob; the two fixed
naive settings are reported as they are. Embeddings go through chunkwise's
SQLite cache (``--cache``), so a second run costs little.
Peers (benchmark-only installs): chonkie, langchain-experimental, langchain-text-splitters.
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

warnings.filterwarnings("ignore", message=".*langchain-experimental.*")
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import chunkwise  # noqa: E402
from chunkwise import Document, get_tokenizer  # noqa: E402
from chunkwise.chunking.chunker import ChunkConfig, chunk_documents, naive_split  # noqa: E402
from chunkwise.embedding.embedders import CachedEmbedder, EmbeddingCache, SentenceTransformerEmbedder, get_embedder  # noqa: E402
from chunkwise.errors import ChunkwiseWarning  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "nq" / "nq_open_oracle_dev.jsonl.gz"
TOP_K = 5


def _literal(value):
    return ast.literal_eval(value) if isinstance(value, str) else value


@dataclass
class Question:
    text: str
    doc: int
    start: int  # answer span in the document
    end: int


def load_corpus(questions: int, per_doc: int, layout: str, seed: int) -> tuple[list[Document], list[Question]]:
    rows = [json.loads(line) for line in gzip.open(DATA, "rt", encoding="utf-8")]
    random.Random(seed).shuffle(rows)
    items = []
    for row in rows:
        passage = _literal(row["ctxs"])[0]["text"].strip()
        answers = sorted(_literal(row["answers"]), key=len, reverse=True)
        hit = next(((passage.find(a), a) for a in answers if a and passage.find(a) >= 0), None)
        if hit is None:
            lowered = passage.lower()
            hit = next(((lowered.find(a.lower()), a) for a in answers if a and lowered.find(a.lower()) >= 0), None)
        if hit is not None:
            items.append((row["question"], passage, hit[0], len(hit[1])))
        if len(items) == questions:
            break
    separator = "\n\n" if layout == "paragraphs" else " "
    documents, found = [], []
    for first in range(0, len(items), per_doc):
        parts, position = [], 0
        for question, passage, offset, length in items[first : first + per_doc]:
            found.append(Question(question, len(documents), position + offset, position + offset + length))
            parts.append(passage)
            position += len(passage) + len(separator)
        documents.append(Document(f"nq-{len(documents)}", separator.join(parts)))
    return documents, found


# ---------------------------------------------------------------- chunkers: all return [[(start, end)] per doc]


def _locate(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Offsets of peer chunks, which do not report them reliably: search forward on whitespace-collapsed text.

    (LangChain's SemanticChunker re-joins sentences with one space, so its
    chunks are not always substrings of the document.)
    """
    kept = [i for i, char in enumerate(text) if not char.isspace()]
    collapsed = "".join(text[i] for i in kept)
    spans, cursor = [], 0
    for piece in pieces:
        needle = "".join(piece.split())
        if not needle:
            continue
        at = collapsed.find(needle, cursor)
        if at < 0:
            raise RuntimeError("a peer chunk is not found in its document")
        spans.append((kept[at], kept[at + len(needle) - 1] + 1))
        cursor = at + 1
    return spans


def chunkwise_chunker(strategy: str, profile: str, embedders: dict):
    tokenizer = get_tokenizer(None)

    def run(documents, size):
        config = ChunkConfig(max_tokens=int(size), strategy=strategy, profile=profile)
        results = chunk_documents(documents, tokenizer, config, embedder=embedders.get(profile))
        return [[(c.start, c.end) for c in chunks] for chunks in results]

    return run


def naive_chunker(overlap: int):
    def run(documents, size):
        return [[(c.start, c.end) for c in naive_split(d.text, max_tokens=int(size), overlap=overlap)] for d in documents]

    return run


def recursive_chunker():
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    counter = get_tokenizer(None)

    def run(documents, size):
        splitter = RecursiveCharacterTextSplitter(chunk_size=int(size), chunk_overlap=0, length_function=counter.count)
        return [_locate(d.text, splitter.split_text(d.text)) for d in documents]

    return run


class _LangChainEmbeddings:
    """LangChain's Embeddings interface over the cached MiniLM embedder."""

    def __init__(self, embedder):
        self.embedder = embedder

    def embed_documents(self, texts):
        return self.embedder.embed(list(texts)).tolist()

    def embed_query(self, text):
        return self.embedder.embed([text])[0].tolist()


def langchain_semantic_chunker(embedder):
    from langchain_core.embeddings import Embeddings
    from langchain_experimental.text_splitter import SemanticChunker

    wrapped = type("CachedMiniLM", (_LangChainEmbeddings, Embeddings), {})(embedder)

    def run(documents, percentile):
        splitter = SemanticChunker(wrapped, breakpoint_threshold_type="percentile", breakpoint_threshold_amount=float(percentile))
        return [_locate(d.text, splitter.split_text(d.text)) for d in documents]

    return run


def chonkie_embeddings(embedder, tokenizer_path: Path):
    """Chonkie's embeddings interface over a chunkwise embedder (the cached MiniLM) and its word-piece tokenizer."""
    from chonkie.embeddings.base import BaseEmbeddings
    from tokenizers import Tokenizer as HFTokenizer

    hf_tokenizer = HFTokenizer.from_file(str(tokenizer_path))
    hf_tokenizer.no_padding()
    hf_tokenizer.no_truncation()

    class CachedMiniLM(BaseEmbeddings):
        def embed(self, text):
            return embedder.embed([text])[0]

        def embed_batch(self, texts):
            return list(embedder.embed(list(texts)))

        @property
        def dimension(self):
            return embedder.dimension

        def get_tokenizer(self):
            return hf_tokenizer

    return CachedMiniLM()


def chonkie_semantic_chunker(embedder, tokenizer_path: Path):
    from chonkie import SemanticChunker

    model = chonkie_embeddings(embedder, tokenizer_path)

    def run(documents, threshold):
        # The size knob is the similarity threshold; chunk_size (MiniLM word pieces) only caps.
        splitter = SemanticChunker(embedding_model=model, chunk_size=512, threshold=float(threshold))
        out = []
        for d in documents:
            chunks = splitter.chunk(d.text)
            spans = [(c.start_index, c.end_index) for c in chunks]
            if any(d.text[a:b] != c.text for (a, b), c in zip(spans, chunks)):
                spans = _locate(d.text, [c.text for c in chunks])
            out.append([_trim(d.text, a, b) for a, b in spans if d.text[a:b].strip()])
        return out

    return run


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# ---------------------------------------------------------------- measuring


def mean_tokens(documents, spans, counter) -> float:
    texts = [d.text[a:b] for d, doc_spans in zip(documents, spans) for a, b in doc_spans]
    return float(np.mean(counter.content_count_batch(texts))) if texts else 0.0


def calibrate(run, documents, counter, target: float, low: float, high: float, integer: bool):
    """The knob value whose mean chunk size is closest to target (bisection, at most 12 runs)."""
    ends = {}
    for knob in (low, high):
        spans = run(documents, knob)
        ends[knob] = (mean_tokens(documents, spans, counter), spans)
    increasing = ends[high][0] >= ends[low][0]
    best = min(((k, v[0], v[1]) for k, v in ends.items()), key=lambda item: abs(item[1] - target))
    for _ in range(10):
        if abs(best[1] - target) <= 0.04 * target or (integer and high - low <= 1):
            break
        middle = (low + high) / 2
        knob = round(middle) if integer else middle
        spans = run(documents, knob)
        size = mean_tokens(documents, spans, counter)
        if abs(size - target) < abs(best[1] - target):
            best = (knob, size, spans)
        if (size < target) == increasing:
            low = middle
        else:
            high = middle
    return best


def evaluate(documents, questions, spans, embedder, question_vectors) -> dict[str, np.ndarray]:
    flat = [(doc, a, b) for doc, doc_spans in enumerate(spans) for a, b in doc_spans]
    texts = [documents[doc].text[a:b] for doc, a, b in flat]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChunkwiseWarning)  # head truncation applies to every chunker alike
        vectors = embedder.embed(texts)
    scores = question_vectors @ vectors.T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :TOP_K]
    recall, precision, iou = [], [], []
    for question, picks in zip(questions, top):
        covered = set()
        retrieved_chars = 0
        union = set()
        for pick in picks:
            doc, a, b = flat[pick]
            retrieved_chars += b - a
            if doc == question.doc:
                lo, hi = max(a, question.start), min(b, question.end)
                covered.update(range(lo, hi))
                union.update(range(a, b))
            else:
                union.update(range(-(doc + 1) * 10**9 + a, -(doc + 1) * 10**9 + b))  # other documents' characters
        answer = set(range(question.start, question.end))
        recall.append(len(covered) / len(answer))
        precision.append(len(covered) / retrieved_chars if retrieved_chars else 0.0)
        iou.append(len(covered) / len(answer | union))
    return {"recall": np.array(recall), "precision": np.array(precision), "iou": np.array(iou)}


def bootstrap_mean(values: np.ndarray, rng: np.random.Generator, resamples: int = 2000) -> tuple[float, float, float]:
    draws = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[draws].mean(axis=1)
    return float(values.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--passages-per-doc", type=int, default=10)
    parser.add_argument("--target-tokens", type=int, default=200)
    parser.add_argument("--layouts", default="paragraphs,flat")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "chunkwise" / "eval-embeddings.sqlite3"))
    parser.add_argument("--only", default="", help="comma-separated chunker names to run (default: all)")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is not present")

    started = time.perf_counter()
    cache = EmbeddingCache(args.cache)
    minilm = SentenceTransformerEmbedder(long_texts="head")
    embedder = CachedEmbedder(minilm, cache)
    embedders = {"balanced": embedder, "fast": CachedEmbedder(get_embedder("fast", cache=False), cache)}
    if "precise" in args.only:
        embedders["precise"] = CachedEmbedder(SentenceTransformerEmbedder(long_texts="window", precision="float32"), cache)
    counter = get_tokenizer(None)
    target = args.target_tokens
    chunkers = {
        # name: (run, knob low, knob high, integer knob, mean size grows with knob, baseline?)
        "naive 250/125": (naive_chunker(125), 250, None, True, True, True),
        "naive 200/0": (naive_chunker(0), 200, None, True, True, True),
        "naive /0 at target size": (naive_chunker(0), 100, 400, True, True, True),
        "recursive (LangChain)": (recursive_chunker(), 100, 500, True, True, True),
        "Chonkie SemanticChunker": (chonkie_semantic_chunker(embedder, minilm.path / "tokenizer.json"), 0.01, 0.99, False, True, True),
        "LangChain SemanticChunker": (langchain_semantic_chunker(embedder), 50.0, 99.9, False, True, True),
        "chunkwise structural": (chunkwise_chunker("structural", "balanced", embedders), 100, 500, True, True, False),
        "chunkwise semantic fast": (chunkwise_chunker("semantic", "fast", embedders), 100, 500, True, True, False),
        "chunkwise semantic balanced": (chunkwise_chunker("semantic", "balanced", embedders), 100, 500, True, True, False),
    }
    if "precise" in args.only:
        # On a CPU "precise" differs from "balanced" only for units over 256 word pieces (windowed); off by default.
        chunkers["chunkwise semantic precise"] = (chunkwise_chunker("semantic", "precise", embedders), 100, 500, True, True, False)
    if args.only:
        wanted = set(args.only.split(","))
        chunkers = {name: spec for name, spec in chunkers.items() if name in wanted or spec[5] and "baselines" in wanted}
    results: dict = {"versions": _versions(), "args": vars(args), "layouts": {}}
    for layout in args.layouts.split(","):
        documents, questions = load_corpus(args.questions, args.passages_per_doc, layout, args.seed)
        question_vectors = embedder.embed([q.text for q in questions])
        rows = {}
        for name, (run, low, high, integer, increasing, baseline) in chunkers.items():
            began = time.perf_counter()
            if high is None:
                knob, spans = low, run(documents, low)
                size = mean_tokens(documents, spans, counter)
            else:
                knob, size, spans = calibrate(run, documents, counter, target, low, high, integer)
            metrics = evaluate(documents, questions, spans, embedder, question_vectors)
            rows[name] = {"knob": knob, "mean_tokens": size, "chunks": sum(map(len, spans)), "baseline": baseline,
                          "seconds": time.perf_counter() - began, "per_question": {k: v.tolist() for k, v in metrics.items()}}
            print(f"[{layout}] {name:30s} knob={knob!s:>6} mean={size:6.1f} tok  R={metrics['recall'].mean():.3f} "
                  f"P={metrics['precision'].mean():.4f} IoU={metrics['iou'].mean():.4f}  ({rows[name]['seconds']:.0f}s)", flush=True)
        results["layouts"][layout] = summarise(rows, args.seed, target)
        results["layouts"][layout]["questions"] = len(questions)
        results["layouts"][layout]["documents"] = len(documents)
    results["seconds"] = time.perf_counter() - started
    print_tables(results)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))


def summarise(rows: dict, seed: int, target: int) -> dict:
    rng = np.random.default_rng(seed)
    # Every baseline may be "best", the fixed naive settings (not at the target size) included.
    eligible = {n: r for n, r in rows.items() if r["baseline"]}
    summary: dict = {"chunkers": {}, "best_baseline": {}}
    for metric in ("recall", "precision", "iou"):
        if eligible:
            best = max(eligible, key=lambda n: np.mean(eligible[n]["per_question"][metric]))
            summary["best_baseline"][metric] = best
    for name, row in rows.items():
        entry = {k: row[k] for k in ("knob", "mean_tokens", "chunks", "baseline", "seconds")}
        for metric in ("recall", "precision", "iou"):
            values = np.asarray(row["per_question"][metric])
            entry[metric] = bootstrap_mean(values, rng)
            best = summary["best_baseline"].get(metric)
            if best and best != name:
                diff = values - np.asarray(rows[best]["per_question"][metric])
                entry[f"{metric}_vs_best"] = bootstrap_mean(diff, rng)
        if not row["baseline"]:
            # Paired differences against every baseline, not only the best one.
            entry["vs_baselines"] = {
                other: {
                    metric: bootstrap_mean(
                        np.asarray(row["per_question"][metric]) - np.asarray(rows[other]["per_question"][metric]), rng
                    )
                    for metric in ("recall", "iou")
                }
                for other, other_row in rows.items()
                if other_row["baseline"]
            }
        summary["chunkers"][name] = entry
    return summary


def print_tables(results: dict) -> None:
    for layout, summary in results["layouts"].items():
        print(f"\n## layout: {layout} ({summary['questions']} questions, {summary['documents']} documents); "
              f"best baselines: {summary['best_baseline']}")
        print("| chunker | mean tokens | chunks | recall [95% CI] | Δ recall vs best | precision ×1000 | IoU ×1000 [95% CI] | Δ IoU ×1000 vs best |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, e in summary["chunkers"].items():
            r, p, i = e["recall"], e["precision"], e["iou"]
            dr = e.get("recall_vs_best")
            di = e.get("iou_vs_best")
            print(f"| {name} | {e['mean_tokens']:.0f} | {e['chunks']} | {r[0]:.3f} [{r[1]:.3f}, {r[2]:.3f}] | "
                  + (f"{dr[0]:+.3f} [{dr[1]:+.3f}, {dr[2]:+.3f}]" if dr else "—")
                  + f" | {p[0]*1000:.2f} | {i[0]*1000:.2f} [{i[1]*1000:.2f}, {i[2]*1000:.2f}] | "
                  + (f"{di[0]*1000:+.2f} [{di[1]*1000:+.2f}, {di[2]*1000:+.2f}]" if di else "—") + " |")
        for name, e in summary["chunkers"].items():
            if "vs_baselines" not in e:
                continue
            print(f"\n{name} minus each baseline (paired bootstrap 95% CI): recall; IoU x1000")
            for other, d in e["vs_baselines"].items():
                r, i = d["recall"], d["iou"]
                print(f"  vs {other:28s} {r[0]:+.3f} [{r[1]:+.3f}, {r[2]:+.3f}];  {i[0]*1000:+.2f} [{i[1]*1000:+.2f}, {i[2]*1000:+.2f}]")
    print(f"\ntotal {results['seconds']:.0f} s")


def _versions() -> dict:
    versions = {"python": platform.python_version(), "chunkwise": chunkwise.__version__, "backend": chunkwise.backend()}
    for name in ("numpy", "torch", "sentence_transformers", "chonkie", "langchain_experimental", "langchain_text_splitters"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            versions[name] = None
    return versions


if __name__ == "__main__":
    main()
