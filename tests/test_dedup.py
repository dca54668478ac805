"""dedup(): overlap stitching, exact/near/boilerplate removal, nothing lost, both backends identical."""

from __future__ import annotations

import gzip
import json
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chunkwise._backend import compiled
from chunkwise._types import Document
from chunkwise.duplicates.removal import DedupConfig, dedup, paragraph_spans, select_units, sentence_spans, stitch_overlaps
from chunkwise.errors import ConfigError, InputDataError

ONLY_OVERLAP = dict(
    exact_documents=False, boilerplate=False, near_documents=False, exact_paragraphs=False,
    exact_sentences=False, near_paragraphs=False,
)


def collapse(text: str) -> str:
    return " ".join(text.split())


def assert_nothing_lost(result, documents):
    """Kept pieces and removed spans tile every document exactly; every removal points at real text."""
    by_id = {d.id: d for d in documents}
    removed_by_doc: dict[str, list[tuple[int, int]]] = {}
    for entry in result.removed:
        text = by_id[entry.doc_id].text
        assert entry.text == text[entry.start : entry.end]
        assert entry.start < entry.end
        kept_text = by_id[entry.kept_doc_id].text
        assert 0 <= entry.kept_start < entry.kept_end <= len(kept_text)
        if entry.reason in ("exact", "boilerplate"):
            assert collapse(entry.text).lower() == collapse(kept_text[entry.kept_start : entry.kept_end]).lower()
        if entry.reason == "overlap":
            assert collapse(kept_text[entry.kept_start : entry.kept_end]) == collapse(entry.text)
        if entry.reason == "near":
            assert entry.similarity is not None and 0 < entry.similarity <= 1
        removed_by_doc.setdefault(entry.doc_id, []).append((entry.start, entry.end))
    assert [d.doc_id for d in result.documents] == [d.id for d in documents]
    for kept in result.documents:
        spans = sorted(list(kept.kept) + removed_by_doc.get(kept.doc_id, []))
        cursor = 0
        for start, end in spans:
            assert start == cursor, (kept.doc_id, spans)
            assert end > start
            cursor = end
        assert cursor == len(by_id[kept.doc_id].text)
    assert result.kept_chars + sum(s.chars for s in result.summary.values()) == result.input_chars


# ----------------------------------------------------------------------------- overlap stitching


def _reference_border(tail: str, head: str) -> int:
    """Brute force: longest L with tail.endswith(head[:L])."""
    for length in range(min(len(tail), len(head)), 0, -1):
        if tail.endswith(head[:length]):
            return length
    return 0


def _windows(source: str, width: int, max_fraction: float, rng: random.Random) -> list[tuple[int, int]]:
    """Windows with 0-max_fraction overlap whose seams are unambiguous (the true overlap is the longest border)."""
    windows = []
    start = 0
    while True:
        end = min(len(source), start + width)
        windows.append((start, end))
        if end >= len(source):
            return windows
        for _ in range(20):
            overlap = int(width * rng.uniform(0, max_fraction))
            tail = collapse(source[start:end])
            head = collapse(source[end - overlap : end + width])
            expected = len(collapse(source[end - overlap : end])) if overlap else 0
            border = _reference_border(tail.rstrip(), head)
            if (overlap == 0 and border < 32) or (expected >= 40 and border in (expected, expected - 1)):
                break
        else:
            overlap = 0
        start = end - overlap


def _prose() -> str:
    import pydoc_data.topics

    return "\n\n".join(body for _, body in sorted(pydoc_data.topics.topics.items()))


@pytest.mark.parametrize("seed", range(4))
def test_windows_from_real_text_stitch_back_exactly(seed):
    rng = random.Random(seed)
    text = _prose()
    for _ in range(15):
        begin = rng.randrange(0, len(text) - 30_000)
        width = rng.randrange(400, 4000)
        source = text[begin : begin + rng.randrange(width, 20_000)]
        windows = _windows(source, width, 0.5, rng)
        docs = [{"id": f"w{i}", "text": source[a:b], "source": "book"} for i, (a, b) in enumerate(windows)]
        result = dedup(docs, **ONLY_OVERLAP)
        assert "".join(d.text for d in result.documents) == source
        assert all(entry.reason == "overlap" for entry in result.removed)
        assert_nothing_lost(result, [Document(d["id"], d["text"], {"source": "book"}) for d in docs])


