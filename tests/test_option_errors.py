"""Bad options and failing user code get chunkwise's own errors, naming what to fix (issue 13, item 8)."""

from __future__ import annotations

import pytest

import chunkwise
from chunkwise.errors import ConfigError, InputTypeError, TokenizerError
from chunkwise.tokens import get_tokenizer

from support_tokenizers import wordlevel_with_specials


def _failing_counter(text: str) -> int:
    raise RuntimeError("tokenizer service unavailable")


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: chunkwise.chunk("hello world", doc_id=5), InputTypeError, "doc_id must be a str"),
        (lambda: chunkwise.naive_split("hello world", doc_id=None), InputTypeError, "doc_id must be a str"),
        (lambda: chunkwise.chunk("hello world", special_tokens="yes"), ConfigError, "special_tokens must be True or False"),
        (lambda: chunkwise.naive_split("hello world " * 50, max_tokens=16, overlap=1.5), ConfigError, "int number of tokens"),
        (lambda: chunkwise.compress("q", ["hello"], budget_tokens=10, embedder=False, bogus=1), InputTypeError, "unknown options ['bogus']"),
        (lambda: chunkwise.prepare([{"id": "a", "text": "hi", "metadata": [1, 2, 3]}], report_config=False),
         InputTypeError, "'metadata' must be a dict"),
        (lambda: chunkwise.Document("a", "hi", metadata=[1]), InputTypeError, "metadata must be a mapping"),
        (lambda: chunkwise.chunk("hello world", tokenizer=_failing_counter), TokenizerError, "'_failing_counter' raised RuntimeError"),
        (lambda: get_tokenizer(None, special_tokens="yes"), ConfigError, "special_tokens must be True or False"),
        (lambda: chunkwise.compress("q", ["hello"], budget_tokens=10, embedder=False, special_tokens=1), ConfigError,
         "special_tokens must be True or False"),
    ],
)
def test_bad_options_raise_our_errors(call, error, words):
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)


def test_a_failing_counter_keeps_its_cause():
    with pytest.raises(TokenizerError) as caught:
        chunkwise.naive_split("hello world", tokenizer=_failing_counter)
    assert isinstance(caught.value.__cause__, RuntimeError)


WORDS = [f"w{i}" for i in range(40)]


def test_special_tokens_on_a_tokenizer_object_are_kept():
    """A Tokenizer built with special_tokens=True keeps counting them in chunk and compress (34 tokens under 32 before)."""
    counter = get_tokenizer(wordlevel_with_specials(WORDS), special_tokens=True)
    text = " ".join(WORDS[:32] * 3)
    for call in (chunkwise.chunk, chunkwise.naive_split):
        pieces = call(text, max_tokens=32, tokenizer=counter)
        assert pieces and all(c.token_count <= 32 for c in pieces)
        assert max(counter.count(c.text) for c in pieces) <= 32
        assert all(counter.count(c.text) == c.token_count for c in pieces)
    passages = [" ".join(WORDS[i : i + 10]) + " ." for i in range(0, 30, 10)]
    squeezed = chunkwise.compress("w1 w2", passages, budget_tokens=12, tokenizer=counter, embedder=False)
    assert squeezed.tokens_after <= 12 and counter.count(squeezed.text) == squeezed.tokens_after


def test_compress_counts_special_tokens_when_asked():
    raw = wordlevel_with_specials(WORDS)
    passages = [" ".join(WORDS[i : i + 10]) for i in range(0, 30, 10)]
    plain = chunkwise.compress("w1", passages, budget_tokens=10, tokenizer=raw, embedder=False)
    framed = chunkwise.compress("w1", passages, budget_tokens=10, tokenizer=raw, embedder=False, special_tokens=True)
    with_specials = get_tokenizer(raw, special_tokens=True)
    assert with_specials.count(plain.text) > 10  # the plain budget fills all ten with text
    assert with_specials.count(framed.text) <= 10


def test_keywords_override_a_config_everywhere():
    """Issue 15: one rule for options. ``chunk(text, max_tokens=64, config=ChunkConfig(max_tokens=512))``
    returned 510-token chunks (the keyword was silently dropped) and ``compress`` refused config with
    keywords; now keywords override the config, as for normalize, dedup and batch, and a keyword left
    at its default keeps the config's value."""
    from chunkwise import ChunkConfig, CompressConfig
    from chunkwise.tokens import get_tokenizer

    text = " ".join(f"Sentence number {i} says something about topic {i % 7}." for i in range(400))
    config = ChunkConfig(max_tokens=512, cut_penalty=0.9)
    counter = get_tokenizer(None)
    overridden = chunkwise.chunk(text, max_tokens=64, config=config)
    assert max(c.token_count for c in overridden) <= 64 and len(overridden) > 20
    kept = chunkwise.chunk(text, config=config)
    assert max(c.token_count for c in kept) > 64  # max_tokens left at its default: the config's 512
    assert [c.text for c in kept] == [c.text for c in chunkwise.chunk(text, max_tokens=512, config=config)]
    prepared = chunkwise.prepare(text, max_tokens=64, config=config, report_config=False)
    assert max(counter.count(c.text) for c in prepared.chunks) <= 64

    passages = [text[:4000]]
    strict = CompressConfig(min_relevance=1.0)  # every query term must match: "zebra" never does
    assert chunkwise.compress("zebra topic 3", passages, budget_tokens=60, embedder=False, config=strict).text == ""
    relaxed = chunkwise.compress("zebra topic 3", passages, budget_tokens=60, embedder=False, config=strict,
                                 min_relevance=None)
    assert relaxed.text and relaxed.tokens_after <= 60


def test_every_error_class_is_exported():
    """Issue 15: none of the error classes were in ``__all__``; a user catching ``ConfigError`` had to
    know it lives in ``chunkwise.errors``."""
    import inspect

    from chunkwise import errors

    ours = {name for name, value in vars(errors).items()
            if inspect.isclass(value) and issubclass(value, (errors.ChunkwiseError, errors.ChunkwiseWarning))}
    assert len(ours) >= 12
    assert ours <= set(chunkwise.__all__)
    assert all(getattr(chunkwise, name) is getattr(errors, name) for name in ours)
