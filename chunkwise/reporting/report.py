"""What preparation saved: the same documents through naive splitting and through chunkwise.

Data first (``Report.to_dict``, a versioned schema), rendering second
(``to_json``, ``to_text``, ``to_html``). Token counts are counts the caller can
recompute from ``PrepareResult`` and ``naive_split`` with the same tokenizer;
memory and dollar figures come from :mod:`chunkwise.reporting.economics` under the stated
assumptions of a :class:`ReportConfig`, each with its formula.

Schema (``schema_version`` "2"; "1" had every key below except those marked 2):

* ``tokenizer``, ``max_tokens``, ``naive_overlap``, ``documents``, ``raw_chars``, ``raw_tokens``
* ``naive`` / ``prepared``: ``chunks``, ``tokens``, ``max_chunk_tokens``, ``padded_tokens``
  (chunks x max_tokens), ``mean_chunk_tokens``, ``sequence_efficiency`` (tokens / padded_tokens)
* ``stages``: tokens after each stage, ``raw`` -> ``normalized`` -> ``deduplicated`` -> ``chunked``
* ``waterfall`` (2): ``[{"stage", "tokens"}]`` from ``naive`` (windows with overlap) to ``chunked``,
  one step per entry of ``savings``: ``naive`` -> ``without_overlap`` -> ``after_repair`` ->
  ``after_dedup`` -> ``chunked`` (each step's drop is that part's tokens)
* ``savings`` (2): ``tokens_saved`` decomposed, ``[{"part", "tokens", "fraction_of_naive", "formula"}]``
  for ``overlap`` (naive windows minus the same windows without overlap), ``repair``
  (raw - normalized), ``dedup`` (normalized - deduplicated) and ``chunking`` (the rest); the
  parts sum to ``tokens_saved``
* ``baseline`` (2): the naive settings and where each comes from; ``naive_no_overlap_tokens`` (2):
  tokens in the same windows without overlap
* ``naive_overlap_tokens`` (2): tokens the naive windows repeat, sum over documents of
  (windows - 1) x overlap; ``prepared_overlap_tokens`` (2): the same for chunkwise's own overlap
* ``fixes`` (Unicode repairs by category), ``removed_tokens`` (dedup by reason),
  ``tokens_saved``, ``tokens_saved_fraction``, ``notes``
* ``headline`` (2): the few numbers to lead with (null entries where economics is off)
* ``economics`` (2, null when off): ``assumptions`` (the ReportConfig), ``model``, ``gpu``,
  ``embedder``, ``price`` (with ``as_of`` and ``source``), ``prices_as_of``, ``gpu_prices_as_of``,
  ``gpu_hour``, ``kv_cache_per_token`` (bytes and formula), ``naive`` and ``chunkwise``
  scenarios (``retrieved_context_tokens`` = top_k x mean chunk tokens, compared at equal top_k
  and at an equal budget in ``context_comparison``,
  ``compressed_context_tokens`` (null until compression exists), ``prompt_tokens``,
  ``request_tokens``, ``padding`` static/dynamic/bucketed, ``embed_memory`` eager/SDPA
  attention and activations, ``kv_cache_per_request``, ``capacity``, ``throughput``,
  ``api_cost``, ``self_hosted_cost``, ``formulas``), ``concurrency``,
  ``kv_cache_bytes_at_concurrency``, ``concurrency_curve``, ``usd_saved_per_year``,
  ``metrics`` (tokens per request, memory utilization, cost per million tokens, sequence
  efficiency), ``compression``, ``notes``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .._display import html_table
from ._rows import SCHEMA_VERSION, ComparisonRow, gib, usd, padding_explanation, padding_rows, serving_rows
from ..chunking.chunker import naive_window_tokens, ChunkConfig as _ChunkConfig
from .scenarios import Economics, economics, ReportConfig, resolve
from .html import render_report

if TYPE_CHECKING:
    from ..chunking.chunker import ChunkConfig
    from ..duplicates.removal import DedupResult
    from ..tokens import Tokenizer
    from .._types import Chunk, Document



@dataclass(frozen=True)
class SplitStats:
    """Counts for one way of splitting a corpus into chunks."""

    chunks: int
    tokens: int
    max_chunk_tokens: int
    padded_tokens: int

    @property
    def mean_chunk_tokens(self) -> float:
        return self.tokens / self.chunks if self.chunks else 0.0

    @property
    def sequence_efficiency(self) -> float:
        """Real tokens / tokens after padding every chunk to ``max_tokens``."""
        return self.tokens / self.padded_tokens if self.padded_tokens else 1.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mean_chunk_tokens"] = round(self.mean_chunk_tokens, 2)
        data["sequence_efficiency"] = round(self.sequence_efficiency, 4)
        return data


@dataclass(frozen=True)
class DocumentRow:
    """One document's tokens: raw, in naive windows, and in the prepared chunks."""

    doc_id: str
    raw_tokens: int
    naive_tokens: int
    chunks: int
    chunk_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RemovedExample:
    """A short excerpt of something dedup removed, and where the kept copy lives."""

    doc_id: str
    reason: str
    kept_doc_id: str
    tokens: int | None
    excerpt: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Where the naive baseline's default overlap comes from (checked against the installed packages'
