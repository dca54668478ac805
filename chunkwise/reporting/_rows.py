"""The rows and number formats every renderer of a report shares (text in ``report``, HTML in
``html``): one formatting of money and memory, one set of comparison rows. Apart from
both renderers, so neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .scenarios import Economics

SCHEMA_VERSION = "2"


def gib(value: float) -> str:
    return f"{value / 2**30:,.2f} GiB"


def usd(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.3g}"  # three significant digits: $0.0043 and $0.0123 must not both read $0.01


@dataclass(frozen=True)
class ComparisonRow:
    """One naive-against-chunkwise figure, how to read it, and what it assumes.

    ``better`` is "lower", "higher" or None (no side wins: a count, or a figure that is
    not a saving by itself); ``basis`` says for whom the better side is better and what
    the figure assumes, so a renderer never marks a win without it.
    """

    label: str
    naive: float | None
    chunkwise: float | None
    unit: str  # "int", "float", "gib", "usd"
    better: str | None
    basis: str

    def winner(self) -> str | None:
        if self.better is None or self.naive is None or self.chunkwise is None or self.naive == self.chunkwise:
            return None
        chunkwise_lower = self.chunkwise < self.naive
        return "chunkwise" if chunkwise_lower == (self.better == "lower") else "naive"

    def formatted(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        if self.unit == "gib":
            return gib(value)
        if self.unit == "usd":
            return usd(value)
        if self.unit == "float":
            return f"{value:,.1f}"
        return f"{round(value):,}"


PADDING_LABELS = {
    "bucketed": "length-sorted batches (sentence-transformers' encode)",
    "dynamic": "batches in document order, each padded to its longest",
    "static": "every chunk padded to max_length (fixed-shape runtimes)",
}


def padding_rows(econ: Economics) -> list[ComparisonRow]:
    """Embedding slots (real tokens plus padding) under each way of batching, the one a user most likely runs first."""
    naive, prepared = econ.naive.padding, econ.prepared.padding
    if naive is None or prepared is None:
        return []
    who = "lower is less embedding compute for the indexing job"
    rows = [ComparisonRow(f"embedding slots, {PADDING_LABELS[name]}", getattr(naive, name).padded_tokens,
                          getattr(prepared, name).padded_tokens, "int", "lower",
                          f"{who}; batch {econ.config.embed_batch_size}, max_length {getattr(naive, name).max_length}")
            for name in ("bucketed", "dynamic", "static")]
    rows.append(ComparisonRow(f"tokens past max_length {naive.static.max_length}, never embedded",
                              naive.static.truncated_tokens, prepared.static.truncated_tokens, "int", "lower",
                              f"lower is better for retrieval: {econ.embedder} does not see this text (counted in "
                              "the LLM tokenizer's tokens)"))
    return rows


def padding_explanation(econ: Economics) -> str:
    """One sentence on why the two sides pad differently, with the numbers of the rows."""
    naive, prepared = econ.naive.padding, econ.prepared.padding
    if naive is None or prepared is None:
        return ""
    sorted_ratio = prepared.bucketed.padded_tokens / naive.bucketed.padded_tokens if naive.bucketed.padded_tokens else 0.0
    static_ratio = prepared.static.padded_tokens / naive.static.padded_tokens if naive.static.padded_tokens else 0.0
    cut = ""
    if naive.static.truncated_tokens or prepared.static.truncated_tokens:
        cut = (f" Rows are cut at max_length {naive.static.max_length} (the embedder reads no more): "
               f"{naive.static.truncated_tokens:,} naive and {prepared.static.truncated_tokens:,} chunkwise tokens are "
               "never embedded.")
    return (f"An encoder computes on every slot of a padded batch. Naive windows nearly all fill max_length, so padding "
            f"wastes little on them ({naive.static.efficiency:.0%} of slots are real even when every window is padded "
            f"to max_length); chunkwise's chunks vary in length, so its cost depends on the batching: "
            f"{sorted_ratio:.2f}x the naive slots with length-sorted batches, as sentence-transformers runs them, and "
            f"{static_ratio:.2f}x when every chunk is padded to max_length.{cut}")


def serving_rows(econ: Economics) -> list[ComparisonRow]:
    """Context, memory and money per request, each with what it assumes; compared at equal top_k."""
    config, naive, prepared = econ.config, econ.naive, econ.prepared
    context = econ.context_comparison()
    equal_k = f"lower is better for serving at equal top-{config.top_k}, if recall holds (not measured)"
    price = econ.price
    price_basis = (f"{price.name} ${price.input_usd_per_million:g} in / ${price.output_usd_per_million:g} out per million "
                   f"tokens, as of {econ.prices_as_of}")
    capacity_basis = (f"{econ.gpu} at gpu_memory_utilization {config.gpu_memory_utilization:g}, minus weights and a "
                      f"{prepared.capacity.reserve_bytes / 2**30:.2f} GiB runtime reserve; one GPU, full blocks per request")
    capacity_basis += _capacity_limits(naive.capacity, prepared.capacity)
    rows = [
        ComparisonRow(f"retrieved context tokens per query (top-{config.top_k})", naive.retrieved_context_tokens,
                      prepared.retrieved_context_tokens, "int", None,
                      f"top_k x mean chunk tokens; not a saving by itself: smaller chunks make a smaller top-{config.top_k}"),
        ComparisonRow(f"chunks within an equal budget of {context['equal_budget']['budget_tokens']:,.0f} tokens",
                      context["equal_budget"]["naive_chunks"], context["equal_budget"]["chunkwise_chunks"], "float", None,
                      "the naive top-k context as the budget; which side retrieves the evidence within it is not measured"),
    ]
    if econ.compression is not None and econ.compressed_request is not None:
        rows.append(ComparisonRow(f"context after compress() to {econ.compression.budget_tokens} tokens", None,
                                  econ.compression.mean_compressed_tokens, "int", None,
                                  f"measured on {econ.compression.queries} sample queries over chunkwise's chunks"))
    rows += [
        ComparisonRow("tokens per request (prompt + output)", naive.request_tokens, prepared.request_tokens, "int", "lower",
                      f"{equal_k}; + {config.prompt_tokens} prompt and {config.output_tokens} output tokens"),
        ComparisonRow("KV cache per request", naive.kv_cache.bytes, prepared.kv_cache.bytes, "gib", "lower",
                      f"{equal_k}; {econ.kv_per_token.kv_dtype} KV, {econ.kv_per_token.bytes_per_token:,} bytes per token, "
                      f"{prepared.kv_cache.block_size}-token blocks"),
        ComparisonRow(f"concurrent requests per {econ.gpu}", naive.max_concurrent_requests,
                      prepared.max_concurrent_requests, "int", "higher",
                      f"{equal_k.replace('lower', 'higher', 1)}; {capacity_basis}"),
        ComparisonRow(f"KV cache at {econ.concurrency:,} requests", econ.kv_bytes_at_concurrency[0],
                      econ.kv_bytes_at_concurrency[1], "gib", "lower",
                      f"{equal_k}; {econ.concurrency:,} = " + ("given by the caller" if config.concurrent_requests
                                                              else "the most naive requests that fit")),
        ComparisonRow(f"$ per query, {price.name}", naive.api_cost.usd_per_query, prepared.api_cost.usd_per_query, "usd",
                      "lower", f"{equal_k}; {price_basis}"),
        ComparisonRow(f"$ per year, {price.name}", naive.api_cost.usd_per_year, prepared.api_cost.usd_per_year, "usd",
                      "lower", f"{equal_k}; {config.queries_per_day:,.0f} queries a day x 365"),
    ]
    if naive.self_hosted is not None and prepared.self_hosted is not None:
        hosted = prepared.self_hosted
        throughput = "; ".join(prepared.throughput.assumptions) if prepared.throughput is not None else ""
        hour = (f"GPU-hour ${econ.gpu_hour.usd_per_gpu_hour:.4g} ({econ.gpu_hour.basis}, as of {econ.gpu_hour.as_of})"
                if econ.gpu_hour is not None else "GPU-hour price given by the caller")
        basis = "; ".join(part for part in (equal_k, hour, throughput, *hosted.assumptions) if part)
        rows += [
            ComparisonRow("self-hosted $ per query", naive.self_hosted.usd_per_query, hosted.usd_per_query, "usd", "lower",
                          basis),
            ComparisonRow("self-hosted $ per year", naive.self_hosted.usd_per_year, hosted.usd_per_year, "usd", "lower",
                          f"{equal_k}; the assumptions of the row above"),
        ]
    return rows


def _capacity_limits(naive: Any, prepared: Any) -> str:
    """The engine's sequence cap and the reserve's range, where the capacity model states them."""
    out = ""
    max_num_seqs = getattr(prepared, "max_num_seqs", None)
    if max_num_seqs:
        out += f"; at most max_num_seqs={max_num_seqs} sequences at once (vLLM)"
        held = [(label, getattr(cap, "max_concurrent_by_memory", None)) for label, cap in (("naive", naive), ("chunkwise", prepared))]
        if any(by_memory and by_memory > max_num_seqs for _, by_memory in held):
            out += "; memory alone holds " + ", ".join(f"{by_memory:,} {label}" for label, by_memory in held if by_memory)
    low = [getattr(cap, "max_concurrent_requests_low", None) for cap in (naive, prepared)]
    if all(value is not None for value in low) and getattr(prepared, "reserve_high_bytes", 0):
        out += (f"; with the high reserve estimate ({prepared.reserve_high_bytes / 2**30:.2f} GiB): {low[0]:,} naive, "
                f"{low[1]:,} chunkwise")
    return out