def _noisy_seams(source: str, width: int, rng: random.Random) -> list[str]:
    """Windows cut at whitespace, 10-50% overlap, with extra whitespace added at both sides of each seam."""
    spaces = [m.start() for m in re.finditer(r"\s", source)]
    windows = []
    start = 0
    while True:
        end = next((p for p in spaces if p >= start + width), len(source))
        window = source[start:end]
        if windows:
            window = rng.choice([" ", "\n", "  \t", "\n\n"]) + window
        if end < len(source):
            window += rng.choice([" ", "\n", " \n  ", "\t"])
        windows.append(window)
        if end >= len(source):
            return windows
        target = end - int(width * rng.uniform(0.1, 0.5))
        start = next(p for p in spaces if p >= target) + 1


def test_whitespace_noise_at_seams_is_tolerated():
    rng = random.Random(7)
    text = _prose()
    prose_paragraphs = [p for p in text.split("\n\n") if not p.startswith(" ") and len(p) > 200]
    for _ in range(20):
        start = rng.randrange(len(prose_paragraphs) - 40)
        source = "\n\n".join(prose_paragraphs[start : start + 30])
        windows = _noisy_seams(source, rng.randrange(500, 3000), rng)
        result = dedup(windows, groups=["one"] * len(windows), **ONLY_OVERLAP)
        stitched = "".join(d.text for d in result.documents)
        assert collapse(stitched) == collapse(source)
        assert re.sub(r"\s", "", stitched) == re.sub(r"\s", "", source)
        assert len(result.removed) >= len(windows) - 1


