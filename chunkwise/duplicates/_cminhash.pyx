"""Compiled shingle hashing and MinHash signatures; the pure-Python twin is chunkwise/_minhash.py.

The hashes are a fixed, documented function of the code points (see the twin's
module docstring), and the permutations are exact modular arithmetic, so the
two twins return identical arrays bit for bit.
"""

from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint32_t, uint64_t

import numpy as np

cdef extern from *:
    """
    #ifdef _OPENMP
    #define CW_MH_HAVE_OPENMP 1
    #else
    #define CW_MH_HAVE_OPENMP 0
    #endif

    #define CW_MERSENNE61 ((uint64_t)0x1FFFFFFFFFFFFFFFULL)

    /* (a * x + b) mod (2^61 - 1) for a, x, b < 2^61, exact. */
    static inline uint64_t cw_affine_mod61(uint64_t a, uint64_t x, uint64_t b) {
    #ifdef __SIZEOF_INT128__
        unsigned __int128 product = (unsigned __int128)a * x + b;
        uint64_t folded = (uint64_t)(product & CW_MERSENNE61) + (uint64_t)(product >> 61);
    #else
        /* 32-bit limbs; 2^64 = 8 and 2^61 = 1 modulo the prime. */
        uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
        uint64_t x_lo = x & 0xFFFFFFFFULL, x_hi = x >> 32;
        uint64_t low = a_lo * x_lo;
        uint64_t middle = a_hi * x_lo + a_lo * x_hi;
        uint64_t high = a_hi * x_hi;
        uint64_t folded = (high << 3) + (middle >> 29) + ((middle & 0x1FFFFFFFULL) << 32)
                          + (low & CW_MERSENNE61) + (low >> 61) + b;
    #endif
        folded = (folded & CW_MERSENNE61) + (folded >> 61);
        folded = (folded & CW_MERSENNE61) + (folded >> 61);
        if (folded >= CW_MERSENNE61) folded -= CW_MERSENNE61;
        return folded;
    }
    """
    int CW_MH_HAVE_OPENMP
    uint64_t CW_MERSENNE61
    uint64_t cw_affine_mod61(uint64_t a, uint64_t x, uint64_t b) noexcept nogil

HAVE_OPENMP = bool(CW_MH_HAVE_OPENMP)

DEF MAX_SHINGLE_SIZE = 64

cdef uint64_t FNV_OFFSET = 0xCBF29CE484222325ULL
cdef uint64_t FNV_PRIME = 0x100000001B3ULL
cdef uint64_t SHINGLE_SEED = 0x9E3779B97F4A7C15ULL


cdef inline uint64_t _mix64(uint64_t value) noexcept nogil:
    """splitmix64's finaliser: a bijection that spreads every input bit."""
    value ^= value >> 30
    value *= 0xBF58476D1CE4E5B9ULL
    value ^= value >> 27
    value *= 0x94D049BB133111EBULL
    value ^= value >> 31
    return value


cdef inline bint _is_space(uint32_t c) noexcept nogil:
    """Exactly the code points for which Python's str.isspace() is true."""
    if c <= 0x20:
        return c == 0x20 or (0x09 <= c <= 0x0D) or (0x1C <= c <= 0x1F)
    if c < 0x85:
        return False
    return (c == 0x85 or c == 0xA0 or c == 0x1680 or (0x2000 <= c <= 0x200A)
            or c == 0x2028 or c == 0x2029 or c == 0x202F or c == 0x205F or c == 0x3000)


cdef inline bint _is_separator(uint32_t c) noexcept nogil:
    """Word separators: whitespace and ASCII punctuation."""
    if (0x21 <= c <= 0x2F) or (0x3A <= c <= 0x40) or (0x5B <= c <= 0x60) or (0x7B <= c <= 0x7E):
        return True
    return _is_space(c)


cdef inline uint64_t _shingle(const uint64_t* ring, Py_ssize_t ring_start, Py_ssize_t count, Py_ssize_t ring_size) noexcept nogil:
    """Hash of ``count`` items held in a ring buffer, oldest first."""
    cdef uint64_t h = SHINGLE_SEED
    cdef Py_ssize_t k
    for k in range(count):
        h = _mix64(h ^ ring[(ring_start + k) % ring_size])
    return h


cdef Py_ssize_t _words_pass(
    const uint32_t* cps, Py_ssize_t length, Py_ssize_t size, uint64_t* out
) noexcept nogil:
    """Word shingles of one unit; writes them to ``out`` unless NULL; returns how many."""
    cdef uint64_t ring[MAX_SHINGLE_SIZE]
    cdef Py_ssize_t i = 0, words = 0, emitted = 0
    cdef uint64_t h
    while i < length:
        if _is_separator(cps[i]):
            i += 1
            continue
        h = FNV_OFFSET
        while i < length and not _is_separator(cps[i]):
            h = (h ^ cps[i]) * FNV_PRIME
            i += 1
        ring[words % size] = _mix64(h)
        words += 1
        if words >= size:
            if out != NULL:
                out[emitted] = _shingle(ring, words - size, size, size)
            emitted += 1
    if 0 < words < size:
        if out != NULL:
            out[emitted] = _shingle(ring, 0, words, size)
        emitted += 1
    return emitted


