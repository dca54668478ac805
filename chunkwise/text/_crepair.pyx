# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled steps of ftfy's ``fix_encoding``; the pure-Python twin is ``_encoding_repair._Mirror``.

The twin reaches each decision with one of ftfy's regexes; this module reaches the
same decision with a table read over the str in place. The tables are built by
the twin's module from those regexes themselves (``_encoding_repair.compiled_tables``),
so the two agree by construction, and ``tests/test_encoding_repair.py`` compares
them with ftfy on generated segments:

* ``is_bad`` (ftfy's badness regex, an alternation of fixed-length sequences of
  one-character classes) is a shift-and automaton: one bit per position of each
  sequence, one table row of bits per BMP code point;
* the possible codecs are an AND of one bit mask per code point, not ten set tests,
  and a text is encoded by a table per codec (filled by the codec, character by
  character) rather than through the codec's Python function;
* the UTF-8 detector (a lookbehind class, then one or more of a few fixed
  sequences) is matched as ``re.sub`` would: left to right, the first sequence that
  fits at each repetition, no overlap; over a byte of its flags per character,
  read once per text;
* ftfy's byte regexes (``restore_byte_a0``'s test, ``replace_lossy_sequences``) are
  not run on bytes with none of the bytes that each of their sequences needs (a space;
  0x1A or "?"), and a decode that must fail (a byte that starts no UTF-8 sequence, one
  cut short, a byte windows-1252 leaves undefined) is not tried;
* ``replace_lossy_sequences`` (its regex: alternatives of fixed byte sequences) is a
  scan taking, at each position, the first alternative that fits, as ``re.sub`` does,
  skipping the bytes too far before the next 0x1A or "?" for any match to start there;
* C1 controls are found and replaced by a loop over the same table (``str.translate``
  with a dict raised and cleared a KeyError for every character it does not map);
* ``judge_all`` is ``_fixes._judge`` over a list of segments, the hiding characters
  and controls it removes read from a BMP table (both classes are BMP only).

``hint_segments`` (a function, not a method) finds the segments ``fix_mojibake``
judges where leads are dense, in one pass; its twin is ``_fixes._dense_mojibake_segments``.

