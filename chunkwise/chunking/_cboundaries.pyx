"""Compiled boundary selection; the pure-Python twin is chunkwise/_boundaries.py.

Both twins must return identical results: all arithmetic is on int64 (scores
are fixed-point), so there is no float re-association to disagree about. Unit
tokens and gap scores come in as int32 (4 bytes a unit each, not 8: a document
of one-word paragraphs has a unit every few characters).
"""

from cython.parallel cimport prange
from libc.stdint cimport int8_t, int32_t, int64_t
from libc.stdlib cimport free, malloc

import numpy as np

cdef extern from *:
    """
    #ifdef _OPENMP
    #define CW_HAVE_OPENMP 1
    #else
    #define CW_HAVE_OPENMP 0
    #endif
    """
    int CW_HAVE_OPENMP

HAVE_OPENMP = bool(CW_HAVE_OPENMP)

cdef int64_t NEG_INF = -(<int64_t>1 << 62)
# Below this many units in a batch the DP runs on the calling thread.
cdef Py_ssize_t PARALLEL_MIN_UNITS = 50000


cdef int _select_one(
    const int32_t* tokens,
    const int32_t* scores,
    Py_ssize_t unit_count,
    int64_t max_tokens,
    int64_t min_tokens,
    int64_t cut_penalty,
    int64_t underfill_penalty,
    int32_t* back,
    int8_t* starts,
) noexcept nogil:
    """DP over one document; writes starts[k] = 1 where a chunk begins. Returns -1 if infeasible, -2 out of memory.

    A chunk spans at most ``max_tokens`` units (each counts at least one token), so
    the prefix sums and best scores are read only that far back: they live in ring
    buffers of that size (a power of two, indexed by mask), and only ``back`` (how
    many units the best last chunk ending at unit i spans, int32) is kept for the
    whole document. Per unit that is 4 bytes of scratch instead of 24.
    """
    cdef Py_ssize_t i, j, ring = 1
    cdef Py_ssize_t reach = unit_count if unit_count < max_tokens else <Py_ssize_t> max_tokens
    cdef int64_t size, value, best_i, prefix_i
    while ring <= reach:
        ring <<= 1
    cdef Py_ssize_t mask = ring - 1
    cdef int64_t* prefix = <int64_t*> malloc(ring * sizeof(int64_t))
    cdef int64_t* best = <int64_t*> malloc(ring * sizeof(int64_t))
    if prefix == NULL or best == NULL:
        free(prefix)
        free(best)
        return -2
    prefix[0] = 0
    best[0] = 0
    back[0] = 0
    for i in range(unit_count):
        starts[i] = 0
    for i in range(1, unit_count + 1):
        prefix_i = prefix[(i - 1) & mask] + <int64_t> tokens[i - 1]
        prefix[i & mask] = prefix_i
        best_i = NEG_INF
        back[i] = 0
        j = i - 1
        while j >= 0:
            size = prefix_i - prefix[j & mask]
            if size > max_tokens:
                break
            if best[j & mask] > NEG_INF:
                value = best[j & mask] - cut_penalty
                if j > 0:
                    value = value + <int64_t> scores[j]
                if size < min_tokens:
                    value = value - underfill_penalty * (min_tokens - size)
                if value > best_i:
                    best_i = value
                    back[i] = <int32_t> (i - j)
            j -= 1
        best[i & mask] = best_i
    free(prefix)
    free(best)
    i = unit_count
    while i > 0:
        if back[i] == 0:
            return -1
        i -= back[i]
        starts[i] = 1
    return 0


cdef inline Py_ssize_t _run_doc(
    Py_ssize_t doc,
    const int32_t[::1] unit_tokens,
    const int32_t[::1] gap_scores,
    const int64_t[::1] doc_offsets,
    int64_t max_tokens,
    int64_t min_tokens,
    int64_t cut_penalty,
    int64_t underfill_penalty,
    int32_t* back,
    int8_t[::1] starts,
) noexcept nogil:
    """Run the DP for document ``doc`` of the batch; returns 1 if it was infeasible, 2 out of memory."""
    cdef Py_ssize_t begin = doc_offsets[doc]
    cdef Py_ssize_t end = doc_offsets[doc + 1]
    cdef int found
    if end <= begin:
        return 0
    # The scratch array holds one extra slot per document, hence the "+ doc".
    found = _select_one(
        &unit_tokens[begin], &gap_scores[begin], end - begin,
        max_tokens, min_tokens, cut_penalty, underfill_penalty,
        back + begin + doc, &starts[begin],
    )
    return 0 if found == 0 else (2 if found == -2 else 1)


def select_starts(
    const int32_t[::1] unit_tokens not None,
    const int32_t[::1] gap_scores not None,
    const int64_t[::1] doc_offsets not None,
    int64_t max_tokens,
    int64_t min_tokens,
    int64_t cut_penalty,
    int64_t underfill_penalty,
):
    """Choose chunk starts for a batch of documents (see chunkwise.chunking._boundaries for the contract)."""
    cdef Py_ssize_t total = unit_tokens.shape[0]
    cdef Py_ssize_t doc_count = doc_offsets.shape[0] - 1
    if gap_scores.shape[0] != total:
        raise ValueError("gap_scores and unit_tokens differ in length")
    if doc_count < 0 or doc_offsets[0] != 0 or doc_offsets[doc_count] != total:
        raise ValueError("doc_offsets must start at 0 and end at len(unit_tokens)")
    starts_array = np.zeros(total, dtype=np.int8)
    if total == 0:
        return starts_array
    cdef int8_t[::1] starts = starts_array
    cdef Py_ssize_t doc, failed = 0, short_of_memory = 0, result
    for doc in range(doc_count):
        if doc_offsets[doc + 1] - doc_offsets[doc] >= 2147483647:
            raise ValueError("a document has 2**31 units or more; cut it into smaller documents")
    cdef int32_t* back = <int32_t*> malloc((total + doc_count) * sizeof(int32_t))
    if back == NULL:
        raise MemoryError()
    try:
        if doc_count < 2 or total < PARALLEL_MIN_UNITS:
            # Waking an OpenMP team costs more than a small DP (measured: 9 ms vs 0.4 ms per call).
            with nogil:
                for doc in range(doc_count):
                    result = _run_doc(doc, unit_tokens, gap_scores, doc_offsets, max_tokens, min_tokens,
                                      cut_penalty, underfill_penalty, back, starts)
                    failed += result == 1
                    short_of_memory += result == 2
        else:
            for doc in prange(doc_count, nogil=True, schedule="dynamic"):
                result = _run_doc(doc, unit_tokens, gap_scores, doc_offsets, max_tokens, min_tokens,
                                  cut_penalty, underfill_penalty, back, starts)
                failed += result == 1
                short_of_memory += result == 2
    finally:
        free(back)
    if short_of_memory:
        raise MemoryError()
    if failed:
        raise ValueError("a unit is larger than max_tokens; split units before selecting boundaries")
    return starts_array
