"""Cut documents into chunks under a hard token cap: ``chunk`` (by meaning and structure) and ``naive_split``.

``chunk`` segments the text into sentence units (``text/segmentation.py``), splits any
unit longer than the budget down to clause, word or token boundaries, scores
every gap by its structural strength, and lets the boundary DP
(``_boundaries.select_starts``) choose cuts. Every chunk is then counted by
the real tokenizer; one that overshoots (token counts are not additive at
unit seams) is re-cut with a tighter budget, so the cap always holds.

The ``semantic`` strategy adds to each gap's structural score a semantic
score (``_scores.gap_scores``): how much the windows of sentence vectors on
either side of the gap differ, relative to the rest of the document. Every
unit of every document in a batch is embedded once (``chunk_documents``);
the DP stays the only chooser, so the cap and the offsets hold as before.

``naive_split`` is the baseline every report compares against: fixed windows
of token ids with an overlap, as ``max_length``/stride splitters make them.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import regex

from .._memory import trim
from .._types import SPAN_KINDS, Chunk, Chunks, Document, Span, SpanTable, chunk_id
from ..embedding.embedders import get_embedder
from ..errors import ConfigError, InputTypeError
from ..text.segmentation import Break, cluster_safe_cut, segment_table
from ..tokens import Tokenizer, content_budget, get_tokenizer, one_window
from ._boundaries import SCORE_SCALE, select_starts
from .code import CODE_LANGUAGES, LANGUAGES, Language, code_span_table
from ._scores import gap_similarities as semantic_gap_similarities
from ._scores import scores_from_similarities as semantic_scores_from_similarities

if TYPE_CHECKING:
    from ..embedding.embedders import Embedder

Strategy = Literal["semantic", "structural", "naive"]
STRATEGIES: tuple[str, ...] = ("semantic", "structural", "naive")
Profile = Literal["fast", "balanced", "precise"]
PROFILES: tuple[str, ...] = ("fast", "balanced", "precise")

# A unit longer than this many characters per token of budget cannot fit and
# is split without first counting it whole (keeps a 10 MB line linear).
_MAX_CHARS_PER_TOKEN = 32
# Score of a cut before a unit, by the strength of the gap (see Break).
BREAK_SCORES: dict[int, float] = {
    Break.PIECE: 0.0,
    Break.WORD: 0.05,
    Break.CLAUSE: 0.15,
    Break.SENTENCE: 0.35,
    Break.LINE: 0.5,
    Break.ITEM: 0.6,
    Break.PARAGRAPH: 0.8,
    Break.SECTION: 1.0,
}
# Separating a heading from what it introduces is worse than any forced cut.
AFTER_HEADING_SCORE = -0.5
_CLAUSE_END = regex.compile(r"[,;:\u3001\uff0c\uff1b\uff1a\u060c)\]]\s|[\u3001\uff0c\uff1b\uff1a\u3002\uff01\uff1f]")


@dataclass(frozen=True)
class ChunkConfig:
    """How ``chunk`` cuts. Scores and penalties are in units of one SECTION break."""

    # The fields with a "help" are the options every adapter and the CLI take by name
    # (integrations._shared.chunk_options reads them from here); the rest come in a config.
    max_tokens: int = field(default=512, metadata={"help": "hard cap on tokens per chunk"})
    min_tokens: int | None = field(default=None, metadata={"help": "soft floor on tokens per chunk (default max_tokens // 4)"})
    overlap: int = field(default=0, metadata={"help": "tokens of whole sentences repeated from the previous chunk"})
    strategy: Strategy = field(default="structural", metadata={"help": "how cuts are chosen"})
    special_tokens: bool = field(default=False, metadata={"help": "count the tokenizer's special tokens toward the cap"})
    markdown: bool = True
    # A cut must earn more than this to be worth a new chunk. 0.4 sits between a
    # sentence (0.35) and a line (0.5): every line, item, paragraph and section
    # break starts a chunk unless that leaves one under min_tokens, and sentences
    # are cut only where the cap needs it. Measured with benchmarks/eval_chunking.py
    # (Chroma's protocol, dev split, and NQ): against 0.9 (fill to the cap, cut at
    # headings) recall +5.0 / +4.6 points, IoU x1.6 / x1.7, recall at 1024 context
    # tokens +7.7 / +5.5; 0.3 (a chunk per few sentences) loses recall.
    cut_penalty: float = 0.4
    # Cost of a chunk that holds nothing, falling linearly to 0 at min_tokens.
    underfill_penalty: float = 1.0
    naive_overlap: int | None = None
    break_scores: dict[int, float] = field(default_factory=lambda: dict(BREAK_SCORES))
    # Semantic strategy: which embedder (see embedding.get_embedder), how many
    # units each side of a gap form its window, the largest semantic score
    # (in SECTION units, added to the structural one) and the deviation, in
    # mean absolute deviations of the document, that earns it.
    profile: Profile = field(default="balanced", metadata={"help": "embedder profile of the semantic strategy"})
    language: Language = field(default="auto", metadata={
        "help": "what the text is: 'python' (cut at def/class through ast), javascript, typescript, tsx, go, rust, "
                "java, c or cpp (through tree-sitter with chunkwise[code], else as 'code'), 'code' (any other language, "
                "by indentation and brackets), 'prose', or 'auto' (a store's file suffix decides; prose otherwise)"})
    embed_max_tokens: int | None = field(default=None, metadata={
        "help": "also cap each chunk at this many tokens of the embedder's own tokenizer (all-MiniLM-L6-v2's word "
                "pieces, [CLS] and [SEP] included; its window is 256), so no chunk is embedded from its head only"})
    semantic_window: int = 3
    semantic_weight: float = 0.5
    semantic_clip_z: float = 2.5

    def __post_init__(self) -> None:
        for name in ("max_tokens", "overlap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name} must be an int, got {type(value).__name__}")
        if self.max_tokens < 1:
            raise ConfigError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.min_tokens is not None:
            if isinstance(self.min_tokens, bool) or not isinstance(self.min_tokens, int) or self.min_tokens < 0:
                raise ConfigError(f"min_tokens must be a non-negative int or None, got {self.min_tokens!r}")
            if self.min_tokens > self.max_tokens:
                raise ConfigError(f"min_tokens={self.min_tokens} is larger than max_tokens={self.max_tokens}")
        if not 0 <= self.overlap < self.max_tokens:
            raise ConfigError(f"overlap must be in [0, max_tokens), got {self.overlap}")
        if not isinstance(self.special_tokens, bool):
            raise ConfigError(f"special_tokens must be True or False, got {self.special_tokens!r}")
        if self.naive_overlap is not None and (isinstance(self.naive_overlap, bool) or not isinstance(self.naive_overlap, int)):
            raise ConfigError(f"overlap of the naive baseline must be an int number of tokens, got {self.naive_overlap!r}")
        if self.naive_overlap is not None and not 0 <= self.naive_overlap < self.max_tokens:
            raise ConfigError(f"naive_overlap must be in [0, max_tokens), got {self.naive_overlap}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.cut_penalty < 0 or self.underfill_penalty < 0:
            raise ConfigError("cut_penalty and underfill_penalty must be >= 0")
        if self.embed_max_tokens is not None and (isinstance(self.embed_max_tokens, bool)
                                                  or not isinstance(self.embed_max_tokens, int) or self.embed_max_tokens < 3):
            raise ConfigError(f"embed_max_tokens must be an int >= 3 (the embedder's [CLS] and [SEP] count) or None, "
                              f"got {self.embed_max_tokens!r}")
        if self.language not in LANGUAGES:
            raise ConfigError(f"language must be one of {LANGUAGES}, got {self.language!r}")
        if self.profile not in PROFILES:
            raise ConfigError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        if isinstance(self.semantic_window, bool) or not isinstance(self.semantic_window, int) or self.semantic_window < 1:
            raise ConfigError(f"semantic_window must be an int >= 1, got {self.semantic_window!r}")
        if not 0 <= self.semantic_weight <= 10:
            raise ConfigError(f"semantic_weight must be in [0, 10], got {self.semantic_weight!r}")
        if not 0.01 <= self.semantic_clip_z <= 100:
            raise ConfigError(f"semantic_clip_z must be in [0.01, 100], got {self.semantic_clip_z!r}")

    @property
    def effective_min_tokens(self) -> int:
        return self.max_tokens // 4 if self.min_tokens is None else self.min_tokens

    @property
    def effective_naive_overlap(self) -> int:
        """The baseline's overlap: ``max_tokens // 5`` unless set.

        A choice, not a shared default: LlamaIndex's SentenceSplitter overlaps 200 of 1024 tokens
        (19.5%), LangChain's TextSplitter 200 of 4000 characters (5%), Haystack's DocumentSplitter 0.
        """
        return self.max_tokens // 5 if self.naive_overlap is None else self.naive_overlap


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise InputTypeError(
            f"text must be a str, got {type(text).__name__}"
            + ("; decode bytes first (e.g. data.decode('utf-8'))" if isinstance(text, (bytes, bytearray)) else "")
        )
    return text


def _check_doc_id(doc_id: object) -> None:
    if not isinstance(doc_id, str):
        raise InputTypeError(f"doc_id must be a str, got {type(doc_id).__name__} (e.g. doc_id=str({doc_id!r}))")


# ---------------------------------------------------------------- over-long units


def _nicer_cut(text: str, start: int, cut: int, end: int) -> tuple[int, int]:
    """Prefer a clause end, then a space, in the last quarter of [start, cut); returns (cut, break)."""
    if cut >= end:
        return end, Break.PIECE
    floor = start + (cut - start) * 3 // 4
    best = None
    for match in _CLAUSE_END.finditer(text, floor, cut):
        best = match.end()
    if best is not None and best > start:
        return best, Break.CLAUSE
    space = -1
    for position in range(cut, floor, -1):
        if text[position - 1].isspace():
            space = position
            break
    if space > start:
        return space, Break.WORD
    return cluster_safe_cut(text, start, cut), Break.PIECE


def _check_fits(text: str, start: int, end: int, count: int, budget: int, tokenizer: Tokenizer) -> None:
    """Raise when the smallest piece that can be cut off still counts more than the budget."""
    if count > budget:
        raise ConfigError(
            f"the cap cannot be met: {text[start:end]!r} (offset {start}) is the smallest piece chunkwise can cut "
            f"and counts {count} tokens with tokenizer {tokenizer.name!r}, over the {budget} a chunk may hold; "
            "raise max_tokens, or give a tokenizer whose count of a short text is small (no fixed overhead)"
        )


def fit_cut(text: str, start: int, end: int, budget: int, tokenizer: Tokenizer, chars_per_token: float = 4.0) -> int:
    """A cut in (start, end] such that text[start:cut] holds about ``budget`` tokens at most."""
    window = max(64, int(budget * chars_per_token * 1.3))
    if tokenizer.has_offsets:
        while True:
            window_end = min(end, start + window)
            starts = tokenizer.token_starts(text[start:window_end])
            if len(starts) > budget:
                return max(start + 1, start + starts[budget])
            if window_end == end:
                return end
            window *= 2
    # No offsets: grow, then bisect on counts of prefixes.
    low, high = start, None
    guess = min(end, start + window)
    while True:
        if tokenizer.content_count(text[start:guess]) <= budget:
            low = guess
            if guess == end:
                return end
            guess = min(end, start + 2 * (guess - start)) if high is None else (low + high) // 2
        else:
            high = guess
            guess = (low + high) // 2
        if high is not None and high - low <= max(1, (low - start) // 64):
            return max(start + 1, low)


def split_long_unit(text: str, span: Span, budget: int, tokenizer: Tokenizer) -> list[tuple[Span, int]]:
    """Split one unit into pieces of at most ``budget`` content tokens: [(span, tokens)]."""
    pieces: list[tuple[Span, int]] = []
    position, end = span.start, span.end
    strength = span.break_before
    chars_per_token = 4.0
    while position < end:
        cut = fit_cut(text, position, end, budget, tokenizer, chars_per_token)
        cut, next_strength = _nicer_cut(text, position, cut, end)
        while True:
            piece_start, piece_end = position, cut
            while piece_end > piece_start and text[piece_end - 1].isspace():
                piece_end -= 1
            tokens = tokenizer.content_count(text[piece_start:piece_end]) if piece_end > piece_start else 0
            if tokens <= budget:
                break
            # Counts are not additive at the seam; step back and try again.
            shorter = cluster_safe_cut(text, position, position + max(1, (cut - position) * 9 // 10))
            if shorter >= cut:
                _check_fits(text, piece_start, piece_end, tokens, budget, tokenizer)
            cut = shorter
            next_strength = Break.PIECE
        if piece_end > piece_start:
            pieces.append((Span(piece_start, piece_end, span.kind, strength), max(tokens, 1)))
            strength = next_strength
            if tokens >= budget // 2:  # size the next window from what this one held
                chars_per_token = max(0.5, (piece_end - piece_start) / tokens)
        position = cut
        while position < end and text[position].isspace():
            position += 1
    return pieces


# ---------------------------------------------------------------- structural chunking


_INT32_MAX = 2**31 - 1


def _estimated_counts(text: str, spans: SpanTable, tokenizer: Tokenizer) -> np.ndarray | None:
    """Tokens per unit from one tokenization of the whole text, or None without offsets.

    Unit k is credited with the tokens that start in [start_k, start_k+1); the
    estimates sum to the document's count, and a run of units differs from its
    real count by about a token at each end. Only the DP sees estimates:
    every chunk is counted exactly afterwards.
    """
    if not tokenizer.has_offsets or not len(spans):
        return None
    unit_starts = np.ascontiguousarray(spans.starts)
    counts = np.zeros(len(spans), dtype=np.int32)
    total = 0
    for token_starts in tokenizer.token_start_windows(text):  # window by window: memory stays bounded
        total += len(token_starts)
        if not len(token_starts):
            continue
        owners = np.maximum(np.searchsorted(unit_starts, token_starts, side="right") - 1, 0)
        low = int(owners[0])  # token starts rise, so a window's owners are one stretch of units
        counts[low : int(owners[-1]) + 1] += np.bincount(owners - low)
    tokenizer.remember(text, total)  # the document's count, when one window read it: prepare's report reuses it
    return counts


def _units(text: str, config: ChunkConfig, tokenizer: Tokenizer, budget: int) -> tuple[SpanTable, np.ndarray]:
    """The document's units, each within the budget (over-long ones split), and their token counts."""
    if config.language in CODE_LANGUAGES:
        spans = code_span_table(text, config.language)
    else:
        spans = segment_table(text, markdown=config.markdown)
    char_limit = budget * _MAX_CHARS_PER_TOKEN
    estimates = _estimated_counts(text, spans, tokenizer)
    lengths = spans.ends - spans.starts
    # Count exactly only what may not fit: large units (or all, without offsets).
    needs_exact = lengths <= char_limit
    if estimates is not None:
        needs_exact &= estimates >= budget // 2
    # int32 per unit, as the DP reads them; "over the budget" is budget + 1 where that fits.
    over_budget = min(budget + 1, _INT32_MAX)
    counts = np.full(len(spans), over_budget, dtype=np.int32) if estimates is None else estimates
    exact_rows = np.flatnonzero(needs_exact)
    for block in range(0, exact_rows.size, 4096):  # texts of a block of units at a time
        rows = exact_rows[block : block + 4096]
        texts = [text[start:end] for start, end in spans.rows[rows, :2].tolist()]
        counts[rows] = tokenizer.content_count_batch(texts)
    counts[lengths > char_limit] = over_budget
    del lengths, needs_exact, exact_rows
    over = np.flatnonzero(counts > budget)
    tokens = np.maximum(counts, 1, out=counts)  # in place: per unit, every copy is 2x a text of tiny units
    if config.language in CODE_LANGUAGES:
        # The newline before a statement is a gap, outside every unit, but tokenizers read it with
        # the next line's indentation as a token of its own: counted here (never past the budget, so
        # a unit that fits alone still does), the DP's sums stop under-counting code and a run it
        # plans fits on the first count, cut where it chose.
        fits = tokens < budget
        tokens[fits] += 1
    if not over.size:
        return spans, tokens
    # Split the over-long units; the rest keep their rows.
    row_blocks: list[np.ndarray] = []
    token_blocks: list[np.ndarray] = []
    kind_codes = {kind: code for code, kind in enumerate(SPAN_KINDS)}
    previous = 0
    for row in over.tolist():
        row_blocks.append(spans.rows[previous:row])
        token_blocks.append(tokens[previous:row])
        pieces = split_long_unit(text, spans[row], budget, tokenizer)
        row_blocks.append(np.array([(p.start, p.end, kind_codes[p.kind], int(p.break_before)) for p, _ in pieces],
                                   dtype=spans.rows.dtype).reshape(-1, 4))
        token_blocks.append(np.array([count for _, count in pieces], dtype=np.int32))
        previous = row + 1
    row_blocks.append(spans.rows[previous:])
    token_blocks.append(tokens[previous:])
    return SpanTable(np.concatenate(row_blocks)), np.concatenate(token_blocks)