def test_shared_data_passages_windowed(shared_data):
    path = shared_data / "nq" / "nq_open_oracle_dev.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} is not present")
    import ast

    passages = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            ctxs = row["ctxs"] if isinstance(row["ctxs"], list) else ast.literal_eval(row["ctxs"])
            passages.extend(ctx["text"] for ctx in ctxs)
            if len(passages) >= 120:
                break
    rng = random.Random(11)
    source = "\n\n".join(passages)
    docs = []
    for group in range(3):
        begin = rng.randrange(0, len(source) // 2)
        piece = source[begin : begin + 15_000]
        windows = _windows(piece, 1200, 0.5, rng)
        docs.extend({"id": f"g{group}-{i}", "text": piece[a:b], "source_id": group} for i, (a, b) in enumerate(windows))
    result = dedup(docs, **ONLY_OVERLAP)
    for group in range(3):
        prefix = f"g{group}-"
        stitched = "".join(d.text for d in result.documents if d.doc_id.startswith(prefix))
        original_windows = [d["text"] for d in docs if d["id"].startswith(prefix)]
        assert stitched.startswith(original_windows[0])
        assert len(stitched) < sum(map(len, original_windows)) or len(original_windows) == 1


def test_overlap_only_within_a_source_and_chains_point_at_kept_text():
    a = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu."
    windows = [a[0:40], a[10:55], a[20:]]
    result = dedup(
        [{"id": "x0", "text": windows[0], "source": "s"}, {"id": "y", "text": windows[1]},
         {"id": "x1", "text": windows[1], "source": "s"}, {"id": "x2", "text": windows[2], "source": "s"}],
        **ONLY_OVERLAP, min_overlap_chars=10,
    )
    assert [d.text for d in result.documents] == [windows[0], windows[1], a[40:55], a[55:]]
    # x2 repeats text kept by x0 (positions 20-40) and by x1 (40-55): one entry per kept copy.
    x2 = [e for e in result.removed if e.doc_id == "x2"]
    assert [(e.kept_doc_id, e.text) for e in x2] == [("x0", a[20:40]), ("x1", a[40:55])]
    assert stitch_overlaps([{"id": "p", "text": windows[0]}, {"id": "q", "text": windows[1]}], groups=[1, 1], min_overlap_chars=10)[0].end == 30


def test_periodic_text_stitches_in_linear_time():
    import time

    window = "ab" * 20_000
    result = dedup([window, window[2:] + "c"], groups=[0, 0], **ONLY_OVERLAP)
    assert result.documents[1].text == "c"
    # Many near-miss candidate seams: the prefix-function fallback keeps it linear.
    started = time.perf_counter()
    result = dedup([window, "ab" * 500 + "X" + "ab" * 20_000], groups=[0, 0], **ONLY_OVERLAP)
    assert time.perf_counter() - started < 2.0
    assert result.documents[1].text.startswith("X")
    # An overlap longer than max_overlap_chars is stitched up to the limit only.
    result = dedup([window, window[2:]], groups=[0, 0], max_overlap_chars=1000, **ONLY_OVERLAP)
    assert len(result.documents[1].text) == len(window) - 2 - 1000


# ----------------------------------------------------------------------------- exact, boilerplate, near


def test_exact_paragraphs_and_sentences_first_occurrence_kept():
    shared = "The committee approved the annual budget after a long debate."
    docs = [
        f"Intro one is unique to this document.\n\n{shared}\n\nYes.",
        f"Second doc opens differently here.\n\n  the committee   APPROVED the annual budget after a long debate.\n\nYes.",
        f"A paragraph with two sentences. {shared} And a closing remark here.",
    ]
    result = dedup(docs, boilerplate=False, near_documents=False, near_paragraphs=False)
    exact = [e for e in result.removed if e.reason == "exact"]
    assert [(e.doc_id, e.kept_doc_id) for e in exact] == [("doc-1", "doc-0"), ("doc-2", "doc-0")]
    assert all(docs[0][e.kept_start : e.kept_end] == shared for e in exact)
    assert result.documents[0].text == docs[0]
    assert "Yes." in result.documents[1].text  # below min_unit_chars
    assert result.documents[2].text == "A paragraph with two sentences. And a closing remark here."
    assert_nothing_lost(result, [Document(f"doc-{i}", t) for i, t in enumerate(docs)])


def test_boilerplate_lines_need_enough_documents():
    footer = "Copyright 2024 Example Corp. All rights reserved."
    docs = [f"Page {i} has its own distinct body text number {i * 7}.\n{footer}" for i in range(10)]
    docs.append("A rare line shared by two documents only.\nUnique ending for ten.")
    docs.append("A rare line shared by two documents only.\nUnique ending for eleven.")
    result = dedup(docs, exact_sentences=False, near_paragraphs=False, near_documents=False, boilerplate_min_docs=3)
    boiler = [e for e in result.removed if e.reason == "boilerplate"]
    assert len(boiler) == 9 and all(e.kept_doc_id == "doc-0" for e in boiler)
    assert "A rare line" in result.documents[11].text
    with pytest.raises(ConfigError):
        DedupConfig(boilerplate_min_fraction=1.5)


def test_near_duplicate_paragraphs_report_real_jaccard():
    from tests.test_minhash import _reference_shingles

    base = ("The river flooded the lower town in early spring, and the council voted to build "
            "a new levee along the eastern bank before the next rainy season began in earnest.")
    edited = base.replace("early spring", "late spring").replace("eastern bank", "eastern shore")
    other = "Completely different text about compilers, parsers and the grammar of programming languages today."
    result = dedup([base, other, edited], threshold=0.5, near_documents=False, exact_sentences=False)
    near = [e for e in result.removed if e.reason == "near"]
    assert len(near) == 1 and near[0].doc_id == "doc-2" and near[0].kept_doc_id == "doc-0"
    a, b = _reference_shingles(base, 3), _reference_shingles(edited, 3)
    assert near[0].similarity == pytest.approx(len(a & b) / len(a | b))
    strict = dedup([base, other, edited], threshold=0.95, near_documents=False)
    assert not [e for e in strict.removed if e.reason == "near"]


def test_near_duplicate_documents_removed_whole():
    text = _prose()[:4000]
    variant = text.replace("the", "a", 3)
    result = dedup([text, variant], threshold=0.8)
    assert result.documents[1].text.strip() == ""
    assert {e.reason for e in result.removed} == {"near"}
    assert_nothing_lost(result, [Document("doc-0", text), Document("doc-1", variant)])


# ----------------------------------------------------------------------------- invariants


PARAGRAPHS = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Prices rose sharply in the third quarter. Analysts expected a slowdown.",
    "Copyright notice: all rights reserved by the publisher of this page.",
    "Short.",
    "The quick brown fox leaps over the lazy dog near the river bank today.",
    "Parsers turn a stream of tokens into a tree. Compilers then walk it.",
]


@st.composite
def corpora(draw):
    docs = []
    for index in range(draw(st.integers(1, 6))):
        parts = draw(st.lists(st.sampled_from(PARAGRAPHS), max_size=5))
        separators = draw(st.lists(st.sampled_from(["\n\n", "\n", " ", "\n \n\t", "  "]), min_size=len(parts), max_size=len(parts)))
        text = draw(st.sampled_from(["", " ", "\n"])) + "".join(p + s for p, s in zip(parts, separators))
        docs.append({"id": f"d{index}", "text": text, "source": draw(st.sampled_from(["a", "b", None]))})
    return docs


