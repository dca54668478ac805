"""What preparation saved: the same documents through naive splitting and through chunkwise.

Data first (``Report.to_dict``, a versioned schema), rendering second
(``to_json``, ``to_text``). Every figure is a count the caller can recompute
from ``PrepareResult`` and ``naive_split`` with the same tokenizer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = "1"


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
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **({"indent": 2} | kwargs))

    def to_text(self) -> str:
        """A terminal table: naive against prepared."""
        rows = [
            ("chunks", self.naive.chunks, self.prepared.chunks),
            ("tokens in chunks", self.naive.tokens, self.prepared.tokens),
            ("mean tokens / chunk", f"{self.naive.mean_chunk_tokens:.1f}", f"{self.prepared.mean_chunk_tokens:.1f}"),
            ("largest chunk (tokens)", self.naive.max_chunk_tokens, self.prepared.max_chunk_tokens),
            (f"padded to {self.max_tokens}", self.naive.padded_tokens, self.prepared.padded_tokens),
            ("sequence efficiency", f"{self.naive.sequence_efficiency:.1%}", f"{self.prepared.sequence_efficiency:.1%}"),
        ]
        width = max(len(r[0]) for r in rows)
        lines = [
            f"{self.documents} documents, {self.raw_chars:,} characters, {self.raw_tokens:,} tokens ({self.tokenizer})",
            f"naive: {self.max_tokens}-token windows, {self.naive_overlap}-token overlap",
            "",
            f"{'':<{width}}  {'naive':>12}  {'chunkwise':>12}",
        ]
        for label, naive, prepared in rows:
            naive_text = f"{naive:,}" if isinstance(naive, int) else naive
            prepared_text = f"{prepared:,}" if isinstance(prepared, int) else prepared
            lines.append(f"{label:<{width}}  {naive_text:>12}  {prepared_text:>12}")
        lines.append("")
        lines.append("tokens by stage: " + " -> ".join(f"{name} {count:,}" for name, count in self.stages.items()))
        if self.fixes:
            lines.append("unicode repairs: " + ", ".join(f"{name} {count:,}" for name, count in self.fixes.items()))
        for reason, tokens in sorted(self.removed_tokens.items()):
            lines.append(f"removed ({reason}): {tokens:,} tokens")
        lines.append(f"tokens saved: {self.tokens_saved:,} ({self.tokens_saved_fraction:.1%} of naive)")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def split_stats(token_counts: list[int], max_tokens: int) -> SplitStats:
    return SplitStats(
        chunks=len(token_counts),
        tokens=sum(token_counts),
        max_chunk_tokens=max(token_counts, default=0),
        padded_tokens=len(token_counts) * max_tokens,
    )


__all__ = ["Report", "SplitStats", "split_stats", "SCHEMA_VERSION"]
