"""Shared fixtures: both backends of every compiled loop, and the optional shared data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chunkwise._backend import FORCE_PYTHON_ENV, python_forced

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PUD_LANGUAGES = ("en", "de", "zh", "ar", "th")


def implementations() -> list[str]:
    """Implementations to test: both, unless the run forces the Python twin."""
    return ["python"] if python_forced() else ["cython", "python"]


@pytest.fixture(params=implementations())
def implementation(request) -> str:
    """Parametrize a test over the compiled loop and its Python twin."""
    return request.param


@pytest.fixture
def force_python(monkeypatch):
    """Run the body with the Python twins forced through the environment switch."""
    monkeypatch.setenv(FORCE_PYTHON_ENV, "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip cleanly where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def load_pud(shared_data: Path, language: str) -> list[dict]:
    path = shared_data / "pud" / f"{language}.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is not present")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