_HEADING = SPAN_KINDS.index("heading")


def _after_heading(units: SpanTable) -> np.ndarray:
    """For each unit, whether the unit before it is a heading (False for the first)."""
    after = np.zeros(len(units), dtype=bool)
    after[1:] = units.kinds[:-1] == _HEADING
    return after


def _gap_scores(units: SpanTable, config: ChunkConfig) -> np.ndarray:
    table = config.break_scores
    by_break = np.array([round(table.get(strength, 0.0) * SCORE_SCALE) for strength in range(len(Break))], dtype=np.int32)
    scores = by_break[units.breaks]
    scores[_after_heading(units)] = round(AFTER_HEADING_SCORE * SCORE_SCALE)
    if len(units):
        scores[0] = 0
    return scores


def _select(tokens: Sequence[int], scores: np.ndarray, max_units_tokens: int, config: ChunkConfig) -> list[int]:
    """Start indices of chunks over ``tokens`` (one document)."""
    min_tokens = min(config.effective_min_tokens, max_units_tokens)
    underfill = round(config.underfill_penalty * SCORE_SCALE / min_tokens) if min_tokens else 0
    mask = select_starts(
        tokens,
        scores,
        np.array([0, len(tokens)], dtype=np.int64),
        max_tokens=max_units_tokens,
        min_tokens=min_tokens,
        cut_penalty=round(config.cut_penalty * SCORE_SCALE),
        underfill_penalty=underfill,
    )
    return np.flatnonzero(mask).tolist()