#: signatures: langchain-text-splitters 1.1, llama-index-core 0.14, haystack-ai 2.x).
OVERLAP_SOURCE = (
    "max_tokens // 5, chunkwise's default choice: close to LlamaIndex's SentenceSplitter default (200 of 1024 tokens, "
    "19.5%); LangChain's TextSplitter defaults to 200 of 4000 characters (5%) and Haystack's DocumentSplitter to none; "
    "set naive_overlap= to match your splitter"
)
WINDOW_SOURCE = "max_tokens, the cap chunkwise's chunks are held to: both sides are compared at the same cap"
SAVING_PARTS = ("overlap", "repair", "dedup", "chunking")

#: How many documents and removals the report shows by name.
TOP_DOCUMENTS = 10
REMOVED_EXAMPLES = 6
EXCERPT_CHARS = 160


@dataclass(frozen=True)
class Report:
    """Naive fixed-size splitting against chunkwise, for one corpus and tokenizer."""

    tokenizer: str
    max_tokens: int
    naive_overlap: int
    documents: int
    raw_chars: int
    raw_tokens: int
    naive: SplitStats
    prepared: SplitStats
    removed_tokens: dict[str, int] = field(default_factory=dict)
    normalized_tokens: int | None = None
    deduplicated_tokens: int | None = None
    fixes: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    naive_overlap_tokens: int | None = None
    prepared_overlap_tokens: int | None = None
    economics: Economics | None = None
    top_documents: tuple[DocumentRow, ...] = ()
    removed_examples: tuple[RemovedExample, ...] = ()
    naive_no_overlap_tokens: int | None = None
    naive_overlap_set: bool = False
    # Every naive window's tokens, for a store's economics (summed documents lose the distribution); not in to_dict.
    naive_window_tokens: tuple[int, ...] = ()

    @property
    def stages(self) -> dict[str, int]:
        """Tokens after each stage, raw first: the waterfall from the documents to the chunks."""
        stages = {"raw": self.raw_tokens}
        if self.normalized_tokens is not None:
            stages["normalized"] = self.normalized_tokens
        if self.deduplicated_tokens is not None:
            stages["deduplicated"] = self.deduplicated_tokens
        stages["chunked"] = self.prepared.tokens
        return stages

    def savings(self) -> list[dict[str, Any]]:
        """``tokens_saved`` in parts that add up to it: overlap, repair, dedup, and chunking (the rest).

        Overlap is the naive windows against the same windows without overlap, so the
        baseline's own repetition is never counted as chunkwise's work.
        """
        naive = self.naive.tokens
        without_overlap = self.naive_no_overlap_tokens if self.naive_no_overlap_tokens is not None else self.raw_tokens
        normalized = self.normalized_tokens if self.normalized_tokens is not None else self.raw_tokens
        deduplicated = self.deduplicated_tokens if self.deduplicated_tokens is not None else normalized
        overlap = naive - without_overlap
        repair = self.raw_tokens - normalized
        dedup = normalized - deduplicated
        chunking = self.tokens_saved - overlap - repair - dedup
        formulas = {
            "overlap": f"naive windows with {self.naive_overlap}-token overlap - the same windows without overlap = "
                       f"{naive:,} - {without_overlap:,}",
            "repair": f"raw - normalized = {self.raw_tokens:,} - {normalized:,}",
            "dedup": f"normalized - deduplicated = {normalized:,} - {deduplicated:,}",
            "chunking": f"the rest: tokens_saved - overlap - repair - dedup = {self.tokens_saved:,} - {overlap:,} - "
                        f"{repair:,} - {dedup:,} (where chunkwise's cuts fall against fixed windows, and its own overlap)",
        }
        parts = zip(SAVING_PARTS, (overlap, repair, dedup, chunking))
        return [{"part": name, "tokens": tokens, "fraction_of_naive": tokens / naive if naive else 0.0,
                 "formula": formulas[name]} for name, tokens in parts]

    @property
    def waterfall(self) -> list[tuple[str, int]]:
        """Naive windows first, then one step per part of ``savings``: each step drops that part's tokens."""
        steps = [("naive", self.naive.tokens)]
        for name, part in zip(("without_overlap", "after_repair", "after_dedup", "chunked"), self.savings()):
            steps.append((name, steps[-1][1] - part["tokens"]))
        return steps

    def baseline(self) -> dict[str, Any]:
        """The naive settings, each with where it comes from."""
        overlap_source = (f"set by the caller (naive_overlap={self.naive_overlap})" if self.naive_overlap_set
                          else OVERLAP_SOURCE)
        return {"strategy": "fixed windows of token ids, no regard for structure (chunkwise.naive_split)",
                "window_tokens": self.max_tokens, "window_source": WINDOW_SOURCE,
                "overlap_tokens": self.naive_overlap, "overlap_source": overlap_source,
                "overlap_fraction": self.naive_overlap / self.max_tokens if self.max_tokens else 0.0}

    def headline(self) -> dict[str, Any]:
        """The few numbers to lead with."""
        out: dict[str, Any] = {
            "tokens_saved_fraction": self.tokens_saved_fraction,
            "tokens_saved": self.tokens_saved,
        }
        econ = self.economics
        if econ is not None:
            naive_kv, prepared_kv = econ.kv_bytes_at_concurrency
            out.update(
                retrieved_tokens_per_query={"naive": econ.naive.retrieved_context_tokens,
                                            "chunkwise": econ.prepared.retrieved_context_tokens},
                context_basis=econ.context_comparison()["basis"],
                kv_cache_bytes_saved_at_concurrency=naive_kv - prepared_kv,
                concurrency=econ.concurrency,
                max_concurrent_requests={"naive": econ.naive.max_concurrent_requests,
                                         "chunkwise": econ.prepared.max_concurrent_requests},
                usd_saved_per_year=econ.usd_saved_per_year,
                price=econ.price.name,
                prices_as_of=econ.prices_as_of,
            )
        return out

    @property
    def tokens_saved(self) -> int:
        return self.naive.tokens - self.prepared.tokens

    @property
    def tokens_saved_fraction(self) -> float:
        return self.tokens_saved / self.naive.tokens if self.naive.tokens else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tokenizer": self.tokenizer,
            "max_tokens": self.max_tokens,
            "naive_overlap": self.naive_overlap,
            "documents": self.documents,
            "raw_chars": self.raw_chars,
            "raw_tokens": self.raw_tokens,
            "naive": self.naive.to_dict(),
            "prepared": self.prepared.to_dict(),
            "stages": self.stages,
            "fixes": dict(self.fixes),
            "removed_tokens": dict(self.removed_tokens),
            "tokens_saved": self.tokens_saved,
            "tokens_saved_fraction": round(self.tokens_saved_fraction, 4),
            "notes": list(self.notes),
            "waterfall": [{"stage": name, "tokens": tokens} for name, tokens in self.waterfall],
            "savings": [dict(part, fraction_of_naive=round(part["fraction_of_naive"], 4)) for part in self.savings()],
            "baseline": self.baseline(),
            "naive_no_overlap_tokens": self.naive_no_overlap_tokens,
            "naive_overlap_tokens": self.naive_overlap_tokens,
            "prepared_overlap_tokens": self.prepared_overlap_tokens,
            "headline": self.headline(),
            "top_documents": [row.to_dict() for row in self.top_documents],
            "removed_examples": [example.to_dict() for example in self.removed_examples],
            "economics": self.economics.to_dict() if self.economics is not None else None,
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **({"indent": 2} | kwargs))

    def _side_by_side(self) -> list[tuple[str, str, str]]:
        """The naive-against-chunkwise rows of the text table and the notebook table."""
        return [
            ("chunks", f"{self.naive.chunks:,}", f"{self.prepared.chunks:,}"),
            ("tokens in chunks", f"{self.naive.tokens:,}", f"{self.prepared.tokens:,}"),
            ("mean tokens / chunk", f"{self.naive.mean_chunk_tokens:.1f}", f"{self.prepared.mean_chunk_tokens:.1f}"),
            ("largest chunk (tokens)", f"{self.naive.max_chunk_tokens:,}", f"{self.prepared.max_chunk_tokens:,}"),
        ]

    def _subject(self) -> str:
        return f"{self.documents} documents, {self.raw_chars:,} characters, {self.raw_tokens:,} tokens ({self.tokenizer})"

    def to_text(self) -> str:
        """A terminal table: naive against prepared."""
        rows = self._side_by_side()
        width = max(len(r[0]) for r in rows)
        lines = [
            self._subject(),
            *_baseline_text(self.baseline()),
            "",
            f"{'':<{width}}  {'naive':>12}  {'chunkwise':>12}",
        ]
        for label, naive, prepared in rows:
            lines.append(f"{label:<{width}}  {naive:>12}  {prepared:>12}")
        lines.append("")
        lines.append("tokens by stage: " + " -> ".join(f"{name} {count:,}" for name, count in self.stages.items()))
        if self.fixes:
            lines.append("unicode repairs: " + ", ".join(f"{name} {count:,}" for name, count in self.fixes.items()))
        for reason, tokens in sorted(self.removed_tokens.items()):
            lines.append(f"removed ({reason}): {tokens:,} tokens")
        lines.append("")
        lines.extend(_savings_text(self))
        if self.economics is not None:
            lines.append("")
            lines.extend(_economics_text(self.economics))
        lines.extend(f"note: {note}" for note in self.notes)
        if self.economics is not None:
            lines.extend(f"note: {note}" for note in self.economics.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return (f"<Report: {self._subject()}; naive {self.naive.tokens:,} -> chunkwise {self.prepared.tokens:,} "
                f"tokens in chunks ({100 * self.tokens_saved_fraction:.1f}% fewer); .to_text(), .to_html(), .to_dict()>")

    def _repr_html_(self) -> str:
        """For a notebook: the side-by-side table and the saving in parts (``to_html()`` is the whole page)."""
        saving = [(part["part"], f"{part['tokens']:,}", f"{100 * part['fraction_of_naive']:.1f}%") for part in self.savings()]
        return ("<div>" + html_table(["", "naive", "chunkwise"], self._side_by_side(), caption=self._subject())
                + html_table(["part of the saving", "tokens", "of naive"], saving,
                             caption=f"{self.tokens_saved:,} tokens saved ({100 * self.tokens_saved_fraction:.1f}%)")
                + "</div>")

    def to_html(self, *, title: str = "chunkwise token-economics report", sample: tuple[str, str] | None = None) -> str:
        """A self-contained HTML page (inline SVG, no scripts, every document string escaped).

        ``sample``: ``(href, doc_id)`` of a page ``chunkwise.visualize`` drew, linked near the top.
        """
        return render_report(self, title=title, sample=sample)


def split_stats(token_counts: list[int], max_tokens: int) -> SplitStats:
    return SplitStats(
        chunks=len(token_counts),
        tokens=sum(token_counts),
        max_chunk_tokens=max(token_counts, default=0),
        padded_tokens=len(token_counts) * max_tokens,
    )


def _baseline_text(baseline: dict[str, Any]) -> list[str]:
    return [
        f"naive baseline: {baseline['window_tokens']}-token windows ({baseline['window_source']})",
        f"  with {baseline['overlap_tokens']}-token overlap ({baseline['overlap_source']})",
    ]


def _savings_text(report: Report) -> list[str]:
    """The saving against naive in its parts, each with its formula; the parts sum to the total."""
    lines = [f"tokens saved against naive: {report.tokens_saved:,} ({report.tokens_saved_fraction:.1%} of "
             f"{report.naive.tokens:,}), in parts:"]
    parts = report.savings()
    for part in parts:
        lines.append(f"  {part['part']:<9} {part['tokens']:>10,}  {part['fraction_of_naive']:>6.1%}  {part['formula']}")
    without_overlap = report.naive.tokens - parts[0]["tokens"]
    rest = report.tokens_saved - parts[0]["tokens"]
    if without_overlap:
        lines.append(f"against the same windows without overlap ({without_overlap:,} tokens), chunkwise saves {rest:,} "
                     f"({rest / without_overlap:.1%})")
    return lines


def _economics_text(econ: Economics) -> list[str]:
    """The embedding, serving and money section of ``to_text``: each figure followed by what it assumes."""
    config = econ.config
    lines = [
        f"serving {econ.model} ({econ.kv_per_token.kv_dtype} KV, {econ.kv_per_token.bytes_per_token:,} bytes/token) "
        f"on {econ.gpu} at gpu_memory_utilization {config.gpu_memory_utilization:g}; embedder {econ.embedder}, "
        f"batch {config.embed_batch_size}",
    ]
    padding = padding_rows(econ)
    serving = serving_rows(econ)
    width = max(len(row.label) for row in padding + serving)

    def table(rows: list[ComparisonRow]) -> list[str]:
        out = [f"{'':<{width}}  {'naive':>12}  {'chunkwise':>12}"]
        for row in rows:
            out.append(f"{row.label:<{width}}  {row.formatted(row.naive):>12}  {row.formatted(row.chunkwise):>12}")
            out.append(f"    {row.basis}")
        return out

    if padding:
        lines += ["", "embedding: padded slots (real tokens + padding) by how the chunks are batched", *table(padding),
                  padding_explanation(econ)]
    context = econ.context_comparison()
    lines += ["", f"serving, compared at equal top-{config.top_k} chunks per query (equal budget: second row)",
              *table(serving), context["note"]]
    naive_kv, prepared_kv = econ.kv_bytes_at_concurrency
    lines.append(f"if recall holds: saved per year at API prices {usd(econ.usd_saved_per_year)}; KV cache freed at "
                 f"{econ.concurrency} requests {gib(naive_kv - prepared_kv)}")
    return lines


def _overlap_tokens(windows_per_document: list[int], overlap: int) -> int:
    """Tokens repeated by consecutive windows: sum of (windows - 1) x overlap over documents."""
    return sum(max(0, windows - 1) * overlap for windows in windows_per_document)


def build_report(
    documents: list[Document],
    repaired: list[Document],
    kept_texts: list[list[str]],
    chunks: list[Chunk],
    counter: Tokenizer,
    config: ChunkConfig,
    *,
    normalized: bool,
    deduped: DedupResult | None,
    fixes: dict[str, int],
    notes: list[str] | tuple[str, ...] = (),
    report_config: ReportConfig | None = None,
    model_hint: str | None = None,
    compression: Any = None,
) -> Report:
    """The report of ``prepare``: naive windows over the raw text against the prepared chunks.

    Counts the raw, normalized and kept texts once each, splits the raw documents
    naively, and (unless ``report_config.economics`` is False) adds the economics of
    both. ``kept_texts[i]`` are the kept pieces of document i that were chunked
    (``chunks`` is their output); ``repaired`` are the normalized documents. A
    document that a stage left unchanged is not counted again.
    """

    report_config = report_config or ReportConfig()
    resolved = resolve(report_config, model_hint=model_hint) if report_config.economics else None
    naive_config = _ChunkConfig(
        max_tokens=config.max_tokens, strategy="naive", naive_overlap=config.naive_overlap,
        special_tokens=config.special_tokens,
    )
    # The same windows without overlap: what the baseline's overlap alone costs.
    no_overlap_config = dataclasses.replace(naive_config, naive_overlap=0)
    naive_counts: list[int] = []
    windows_per_document: list[int] = []
    naive_per_document: list[int] = []
    no_overlap_tokens = 0
    for document in documents:
        windows = naive_window_tokens(document.text, counter, naive_config)
        windows_per_document.append(len(windows))
        naive_per_document.append(sum(windows))
        naive_counts.extend(windows)
        # One window has no overlap to leave out.
        no_overlap_tokens += (sum(naive_window_tokens(document.text, counter, no_overlap_config))
                              if naive_config.effective_naive_overlap and len(windows) > 1 else sum(windows))
    raw_per_document = counter.estimate_content_count_batch([d.text for d in documents])
    raw_tokens = sum(raw_per_document)
    normalized_changed = [i for i, (r, d) in enumerate(zip(repaired, documents)) if r.text != d.text]
    normalized_per_document = _recount(counter, raw_per_document, normalized_changed, [[r.text] for r in repaired])
    normalized_tokens = sum(normalized_per_document) if normalized else raw_tokens
    # Kept pieces are ranges of the repaired text: a document is unchanged by dedup when they
    # cover it all (no joined copy of every document to compare).
    dedup_changed = [i for i, (pieces, r) in enumerate(zip(kept_texts, repaired)) if sum(map(len, pieces)) != len(r.text)]
    kept_per_document = _recount(counter, normalized_per_document, dedup_changed, kept_texts)
    deduplicated_tokens = sum(kept_per_document) if deduped is not None else normalized_tokens
    removed_tokens = {
        reason: int(summary.tokens or 0) for reason, summary in (deduped.summary.items() if deduped else ()) if summary.units
    }
    prepared_counts = [c.token_count for c in chunks]
    live_pieces = sum(1 for pieces in kept_texts for piece in pieces if piece.strip())
    prepared_overlap = config.overlap * max(0, len(chunks) - live_pieces) if config.overlap else 0
    econ = (
        economics(naive_counts, prepared_counts, resolved, max_tokens=config.max_tokens, compression=compression)
        if resolved else None
    )
    chunk_totals: dict[str, list[int]] = {}
    for c in chunks:
        entry = chunk_totals.setdefault(c.doc_id, [0, 0])
        entry[0] += 1
        entry[1] += c.token_count
    rows = [
        DocumentRow(d.id, raw, naive, *chunk_totals.get(d.id, [0, 0]))
        for d, raw, naive in zip(documents, raw_per_document, naive_per_document)
    ]
    rows.sort(key=lambda row: (-(row.naive_tokens - row.chunk_tokens), row.doc_id))
    examples = [
        RemovedExample(r.doc_id, r.reason, r.kept_doc_id, r.token_count, _excerpt(r.text))
        for r in sorted(deduped.removed if deduped is not None else [], key=lambda r: -(r.token_count or 0))[:REMOVED_EXAMPLES]
    ]
    return Report(
        tokenizer=counter.name,
        max_tokens=config.max_tokens,
        naive_overlap=config.effective_naive_overlap,
        documents=len(documents),
        raw_chars=sum(len(d.text) for d in documents),
        raw_tokens=raw_tokens,
        naive=split_stats(naive_counts, config.max_tokens),
        prepared=split_stats(prepared_counts, config.max_tokens),
        removed_tokens=removed_tokens,
        normalized_tokens=normalized_tokens,
        deduplicated_tokens=deduplicated_tokens,
        fixes={k: v for k, v in sorted(fixes.items()) if v},
        notes=tuple(notes),
        naive_overlap_tokens=_overlap_tokens(windows_per_document, config.effective_naive_overlap),
        prepared_overlap_tokens=prepared_overlap,
        economics=econ,
        top_documents=tuple(rows[:TOP_DOCUMENTS]),
        removed_examples=tuple(examples),
        naive_no_overlap_tokens=no_overlap_tokens,
        naive_overlap_set=config.naive_overlap is not None,
        naive_window_tokens=tuple(naive_counts),
    )


def _recount(counter: Tokenizer, previous_counts: list[int], changed: list[int], pieces: list[list[str]]) -> list[int]:
    """``previous_counts`` with the documents at ``changed`` counted again, piece by piece (kept
    pieces are separate texts: a chunk never spans two of them)."""
    counts = list(previous_counts)
    flat = [piece for i in changed for piece in pieces[i]]
    flat_counts = iter(counter.estimate_content_count_batch(flat))
    for i in changed:
        counts[i] = sum(next(flat_counts) for _ in pieces[i])
    return counts


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "\u2026"


__all__ = ["Report", "SplitStats", "ComparisonRow", "padding_rows", "padding_explanation", "serving_rows", "DocumentRow", "RemovedExample", "split_stats", "build_report", "ReportConfig", "SCHEMA_VERSION"]