cdef Py_ssize_t _chars_pass(
    const uint32_t* cps, Py_ssize_t length, Py_ssize_t size, uint64_t* out
) noexcept nogil:
    """Character shingles over the whitespace-collapsed, stripped unit; as _words_pass."""
    cdef uint64_t ring[MAX_SHINGLE_SIZE]
    cdef Py_ssize_t i, chars = 0, emitted = 0
    cdef bint pending_space = False
    cdef uint32_t c
    for i in range(length):
        c = cps[i]
        if _is_space(c):
            pending_space = chars > 0
            continue
        if pending_space:
            pending_space = False
            ring[chars % size] = 0x20
            chars += 1
            if chars >= size:
                if out != NULL:
                    out[emitted] = _shingle(ring, chars - size, size, size)
                emitted += 1
        ring[chars % size] = c
        chars += 1
        if chars >= size:
            if out != NULL:
                out[emitted] = _shingle(ring, chars - size, size, size)
            emitted += 1
    if 0 < chars < size:
        if out != NULL:
            out[emitted] = _shingle(ring, 0, chars, size)
        emitted += 1
    return emitted


def shingle_hashes(
    const uint32_t[::1] codepoints not None,
    const int64_t[::1] offsets not None,
    int by_words,
    Py_ssize_t size,
):
    """64-bit shingle hashes of every unit; see chunkwise.duplicates._minhash.shingle_hashes_python."""
    cdef Py_ssize_t unit_count = offsets.shape[0] - 1
    cdef Py_ssize_t total = codepoints.shape[0]
    cdef Py_ssize_t unit
    if unit_count < 0 or offsets[0] != 0 or offsets[unit_count] != total:
        raise ValueError("offsets must start at 0 and end at len(codepoints)")
    if not 1 <= size <= MAX_SHINGLE_SIZE:
        raise ValueError(f"shingle size must be in [1, {MAX_SHINGLE_SIZE}], got {size}")
    for unit in range(unit_count):
        if offsets[unit + 1] < offsets[unit]:
            raise ValueError("offsets must be non-decreasing")
    counts_array = np.zeros(unit_count + 1, dtype=np.int64)
    cdef int64_t[::1] counts = counts_array
    for unit in prange(unit_count, nogil=True, schedule="guided"):
        if by_words:
            counts[unit + 1] = _words_pass(&codepoints[0] + offsets[unit], offsets[unit + 1] - offsets[unit], size, NULL)
        else:
            counts[unit + 1] = _chars_pass(&codepoints[0] + offsets[unit], offsets[unit + 1] - offsets[unit], size, NULL)
    hash_offsets_array = np.cumsum(counts_array)
    cdef int64_t[::1] hash_offsets = hash_offsets_array
    hashes_array = np.empty(hash_offsets_array[unit_count], dtype=np.uint64)
    if hashes_array.shape[0] == 0:
        return hashes_array, hash_offsets_array
    cdef uint64_t[::1] hashes = hashes_array
    for unit in prange(unit_count, nogil=True, schedule="guided"):
        if by_words:
            _words_pass(&codepoints[0] + offsets[unit], offsets[unit + 1] - offsets[unit], size, &hashes[0] + hash_offsets[unit])
        else:
            _chars_pass(&codepoints[0] + offsets[unit], offsets[unit + 1] - offsets[unit], size, &hashes[0] + hash_offsets[unit])
    return hashes_array, hash_offsets_array


def signatures(
    const uint64_t[::1] hashes not None,
    const int64_t[::1] hash_offsets not None,
    const uint64_t[::1] perm_a not None,
    const uint64_t[::1] perm_b not None,
):
    """MinHash signatures, one row per unit; see chunkwise.duplicates._minhash.signatures_python."""
    cdef Py_ssize_t unit_count = hash_offsets.shape[0] - 1
    cdef Py_ssize_t perm_count = perm_a.shape[0]
    cdef Py_ssize_t unit, k, perm
    cdef uint64_t x, value
    if unit_count < 0 or hash_offsets[0] != 0 or hash_offsets[unit_count] != hashes.shape[0]:
        raise ValueError("hash_offsets must start at 0 and end at len(hashes)")
    if perm_b.shape[0] != perm_count:
        raise ValueError("perm_a and perm_b differ in length")
    for perm in range(perm_count):
        if perm_a[perm] >= CW_MERSENNE61 or perm_b[perm] >= CW_MERSENNE61:
            raise ValueError("permutation coefficients must be below 2**61 - 1")
    result = np.full((unit_count, perm_count), CW_MERSENNE61, dtype=np.uint64)
    if unit_count == 0 or perm_count == 0:
        return result
    cdef uint64_t[:, ::1] out = result
    for unit in prange(unit_count, nogil=True, schedule="guided"):
        for k in range(hash_offsets[unit], hash_offsets[unit + 1]):
            x = hashes[k] >> 3
            for perm in range(perm_count):
                value = cw_affine_mod61(perm_a[perm], x, perm_b[perm])
                if value < out[unit, perm]:
                    out[unit, perm] = value
    return result