_COUNT_BLOCK = 256
"""Runs counted per tokenizer call in ``_runs``."""

Run = tuple[int, int, int, int, int]
"""A chunk being built: (start_char, end_char, content_tokens, first_unit, end_unit)."""


def _runs(text: str, units: Sequence[Span], tokens: Sequence[int], scores: np.ndarray, budget: int,
          config: ChunkConfig, tokenizer: Tokenizer) -> list[Run]:
    """The chunks of one document, each counted exactly by the tokenizer."""
    pending = [(0, len(units), budget)]
    done: list[Run] = []
    while pending:
        first, last, limit = pending.pop()
        starts = [first + s for s in _select(tokens[first:last], scores[first:last], limit, config)]
        bounds = list(zip(starts, starts[1:] + [last]))
        counts = [  # a block of runs' texts at a time: together they are the whole document
            count
            for block in range(0, len(bounds), _COUNT_BLOCK)
            for count in tokenizer.content_count_batch([text[units[a].start : units[b - 1].end] for a, b in bounds[block : block + _COUNT_BLOCK]])
        ]
        for (a, b), count in zip(bounds, counts):
            if count <= budget:
                done.append((units[a].start, units[b - 1].end, count, a, b))
            elif b - a == 1:
                # A unit whose estimate was too low: split it exactly.
                for piece, piece_tokens in split_long_unit(text, units[a], budget, tokenizer):
                    done.append((piece.start, piece.end, piece_tokens, a, a + 1))
            else:
                # The estimate under-counted this run: re-cut it with the limit lowered by
                # the overshoot. Each round strictly shrinks the run, so this ends.
                estimate = sum(tokens[a:b])
                pending.append((a, b, max(max(tokens[a:b]), min(limit, estimate) - (count - budget) - 1)))
    done.sort()
    return done


