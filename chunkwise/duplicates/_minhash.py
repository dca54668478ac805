"""Shingle hashing, MinHash signatures and LSH banding for near-duplicate detection.

The hashing is a fixed function of the code points, so the compiled loops in
``_cminhash.pyx`` and the pure-Python twins here agree bit for bit:

* Text is lower-cased by the caller (``encode_units``) and passed as UTF-32 code points.
* Word mode: a word is a maximal run of code points that are neither whitespace
  (exactly ``str.isspace``) nor ASCII punctuation. A word hashes to
  ``mix64(FNV-1a-64 over its code points)``, one code point per FNV step.
  Character mode: the unit with whitespace runs collapsed to one space and
  stripped; each code point is an item.
* A shingle is ``size`` consecutive items, hashed by folding
  ``h = mix64(h ^ item)`` from a fixed seed (``mix64`` is splitmix64's
  finaliser). A unit with fewer than ``size`` items (but at least one) has one
  shingle of all of them; an empty unit has none.
* Permutation ``i`` maps a shingle hash ``h`` to ``(a_i * (h >> 3) + b_i) mod (2**61 - 1)``,
  the universal family over the Mersenne prime, exact in 128-bit (or limb)
  arithmetic; ``a_i``, ``b_i`` come from a seeded NumPy generator. A signature
  entry is the minimum over the unit's shingles; an empty unit's entries are
  ``2**61 - 1`` (above every real value).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .._backend import chosen
from ..errors import ConfigError

MERSENNE61 = (1 << 61) - 1
MAX_SHINGLE_SIZE = 64
_MASK64 = (1 << 64) - 1
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_SHINGLE_SEED = 0x9E3779B97F4A7C15

# Exactly the code points for which str.isspace() is true (tests check this).
WHITESPACE = frozenset(
    [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680]
    + list(range(0x2000, 0x200B))
    + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)
_ASCII_PUNCTUATION = frozenset(
    list(range(0x21, 0x30)) + list(range(0x3A, 0x41)) + list(range(0x5B, 0x61)) + list(range(0x7B, 0x7F))
)
_SEPARATORS = WHITESPACE | _ASCII_PUNCTUATION


def _mix64(value: int) -> int:
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & _MASK64
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _fold(items: Sequence[int]) -> int:
    h = _SHINGLE_SEED
    for item in items:
        h = _mix64(h ^ item)
    return h


def _word_items(codepoints: Sequence[int]) -> list[int]:
    items: list[int] = []
    h = None
    for c in codepoints:
        if c in _SEPARATORS:
            if h is not None:
                items.append(_mix64(h))
                h = None
            continue
        h = ((_FNV_OFFSET if h is None else h) ^ c) * _FNV_PRIME & _MASK64
    if h is not None:
        items.append(_mix64(h))
    return items


def _char_items(codepoints: Sequence[int]) -> list[int]:
    items: list[int] = []
    pending_space = False
    for c in codepoints:
        if c in WHITESPACE:
            pending_space = bool(items)
            continue
        if pending_space:
            items.append(0x20)
            pending_space = False
        items.append(c)
    return items


def shingle_hashes_python(
    codepoints: np.ndarray, offsets: np.ndarray, by_words: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pure-Python twin of ``_cminhash.shingle_hashes``.

    ``codepoints`` (uint32) holds the units back to back, ``offsets`` (int64,
    units + 1) delimits them. Returns ``(hashes uint64, hash_offsets int64)``.
    """
    offsets_list = [int(o) for o in offsets]
    if not offsets_list or offsets_list[0] != 0 or offsets_list[-1] != len(codepoints):
        raise ValueError("offsets must start at 0 and end at len(codepoints)")
    if not 1 <= size <= MAX_SHINGLE_SIZE:
        raise ValueError(f"shingle size must be in [1, {MAX_SHINGLE_SIZE}], got {size}")
    if any(b < a for a, b in zip(offsets_list, offsets_list[1:])):
        raise ValueError("offsets must be non-decreasing")
    all_codepoints = codepoints.tolist()
    hashes: list[int] = []
    hash_offsets = [0]
    for begin, end in zip(offsets_list, offsets_list[1:]):
        unit = all_codepoints[begin:end]
        items = _word_items(unit) if by_words else _char_items(unit)
        if 0 < len(items) < size:
            hashes.append(_fold(items))
        else:
            hashes.extend(_fold(items[k : k + size]) for k in range(len(items) - size + 1))
        hash_offsets.append(len(hashes))
    return np.array(hashes, dtype=np.uint64), np.array(hash_offsets, dtype=np.int64)


