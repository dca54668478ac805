"""Compiled semantic gap scores; the NumPy twin and the contract are in chunkwise/_scores.py.

One pass per gap builds the left and right window sums in double precision
(thread-local scratch) and takes their cosine; the loop is built with
re-association allowed, so the dot products vectorise. The cosine is rounded
to 1e-6 and all later steps are integer arithmetic, which keeps the twins equal.
"""

cimport openmp
from cython.parallel cimport prange, threadid
from libc.math cimport floor, sqrt
from libc.stdint cimport int32_t, int64_t
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

cdef int64_t SIM_SCALE = 1000000
# Below this many gap-dimensions of work the cosines run on the calling thread:
# waking an OpenMP team costs more than a small batch.
cdef Py_ssize_t PARALLEL_MIN_WORK = 4000000


cdef inline int64_t _similarity(
    const float[:, ::1] vectors,
    Py_ssize_t k,
    Py_ssize_t begin,
    Py_ssize_t end,
    Py_ssize_t window,
    double* left,
    double* right,
) noexcept nogil:
    """Rounded cosine (times SIM_SCALE) between the windows before and after unit k."""
    cdef Py_ssize_t dimension = vectors.shape[1]
    cdef Py_ssize_t c, step, source
    cdef const float* row
    cdef double dot = 0.0, left_norm = 0.0, right_norm = 0.0, norms, cosine
    for c in range(dimension):
        left[c] = 0.0
        right[c] = 0.0
    # Nearest unit first, as the twin sums. Raw row pointers let gcc vectorise.
    for step in range(1, window + 1):
        source = k - step
        if source < begin:
            break
        row = &vectors[source, 0]
        for c in range(dimension):
            left[c] += row[c]
    for step in range(window):
        source = k + step
        if source >= end:
            break
        row = &vectors[source, 0]
        for c in range(dimension):
            right[c] += row[c]
    for c in range(dimension):
        dot += left[c] * right[c]
        left_norm += left[c] * left[c]
        right_norm += right[c] * right[c]
    norms = left_norm * right_norm
    if norms > 0:
        cosine = dot / sqrt(norms)
    else:
        cosine = 1.0
    if cosine > 1.0:
        cosine = 1.0
    elif cosine < -1.0:
        cosine = -1.0
    return <int64_t> floor(cosine * SIM_SCALE + 0.5)


cdef inline int64_t _smooth(const int32_t* similarities, Py_ssize_t g, Py_ssize_t gaps) noexcept nogil:
    """Dissimilarity of gap g smoothed 1-2-1 with its neighbours (the ends repeat themselves)."""
    cdef int64_t here = SIM_SCALE - similarities[g]
    cdef int64_t before = SIM_SCALE - similarities[g - 1] if g > 0 else here
    cdef int64_t after = SIM_SCALE - similarities[g + 1] if g + 1 < gaps else here
    return before + 2 * here + after