Byte fixes (``restore_byte_a0``, ``replace_lossy_sequences``) and the decodes are
ftfy's and Python's own. The tables cover the BMP; a character beyond it gets its row
from the same regex elements, once (``tables["astral_row"]``).
"""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import codecs

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

cdef extern from "Python.h":
    object cw_from_kind_and_data "PyUnicode_FromKindAndData"(int kind, const void* buffer, Py_ssize_t size)
    Py_UCS4 cw_read "PyUnicode_READ"(int kind, const void* data, Py_ssize_t index) nogil
    int cw_kind "PyUnicode_KIND"(object o)
    void* cw_data "PyUnicode_DATA"(object o)
    Py_ssize_t cw_length "PyUnicode_GET_LENGTH"(object o)
    Py_UCS4 cw_max_char "PyUnicode_MAX_CHAR_VALUE"(object o)

cdef enum:
    MAX_WORDS = 4
    MAX_ALTERNATIVES = 8
    MAX_LENGTH = 8

cdef uint16_t ALL_CODECS = 0xFFFF


cdef bint _could_be_utf8(const unsigned char* data, Py_ssize_t n, bint java_null) noexcept nogil:
    """False only where the decode the step tries fails: Python's strict UTF-8 decoder
    takes exactly the well-formed sequences of Unicode's table 3-7 (no overlong form, no
    surrogate, nothing past U+10FFFF). With ``java_null``, for ftfy's utf-8-variants, C0 80
    is a character too, and so is a CESU-8 pair (a high then a low surrogate, each as
    three bytes); a lone surrogate fails there as well."""
    cdef Py_ssize_t i = 0, need, k
    cdef unsigned char b, low, high
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if java_null and b == 0xC0:
            if i + 1 < n and data[i + 1] == 0x80:
                i += 2
                continue
            return False
        if java_null and b == 0xED and i + 1 < n and data[i + 1] >= 0xA0:
            if (i + 5 < n and data[i + 1] <= 0xAF and data[i + 2] & 0xC0 == 0x80 and data[i + 3] == 0xED
                    and 0xB0 <= data[i + 4] <= 0xBF and data[i + 5] & 0xC0 == 0x80):
                i += 6
                continue
            return False
        low, high = 0x80, 0xBF
        if 0xC2 <= b <= 0xDF:
            need = 1
        elif 0xE0 <= b <= 0xEF:
            need = 2
            if b == 0xE0:
                low = 0xA0
            elif b == 0xED:
                high = 0x9F
        elif 0xF0 <= b <= 0xF4:
            need = 3
            if b == 0xF0:
                low = 0x90
            elif b == 0xF4:
                high = 0x8F
        else:
            return False
        if i + need >= n or not low <= data[i + 1] <= high:
            return False
        for k in range(2, need + 1):
            if data[i + k] & 0xC0 != 0x80:
                return False
        i += need + 1
    return True


cdef inline bint _bytes_could_be_utf8(bytes encoded, bint java_null):
    return _could_be_utf8(<const unsigned char*> (<const char*> encoded), len(encoded), java_null)


def could_be_utf8(bytes encoded, bint java_null=False):
    """``_could_be_utf8`` for tests: False only where the decode would fail."""
    return _bytes_could_be_utf8(encoded, java_null)


cdef str _without(str text, const uint8_t[::1] classes, uint8_t bit):
    """``text`` less the characters whose class has ``bit``; ``text`` itself when none has."""
    cdef int kind = cw_kind(text)
    cdef const void* data = cw_data(text)
    cdef Py_ssize_t i, n = cw_length(text), kept = 0
    cdef uint32_t c
    cdef uint32_t* buffer
    for i in range(n):
        c = cw_read(kind, data, i)
        if c <= 0xFFFF and classes[c] & bit:
            break
    else:
        return text
    buffer = <uint32_t*> malloc(max(n, 1) * sizeof(uint32_t))
    if buffer == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            c = cw_read(kind, data, i)
            if not (c <= 0xFFFF and classes[c] & bit):
                buffer[kept] = c
                kept += 1
        return cw_from_kind_and_data(4, buffer, kept)
    finally:
        free(buffer)


@cython.final
cdef class Repair:
    """ftfy's fix_encoding with the default config, as ``_Mirror`` takes it, reading tables."""

    cdef object encodings
    cdef object altered_utf8
    cdef object restore_byte_a0
    cdef object replace_lossy_sequences
    cdef object c1_table
    cdef tuple lossy_needles
    cdef const uint8_t[:, :, ::1] lossy_classes
    cdef int lossy_count
    cdef int lossy_lengths[MAX_ALTERNATIVES * 2]
    cdef int lossy_longest
    cdef uint32_t lossy_firsts[256]
    cdef uint8_t lossy_needle[256]
    cdef tuple altered_needles
    cdef bint space_is_altered_needle
    cdef uint8_t undecodable_1252[256]
    cdef uint32_t c1_map[32]
    cdef uint32_t windows_1252_c1[32]
    cdef const uint8_t[:, ::1] encode_tables
    cdef object variants_decode
    cdef dict parts
    cdef dict astral
    cdef object astral_row
    cdef Py_ssize_t parts_kept
    cdef const uint64_t[:, ::1] bad_masks
    cdef int words
    cdef uint64_t starts[MAX_WORDS]
    cdef uint64_t anchored[MAX_WORDS]
    cdef uint64_t finals[MAX_WORDS]
    cdef const uint16_t[::1] codec_masks
    cdef int codec_count
    cdef int latin1
    cdef int macroman
    cdef uint16_t sloppy
    cdef const uint8_t[::1] detector_flags
    cdef uint8_t behind
    cdef uint8_t firsts
    cdef int alternatives
    cdef int lengths[MAX_ALTERNATIVES]
    cdef uint8_t elements[MAX_ALTERNATIVES][MAX_LENGTH]

    def __init__(self, twin, tables, Py_ssize_t parts_kept):
        cdef int w, a, k
        self.encodings = tuple(tables["encodings"])
        self.codec_count = len(self.encodings)
        if self.codec_count > 16:
            raise ValueError("at most 16 codecs")
        self.latin1 = self.encodings.index("latin-1")
        self.macroman = self.encodings.index("macroman") if "macroman" in self.encodings else -1
        self.sloppy = 0
        for k in range(self.codec_count):
            if self.encodings[k].startswith("sloppy"):
                self.sloppy |= 1 << k
        self.codec_masks = tables["codec_masks"]
        self.bad_masks = tables["bad_masks"]
        self.words = self.bad_masks.shape[1]
        if self.words > MAX_WORDS:
            raise ValueError("badness automaton too wide")
        for w in range(self.words):
            self.starts[w] = tables["bad_starts"][w]
            self.anchored[w] = tables["bad_anchored"][w]
            self.finals[w] = tables["bad_finals"][w]
        self.detector_flags = tables["detector_flags"]
        self.behind = tables["detector_behind"]
        sequences = tables["detector_sequences"]
        self.alternatives = len(sequences)
        if self.alternatives > MAX_ALTERNATIVES or any(len(s) > MAX_LENGTH or not s for s in sequences):
            raise ValueError("detector too large")
        self.firsts = 0
        for a in range(self.alternatives):
            self.firsts |= sequences[a][0]
            self.lengths[a] = len(sequences[a])
            for k in range(self.lengths[a]):
                self.elements[a][k] = sequences[a][k]
        self.c1_table = tables["c1_table"]
        self.lossy_needles = tuple(tables["lossy_needles"])
        self.lossy_classes = tables["lossy_classes"]
        self.lossy_count = len(tables["lossy_lengths"])
        if self.lossy_count > MAX_ALTERNATIVES * 2:
            raise ValueError("lossy-sequence regex too large")
        self.lossy_longest = 0
        for k in range(256):
            self.lossy_firsts[k] = 0
            self.lossy_needle[k] = k in self.lossy_needles
        for a in range(self.lossy_count):
            self.lossy_lengths[a] = tables["lossy_lengths"][a]
            self.lossy_longest = max(self.lossy_longest, self.lossy_lengths[a])
            for k in range(256):
                if self.lossy_classes[a, 0, k]:
                    self.lossy_firsts[k] |= 1u << a
        self.altered_needles = tuple(tables["altered_needles"])
        self.space_is_altered_needle = self.altered_needles == (0x20,)
        for k in range(256):
            self.undecodable_1252[k] = k in tables["windows_1252_undefined"]
        if sorted(self.c1_table) != list(range(0x80, 0xA0)) or any(len(v) != 1 for v in self.c1_table.values()):
            raise ValueError("the C1 table maps U+0080-U+009F to one character each")
        for k in range(32):
            self.c1_map[k] = ord(self.c1_table[0x80 + k])
            # Undefined bytes never reach the table (the step checks them first).
            self.windows_1252_c1[k] = tables["windows_1252_c1"][k]
        self.encode_tables = tables["encode_tables"]
        self.variants_decode = codecs.lookup("utf-8-variants").decode
        self.altered_utf8 = twin.altered_utf8
        self.restore_byte_a0 = twin.restore_byte_a0
        self.replace_lossy_sequences = twin.replace_lossy_sequences
        self.parts = {}
        self.astral = {}
        self.astral_row = tables["astral_row"]
        self.parts_kept = parts_kept

    cpdef str fix_encoding(self, str text):
        """Steps until one changes nothing (ftfy's fix_encoding_and_explain loop)."""
        cdef str fixed
        while True:
            fixed = self.step(text)
            if fixed == text:
                return fixed
            text = fixed

    cpdef bint is_bad(self, str text):
        """Whether ftfy's badness regex matches anywhere in ``text``."""
        cdef int kind = cw_kind(text), w
        cdef const void* data = cw_data(text)
        cdef Py_ssize_t i, n = cw_length(text)
        cdef uint32_t c
        cdef uint64_t state[MAX_WORDS]
        for w in range(self.words):
            state[w] = 0
        cdef const uint64_t* masks = &self.bad_masks[0, 0]
        cdef int words = self.words
        cdef uint64_t astral_row[MAX_WORDS]
        cdef const uint64_t* row
        cdef tuple entry
        for i in range(n):
            c = cw_read(kind, data, i)
            if c <= 0xFFFF:
                row = masks + c * words
            else:
                entry = self.astral_entry(c)
                for w in range(words):
                    astral_row[w] = entry[0][w]
                row = astral_row
            for w in range(words):
                state[w] = ((state[w] << 1) | self.starts[w] | (self.anchored[w] if i == 0 else 0)) & row[w]
                if state[w] & self.finals[w]:
                    return True
        return False

    cdef tuple astral_entry(self, uint32_t c):
        """(badness row, detector flags) of a code point beyond the BMP, found by the twin's
        module from the same regex elements the tables hold, and kept."""
        cdef tuple entry = self.astral.get(c)
        if entry is None:
            if len(self.astral) >= 65536:
                self.astral.clear()
            entry = self.astral_row(c)
            self.astral[c] = entry
        return entry

    cdef uint8_t* detector_codes(self, str text) except NULL:
        """The detector's flags of each character of ``text``, in a buffer to free: the span
        search then reads one byte per character (a table lookup and a kind switch per
        character per test had made it half of the repair's time on random bytes)."""
        cdef int kind = cw_kind(text)
        cdef const void* data = cw_data(text)
        cdef const uint8_t* flags = &self.detector_flags[0]
        cdef Py_ssize_t i, n = cw_length(text)
        cdef uint32_t c
        cdef uint8_t* codes = <uint8_t*> malloc(max(n, 1))
        if codes == NULL:
            raise MemoryError()
        if kind == 1:
            for i in range(n):
                codes[i] = flags[(<const uint8_t*> data)[i]]
            return codes
        if kind == 2:
            for i in range(n):
                codes[i] = flags[(<const uint16_t*> data)[i]]
            return codes
        try:
            for i in range(n):
                c = cw_read(kind, data, i)
                codes[i] = flags[c] if c <= 0xFFFF else self.astral_entry(c)[1]
        except BaseException:
            free(codes)
            raise
        return codes

    cdef Py_ssize_t next_span(self, const uint8_t* codes, Py_ssize_t n, Py_ssize_t i, Py_ssize_t* end) noexcept nogil:
        """The start of the first span ftfy's UTF-8 detector matches at or after ``i`` in the
        text whose flags are ``codes`` (``detector_codes``), -1 if none, its end in ``end``:
        the lookbehind, then repetitions each taking the first sequence that fits (re's
        order; nothing follows the repetition, so it never backs up)."""
        cdef int a, k, fits
        cdef uint8_t firsts = self.firsts, behind = self.behind
        cdef Py_ssize_t j
        while i < n:
            # No sequence starts here, or the lookbehind fails: no match starts here.
            if not codes[i] & firsts or (i > 0 and codes[i - 1] & behind):
                i += 1
                continue
            j = i
            while True:
                fits = -1
                for a in range(self.alternatives):
                    if j + self.lengths[a] > n:
                        continue
                    for k in range(self.lengths[a]):
                        if not codes[j + k] & self.elements[a][k]:
                            break
                    else:
                        fits = a
                        break
                if fits < 0:
                    break
                j += self.lengths[fits]
            if j > i:
                end[0] = j
                return i
            i += 1
        return -1

    cpdef list detector_spans(self, str text):
        """The spans ftfy's UTF-8 detector would replace, left to right, as re.sub finds them."""
        cdef list spans = []
        cdef Py_ssize_t start = 0, end = 0, n = cw_length(text)
        cdef uint8_t* codes = self.detector_codes(text)
        try:
            while True:
                start = self.next_span(codes, n, end, &end)
                if start < 0:
                    return spans
                spans.append((start, end))
        finally:
            free(codes)

    cdef object embedded(self, str text):
        """ftfy's fix_embedded_mojibake (each distinct part repaired once); None when the
        detector matches nothing."""
        cdef list pieces = []
        cdef Py_ssize_t last = 0, start, end = 0, length = cw_length(text)
        cdef str part
        cdef object fixed
        cdef uint8_t* codes = self.detector_codes(text)
        try:
            while True:
                start = self.next_span(codes, length, end, &end)
                if start < 0:
                    break
                pieces.append(text[last:start])
                part = text[start:end]
                if end - start < length:
                    fixed = self.parts.get(part)
                    if fixed is None:
                        if len(self.parts) >= self.parts_kept:
                            self.parts.clear()
                        fixed = self.fix_encoding(part)
                        self.parts[part] = fixed
                    part = fixed
                pieces.append(part)
                last = end
        finally:
            free(codes)
        if not pieces:
            return None
        pieces.append(text[last:])
        return "".join(pieces)

    cdef str c1_replaced(self, str text, const uint32_t* table):
        """Each of U+0080-U+009F through ``table``, the rest as is: ``text.translate(c1_table)``
        for ``c1_map``, windows-1252's decoding of Latin-1 text for ``windows_1252_c1``."""
        cdef int kind = cw_kind(text)
        cdef const void* data = cw_data(text)
        cdef Py_ssize_t i, n = cw_length(text)
        cdef uint32_t code
        cdef uint32_t* buffer = <uint32_t*> malloc(max(n, 1) * sizeof(uint32_t))
        if buffer == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                code = cw_read(kind, data, i)
                buffer[i] = table[code - 0x80] if 0x80 <= code <= 0x9F else code
            return cw_from_kind_and_data(4, buffer, n)
        finally:
            free(buffer)

    cpdef list judge_all(self, list segments, bint hidden, bint settle, const uint8_t[::1] classes):
        """``_fixes._judge`` (the twin) of each segment, in order. ``classes``: per BMP code
        point, bit 1 when the hides-mojibake class holds it, bit 2 when the controls class
        does (neither holds a character beyond the BMP); ``hidden``: the text has a hiding
        character; ``settle``: a later pass removes controls."""
        cdef list out = []
        cdef str segment, visible, repaired, settled, repaired_settled
        if classes.shape[0] < 0x10000:
            raise ValueError("the classes table covers the BMP")
        for segment in segments:
            visible = _without(segment, classes, 1) if hidden else segment
            repaired = self.fix_encoding(visible) if visible is not segment else visible
            if repaired == visible:
                repaired = self.fix_encoding(segment)
            if settle:
                settled = _without(repaired, classes, 2)
                if settled is not repaired:
                    repaired_settled = self.fix_encoding(settled)
                    if repaired_settled != settled:
                        repaired = repaired_settled
            out.append(repaired)
        return out

    cpdef bytes lossy_replaced(self, bytes encoded):
        """ftfy's replace_lossy_sequences: each match of its regex, left to right, the first
        alternative that fits at a position in the regex's order, becomes U+FFFD's UTF-8.

        Every alternative holds one of ``lossy_needles`` (that is how they were chosen), so
        no match starts more than its length before the next needle byte: the bytes before
        that are copied as they are, and elsewhere only the alternatives whose first class
        holds the byte are tried (trying every alternative at every byte of a random cp1252
        text was a quarter of the repair's time)."""
        cdef const unsigned char* data = <const unsigned char*> (<const char*> encoded)
        cdef Py_ssize_t i = 0, o = 0, n = len(encoded), needle = -1, stop
        cdef int a, k, fits
        cdef uint32_t candidates
        cdef bint changed = False, skips = len(self.lossy_needles) > 0
        cdef const uint8_t* classes
        cdef Py_ssize_t row = self.lossy_classes.shape[1] * 256
        if self.lossy_count == 0:
            return encoded
        classes = &self.lossy_classes[0, 0, 0]
        cdef unsigned char* out = <unsigned char*> malloc(3 * n + 1)
        if out == NULL:
            raise MemoryError()
        try:
            while i < n:
                if skips:
                    if needle < i:
                        needle = i
                        while needle < n and not self.lossy_needle[data[needle]]:
                            needle += 1
                    if needle - i >= self.lossy_longest:
                        stop = needle - self.lossy_longest + 1
                        memcpy(out + o, data + i, stop - i)
                        o += stop - i
                        i = stop
                        continue
                fits = -1
                candidates = self.lossy_firsts[data[i]]
                a = 0
                while candidates:
                    if candidates & 1 and i + self.lossy_lengths[a] <= n:
                        for k in range(1, self.lossy_lengths[a]):
                            if not classes[a * row + k * 256 + data[i + k]]:
                                break
                        else:
                            fits = a
                            break
                    candidates >>= 1
                    a += 1
                if fits < 0:
                    out[o] = data[i]
                    o += 1
                    i += 1
                else:
                    out[o] = 0xEF
                    out[o + 1] = 0xBF
                    out[o + 2] = 0xBD
                    o += 3
                    i += self.lossy_lengths[fits]
                    changed = True
            return (<char*> out)[:o] if changed else encoded
        finally:
            free(out)

    cdef bint latin1_may_decode(self, const unsigned char* data, Py_ssize_t n) noexcept:
        """Whether the Latin-1 bytes ``data`` (a one-byte str's own) can reach a successful
        decode in the step: False only when no byte fix can apply (no space for
        restore_byte_a0's regex; replace_lossy_sequences is for the sloppy codecs) and the
        decode the step would try fails."""
        cdef Py_ssize_t i
        cdef bint java = False
        for i in range(n):
            if data[i] == 0x20:
                return True
            if data[i] == 0xED or data[i] == 0xC0:
                java = True
        if not self.space_is_altered_needle:
            return True  # ftfy's regex needs something else too: no shortcut
        return _could_be_utf8(data, n, java)

    cdef bytes encoded(self, str text, int kind, const void* data, Py_ssize_t n, int k):
        """``text.encode(encodings[k])`` for text all in that codec's characters (the step's
        mask says so): a byte per character from the table, which the codec itself filled."""
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
        cdef unsigned char* target = <unsigned char*> PyBytes_AS_STRING(out)
        cdef const uint8_t* table = &self.encode_tables[k, 0]
        cdef Py_ssize_t i
        for i in range(n):
            target[i] = table[cw_read(kind, data, i)]
        return out

    cdef bint holds_any(self, bytes encoded, tuple needles):
        """Whether ``encoded`` holds one of ``needles`` (always, when there are none)."""
        if not needles:
            return True
        for needle in needles:
            if needle in encoded:
                return True
        return False

    cdef str step(self, str text):
        """One step of ftfy's _fix_encoding_one_step_and_explain, in its order (as _Mirror.step)."""
        cdef int kind, k
        cdef const void* data
        cdef Py_ssize_t i, n
        cdef uint32_t c
        cdef uint16_t possible = ALL_CODECS
        cdef bint has_c1 = False, undecodable = False
        cdef bytes encoded
        cdef str fixed
        cdef object embedded
        if not text or cw_max_char(text) == 0x7F or not self.is_bad(text):  # 0x7F: str.isascii()
            return text
        kind = cw_kind(text)
        data = cw_data(text)
        n = cw_length(text)
        cdef const uint16_t* codec_masks = &self.codec_masks[0]
        for i in range(n):
            c = cw_read(kind, data, i)
            possible &= codec_masks[c] if c <= 0xFFFF else 0  # every codec's characters are in the BMP
            if 0x80 <= c <= 0x9F:
                has_c1 = True
                undecodable |= self.undecodable_1252[c]
        for k in range(self.codec_count):
            if not possible & (1 << k):
                continue
            if k == self.latin1 and kind == 1 and not self.latin1_may_decode(<const unsigned char*> data, n):
                continue  # the str's own bytes are its Latin-1 encoding: no decode can succeed
            encoded = text.encode("latin-1") if k == self.latin1 else self.encoded(text, kind, data, n, k)
            try:
                if k != self.macroman and self.holds_any(encoded, self.altered_needles) and self.altered_utf8(encoded):
                    encoded = self.restore_byte_a0(encoded)
                if self.sloppy & (1 << k) and self.holds_any(encoded, self.lossy_needles):
                    encoded = self.lossy_replaced(encoded) if self.lossy_count else self.replace_lossy_sequences(encoded)
                if 0xED in encoded or 0xC0 in encoded:
                    if _bytes_could_be_utf8(encoded, True):
                        return self.variants_decode(encoded)[0]
                elif _bytes_could_be_utf8(encoded, False):
                    return encoded.decode("utf-8")
            except UnicodeDecodeError:
                pass
        embedded = self.embedded(text)
        if embedded is not None and embedded != text:
            return embedded
        # text.encode("latin-1").decode("windows-1252"): a character per byte, the same one
        # outside bytes 0x80-0x9F; it raises on a byte the codec leaves undefined.
        if possible & (1 << self.latin1) and not undecodable and has_c1:
            fixed = self.c1_replaced(text, self.windows_1252_c1)
            if fixed != text:
                return fixed
        if has_c1:
            return self.c1_replaced(text, self.c1_map)
        return text