def _with_overlap(text: str, units: Sequence[Span], tokens: Sequence[int], runs: list[Run],
                  overlap: int, budget: int, tokenizer: Tokenizer) -> list[Run]:
    """Prefix each chunk with whole units from before it, up to ``overlap`` tokens, within the cap.

    A chunk never reaches back past the start of the one before it: unit counts are
    estimates, and a tokenizer whose counts do not add up (BERT's drops a form feed
    and reads the words beside it as one unknown word) can fit more units than the
    overlap asked for.
    """
    extended = [runs[0]]
    for (previous_start, *_), (start, end, count, a, b) in zip(runs, runs[1:]):
        first = a
        carried = 0
        if start == units[a].start:  # pieces of a split unit take no overlap
            while (first - 1 >= 0 and units[first - 1].start >= previous_start and carried + tokens[first - 1] <= overlap
                   and count + carried + tokens[first - 1] <= budget):
                first -= 1
                carried += tokens[first]
        while first < a:
            real = tokenizer.content_count(text[units[first].start : end])
            if real <= budget:
                extended.append((units[first].start, end, real, first, b))
                break
            first += 1
        else:
            extended.append((start, end, count, a, b))
    return extended


def _make_chunks(text: str, doc_id: str, spans: Sequence[tuple[int, ...]], overhead: int) -> list[Chunk]:
    chunks = []
    for index, (start, end, content_tokens, *_units) in enumerate(spans):
        piece = text[start:end]
        chunks.append(Chunk(piece, start, end, content_tokens + overhead, doc_id, index, chunk_id(doc_id, start, end, piece)))
    return chunks


def _strip_span(text: str) -> tuple[int, int]:
    stripped = text.lstrip()
    start = len(text) - len(stripped)
    return start, start + len(stripped.rstrip())


_LINE_BREAKS = regex.compile(r"[\n\r\v\f\x85\u2028\u2029]")
_INLINE_BREAKS = (Break.PIECE, Break.WORD, Break.CLAUSE, Break.SENTENCE)


def _may_earn_a_cut(text: str, start: int, end: int, config: ChunkConfig) -> bool:
    """Whether some gap of the text could score above the cost of a cut (so a text that fits may still be cut)."""
    table = config.break_scores
    if max(table.get(b, 0.0) for b in _INLINE_BREAKS) > config.cut_penalty:
        return True
    return max(table.values(), default=0.0) > config.cut_penalty and _LINE_BREAKS.search(text, start, end) is not None


_Plan = tuple[SpanTable, np.ndarray]
"""A document ready for the DP: its units and their token counts."""


def _plan(text: str, doc_id: str, tokenizer: Tokenizer, config: ChunkConfig, budget: int) -> list[Chunk] | _Plan:
    """The chunks of a document that needs no selection (empty, fits whole), or its plan."""
    start, end = _strip_span(text)
    if start == end:
        return []
    if end - start <= budget * _MAX_CHARS_PER_TOKEN and not _may_earn_a_cut(text, start, end, config):
        # Most documents of a store are short, and one without line breaks has no gap worth a
        # cut when it fits: one count decides, no segmentation needed.
        whole = tokenizer.whole_count(text) if end - start == len(text) else tokenizer.content_count(text[start:end])
        if whole <= budget:
            return _make_chunks(text, doc_id, [(start, end, whole)], tokenizer.overhead)
    return _units(text, config, tokenizer, budget)


