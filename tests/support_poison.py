"""A token counter that kills its process on one document: a poison pill for the batch engines' tests.

It lives in a module of its own so worker processes (spawned, or Dask's) can import it by name.
"""

from __future__ import annotations

import os
from pathlib import Path

PILL = "POISON-PILL"
SWITCH_ENV = "CHUNKWISE_TEST_POISON_SWITCH"


def poison_counter(text: str) -> int:
    """About four characters a token; ends the process (as a segfault would) on a text holding
    ``PILL`` while the file named by ``$CHUNKWISE_TEST_POISON_SWITCH`` exists."""
    switch = os.environ.get(SWITCH_ENV)
    if PILL in text and switch and Path(switch).exists():
        os._exit(13)
    return max(1, len(text) // 4)
