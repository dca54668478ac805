"""Compiled segmentation; the pure-Python twin is chunkwise/segment.py.

The str is read in place (PyUnicode_READ) and lines, sentence cuts and spans
live in C buffers while the GIL is released; the Span list is built at the
end. Character tables come from the twin's constants (loaded once, at import)
and the rare checks that need Python (a non-ASCII word before a period, a
line that may start a record, an unusual list marker) call the twin's own
helpers, so the two agree by construction there. Every other step mirrors a
line of the twin; keep them in step.
"""

from cpython.object cimport PyObject
from libc.stdint cimport int32_t, uint16_t, uint64_t
from libc.stdlib cimport free, realloc
from cython.view cimport array as cvarray

import numpy as np

from chunkwise._types import Span
from chunkwise.text.segmentation import (
    _ABBREVIATION_CLOSERS,
    _BULLETS,
    _CJK_RANGES,
    _CJK_TERMINALS,
    _CLAUSE_ENDS,
    _CLOSERS,
    _LIST_ITEM,
    _RECORD_START,
    _STRUCTURE_FIRST_CHARS,
    _TERMINALS,
    _THAI_CONTINUATIONS,
    _THAI_MIN_SENTENCE_CHARS,
    _THAI_RANGES,
    ABBREVIATIONS,
    Break,
    _period_continues,
)

cdef extern from "Python.h":
    Py_UCS4 cw_read "PyUnicode_READ"(int kind, const void* data, Py_ssize_t index) nogil
    bint cw_isspace "Py_UNICODE_ISSPACE"(Py_UCS4 ch) nogil
    bint cw_isalnum "Py_UNICODE_ISALNUM"(Py_UCS4 ch) nogil
    bint cw_isalpha "Py_UNICODE_ISALPHA"(Py_UCS4 ch) nogil
    bint cw_isupper "Py_UNICODE_ISUPPER"(Py_UCS4 ch) nogil
    bint cw_islower "Py_UNICODE_ISLOWER"(Py_UCS4 ch) nogil
    int cw_kind "PyUnicode_KIND"(object o)
    void* cw_data "PyUnicode_DATA"(object o)
    Py_ssize_t cw_length "PyUnicode_GET_LENGTH"(object o)

cdef extern from *:
    """
    #if PY_VERSION_HEX < 0x030C0000
    #define CW_SEG_READY(o) PyUnicode_READY(o)
    #else
    #define CW_SEG_READY(o) 0
    #endif
    """
    int cw_ready "CW_SEG_READY"(object o) except -1

# Span kinds and Break strengths as small ints while in C.
cdef enum:
    K_SENTENCE = 0
    K_PARAGRAPH = 1
    K_LIST_ITEM = 2
    K_CODE = 3
    K_HEADING = 4
    K_LINE = 5
    K_TABLE = 6

cdef enum:
    B_CLAUSE = 2
    B_SENTENCE = 3
    B_LINE = 4
    B_ITEM = 5
    B_PARAGRAPH = 6
    B_SECTION = 7

_KIND_NAMES = ("sentence", "paragraph", "list_item", "code", "heading", "line", "table")
# The buffer-protocol letter of Py_ssize_t (long on LP64 systems, long long on Windows).
_SSIZE_FORMAT = "l" if sizeof(Py_ssize_t) == sizeof(long) else "q"
_BREAKS = tuple(sorted(Break))

# Character classes, one bit each, for the Basic Multilingual Plane.
cdef enum:
    C_TERMINAL = 1
    C_CLOSER = 2
    C_CJK = 4
    C_THAI = 8
    C_CJK_TERMINAL = 16
    C_ABBREVIATION_CLOSER = 32
    C_CLAUSE_END = 64
    C_BULLET = 128
    C_STRUCTURE_FIRST = 256

cdef enum:
    MAX_ASTRAL_RANGES = 64
    MAX_ABBREVIATIONS = 1024
    MAX_CONTINUATIONS = 64
    MAX_CONTINUATION_CHARS = 16

cdef uint16_t CLASS_TABLE[65536]
cdef Py_UCS4 ASTRAL_CJK_LO[MAX_ASTRAL_RANGES]
cdef Py_UCS4 ASTRAL_CJK_HI[MAX_ASTRAL_RANGES]
cdef Py_ssize_t ASTRAL_CJK_COUNT = 0
# ABBREVIATIONS packed as up to 8 ASCII bytes in a uint64, sorted; when an entry
# does not fit, every lookup goes to the twin's helper instead.
cdef uint64_t ABBREVIATION_KEYS[MAX_ABBREVIATIONS]
cdef Py_ssize_t ABBREVIATION_COUNT = 0
cdef bint ABBREVIATIONS_PACKED = False
cdef Py_UCS4 CONTINUATIONS[MAX_CONTINUATIONS][MAX_CONTINUATION_CHARS]
cdef Py_ssize_t CONTINUATION_LENGTHS[MAX_CONTINUATIONS]
cdef Py_ssize_t CONTINUATION_COUNT = 0
cdef Py_ssize_t THAI_MIN_CHARS = _THAI_MIN_SENTENCE_CHARS


