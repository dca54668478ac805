"""Shingle hashing and MinHash: both twins agree bit for bit, LSH banding meets recall/precision targets."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chunkwise.duplicates import _minhash
from chunkwise._backend import compiled
from chunkwise.errors import ConfigError

TEXT = st.text(
    alphabet=st.sampled_from(list("abcAB xyz.,!-\n\t\u00a0\u3000日本語éß\u0130") + ["\ud800"]), max_size=60
)


def test_extension_is_built():
    """The compiled loop must load in a normal (not pure-Python) run."""
    from chunkwise._backend import python_forced

    if not python_forced():
        assert compiled("_cminhash") is not None, "run `python setup.py build_ext --inplace`"


def test_whitespace_set_is_str_isspace():
    assert all(chr(code).isspace() == (code in _minhash.WHITESPACE) for code in range(0x110000))


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(TEXT, max_size=6), by_words=st.booleans(), size=st.integers(1, 6))
def test_shingle_twins_identical(texts, by_words, size):
    if compiled("_cminhash") is None:
        pytest.skip("extension not built")
    compiled_hashes, compiled_offsets = _minhash.shingle_hashes(texts, by_words=by_words, size=size, implementation="cython")
    python_hashes, python_offsets = _minhash.shingle_hashes(texts, by_words=by_words, size=size, implementation="python")
    assert compiled_offsets.tolist() == python_offsets.tolist()
    assert compiled_hashes.tolist() == python_hashes.tolist()
    perm_a, perm_b = _minhash.permutations(16, seed=5)
    assert np.array_equal(
        _minhash.signatures(compiled_hashes, compiled_offsets, perm_a, perm_b, implementation="cython"),
        _minhash.signatures(python_hashes, python_offsets, perm_a, perm_b, implementation="python"),
    )


@pytest.mark.parametrize("implementation", ["cython", "python"])
def test_signature_is_exact_modular_minimum(implementation):
    if implementation == "cython" and compiled("_cminhash") is None:
        pytest.skip("extension not built")
    hashes, offsets = _minhash.shingle_hashes(["the quick brown fox jumps over the lazy dog", "", "one"], size=2)
    perm_a, perm_b = _minhash.permutations(32, seed=9)
    matrix = _minhash.signatures(hashes, offsets, perm_a, perm_b, implementation=implementation)
    prime = _minhash.MERSENNE61
    for unit in range(3):
        shingles = [int(h) >> 3 for h in hashes[offsets[unit] : offsets[unit + 1]]]
        for perm in range(32):
            expected = min(((int(perm_a[perm]) * x + int(perm_b[perm])) % prime for x in shingles), default=prime)
            assert int(matrix[unit, perm]) == expected
    # Word mode: case and punctuation do not matter; fewer words than the size is one shingle.
    hashes, offsets = _minhash.shingle_hashes(["Hello, World!", "hello world", "a"], size=3, implementation=implementation)
    assert offsets.tolist() == [0, 1, 2, 3]
    assert hashes[0] == hashes[1] != hashes[2]


def test_character_shingles_collapse_whitespace():
    hashes, offsets = _minhash.shingle_hashes(["  ab \n\t cd ", "ab cd"], by_words=False, size=2)
    assert offsets.tolist() == [0, 4, 8]
    assert hashes[:4].tolist() == hashes[4:].tolist()


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.01, float("nan")])
def test_banding_rejects_threshold_outside_unit_interval(threshold):
    with pytest.raises(ConfigError):
        _minhash.choose_banding(threshold, 128)


@pytest.mark.parametrize("threshold", [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
def test_banding_fits_and_rises_around_threshold(threshold):
    banding = _minhash.choose_banding(threshold, 128)
    assert banding.bands * banding.rows <= 128
    assert banding.candidate_probability(min(1.0, threshold + 0.1)) >= 0.95
    assert banding.candidate_probability(threshold - 0.3) < banding.candidate_probability(threshold)


def _prose_paragraphs() -> list[str]:
    import pydoc_data.topics

    paragraphs = []
    for _, body in sorted(pydoc_data.topics.topics.items()):
        for paragraph in re.split(r"\n\s*\n", body):
            if not paragraph.startswith((" ", "\t")) and len(paragraph.split()) >= 25:
                paragraphs.append(" ".join(paragraph.split()))
    return sorted(set(paragraphs))


def _reference_shingles(text: str, size: int) -> set[tuple[str, ...]]:
    """An independent word-shingle set: strings, not hashes."""
    words = re.findall(r"[^\s!-/:-@\[-`{-~]+", text.lower())
    if 0 < len(words) < size:
        return {tuple(words)}
    return {tuple(words[k : k + size]) for k in range(len(words) - size + 1)}


def _mutate(words: list[str], rate: float, vocabulary: list[str], rng: random.Random) -> list[str]:
    out: list[str] = []
    for word in words:
        roll = rng.random()
        if roll < rate / 3:
            continue
        if roll < 2 * rate / 3:
            out.append(rng.choice(vocabulary))
        elif roll < rate:
            out.extend([word, rng.choice(vocabulary)])
        else:
            out.append(word)
    return out


def test_lsh_recall_and_precision_against_brute_force_jaccard():
    """>= 2,000 seeded paragraph pairs; per threshold 0.5-0.9, recall >= 0.95 and precision >= 0.99."""
    rng = random.Random(20240601)
    paragraphs = _prose_paragraphs()
    vocabulary = sorted({w for p in paragraphs for w in p.split()})
    pairs = []
    for _ in range(2400):
        words = rng.choice(paragraphs).split()
        pairs.append((" ".join(words), " ".join(_mutate(words, 0.3 * rng.random() ** 2, vocabulary, rng))))
    texts = [text for pair in pairs for text in pair]
    hashes, offsets = _minhash.shingle_hashes(texts, size=3)
    matrix = _minhash.signatures(hashes, offsets, *_minhash.permutations(128, seed=1))
    truth = []
    for first, second in pairs:
        a, b = _reference_shingles(first, 3), _reference_shingles(second, 3)
        truth.append(len(a & b) / len(a | b))
    measured = [
        _minhash.jaccard(hashes[offsets[2 * i] : offsets[2 * i + 1]], hashes[offsets[2 * i + 1] : offsets[2 * i + 2]])
        for i in range(len(pairs))
    ]
    assert np.allclose(measured, truth)
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
        banding = _minhash.choose_banding(threshold, 128)
        keys = _minhash.band_keys(matrix, banding)
        candidate = (keys[0::2] == keys[1::2]).any(axis=1)
        flagged = candidate & (np.array(measured) >= threshold)
        positive = np.array(truth) >= threshold
        assert positive.sum() >= 300, "the sample must hold enough true pairs at every threshold"
        assert (~positive).sum() >= 300
        recall = (flagged & positive).sum() / positive.sum()
        precision = (flagged & positive).sum() / max(1, flagged.sum())
        assert recall >= 0.95, (threshold, recall)
        assert precision >= 0.99, (threshold, precision)


@pytest.mark.parametrize("seed", range(4))
def test_encode_units_packs_lowered_texts_back_to_back(seed, monkeypatch):
    # Written a block at a time; small blocks here, so texts straddle, fill and exceed them.
    monkeypatch.setattr(_minhash, "_ENCODE_BLOCK", 7)
    rng = random.Random(seed)
    alphabet = ["a", "B", "\u0130", "\u03a3", " ", "\n", "\ud800", "\U0001f600", "\u00e9"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 6, 7, 8, 20]))) for _ in range(30)]
    codepoints, offsets = _minhash.encode_units(texts)
    lowered = [t.lower() for t in texts]  # "\u0130" lowers to two characters; a final sigma to its own form
    assert offsets.tolist() == [0, *np.cumsum([len(t) for t in lowered]).tolist()]
    assert "".join(map(chr, codepoints.tolist())) == "".join(lowered)


@pytest.mark.parametrize("implementation", ["cython", "python"])
@pytest.mark.parametrize("by_words", [True, False])
def test_shingle_hashes_in_blocks_match_one_pass(implementation, by_words, monkeypatch):
    """Texts are hashed a block at a time (a longer text alone); the hashes and offsets end to end
    must be those of one pass over all of them, including texts that straddle and exceed a block."""
    if implementation == "cython" and compiled("_cminhash") is None:
        pytest.skip("extension not built")
    rng = random.Random(11)
    words = ["alpha", "Beta", "\u0130stanbul", "\u03a3\u03b9\u03c3", "日本語", "x", "", "\U0001f600", "caf\u00e9"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.choice([0, 1, 2, 5, 9, 30]))) for _ in range(60)]
    one_pass_codepoints, one_pass_offsets = _minhash.encode_units(texts)
    function = _minhash.shingle_hashes_python if implementation == "python" else compiled("_cminhash").shingle_hashes
    expected_hashes, expected_offsets = function(one_pass_codepoints, one_pass_offsets, int(by_words), 3)
    monkeypatch.setattr(_minhash, "_ENCODE_BLOCK", 16)
    hashes, offsets = _minhash.shingle_hashes(iter(texts), by_words=by_words, size=3, implementation=implementation)
    assert offsets.tolist() == expected_offsets.tolist()
    assert hashes.tolist() == expected_hashes.tolist()
    assert _minhash.shingle_hashes([], implementation=implementation)[1].tolist() == [0]