@settings(max_examples=60, deadline=None)
@given(corpora(), st.sampled_from([0.5, 0.8, 1.0]))
def test_nothing_lost_and_backends_identical(docs, threshold):
    for doc in docs:
        if doc["source"] is None:
            del doc["source"]
    options = dict(threshold=threshold, min_overlap_chars=8, boilerplate_min_docs=2)
    python = dedup(docs, implementation="python", **options)
    assert_nothing_lost(python, [Document(d["id"], d["text"], {k: v for k, v in d.items() if k == "source"}) for d in docs])
    if compiled("_cminhash") is not None:
        assert dedup(docs, implementation="cython", **options).to_dict() == python.to_dict()


def test_deterministic_and_tokens_by_reason():
    docs = [PARAGRAPHS[0] + "\n\n" + PARAGRAPHS[1], PARAGRAPHS[1] + "\n\n" + PARAGRAPHS[4]]
    options = dict(threshold=0.5, near_documents=False, tokenizer=lambda text: len(text.split()))
    first = dedup(docs, **options)
    assert first.to_dict() == dedup(docs, **options).to_dict()
    assert first.summary["exact"].tokens == sum(len(e.text.split()) for e in first.removed if e.reason == "exact") > 0
    assert first.summary["near"].tokens > 0
    assert all(e.token_count is not None for e in first.removed)
    assert dedup(docs).summary["exact"].tokens is None


def test_select_units_on_caller_segments():
    docs = [PARAGRAPHS[0] + " " + PARAGRAPHS[1], PARAGRAPHS[1] + " " + PARAGRAPHS[2]]
    units = [sentence_spans(d) for d in docs]
    selection = select_units(docs, units, near_paragraphs=False)
    assert selection.drop == [[False, False, False], [True, True, False]]
    assert [(e.start, e.end) for e in selection.removed] == units[1][:2]
    assert all(docs[0][e.kept_start : e.kept_end] == e.text for e in selection.removed)
    with pytest.raises(InputDataError):
        select_units(docs, [[(0, 10_000)], []])


def test_paragraph_and_sentence_splitters():
    text = "  First line\r\ncontinues.  \n \nSecond para! Third? 第一句。第二句\n"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["First line\r\ncontinues.", "Second para! Third? 第一句。第二句"]
    assert [text[s:e] for s, e in sentence_spans(text, *paragraph_spans(text)[1])] == ["Second para!", "Third?", "第一句。", "第二句"]


# ----------------------------------------------------------------------------- bad input


def test_all_documents_identical():
    body = "\n\n".join(PARAGRAPHS)
    result = dedup([body] * 50)
    assert result.documents[0].text == body
    assert all(d.text.strip() == "" for d in result.documents[1:])
    assert {e.reason for e in result.removed} == {"exact"}
    assert all(e.kept_doc_id == "doc-0" for e in result.removed)


def test_empty_documents():
    result = dedup(["", "   ", "\n\n", PARAGRAPHS[0], ""])
    assert [d.text for d in result.documents] == ["", "   ", "\n\n", PARAGRAPHS[0], ""]
    assert result.removed == []
    assert dedup([]).documents == []


@pytest.mark.parametrize("threshold", [0, -0.5, 1.5, float("nan"), "0.8", True])
def test_threshold_outside_unit_interval(threshold):
    with pytest.raises(ConfigError):
        dedup(["a"], threshold=threshold)


def test_other_bad_options():
    with pytest.raises(ConfigError):
        dedup(["a"], thresold=0.5)
    with pytest.raises(ConfigError):
        DedupConfig(num_perm=1)
    with pytest.raises(InputDataError):
        dedup(["a", "b"], groups=[1])


def test_same_id_twice():
    with pytest.raises(InputDataError):
        dedup([{"id": "x", "text": "one"}, {"id": "x", "text": "two"}])


def _big_document(size: int) -> str:
    rng = random.Random(5)
    paragraphs = [p for p in _prose().split("\n\n") if p.strip()]
    parts, total = [], 0
    while total < size:
        paragraph = rng.choice(paragraphs)
        if rng.random() < 0.5:
            paragraph = paragraph.replace("the", f"the{rng.randrange(10**6)}", 1)
        parts.append(paragraph)
        total += len(paragraph) + 2
    return "\n\n".join(parts)


