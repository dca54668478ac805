"""Measured GPU memory next to the memory model's estimates (needs a CUDA GPU and transformers).

    python benchmarks/measure_memory.py                 # the standard set below
    python benchmarks/measure_memory.py --json out.json
    python benchmarks/measure_memory.py --case llama-3-8b:8192:eager

Each case builds a catalog architecture with random weights through transformers on the
GPU, runs one prefill and prints weights, KV cache and the peak above the weights, measured
(torch.cuda's allocator counts) and estimated (chunkwise.reporting.economics.memory), with their ratio.
Without a GPU it says so and exits 4, like ``chunkwise report --measure``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from chunkwise.reporting.economics.measure import measure
from chunkwise.errors import ChunkwiseError, DeviceUnavailableError

# model:seq_len:attention[:batch]. Llama-3-8B at 2k and 8k both ways is what the memory
# model's tests hold as fixtures; the others cover GQA variants, MHA and the embedder.
STANDARD = (
    "llama-3-8b:2048:sdpa", "llama-3-8b:2048:eager", "llama-3-8b:8192:sdpa", "llama-3-8b:8192:eager",
    "llama-3-8b:32768:sdpa", "qwen2.5-7b:2048:sdpa", "qwen2.5-7b:2048:eager", "phi-3-mini:2048:sdpa",
    "phi-3-mini:2048:eager", "mistral-7b-v0.1:4096:sdpa", "all-minilm-l6-v2:256:sdpa:64",
    "all-minilm-l6-v2:256:eager:64",
)


def _parse(case: str) -> tuple[str, int, str, int]:
    parts = case.split(":")
    if len(parts) not in (3, 4):
        raise SystemExit(f"--case {case!r}: expected model:seq_len:attention[:batch]")
    return parts[0], int(parts[1]), parts[2], int(parts[3]) if len(parts) == 4 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="model:seq_len:attention[:batch] (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="write every measurement as JSON")
    args = parser.parse_args(argv)
    results = []
    for case in args.case or STANDARD:
        model, seq_len, attention, batch = _parse(case)
        started = time.perf_counter()
        try:
            result = measure(model, seq_len=seq_len, batch_size=batch, attention=attention)
        except DeviceUnavailableError as err:
            print(f"no GPU: {err}", file=sys.stderr)
            return 4
        except (ChunkwiseError, RuntimeError) as err:  # e.g. CUDA out of memory on a smaller card
            print(f"{case}: {type(err).__name__}: {err}", file=sys.stderr)
            continue
        print(result.to_text(), f"  ({time.perf_counter() - started:.1f} s)", flush=True)
        results.append(result.to_dict())
    worst = max((abs(f["ratio"] - 1), r["model"], r["seq_len"], r["attention"], f["what"])
                for r in results for f in r["figures"]) if results else None
    if worst:
        print(f"largest deviation: {worst[0]:.1%} ({worst[4]} of {worst[1]} at {worst[2]} tokens, {worst[3]})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
