"""Batch throughput: one worker, two worker processes and a Dask LocalCluster on one generated store,
with the store-wide dedup full, by chunks and off, and optionally an older checkout side by side.

    python benchmarks/bench_batch.py --json out.json            # 100,000 documents, ~210 MB
    python benchmarks/bench_batch.py --docs 5000 --json out.json  # a quick look
    python benchmarks/bench_batch.py --baseline /path/to/old/checkout   # "before" rows too

Each configuration runs ``chunkwise prepare STORE -o OUT -q --json`` in its own
process on a fresh output, so peak RSS is that run's (the largest single
process: the coordinator or one worker). Reports documents/s, MB/s and MB/s per
worker, peak RSS, the Dask engine's overhead against local processes with the
same worker count, and checks that every configuration with the same dedup
setting wrote the same bytes. ``--baseline`` runs the chosen configurations
again with another checkout of chunkwise first on PYTHONPATH (it must have its
extensions built), so "before" and "after" come from one run on one machine.
The store is seeded and generated once under --workdir (not in the repository).

The physical limit: tiktoken's own encoding rate, which ``--tokenizer-rate``
measures on the same store (MB/s of one core encoding every document once).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

# The default store dedup is "full" (prepare()'s dedup over the whole store, decided by the coordinator
# before chunking); "chunks" is the streaming pass that drops repeated chunks (the only one before
# 2026-11-27, so a --baseline checkout older than that runs it by default); "off" removes nothing.
# The store's speed target (issue 17): prepare_store with its defaults, per worker.
TARGET_MB_PER_S_PER_WORKER = 4.0

CONFIGS = {
    "local 1 worker": ["--workers", "1"],
    "local 2 workers": ["--workers", "2"],
    "dask LocalCluster 2 workers": ["--engine", "dask", "--workers", "2"],
    "local 1 worker (store dedup: chunks)": ["--workers", "1", "--store-dedup", "chunks"],
    "local 2 workers (store dedup: chunks)": ["--workers", "2", "--store-dedup", "chunks"],
    "dask LocalCluster 2 workers (store dedup: chunks)": ["--engine", "dask", "--workers", "2", "--store-dedup", "chunks"],
    "local 1 worker (no store dedup)": ["--workers", "1", "--no-store-dedup"],
    "local 2 workers (no store dedup)": ["--workers", "2", "--no-store-dedup"],
}


def dedup_mode(name: str, baseline: bool) -> str:
    """The store dedup a configuration runs: "full", "chunks" or "off" (an old baseline's default is "chunks")."""
    flags = CONFIGS[name]
    if "--no-store-dedup" in flags:
        return "off"
    if "--store-dedup" in flags:
        return flags[flags.index("--store-dedup") + 1]
    return "chunks" if baseline else "full"


def workers_of(name: str) -> int:
    return int(CONFIGS[name][CONFIGS[name].index("--workers") + 1])


def generate_store(path: Path, documents: int, doc_bytes: int, seed: int) -> None:
    """Seeded Markdown-ish documents of about ``doc_bytes`` each, with a few exact copies."""
    import re
    from importlib import resources

    rng = random.Random(seed)
    # Real English words (from the bundled sample corpus), so token counts behave like prose.
    sample = Path(str(resources.files("chunkwise").joinpath("data", "sample")))
    words = {w.lower() for f in sorted(sample.iterdir()) for w in re.findall(r"[A-Za-z]{2,}", f.read_text(encoding="utf-8"))}
    vocabulary = sorted(words)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        previous: list[str] = []
        for position in range(documents):
            if previous and rng.random() < 0.01:
                text = rng.choice(previous)
            else:
                parts = [f"# Document {position}"]
                size = 0
                while size < doc_bytes:
                    words = [rng.choice(vocabulary) for _ in range(rng.randint(8, 20))]
                    sentence = " ".join(words).capitalize() + "."
                    if rng.random() < 0.3:
                        parts.append(sentence)
                    else:
                        parts[-1] += " " + sentence
                    size += len(sentence) + 1
                text = "\n\n".join(parts) + "\n"
                if len(previous) < 100:
                    previous.append(text)
            handle.write(json.dumps({"id": f"doc-{position:07d}", "text": text}) + "\n")
    tmp.replace(path)


def run(store: Path, out: Path, extra: list[str], batch_size: int, source: Path | None = None) -> dict:
    if out.parent.exists():
        shutil.rmtree(out.parent)
    command = [sys.executable, "-m", "chunkwise.cli", "prepare", str(store), "-o", str(out), "-q", "--json",
               "--batch-size", str(batch_size), *extra]
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = os.pathsep.join([str(source), environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    started = time.perf_counter()
    with open(out.parent.with_suffix(".stdout"), "w+b") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, env=environment)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read().decode() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        stdout.seek(0)
        text = stdout.read().decode()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({process.returncode}): {stderr[-2000:]}")
    summary = json.loads(text)["summary"]
    # Streamed: a child's peak RSS starts from this process's RSS at fork, so holding a 250 MB
    # output here would show up as every later run's peak.
    hasher = hashlib.blake2b(digest_size=16)
    with out.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    digest = hasher.hexdigest()
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "summary": summary, "output_blake2b": digest}


def tokenizer_rate(store: Path, limit_mb: float = 50.0) -> float:
    """MB/s of tiktoken's cl100k encoding every document of the store once, on one core (up to
    ``limit_mb``): what no chunker that counts every token can beat per worker."""
    from chunkwise.tokens import get_tokenizer

    counter = get_tokenizer(None)
    texts, size = [], 0
    with store.open(encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
            size += len(line.encode("utf-8"))
            if size > limit_mb * 1e6:
                break
    started = time.perf_counter()
    counter.content_count_batch(texts)
    return size / 1e6 / (time.perf_counter() - started)


def versions() -> dict:
    import chunkwise

    found = {"python": platform.python_version(), "chunkwise": chunkwise.__version__, "cpus": os.cpu_count()}
    for name in ("dask", "distributed", "pyarrow", "tiktoken"):
        try:
            found[name] = __import__(name).__version__
        except ImportError:
            found[name] = None
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--doc-bytes", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/chunkwise-bench-batch"))
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names from: " + "; ".join(CONFIGS))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another chunkwise checkout (extensions built) to run the same configurations with, as 'before'")
    parser.add_argument("--baseline-configs", default="local 1 worker,local 2 workers",
                        help="the configurations --baseline runs")
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    store = args.workdir / f"store-{args.docs}-{args.doc_bytes}-{args.seed}.jsonl"
    if not store.exists():
        print(f"generating {store} ...", file=sys.stderr)
        generate_store(store, args.docs, args.doc_bytes, args.seed)
    store_mb = store.stat().st_size / 1e6
    info = versions()
    print(f"store: {args.docs:,} documents, {store_mb:.1f} MB; batch size {args.batch_size}; {info}")

    planned = [(name, None, name) for name in [c.strip() for c in args.configs.split(",") if c.strip()]]
    if args.baseline is not None:
        planned = [(f"before: {name}", args.baseline.resolve(), name)
                   for name in [c.strip() for c in args.baseline_configs.split(",") if c.strip()]] + planned
    results = {}
    for label, source, name in planned:
        out = args.workdir / label.replace(" ", "_").replace(",", "").replace(":", "").replace("(", "").replace(")", "") / "chunks.jsonl"
        result = run(store, out, CONFIGS[name], args.batch_size, source)
        result["docs_per_s"] = args.docs / result["wall_s"]
        result["mb_per_s"] = store_mb / result["wall_s"]
        result["mb_per_s_per_worker"] = result["mb_per_s"] / workers_of(name)
        result["store_dedup"] = dedup_mode(name, source is not None)
        result["source"] = str(source) if source else "this checkout"
        results[label] = result
        print(f"  {label:<40} {result['wall_s']:8.1f} s  {result['docs_per_s']:8.0f} docs/s  "
              f"{result['mb_per_s']:6.2f} MB/s ({result['mb_per_s_per_worker']:.2f} per worker)  "
              f"peak RSS {result['peak_rss_mb']:7.0f} MB", flush=True)

    # Runs with the same dedup setting and code must write the same bytes (before and after may differ).
    groups: dict[tuple[str, str], set[str]] = {}
    for r in results.values():
        groups.setdefault((r["store_dedup"], r["source"]), set()).add(r["output_blake2b"])
    identical = all(len(digests) == 1 for digests in groups.values())
    rate = tokenizer_rate(store)
    print("\n| configuration | store dedup | wall (s) | documents/s | MB/s | MB/s per worker | removed | peak RSS (MB) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['store_dedup']} | {r['wall_s']:.1f} | {r['docs_per_s']:,.0f} | {r['mb_per_s']:.2f} | "
              f"{r['mb_per_s_per_worker']:.2f} | {r['summary'].get('removed', 0):,} | {r['peak_rss_mb']:,.0f} |")
    print(f"\nthe limit: tiktoken cl100k alone encodes this store at {rate:.2f} MB/s on one core")
    print(f"MB/s per worker against the target (>= {TARGET_MB_PER_S_PER_WORKER:g}, defaults) and as a fraction of the limit:")
    for name, r in results.items():
        per_worker = r["mb_per_s_per_worker"]
        print(f"  {name:<52} {per_worker:5.2f}  {per_worker / TARGET_MB_PER_S_PER_WORKER:5.2f} of the target  "
              f"{per_worker / rate:5.2f} of the limit")
    overhead = None
    if "local 2 workers" in results and "dask LocalCluster 2 workers" in results:
        overhead = results["dask LocalCluster 2 workers"]["wall_s"] / results["local 2 workers"]["wall_s"] - 1
        print(f"\nDask overhead against local processes (2 workers): {overhead:+.1%} (target <= 20%)")
    chunks_pair = ("local 2 workers (store dedup: chunks)", "dask LocalCluster 2 workers (store dedup: chunks)")
    if all(name in results for name in chunks_pair):
        ratio = results[chunks_pair[1]]["wall_s"] / results[chunks_pair[0]]["wall_s"] - 1
        print(f"Dask overhead against local processes (2 workers, store dedup by chunks): {ratio:+.1%}")
    if "local 1 worker" in results and "local 2 workers" in results:
        print(f"speed-up 1 -> 2 workers: {results['local 1 worker']['wall_s'] / results['local 2 workers']['wall_s']:.2f}x")
    print(f"identical output across configurations with the same code and dedup setting: {identical}")
    if args.json:
        args.json.write_text(json.dumps({"store_mb": store_mb, "documents": args.docs, "batch_size": args.batch_size,
                                         "versions": info, "results": results, "dask_overhead": overhead,
                                         "identical_output": identical, "tokenizer_mb_per_s": rate}, indent=2))


if __name__ == "__main__":
    main()
