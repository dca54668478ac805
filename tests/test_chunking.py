"""chunk() and naive_split(): exact offsets, the hard cap, bad input, both backends."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chunkwise
from chunkwise import ChunkConfig, chunk, get_tokenizer, naive_split
from chunkwise.errors import ConfigError, InputTypeError, TokenizerNotFoundError

from support_tokenizers import llama3_tokenizer_path, wordlevel_with_specials

PROSE = (
    "# Storage\n\nThe cluster keeps three replicas of every block. When a node fails, the "
    "coordinator schedules re-replication within a minute. Operators can watch progress on "
    "the dashboard.\n\n## Limits\n\n- Each volume holds at most 64 TiB.\n- Snapshots are "
    "incremental.\n\n```bash\nnwctl volume create --size 10T\nnwctl volume list\n```\n\n"
    "Older releases used a different layout; see the migration guide for details.\n\n"
) * 8


def _check(text, chunks, max_tokens, tokenizer=None, *, indexes=True):
    counter = get_tokenizer(tokenizer)
    for index, c in enumerate(chunks):
        assert text[c.start : c.end] == c.text
        assert c.index == index or not indexes
        assert c.token_count <= max_tokens
        assert c.token_count == counter.count(c.text)


@pytest.mark.parametrize("max_tokens", [16, 64, 256, 512])
def test_offsets_and_cap(max_tokens, implementation, monkeypatch):
    if implementation == "python":
        monkeypatch.setenv("CHUNKWISE_PURE_PYTHON", "1")
    chunks = chunk(PROSE, max_tokens=max_tokens)
    _check(PROSE, chunks, max_tokens)
    # Nothing lost: every non-space character is inside exactly one chunk.
    covered = "".join(c.text for c in chunks)
    assert "".join(covered.split()) == "".join(PROSE.split())


def test_backends_give_identical_chunks(monkeypatch):
    compiled = chunk(PROSE, max_tokens=64)
    monkeypatch.setenv("CHUNKWISE_PURE_PYTHON", "1")
    twin = chunk(PROSE, max_tokens=64)
    assert [(c.start, c.end, c.id) for c in compiled] == [(c.start, c.end, c.id) for c in twin]


def test_headings_stay_with_their_body():
    chunks = chunk(PROSE, max_tokens=64)
    for c in chunks:
        assert not c.text.rstrip().endswith(("# Storage", "## Limits")), c.text


def test_cuts_prefer_structure():
    paragraphs = [f"Paragraph {i} says something. It has two sentences." for i in range(40)]
    text = "\n\n".join(paragraphs)
    chunks = chunk(text, max_tokens=60)
    for c in chunks:
        assert c.text.startswith("Paragraph") and c.text.endswith("sentences."), c.text


def test_deterministic_ids():
    first = chunk(PROSE, max_tokens=64, doc_id="a")
    second = chunk(PROSE, max_tokens=64, doc_id="a")
    other = chunk(PROSE, max_tokens=64, doc_id="b")
    assert [c.id for c in first] == [c.id for c in second]
    assert {c.id for c in first}.isdisjoint(c.id for c in other)


def test_overlap_repeats_whole_units_within_cap():
    chunks = chunk(PROSE, max_tokens=64, overlap=16)
    _check(PROSE, chunks, 64)
    overlapping = sum(1 for a, b in zip(chunks, chunks[1:]) if b.start < a.end)
    assert overlapping > 0


def test_overlap_reaches_back_into_the_previous_chunk_only():
    # 'aa' and 'bbbbbb' both fit the overlap, but the third chunk may repeat only the
    # second: reaching past it put chunks out of order where a tokenizer's counts do
    # not add up (fuzzer, MiniLM on emoji beside a form feed).
    text = "aa\n\nbbbbbb\n\ncccccc"
    chunks = chunk(text, max_tokens=20, overlap=10, min_tokens=1, tokenizer=len)
    assert [(c.start, c.end) for c in chunks] == [(0, 2), (0, 10), (4, 18)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(
        st.sampled_from(["alpha", "beta.", "Gamma", "δέλτα", "数据。", "ไทย", "\n", "\n\n", "# H", "- x", "x" * 40, "🙂", "e\u0301"]),
        max_size=200,
    ),
    max_tokens=st.integers(8, 80),
)
def test_invariants_on_random_text(words, max_tokens):
    text = " ".join(words)
    chunks = chunk(text, max_tokens=max_tokens)
    _check(text, chunks, max_tokens)
    assert "".join("".join(c.text for c in chunks).split()) == "".join(text.split())


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t  \n"])
def test_empty_and_whitespace_give_no_chunks(text):
    assert chunk(text) == []
    assert naive_split(text) == [] or all(not c.text.strip() for c in naive_split(text))


@pytest.mark.parametrize("bad", [None, b"bytes", 42, 3.5, ["a list"]])
def test_wrong_types_name_what_is_accepted(bad):
    with pytest.raises(TypeError, match="must be a str"):
        chunk(bad)
    with pytest.raises(InputTypeError):
        naive_split(bad)


def test_bytes_error_says_decode():
    with pytest.raises(InputTypeError, match="decode"):
        chunk(b"abc")


def test_lone_surrogates_survive():
    text = "Broken \ud800 surrogate. Another \udfff one here. " * 30
    chunks = chunk(text, max_tokens=16)
    _check(text, chunks, 16)
    assert "\ud800" in "".join(c.text for c in chunks)


def test_max_tokens_below_special_tokens():
    words = "a b c d e f g h".split()
    tokenizer = wordlevel_with_specials(words)
    with pytest.raises(ValueError, match="special tokens"):
        chunk("a b c", max_tokens=2, tokenizer=tokenizer, special_tokens=True)
    chunks = chunk(" ".join(words * 20), max_tokens=10, tokenizer=tokenizer, special_tokens=True)
    assert chunks and all(c.token_count <= 10 for c in chunks)
    assert all(c.token_count == len(c.text.split()) + 2 for c in chunks)


def test_min_tokens_above_max_tokens():
    with pytest.raises(ConfigError, match="min_tokens=600 is larger than max_tokens=512"):
        chunk("text", min_tokens=600)


@pytest.mark.parametrize("kwargs", [{"max_tokens": 0}, {"max_tokens": "512"}, {"overlap": -1}, {"overlap": 512}, {"strategy": "magic"}])
def test_bad_config_values(kwargs):
    with pytest.raises(ConfigError):
        chunk("text", **kwargs)


def test_unknown_tokenizer_name():
    with pytest.raises(TokenizerNotFoundError, match="tokenizer.json"):
        chunk("text", tokenizer="gpt-17-ultra")


def test_callable_tokenizer_meets_cap():
    text = PROSE * 3
    count = lambda s: (len(s) + 3) // 4  # noqa: E731
    chunks = chunk(text, max_tokens=50, tokenizer=count)
    assert all(c.token_count <= 50 and c.token_count == count(c.text) for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_llama3_tokenizer_meets_cap():
    path = str(llama3_tokenizer_path())
    chunks = chunk(PROSE, max_tokens=40, tokenizer=path)
    _check(PROSE, chunks, 40, tokenizer=path)


def test_single_line_of_10_megabytes():
    random.seed(3)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789{}:,\""
    text = "".join(random.choices(alphabet, k=10_000_000))
    chunks = chunk(text, max_tokens=512)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:]))  # no spaces: pieces tile the line
    assert max(c.token_count for c in chunks) <= 512
    sample = chunks[:: max(1, len(chunks) // 50)]
    _check(text, sample, 512, indexes=False)


def test_naive_split_windows_and_overlap():
    counter = get_tokenizer()
    chunks = naive_split(PROSE, max_tokens=64, overlap=16)
    for c in chunks:
        assert PROSE[c.start : c.end] == c.text and c.token_count <= 64
        assert c.token_count == counter.count(c.text)
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))
    assert chunks[-1].end == len(PROSE) and chunks[0].start == 0
    assert sum(c.token_count for c in chunks) > counter.count(PROSE)


def test_naive_split_default_overlap_is_a_fifth():
    assert ChunkConfig(max_tokens=500).effective_naive_overlap == 100
    no_overlap = naive_split(PROSE, max_tokens=64, overlap=0)
    assert all(a.end == b.start for a, b in zip(no_overlap, no_overlap[1:]))


def test_naive_split_with_callable_counter():
    count = lambda s: len(s.split())  # noqa: E731
    chunks = naive_split(PROSE, max_tokens=20, overlap=4, tokenizer=count)
    assert all(c.token_count <= 20 and PROSE[c.start : c.end] == c.text for c in chunks)
    assert chunks[-1].end == len(PROSE)


def test_public_surface():
    for name in ("prepare", "chunk", "naive_split", "Chunk", "Document", "backend"):
        assert name in chunkwise.__all__


def _paragraph(topic: str, sentences: int) -> str:
    return " ".join(f"The {topic} sentence number {n} adds one more plain statement." for n in range(sentences))


def test_a_chunk_per_paragraph_when_paragraphs_are_big_enough():
    paragraphs = [_paragraph(topic, 13) for topic in ("harbour", "orchard", "glacier")]
    text = "\n\n".join(paragraphs)
    tokenizer = get_tokenizer(None)
    assert all(tokenizer.count(p) >= 512 // 4 for p in paragraphs)
    chunks = chunk(text, max_tokens=512)  # all three would fit in one chunk
    assert [c.text for c in chunks] == paragraphs


def test_short_paragraphs_merge_and_long_ones_are_cut_at_sentences():
    short = [f"Note {n} is short." for n in range(6)]
    text = "\n\n".join(short)
    assert [c.text for c in chunk(text, max_tokens=128)] == [text]  # each under min_tokens (32): one chunk
    long = _paragraph("river", 40)
    chunks = chunk(long, max_tokens=128)
    assert len(chunks) > 1
    assert all(c.text.endswith(".") for c in chunks)  # cut between sentences only
    assert all(c.token_count <= 128 for c in chunks)


def test_cut_penalty_above_paragraphs_fills_to_the_cap():
    """The 0.1 behaviour stays one option away: a cost above a paragraph break packs paragraphs."""
    text = "\n\n".join(_paragraph(topic, 13) for topic in ("harbour", "orchard", "glacier"))
    packed = chunk(text, config=ChunkConfig(max_tokens=512, cut_penalty=0.9))
    assert len(packed) == 1 and packed[0].text == text


@pytest.mark.parametrize("overlap", [0, 4])
def test_naive_split_loses_no_text_where_windows_are_cut_back(overlap):
    """Random CJK at a small cap: re-counting a window can force it shorter; the next one must start there."""
    rng = random.Random(7)
    text = "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(3000))
    chunks = naive_split(text, max_tokens=16, overlap=overlap)
    covered = set()
    for c in chunks:
        assert text[c.start : c.end] == c.text and c.token_count <= 16
        covered.update(range(c.start, c.end))
    assert covered == set(range(len(text)))
    starts = [c.start for c in chunks]
    assert starts == sorted(set(starts))  # every window starts after the previous one



def test_naive_split_never_repeats_a_window_when_tokens_share_a_character():
    """Fuzzer counterexample: overlap = cap - 1 steps one token, and U+2028 is several byte-level tokens."""
    text = "\u2028a rnxpxgvfzttbKvhtymr " + "caf\u00e9 \u2028 " * 20
    chunks = naive_split(text, max_tokens=15, overlap=14)
    starts = [c.start for c in chunks]
    assert starts == sorted(set(starts))
    assert len({c.id for c in chunks}) == len(chunks)
    assert chunks[-1].end == len(text.rstrip()) or chunks[-1].end == len(text)

@pytest.mark.parametrize("split", [chunk, naive_split])
def test_a_cap_no_single_character_meets_is_an_error_not_a_hang(split):
    def counter_with_overhead(text: str) -> int:
        return len(text) // 4 + 20  # every text, even one character, counts over 16

    with pytest.raises(ConfigError, match="cannot be met"):
        split("hello world " * 30, max_tokens=16, tokenizer=counter_with_overhead)
    # The same counter with room for its overhead works.
    chunks = split("hello world " * 30, max_tokens=64, tokenizer=counter_with_overhead)
    assert chunks and all(c.token_count <= 64 for c in chunks)


def test_chunk_documents_takes_what_chunk_takes():
    """Issue 15: chunk_documents alone needed a resolved Tokenizer and a ChunkConfig; now it takes any
    tokenizer get_tokenizer accepts, and a config only when the defaults will not do."""
    from chunkwise import ChunkConfig, Document, chunk, chunk_documents

    text = " ".join(f"Line {i} of a document about retrieval and chunking." for i in range(200))
    documents = [Document("a", text), Document("b", text[:500])]
    by_default = chunk_documents(documents)
    assert [len(chunks) for chunks in by_default] == [len(chunk(text)), len(chunk(text[:500]))]
    assert [c.text for c in by_default[0]] == [c.text for c in chunk(text, doc_id="a")]
    by_name = chunk_documents(documents, "cl100k_base", ChunkConfig(max_tokens=64))
    assert [c.text for c in by_name[0]] == [c.text for c in chunk(text, max_tokens=64, doc_id="a")]
    by_callable = chunk_documents(documents, lambda s: len(s.split()), ChunkConfig(max_tokens=40))
    assert all(len(c.text.split()) <= 40 for chunks in by_callable for c in chunks)
    with pytest.raises(InputTypeError, match="ChunkConfig"):
        chunk_documents(documents, None, {"max_tokens": 64})


@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("which", ["cl100k", "wordlevel", "callable"])
def test_naive_window_tokens_are_the_naive_windows_counts(which, special):
    # The report's baseline lengths take a shortcut for a text within one window: it must give
    # exactly the counts of naive_split's windows, for every tokenizer and overlap.
    from chunkwise.chunking.chunker import naive_window_tokens

    name = {"cl100k": None, "wordlevel": wordlevel_with_specials(["a", "b", "word", "hello", "中"]), "callable": lambda s: len(s) // 4 + (1 if s else 0)}[which]
    if which == "callable" and special:
        pytest.skip("a callable has no special tokens")
    tokenizer = get_tokenizer(name, special_tokens=special)
    rng = random.Random(11)
    pieces = ["a", "b", " ", "\n", "word ", "é", "\U0001f600", "\u200d", "\u0301", "中", "\t", ".", "\ufeff", "hello "]
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 60)))
        config = ChunkConfig(max_tokens=rng.choice([16, 24, 40]), strategy="naive", naive_overlap=rng.choice([0, 2, 5]))
        windows = naive_split(text, max_tokens=config.max_tokens, overlap=config.naive_overlap, tokenizer=tokenizer)
        assert naive_window_tokens(text, tokenizer, config) == [c.token_count for c in windows], repr(text)