cdef int _mark(str chars, uint16_t bit) except -1:
    cdef Py_UCS4 c
    for c in chars:
        if c >= 0x10000:
            raise ValueError(f"segment tables: {c!r} is outside the BMP")
        CLASS_TABLE[c] |= bit
    return 0


cdef int _mark_ranges(ranges, uint16_t bit, bint astral_allowed) except -1:
    global ASTRAL_CJK_COUNT
    cdef long lo, hi, c
    for lo, hi in ranges:
        for c in range(lo, min(hi, 0xFFFF) + 1):
            CLASS_TABLE[c] |= bit
        if hi >= 0x10000:
            if not astral_allowed or ASTRAL_CJK_COUNT >= MAX_ASTRAL_RANGES:
                raise ValueError("segment tables: too many astral ranges")
            ASTRAL_CJK_LO[ASTRAL_CJK_COUNT] = max(lo, 0x10000)
            ASTRAL_CJK_HI[ASTRAL_CJK_COUNT] = hi
            ASTRAL_CJK_COUNT += 1
    return 0


cdef uint64_t _pack(str word):
    cdef uint64_t key = 0
    cdef Py_ssize_t i
    for i in range(len(word)):
        key |= (<uint64_t>ord(word[i])) << (8 * i)
    return key


cdef int _load_tables() except -1:
    global ABBREVIATION_COUNT, ABBREVIATIONS_PACKED, CONTINUATION_COUNT
    cdef Py_ssize_t i, j
    _mark(_TERMINALS, C_TERMINAL)
    _mark(_CLOSERS, C_CLOSER)
    _mark(_CJK_TERMINALS, C_CJK_TERMINAL)
    _mark(_ABBREVIATION_CLOSERS, C_ABBREVIATION_CLOSER)
    _mark(_CLAUSE_ENDS, C_CLAUSE_END)
    _mark(_BULLETS, C_BULLET)
    _mark(_STRUCTURE_FIRST_CHARS, C_STRUCTURE_FIRST)
    _mark_ranges(sorted(_CJK_RANGES), C_CJK, True)
    _mark_ranges(_THAI_RANGES, C_THAI, False)
    words = sorted(ABBREVIATIONS)
    ABBREVIATIONS_PACKED = len(words) <= MAX_ABBREVIATIONS and all(
        0 < len(w) <= 8 and w.isascii() for w in words
    )
    if ABBREVIATIONS_PACKED:
        keys = sorted(_pack(w) for w in words)
        for i in range(len(keys)):
            ABBREVIATION_KEYS[i] = keys[i]
        ABBREVIATION_COUNT = len(keys)
    if len(_THAI_CONTINUATIONS) > MAX_CONTINUATIONS:
        raise ValueError("segment tables: too many Thai continuations")
    for i, word in enumerate(_THAI_CONTINUATIONS):
        if not 0 < len(word) <= MAX_CONTINUATION_CHARS:
            raise ValueError(f"segment tables: Thai continuation {word!r} is too long")
        for j in range(len(word)):
            CONTINUATIONS[i][j] = ord(word[j])
        CONTINUATION_LENGTHS[i] = len(word)
    CONTINUATION_COUNT = len(_THAI_CONTINUATIONS)
    return 0


_load_tables()


cdef inline uint16_t _class(Py_UCS4 c) noexcept nogil:
    cdef Py_ssize_t lo, hi, mid
    if c < 0x10000:
        return CLASS_TABLE[c]
    lo = 0
    hi = ASTRAL_CJK_COUNT
    while lo < hi:
        mid = (lo + hi) // 2
        if c > ASTRAL_CJK_HI[mid]:
            lo = mid + 1
        elif c < ASTRAL_CJK_LO[mid]:
            hi = mid
        else:
            return C_CJK
    return 0


def char_classes(Py_UCS4 c):
    """Bit mask of the classes of ``c`` (for the tests that compare the tables with the twin's)."""
    return _class(c)


cdef inline bint _regex_space(Py_UCS4 c) noexcept nogil:
    # The regex module's \s: str.isspace() less the separators U+001C..U+001F.
    return cw_isspace(c) and not (0x1C <= c <= 0x1F)