def _finish(text: str, doc_id: str, plans: list[Any], index: int, tokenizer: Tokenizer, config: ChunkConfig,
            budget: int, semantic: dict[int, np.ndarray] | None = None) -> list[Chunk]:
    """The chunks of the document planned at ``plans[index]``, with its semantic gap scores
    (``semantic[index]``, where given) added to the structural ones.

    The plan and the semantic scores are taken out of their containers, so a unit table (16
    bytes a unit, 4x a text of one-line paragraphs) is freed once the runs are counted, before
    the chunks' texts are made. Structural scores are made here, one document at a time, so a
    batch never holds them all (nor while its units are embedded).
    """
    units, tokens = plans[index]
    plans[index] = None
    scores = _gap_scores(units, config)
    own = semantic.pop(index, None) if semantic is not None else None
    if own is not None:
        scores = _add_without_veto(scores, own, config)
        del own
    runs = _runs(text, units, tokens, scores, budget, config, tokenizer)
    del scores
    if config.overlap:
        runs = _with_overlap(text, units, tokens, runs, config.overlap, budget, tokenizer)
    del units, tokens
    # The unit table and scores are freed; the chunks are new small objects in arenas of their
    # own, which cannot reuse that heap: hand it back first, or the two peaks stack (1 MB of
    # two-letter paragraphs, semantic: 9.5-10.1 MB above the start).
    trim(len(text))
    return _make_chunks(text, doc_id, runs, tokenizer.overhead)


def chunk_document(text: str, doc_id: str, tokenizer: Tokenizer, config: ChunkConfig, *, embedder: Embedder | None = None) -> list[Chunk]:
    """Chunk one document with a resolved tokenizer and config (the engine behind ``chunk``)."""
    if config.strategy == "semantic":
        return chunk_documents([Document(doc_id, text)], tokenizer, config, embedder=embedder)[0]
    budget = content_budget(tokenizer, config.max_tokens)
    if config.strategy == "naive":
        return _naive(text, doc_id, tokenizer, config.max_tokens, config.effective_naive_overlap)
    plans = [_plan(text, doc_id, tokenizer, config, budget)]
    chunks = plans[0] if isinstance(plans[0], list) else _finish(text, doc_id, plans, 0, tokenizer, config, budget)
    return _within_embedder(text, doc_id, chunks, tokenizer, config)


# The tokenizer of every embedder profile (the static "fast" table is all-MiniLM-L6-v2's vocabulary too).
EMBEDDER_TOKENIZER = "all-minilm-l6-v2"


def _within_embedder(text: str, doc_id: str, chunks: list[Chunk], tokenizer: Tokenizer, config: ChunkConfig) -> list[Chunk]:
    """``chunks`` with each one over ``config.embed_max_tokens`` embedder tokens chunked again under that cap.

    A re-cut piece is counted again by the chunk's own tokenizer: it is part of a chunk that
    was within ``max_tokens``, and should a piece still count over (a tokenizer whose counts
    do not add up), that piece is cut once more by the chunk's tokenizer, so ``max_tokens``
    holds whatever happens.
    """
    if config.embed_max_tokens is None or not chunks:
        return chunks
    embedder_tokens = get_tokenizer(EMBEDDER_TOKENIZER, special_tokens=True)
    counts = embedder_tokens.count_batch([c.text for c in chunks])
    if max(counts) <= config.embed_max_tokens:
        return chunks
    inner = dataclasses.replace(config, max_tokens=config.embed_max_tokens, min_tokens=None, overlap=0,
                                embed_max_tokens=None, strategy="structural")
    budget = content_budget(tokenizer, config.max_tokens)
    spans: list[tuple[int, int, int]] = []
    for item, count in zip(chunks, counts):
        if count <= config.embed_max_tokens:
            spans.append((item.start, item.end, item.token_count - tokenizer.overhead))
            continue
        pieces = chunk_document(item.text, doc_id, embedder_tokens, inner)
        for piece, piece_tokens in zip(pieces, tokenizer.content_count_batch([p.text for p in pieces])):
            start = item.start + piece.start
            if piece_tokens <= budget:
                spans.append((start, start + len(piece.text), piece_tokens))
                continue
            again = chunk_document(piece.text, doc_id, tokenizer, dataclasses.replace(inner, max_tokens=config.max_tokens))
            spans.extend((start + p.start, start + p.end, p.token_count - tokenizer.overhead) for p in again)
    return _make_chunks(text, doc_id, spans, tokenizer.overhead)