def _affine_mod61(a: np.ndarray, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a * x + b) mod 2**61-1 elementwise in uint64, exact (32-bit limbs; 2**64 = 8 mod p)."""
    low32 = np.uint64(0xFFFFFFFF)
    a_lo, a_hi = a & low32, a >> np.uint64(32)
    x_lo, x_hi = x & low32, x >> np.uint64(32)
    low = a_lo * x_lo
    middle = a_hi * x_lo + a_lo * x_hi
    high = a_hi * x_hi
    prime = np.uint64(MERSENNE61)
    folded = (
        (high << np.uint64(3))
        + (middle >> np.uint64(29))
        + ((middle & np.uint64(0x1FFFFFFF)) << np.uint64(32))
        + (low & prime)
        + (low >> np.uint64(61))
        + b
    )
    folded = (folded & prime) + (folded >> np.uint64(61))
    folded = (folded & prime) + (folded >> np.uint64(61))
    return np.where(folded >= prime, folded - prime, folded)


def signatures_python(
    hashes: np.ndarray, hash_offsets: np.ndarray, perm_a: np.ndarray, perm_b: np.ndarray
) -> np.ndarray:
    """Pure-Python (NumPy) twin of ``_cminhash.signatures``: uint64 [units, perms]."""
    unit_count = len(hash_offsets) - 1
    if unit_count < 0 or int(hash_offsets[0]) != 0 or int(hash_offsets[-1]) != len(hashes):
        raise ValueError("hash_offsets must start at 0 and end at len(hashes)")
    if len(perm_a) != len(perm_b):
        raise ValueError("perm_a and perm_b differ in length")
    if len(perm_a) and (int(perm_a.max()) >= MERSENNE61 or int(perm_b.max()) >= MERSENNE61):
        raise ValueError("permutation coefficients must be below 2**61 - 1")
    result = np.full((unit_count, len(perm_a)), MERSENNE61, dtype=np.uint64)
    x_all = hashes >> np.uint64(3)
    # Bounded blocks of shingles keep the (shingles x perms) temporaries small.
    block = max(1, 65536 // max(1, len(perm_a)))
    for unit in range(unit_count):
        begin, end = int(hash_offsets[unit]), int(hash_offsets[unit + 1])
        for start in range(begin, end, block):
            x = x_all[start : min(end, start + block), None]
            values = _affine_mod61(perm_a[None, :], x, perm_b[None, :]).min(axis=0)
            np.minimum(result[unit], values, out=result[unit])
    return result


def _dispatch(name: str, implementation: str | None):
    module = chosen("_cminhash", implementation)
    return None if module is None else getattr(module, name)


_ENCODE_BLOCK = 1 << 16
"""Code points encoded per step by ``encode_units``."""


def encode_units(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Lower-case and pack texts as UTF-32 code points back to back, with offsets (units + 1).

    Written into one array a block at a time: joining the lower-cased texts and encoding
    the join held three copies of the text at once (15 MB for 1 MB of random latin-1,
    whose repaired text is four bytes a character).
    """
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    if texts:
        # str.lower can change a length ("\u0130" becomes two characters): measure the lowered texts.
        np.cumsum([len(text.lower()) for text in texts], out=offsets[1:])
    codepoints = np.empty(int(offsets[-1]), dtype=np.uint32)
    written = 0
    pending: list[str] = []  # short texts, encoded together once they fill a block
    pending_length = 0

    def write(text: str) -> None:
        nonlocal written
        packed = text.encode("utf-32-le", "surrogatepass")
        codepoints[written : written + len(packed) // 4] = np.frombuffer(packed, dtype=np.uint32)
        written += len(packed) // 4

    for text in texts:
        lowered = text.lower()  # whole: a final sigma's lower case depends on what follows it
        if pending_length + len(lowered) > _ENCODE_BLOCK and pending:
            write("".join(pending))
            pending, pending_length = [], 0
        if len(lowered) > _ENCODE_BLOCK:
            for start in range(0, len(lowered), _ENCODE_BLOCK):
                write(lowered[start : start + _ENCODE_BLOCK])
        else:
            pending.append(lowered)
            pending_length += len(lowered)
    write("".join(pending))
    return codepoints, offsets


def shingle_hashes(
    texts: Iterable[str], *, by_words: bool = True, size: int = 3, implementation: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of each text (lower-cased): ``(hashes uint64, hash_offsets int64)``.

    ``texts`` is read once, in order, and hashed about ``_ENCODE_BLOCK`` characters at a
    time (a longer text alone): a unit's shingles never reach into the next, so the
    blocks' hashes end to end are those of all the texts at once. The code points of
    every text in one array were 4 bytes a character beside the texts themselves (near
    dedup of 1 MB of random latin-1 held 3.8 MB of them); ``texts`` may be a sequence
    that slices each text out of its document when read.
    """
    if not 1 <= size <= MAX_SHINGLE_SIZE:
        raise ConfigError(f"shingle size must be in [1, {MAX_SHINGLE_SIZE}], got {size}")
    function = _dispatch("shingle_hashes", implementation) or shingle_hashes_python
    hash_parts: list[np.ndarray] = []
    count_parts: list[np.ndarray] = []

    def flush(block: list[str]) -> None:
        codepoints, offsets = encode_units(block)
        hashes, hash_offsets = function(codepoints, offsets, int(by_words), int(size))
        hash_parts.append(hashes)
        count_parts.append(np.diff(hash_offsets))

    block: list[str] = []
    block_length = 0
    for text in texts:
        if block and block_length + len(text) > _ENCODE_BLOCK:
            flush(block)
            block, block_length = [], 0
        block.append(text)
        block_length += len(text)
    if block or not hash_parts:
        flush(block)
    hashes = hash_parts[0] if len(hash_parts) == 1 else np.concatenate(hash_parts)
    hash_offsets = np.zeros(sum(map(len, count_parts)) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(count_parts), out=hash_offsets[1:])
    return hashes, hash_offsets


def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Seeded coefficients ``a`` in [1, p) and ``b`` in [0, p) of the universal hash family."""
    generator = np.random.default_rng(seed)
    perm_a = generator.integers(1, MERSENNE61, size=num_perm, dtype=np.uint64)
    perm_b = generator.integers(0, MERSENNE61, size=num_perm, dtype=np.uint64)
    return perm_a, perm_b


def signatures(
    hashes: np.ndarray,
    hash_offsets: np.ndarray,
    perm_a: np.ndarray,
    perm_b: np.ndarray,
    *,
    implementation: str | None = None,
) -> np.ndarray:
    """MinHash signatures (uint64 [units, perms]) of units given as shingle hashes."""
    args = (
        np.ascontiguousarray(hashes, dtype=np.uint64),
        np.ascontiguousarray(hash_offsets, dtype=np.int64),
        np.ascontiguousarray(perm_a, dtype=np.uint64),
        np.ascontiguousarray(perm_b, dtype=np.uint64),
    )
    function = _dispatch("signatures", implementation)
    if function is None:
        return signatures_python(*args)
    return function(*args)


@dataclass(frozen=True, slots=True)
class Banding:
    """LSH bands x rows (bands * rows <= num_perm) chosen for a Jaccard threshold."""

    bands: int
    rows: int
    false_positive_area: float
    false_negative_area: float

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that a pair with this Jaccard similarity shares at least one band."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands


def _integrate(function, low: float, high: float, steps: int = 64) -> float:
    """Composite Simpson's rule (steps even)."""
    if high <= low:
        return 0.0
    width = (high - low) / steps
    total = function(low) + function(high)
    for k in range(1, steps):
        total += (4 if k % 2 else 2) * function(low + k * width)
    return total * width / 3


# Cached: about 8,000 numerical integrals (65 ms), once per dedup() call, were most of
# prepare()'s time on a few small documents.
@functools.lru_cache(maxsize=64)
def choose_banding(
    threshold: float, num_perm: int, *, false_positive_weight: float = 0.1, false_negative_weight: float = 0.9
) -> Banding:
    """Bands and rows minimising the weighted false-positive + false-negative area around ``threshold``.

    False positive area: integral over s in [0, t] of P(candidate | s);
    false negative area: integral over s in [t, 1] of 1 - P(candidate | s).
    Candidates are verified by exact Jaccard, so a false positive costs only a
    comparison while a false negative is a missed duplicate: the default
    weights lean towards recall.
    """
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"threshold must be in (0, 1], got {threshold}")
    if num_perm < 2:
        raise ConfigError(f"num_perm must be >= 2, got {num_perm}")
    best: Banding | None = None
    best_cost = math.inf
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = _integrate(lambda s: 1.0 - (1.0 - s**rows) ** bands, 0.0, threshold)
            fn = _integrate(lambda s: (1.0 - s**rows) ** bands, threshold, 1.0)
            cost = false_positive_weight * fp + false_negative_weight * fn
            if cost < best_cost - 1e-15:
                best_cost = cost
                best = Banding(bands, rows, fp, fn)
    assert best is not None
    return best


def band_keys(signature_matrix: np.ndarray, banding: Banding) -> np.ndarray:
    """One 64-bit key per (unit, band): a hash of the band's rows (uint64 [units, bands])."""
    units = signature_matrix.shape[0]
    keys = np.empty((units, banding.bands), dtype=np.uint64)
    multiplier = np.uint64(0x9E3779B97F4A7C15)
    for band in range(banding.bands):
        block = signature_matrix[:, band * banding.rows : (band + 1) * banding.rows]
        key = np.full(units, ((band + 1) * 0xD6E8FEB86659FD93) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
        for column in range(banding.rows):
            key = (key ^ block[:, column]) * multiplier
            key ^= key >> np.uint64(29)
        keys[:, band] = key
    return keys


def jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """Exact Jaccard similarity of two shingle-hash multisets taken as sets (0.0 when both are empty)."""
    a = set(first.tolist())
    b = set(second.tolist())
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)