cdef inline bint _newline(Py_UCS4 c) noexcept nogil:
    # The twin's _NEWLINE: \n \v \f \r, U+0085, U+2028, U+2029.
    if c <= 0x0D:
        return c >= 0x0A
    return c == 0x85 or c == 0x2028 or c == 0x2029


cdef inline bint _thai_space(Py_UCS4 c) noexcept nogil:
    return c == 0x20 or c == 0xA0


cdef bint _abbreviation_known(uint64_t key) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = ABBREVIATION_COUNT, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if ABBREVIATION_KEYS[mid] < key:
            lo = mid + 1
        elif ABBREVIATION_KEYS[mid] > key:
            hi = mid
        else:
            return True
    return False


cdef struct Vec:
    Py_ssize_t* data
    Py_ssize_t size
    Py_ssize_t capacity


cdef struct Vec32:
    int32_t* data
    Py_ssize_t size
    Py_ssize_t capacity


cdef int _grow_buffer(void** data, Py_ssize_t* capacity, Py_ssize_t needed, size_t itemsize) except -1 nogil:
    """Double ``capacity`` (from 64) until ``needed`` items fit, reallocating ``data``."""
    cdef Py_ssize_t wanted = capacity[0] if capacity[0] else 64
    cdef void* grown
    while wanted < needed:
        wanted *= 2
    grown = realloc(data[0], wanted * itemsize)
    if grown == NULL:
        with gil:
            raise MemoryError()
    data[0] = grown
    capacity[0] = wanted
    return 0


cdef inline int _grow(Vec* v, Py_ssize_t extra) except -1 nogil:
    return _grow_buffer(<void**>&v.data, &v.capacity, v.size + extra, sizeof(Py_ssize_t))


cdef inline int _grow32(Vec32* v, Py_ssize_t extra) except -1 nogil:
    return _grow_buffer(<void**>&v.data, &v.capacity, v.size + extra, sizeof(int32_t))


cdef inline int _push(Vec* v, Py_ssize_t x) except -1 nogil:
    if v.size + 1 > v.capacity:
        _grow(v, 1)
    v.data[v.size] = x
    v.size += 1
    return 0


cdef inline int _push2(Vec* v, Py_ssize_t x, Py_ssize_t y) except -1 nogil:
    if v.size + 2 > v.capacity:
        _grow(v, 2)
    v.data[v.size] = x
    v.data[v.size + 1] = y
    v.size += 2
    return 0


cdef struct State:
    PyObject* text
    int kind
    const void* data
    Py_ssize_t n
    bint thai
    Vec cuts  # sentence ends of the whole text, ascending
    Vec spans  # (start, end, kind, break) per span
    bint narrow  # spans go to spans32 instead (a text under 2**31 characters)
    Vec32 spans32  # the same rows as int32: 16 bytes a unit, and no wide buffer to narrow
    Vec lines  # (start, end) per line of the open paragraph
    Vec forced  # line starts inside the paragraph that end a record
    Vec merged  # (offset, break) pairs: forced and sentence cuts of one region
    Vec thai_cuts  # (offset, break) pairs
    Vec all_cuts  # (offset, break) pairs: merged and thai_cuts
    bint paragraph_open
    Py_ssize_t paragraph_break
    Py_ssize_t paragraph_kind


cdef inline Py_UCS4 _at(const State* st, Py_ssize_t i) noexcept nogil:
    return cw_read(st.kind, st.data, i)


cdef inline void _strip(const State* st, Py_ssize_t start, Py_ssize_t end, Py_ssize_t* out_start, Py_ssize_t* out_end) noexcept nogil:
    while start < end and cw_isspace(_at(st, start)):
        start += 1
    while end > start and cw_isspace(_at(st, end - 1)):
        end -= 1
    out_start[0] = start
    out_end[0] = end


cdef inline int _emit(State* st, Py_ssize_t start, Py_ssize_t end, Py_ssize_t kind, Py_ssize_t strength) except -1 nogil:
    if st.narrow:
        if st.spans32.size + 4 > st.spans32.capacity:
            _grow32(&st.spans32, 4)
        st.spans32.data[st.spans32.size] = <int32_t>start
        st.spans32.data[st.spans32.size + 1] = <int32_t>end
        st.spans32.data[st.spans32.size + 2] = <int32_t>kind
        st.spans32.data[st.spans32.size + 3] = <int32_t>strength
        st.spans32.size += 4
        return 0
    if st.spans.size + 4 > st.spans.capacity:
        _grow(&st.spans, 4)
    st.spans.data[st.spans.size] = start
    st.spans.data[st.spans.size + 1] = end
    st.spans.data[st.spans.size + 2] = kind
    st.spans.data[st.spans.size + 3] = strength
    st.spans.size += 4
    return 0