def _embed_once(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Vectors for ``texts``, each distinct text embedded once, in one call across the batch."""
    unique: dict[str, int] = {}
    rows = np.fromiter((unique.setdefault(text, len(unique)) for text in texts), dtype=np.int64, count=len(texts))
    vectors = np.asarray(embedder.embed(list(unique)), dtype=np.float32)
    if vectors.shape[0] != len(unique):
        raise InputTypeError(f"the embedder returned {vectors.shape[0]} vectors for {len(unique)} texts")
    return vectors if len(unique) == len(texts) else vectors[rows]  # no repeats: no second copy


def peaks_only(scores: np.ndarray, radius: int) -> np.ndarray:
    """Keep a positive gap score only where it is the highest within ``radius`` gaps (the first of equals).

    A topic shift raises the windowed dissimilarity of every gap near it, not
    only its own; without this the DP could collect the same shift twice, on
    two neighbouring gaps, once cuts are cheap. Negative scores (coherent
    stretches) are kept as they are. Returns a new array (``_keep_peaks`` works in place).
    """
    return _keep_peaks(np.array(scores), radius)


_PEAK_BLOCK = 1 << 14


def _keep_peaks(scores: np.ndarray, radius: int) -> np.ndarray:
    """``peaks_only`` in place, a block of gaps at a time, and vectorized.

    A positive score survives when every score in the ``radius`` gaps before it
    is lower and none in the ``radius`` after it is higher (gap 0 is no gap).
    Each block is decided on the original scores: its zeros are written only
    after the next block, whose look-back reaches into it, has been decided.
    """
    count = scores.size
    if radius < 1 or count < 2:
        return scores
    block = max(_PEAK_BLOCK, radius + 1)
    lowest = np.iinfo(scores.dtype).min if np.issubdtype(scores.dtype, np.integer) else -np.inf
    pending: np.ndarray | None = None
    for low in range(1, count, block):
        high = min(count, low + block)
        first, last = max(1, low - radius), min(count, high + radius)
        padded = np.full(last - first + 2 * radius, lowest, dtype=scores.dtype)
        padded[radius : radius + last - first] = scores[first:last]
        # maxima[i] is the largest of padded[i : i + radius]: for gap p (at i = p - first),
        # maxima[i] covers the radius gaps before it and maxima[i + radius + 1] those after.
        # The gaps of the block are one stretch of each array: slices (views), no index arrays.
        maxima = np.lib.stride_tricks.sliding_window_view(padded, radius).max(axis=1)
        begin, end = low - first, high - first
        values = padded[begin + radius : end + radius]
        beaten = maxima[begin:end] >= values
        beaten |= maxima[begin + radius + 1 : end + radius + 1] > values
        beaten &= values > 0
        if pending is not None:
            scores[pending] = 0
        pending = np.flatnonzero(beaten) + low
    if pending is not None:
        scores[pending] = 0
    return scores


def _add_without_veto(structural: np.ndarray, semantic: np.ndarray, config: ChunkConfig) -> np.ndarray:
    """Structural plus semantic scores, where the semantic ones add cuts and steer forced ones but never
    cancel a structural break that earns a cut alone. In place in both arrays (a copy per unit is
    twice the text of a document of tiny units).

    A paragraph or section break between two paragraphs on one topic is still
    where an author chose to break; letting the embedder merge them made
    chunks larger and retrieval worse (benchmarks/eval_chunking.py).
    """
    earns_alone = structural > round(config.cut_penalty * SCORE_SCALE)
    np.maximum(semantic, 0, out=semantic, where=earns_alone)
    return np.add(structural, semantic, out=structural)


# Units embedded per call of the semantic strategy. Only a block's vectors (and
# ``semantic_window`` units of context each side) are held at once: a batch of
# 250,000 one-line paragraphs no longer holds 250,000 x 384 floats (540x its text),
# and 1,024 x 384 floats (1.5 MB) is a small part of a 1 MB text's budget.
_SEMANTIC_BLOCK_UNITS = 512


def _embed_block(embedder: Embedder, texts: list[str], known: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Vectors for one block's texts, reusing ``known`` ones; returns them and the texts this block repeated.

    Texts that repeat within a block (log lines, table rows, "Yes.") likely repeat in
    the next: carrying their vectors over spares the embedder (and its cache) a call
    per block for them. Only repeats are carried, so memory stays that of a block.
    """
    missing = [text for text in dict.fromkeys(texts) if text not in known]
    fresh = _embed_once(embedder, missing) if missing else None
    rows = {text: index for index, text in enumerate(missing)}
    dimension = fresh.shape[1] if fresh is not None else next(iter(known.values())).shape[0]
    vectors = np.empty((len(texts), dimension), dtype=np.float32)
    first_row: dict[str, int] = {}
    carried: dict[str, np.ndarray] = {}
    for index, text in enumerate(texts):
        vectors[index] = known[text] if text in known else fresh[rows[text]]  # type: ignore[index]
        if text not in first_row:
            first_row[text] = index
        elif text not in carried:
            carried[text] = vectors[index]
    return vectors, {text: vector.copy() for text, vector in carried.items()}


def semantic_scores(units_by_doc: Sequence[SpanTable], texts: Sequence[str], config: ChunkConfig,
                    embedder: Embedder, *, block: int = _SEMANTIC_BLOCK_UNITS) -> list[np.ndarray]:
    """Fixed-point semantic gap scores for each document's units.

    The units of the whole batch are embedded ``block`` at a time, each block
    with the ``semantic_window`` units either side that its gaps read, so the
    similarities are those of embedding everything at once; each document is
    then scored against its own level.
    """
    window = config.semantic_window
    offsets = np.zeros(len(units_by_doc) + 1, dtype=np.int64)
    np.cumsum([len(units) for units in units_by_doc], out=offsets[1:])
    total = int(offsets[-1])
    similarities = np.zeros(total, dtype=np.int32)
    repeated: dict[str, np.ndarray] = {}
    for first in range(0, total, block):
        last = min(total, first + block)
        low, high = max(0, first - window), min(total, last + window - 1)
        # The documents the block and its context touch, clipped to it.
        doc_low = int(np.searchsorted(offsets, low, side="right")) - 1
        doc_high = int(np.searchsorted(offsets, high, side="left"))
        texts_here: list[str] = []
        for doc in range(doc_low, doc_high):
            units, text = units_by_doc[doc], texts[doc]
            begin, end = max(low, int(offsets[doc])) - int(offsets[doc]), min(high, int(offsets[doc + 1])) - int(offsets[doc])
            texts_here.extend(text[u.start : u.end] for u in units[begin:end])
        local = np.clip(offsets[doc_low : doc_high + 1], low, high) - low
        vectors, repeated = _embed_block(embedder, texts_here, repeated)
        found = semantic_gap_similarities(vectors, local, window=window)
        similarities[first:last] = found[first - low : last - low]
    scores = semantic_scores_from_similarities(
        similarities, offsets, weight=round(config.semantic_weight * SCORE_SCALE),
        clip_z_percent=max(1, round(config.semantic_clip_z * 100)),
    )
    del similarities
    by_doc = []
    for index, units in enumerate(units_by_doc):
        part = scores[offsets[index] : offsets[index + 1]]
        _keep_peaks(part, config.semantic_window - 1)
        part[_after_heading(units)] = 0  # a heading stays with what it introduces, whatever the vectors say
        by_doc.append(part)
    return by_doc


def _for_document(config: ChunkConfig, document: Document) -> ChunkConfig:
    """``config`` with ``language="auto"`` settled by the document's ``language`` metadata (a store sets it from
    the file suffix): code is cut at its definitions, everything else as prose."""
    if config.language != "auto":
        return config
    language = document.metadata.get("language") if isinstance(document.metadata, dict) else None
    return dataclasses.replace(config, language=language) if language in CODE_LANGUAGES else config


def chunk_documents(documents: Sequence[Document], tokenizer: object = None, config: ChunkConfig | None = None, *,
                    embedder: Embedder | None = None) -> list[list[Chunk]]:
    """Chunk a batch of documents; for ``semantic``, every unit of every document is embedded once.

    ``tokenizer``: anything ``get_tokenizer`` accepts (a Tokenizer, a name, a
    tokenizers/tiktoken object, a callable; default cl100k_base). ``config``: a
    ``ChunkConfig`` (default ``ChunkConfig()``). ``embedder`` defaults to
    ``embed.get_embedder(config.profile)`` (loaded on first need, from local
    files only). Documents that fit whole or hold a single unit are never
    embedded. Returns one list of chunks per document.
    """
    if config is None:
        config = ChunkConfig()
    elif not isinstance(config, ChunkConfig):
        raise InputTypeError(f"config must be a ChunkConfig, got {type(config).__name__}")
    tokenizer = get_tokenizer(tokenizer, special_tokens=config.special_tokens)
    if config.strategy != "semantic":
        return [chunk_document(_check_text(d.text), d.id, tokenizer, _for_document(config, d)) for d in documents]
    budget = content_budget(tokenizer, config.max_tokens)
    plans = [_plan(_check_text(d.text), d.id, tokenizer, _for_document(config, d), budget) for d in documents]
    pending = [index for index, plan in enumerate(plans) if not isinstance(plan, list) and len(plan[0]) > 1]
    semantic: dict[int, np.ndarray] = {}
    if pending and config.semantic_weight > 0:
        if embedder is None:
            embedder = get_embedder(config.profile)
        scores = semantic_scores([plans[i][0] for i in pending], [documents[i].text for i in pending], config, embedder)  # type: ignore[index]
        semantic = dict(zip(pending, scores))
    return [
        _within_embedder(document.text, document.id, plans[index] if isinstance(plans[index], list) else
                         _finish(document.text, document.id, plans, index, tokenizer, config, budget, semantic),
                         tokenizer, config)
        for index, document in enumerate(documents)
    ]


def with_keywords(config: ChunkConfig | None, function: Callable[..., Any], **keywords: Any) -> ChunkConfig:
    """The one rule for options, as ``normalize``, ``dedup``, ``compress`` and ``batch`` have it:
    keywords override ``config``. A keyword left at ``function``'s default for it keeps the value
    ``config`` has (so ``chunk(text, max_tokens=64, config=ChunkConfig(max_tokens=512))`` cuts at 64).
    """
    if config is None:
        return ChunkConfig(**keywords)
    if not isinstance(config, ChunkConfig):
        raise InputTypeError(f"config must be a ChunkConfig, got {type(config).__name__}")
    parameters = inspect.signature(function).parameters
    changed = {name: value for name, value in keywords.items() if value != parameters[name].default}
    return dataclasses.replace(config, **changed) if changed else config


def chunk(
    text: str,
    *,
    max_tokens: int = 512,
    min_tokens: int | None = None,
    tokenizer: object = None,
    overlap: int = 0,
    strategy: Strategy = "structural",
    profile: Profile = "balanced",
    special_tokens: bool = False,
    language: Language = "auto",
    embed_max_tokens: int | None = None,
    doc_id: str = "doc-0",
    config: ChunkConfig | None = None,
    embedder: Embedder | None = None,
) -> Chunks:
    """Cut ``text`` into chunks of at most ``max_tokens`` tokens at the strongest boundaries.

    Offsets are exact: ``text[c.start:c.end] == c.text`` for every chunk.
    ``min_tokens`` (default ``max_tokens // 4``) is a soft floor: small
    sections merge with a neighbour unless that would break the cap.
    ``overlap`` repeats up to that many tokens of whole units from the previous
    chunk. Empty or whitespace-only text gives no chunks.
    ``strategy="semantic"`` also cuts where meaning shifts, with the embedder
    of ``profile`` (``"fast"``, ``"balanced"``, ``"precise"``; see
    ``chunkwise.embedding.embedders``) or the ``embedder`` passed. Keywords override
    ``config`` (a keyword left at its default keeps ``config``'s value).
    ``language="python"`` cuts source code at its definitions (through ``ast``:
    functions, classes and docstrings kept whole where they fit); ``"javascript"``,
    ``"typescript"``, ``"tsx"``, ``"go"``, ``"rust"``, ``"java"``, ``"c"`` and
    ``"cpp"`` the same through tree-sitter (``chunkwise[code]``; by indentation
    without it); ``"code"`` any other language by indentation and brackets;
    ``"auto"`` is prose here (in ``prepare`` and stores, a document's
    ``language`` metadata decides).
    ``embed_max_tokens`` also caps each chunk in the embedder's word pieces
    (all-MiniLM-L6-v2 reads 256, [CLS] and [SEP] included), for chunks sized for
    an LLM but embedded by a smaller model; ``token_count`` stays the LLM's.
    """
    _check_text(text)
    _check_doc_id(doc_id)
    config = with_keywords(config, chunk, max_tokens=max_tokens, min_tokens=min_tokens, overlap=overlap,
                           strategy=strategy, profile=profile, special_tokens=special_tokens, language=language,
                           embed_max_tokens=embed_max_tokens)
    resolved = get_tokenizer(tokenizer, special_tokens=config.special_tokens)
    return Chunks(chunk_document(text, doc_id, resolved, config, embedder=embedder))


# ---------------------------------------------------------------- naive baseline


class _StreamedStarts:
    """Token starts of a text read window by window, for a reader that moves forward: memory stays bounded."""

    def __init__(self, windows: Iterator[np.ndarray], text_length: int) -> None:
        self._windows = windows
        self._buffer = np.zeros(0, dtype=np.int64)
        self._base = 0  # token index of _buffer[0]
        self._text_length = text_length

    def _read_window(self) -> bool:
        window = next(self._windows, None)
        if window is None:
            return False
        self._buffer = np.concatenate((self._buffer, window))
        return True

    def get(self, index: int) -> int:
        """Where token ``index`` starts; the text's length past the last token."""
        while self._base + self._buffer.size <= index:
            if not self._read_window():
                return self._text_length
        return int(self._buffer[index - self._base])

    def index_of(self, offset: int) -> int:
        """The first token starting at or after ``offset`` (bisect_left over every start)."""
        while not self._buffer.size or self._buffer[-1] < offset:
            if not self._read_window():
                break
        return self._base + int(np.searchsorted(self._buffer, offset, side="left"))

    def forget_before(self, index: int) -> None:
        drop = min(index - self._base, self._buffer.size)
        if drop > self._buffer.size // 2:
            self._buffer = self._buffer[drop:].copy()
            self._base += drop


def _naive(text: str, doc_id: str, tokenizer: Tokenizer, max_tokens: int, overlap: int) -> list[Chunk]:
    return _make_chunks(text, doc_id, _naive_spans(text, tokenizer, max_tokens, overlap), tokenizer.overhead)


def naive_window_tokens(text: str, tokenizer: Tokenizer, config: ChunkConfig) -> list[int]:
    """The token count of each naive window of ``text`` (overhead included): the baseline's lengths
    without its chunks' texts and ids (a report needs only these)."""
    overlap = config.effective_naive_overlap
    budget = content_budget(tokenizer, config.max_tokens)
    if text and overlap < budget and one_window(text):
        # A text within one window is that window (most documents of a store are): one count,
        # not a walk over its token starts. Text with no tokens takes the walk, which gives none.
        # A longer text is read window by window, never in one call.
        count = tokenizer.whole_count(text)
        if 0 < count <= budget:
            return [count + tokenizer.overhead]
    spans = _naive_spans(text, tokenizer, config.max_tokens, overlap)
    return [count + tokenizer.overhead for _, _, count in spans]


def _naive_spans(text: str, tokenizer: Tokenizer, max_tokens: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, content tokens) of each naive window; windows are never empty."""
    budget = content_budget(tokenizer, max_tokens)
    if overlap >= budget:
        raise ConfigError(f"overlap={overlap} must be smaller than the {budget} content tokens of a window")
    if not text:
        return []
    spans: list[tuple[int, int, int]] = []
    if tokenizer.has_offsets:
        starts = _StreamedStarts(tokenizer.token_start_windows(text), len(text))
        step = budget - overlap
        start = starts.get(0)
        first = 0
        while start < len(text):
            end = starts.get(first + budget)
            # Re-tokenizing a window can differ from its ids at the seams; hold the cap on the text.
            count = tokenizer.content_count(text[start:end])
            while count > budget and end > start + 1:
                end = cluster_safe_cut(text, start, end - max(1, (end - start) // 50))
                count = tokenizer.content_count(text[start:end])
            _check_fits(text, start, end, count, budget, tokenizer)
            spans.append((start, end, count))
            if end >= len(text):
                break
            # The next window starts ``step`` tokens on, but never after this one ended: a
            # window cut back to hold the cap must not leave text in no window.
            first += step
            following = starts.get(first)
            if following <= start:
                # Byte-level BPE can start several tokens inside one character (U+2028, an
                # accented letter): a window must still start further on, or it repeats.
                first = starts.index_of(start + 1)
                following = starts.get(first)
            if following > end:
                start, first = end, starts.index_of(end)
            else:
                start = following
            starts.forget_before(first)
    else:
        position = 0
        while position < len(text):
            cut = fit_cut(text, position, len(text), budget, tokenizer)
            count = tokenizer.content_count(text[position:cut])
            while count > budget and cut > position + 1:
                cut = cluster_safe_cut(text, position, position + (cut - position) * 9 // 10)
                count = tokenizer.content_count(text[position:cut])
            _check_fits(text, position, cut, count, budget, tokenizer)
            spans.append((position, cut, count))
            if cut >= len(text):
                break
            # Step back by the overlap's share of this window's characters.
            back = (cut - position) * overlap // max(count, 1)
            position = max(position + 1, cut - back)
    return [s for s in spans if s[1] > s[0]]


def naive_split(
    text: str,
    *,
    max_tokens: int = 512,
    overlap: int | None = None,
    tokenizer: object = None,
    special_tokens: bool = False,
    doc_id: str = "doc-0",
) -> Chunks:
    """The baseline: fixed windows of ``max_tokens`` token ids, each starting ``max_tokens - overlap`` after the last.

    ``overlap`` defaults to ``max_tokens // 5``, near LlamaIndex's SentenceSplitter default
    (200 of 1024 tokens); LangChain's TextSplitter defaults to 200 of 4000 characters (5%),
    Haystack's DocumentSplitter to none. Windows ignore structure; their
    text is the exact raw span of their tokens, so offsets hold here too.
    """
    _check_text(text)
    _check_doc_id(doc_id)
    config = ChunkConfig(max_tokens=max_tokens, naive_overlap=overlap, strategy="naive", special_tokens=special_tokens)
    resolved = get_tokenizer(tokenizer, special_tokens=special_tokens)
    return Chunks(_naive(text, doc_id, resolved, max_tokens, config.effective_naive_overlap))


__all__ = [
    "ChunkConfig",
    "chunk",
    "naive_split",
    "chunk_document",
    "chunk_documents",
    "semantic_scores",
    "split_long_unit",
    "BREAK_SCORES",
    "STRATEGIES",
    "PROFILES",
]
