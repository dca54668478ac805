"""Throughput and cap-keeping of chunkwise.chunk / naive_split against semchunk, Chonkie and LangChain.

Every method gets the same documents, one call per document, and the same
cl100k_base tiktoken Encoding (chunkwise's default). The corpus is real prose:
Python's pydoc topics, the UD PUD sentences (ar, de, en, th, zh, joined per
document) and the Python 3.11 HTML docs with their tags stripped (Debian's
python3.11-doc); sources are read in sorted order and the whole list is
repeated a fixed number of times only when it falls short of --min-mb.
The limit is timed in the same run: cl100k's own encode of every document
once (one call per document, one core), and encode_ordinary_batch over the
whole corpus with two threads, what any chunker that counts every token exactly
needs at least. A second part times the boundary DP, Cython against its Python
twin, on seeded inputs and checks they agree.

    python benchmarks/bench_chunk.py [--json out.json] [--quick] [--repeat N]

Peers (benchmark only): pip install semchunk chonkie langchain-text-splitters
"""

from __future__ import annotations

import argparse
import html.parser
import json
import math
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

MAX_TOKENS = 512
# The speed target of chunk() (issue 17): this many times Chonkie's RecursiveChunker, same corpus and tokenizer.
TARGET_VS_CHONKIE_RECURSIVE = 1.5
PUD_LANGUAGES = ("ar", "de", "en", "th", "zh")
# Chinese runs sentences together; the others put a space between them.
PUD_JOINERS = {"zh": ""}
HTML_DIR = Path("/usr/share/doc/python3.11/html")
DEFAULT_PUD = Path(__file__).resolve().parents[2] / "shared" / "data" / "pud"
QUICK_BYTES = 1_000_000


# ---------------------------------------------------------------- corpus


@dataclass
class Corpus:
    documents: list[str] = field(default_factory=list)
    parts: dict[str, dict[str, int]] = field(default_factory=dict)
    repetitions: int = 1

    def add(self, source: str, texts: list[str]) -> None:
        texts = [t for t in texts if t.strip()]
        self.documents.extend(texts)
        part = self.parts.setdefault(source, {"documents": 0, "bytes": 0, "chars": 0})
        part["documents"] += len(texts)
        part["bytes"] += sum(len(t.encode("utf-8")) for t in texts)
        part["chars"] += sum(len(t) for t in texts)

    @property
    def bytes(self) -> int:
        return sum(len(t.encode("utf-8")) for t in self.documents)


