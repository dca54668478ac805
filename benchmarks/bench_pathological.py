"""Time and peak memory per MB of every public function on pathological inputs, against plain prose.

Each input class is generated deterministically (seeded) at ``--mb`` MB of
UTF-8: real English prose (Chroma's dev corpora and Python's pydoc topics,
else the bundled sample), a no-space Latin run, random CJK, Thai without
spaces, combining-mark stacks (1,000 and 10 per letter, and 64,000 without the
starter U+034F that ends a stack), emoji ZWJ
sequences, one giant Markdown table line, HTML-entity soup, tiny lines and
tiny paragraphs, one repeated character, a base64 blob, random bytes read
as latin-1 (all bytes, and 0x80-0xFF only) and as cp1252, a document decoded
with the wrong codec (mojibake in every word),
and text of nothing but one letter and one mark, CRLF, ZWJ or
NUL. Each (function, class) runs in a fresh subprocess, so its peak
RSS is its own: the worker warms up on a small input of the class (loading
tokenizers and embedders), resets the kernel's high-water mark
(``/proc/self/clear_refs``), makes the call and reports VmHWM minus the RSS
before the call. The table gives seconds per MB, the ratio to prose's
seconds per MB for the same function, and peak memory / input size; the
requirement is both at most 10x (``--limit``). Prose, and any class whose first
run takes more than half the limit times prose's rate, run ``--repeat`` times
(default 3), each in a fresh process: the row's time is their median and its
peak the largest (one wall-clock run moved by up to 1.5x on this machine).

The streaming case runs one ``--big-mb`` file of prose (default 10; the
finding was about 50) through ``prepare_store`` (the store path behind
``chunkwise prepare FOLDER -o OUT``) and reports peak RSS / file size.

    python benchmarks/bench_pathological.py [--mb 1] [--big-mb 10] [--json out.json]
        [--functions chunk,prepare] [--classes prose,cjk] [--timeout 300] [--repeat 3]

Last full run (2026-11-28 05:12, cython backend, --mb 1 --big-mb 50, on d11066e; output in
docs/measured/bench_pathological.txt), worst class of each function, time x prose per MB and
peak memory x input: chunk 5.0x (tiny_lines), 7.2x (tiny paragraphs); naive_split 3.3x, 2.4x;
prepare 2.3x, 8.8x (random latin-1); compress 3.1x (base64), 8.8x (cp1252_bytes); semantic_fast
3.5x, 7.5x (tiny paragraphs); normalize 9.1x (latin1_bytes; 7.2x html_entities, 7.1x
latin1_high_bytes, 6.1x cp1252_bytes), 7.7x memory (joiners_only). The 50 MB file through
prepare_store: 9.1x (3.07 s/MB). Every function passes. The run before it (on 13df955) had
normalize at 6.8x worst and semantic_fast's memory at 10.1x on tiny paragraphs, which d11066e
brought to 7.5x (malloc_trim once a document's unit table is freed); normalize's random-byte
rows moved 6.6-9.1x between runs, with prose at 0.03-0.04 s/MB. Its first call in a process
also pays first-touch page faults of its ~8 MB peak: about 1,850 on 1 MB of random latin-1,
0.04 s here.
normalize's mojibake repair is ftfy's algorithm, compiled since 2228f73 (text/_crepair.pyx, whose
Python twin text/_encoding_repair.py mirrors ftfy's steps); ftfy itself, run line by line on the
same input, is the limit printed under the table: normalize takes 0.13-0.16x its time on random
latin-1, 0.19x on cp1252_bytes, 0.13x on mojibake_words. Before 2228f73 normalize took 1.81 s/MB
(51x) on random latin-1, and before 9e9f2ba 2.0 s/MB.
The classes marks_64k, letter_mark, crlf_only, joiners_only and nul_only were added after probing:
before 05c4ddc and 92deb7d a letter under 64,000 marks took 45 s/MB to normalize (unicodedata's
insertion sort), and 1 MB of NULs, ZWJs or CRLFs 0.2-1.4 s and 24-92 MB (a callback and an
edit per character).
Each measurement has an empty embedding cache of its own; compress embeds the whole passage
with the static table (docs/measured/bench_pathological_embedders.txt has the run on 7f4a433).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = 20261113
CHROMA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "chroma-dev"
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "chunkwise" / "data" / "sample"
QUERY = "What did the report say about revenue growth and the reasons for it?"
MAX_TOKENS = 512
BUDGET_TOKENS = 512
MB = 1_000_000


# ---------------------------------------------------------------- inputs


# Takes each of normalize's dense paths once (mojibake, invisibles, NFC), which build their tables.
TABLES_WARM_UP = "Ã©" * 300 + " " + "\x01x" * 300 + " " + "e\u0301" * 300 + " cafÃ© Ã©\x01\u200b"


def _fill(target_bytes: int, piece: Callable[[random.Random], str]) -> str:
    """Pieces from a seeded generator until the UTF-8 size reaches ``target_bytes``."""
    rng = random.Random(SEED)
    parts: list[str] = []
    size = 0
    while size < target_bytes:
        text = piece(rng)
        parts.append(text)
        size += len(text.encode("utf-8"))
    return "".join(parts)


def _prose_source() -> str:
    texts = []
    if CHROMA_DIR.is_dir():
        texts += [path.read_text(encoding="utf-8") for path in sorted(CHROMA_DIR.glob("*.md")) if path.name != "README.md"]
    try:
        from pydoc_data.topics import topics

        texts += [topics[key] for key in sorted(topics)]
    except ImportError:
        pass
    if not texts:
        texts = [path.read_text(encoding="utf-8") for path in sorted(SAMPLE_DIR.iterdir()) if path.is_file()]
    return "\n\n".join(texts)


def prose(target_bytes: int) -> str:
    """Real prose, repeated whole only when the sources fall short of the size."""
    source = _prose_source()
    data = source
    while len(data.encode("utf-8")) < target_bytes:
        data += "\n\n" + source
    return data.encode("utf-8")[:target_bytes].decode("utf-8", "ignore")


_THAI_CONSONANTS = [chr(c) for c in range(0x0E01, 0x0E2F)]
_THAI_VOWELS = ["\u0e32", "\u0e34", "\u0e35", "\u0e38", "\u0e31", "\u0e33", ""]
_THAI_TONES = ["\u0e48", "\u0e49", "", "", ""]
_EMOJI = [
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f3f3\ufe0f\u200d\U0001f308",
    "\U0001f469\U0001f3fd\u200d\U0001f4bb",
    "\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1",
    "\U0001f44d\U0001f3ff",
    "\u2764\ufe0f\u200d\U0001f525",
]
_ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&nbsp;", "&#169;", "&#x1F600;", "&eacute;", "&mdash;", "&#8212;"]


def _letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(count))


def _marks(per_letter: int) -> Callable[[random.Random], str]:
    def piece(rng: random.Random) -> str:
        return rng.choice("aeiouxyz") + "".join(chr(rng.randrange(0x0300, 0x0370)) for _ in range(per_letter))

    return piece


def _mark_stack(marks_per_letter: int) -> Callable[[random.Random], str]:
    marks = [chr(code) for code in range(0x0300, 0x0370) if code != 0x034F]

    def piece(rng: random.Random) -> str:
        return rng.choice("aeiouxyz") + "".join(rng.choice(marks) for _ in range(marks_per_letter)) + " "

    return piece


def _mojibake_sentence() -> Callable[[random.Random], str]:
    """A sentence of words (Cyrillic, Greek, accented Latin; Zipf-drawn from 5,000) whose UTF-8
    was read as cp1252 (undefined bytes replaced) or latin-1: a document decoded with the wrong
    codec, where every word is mojibake."""
    vocabulary_rng = random.Random(SEED + 1)
    alphabets = ["абвгдежзийклмнопрстуфхцчшщыьэюя", "αβγδεζηθικλμνξοπρστυφχψω", "abcdeéèêàçôûüöäßñ"]
    words = [
        "".join(vocabulary_rng.choice(alphabets[k % 3]) for _ in range(vocabulary_rng.randint(2, 11)))
        for k in range(5000)
    ]
    weights = [1 / (rank + 1) for rank in range(len(words))]

    def piece(rng: random.Random) -> str:
        text = " ".join(rng.choices(words, weights, k=12)) + (".\n" if rng.random() < 0.2 else ". ")
        return text.encode("utf-8").decode(*rng.choice((("cp1252", "replace"), ("latin-1",))))

    return piece


def _table_cell(rng: random.Random) -> str:
    return f"| {_letters(rng, rng.randrange(3, 9))} {rng.randrange(10_000)} "


INPUT_CLASSES: dict[str, Callable[[int], str]] = {
    "prose": prose,
    "nospace_latin": lambda size: _fill(size, lambda rng: _letters(rng, 1000)),
    "cjk_random": lambda size: _fill(size, lambda rng: "".join(chr(rng.randrange(0x4E00, 0x9FA0)) for _ in range(1000))),
    "thai_nospace": lambda size: _fill(
        size, lambda rng: rng.choice(_THAI_CONSONANTS) + rng.choice(_THAI_VOWELS) + rng.choice(_THAI_TONES)
    ),
    "marks_1000": lambda size: _fill(size, _marks(1000)),
    "marks_10": lambda size: _fill(size, _marks(10)),
    # Marks only: U+034F (in _marks' range) is a starter and ends a stack every ~110 marks.
    "marks_64k": lambda size: _fill(size, _mark_stack(64_000)),
    "emoji_zwj": lambda size: _fill(size, lambda rng: rng.choice(_EMOJI)),
    "markdown_table_line": lambda size: "|" + _fill(size, _table_cell) + "|",
    "html_entities": lambda size: _fill(size, lambda rng: rng.choice(_ENTITIES) + (_letters(rng, 3) if rng.random() < 0.3 else "")),
    "tiny_lines": lambda size: _fill(size, lambda rng: _letters(rng, 2) + "\n"),
    "tiny_paragraphs": lambda size: _fill(size, lambda rng: _letters(rng, 2) + "\n\n"),
    "single_char": lambda size: "a" * size,
    "base64_blob": lambda size: _fill(size, lambda rng: base64.b64encode(rng.randbytes(3000)).decode("ascii")),
    "latin1_bytes": lambda size: _fill(size, lambda rng: rng.randbytes(1000).decode("latin-1")),
    "mojibake_words": lambda size: _fill(size, _mojibake_sentence()),
    # Found probing other random bytes (2026-11-28): bytes 0x80-0xFF only read as Latin-1 (no
    # ASCII, so no spaces or controls: long segments, and every UTF-8-looking pair), and any
    # bytes read as cp1252 (its undefined bytes become U+FFFD); normalize was 10-13x prose
    # per MB on each, more than on latin1_bytes.
    "latin1_high_bytes": lambda size: _fill(size, lambda rng: bytes(rng.randrange(0x80, 0x100) for _ in range(1000)).decode("latin-1")),
    "cp1252_bytes": lambda size: _fill(size, lambda rng: rng.randbytes(1000).decode("cp1252", errors="replace")),
    # Found probing single characters repeated (2026-11-27): normalize took 10-70x prose's time
    # per MB and up to 90x the input's memory on each before 92deb7d and the commit after it.
    "letter_mark": lambda size: _fill(size, _mark_stack(1)),
    "crlf_only": lambda size: "\r\n" * (size // 2),
    "joiners_only": lambda size: "\u200d" * (size // 3),
    "nul_only": lambda size: "\x00" * size,
}


# ---------------------------------------------------------------- functions


def _chunk(text: str) -> Any:
    import chunkwise

    return chunkwise.chunk(text, max_tokens=MAX_TOKENS)


def _naive_split(text: str) -> Any:
    import chunkwise

    return chunkwise.naive_split(text, max_tokens=MAX_TOKENS)


def _prepare(text: str) -> Any:
    import chunkwise

    return chunkwise.prepare(text, max_tokens=MAX_TOKENS)


def _compress(text: str) -> Any:
    import chunkwise

    return chunkwise.compress(QUERY, [text], budget_tokens=BUDGET_TOKENS, embedder="fast")


def _semantic(text: str) -> Any:
    import chunkwise

    return chunkwise.chunk(text, max_tokens=MAX_TOKENS, strategy="semantic", profile="fast")


def _normalize(text: str) -> Any:
    import chunkwise

    return chunkwise.normalize(text)


def _ftfy_lines(text: str) -> Any:
    import ftfy

    return [ftfy.fix_encoding(line) for line in text.splitlines(keepends=True)]


# Not a chunkwise function: the rate of the library normalize's mojibake repair is built on,
# run line by line (whole lines: fewer calls than normalize's segments), on the mojibake classes.
REFERENCES: dict[str, Callable[[str], Any]] = {"ftfy_fix_encoding": _ftfy_lines}
REFERENCE_CLASSES = ("latin1_bytes", "latin1_high_bytes", "cp1252_bytes", "mojibake_words")

FUNCTIONS: dict[str, Callable[[str], Any]] = {
    "chunk": _chunk,
    "naive_split": _naive_split,
    "prepare": _prepare,
    "compress": _compress,
    "semantic_fast": _semantic,
    "normalize": _normalize,
}


# ---------------------------------------------------------------- one measurement (in a child process)


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark so VmHWM measures only what follows (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_kib() -> int:
    peak = _status_kib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(function: str, input_class: str, size_bytes: int) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    call = {**FUNCTIONS, **REFERENCES}[function]
    make = INPUT_CLASSES[input_class]
    # Warm up: tokenizer, embedder, regexes. Prose too: 4 KB of some classes is one unit,
    # which never loads the embedder, and loading it (~70 MB) is no cost of the input. Then
    # normalize's tables built on first use (its dense paths' code-point tables and the
    # compiled mojibake repair's, about 0.7 s once per process), from a few KB that take
    # those paths: 4 KB of a class need not, and a larger sample would leave a larger heap
    # for the measured call to reuse.
    call(prose(4096))
    call(make(4096))
    call(TABLES_WARM_UP)
    text = make(size_bytes)
    input_bytes = len(text.encode("utf-8"))
    gc.collect()
    before = _status_kib("VmRSS") or _peak_kib()
    exact = _reset_peak()
    started = time.perf_counter()
    result = call(text)
    seconds = time.perf_counter() - started
    peak = _peak_kib()
    del result
    return {
        "function": function,
        "class": input_class,
        "input_bytes": input_bytes,
        "seconds": seconds,
        "peak_delta_bytes": max(0, peak - before) * 1024,
        "peak_exact": exact,
    }


def measure_store(size_bytes: int) -> dict[str, Any]:
    """One file of ``size_bytes`` of prose through prepare_store, in this process."""
    warnings.simplefilter("ignore")
    import chunkwise

    with tempfile.TemporaryDirectory(prefix="bench-pathological-") as folder:
        store = Path(folder) / "store"
        store.mkdir()
        warm = Path(folder) / "warm"
        warm.mkdir()
        (warm / "small.txt").write_text(prose(4096), encoding="utf-8")
        chunkwise.prepare_store(warm, Path(folder) / "warm-out", prepare_options={"max_tokens": MAX_TOKENS})
        path = store / "big.txt"
        path.write_text(prose(size_bytes), encoding="utf-8")
        input_bytes = path.stat().st_size
        gc.collect()
        before = _status_kib("VmRSS") or _peak_kib()
        exact = _reset_peak()
        started = time.perf_counter()
        chunkwise.prepare_store(store, Path(folder) / "out", prepare_options={"max_tokens": MAX_TOKENS})
        seconds = time.perf_counter() - started
        peak = _peak_kib()
    return {
        "function": "prepare_store",
        "class": "prose_file",
        "input_bytes": input_bytes,
        "seconds": seconds,
        "peak_delta_bytes": max(0, peak - before) * 1024,
        "peak_exact": exact,
    }


def run_child(arguments: list[str], timeout: float) -> dict[str, Any] | str:
    """One measurement in a fresh process with an empty embedding cache of its own.

    Every class then meets the same cache: before, prose's vectors were often in the
    user's cache from earlier runs while a generated class's were not, and the ratio
    measured the cache's state (prose 0.74 or 1.63 s/MB by the day). The static
    table of the ``fast`` profile is shared, not rebuilt (a link to the user's own).
    """
    from chunkwise.embedding.embedders import cache_dir, static_embedder

    if not (cache_dir() / "static").is_dir():
        try:
            static_embedder()  # built once here (a minute or so), not once per child
        except Exception:  # noqa: BLE001 - no model: the embedding rows report their own error
            pass
    command = [sys.executable, os.path.abspath(__file__), "--worker", *arguments]
    with tempfile.TemporaryDirectory(prefix="chunkwise-patho-") as home:
        private = Path(home) / "chunkwise"
        private.mkdir()
        if (cache_dir() / "static").is_dir():
            (private / "static").symlink_to(cache_dir() / "static", target_is_directory=True)
        environment = {**os.environ, "XDG_CACHE_HOME": home}
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment)
        except subprocess.TimeoutExpired:
            return "timeout"
    if done.returncode != 0:
        return "error: " + (done.stderr.strip().splitlines() or ["?"])[-1][:200]
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_row(function: str, input_class: str, args: argparse.Namespace, prose_rate: float | None) -> dict[str, Any]:
    """One (function, class) row: a fresh process per run. Prose, and a class whose first run
    takes more than half the limit times prose's rate, run ``--repeat`` times: the row's time
    is their median and its peak the largest. One wall-clock run of 0.2 s moved by 1.5x on
    this machine from run to run (normalize on random bytes read 0.17-0.29 s/MB; prose
    0.026-0.04), enough to flip a verdict either way near the line."""
    runs: list[dict[str, Any]] = []
    while len(runs) < args.repeat:
        outcome = run_child([function, input_class, str(args.mb)], args.timeout)
        if isinstance(outcome, str):
            return {"function": function, "class": input_class, "input_bytes": int(args.mb * MB), "status": outcome}
        runs.append(outcome)
        # Whether to repeat is decided on the first run alone: stopping at the first fast
        # run would lean the median low.
        rate = runs[0]["seconds"] / (runs[0]["input_bytes"] / MB)
        if not (input_class == "prose" or (prose_rate is not None and rate > prose_rate * args.limit / 2)):
            break
    return {**runs[0], "seconds": statistics.median(run["seconds"] for run in runs),
            "runs": [run["seconds"] for run in runs], "peak_delta_bytes": max(run["peak_delta_bytes"] for run in runs),
            "peak_exact": all(run["peak_exact"] for run in runs)}


# ---------------------------------------------------------------- the table


def versions() -> dict[str, str]:
    import chunkwise
    from bench_normalize import versions as library_versions  # this folder is on sys.path when run as a script

    return {**library_versions(), "backend": chunkwise.backend()}


def summarize(rows: list[dict[str, Any]], functions: list[str], limit: float, timeout: float) -> dict[str, Any]:
    """Per function: seconds/MB, ratio to prose, memory / input; the worst class; PASS/FAIL."""
    verdicts: dict[str, Any] = {}
    for function in functions:
        mine = [r for r in rows if r["function"] == function]
        prose_row = next((r for r in mine if r["class"] == "prose" and "seconds" in r), None)
        prose_rate = prose_row["seconds"] / (prose_row["input_bytes"] / MB) if prose_row else None
        worst_time = worst_memory = None
        for row in mine:
            if "seconds" in row:
                row["seconds_per_mb"] = row["seconds"] / (row["input_bytes"] / MB)
                row["memory_ratio"] = row["peak_delta_bytes"] / row["input_bytes"]
                row["time_ratio"] = row["seconds_per_mb"] / prose_rate if prose_rate else None
            else:  # a timeout or an error counts as a failure at the timeout
                row["seconds_per_mb"] = None
                row["memory_ratio"] = None
                row["time_ratio"] = (timeout / (row["input_bytes"] / MB)) / prose_rate if prose_rate else None
            row["pass"] = (
                "seconds" in row and (row["time_ratio"] or 0) <= limit and row["memory_ratio"] <= limit
            )
            if row["time_ratio"] is not None and (worst_time is None or row["time_ratio"] > worst_time["time_ratio"]):
                worst_time = row
            if row["memory_ratio"] is not None and (worst_memory is None or row["memory_ratio"] > worst_memory["memory_ratio"]):
                worst_memory = row
        verdicts[function] = {
            "prose_seconds_per_mb": prose_rate,
            "worst_time_class": worst_time["class"] if worst_time else None,
            "worst_time_ratio": worst_time["time_ratio"] if worst_time else None,
            "worst_memory_class": worst_memory["class"] if worst_memory else None,
            "worst_memory_ratio": worst_memory["memory_ratio"] if worst_memory else None,
            "pass": all(row["pass"] for row in mine),
        }
    return verdicts


def print_table(rows: list[dict[str, Any]], functions: list[str], classes: list[str], verdicts: dict[str, Any],
                limit: float) -> None:
    def cell(row: dict[str, Any] | None) -> str:
        if row is None:
            return "-"
        if "seconds" not in row:
            return row.get("status", "?")[:18]
        ratio = f"{row['time_ratio']:.1f}x" if row["time_ratio"] is not None else "?"
        return f"{row['seconds_per_mb']:.2f}s {ratio} m{row['memory_ratio']:.1f}x"

    print("\nseconds per MB, ratio to prose, peak memory / input (m)")
    width = 24
    print(f"{'class':<20}" + "".join(f"{f:>{width}}" for f in functions))
    for input_class in classes:
        line = f"{input_class:<20}"
        for function in functions:
            row = next((r for r in rows if r["function"] == function and r["class"] == input_class), None)
            line += f"{cell(row):>{width}}"
        print(line)
    print()
    for function in functions:
        v = verdicts[function]
        time_ratio = f"{v['worst_time_ratio']:.1f}x" if v["worst_time_ratio"] is not None else "?"
        memory_ratio = f"{v['worst_memory_ratio']:.1f}x" if v["worst_memory_ratio"] is not None else "?"
        print(f"{function:<14} worst time {v['worst_time_class']} {time_ratio}, worst memory "
              f"{v['worst_memory_class']} {memory_ratio}: {'PASS' if v['pass'] else 'FAIL'} (limit {limit:g}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=1.0, help="size of each input, in MB of UTF-8")
    parser.add_argument("--big-mb", type=float, default=10.0, help="size of the streamed file (0 skips it)")
    parser.add_argument("--functions", default=",".join(FUNCTIONS))
    parser.add_argument("--classes", default=",".join(INPUT_CLASSES))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per (function, class) run")
    parser.add_argument("--limit", type=float, default=10.0, help="the largest ratio that passes")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of prose, and of any class whose first run is past half the limit; the median counts")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.worker:
        if args.worker[0] == "store":
            print(json.dumps(measure_store(int(float(args.worker[1]) * MB))))
        else:
            print(json.dumps(measure(args.worker[0], args.worker[1], int(float(args.worker[2]) * MB))))
        return

    functions = [f for f in args.functions.split(",") if f]
    classes = [c for c in args.classes.split(",") if c]
    for name in functions:
        if name not in FUNCTIONS:
            raise SystemExit(f"unknown function {name!r}; known: {', '.join(FUNCTIONS)}")
    for name in classes:
        if name not in INPUT_CLASSES:
            raise SystemExit(f"unknown class {name!r}; known: {', '.join(INPUT_CLASSES)}")
    if "prose" not in classes:
        classes.insert(0, "prose")
    info = versions()
    print("versions:", ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"inputs {args.mb:g} MB each, max_tokens={MAX_TOKENS}, compress budget {BUDGET_TOKENS} (fast embedder), "
          f"timeout {args.timeout:g} s, limit {args.limit:g}x")
    rows: list[dict[str, Any]] = []
    for function in functions:
        prose_rate = None
        for input_class in classes:
            outcome = measure_row(function, input_class, args, prose_rate)
            if input_class == "prose" and "seconds" in outcome:
                prose_rate = outcome["seconds"] / (outcome["input_bytes"] / MB)
            rows.append(outcome)
            shown = outcome.get("status", "")
            if "seconds" in outcome:
                runs = outcome["runs"]
                each = f" (median of {len(runs)}: {' '.join(f'{r:.2f}' for r in runs)})" if len(runs) > 1 else ""
                shown = f"{outcome['seconds']:.2f} s{each}, peak +{outcome['peak_delta_bytes'] / MB:.0f} MB"
            print(f"  {function:<14} {input_class:<20} {shown}", flush=True)
    verdicts = summarize(rows, functions, args.limit, args.timeout)
    print_table(rows, functions, classes, verdicts, args.limit)
    references = []
    if "normalize" in functions:
        for input_class in [c for c in REFERENCE_CLASSES if c in classes]:
            outcome = run_child(["ftfy_fix_encoding", input_class, str(args.mb)], args.timeout)
            if isinstance(outcome, str):
                print(f"ftfy.fix_encoding line by line, {input_class}: {outcome}")
                continue
            references.append(outcome)
            rate = outcome["seconds"] / (outcome["input_bytes"] / MB)
            mine = next((r for r in rows if r["function"] == "normalize" and r["class"] == input_class), None)
            versus = f"; normalize {mine['seconds_per_mb']:.2f} s/MB = {mine['seconds_per_mb'] / rate:.2f}x it" if mine and mine.get("seconds_per_mb") else ""
            print(f"limit of normalize on {input_class}: ftfy.fix_encoding line by line {rate:.2f} s/MB{versus}")

    streaming = None
    if args.big_mb > 0:
        outcome = run_child(["store", str(args.big_mb)], max(args.timeout, 60 * args.big_mb))
        if isinstance(outcome, str):
            streaming = {"status": outcome, "input_bytes": int(args.big_mb * MB)}
            print(f"\nprepare_store, one {args.big_mb:g} MB file: {outcome}: FAIL")
        else:
            streaming = outcome
            streaming["memory_ratio"] = outcome["peak_delta_bytes"] / outcome["input_bytes"]
            streaming["seconds_per_mb"] = outcome["seconds"] / (outcome["input_bytes"] / MB)
            streaming["pass"] = streaming["memory_ratio"] <= args.limit
            print(f"\nprepare_store, one {outcome['input_bytes'] / MB:.0f} MB prose file: {outcome['seconds']:.1f} s "
                  f"({streaming['seconds_per_mb']:.2f} s/MB), peak +{outcome['peak_delta_bytes'] / MB:.0f} MB = "
                  f"{streaming['memory_ratio']:.1f}x the file: {'PASS' if streaming['pass'] else 'FAIL'}")
    if args.json:
        result = {"versions": info, "mb": args.mb, "big_mb": args.big_mb, "limit": args.limit, "timeout": args.timeout,
                  "max_tokens": MAX_TOKENS, "budget_tokens": BUDGET_TOKENS, "rows": rows, "verdicts": verdicts, "references": references,
                  "streaming": streaming}
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