def hint_segments(str text, const uint8_t[::1] flags, int lead, int space, int brk, int hiding, int continuation):
    """The segments ``_fixes.fix_mojibake`` judges where lead characters are dense, as
    (starts, ends): the twin is ``_fixes._dense_mojibake_segments`` (whole-array steps), this
    is one pass (those steps' own overhead was 60 ns a character on random bytes).

    ``flags``: a byte per BMP code point (one beyond it reads U+FFFF's), with the bits named
    by the other arguments. A space is a boundary unless it follows a lead, and so is a
    break. A lead starts a hint when the first character after its run of hiding characters
    continues, or the run holds a soft hyphen. A hint's segment runs from the boundary before
    it to the first one after it, or through that one to the next where that boundary is a
    no-break space ending the hint's hiding run. A hint inside the segment before starts none.
    """
    cdef int kind = cw_kind(text)
    cdef const void* data = cw_data(text)
    cdef Py_ssize_t n = cw_length(text), i, q, nb = 0, k = 0, before, after, end_position, segment_end
    cdef Py_ssize_t group = -1
    cdef uint8_t f, previous = 0
    cdef bint soft_hyphen, hinted, inside, first_inside = False, chosen = False, covers
    cdef Py_ssize_t* boundaries
    cdef list starts = [], ends = []
    if flags.shape[0] < 0x10000:
        raise ValueError("the flags table covers the BMP")
    boundaries = <Py_ssize_t*> malloc(max(n, 1) * sizeof(Py_ssize_t))
    if boundaries == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            f = flags[min(cw_read(kind, data, i), 0xFFFF)]
            if (f & space and not previous & lead) or f & brk:
                boundaries[nb] = i
                nb += 1
            previous = f
        for i in range(n):
            if not flags[min(cw_read(kind, data, i), 0xFFFF)] & lead:
                continue
            q = i + 1
            soft_hyphen = False
            while q < n and flags[min(cw_read(kind, data, q), 0xFFFF)] & hiding:
                soft_hyphen |= cw_read(kind, data, q) == 0xAD
                q += 1
            hinted = soft_hyphen or (q < n and flags[min(cw_read(kind, data, q), 0xFFFF)] & continuation)
            if not hinted:
                continue
            while k < nb and boundaries[k] < i:
                k += 1
            before = k
            after = k + 1 if k < nb and boundaries[k] == i else k
            if after == group:
                continue  # the rest of a group: inside its first hint's segment
            end_position = boundaries[after] if after < nb else n
            inside = end_position == q and q > i + 1 and end_position < n and cw_read(kind, data, end_position) == 0xA0
            # A group right after one whose first hint runs through its boundary is covered by
            # it, and starts a segment only when that one did not.
            covers = group >= 0 and after == group + 1 and first_inside
            chosen = not chosen if covers else True
            group = after
            first_inside = inside
            if not chosen:
                continue
            starts.append(boundaries[before - 1] + 1 if before > 0 else 0)
            segment_end = after + 1 if inside else after
            ends.append(boundaries[segment_end] if segment_end < nb else n)
        return starts, ends
    finally:
        free(boundaries)