class _TextOfHtml(html.parser.HTMLParser):
    """Visible text of an HTML page, with a line break around block elements so paragraphs survive."""

    BLOCKS = frozenset(
        "p div h1 h2 h3 h4 h5 h6 li pre tr br dd dt section table ul ol dl blockquote".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.pieces.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    text = re.sub(r"[ \t]+\n", "\n", "".join(parser.pieces))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_pages(root: Path) -> list[Path]:
    """Prose pages of the Python docs, sorted; index pages (lists of links) are left out."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("_") or path.name.startswith(("genindex", "py-modindex", "search")):
            continue
        pages.append(path)
    return pages


def pud_documents(directory: Path) -> dict[str, list[str]]:
    documents: dict[str, list[str]] = {}
    for language in PUD_LANGUAGES:
        path = directory / f"{language}.jsonl"
        if not path.is_file():
            continue
        joiner = PUD_JOINERS.get(language, " ")
        with path.open(encoding="utf-8") as f:
            documents[language] = [
                joiner.join(s.strip() for s in json.loads(line)["sentences"]) for line in f if line.strip()
            ]
    return documents


def every_nth(items: list, keep: float) -> list:
    """A deterministic, evenly spread share ``keep`` (0..1] of ``items``."""
    if keep >= 1.0:
        return list(items)
    step = 1.0 / keep
    return [items[int(i * step)] for i in range(int(len(items) * keep)) if int(i * step) < len(items)]


def build_corpus(pud_dir: Path, html_dir: Path, min_bytes: int, quick: bool) -> Corpus:
    from pydoc_data.topics import topics

    # Quick mode keeps the same mix at about 1/10 of the size.
    keep = 1 / 10 if quick else 1.0
    corpus = Corpus()
    corpus.add("pydoc_data.topics", every_nth([topics[k] for k in sorted(topics)], keep))
    for language, documents in pud_documents(pud_dir).items():
        corpus.add(f"PUD {language}", every_nth(documents, keep))
    if html_dir.is_dir():
        pages = every_nth(html_pages(html_dir), keep)
        corpus.add(f"Python docs HTML ({html_dir})", [html_to_text(p.read_text(encoding="utf-8")) for p in pages])
    if not corpus.documents:
        raise SystemExit("no corpus: pydoc_data, PUD data and the Python HTML docs are all missing")
    size = corpus.bytes
    if size < min_bytes:
        corpus.repetitions = math.ceil(min_bytes / size)
        corpus.documents = corpus.documents * corpus.repetitions
    return corpus


# ---------------------------------------------------------------- methods


@dataclass
class Method:
    name: str
    # Builds a fresh runner (str -> output) so a peer's caches (semchunk memoizes its
    # token counter) never carry over from warm-up or an earlier repeat.
    factory: Callable[[], Callable[[str], Any]]
    texts: Callable[[Any], list[str]]
    # (start, end) per chunk, or None when the method gives no offsets.
    offsets: Callable[[Any], list[tuple[int, int]]] | None


def make_methods(encoding: Any) -> tuple[list[Method], dict[str, str], dict[str, str]]:
    """Every method that can be imported here; the others are reported as skipped."""
    from chunkwise.chunking.chunker import ChunkConfig, chunk, naive_split

    chunk_texts = lambda cs: [c.text for c in cs]  # noqa: E731
    chunk_offsets = lambda cs: [(c.start, c.end) for c in cs]  # noqa: E731
    methods = [
        Method(
            "chunkwise.chunk",
            lambda: lambda t: chunk(t, max_tokens=MAX_TOKENS, tokenizer=encoding),
            chunk_texts,
            chunk_offsets,
        ),
        Method(
            # The previous default (chunks filled to the cap): the speed cost of cutting at every block.
            "chunkwise.chunk (cut_penalty 0.9, previous default)",
            lambda: lambda t: chunk(t, config=ChunkConfig(max_tokens=MAX_TOKENS, cut_penalty=0.9), tokenizer=encoding),
            chunk_texts,
            chunk_offsets,
        ),
        Method(
            "chunkwise.naive_split (default overlap)",
            lambda: lambda t: naive_split(t, max_tokens=MAX_TOKENS, tokenizer=encoding),
            chunk_texts,
            chunk_offsets,
        ),
        Method(
            "chunkwise.naive_split (overlap=0)",
            lambda: lambda t: naive_split(t, max_tokens=MAX_TOKENS, overlap=0, tokenizer=encoding),
            chunk_texts,
            chunk_offsets,
        ),
    ]
    skipped: dict[str, str] = {}
    notes: dict[str, str] = {}
    naive_default_overlap = ChunkConfig(max_tokens=MAX_TOKENS, strategy="naive").effective_naive_overlap
    notes["naive_split default overlap (tokens)"] = str(naive_default_overlap)

    try:
        import semchunk

        def semchunker(**call: Any) -> Callable[[], Callable[[str], Any]]:
            def build() -> Callable[[str], Any]:
                chunker = semchunk.chunkerify(encoding, MAX_TOKENS)
                return lambda t: chunker(t, **call)

            return build

        methods.append(Method("semchunk", semchunker(), lambda cs: cs, None))
        methods.append(Method("semchunk (offsets=True)", semchunker(offsets=True), lambda r: r[0], lambda r: list(r[1])))
        notes["semchunk"] = "chunkerify(encoding, 512), memoize=True (its default), a fresh chunker (cold cache) per timed run"
    except ImportError as err:
        skipped["semchunk"] = str(err)

    try:
        from chonkie import RecursiveChunker, TokenChunker

        chonkie_texts = lambda cs: [c.text for c in cs]  # noqa: E731
        chonkie_offsets = lambda cs: [(c.start_index, c.end_index) for c in cs]  # noqa: E731
        for overlap in (0, naive_default_overlap):
            methods.append(
                Method(
                    f"Chonkie TokenChunker (overlap={overlap})",
                    lambda o=overlap: TokenChunker(tokenizer=encoding, chunk_size=MAX_TOKENS, chunk_overlap=o).chunk,
                    chonkie_texts,
                    chonkie_offsets,
                )
            )
        methods.append(
            Method(
                "Chonkie RecursiveChunker",
                lambda: RecursiveChunker(tokenizer=encoding, chunk_size=MAX_TOKENS).chunk,
                chonkie_texts,
                chonkie_offsets,
            )
        )
        wrapped = type(TokenChunker(tokenizer=encoding, chunk_size=MAX_TOKENS).tokenizer).__name__
        notes["Chonkie"] = f"tokenizer=<the tiktoken Encoding>, wrapped by Chonkie as {wrapped}"
    except ImportError as err:
        skipped["chonkie"] = str(err)

    try:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        # from_tiktoken_encoder would fetch cl100k from the network; this is its length function on our encoding.
        def tiktoken_length(text: str) -> int:
            return len(encoding.encode(text, allowed_special=set(), disallowed_special="all"))

        methods.append(
            Method(
                "LangChain RecursiveCharacterTextSplitter",
                lambda: RecursiveCharacterTextSplitter(
                    chunk_size=MAX_TOKENS, chunk_overlap=0, length_function=tiktoken_length
                ).split_text,
                lambda cs: cs,
                None,
            )
        )
        notes["LangChain"] = "length_function = len(cl100k encode) as from_tiktoken_encoder builds it, chunk_size=512, chunk_overlap=0"
    except ImportError as err:
        skipped["langchain-text-splitters"] = str(err)
    return methods, skipped, notes


def measure(method: Method, documents: list[str], repeat: int, encoding: Any, warmup: str) -> dict[str, Any]:
    method.factory()(warmup)
    best = math.inf
    outputs: list[Any] = []
    for _ in range(repeat):
        run = method.factory()
        outputs = []
        started = time.perf_counter()
        for document in documents:
            outputs.append(run(document))
        best = min(best, time.perf_counter() - started)
    texts = [t for out in outputs for t in method.texts(out)]
    counts = [len(ids) for ids in encoding.encode_ordinary_batch(texts, num_threads=2)] if texts else [0]
    exact: bool | None = None
    bad = 0
    if method.offsets is not None:
        for document, out in zip(documents, outputs):
            for (start, end), text in zip(method.offsets(out), method.texts(out)):
                if document[start:end] != text:
                    bad += 1
        exact = bad == 0
    return {
        "seconds": best,
        "chunks": len(texts),
        "mean_tokens": sum(counts) / max(1, len(texts)),
        "max_tokens": max(counts),
        "over_cap": sum(1 for c in counts if c > MAX_TOKENS),
        "offsets_exact": exact,
        "offset_mismatches": bad if exact is not None else None,
    }


def tokenizer_limit(encoding: Any, documents: list[str], repeat: int) -> dict[str, float]:
    """Seconds cl100k alone takes to encode every document once: per document on one core, and batched on two threads."""
    ways = {
        "cl100k encode, 1 core": lambda: [encoding.encode_ordinary(d) for d in documents],
        "cl100k encode_ordinary_batch, 2 threads": lambda: encoding.encode_ordinary_batch(documents, num_threads=2),
    }
    seconds = {}
    for name, way in ways.items():
        best = math.inf
        for _ in range(repeat):
            started = time.perf_counter()
            way()
            best = min(best, time.perf_counter() - started)
        seconds[name] = best
    return seconds


# ---------------------------------------------------------------- boundary DP


def bench_boundaries(units: int, repeat: int, seed: int = 20240611) -> dict[str, Any]:
    import numpy as np

    from chunkwise._backend import compiled
    from chunkwise.chunking._boundaries import SCORE_SCALE, select_starts

    rng = np.random.default_rng(seed)
    tokens = rng.integers(5, 61, size=units, dtype=np.int64)
    scores = rng.integers(0, SCORE_SCALE, size=units, dtype=np.int64)
    # Documents of 200..5000 units, so the DP restarts as it does on a real batch.
    cuts = [0]
    while cuts[-1] < units:
        cuts.append(min(units, cuts[-1] + int(rng.integers(200, 5001))))
    offsets = np.asarray(cuts, dtype=np.int64)
    kwargs = dict(max_tokens=512, min_tokens=128, cut_penalty=int(0.9 * SCORE_SCALE), underfill_penalty=SCORE_SCALE)
    result: dict[str, Any] = {"units": units, "documents": len(cuts) - 1, "token_range": [5, 60], "seed": seed, **kwargs}
    if compiled("_cboundaries") is None:
        result["error"] = "chunkwise._cboundaries is not built (or CHUNKWISE_PURE_PYTHON is set)"
        return result
    outputs = {}
    for implementation in ("cython", "python"):
        select_starts(tokens[:1000], scores[:1000], np.asarray([0, 1000], dtype=np.int64), implementation=implementation, **kwargs)
        best = math.inf
        for _ in range(repeat):
            started = time.perf_counter()
            outputs[implementation] = select_starts(tokens, scores, offsets, implementation=implementation, **kwargs)
            best = min(best, time.perf_counter() - started)
        result[f"{implementation}_seconds"] = best
    result["ratio"] = result["python_seconds"] / result["cython_seconds"]
    result["identical"] = bool(np.array_equal(outputs["cython"], outputs["python"]))
    result["chunks"] = int(outputs["cython"].sum())
    return result


# ---------------------------------------------------------------- report


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("chunkwise", "numpy", "tiktoken", "semchunk", "chonkie", "chonkie-core", "langchain-text-splitters"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    # The boundary DP runs under OpenMP when built with it; its thread count matters on a small machine.
    try:
        from chunkwise import _cboundaries

        found["chunkwise._cboundaries OpenMP"] = str(_cboundaries.HAVE_OPENMP)
    except ImportError:
        found["chunkwise._cboundaries OpenMP"] = "not built"
    found["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "unset")
    found["cpus"] = str(os.cpu_count())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--quick", action="store_true", help="about 1 MB and a smaller DP; a smoke run")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per method; the best is kept")
    parser.add_argument("--min-mb", type=float, default=10.0, help="repeat the corpus until it has this many MB")
    parser.add_argument("--pud", type=Path, default=DEFAULT_PUD, help="directory of the PUD *.jsonl files")
    parser.add_argument("--html", type=Path, default=HTML_DIR, help="Python HTML docs (apt-get install python3.11-doc)")
    parser.add_argument("--dp-units", type=int, default=None, help="units in the boundary DP micro-benchmark")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    found = versions()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in found.items()))

    from chunkwise.tokens import get_tokenizer

    encoding = get_tokenizer(None).backend  # loaded once, outside every timing
    min_bytes = QUICK_BYTES if args.quick else int(args.min_mb * 1e6)
    started = time.perf_counter()
    corpus = build_corpus(args.pud, args.html, min_bytes, args.quick)
    total_bytes = corpus.bytes
    total_chars = sum(len(d) for d in corpus.documents)
    print(f"\ncorpus: {len(corpus.documents)} documents, {total_bytes / 1e6:.2f} MB UTF-8, {total_chars:,} chars, "
          f"repetitions x{corpus.repetitions} (built in {time.perf_counter() - started:.1f} s)")
    for source, part in corpus.parts.items():
        print(f"  {source:<55} {part['documents']:>5} docs {part['bytes'] / 1e6:>7.3f} MB")
    if not args.html.is_dir():
        print(f"  (no HTML docs at {args.html}; apt-get install -y python3.11-doc for the full corpus)")

    methods, skipped, notes = make_methods(encoding)
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    for name, note in notes.items():
        print(f"note {name}: {note}")
    warmup = corpus.documents[0][:20_000]
    results: dict[str, dict[str, Any]] = {}
    print(f"\ntokenizer cl100k_base for every method, max_tokens={MAX_TOKENS}, best of {args.repeat}\n")
    header = f"{'method':<44} {'seconds':>8} {'MB/s':>7} {'chunks':>7} {'mean tok':>8} {'max tok':>7} {'>cap':>5} {'offsets':>8}"
    print(header)
    print("-" * len(header))
    for method in methods:
        row = measure(method, corpus.documents, args.repeat, encoding, warmup)
        row["mb_per_s"] = total_bytes / 1e6 / row["seconds"]
        results[method.name] = row
        offsets = {True: "exact", False: f"{row['offset_mismatches']} bad", None: "n/a"}[row["offsets_exact"]]
        print(f"{method.name:<44} {row['seconds']:>8.2f} {row['mb_per_s']:>7.2f} {row['chunks']:>7} "
              f"{row['mean_tokens']:>8.1f} {row['max_tokens']:>7} {row['over_cap']:>5} {offsets:>8}", flush=True)

    limit = tokenizer_limit(encoding, corpus.documents, args.repeat)
    for name, seconds in limit.items():
        print(f"{'limit: ' + name:<44} {seconds:>8.2f} {total_bytes / 1e6 / seconds:>7.2f}")

    def ratio(fast: str, slow: str) -> float | None:
        if fast in results and slow in results:
            return results[slow]["seconds"] / results[fast]["seconds"]
        return None

    ratios = {
        "chunk vs semchunk (target >= 1.0)": ratio("chunkwise.chunk", "semchunk"),
        "chunk vs semchunk offsets=True": ratio("chunkwise.chunk", "semchunk (offsets=True)"),
        "naive_split(overlap=0) vs Chonkie TokenChunker(overlap=0) (target >= 1.0)": ratio(
            "chunkwise.naive_split (overlap=0)", "Chonkie TokenChunker (overlap=0)"
        ),
        "naive_split(default) vs Chonkie TokenChunker(same overlap)": ratio(
            "chunkwise.naive_split (default overlap)",
            next((n for n in results if n.startswith("Chonkie TokenChunker (overlap=") and not n.endswith("=0)")), ""),
        ),
        f"chunk vs Chonkie RecursiveChunker (target >= {TARGET_VS_CHONKIE_RECURSIVE:g})": ratio(
            "chunkwise.chunk", "Chonkie RecursiveChunker"),
        "chunk vs LangChain RecursiveCharacterTextSplitter": ratio("chunkwise.chunk", "LangChain RecursiveCharacterTextSplitter"),
    }
    print("\nratios (peer seconds / chunkwise seconds; > 1 means chunkwise is faster)")
    for name, value in ratios.items():
        print(f"  {name:<78} {'n/a' if value is None else f'{value:.2f}x'}")
    # The share of the tokenizer's own rate each exact method reaches (1.0 = as fast as encoding alone).
    to_limit = {
        f"{method} / {name}": limit[name] / results[method]["seconds"]
        for method in ("chunkwise.chunk", "chunkwise.naive_split (overlap=0)", "Chonkie RecursiveChunker")
        if method in results
        for name in limit
    }
    print("\nspeed as a fraction of the limit (limit seconds / method seconds)")
    for name, value in to_limit.items():
        print(f"  {name:<78} {value:.2f}")

    dp_units = args.dp_units or (20_000 if args.quick else 200_000)
    dp = bench_boundaries(dp_units, args.repeat)
    print(f"\nboundary DP: {dp['units']} units in {dp['documents']} documents, tokens 5-60, max 512, min 128, seed {dp['seed']}")
    if "error" in dp:
        print(f"  {dp['error']}")
    else:
        print(f"  cython {dp['cython_seconds'] * 1e3:.1f} ms, python {dp['python_seconds'] * 1e3:.1f} ms, "
              f"ratio {dp['ratio']:.1f}x (target >= 20x), identical outputs: {dp['identical']}, {dp['chunks']} chunks")

    if args.json:
        payload = {
            "versions": found,
            "settings": {"max_tokens": MAX_TOKENS, "repeat": args.repeat, "quick": args.quick, "tokenizer": "cl100k_base"},
            "corpus": {
                "documents": len(corpus.documents),
                "bytes": total_bytes,
                "chars": total_chars,
                "repetitions": corpus.repetitions,
                "parts": corpus.parts,
            },
            "notes": notes,
            "skipped": skipped,
            "methods": results,
            "ratios": ratios,
            "limit_seconds": limit,
            "fraction_of_limit": to_limit,
            "boundary_dp": dp,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
