"""A small seeded slice of benchmarks/fuzz.py: every path, every installed tokenizer, no new violation."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

FUZZ_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz.py"
SLICE_SEED = 20261
SLICE_DOCUMENTS = 100

# Violation kinds found by the fuzzer and reported, not fixed yet. Each has a strict xfail below:
# once the library fixes one, its xfail passes, the run fails, and the entry must go.
KNOWN_VIOLATIONS: set[str] = set()


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("chunkwise_benchmarks_fuzz", FUZZ_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def _plan(fuzz, paths=None):
    names = fuzz.available_tokenizers()
    if "cl100k" not in names:
        pytest.skip("the bundled cl100k_base did not load")
    paths = tuple(paths or fuzz.PATHS)
    if "minilm" not in names:  # the random-table embedder uses MiniLM's tokenizer
        paths = tuple(p for p in paths if p not in ("semantic", "compress"))
    # A seeded random table instead of the fast profile's: no model build in CI.
    return fuzz.Plan(seed=SLICE_SEED, paths=paths, tokenizers=tuple(names), timeout=30.0, embedder="random",
                     every=(("prepare", 3),))


@pytest.fixture(scope="module")
def slice_result(fuzz):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        plan = _plan(fuzz)
        tally = fuzz.fuzz(plan, SLICE_DOCUMENTS, workers=1, progress=False)
    return plan, fuzz.summary(tally, list(plan.paths))


def test_seeded_slice_has_no_new_violations(slice_result):
    plan, result = slice_result
    assert result["documents"] == SLICE_DOCUMENTS
    for path in plan.paths:  # every path ran and was checked
        assert result["checks"][path]["error"]["cases"] > 0
    assert result["checks"]["chunk"]["cap"]["cases"] > 50
    assert result["checks"]["chunk"]["determinism"]["cases"] > 0
    new = {key: entry for key, entry in result["kinds"].items() if key not in KNOWN_VIOLATIONS}
    assert not new, "\n".join(f"{key}: {entry}" for key, entry in new.items())


@pytest.mark.parametrize("kind", sorted(KNOWN_VIOLATIONS))
@pytest.mark.xfail(strict=True, reason="reported to the library; remove from KNOWN_VIOLATIONS once fixed")
def test_known_violation_is_fixed(slice_result, kind):
    _, result = slice_result
    assert kind not in result["kinds"]


def test_documents_are_reproducible_from_seed_and_index(fuzz):
    assert fuzz.document(7, 123) == fuzz.document(7, 123)
    assert fuzz.document(7, 123) != fuzz.document(7, 124)
    names = fuzz.available_tokenizers()
    assert fuzz.make_case(7, 123, "prepare", names) == fuzz.make_case(7, 123, "prepare", names)


def test_generators_reach_the_hostile_inputs(fuzz):
    """The documents hold what the fuzzer claims to generate."""
    texts = [fuzz.document(3, index)[0] for index in range(400)]
    joined = "".join(texts)
    assert "" in texts and any(t and t.isspace() for t in texts)
    for needle in ("\u200d", "\r\n", "```", "| ", "# ", "&amp;", "\u0301"):
        assert needle in joined, needle
    assert any("\ud800" <= c <= "\udfff" for c in joined)  # lone surrogates
    assert any(0x1F1E6 <= ord(c) <= 0x1F1FF for c in joined)  # regional indicators (flags)
    assert any(0x0E01 <= ord(c) <= 0x0E4E for c in joined) and any(0xAC00 <= ord(c) <= 0xD7A3 for c in joined)


def test_a_lossy_chunker_is_caught(fuzz, monkeypatch):
    """The checks can fail: a chunker that drops its first chunk is reported, with a reproducer."""
    import chunkwise

    real = chunkwise.chunk

    def lossy(text, **options):
        chunks = real(text, **options)
        return chunks[1:] if len(chunks) > 1 else chunks

    monkeypatch.setattr(chunkwise, "chunk", lossy)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plan = _plan(fuzz, paths=("chunk",))
    tally = fuzz.fuzz(plan, 40, workers=1, progress=False)
    assert tally.violations.get("chunk", {}).get("lost", 0) > 0
    entry = next(e for key, e in tally.kinds.items() if key.startswith("chunk | lost"))
    assert entry["seed"] == plan.seed and entry["texts"]
