"""Answer survival of chunkwise.compress against baselines on NaturalQuestions-Open.

Questions whose gold passage does not contain a gold answer (after SQuAD
normalisation) are left out. Each question's gold passage is mixed with 19 distractors: passages of other
questions that are lexically close to it (BM25 over the pool of gold
passages, sampled with a fixed seed from the 40 closest) and that contain
none of its answers, so only the gold passage can answer. The 20 passages
are shuffled (seeded). Every method gets the same budgets: 50%, 25% and 10%
of the context's tokens (cl100k_base) and 512, 256 and 128 tokens. A method
"keeps the answer" when a gold answer, SQuAD-normalised, is still in its
output. Sentence and passage vectors come from the embedding cache
(filled on the first run), so ms/query here excludes model inference; see
bench_compress.py for end-to-end speed.

    python benchmarks/eval_compress.py --json bench-out/eval_compress.json [--questions 300]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import platform
import re
import string
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chunkwise.retrieval._bm25 import BM25, terms  # noqa: E402
from chunkwise.retrieval.compression import CompressConfig, _embeddable_head, _truncate, compress  # noqa: E402
from chunkwise.text.segmentation import sentences_within  # noqa: E402
from chunkwise.embedding.embedders import get_embedder  # noqa: E402
from chunkwise.tokens import get_tokenizer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "nq" / "nq_open_oracle_dev.jsonl.gz"
SEPARATOR = "\n\n"
FRACTIONS = (0.5, 0.25, 0.10)
ABSOLUTE = (512, 256, 128)


# ---------------------------------------------------------------- data


def _literal(value):
    return ast.literal_eval(value) if isinstance(value, str) else value


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def contains_answer(text: str, answers: list[str]) -> bool:
    """A normalised answer is a substring of the normalised text (as lost-in-the-middle scores NQ)."""
    haystack = normalize_answer(text)
    return any(a in haystack for a in (normalize_answer(x) for x in answers) if a)


def load_questions(path: Path, count: int, seed: int, distractors: int = 19, closest: int = 40, passages: str = "oracle") -> list[dict]:
    """``passages="oracle"``: the ~100-word gold passages; ``"long"``: NQ's annotated long answers (10-1,000+ tokens)."""
    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    for row in rows:
        row["answers"] = _literal(row["answers"])
        if passages == "long":
            row["passage"] = _literal(row["nq_annotated_gold"])["long_answer"]
        else:
            row["passage"] = _literal(row["ctxs"])[0]["text"]
    # Questions whose gold passage does not contain an answer (after normalisation) cannot be scored.
    rows = [row for row in rows if contains_answer(row["passage"], row["answers"])]
    pool = list(dict.fromkeys(row["passage"] for row in rows))
    normalized_pool = [normalize_answer(p) for p in pool]
    bm25 = BM25([terms(p) for p in pool])
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(rows), size=min(count, len(rows)), replace=False).tolist())
    questions = []
    for row_index in chosen:
        row = rows[row_index]
        answers = [normalize_answer(a) for a in row["answers"] if normalize_answer(a)]
        scores = bm25.scores(terms(row["question"]))
        order = np.argsort(-scores, kind="stable")
        candidates = [
            int(i) for i in order[: closest * 3]
            if pool[i] != row["passage"] and not any(a in normalized_pool[i] for a in answers)
        ][:closest]
        picked = rng.choice(len(candidates), size=distractors, replace=False)
        passages = [pool[candidates[i]] for i in picked] + [row["passage"]]
        rng.shuffle(passages)
        questions.append({"question": row["question"], "answers": row["answers"], "passages": passages})
    return questions


# ---------------------------------------------------------------- baselines