# ---------------------------------------------------------------- sentence ends


cdef int _period_continues_c(const State* st, Py_ssize_t word_start, Py_ssize_t word_end) except -1 nogil:
    """The twin's _period_continues(text[word_start:word_end]); ASCII words in C, others through it."""
    cdef Py_ssize_t i, bare_length = 0
    cdef Py_UCS4 c
    cdef uint64_t key = 0
    cdef bint has_dot = False, all_digits = True, ascii = True
    for i in range(word_start, word_end):
        c = _at(st, i)
        if c >= 128:
            ascii = False
            break
        if c == 0x2E:  # "."
            has_dot = True
            all_digits = False
            continue
        if not (0x30 <= c <= 0x39):
            all_digits = False
        if bare_length < 8:
            # ASCII lower(): A-Z gain 0x20.
            key |= (<uint64_t>c + (0x20 if 0x41 <= c <= 0x5A else 0)) << (8 * bare_length)
        bare_length += 1
    if not ascii or not ABBREVIATIONS_PACKED:
        with gil:
            return 1 if _period_continues((<object>st.text)[word_start:word_end]) else 0
    if bare_length <= 8 and _abbreviation_known(key):
        return 1
    c = _at(st, word_start)
    if word_end - word_start == 1 and 0x41 <= c <= 0x5A:
        return 1  # an initial
    if has_dot and bare_length <= 4:
        return 1
    if all_digits and word_end - word_start <= 2:
        return 1
    return 0


cdef int _is_sentence_end(const State* st, Py_ssize_t punct_start, Py_ssize_t punct_end, Py_ssize_t after) except -1 nogil:
    cdef Py_UCS4 next_char, c
    cdef Py_ssize_t k, word_start, floor
    if after >= st.n:
        return 1
    next_char = _at(st, after)
    if (_class(_at(st, punct_start)) & C_CJK_TERMINAL) or (_class(_at(st, punct_end - 1)) & C_CJK_TERMINAL):
        return 1
    if after == punct_end:
        return 1 if _class(next_char) & C_CJK else 0
    if cw_islower(next_char):
        return 0
    if _at(st, punct_start) == 0x2E:
        k = punct_end
        while k > punct_start and (_class(_at(st, k - 1)) & C_ABBREVIATION_CLOSER):
            k -= 1
        if k - punct_start == 1:
            word_start = punct_start
            floor = punct_start - 40 if punct_start > 40 else 0
            while word_start > floor:
                c = _at(st, word_start - 1)
                if cw_isalnum(c) or c == 0x2E or c == 0x27 or c == 0x2D:  # . ' -
                    word_start -= 1
                else:
                    break
            while word_start < punct_start and not cw_isalnum(_at(st, word_start)):
                word_start += 1
            if word_start < punct_start and _period_continues_c(st, word_start, punct_start):
                return 0
    return 1


cdef int _find_sentence_cuts(State* st) except -1 nogil:
    cdef Py_ssize_t i = 0, j, punct_start, punct_end, n = st.n
    while i < n:
        if not (_class(_at(st, i)) & C_TERMINAL):
            i += 1
            continue
        punct_start = i
        j = i + 1
        while j < n and (_class(_at(st, j)) & C_TERMINAL):
            j += 1
        while j < n and (_class(_at(st, j)) & C_CLOSER):
            j += 1
        punct_end = j
        while j < n and _regex_space(_at(st, j)):
            j += 1
        if _is_sentence_end(st, punct_start, punct_end, j):
            _push(&st.cuts, j)
        i = j
    return 0


cdef bint _has_thai_space(const State* st) noexcept nogil:
    cdef Py_ssize_t i = 0, j, n = st.n
    while i < n:
        if _class(_at(st, i)) & C_THAI:
            j = i + 1
            while j < n and _thai_space(_at(st, j)):
                j += 1
            if j > i + 1 and j < n and (_class(_at(st, j)) & C_THAI):
                return True
            i = j
        else:
            i += 1
    return False


cdef bint _thai_continues(const State* st, Py_ssize_t position) noexcept nogil:
    cdef Py_ssize_t w, k, length
    for w in range(CONTINUATION_COUNT):
        length = CONTINUATION_LENGTHS[w]
        if position + length > st.n:
            continue
        for k in range(length):
            if _at(st, position + k) != CONTINUATIONS[w][k]:
                break
        else:
            return True
    return False


