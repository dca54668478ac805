"""The boundary DP: both twins agree, respect the cap, and maximise the objective."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chunkwise import backend
from chunkwise._backend import FORCE_PYTHON_ENV, python_forced
from chunkwise.chunking._boundaries import select_starts


def _chunks(mask: np.ndarray) -> list[tuple[int, int]]:
    starts = np.flatnonzero(mask).tolist()
    return list(zip(starts, starts[1:] + [len(mask)]))


def test_extension_is_built_and_used():
    """Fails when the Cython extension did not build (unless the twin is forced on purpose)."""
    if python_forced():
        assert backend() == "python"
        pytest.skip(f"{FORCE_PYTHON_ENV} forces the Python twin")
    import chunkwise.chunking._cboundaries  # noqa: F401  (ImportError here means the build failed)

    assert backend() == "cython"


def test_env_switch_forces_python(monkeypatch):
    monkeypatch.setenv(FORCE_PYTHON_ENV, "1")
    assert backend() == "python"


def test_cuts_at_the_strongest_boundary(implementation):
    tokens = np.array([5, 5, 5, 5, 5, 5])
    scores = np.array([0, 10, 10, 900, 10, 10]) * 1000
    mask = select_starts(tokens, scores, np.array([0, 6]), max_tokens=20, cut_penalty=500_000, implementation=implementation)
    assert _chunks(mask) == [(0, 3), (3, 6)]


def test_penalty_merges_weak_cuts(implementation):
    tokens = np.array([5, 5, 5, 5])
    scores = np.array([0, 100, 100, 100])
    mask = select_starts(tokens, scores, np.array([0, 4]), max_tokens=100, cut_penalty=1000, implementation=implementation)
    assert _chunks(mask) == [(0, 4)]


def test_batch_documents_are_independent(implementation):
    tokens = np.array([3, 3, 3, 4, 4])
    scores = np.zeros(5, dtype=np.int64)
    mask = select_starts(tokens, scores, np.array([0, 3, 3, 5]), max_tokens=6, implementation=implementation)
    assert mask[0] == 1 and mask[3] == 1  # each document starts a chunk
    for a, b in _chunks(mask[:3]):
        assert tokens[a:b].sum() <= 6


def test_unit_over_cap_is_an_error(implementation):
    with pytest.raises(ValueError, match="larger than max_tokens"):
        select_starts(np.array([3, 30]), np.zeros(2), np.array([0, 2]), max_tokens=10, implementation=implementation)


def _objective(tokens, scores, chunks, min_tokens, cut_penalty, underfill):
    total = 0
    for a, b in chunks:
        size = sum(tokens[a:b])
        total -= cut_penalty
        if a > 0:
            total += scores[a]
        if size < min_tokens:
            total -= underfill * (min_tokens - size)
    return total


@settings(max_examples=60, deadline=None)
@given(
    tokens=st.lists(st.integers(1, 9), min_size=1, max_size=9),
    data=st.data(),
    max_tokens=st.integers(9, 25),
    min_tokens=st.integers(0, 12),
    cut_penalty=st.integers(0, 50),
    underfill=st.integers(0, 5),
)
def test_dp_is_optimal_against_brute_force(tokens, data, max_tokens, min_tokens, cut_penalty, underfill):
    scores = data.draw(st.lists(st.integers(-20, 100), min_size=len(tokens), max_size=len(tokens)))
    n = len(tokens)
    best = None
    for cuts in itertools.product([0, 1], repeat=n - 1):
        starts = [0] + [i + 1 for i, c in enumerate(cuts) if c]
        chunks = list(zip(starts, starts[1:] + [n]))
        if any(sum(tokens[a:b]) > max_tokens for a, b in chunks):
            continue
        value = _objective(tokens, scores, chunks, min_tokens, cut_penalty, underfill)
        best = value if best is None else max(best, value)
    for implementation in ("python",) + (() if python_forced() else ("cython",)):
        mask = select_starts(np.array(tokens), np.array(scores), np.array([0, n]), max_tokens=max_tokens,
                             min_tokens=min_tokens, cut_penalty=cut_penalty, underfill_penalty=underfill,
                             implementation=implementation)
        assert _objective(tokens, scores, _chunks(mask), min_tokens, cut_penalty, underfill) == best


@pytest.mark.skipif(python_forced(), reason="twin forced: nothing to compare against")
@settings(max_examples=100, deadline=None)
@given(
    docs=st.lists(st.lists(st.tuples(st.integers(1, 80), st.integers(-10**6, 10**6)), max_size=60), min_size=1, max_size=6),
    max_tokens=st.integers(80, 400),
    min_tokens=st.integers(0, 120),
    cut_penalty=st.integers(0, 10**6),
    underfill=st.integers(0, 10**4),
)
def test_twins_give_identical_cuts(docs, max_tokens, min_tokens, cut_penalty, underfill):
    tokens = np.array([t for doc in docs for t, _ in doc], dtype=np.int64)
    scores = np.array([s for doc in docs for _, s in doc], dtype=np.int64)
    offsets = np.cumsum([0] + [len(doc) for doc in docs])
    kwargs = dict(max_tokens=max_tokens, min_tokens=min_tokens, cut_penalty=cut_penalty, underfill_penalty=underfill)
    compiled = select_starts(tokens, scores, offsets, implementation="cython", **kwargs)
    twin = select_starts(tokens, scores, offsets, implementation="python", **kwargs)
    assert compiled.tolist() == twin.tolist()


def test_large_input_is_linear_enough(implementation):
    rng = np.random.default_rng(7)
    count = 200_000 if implementation == "cython" else 20_000
    tokens = rng.integers(5, 60, count)
    scores = rng.integers(0, 10**6, count)
    mask = select_starts(tokens, scores, np.array([0, count]), max_tokens=512, min_tokens=128,
                         cut_penalty=900_000, underfill_penalty=8000, implementation=implementation)
    sizes = [int(tokens[a:b].sum()) for a, b in _chunks(mask)]
    assert max(sizes) <= 512 and sum(sizes) == int(tokens.sum())