def greedy_fill(tokenizer, sentences: list[tuple[int, int, str]], priority: list[int], budget: int) -> str:
    """Add sentences in priority order while they fit; output in passage order (like compress does)."""
    costs = tokenizer.content_count_batch([s[2] for s in sentences])
    chosen: list[int] = []
    used = 0
    for row in priority:
        if used + costs[row] + 1 <= budget:
            chosen.append(row)
            used += costs[row] + 1

    def assemble(rows: list[int]) -> str:
        blocks: dict[int, list[tuple[int, str]]] = {}
        for r in rows:
            blocks.setdefault(sentences[r][0], []).append((sentences[r][1], sentences[r][2]))
        return SEPARATOR.join(" ".join(t for _, t in sorted(blocks[p])) for p in sorted(blocks))

    text = assemble(chosen)
    while chosen and tokenizer.count(text) > budget:
        chosen.pop()
        text = assemble(chosen)
    if not chosen and priority:  # nothing fits whole: the head of the best sentence
        return _truncate(tokenizer, sentences[priority[0]][2], budget)
    return text


def all_sentences(passages: list[str]) -> list[tuple[int, int, str]]:
    out = []
    for p, passage in enumerate(passages):
        for start, end in sentences_within(passage, 600):
            if passage[start:end].strip():
                out.append((p, start, passage[start:end]))
    return out


def method_first_tokens(ctx, budget):
    return _truncate(ctx["tokenizer"], SEPARATOR.join(ctx["passages"]), budget)


def method_random(ctx, budget):
    rng = np.random.default_rng(ctx["seed"])
    priority = rng.permutation(len(ctx["sentences"])).tolist()
    return greedy_fill(ctx["tokenizer"], ctx["sentences"], priority, budget)


def method_bm25(ctx, budget):
    bm25 = BM25([terms(s[2]) for s in ctx["sentences"]])
    scores = bm25.scores(terms(ctx["question"]))
    return greedy_fill(ctx["tokenizer"], ctx["sentences"], np.argsort(-scores, kind="stable").tolist(), budget)


def method_embedding(ctx, budget):
    scores = ctx["sentence_vectors"] @ ctx["query_vector"]
    return greedy_fill(ctx["tokenizer"], ctx["sentences"], np.argsort(-scores, kind="stable").tolist(), budget)


def method_passage_rerank(ctx, budget):
    """Whole passages by MiniLM cosine; the first that does not fit is cut to the room left."""
    tokenizer = ctx["tokenizer"]
    scores = ctx["passage_vectors"] @ ctx["query_vector"]
    kept: list[str] = []
    for p in np.argsort(-scores, kind="stable").tolist():
        trial = SEPARATOR.join(kept + [ctx["passages"][p]])
        if tokenizer.count(trial) <= budget:
            kept.append(ctx["passages"][p])
            continue
        room = budget - tokenizer.count(SEPARATOR.join(kept + [""])) if kept else budget
        if room > 0:
            head = _truncate(tokenizer, ctx["passages"][p], room)
            if head and tokenizer.count(SEPARATOR.join(kept + [head])) <= budget:
                kept.append(head)
        break
    return SEPARATOR.join(kept)


def chunkwise_method(config: CompressConfig, lexical_only: bool = False):
    def run(ctx, budget):
        embedder = False if lexical_only else ctx["embedder"]
        return compress(ctx["question"], ctx["passages"], budget_tokens=budget, tokenizer=ctx["tokenizer"], embedder=embedder, config=config).text

    return run


