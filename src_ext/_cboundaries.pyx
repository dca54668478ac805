"""Compiled boundary selection; the pure-Python twin is chunkwise/_boundaries.py.

Both twins must return identical results: all arithmetic is on int64 (scores
are fixed-point), so there is no float re-association to disagree about.
"""

from cython.parallel cimport prange
from libc.stdint cimport int8_t, int64_t
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
    const int64_t* tokens,
    const int64_t* scores,
    Py_ssize_t unit_count,
    int64_t max_tokens,
    int64_t min_tokens,
    int64_t cut_penalty,
    int64_t underfill_penalty,
    int64_t* prefix,
    int64_t* best,
    Py_ssize_t* prev,
    int8_t* starts,
) noexcept nogil:
    """DP over one document; writes starts[k] = 1 where a chunk begins. Returns -1 if infeasible."""
    cdef Py_ssize_t i, j
    cdef int64_t size, value
    prefix[0] = 0
    for i in range(unit_count):
        prefix[i + 1] = prefix[i] + tokens[i]
        starts[i] = 0
    best[0] = 0
    prev[0] = -1
    for i in range(1, unit_count + 1):
        best[i] = NEG_INF
        prev[i] = -1
        j = i - 1
        while j >= 0:
            size = prefix[i] - prefix[j]
            if size > max_tokens:
                break
            if best[j] > NEG_INF:
                value = best[j] - cut_penalty
                if j > 0:
                    value = value + scores[j]
                if size < min_tokens:
                    value = value - underfill_penalty * (min_tokens - size)
                if value > best[i]:
                    best[i] = value
                    prev[i] = j
            j -= 1
    i = unit_count
    while i > 0:
        j = prev[i]
        if j < 0:
            return -1
        starts[j] = 1
        i = j
    return 0


cdef inline Py_ssize_t _run_doc(
    Py_ssize_t doc,
    const int64_t[::1] unit_tokens,
    const int64_t[::1] gap_scores,
    const int64_t[::1] doc_offsets,
    int64_t max_tokens,
    int64_t min_tokens,
    int64_t cut_penalty,
    int64_t underfill_penalty,
    int64_t* prefix,
    int64_t* best,
    Py_ssize_t* prev,
    int8_t[::1] starts,
) noexcept nogil:
    """Run the DP for document ``doc`` of the batch; returns 1 if it was infeasible."""
    cdef Py_ssize_t begin = doc_offsets[doc]
    cdef Py_ssize_t end = doc_offsets[doc + 1]
    if end <= begin:
        return 0
    # Scratch arrays hold one extra slot per document, hence the "+ doc".
    return _select_one(
        &unit_tokens[begin], &gap_scores[begin], end - begin,
        max_tokens, min_tokens, cut_penalty, underfill_penalty,
        prefix + begin + doc, best + begin + doc, prev + begin + doc, &starts[begin],
    ) != 0


def select_starts(
    const int64_t[::1] unit_tokens not None,
    const int64_t[::1] gap_scores not None,
    const int64_t[::1] doc_offsets not None,
    int64_t max_tokens,
    int64_t min_tokens,
    int64_t cut_penalty,
    int64_t underfill_penalty,
):
    """Choose chunk starts for a batch of documents (see chunkwise._boundaries for the contract)."""
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
    cdef int64_t* prefix = <int64_t*> malloc((total + doc_count) * sizeof(int64_t))
    cdef int64_t* best = <int64_t*> malloc((total + doc_count) * sizeof(int64_t))
    cdef Py_ssize_t* prev = <Py_ssize_t*> malloc((total + doc_count) * sizeof(Py_ssize_t))
    cdef Py_ssize_t doc, failed = 0
    if prefix == NULL or best == NULL or prev == NULL:
        free(prefix); free(best); free(prev)
        raise MemoryError()
    try:
        if doc_count < 2 or total < PARALLEL_MIN_UNITS:
            # Waking an OpenMP team costs more than a small DP (measured: 9 ms vs 0.4 ms per call).
            with nogil:
                for doc in range(doc_count):
                    failed += _run_doc(doc, unit_tokens, gap_scores, doc_offsets, max_tokens, min_tokens,
                                       cut_penalty, underfill_penalty, prefix, best, prev, starts)
        else:
            for doc in prange(doc_count, nogil=True, schedule="dynamic"):
                failed += _run_doc(doc, unit_tokens, gap_scores, doc_offsets, max_tokens, min_tokens,
                                   cut_penalty, underfill_penalty, prefix, best, prev, starts)
    finally:
        free(prefix)
        free(best)
        free(prev)
    if failed:
        raise ValueError("a unit is larger than max_tokens; split units before selecting boundaries")
    return starts_array
