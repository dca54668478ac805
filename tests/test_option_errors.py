"""Bad options and failing user code get chunkwise's own errors, naming what to fix (issue 13, item 8)."""

from __future__ import annotations

import pytest

import chunkwise
from chunkwise.errors import ConfigError, InputTypeError, TokenizerError


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
