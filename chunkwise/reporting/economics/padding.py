"""Padding waste of batching sequences three ways: static max_length, dynamic, length-bucketed.

A batch is a rectangle ``rows x width``; every slot that is not a real token is padding that
an encoder or a prefill still computes on. Sequences longer than ``max_length`` are truncated
to it (the truncated tokens are counted separately, never as real tokens).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import ConfigError, InputDataError

PaddingStrategy = Literal["static", "dynamic", "bucketed"]
STRATEGIES: tuple[PaddingStrategy, ...] = ("static", "dynamic", "bucketed")

_FORMULAS = {
    "static": "padded = num_sequences x max_length (every row padded to max_length)",
    "dynamic": "padded = sum over batches (in the given order) of rows x min(longest in batch, max_length)",
    "bucketed": "sort lengths, cut into full batches plus one remainder batch placed where it pads least: "
                "padded = sum over batches of rows x longest",
}


@dataclass(frozen=True)
class PaddingStats:
    """Real vs padded token slots for one batching strategy."""

    strategy: PaddingStrategy
    num_sequences: int
    batch_size: int
    max_length: int
    num_batches: int
    real_tokens: int
    padded_tokens: int
    pad_tokens: int
    truncated_tokens: int
    efficiency: float
    formula: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PaddingComparison:
    """The three strategies side by side on the same lengths."""

    static: PaddingStats
    dynamic: PaddingStats
    bucketed: PaddingStats

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).to_dict() for name in STRATEGIES}


def _validate(lengths: Iterable[int], batch_size: int, max_length: int) -> list[int]:
    for name, value in (("batch_size", batch_size), ("max_length", max_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{name}={value!r} must be a positive integer")
    values = list(lengths)
    if not values:
        raise InputDataError("no sequence lengths given: nothing to pad")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputDataError(f"sequence length {value!r} must be a non-negative integer")
    return values


def padding_stats(lengths: Iterable[int], *, batch_size: int, max_length: int,
                  strategy: PaddingStrategy) -> PaddingStats:
    """Padded slots and efficiency (real / padded) of batching ``lengths`` with ``strategy``.

    ``bucketed`` sorts by length and cuts full batches, placing the one remainder batch at the
    position (among the sorted cuts) that pads least. For the batch sizes any order would give
    (full batches and one remainder), sorted contiguous batches are optimal by an exchange
    argument, so this is the least padding of every way of forming the batches.
    Efficiency is 1.0 when there are no slots at all (every length zero).
    """
    values = _validate(lengths, batch_size, max_length)
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy={strategy!r} must be one of {', '.join(STRATEGIES)}")
    kept = [min(n, max_length) for n in values]
    truncated = sum(values) - sum(kept)
    num_batches = -(-len(kept) // batch_size)
    if strategy == "static":
        padded = len(kept) * max_length
    elif strategy == "bucketed":
        padded = _best_bucketed(sorted(kept), batch_size)
    else:
        padded = 0
        for start in range(0, len(kept), batch_size):
            batch = kept[start:start + batch_size]
            padded += len(batch) * max(batch)
    real = sum(kept)
    efficiency = real / padded if padded else 1.0
    return PaddingStats(strategy, len(kept), batch_size, max_length, num_batches, real, padded,
                        padded - real, truncated, efficiency, _FORMULAS[strategy])


def _best_bucketed(ascending: list[int], batch_size: int) -> int:
    """Least padding over sorted contiguous batches: full ones plus a remainder at the best position."""
    count = len(ascending)
    remainder = count % batch_size
    if remainder == 0:
        return sum(batch_size * ascending[end - 1] for end in range(batch_size, count + 1, batch_size))
    full = count // batch_size
    # With the remainder after j full batches: full batches end at (i+1)*b below it and at
    # remainder + (i+1)*b above it; the remainder batch ends at j*b + remainder.
    below = [0] * (full + 1)
    for j in range(1, full + 1):
        below[j] = below[j - 1] + batch_size * ascending[j * batch_size - 1]
    above = [0] * (full + 2)
    for j in range(full - 1, -1, -1):
        above[j] = above[j + 1] + batch_size * ascending[remainder + (j + 1) * batch_size - 1]
    return min(below[j] + remainder * ascending[j * batch_size + remainder - 1] + above[j] for j in range(full + 1))


def compare_padding(lengths: Iterable[int], *, batch_size: int, max_length: int) -> PaddingComparison:
    """:func:`padding_stats` for static, dynamic and bucketed batching of the same lengths."""
    values = list(lengths)
    return PaddingComparison(*(padding_stats(values, batch_size=batch_size, max_length=max_length, strategy=s)
                               for s in STRATEGIES))