def test_one_large_document():
    text = _big_document(6_000_000)
    result = dedup([text])
    assert_nothing_lost(result, [Document("doc-0", text)])
    assert result.summary["exact"].chars > 0


@pytest.mark.slow
def test_one_fifty_megabyte_document():
    text = _big_document(50_000_000)
    result = dedup([text])
    assert sum(e - s for s, e in result.documents[0].kept) + sum(e.end - e.start for e in result.removed) == len(text)


# The paragraph a single regex matched before paragraph_spans cut at blank lines instead.
_PARAGRAPH_AS_ONE_REGEX = re.compile(r"\S(?:[^\n]*\S)?(?:[^\S\n]*\n[^\S\n]*\S(?:[^\n]*\S)?)*")


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(["ab", "c d", " ", "\t", "\n", "\r\n", "\n \n", "\u2028", "\x0c", "\u00a0", "é."]), max_size=40),
    bounds=st.tuples(st.integers(0, 80), st.integers(0, 80)),
)
def test_paragraph_spans_are_the_regex_paragraphs(pieces, bounds):
    """Issue 13, item 5: paragraphs are cut at blank lines, not matched by a regex of repeated lines
    (whose backtracking state took 200 MB on a 1 MB paragraph of two-letter lines); same spans."""
    from chunkwise.duplicates.removal import paragraph_spans

    text = "".join(pieces)
    start, end = min(bounds[0], len(text)), min(max(bounds), len(text))
    expected = [m.span() for m in _PARAGRAPH_AS_ONE_REGEX.finditer(text, start, end)]
    assert paragraph_spans(text, start, end) == expected


def _near_duplicates_every_unit(texts, config):
    """near_duplicates as first written: every unit looked up and inserted in every band (the
    reference for the version that skips units sharing no band key with another)."""
    from chunkwise.duplicates import _minhash

    present = [index for index, text in enumerate(texts) if text is not None]
    result = [None] * len(texts)
    if len(present) < 2:
        return result
    hashes, offsets = _minhash.shingle_hashes([texts[i] for i in present], by_words=config.shingle == "word",
                                              size=config.shingle_size)
    matrix = _minhash.signatures(hashes, offsets, *_minhash.permutations(config.num_perm, config.seed))
    keys = _minhash.band_keys(matrix, _minhash.choose_banding(float(config.threshold), config.num_perm))
    offsets = offsets.tolist()
    tables = [{} for _ in range(keys.shape[1])]
    for position in range(len(offsets) - 1):
        if offsets[position + 1] == offsets[position]:
            continue
        candidates = []
        for band, key in enumerate(keys[position].tolist()):
            for other in tables[band].get(key, []):
                if other not in candidates:
                    candidates.append(other)
            if len(candidates) >= config.max_candidates:
                break
        mine = set(hashes[offsets[position]:offsets[position + 1]].tolist())
        best = None
        for other in sorted(candidates)[: config.max_candidates]:
            theirs = set(hashes[offsets[other]:offsets[other + 1]].tolist())
            similarity = len(mine & theirs) / len(mine | theirs)
            if similarity >= config.threshold and (best is None or similarity > best[1]):
                best = (other, similarity)
        if best is not None:
            result[present[position]] = (present[best[0]], best[1])
            continue
        for band, key in enumerate(keys[position].tolist()):
            tables[band].setdefault(key, []).append(position)
    return result


@pytest.mark.parametrize("config", [DedupConfig(), DedupConfig(threshold=0.5), DedupConfig(max_candidates=2),
                                    DedupConfig(shingle="char", shingle_size=4, threshold=0.9)])
def test_near_duplicates_skipping_units_that_share_no_band_decides_as_looking_up_every_unit(config):
    from chunkwise.duplicates.removal import near_duplicates

    rng = random.Random(5)
    words = [f"w{i}" for i in range(300)]
    base = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 40))) for _ in range(200)]
    texts = []
    for _ in range(2500):
        roll = rng.random()
        if roll < 0.3:  # a base paragraph with a few words changed: near duplicates and chains of them
            edited = rng.choice(base).split()
            for _ in range(rng.randint(0, 4)):
                edited[rng.randrange(len(edited))] = rng.choice(words)
            texts.append(" ".join(edited))
        else:
            texts.append(None if roll < 0.35 else "" if roll < 0.4 else
                         " ".join(rng.choice(words) for _ in range(rng.randint(3, 40))))
    expected = _near_duplicates_every_unit(texts, config)
    assert near_duplicates(texts, config) == expected
    assert sum(found is not None for found in expected) > 50
