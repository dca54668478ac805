"""Handing freed memory back to the operating system between the stages of a large run."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from typing import Any

TRIM_MIN_CHARS = 1 << 16
"""Stages over less text than this are left alone: what they free is small, and a trim walks the heap.
A trim took 0.2-0.5 ms here; a stage over 64K characters takes tens of milliseconds. At 1M
characters, 1 MB of random latin-1 (667K characters) was never trimmed and its prepare peaked
12.6 MB above its start instead of 11.3 (malloc_trim returned 4 MB after normalize)."""


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], Any] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # the process's own symbols: glibc's, where it is linked
    except (OSError, AttributeError, TypeError):
        pass
    try:  # find_library runs ldconfig in a subprocess: only when the process's symbols lack it
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl, Windows): nothing to do
        return None


def trim(chars: int) -> None:
    """Give the heap pages that a stage over ``chars`` characters freed back to the system (glibc only).

    glibc's malloc keeps the pages of freed small objects in its heap, so a stage that
    makes and drops many of them (a repair per segment of random latin-1, a dedup's
    unit keys) leaves the process that much larger until it exits, and the next stage's
    peak stacks on top: 1 MB of random bytes read as latin-1 held 7 MB after normalize
    with 3.4 MB of it live. ``malloc_trim(0)`` returns the free pages; it changes no data.
    """
    if chars >= TRIM_MIN_CHARS:
        release_freed()


def release_freed() -> None:
    """``malloc_trim(0)`` now, where glibc has it: the free pages of the heap go back to the system."""
    release = _malloc_trim()
    if release is not None:
        release(0)
