"""Pathological inputs cost a bounded amount of work and memory per character (issue 13, item 5).

Work is counted (characters handed to the tokenizer, pieces made, postings
kept), not timed, so these tests cannot flake; benchmarks/bench_pathological.py
measures the seconds and bytes.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from chunkwise import Document, chunk, get_tokenizer, naive_split
from chunkwise.retrieval._bm25 import BM25, terms
from chunkwise.text.segmentation import _split_long
from chunkwise.text.segmentation import MAX_CLUSTER_STEPS, cluster_safe_cut
from chunkwise.tokens import TOKEN_WINDOW_CHARS, Tokenizer, text_windows, token_windows

SAMPLE = Path(__file__).resolve().parents[1] / "chunkwise" / "data" / "sample"


def _prose(min_chars: int) -> str:
    texts = [path.read_text(encoding="utf-8") for path in sorted(SAMPLE.glob("*.md")) + sorted(SAMPLE.glob("*.txt"))]
    text = "\n\n".join(texts)
    while len(text) < min_chars:
        text += "\n\n" + text
    return text


def _stacks(letters: int, marks_per_letter: int) -> str:
    rng = random.Random(5)
    return "".join(
        rng.choice("aeiou") + "".join(chr(rng.randrange(0x0300, 0x0370)) for _ in range(marks_per_letter))
        for _ in range(letters)
    )


def _counting_tokenizer() -> tuple[Tokenizer, dict[str, int]]:
    """The default tokenizer, counting every character it is handed."""
    base = get_tokenizer()
    seen = {"chars": 0}

    def count_many(texts: list[str]) -> list[int]:
        seen["chars"] += sum(len(text) for text in texts)
        return base.content_count_batch(texts)

    def token_starts(text: str) -> list[int]:
        seen["chars"] += len(text)
        return base.token_starts(text)

    return Tokenizer("counting", count_many, token_starts=token_starts), seen


@pytest.mark.parametrize("marks_per_letter", [1000, 10])
def test_combining_mark_stacks_are_tokenized_a_bounded_number_of_times(marks_per_letter):
    # A letter under 1,000 marks used to be cut into one-character pieces, each found by
    # tokenizing a window of hundreds of characters: ~300 characters tokenized per input character.
    text = _stacks(60_000 // (marks_per_letter + 1), marks_per_letter)
    tokenizer, seen = _counting_tokenizer()
    chunks = chunk(text, max_tokens=128, tokenizer=tokenizer)
    assert "".join(c.text for c in chunks) == text
    assert all(c.token_count <= 128 for c in chunks)
    assert seen["chars"] <= 12 * len(text)
    assert len(chunks) <= 2 * get_tokenizer().count(text) // 128 + 2


@pytest.mark.parametrize("max_tokens", [16, 48])
def test_a_mark_stack_under_a_small_cap_is_cut_into_pieces_of_the_cap(max_tokens):
    # Marks only (no U+034F, which is a starter and ends a stack): under a cap of fewer than
    # 33 characters every cut stepped back to one character after the piece's start, so a
    # letter under 3,000 marks became thousands of one-character chunks, each found by
    # tokenizing a window of its own.
    rng = random.Random(3)
    marks = [chr(code) for code in range(0x0300, 0x0370) if code != 0x034F]
    text = " ".join("a" + "".join(rng.choice(marks) for _ in range(3000)) for _ in range(2))
    tokenizer, seen = _counting_tokenizer()
    chunks = chunk(text, max_tokens=max_tokens, tokenizer=tokenizer)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")
    assert all(c.token_count <= max_tokens for c in chunks)
    assert len(chunks) <= 2 * get_tokenizer().count(text) // max_tokens + 4
    assert seen["chars"] <= 40 * len(text)


def test_cluster_safe_cut_keeps_short_clusters_and_cuts_long_ones():
    text = "ab\u0301\u0302c"
    assert cluster_safe_cut(text, 0, 3) == 1  # not between b and its marks
    emoji = "x\U0001f469\u200d\U0001f4bby"
    assert cluster_safe_cut(emoji, 0, 2) == 1  # not before a joiner
    assert cluster_safe_cut(emoji, 0, 3) == 3  # after a joiner is allowed
    long_stack = "a" + "\u0301" * (4 * MAX_CLUSTER_STEPS)
    assert cluster_safe_cut(long_stack, 0, 3 * MAX_CLUSTER_STEPS) == 3 * MAX_CLUSTER_STEPS
    # A cluster that covers all of (start, cut] is cut where asked, not one character in:
    # stepping back to start + 1 made a piece per character under a small cap.
    assert cluster_safe_cut(long_stack, 0, MAX_CLUSTER_STEPS // 2) == MAX_CLUSTER_STEPS // 2
    assert cluster_safe_cut(long_stack, 5, 5 + MAX_CLUSTER_STEPS // 2) == 5 + MAX_CLUSTER_STEPS // 2
    assert cluster_safe_cut("xy" + long_stack, 0, 10) == 2  # the cluster starts after start: cut before it


def test_compress_splits_a_mark_stack_into_pieces_of_the_limit():
    text = _stacks(30, 1000)
    pieces = _split_long(text, 0, len(text), 600)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(b == c for (_, b), (c, _) in zip(pieces, pieces[1:]))
    assert len(pieces) <= len(text) // 300 + 1  # was one piece per character


def test_text_windows_cover_the_text_and_end_before_a_space():
    text = _prose(3 * TOKEN_WINDOW_CHARS)
    windows = list(text_windows(text, TOKEN_WINDOW_CHARS))
    assert windows[0][0] == 0 and windows[-1][1] == len(text)
    assert all(end == start for (_, end), (start, _) in zip(windows, windows[1:]))
    assert all(0 < end - start <= TOKEN_WINDOW_CHARS for start, end in windows)
    for start, end in windows[:-1]:
        at_seam = text[end] in " \t" and not text[end - 1].isspace()
        # A window ends at its last seam, or (a run with none, as a long JSON line is) at the size.
        assert at_seam or end - start == TOKEN_WINDOW_CHARS  # (text_windows alone has no wide limit)
        assert not re.search(r"\S[ \t]", text[end : start + TOKEN_WINDOW_CHARS + 1])
    assert sum(text[end] in " \t" for _, end in windows[:-1]) >= len(windows) // 2  # prose: mostly at seams
    assert list(text_windows("", 8)) == [(0, 0)]
    assert list(text_windows("x" * 20, 8)) == [(0, 8), (8, 16), (16, 20)]


def test_token_windows_are_sized_in_utf8_bytes():
    """A window of wide characters holds fewer of them: tiktoken's memory follows a piece's bytes."""
    assert list(text_windows("x" * 20, 8, utf8=True)) == [(0, 8), (8, 16), (16, 20)]
    assert list(text_windows("\u00e9" * 20, 8, utf8=True)) == [(0, 4), (4, 8), (8, 12), (12, 16), (16, 20)]
    assert list(text_windows("\u00e9" * 4, 8, utf8=True)) == [(0, 4)]
    emoji = "\U0001f469\u200d\U0001f4bb" * 20_000  # 11 bytes of UTF-8 in 3 characters
    assert all(end - start <= TOKEN_WINDOW_CHARS // 3 for start, end in token_windows(emoji))
    assert max(end - start for start, end in token_windows("abc " * 20_000)) > TOKEN_WINDOW_CHARS * 3 // 4


def test_windowed_token_starts_and_counts_equal_one_call_on_prose():
    tokenizer = get_tokenizer()
    text = _prose(3 * TOKEN_WINDOW_CHARS)
    windowed = np.concatenate(list(tokenizer.token_start_windows(text)))
    whole = np.asarray(tokenizer._token_starts(text))
    np.testing.assert_array_equal(windowed, whole)
    assert tokenizer.estimate_content_count_batch([text, "short"]) == tokenizer.content_count_batch([text, "short"])
    run = "\u4e2d" * (3 * TOKEN_WINDOW_CHARS)  # no seam: close, not exact
    assert abs(tokenizer.estimate_content_count_batch([run])[0] - tokenizer.content_count(run)) <= 4


def test_naive_windows_over_a_long_text_follow_one_tokenization():
    tokenizer = get_tokenizer()
    text = _prose(3 * TOKEN_WINDOW_CHARS)
    starts = tokenizer._token_starts(text)
    windows = naive_split(text, max_tokens=256, overlap=56)
    expected = [int(starts[k]) for k in range(0, len(starts), 200)]
    assert [w.start for w in windows] == expected[: len(windows)]
    assert windows[-1].end == len(text)


def test_the_reports_naive_baseline_reads_a_long_run_window_by_window(monkeypatch):
    """A 1 MB run without a space is one pre-token piece: one call on it held 40 MB in BPE (prepare 44x its input)."""
    import chunkwise
    from chunkwise.chunking.chunker import ChunkConfig, naive_window_tokens

    tokenizer = get_tokenizer()
    longest: list[int] = []
    counting = tokenizer._count_many

    def recording(texts: list[str]) -> list[int]:
        longest.append(max(map(len, texts)))
        return counting(texts)

    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3 * TOKEN_WINDOW_CHARS))
    monkeypatch.setattr(tokenizer, "_count_many", recording)  # the default tokenizer is shared: patched for this test
    windows = naive_window_tokens(text, tokenizer, ChunkConfig(max_tokens=512, strategy="naive"))
    assert max(longest, default=0) <= TOKEN_WINDOW_CHARS
    assert sum(windows) >= len(text) // 4
    longest.clear()
    chunkwise.prepare(text, tokenizer=tokenizer, dedup=False)
    assert max(longest) <= TOKEN_WINDOW_CHARS


def test_bm25_keeps_postings_for_the_query_only_and_groups_add_up():
    sentences = [terms(s) for s in _prose(20_000).split(". ")]
    query = terms("How long are backups kept after an account is deleted?")
    full = BM25(sentences)
    lean = BM25(iter(sentences), vocabulary=frozenset(query))
    assert set(lean._postings) <= set(query) < set(full._postings) | set(query)
    np.testing.assert_array_equal(lean.scores(query), full.scores(query))
    owners = np.arange(len(sentences)) // 7
    groups = [sum(sentences[i : i + 7], []) for i in range(0, len(sentences), 7)]
    np.testing.assert_array_equal(lean.grouped(owners, len(groups)).scores(query), BM25(groups).scores(query))


def test_static_embedder_pools_a_long_text_in_bounded_pieces():
    tokenizers = pytest.importorskip("tokenizers")
    from chunkwise.embedding.embedders import StaticEmbedder
    from support_tokenizers import minilm_tokenizer_path

    tokenizer = tokenizers.Tokenizer.from_file(str(minilm_tokenizer_path()))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    table = np.random.default_rng(3).standard_normal((tokenizer.get_vocab_size(with_added_tokens=True), 8)).astype(np.float32)
    static = StaticEmbedder(table, tokenizer, model_id="random-table")
    from chunkwise.embedding import static as static_module

    # A run without spaces is read whole up to _STATIC_RUN_CHARS (6,000 characters of JSON-like
    # text here, over one 4K piece); longer ones are cut, and the sample's are broken up first.
    run = "".join(f'"k{i}":{i},' for i in range(600))[:6000]
    assert static_module._STATIC_PIECE_CHARS < len(run) < static_module._STATIC_RUN_CHARS
    prose = re.sub(r"\S{2000}", lambda m: m.group() + " ", _prose(2 * TOKEN_WINDOW_CHARS + 100))
    text = prose[: len(prose) // 2] + " " + run + " " + prose[len(prose) // 2 :]
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    expected = table[ids].astype(np.float64).sum(axis=0)
    vectors = static.embed(["short text", text])
    np.testing.assert_allclose(vectors[1], expected / np.linalg.norm(expected), atol=1e-4)


@pytest.mark.parametrize("window", [1, 3, 16, 1 << 16])
def test_document_keys_equal_the_unit_key_without_a_list_of_words(window, monkeypatch):
    # A whole document's key used to be built from text.split(): ten times the document in memory.
    import hashlib
    import sys

    from chunkwise.duplicates import _units

    dedup = sys.modules["chunkwise.duplicates.removal"]
    monkeypatch.setattr(_units, "KEY_WINDOW_CHARS", window)  # where document_key reads it
    rng = random.Random(window)
    for _ in range(500):
        text = "".join(rng.choice(["a", "B", "  ", "\n", "\t", "xyz", " ", "\u00e9", "\x1c"]) for _ in range(rng.randrange(60)))
        key = dedup.normalize_unit(text)
        expected = hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest() if key else None
        assert dedup.document_key(text) == expected
        for length in (0, 1, 5, 30):
            assert dedup.normalized_length_at_least(text, length) == (len(key) >= length)


def test_compress_holds_vectors_only_for_sentences_that_have_one():
    # A zero row per sentence of a 1 MB passage was 1.5 KB per sentence: ten times the text.
    from chunkwise.retrieval.compression import _RowVectors

    vectors = _RowVectors(count=1000, rows=[3, 10], dimension=4)
    assert vectors.vectors.shape == (2, 4)
    vectors.put([3, 10], np.array([[1, 0, 0, 0], [0.6, 0.8, 0, 0]], dtype=np.float32))
    cosine = vectors.cosines(np.array([1, 0, 0, 0], dtype=np.float32))
    assert cosine[3] == 1.0 and cosine[10] == np.float32(0.6) and cosine[0] == np.float32(0.6)  # the lowest found
    similarity = vectors.similarities(10)
    assert similarity[3] == np.float32(0.6) and similarity[10] == 1.0 and not similarity[[0, 500]].any()
    assert not vectors.similarities(0).any()


def test_exact_unit_keys_are_digests_of_the_normalized_unit():
    # Keys held a lower-cased copy of every unit (and str.lower() of the whole document, 12 bytes a character).
    import sys

    dedup = sys.modules["chunkwise.duplicates.removal"]
    text = "Hello  World\nhello world\nHELLO\tWORLD!\nx"
    units = dedup._units([Document("d", text)], [[(0, len(text))]], dedup.line_spans)
    keys = dedup._exact_keys([Document("d", text)], units, min_chars=3)
    assert keys[0] == keys[1] != keys[2] and keys[3] is None
    assert all(len(key) == 16 for key in keys[:3])


def test_prepare_hands_freed_memory_back_between_stages_of_a_large_input(monkeypatch):
    """glibc keeps the pages of freed small objects; a large prepare() trims after each stage, a small one never."""
    import chunkwise
    from chunkwise import _memory

    calls: list[int] = []
    monkeypatch.setattr(_memory, "_malloc_trim", lambda: calls.append)
    monkeypatch.setattr(_memory, "TRIM_MIN_CHARS", 20_000)  # "large", in miniature: the twins' pass stays quick
    chunkwise.prepare(_prose(4_000)[:4_000], dedup=False)
    assert calls == []
    chunkwise.prepare(_prose(30_000)[:30_000])
    assert calls == [0, 0, 0]


def test_a_part_header_is_written_and_read_a_removal_at_a_time_as_one_json_line():
    # A file that is mostly repeats has a header as large as itself: it is written and read
    # entry by entry, and must stay exactly the line json makes of the whole dict.
    import io
    import json

    from chunkwise._types import Removed
    from chunkwise.stores._assembly import _Header
    from chunkwise.stores._engines import _line, _write_header

    rng = random.Random(7)
    for count in (0, 1, 5):
        removed = [Removed(f"d\"{i}", i, i + 3, "exact", "k\u00e9", 0, 3, rng.choice(['a "q" \\', "\u00e9\n\t", "],\"report\":"]),
                           rng.choice([None, 0.5]), rng.choice([None, 4])) for i in range(count)]
        report = {"naive": {"tokens": 3, "notes": ["],\"report\":{"]}, "x": [1, 2.5, None]}
        part = io.BytesIO()
        _write_header(part, 'doc "removed":[ id', 7, removed, report)
        line = part.getvalue()
        assert line == _line({"doc_id": 'doc "removed":[ id', "chunks": 7, "removed": [r.to_dict() for r in removed],
                              "report": report})
        header = _Header(line)
        assert header.chunks == 7
        assert list(header.removals()) == [r.to_dict() for r in removed]
        assert header.report() == report
        assert header.report() == json.loads(line)["report"]  # again, and before the removals are read:
        assert _Header(line).report() == report


def test_the_store_reports_removal_excerpt_reads_only_its_first_words():
    from chunkwise._types import Removed
    from chunkwise.stores._assembly import EXCERPT_CHARS, _StoreReport

    rng = random.Random(11)
    for case in range(300):
        text = "".join(rng.choice(["word ", "x", "\u00a0", "\n\n\n", " " * 50, "\u3000", "\u00e9t\u00e9 "])
                       for _ in range(rng.randrange(0, 3 * EXCERPT_CHARS)))
        report = _StoreReport([], None)
        report.add_example(Removed("d", 0, len(text), "exact", "k", 0, len(text), text, None, 5), case)
        flat = " ".join(text.split())
        expected = flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "\u2026"
        assert report.examples[0][2][4] == expected
