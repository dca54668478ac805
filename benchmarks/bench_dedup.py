"""Dedup benchmark: MinHash signatures/s vs datasketch, exact dedup MB/s, end-to-end removals by reason.

    python benchmarks/bench_dedup.py --json out.json [--paragraphs 60000]

Seeded data: paragraphs of Python's own reference prose (pydoc_data.topics)
and, when present, ../shared/data/nq passages, varied by seeded word edits
so most paragraphs are distinct. datasketch (``pip install datasketch``) gets
the same word 3-shingles (same word definition) and the same num_perm; it
hashes shingle bytes with its default SHA-1, we with our 64-bit hash.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import platform
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chunkwise.duplicates import _minhash  # noqa: E402
from chunkwise._backend import backend  # noqa: E402
from chunkwise.duplicates.removal import dedup  # noqa: E402

WORD = re.compile(r"[^\s!-/:-@\[-`{-~]+")
SHARED = ROOT.parent / "shared" / "data"


def source_paragraphs() -> list[str]:
    import pydoc_data.topics

    paragraphs = [
        " ".join(p.split())
        for _, body in sorted(pydoc_data.topics.topics.items())
        for p in re.split(r"\n\s*\n", body)
        if len(p.split()) >= 12
    ]
    nq = SHARED / "nq" / "nq_open_oracle_dev.jsonl.gz"
    if nq.exists():
        with gzip.open(nq, "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                ctxs = row["ctxs"] if isinstance(row["ctxs"], list) else ast.literal_eval(row["ctxs"])
                paragraphs.extend(" ".join(c["text"].split()) for c in ctxs)
    return sorted(set(paragraphs))


def make_paragraphs(count: int, rng: random.Random) -> list[str]:
    base = source_paragraphs()
    vocabulary = sorted({w for p in base[:2000] for w in p.split()})
    out = []
    for _ in range(count):
        words = rng.choice(base).split()
        for _ in range(max(1, len(words) // 8)):
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        out.append(" ".join(words))
    return out


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def bench_signatures(paragraphs: list[str], num_perm: int, datasketch_sample: int) -> dict:
    perm_a, perm_b = _minhash.permutations(num_perm)

    def ours(texts, implementation=None):
        hashes, offsets = _minhash.shingle_hashes(texts, size=3, implementation=implementation)
        return _minhash.signatures(hashes, offsets, perm_a, perm_b, implementation=implementation)

    _, seconds = timed(ours, paragraphs)
    result = {"paragraphs": len(paragraphs), "num_perm": num_perm, "shingles": "word 3-grams",
              "chunkwise_per_s": len(paragraphs) / seconds, "chunkwise_backend": backend()}
    sample = paragraphs[:2000]
    _, seconds = timed(ours, sample, "python")
    result["chunkwise_python_twin_per_s"] = len(sample) / seconds
    try:
        import datasketch
    except ImportError:
        result["datasketch"] = "not installed (pip install datasketch)"
        return result
    sample = paragraphs[:datasketch_sample]

    def shingles(text):
        words = WORD.findall(text.lower())
        if 0 < len(words) < 3:
            return [" ".join(words).encode()]
        return [" ".join(words[k : k + 3]).encode() for k in range(len(words) - 2)]

    def one_by_one(texts):
        for text in texts:
            sketch = datasketch.MinHash(num_perm=num_perm, seed=1)
            sketch.update_batch(shingles(text))

    def bulk(texts):
        return datasketch.MinHash.bulk([shingles(t) for t in texts], num_perm=num_perm, seed=1)

    _, seconds_update = timed(one_by_one, sample)
    _, seconds_bulk = timed(bulk, sample)
    best = len(sample) / min(seconds_update, seconds_bulk)
    result.update(
        datasketch_version=datasketch.__version__,
        datasketch_sample=len(sample),
        datasketch_update_batch_per_s=len(sample) / seconds_update,
        datasketch_bulk_per_s=len(sample) / seconds_bulk,
        speedup_vs_best_datasketch=result["chunkwise_per_s"] / best,
    )
    return result


def bench_exact(paragraphs: list[str], rng: random.Random) -> dict:
    # 30% of paragraphs repeat an earlier one; documents of 20 paragraphs.
    units = [rng.choice(paragraphs[: i + 1]) if i and rng.random() < 0.3 else p for i, p in enumerate(paragraphs)]
    docs = ["\n\n".join(units[i : i + 20]) for i in range(0, len(units), 20)]
    megabytes = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    only = dict(stitch_overlap=False, boilerplate=False, near_documents=False, near_paragraphs=False, exact_documents=False)
    out = {"megabytes": megabytes, "documents": len(docs)}
    result, seconds = timed(dedup, docs, exact_sentences=False, **only)
    out["paragraphs_mb_per_s"] = megabytes / seconds
    out["paragraphs_removed_chars"] = result.summary["exact"].chars
    result, seconds = timed(dedup, docs, **only)
    out["paragraphs_and_sentences_mb_per_s"] = megabytes / seconds
    return out


def bench_end_to_end(paragraphs: list[str], rng: random.Random, tokenizer) -> dict:
    docs = []
    footer = "This page is part of the example documentation set. Copyright 2024, all rights reserved."
    for index in range(0, len(paragraphs) // 2, 10):
        body = "\n\n".join(paragraphs[index : index + 10])
        roll = rng.random()
        if roll < 0.1 and docs:
            body = rng.choice(docs)["text"]  # exact copy of an earlier page
        elif roll < 0.2:
            words = body.split(" ")
            words[rng.randrange(len(words))] = "edited"
            body = " ".join(words)  # near copy of a page drawn below
            body = body if rng.random() < 0.5 else paragraphs[index - 10 if index >= 10 else 0] + "\n\n" + body
        docs.append({"id": f"page-{index}", "text": body + "\n\n" + footer})
    # A long source re-split by an earlier splitter: windows with 20% overlap.
    stream = "\n\n".join(paragraphs[len(paragraphs) // 2 :])
    width, overlap = 4000, 800
    for position, start in enumerate(range(0, len(stream) - overlap, width - overlap)):
        docs.append({"id": f"win-{position}", "text": stream[start : start + width], "source_id": "long-source"})
    result, seconds = timed(dedup, docs, tokenizer=tokenizer)
    input_tokens = sum(tokenizer.count_batch([d["text"] for d in docs])) if tokenizer is not None else None
    return {
        "documents": len(docs),
        "input_chars": result.input_chars,
        "input_tokens": input_tokens,
        "kept_chars": result.kept_chars,
        "seconds": seconds,
        "mb_per_s": result.input_chars / 1e6 / seconds,
        "tokenizer": result.tokenizer_name,
        "by_reason": {reason: summary.to_dict() for reason, summary in result.summary.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write results here")
    parser.add_argument("--paragraphs", type=int, default=60_000)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--datasketch-sample", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    paragraphs = make_paragraphs(args.paragraphs, rng)
    try:
        from chunkwise.tokens import get_tokenizer

        tokenizer = get_tokenizer(None)
    except Exception as err:  # the benchmark still runs without a tokenizer
        print(f"no tokenizer ({err}); token columns empty", file=sys.stderr)
        tokenizer = None
    results = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "numpy": __import__("numpy").__version__,
        "seed": args.seed,
        "signatures": bench_signatures(paragraphs, args.num_perm, args.datasketch_sample),
        "exact": bench_exact(paragraphs, rng),
        "end_to_end": bench_end_to_end(paragraphs, rng, tokenizer),
    }
    sig, exact, e2e = results["signatures"], results["exact"], results["end_to_end"]
    print(f"python {results['python']}  numpy {results['numpy']}  datasketch {sig.get('datasketch_version', '-')}  backend {sig['chunkwise_backend']}")
    print(f"MinHash signatures ({sig['paragraphs']} paragraphs, num_perm={sig['num_perm']}, {sig['shingles']}):")
    print(f"  chunkwise              {sig['chunkwise_per_s']:>12,.0f} /s")
    print(f"  chunkwise python twin  {sig['chunkwise_python_twin_per_s']:>12,.0f} /s")
    if "datasketch_bulk_per_s" in sig:
        print(f"  datasketch update_batch{sig['datasketch_update_batch_per_s']:>12,.0f} /s   (sample {sig['datasketch_sample']})")
        print(f"  datasketch bulk        {sig['datasketch_bulk_per_s']:>12,.0f} /s")
        print(f"  speed-up vs best datasketch: {sig['speedup_vs_best_datasketch']:.1f}x")
    print(f"Exact dedup ({exact['megabytes']:.1f} MB): paragraphs {exact['paragraphs_mb_per_s']:.1f} MB/s, "
          f"paragraphs+sentences {exact['paragraphs_and_sentences_mb_per_s']:.1f} MB/s")
    print(f"End to end: {e2e['documents']} docs, {e2e['input_chars'] / 1e6:.1f} M chars, {e2e['input_tokens']} tokens, "
          f"{e2e['seconds']:.2f} s ({e2e['mb_per_s']:.1f} MB/s), tokenizer {e2e['tokenizer']}")
    print(f"  {'reason':<12}{'units':>8}{'chars':>12}{'tokens':>12}")
    for reason, row in e2e["by_reason"].items():
        print(f"  {reason:<12}{row['units']:>8}{row['chars']:>12}{row['tokens'] if row['tokens'] is not None else '-':>12}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