cdef Py_ssize_t _bisect_right(const Vec* v, Py_ssize_t x) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = v.size, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if x < v.data[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef Py_ssize_t _bisect_left(const Vec* v, Py_ssize_t x) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = v.size, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if v.data[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int _thai_region_cuts(State* st, Py_ssize_t start, Py_ssize_t end) except -1 nogil:
    """The twin's Thai loop in _sentences: a cut after each space run between Thai letters."""
    cdef Py_ssize_t i = start, j, cut, last_end = start, p = 0
    cdef const Vec* merged = &st.merged
    st.thai_cuts.size = 0
    while i < end:
        if _thai_space(_at(st, i)) and i > 0 and (_class(_at(st, i - 1)) & C_THAI):
            j = i + 1
            while j < end and _thai_space(_at(st, j)):
                j += 1
            if j < end and (_class(_at(st, j)) & C_THAI):
                cut = j
                while p < merged.size and merged.data[p] < cut:
                    p += 2
                if not (p < merged.size and merged.data[p] == cut):
                    if cut - last_end >= THAI_MIN_CHARS and not _thai_continues(st, cut):
                        _push2(&st.thai_cuts, cut, B_SENTENCE)
                        last_end = cut
                    else:
                        _push2(&st.thai_cuts, cut, B_CLAUSE)
            i = j
        else:
            i += 1
    return 0


cdef int _sentences(State* st, Py_ssize_t start, Py_ssize_t end, Py_ssize_t first_break, Py_ssize_t kind) except -1 nogil:
    """The twin's _sentences over the region [start, end), cut also at st.forced; the first span gets ``kind``."""
    cdef Py_ssize_t low = _bisect_right(&st.cuts, start)
    cdef Py_ssize_t high = _bisect_left(&st.cuts, end)
    cdef Py_ssize_t a, b, unit_start, unit_end, previous, strength, cut, cut_strength, k
    cdef const Vec* cuts
    cdef Vec* forced = &st.forced
    if low == high and forced.size == 0 and not st.thai:
        _strip(st, start, end, &unit_start, &unit_end)
        if unit_start < unit_end:
            _emit(st, unit_start, unit_end, kind, first_break)
        return 0
    # Forced line cuts (LINE) merged with the sentence cuts inside (SENTENCE); LINE wins a tie.
    st.merged.size = 0
    a = 0
    b = low
    while a < forced.size or b < high:
        if b >= high or (a < forced.size and forced.data[a] < st.cuts.data[b]):
            _push2(&st.merged, forced.data[a], B_LINE)
            a += 1
        elif a >= forced.size or st.cuts.data[b] < forced.data[a]:
            _push2(&st.merged, st.cuts.data[b], B_SENTENCE)
            b += 1
        else:
            _push2(&st.merged, forced.data[a], B_LINE)
            a += 1
            b += 1
    cuts = &st.merged
    if st.thai:
        _thai_region_cuts(st, start, end)
        if st.thai_cuts.size:
            st.all_cuts.size = 0
            a = 0
            b = 0
            while a < st.merged.size or b < st.thai_cuts.size:
                if b >= st.thai_cuts.size or (a < st.merged.size and st.merged.data[a] < st.thai_cuts.data[b]):
                    _push2(&st.all_cuts, st.merged.data[a], st.merged.data[a + 1])
                    a += 2
                else:
                    _push2(&st.all_cuts, st.thai_cuts.data[b], st.thai_cuts.data[b + 1])
                    b += 2
            cuts = &st.all_cuts
    previous = start
    strength = first_break
    for k in range(0, cuts.size, 2):
        cut = cuts.data[k]
        cut_strength = cuts.data[k + 1]
        _strip(st, previous, cut, &unit_start, &unit_end)
        if unit_start < unit_end:
            _emit(st, unit_start, unit_end, kind, strength)
            kind = K_SENTENCE
            strength = cut_strength
        elif cut_strength > strength:
            strength = cut_strength
        previous = cut
    _strip(st, previous, end, &unit_start, &unit_end)
    if unit_start < unit_end:
        _emit(st, unit_start, unit_end, kind, strength)
    return 0


# ---------------------------------------------------------------- paragraphs and lines


cdef int _starts_record(const State* st, Py_ssize_t line_start, Py_ssize_t line_end) except -1 nogil:
    """The twin's _starts_record: cheap checks here, the regex through the GIL."""
    cdef Py_ssize_t first_position = line_start, i, limit
    cdef Py_UCS4 first
    cdef bint colon = False
    while first_position < line_end and (_at(st, first_position) == 0x20 or _at(st, first_position) == 0x09):
        first_position += 1
    if first_position >= line_end:
        return 0
    first = _at(st, first_position)
    if not (first == 0x3E or first == 0x5B or 0x30 <= first <= 0x39):  # > [ digit
        if not cw_isupper(first):
            return 0
        limit = first_position + 30 if first_position + 30 < st.n else st.n
        for i in range(first_position, limit):
            if _at(st, i) == 0x3A:  # ":"
                colon = True
                break
        if not colon:
            return 0
    with gil:
        return 0 if _RECORD_START.match(<object>st.text, line_start, line_end) is None else 1


cdef int _flush(State* st) except -1 nogil:
    """The twin's _Paragraph.spans for the open paragraph, then close it."""
    cdef Py_ssize_t line_count, longest = 0, k, prev_start, prev_end, line_start, line_end, r
    cdef bint ends_clause, ragged
    cdef Py_ssize_t* lines = st.lines.data
    if not st.paragraph_open:
        return 0
    st.paragraph_open = False
    st.forced.size = 0
    line_count = st.lines.size // 2
    if line_count == 1:
        return _sentences(st, lines[0], lines[1], st.paragraph_break, st.paragraph_kind)
    for k in range(line_count):
        if lines[2 * k + 1] - lines[2 * k] > longest:
            longest = lines[2 * k + 1] - lines[2 * k]
    for k in range(1, line_count):
        prev_start = lines[2 * k - 2]
        prev_end = lines[2 * k - 1]
        line_start = lines[2 * k]
        line_end = lines[2 * k + 1]
        r = prev_end
        while r > prev_start and cw_isspace(_at(st, r - 1)):
            r -= 1
        ends_clause = r > prev_start and (_class(_at(st, r - 1)) & C_CLAUSE_END) != 0
        ragged = longest > 40 and <double>(prev_end - prev_start) < 0.6 * <double>longest
        if ends_clause or ragged or _starts_record(st, line_start, line_end):
            _push(&st.forced, line_start)
    return _sentences(st, lines[0], lines[2 * line_count - 1], st.paragraph_break, st.paragraph_kind)


cdef inline int _open_paragraph(State* st, Py_ssize_t first_break, Py_ssize_t kind, Py_ssize_t line_start, Py_ssize_t line_end) except -1 nogil:
    st.paragraph_open = True
    st.paragraph_break = first_break
    st.paragraph_kind = kind
    st.lines.size = 0
    _push2(&st.lines, line_start, line_end)
    return 0


cdef inline Py_ssize_t _leading_spaces(const State* st, Py_ssize_t line_start, Py_ssize_t line_end) noexcept nogil:
    cdef Py_ssize_t i = line_start
    while i < line_end and _at(st, i) == 0x20:
        i += 1
    return i - line_start


cdef Py_ssize_t _fence_open(const State* st, Py_ssize_t line_start, Py_ssize_t line_end) noexcept nogil:
    """Length of the twin's _FENCE group 1 at the line (0: no fence)."""
    cdef Py_ssize_t p, q
    cdef Py_UCS4 marker
    p = line_start + _leading_spaces(st, line_start, line_end)
    if p - line_start > 3 or p >= line_end:
        return 0
    marker = _at(st, p)
    if marker != 0x60 and marker != 0x7E:  # ` ~
        return 0
    q = p
    while q < line_end and _at(st, q) == marker:
        q += 1
    return q - p if q - p >= 3 else 0


cdef bint _heading_or_rule(const State* st, Py_ssize_t line_start, Py_ssize_t line_end) noexcept nogil:
    """The twin's _HEADING or _RULE matches the line."""
    cdef Py_ssize_t p, q, count = 0
    cdef Py_UCS4 marker, c
    p = line_start + _leading_spaces(st, line_start, line_end)
    if p - line_start > 3 or p >= line_end:
        return False
    marker = _at(st, p)
    if marker == 0x23:  # "#"
        q = p
        while q < line_end and _at(st, q) == 0x23:
            q += 1
        if q - p > 6:
            return False
        return q == line_end or _at(st, q) == 0x20 or _at(st, q) == 0x09
    if marker != 0x2D and marker != 0x2A and marker != 0x5F:  # - * _
        return False
    for q in range(p, line_end):
        c = _at(st, q)
        if c == marker:
            count += 1
        elif c != 0x20 and c != 0x09:
            return False
    return count >= 3


cdef bint _table_row(const State* st, Py_ssize_t line_start, Py_ssize_t line_end) noexcept nogil:
    cdef Py_ssize_t i = line_start
    while i < line_end and _regex_space(_at(st, i)):
        i += 1
    return i < line_end and _at(st, i) == 0x7C  # "|"


cdef int _list_item(const State* st, Py_ssize_t line_start, Py_ssize_t line_end) except -1 nogil:
    """The twin's _LIST_ITEM matches the line; a non-ASCII digit candidate goes to the regex."""
    cdef Py_ssize_t i = line_start, j, digits
    cdef Py_UCS4 c
    while i < line_end and _regex_space(_at(st, i)):
        i += 1
    if i >= line_end:
        return 0
    c = _at(st, i)
    if _class(c) & C_BULLET:
        j = i + 1
    elif 0x30 <= c <= 0x39:
        j = i + 1
        digits = 1
        while digits < 3 and j < line_end:
            c = _at(st, j)
            if 0x30 <= c <= 0x39:
                j += 1
                digits += 1
            elif c >= 128:
                with gil:
                    return 0 if _LIST_ITEM.match(<object>st.text, line_start, line_end) is None else 1
            else:
                break
        if j >= line_end or not (_at(st, j) == 0x2E or _at(st, j) == 0x29):
            return 0
        j += 1
    elif (0x41 <= c <= 0x5A) or (0x61 <= c <= 0x7A):
        j = i + 1
        if j >= line_end or not (_at(st, j) == 0x2E or _at(st, j) == 0x29):
            return 0
        j += 1
    else:
        return 0
    if j >= line_end or not _regex_space(_at(st, j)):
        return 0
    while j < line_end and _regex_space(_at(st, j)):
        j += 1
    return 1 if j < line_end else 0


cdef int _line(State* st, Py_ssize_t line_start, Py_ssize_t line_end, bint markdown,
               Py_ssize_t* pending, Py_UCS4* fence_char, Py_ssize_t* fence_length) except -1 nogil:
    """One line of the twin's main loop; fence_length 0 means outside a fence."""
    cdef Py_ssize_t content_start, content_end, i, run
    cdef Py_UCS4 first, second
    cdef bint maybe_structure, closes
    _strip(st, line_start, line_end, &content_start, &content_end)
    if fence_length[0]:
        if content_start == content_end:
            if pending[0] < B_PARAGRAPH:
                pending[0] = B_PARAGRAPH
            return 0
        _emit(st, content_start, content_end, K_CODE, pending[0] if pending[0] > B_LINE else B_LINE)
        pending[0] = B_LINE
        closes = content_end - content_start >= fence_length[0]
        if closes:
            for i in range(content_start, content_end):
                if _at(st, i) != fence_char[0]:
                    closes = False
                    break
        if closes:
            fence_length[0] = 0
            pending[0] = B_PARAGRAPH
        return 0
    if content_start == content_end:
        _flush(st)
        if pending[0] < B_PARAGRAPH:
            pending[0] = B_PARAGRAPH
        return 0
    first = _at(st, content_start)
    maybe_structure = (_class(first) & C_STRUCTURE_FIRST) != 0
    if not maybe_structure and content_start + 1 < content_end and cw_isalpha(first):
        second = _at(st, content_start + 1)
        maybe_structure = second == 0x2E or second == 0x29
    if markdown and maybe_structure:
        run = _fence_open(st, line_start, line_end)
        if run:
            _flush(st)
            fence_char[0] = _at(st, line_start + _leading_spaces(st, line_start, line_end))
            fence_length[0] = run
            _emit(st, content_start, content_end, K_CODE, pending[0] if pending[0] > B_PARAGRAPH else B_PARAGRAPH)
            pending[0] = B_LINE
            return 0
        if _heading_or_rule(st, line_start, line_end):
            _flush(st)
            if first == 0x23:
                _emit(st, content_start, content_end, K_HEADING, B_SECTION)
                pending[0] = B_PARAGRAPH
            else:
                _emit(st, content_start, content_end, K_LINE, B_SECTION)
                pending[0] = B_SECTION
            return 0
        if _table_row(st, line_start, line_end):
            _flush(st)
            _emit(st, content_start, content_end, K_TABLE, pending[0] if pending[0] > B_LINE else B_LINE)
            pending[0] = B_LINE
            return 0
        if _list_item(st, line_start, line_end):
            _flush(st)
            _open_paragraph(st, pending[0] if pending[0] > B_ITEM else B_ITEM, K_LIST_ITEM, line_start, line_end)
            pending[0] = B_LINE
            return 0
    if not st.paragraph_open:
        _open_paragraph(st, pending[0], K_PARAGRAPH, line_start, line_end)
    else:
        _push2(&st.lines, line_start, line_end)
    pending[0] = B_LINE
    return 0


cdef int _run(State* st, bint markdown) except -1 nogil:
    cdef Py_ssize_t position = 0, line_end, n = st.n
    cdef Py_ssize_t pending = B_SECTION, fence_length = 0
    cdef Py_UCS4 fence_char = 0
    _find_sentence_cuts(st)
    st.thai = _has_thai_space(st)
    while True:
        line_end = position
        while line_end < n and not _newline(_at(st, line_end)):
            line_end += 1
        _line(st, position, line_end, markdown, &pending, &fence_char, &fence_length)
        if line_end >= n:
            break
        if _at(st, line_end) == 0x0D and line_end + 1 < n and _at(st, line_end + 1) == 0x0A:
            position = line_end + 2
        else:
            position = line_end + 1
    _flush(st)
    return 0


cdef int _segment_into(State* st, text, bint markdown) except -1:
    """Run the segmenter over ``text``; the spans are left in ``st.spans`` (4 values each)."""
    if not isinstance(text, str):
        raise TypeError(f"segment() needs a str, got {type(text).__name__}")
    cw_ready(text)
    st.text = <PyObject*>text
    st.kind = cw_kind(text)
    st.data = cw_data(text)
    st.n = cw_length(text)
    with nogil:
        _run(st, markdown)
    return 0


cdef State _empty_state():
    cdef State st
    st.thai = False
    st.cuts = Vec(NULL, 0, 0)
    st.spans = Vec(NULL, 0, 0)
    st.lines = Vec(NULL, 0, 0)
    st.forced = Vec(NULL, 0, 0)
    st.merged = Vec(NULL, 0, 0)
    st.thai_cuts = Vec(NULL, 0, 0)
    st.all_cuts = Vec(NULL, 0, 0)
    st.narrow = False
    st.spans32 = Vec32(NULL, 0, 0)
    st.paragraph_open = False
    st.paragraph_break = 0
    st.paragraph_kind = K_PARAGRAPH
    return st


cdef void _free_state(State* st) noexcept:
    free(st.cuts.data)
    free(st.spans.data)
    free(st.spans32.data)
    free(st.lines.data)
    free(st.forced.data)
    free(st.merged.data)
    free(st.thai_cuts.data)
    free(st.all_cuts.data)


def segment(text, bint markdown=True):
    """Compiled twin of ``chunkwise.text.segmentation._segment_python``: the same list of Spans."""
    cdef State st = _empty_state()
    cdef Py_ssize_t k
    cdef Py_ssize_t* data
    try:
        _segment_into(&st, text, markdown)
        kinds = _KIND_NAMES
        breaks = _BREAKS
        new_span = tuple.__new__
        span_type = Span
        data = st.spans.data
        result = []
        for k in range(0, st.spans.size, 4):
            result.append(new_span(span_type, (data[k], data[k + 1], kinds[data[k + 2]], breaks[data[k + 3]])))
        return result
    finally:
        _free_state(&st)


def segment_rows(text, bint markdown=True, bint narrow=False):
    """The spans of ``segment`` as an (n, 4) array of [start, end, kind code, break]: no object per span.

    The kind code indexes ``_KIND_NAMES``. The C buffer the spans were written to
    becomes the array's memory (no copy): 32 bytes a unit, or 16 with ``narrow``
    (int32, written as such; only for a text under 2**31 characters).
    """
    cdef State st = _empty_state()
    cdef Py_ssize_t rows, size
    cdef cvarray view
    cdef void* shrunk
    if narrow and cw_length(text) >= 2147483647:
        raise ValueError("narrow=True needs a text under 2**31 characters")
    st.narrow = narrow
    try:
        _segment_into(&st, text, markdown)
        size = st.spans32.size if narrow else st.spans.size
        rows = size // 4
        if rows == 0:
            return np.zeros((0, 4), dtype=np.int32 if narrow else np.intp)
        if narrow:
            shrunk = realloc(st.spans32.data, size * sizeof(int32_t))
            if shrunk != NULL:
                st.spans32.data = <int32_t*>shrunk
            view = cvarray(shape=(rows, 4), itemsize=sizeof(int32_t), format="i", mode="c", allocate_buffer=False)
            view.data = <char*>st.spans32.data
            st.spans32.data = NULL  # the array owns it now
        else:
            shrunk = realloc(st.spans.data, size * sizeof(Py_ssize_t))
            if shrunk != NULL:
                st.spans.data = <Py_ssize_t*>shrunk
            view = cvarray(shape=(rows, 4), itemsize=sizeof(Py_ssize_t), format=_SSIZE_FORMAT, mode="c", allocate_buffer=False)
            view.data = <char*>st.spans.data
            st.spans.data = NULL  # the array owns it now
        view.callback_free_data = free
        return np.asarray(view)
    finally:
        _free_state(&st)