cdef void _score_doc(
    const int32_t* similarities,
    Py_ssize_t gaps,
    int64_t weight,
    int64_t clip_z_percent,
    int32_t* scores,
) noexcept nogil:
    """Integer smoothing and scoring of one document's gaps (similarities of gaps 1..gaps).

    The smoothed value is recomputed in each of the three passes rather than
    stored: a buffer of int64 per gap was 8 bytes a unit, twice a text of
    one-line paragraphs, for three additions.
    """
    cdef Py_ssize_t g
    cdef int64_t smooth, total = 0, deviation = 0, center, spread, limit, shifted
    for g in range(gaps):
        total += _smooth(similarities, g, gaps)
    center = total // gaps
    for g in range(gaps):
        smooth = _smooth(similarities, g, gaps)
        deviation += smooth - center if smooth >= center else center - smooth
    spread = deviation // gaps
    limit = spread * clip_z_percent // 100
    if limit <= 0:
        return
    for g in range(gaps):
        shifted = _smooth(similarities, g, gaps) - center + limit
        if shifted < 0:
            shifted = 0
        elif shifted > 2 * limit:
            shifted = 2 * limit
        scores[g] = <int32_t> (weight * shifted // limit - weight)


def gap_similarities(
    const float[:, ::1] vectors not None,
    const int64_t[::1] doc_offsets not None,
    Py_ssize_t window,
):
    """Rounded cosine (times SIM_SCALE, int32) between the windows around each gap; 0 at document starts."""
    cdef Py_ssize_t count = vectors.shape[0]
    cdef Py_ssize_t dimension = vectors.shape[1]
    cdef Py_ssize_t doc_count = doc_offsets.shape[0] - 1
    if doc_count < 0 or doc_offsets[0] != 0 or doc_offsets[doc_count] != count:
        raise ValueError("doc_offsets must start at 0 and end at the number of vectors")
    if window < 1:
        raise ValueError("window >= 1 is required")
    similarities_array = np.zeros(count, dtype=np.int32)
    if count == 0:
        return similarities_array
    # Where each unit's document begins and ends, so the gap loop is flat.
    offsets = np.asarray(doc_offsets)
    lengths = np.diff(offsets)
    if (lengths < 0).any():
        raise ValueError("doc_offsets must not decrease")
    doc_of = np.repeat(np.arange(doc_count, dtype=np.int64), lengths)
    cdef const int64_t[::1] begins = np.ascontiguousarray(offsets[doc_of])
    cdef const int64_t[::1] ends = np.ascontiguousarray(offsets[doc_of + 1])
    cdef int32_t[::1] similarities = similarities_array
    cdef double* scratch
    cdef Py_ssize_t k, thread
    cdef int threads = 1
    cdef bint serial = count * window * dimension < PARALLEL_MIN_WORK or not CW_HAVE_OPENMP
    if not serial:
        threads = openmp.omp_get_max_threads()
    # Two windows of doubles per thread, one thread's scratch after another.
    scratch = <double*> malloc(threads * 2 * dimension * sizeof(double) + 16)
    if scratch == NULL:
        raise MemoryError()
    try:
        if serial:
            with nogil:
                for k in range(count):
                    if k > begins[k]:
                        similarities[k] = <int32_t> _similarity(vectors, k, begins[k], ends[k], window, scratch, scratch + dimension)
        else:
            for k in prange(count, nogil=True, schedule="static", num_threads=threads):
                thread = threadid()
                if k > begins[k]:
                    similarities[k] = <int32_t> _similarity(
                        vectors, k, begins[k], ends[k], window,
                        scratch + 2 * dimension * thread, scratch + 2 * dimension * thread + dimension,
                    )
    finally:
        free(scratch)
    return similarities_array


def scores_from_similarities(
    const int32_t[::1] similarities not None,
    const int64_t[::1] doc_offsets not None,
    int64_t weight,
    int64_t clip_z_percent,
):
    """Each document's gaps smoothed and scored against its own level (integer arithmetic only), as int32."""
    cdef Py_ssize_t count = similarities.shape[0]
    cdef Py_ssize_t doc_count = doc_offsets.shape[0] - 1
    cdef Py_ssize_t doc, begin, end
    if doc_count < 0 or doc_offsets[0] != 0 or doc_offsets[doc_count] != count:
        raise ValueError("doc_offsets must start at 0 and end at the number of similarities")
    if clip_z_percent < 1 or weight < 0:
        raise ValueError("clip_z_percent >= 1 and weight >= 0 are required")
    if weight > 2**31 - 1:
        raise ValueError("weight must fit in int32")
    scores_array = np.zeros(count, dtype=np.int32)
    if count == 0:
        return scores_array
    cdef int32_t[::1] scores = scores_array
    with nogil:
        for doc in range(doc_count):
            begin = doc_offsets[doc]
            end = doc_offsets[doc + 1]
            if end - begin >= 2:
                _score_doc(&similarities[begin + 1], end - begin - 1, weight, clip_z_percent, &scores[begin + 1])
    return scores_array


def gap_scores(
    const float[:, ::1] vectors not None,
    const int64_t[::1] doc_offsets not None,
    Py_ssize_t window,
    int64_t weight,
    int64_t clip_z_percent,
):
    """Semantic score per unit (see chunkwise.chunking._scores.gap_scores for the contract)."""
    if window < 1 or clip_z_percent < 1 or weight < 0:
        raise ValueError("window >= 1, clip_z_percent >= 1 and weight >= 0 are required")
    return scores_from_similarities(gap_similarities(vectors, doc_offsets, window), doc_offsets, weight, clip_z_percent)
