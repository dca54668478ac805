"""Which implementation of the compiled loops runs: the Cython extension or its Python twin.

``CHUNKWISE_PURE_PYTHON=1`` forces the twins (read at call time, so tests can
flip it). Every compiled module listed here has a twin with the same API.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Literal

from .errors import ConfigError

FORCE_PYTHON_ENV = "CHUNKWISE_PURE_PYTHON"

# Each compiled loop sits beside its Python twin; call sites name it by its short name.
COMPILED_MODULES = {
    "_cboundaries": "chunkwise.chunking._cboundaries",
    "_cscores": "chunkwise.chunking._cscores",
    "_cminhash": "chunkwise.duplicates._cminhash",
    "_csegment": "chunkwise.text._csegment",
    "_crepair": "chunkwise.text._crepair",
}


def python_forced() -> bool:
    return os.environ.get(FORCE_PYTHON_ENV, "").strip() not in ("", "0", "false", "False")


def compiled(name: str) -> ModuleType | None:
    """The compiled module ``name`` (a key of COMPILED_MODULES), or None when forced off or not built."""
    if python_forced():
        return None
    try:
        return importlib.import_module(COMPILED_MODULES[name])
    except ImportError:
        return None


def chosen(name: str, implementation: str | None) -> ModuleType | None:
    """The compiled module ``name`` for an ``implementation`` argument, or None for the Python twin.

    ``"python"``: the twin; ``"cython"``: the module, ImportError when it is not built or forced
    off; None: the module when available, else the twin. Anything else is a ConfigError.
    """
    if implementation == "python":
        return None
    if implementation not in (None, "cython"):
        raise ConfigError(f"implementation must be 'cython', 'python' or None, got {implementation!r}")
    module = compiled(name)
    if implementation == "cython" and module is None:
        raise ImportError(f"{COMPILED_MODULES[name]} is not built (or {FORCE_PYTHON_ENV} is set)")
    return module


def backend() -> Literal["cython", "python"]:
    """``"cython"`` when every compiled loop is built and in use, else ``"python"``."""
    if all(compiled(name) is not None for name in COMPILED_MODULES):
        return "cython"
    return "python"