# ---------------------------------------------------------------- run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--passages", choices=("oracle", "long"), default="oracle", help="gold passages (default) or annotated long answers")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--ablations", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    if not args.data.exists():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2

    import faiss  # noqa: F401  (only to print its version)
    import sentence_transformers

    tokenizer = get_tokenizer(None)
    embedder = get_embedder("balanced")
    questions = load_questions(args.data, args.questions, args.seed, passages=args.passages)
    started = time.perf_counter()
    # Embed every sentence, passage and question once; later calls are cache hits.
    for q in questions:
        q["sentences"] = all_sentences(q["passages"])
    embedder.embed(sorted({s[2] for q in questions for s in q["sentences"]}))
    embedder.embed(sorted(set(_embeddable_head(embedder, sorted({p for q in questions for p in q["passages"]})))))
    embedder.embed([q["question"] for q in questions])
    print(f"embedded in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    default = CompressConfig()
    methods = {
        "chunkwise": chunkwise_method(default),
        "first tokens": method_first_tokens,
        "random sentences": method_random,
        "BM25 sentences": method_bm25,
        "embedding sentences": method_embedding,
        "passage rerank (MiniLM)": method_passage_rerank,
    }
    if args.ablations:
        from dataclasses import replace

        methods.update(
            {
                "chunkwise, rank fusion": chunkwise_method(replace(default, fusion="rrf")),
                "chunkwise, no context": chunkwise_method(replace(default, neighbour_weight=0.0, passage_weight=0.0, lead_weight=0.0)),
                "chunkwise, no lead": chunkwise_method(replace(default, lead_weight=0.0)),
                "chunkwise, no MMR": chunkwise_method(replace(default, mmr_lambda=1.0)),
                "chunkwise, lexical only": chunkwise_method(default, lexical_only=True),
            }
        )
    budget_names = [f"{int(f * 100)}%" for f in FRACTIONS] + [str(b) for b in ABSOLUTE]
    results = {m: {b: {"kept": 0, "tokens": 0, "budget": 0, "seconds": 0.0, "over": 0} for b in budget_names} for m in methods}
    context_tokens = []
    for index, q in enumerate(questions):
        total = tokenizer.count(SEPARATOR.join(q["passages"]))
        context_tokens.append(total)
        budgets = [max(1, int(total * f)) for f in FRACTIONS] + list(ABSOLUTE)
        ctx = {
            "question": q["question"],
            "passages": q["passages"],
            "sentences": q["sentences"],
            "tokenizer": tokenizer,
            "embedder": embedder,
            "seed": args.seed + index,
            "query_vector": embedder.embed([q["question"]])[0],
            "sentence_vectors": embedder.embed([s[2] for s in q["sentences"]]),
            "passage_vectors": embedder.embed(_embeddable_head(embedder, q["passages"])),
        }
        for name, method in methods.items():
            for budget_name, budget in zip(budget_names, budgets):
                t0 = time.perf_counter()
                text = method(ctx, budget)
                elapsed = time.perf_counter() - t0
                cell = results[name][budget_name]
                tokens = tokenizer.count(text) if text else 0
                cell["over"] += tokens > budget
                cell["kept"] += contains_answer(text, q["answers"])
                cell["tokens"] += tokens
                cell["budget"] += budget
                cell["seconds"] += elapsed
        if (index + 1) % 50 == 0:
            print(f"{index + 1}/{len(questions)} questions, {time.perf_counter() - started:.0f} s", file=sys.stderr)

    n = len(questions)
    table = {
        m: {
            b: {
                "answer_survival": cell["kept"] / n,
                "mean_tokens": cell["tokens"] / n,
                "mean_budget": cell["budget"] / n,
                "ms_per_query": 1000 * cell["seconds"] / n,
                "over_budget": cell["over"],
            }
            for b, cell in row.items()
        }
        for m, row in results.items()
    }
    print(f"\n{args.passages} passages: {n} questions, 20 passages each, mean context {np.mean(context_tokens):.0f} tokens (cl100k_base)")
    header = "| method | " + " | ".join(budget_names) + " | ms/query |"
    print(header)
    print("|" + " --- |" * (len(budget_names) + 2))
    for m, row in table.items():
        cells = [f"{row[b]['answer_survival'] * 100:.1f}% ({row[b]['mean_tokens']:.0f})" for b in budget_names]
        ms = np.mean([row[b]["ms_per_query"] for b in budget_names])
        print(f"| {m} | " + " | ".join(cells) + f" | {ms:.1f} |")
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": __import__("faiss").__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "embedder": embedder.model_id,
        "tokenizer": tokenizer.name,
    }
    print("versions:", versions)
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"questions": n, "seed": args.seed, "passages": args.passages, "mean_context_tokens": float(np.mean(context_tokens)), "versions": versions, "results": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
