"""What a set of chunk lengths costs to embed, to serve as retrieved context, and to pay for.

The report and the audit describe a corpus by its chunk token counts; this module turns
those counts into embedding padding and memory, KV cache per request, concurrent requests
per GPU and dollars, by calling :mod:`chunkwise.reporting.economics` with stated assumptions
(:class:`ReportConfig`). Every figure keeps the economics object it came from, so its
formula and assumptions travel into ``to_dict()``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CatalogError, ConfigError
from .economics import (
    activation_memory,
    api_cost,
    attention_scores_memory,
    capacity,
    Catalog,
    compare_padding,
    decode_step,
    forward_flops_per_token,
    gpu_hour_cost,
    kv_cache_breakdown,
    paged_kv_cache,
    self_hosted_cost,
    Volume,
)
from ..tokens import TOKENIZER_ALIASES, TOKENIZER_CATALOG

#: The serving model the report assumes when ``prepare(model=...)`` names none.
DEFAULT_SERVING_MODEL = "llama-3-8b"
DEFAULT_GPU = "a100-80gb"
DEFAULT_PRICE = "gpt-4o-mini"
DEFAULT_EMBEDDER = "all-minilm-l6-v2"

COMPRESSION_NOTE = (
    "context after compression is measured only on sample queries: pass prepare(..., queries=[...]) "
    "(needs chunkwise[embed,index]); compressed_context_tokens stays null without them"
)


def _positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise ConfigError(f"{name}={value!r} must be a finite {'integer' if integer else 'number'}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name}={value!r} must be {'zero or more' if allow_zero else 'positive'}")


@dataclass(frozen=True)
class ReportConfig:
    """The stated assumptions behind the report's memory and cost figures.

    ``model`` is the serving LLM (a catalog name, a Hugging Face ``config.json`` path or
    dict); ``None`` means :data:`DEFAULT_SERVING_MODEL`. Each query sends ``top_k``
    retrieved chunks plus ``prompt_tokens`` (system prompt and question) and gets
    ``output_tokens`` back. ``price`` is a catalog price name, a ``TokenPrice`` or a
    mapping with an explicit ``unit``. Embedding rows are padded and cut at ``embed_max_length``
    (default: the smaller of the chunk cap and the embedder's context). Self-hosted throughput is estimated from the GPU's
    peak FLOPs and bandwidth at ``prefill_mfu``/``decode_mbu`` unless measured
    throughputs are given. ``economics=False`` leaves the section out.
    """

    model: Any = None
    gpu: Any = DEFAULT_GPU
    gpu_memory_utilization: float = 0.9
    kv_dtype: str | None = None
    queries_per_day: float = 10_000
    top_k: int = 5
    prompt_tokens: int = 100
    output_tokens: int = 200
    price: Any = DEFAULT_PRICE
    embedder: Any = DEFAULT_EMBEDDER
    embed_batch_size: int = 32
    embed_max_length: int | None = None
    concurrent_requests: int | None = None
    prefill_mfu: float = 0.4
    decode_mbu: float = 0.6
    prefill_tokens_per_second: float | None = None
    decode_tokens_per_second: float | None = None
    usd_per_gpu_hour: float | None = None
    compress_budget_tokens: int = 512
    economics: bool = True

    def __post_init__(self) -> None:
        _positive("compress_budget_tokens", self.compress_budget_tokens, integer=True)
        _positive("queries_per_day", self.queries_per_day)
        _positive("top_k", self.top_k, integer=True)
        _positive("prompt_tokens", self.prompt_tokens, integer=True, allow_zero=True)
        _positive("output_tokens", self.output_tokens, integer=True, allow_zero=True)
        _positive("embed_batch_size", self.embed_batch_size, integer=True)
        if self.embed_max_length is not None:
            _positive("embed_max_length", self.embed_max_length, integer=True)
        if self.concurrent_requests is not None:
            _positive("concurrent_requests", self.concurrent_requests, integer=True)
        for name in ("gpu_memory_utilization", "prefill_mfu", "decode_mbu"):
            value = getattr(self, name)
            _positive(name, value)
            if value > 1:
                raise ConfigError(f"{name}={value!r} is a fraction and must be in (0, 1]")
        for name in ("prefill_tokens_per_second", "decode_tokens_per_second"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))
        if self.usd_per_gpu_hour is not None:
            _positive("usd_per_gpu_hour", self.usd_per_gpu_hour, allow_zero=True)

    @classmethod
    def build(cls, config: ReportConfig | None = None, **options: Any) -> ReportConfig:
        """``config`` (or the defaults) with the non-None ``options`` applied and validated."""
        if config is not None and not isinstance(config, ReportConfig):
            raise ConfigError(f"report must be a ReportConfig, got {type(config).__name__}")
        changes = {k: v for k, v in options.items() if v is not None}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown report option(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(config or cls(), **changes)

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value if value is None or isinstance(value, (str, int, float, bool)) else _describe(value)
        return out


def _describe(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return dict(value)
    return repr(value)


@dataclass(frozen=True)
class Resolved:
    """Catalog objects behind a ReportConfig, resolved once (errors surface before any work)."""

    config: ReportConfig
    model: Any  # ModelSpec
    gpu: Any  # GPUSpec
    price: Any  # TokenPrice
    embedder: Any  # ModelSpec
    catalog: Any
    notes: tuple[str, ...] = ()


def resolve(config: ReportConfig, *, model_hint: str | None = None) -> Resolved:
    """Look up the serving model, GPU, price and embedder; CatalogError/ConfigError name what is wrong.

    ``model_hint`` is ``prepare(model=...)``: used as the serving model when ``config.model``
    is unset. A hint the economics catalog does not know but the tokenizer catalog does
    (``gpt-4``, ``cl100k_base``) is a tokenizer, not an architecture: the default serving
    model is used and a note says so. Any other unknown name is an error.
    """

    catalog = Catalog()
    notes: list[str] = []
    model_name = config.model
    if model_name is None and model_hint is not None:
        try:
            catalog.resolve_model(model_hint)
            model_name = model_hint
        except CatalogError:
            if model_hint in TOKENIZER_CATALOG or model_hint in TOKENIZER_ALIASES:
                notes.append(
                    f"{model_hint!r} names a tokenizer with no architecture in the economics catalog; "
                    f"GPU memory figures assume {DEFAULT_SERVING_MODEL} "
                    "(pass report=ReportConfig(model=...) or a config.json to change it)"
                )
            else:
                raise
    if model_name is None:
        model_name = DEFAULT_SERVING_MODEL
    spec = catalog.resolve_model(model_name)
    if spec.kind != "decoder":
        raise ConfigError(f"serving model {spec.name} is an encoder; name a decoder LLM (e.g. {DEFAULT_SERVING_MODEL})")
    embedder = catalog.resolve_model(config.embedder)
    return Resolved(config, spec, catalog.resolve_gpu(config.gpu), catalog.resolve_price(config.price), embedder,
                    catalog, tuple(notes))


@dataclass(frozen=True)
class Throughput:
    """Tokens per second of one GPU for prefill and decode, and how they were obtained."""

    prefill_tokens_per_second: float
    decode_tokens_per_second: float
    decode_concurrency: int
    formulas: tuple[str, ...]
    assumptions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "formulas": list(self.formulas), "assumptions": list(self.assumptions)}


@dataclass(frozen=True)
class CompressionStats:
    """Retrieved context before and after ``compress``, measured on sample queries over the prepared chunks.

    Each query retrieves ``top_k`` chunks from a ``chunkwise.Index`` of the chunks and
    compresses them to ``budget_tokens`` (separators included); the means are over queries.
    """

    queries: int
    top_k: int
    budget_tokens: int
    mean_retrieved_tokens: float
    mean_compressed_tokens: float
    embedder: str

    @property
    def ratio(self) -> float:
        return self.mean_retrieved_tokens / self.mean_compressed_tokens if self.mean_compressed_tokens else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "ratio": self.ratio,
            "formula": "mean over queries of tokens(compress(query, index.search(query, top_k), budget_tokens).text)",
        }


@dataclass(frozen=True)
class Scenario:
    """One way of chunking (naive or chunkwise) as it is embedded, retrieved and served."""

    label: str
    chunks: int
    chunk_tokens: int
    mean_chunk_tokens: float
    retrieved_context_tokens: float
    compressed_context_tokens: float | None
    prompt_tokens: int
    request_tokens: int
    padding: Any  # PaddingComparison
    embedder_truncated_chunks: int
    embed_memory: Mapping[str, Any]  # name -> TransientMemory
    kv_cache: Any  # PagedKVCache of one request
    capacity: Any  # Capacity at request_tokens
    throughput: Throughput | None
    api_cost: Any  # CostEstimate
    self_hosted: Any  # SelfHostedCost or None
    formulas: tuple[str, ...] = ()

    @property
    def max_concurrent_requests(self) -> int:
        return self.capacity.max_concurrent_requests or 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "chunks": self.chunks,
            "chunk_tokens": self.chunk_tokens,
            "mean_chunk_tokens": self.mean_chunk_tokens,
            "retrieved_context_tokens": self.retrieved_context_tokens,
            "compressed_context_tokens": self.compressed_context_tokens,
            "prompt_tokens": self.prompt_tokens,
            "request_tokens": self.request_tokens,
            "padding": self.padding.to_dict() if self.padding is not None else None,
            "embedder_truncated_chunks": self.embedder_truncated_chunks,
            "embed_memory": {name: value.to_dict() for name, value in self.embed_memory.items()},
            "kv_cache_per_request": self.kv_cache.to_dict(),
            "capacity": self.capacity.to_dict(),
            "max_concurrent_requests": self.max_concurrent_requests,
            "throughput": self.throughput.to_dict() if self.throughput else None,
            "api_cost": self.api_cost.to_dict(),
            "self_hosted_cost": self.self_hosted.to_dict() if self.self_hosted is not None else None,
            "formulas": list(self.formulas),
        }


def _throughput(resolved: Resolved, capacity: Any, prompt_tokens: int, output_tokens: int) -> Throughput:
    """Measured throughputs when given, else a roofline estimate from the GPU's peak numbers."""

    config, spec, gpu = resolved.config, resolved.model, resolved.gpu
    concurrency = max(1, min(capacity.max_concurrent_requests or 1, 256))
    if config.prefill_tokens_per_second and config.decode_tokens_per_second:
        return Throughput(config.prefill_tokens_per_second, config.decode_tokens_per_second, concurrency,
                          ("prefill and decode tokens/s given by caller",), ("measured by the caller",))
    formulas: list[str] = []
    assumptions: list[str] = []
    if config.prefill_tokens_per_second:
        prefill = float(config.prefill_tokens_per_second)
        formulas.append(f"prefill_tokens_per_second = {prefill:g} (given by caller)")
    else:
        peak = gpu.bf16_dense_tflops or gpu.fp16_dense_tflops
        if not peak:
            raise ConfigError(f"GPU {gpu.name} has no peak TFLOPs in the catalog; pass prefill_tokens_per_second=")
        # Prefill attends on average to half the prompt.
        flops = forward_flops_per_token(spec, context_tokens=prompt_tokens // 2, catalog=resolved.catalog)
        prefill = peak * 1e12 * config.prefill_mfu / flops
        formulas.append(
            f"prefill_tokens_per_second = peak_flops x mfu / flops_per_token = {peak:g}e12 x {config.prefill_mfu:g} / "
            f"{flops} = {prefill:.6g} (flops_per_token = 2 x params_active + 4 x layers x (prompt/2) x heads x head_dim)"
        )
        assumptions.append(f"prefill is compute-bound at {config.prefill_mfu:.0%} of the GPU's dense bf16 peak (an assumption, not a measurement)")
    if config.decode_tokens_per_second:
        decode = float(config.decode_tokens_per_second)
        formulas.append(f"decode_tokens_per_second = {decode:g} (given by caller)")
    else:
        bandwidth = gpu.memory_bandwidth_gb_s * 1e9
        average_context = prompt_tokens + output_tokens / 2
        step_bytes = capacity.weights_bytes + concurrency * capacity.kv_bytes_per_token * average_context
        decode = concurrency * bandwidth * config.decode_mbu / step_bytes
        formulas.append(
            f"decode_tokens_per_second = concurrency x bandwidth x mbu / (weights + concurrency x kv_bytes_per_token x "
            f"(prompt + output/2)) = {concurrency} x {bandwidth:g} x {config.decode_mbu:g} / ({capacity.weights_bytes} + "
            f"{concurrency} x {capacity.kv_bytes_per_token} x {average_context:g}) = {decode:.6g}"
        )
        assumptions.append(
            f"decode is memory-bound: each step reads the weights once and every running request's KV cache, "
            f"at {config.decode_mbu:.0%} of peak bandwidth; concurrency = min(max concurrent requests, 256 = vLLM max_num_seqs)"
        )
    return Throughput(prefill, decode, concurrency, tuple(formulas), tuple(assumptions))


def scenario(label: str, chunk_tokens: Sequence[int], resolved: Resolved, *, max_tokens: int) -> Scenario:
    """Embedding, retrieval, KV cache, capacity and cost of serving chunks of these token counts."""

    config = resolved.config
    catalog = resolved.catalog
    lengths = [int(n) for n in chunk_tokens]
    total = sum(lengths)
    mean = total / len(lengths) if lengths else 0.0
    retrieved = config.top_k * mean
    prompt = math.ceil(retrieved) + config.prompt_tokens
    request = prompt + config.output_tokens
    if request <= 0:
        raise ConfigError("a request of zero tokens: give prompt_tokens or output_tokens, or non-empty documents")
    # The embedder reads at most its own context (all-MiniLM-L6-v2: 256): rows are cut there, not at max_tokens.
    max_length = config.embed_max_length or min(max_tokens, resolved.embedder.max_context or max_tokens)
    padding = compare_padding(lengths, batch_size=config.embed_batch_size, max_length=max_length) if lengths else None
    embed_rows = min(config.embed_batch_size, max(1, len(lengths)))
    embed_memory = {
        "attention_eager": attention_scores_memory(resolved.embedder, batch_size=embed_rows, seq_len=max_length,
                                                   implementation="eager", catalog=catalog),
        "attention_sdpa": attention_scores_memory(resolved.embedder, batch_size=embed_rows, seq_len=max_length,
                                                  implementation="sdpa", catalog=catalog),
        "activations": activation_memory(resolved.embedder, num_tokens=embed_rows * max_length, num_sequences=embed_rows,
                                         catalog=catalog),
    }
    embed_limit = resolved.embedder.max_context
    truncated = sum(1 for n in lengths if embed_limit and n > embed_limit)
    kv = paged_kv_cache(resolved.model, [request], kv_dtype=config.kv_dtype, catalog=catalog)
    cap = capacity(resolved.model, resolved.gpu, gpu_memory_utilization=config.gpu_memory_utilization,
                   kv_dtype=config.kv_dtype, context_length=request, catalog=catalog)
    volume = Volume(queries_per_day=config.queries_per_day, input_tokens_per_query=max(prompt, 1),
                    output_tokens_per_query=config.output_tokens)
    api = api_cost(resolved.price, volume, catalog=catalog)
    throughput = None
    hosted = None
    if cap.fits and (cap.max_concurrent_requests or 0) > 0:
        throughput = _throughput(resolved, cap, prompt, config.output_tokens)
        gpu_basis = config.usd_per_gpu_hour if config.usd_per_gpu_hour is not None else resolved.gpu
        if config.decode_tokens_per_second:
            speed: dict[str, Any] = {"decode_tokens_per_second": throughput.decode_tokens_per_second}
        else:
            # The decode speed at any batch, so the cost follows the load (Little's law: at
            # 10,000 queries a day fewer than one request is in flight, not a full batch).
            speed = {"decode_step": decode_step(resolved.model, resolved.gpu, context_tokens=prompt + config.output_tokens / 2,
                                                mbu=config.decode_mbu, kv_dtype=config.kv_dtype, catalog=catalog),
                     "max_concurrent_requests": cap.max_concurrent_requests}
        try:
            hosted = self_hosted_cost(gpu_basis, volume, prefill_tokens_per_second=throughput.prefill_tokens_per_second,
                                      catalog=catalog, **speed)
        except ConfigError:
            hosted = None  # no cloud price for this GPU in the snapshot; the caller's note says so
    formulas = (
        f"mean_chunk_tokens = chunk_tokens / chunks = {total} / {len(lengths)} = {mean:.6g}",
        f"retrieved_context_tokens = top_k x mean_chunk_tokens = {config.top_k} x {mean:.6g} = {retrieved:.6g}",
        f"prompt_tokens = ceil(retrieved_context_tokens) + prompt_overhead = {math.ceil(retrieved)} + {config.prompt_tokens} = {prompt}",
        f"request_tokens = prompt_tokens + output_tokens = {prompt} + {config.output_tokens} = {request}",
    )
    return Scenario(label, len(lengths), total, mean, retrieved, None, prompt, request, padding, truncated,
                    embed_memory, kv, cap, throughput, api, hosted, formulas)


@dataclass(frozen=True)
class Economics:
    """Naive against chunkwise as served: the report's memory and money section."""

    config: ReportConfig
    model: str
    gpu: str
    embedder: str
    price: Any  # TokenPrice
    kv_per_token: Any  # KVCachePerToken
    naive: Scenario
    prepared: Scenario
    concurrency: int
    concurrency_curve: tuple[tuple[int, int], ...]
    gpu_hour: Any = None  # GPUHourCost or None
    prices_as_of: str | None = None
    gpu_prices_as_of: str | None = None
    notes: tuple[str, ...] = field(default=())
    compression: CompressionStats | None = None
    compressed_request: Mapping[str, Any] | None = None

    def _compression_dict(self) -> dict[str, Any]:
        if self.compression is None:
            return {"status": "not measured", "note": COMPRESSION_NOTE}
        return {"status": "measured", **self.compression.to_dict(), "chunkwise_request": dict(self.compressed_request or {})}

    @property
    def kv_bytes_at_concurrency(self) -> tuple[int, int]:
        """KV cache of ``concurrency`` requests, naive then chunkwise."""
        return self.concurrency * self.naive.kv_cache.bytes, self.concurrency * self.prepared.kv_cache.bytes

    @property
    def usd_saved_per_year(self) -> float:
        return self.naive.api_cost.usd_per_year - self.prepared.api_cost.usd_per_year

    def context_comparison(self) -> dict[str, Any]:
        """Context per query at equal top_k (what the serving figures assume) and at an equal budget.

        Smaller chunks make a smaller top-k context: that is a saving only if the evidence is
        still retrieved, which this report does not measure. At an equal budget (the naive
        top-k context) both sides send the same tokens and chunkwise fits more chunks.
        """
        top_k = self.config.top_k
        budget = self.naive.retrieved_context_tokens
        mean = self.prepared.mean_chunk_tokens
        return {
            "basis": "equal_top_k",
            "top_k": top_k,
            "naive_tokens": self.naive.retrieved_context_tokens,
            "chunkwise_tokens": self.prepared.retrieved_context_tokens,
            "recall": "not measured",
            "equal_budget": {"budget_tokens": budget, "naive_chunks": float(top_k),
                             "chunkwise_chunks": budget / mean if mean else 0.0,
                             "formula": "chunkwise_chunks = budget_tokens / chunkwise mean_chunk_tokens"},
            "note": (f"serving figures compare top-{top_k} chunks on both sides: fewer context tokens are a saving only "
                     "if chunkwise's top chunks hold the evidence as often as the naive windows do, which this report "
                     "does not measure (chunkwise eval measures recall at a context budget on labelled questions)"),
        }

    def metrics(self) -> dict[str, Any]:
        """The numbers teams track, naive against chunkwise."""
        def side(s: Scenario) -> dict[str, Any]:
            return {
                "tokens_per_request": s.request_tokens,
                "retrieved_context_tokens": s.retrieved_context_tokens,
                "kv_cache_bytes_per_request": s.kv_cache.bytes,
                "kv_block_fill": s.kv_cache.block_fill,
                "memory_utilization_at_concurrency": (self.concurrency * s.kv_cache.bytes) / s.capacity.kv_cache_bytes
                if s.capacity.kv_cache_bytes else None,
                "max_concurrent_requests": s.max_concurrent_requests,
                "sequence_efficiency": {name: getattr(s.padding, name).efficiency for name in ("static", "dynamic", "bucketed")}
                if s.padding is not None else None,
                "api_usd_per_million_input": s.api_cost.usd_per_million_input,
                "self_hosted_usd_per_million_input": s.self_hosted.usd_per_million_input if s.self_hosted else None,
                "usd_per_query": s.api_cost.usd_per_query,
                "usd_per_year": s.api_cost.usd_per_year,
            }
        return {"naive": side(self.naive), "chunkwise": side(self.prepared)}

    def to_dict(self) -> dict[str, Any]:
        naive_kv, prepared_kv = self.kv_bytes_at_concurrency
        return {
            "assumptions": self.config.to_dict(),
            "model": self.model,
            "gpu": self.gpu,
            "embedder": self.embedder,
            "price": self.price.to_dict(),
            "prices_as_of": self.prices_as_of,
            "gpu_prices_as_of": self.gpu_prices_as_of,
            "gpu_hour": self.gpu_hour.to_dict() if self.gpu_hour is not None else None,
            "kv_cache_per_token": self.kv_per_token.to_dict(),
            "naive": self.naive.to_dict(),
            "chunkwise": self.prepared.to_dict(),
            "concurrency": self.concurrency,
            "kv_cache_bytes_at_concurrency": {"naive": naive_kv, "chunkwise": prepared_kv, "saved": naive_kv - prepared_kv,
                                              "formula": "concurrency x kv_cache_bytes_per_request"},
            "concurrency_curve": [{"context_tokens": c, "max_concurrent_requests": n} for c, n in self.concurrency_curve],
            "concurrency_curve_formula": "min(floor(num_blocks / ceil(context_tokens / block_size)), max_num_seqs)"
            if getattr(self.naive.capacity, "max_num_seqs", None) else "floor(num_blocks / ceil(context_tokens / block_size))",
            "usd_saved_per_year": self.usd_saved_per_year,
            "metrics": self.metrics(),
            "compression": self._compression_dict(),
            "context_comparison": self.context_comparison(),
            "notes": list(self.notes),
        }


def economics(naive_tokens: Sequence[int], prepared_tokens: Sequence[int], resolved: Resolved, *,
              max_tokens: int, compression: CompressionStats | None = None) -> Economics:
    """Both scenarios, the concurrency they are compared at, and the concurrency curve."""

    config = resolved.config
    naive = scenario("naive", naive_tokens, resolved, max_tokens=max_tokens)
    prepared = scenario("chunkwise", prepared_tokens, resolved, max_tokens=max_tokens)
    compressed = None
    if compression is not None:
        prepared = dataclasses.replace(prepared, compressed_context_tokens=compression.mean_compressed_tokens)
        compressed = _compressed_request(compression, resolved)
    notes = list(resolved.notes)
    concurrency = config.concurrent_requests or max(1, naive.max_concurrent_requests)
    if not config.concurrent_requests:
        notes.append(f"KV cache compared at {concurrency} concurrent requests: the most the naive prompts fit on one {resolved.gpu.name}")
    cap = naive.capacity
    limit = resolved.model.max_context or 8192
    contexts = sorted({2**p for p in range(8, 20) if 2**p <= limit} | {naive.request_tokens, prepared.request_tokens})
    seqs_cap = getattr(cap, "max_num_seqs", None)  # the engine's limit on running sequences, where modelled
    curve = tuple((c, min(cap.num_blocks // -(-c // cap.block_size), seqs_cap or cap.num_blocks)) for c in contexts)
    gpu_hour = None
    if config.usd_per_gpu_hour is not None:
        gpu_hour = gpu_hour_cost(float(config.usd_per_gpu_hour))
    else:
        try:
            gpu_hour = gpu_hour_cost(resolved.gpu, catalog=resolved.catalog)
        except ConfigError as err:
            notes.append(f"self-hosted cost omitted: {err}")
    embed_limit = resolved.embedder.max_context
    if embed_limit and (naive.embedder_truncated_chunks or prepared.embedder_truncated_chunks):
        notes.append(
            f"{resolved.embedder.name} reads at most {embed_limit} tokens: {prepared.embedder_truncated_chunks} of "
            f"{prepared.chunks} chunkwise chunks and {naive.embedder_truncated_chunks} of {naive.chunks} naive windows are longer "
            "(counted in the LLM tokenizer's tokens) and would be embedded from their head only"
        )
    notes.append("embedding padding uses the LLM tokenizer's counts per chunk, not the embedder's own word pieces")
    notes.append(f"both sides retrieve top-{config.top_k} chunks per query; retrieval quality (recall of the evidence) is "
                 "not measured here, so the per-request figures are savings only if recall holds")
    if compression is None:
        notes.append(COMPRESSION_NOTE)
    return Economics(config, resolved.model.name, resolved.gpu.name, resolved.embedder.name, resolved.price,
                     kv_cache_breakdown(resolved.model, config.kv_dtype, catalog=resolved.catalog), naive, prepared,
                     concurrency, curve, gpu_hour, resolved.price.as_of or resolved.catalog.prices_as_of,
                     resolved.catalog.gpu_prices_as_of, tuple(notes), compression, compressed)


def _compressed_request(compression: CompressionStats, resolved: Resolved) -> dict[str, Any]:
    """A chunkwise request whose context is the measured compressed context: its KV cache and cost."""

    config = resolved.config
    prompt = math.ceil(compression.mean_compressed_tokens) + config.prompt_tokens
    request = prompt + config.output_tokens
    kv = paged_kv_cache(resolved.model, [request], kv_dtype=config.kv_dtype, catalog=resolved.catalog)
    cap = capacity(resolved.model, resolved.gpu, gpu_memory_utilization=config.gpu_memory_utilization,
                   kv_dtype=config.kv_dtype, context_length=request, catalog=resolved.catalog)
    volume = Volume(queries_per_day=config.queries_per_day, input_tokens_per_query=max(prompt, 1),
                    output_tokens_per_query=config.output_tokens)
    api = api_cost(resolved.price, volume, catalog=resolved.catalog)
    return {
        "prompt_tokens": prompt,
        "request_tokens": request,
        "kv_cache_per_request": kv.to_dict(),
        "max_concurrent_requests": cap.max_concurrent_requests or 0,
        "api_cost": api.to_dict(),
        "formulas": [
            f"prompt_tokens = ceil(compressed_context_tokens) + prompt_overhead = "
            f"{math.ceil(compression.mean_compressed_tokens)} + {config.prompt_tokens} = {prompt}",
            f"request_tokens = prompt_tokens + output_tokens = {prompt} + {config.output_tokens} = {request}",
        ],
    }


def checked_report_config(report: ReportConfig | bool | None, model: str | None, **options: Any) -> ReportConfig:
    """The report's assumptions, validated and looked up in the catalog before any work is done."""
    if report is False:
        return ReportConfig(economics=False)
    options = ReportConfig.build(None if report in (None, True) else report, **options)
    resolve(options, model_hint=model)  # raises CatalogError / ConfigError now, not after chunking
    return options


__all__ = ["ReportConfig", "Resolved", "resolve", "checked_report_config", "Scenario", "Throughput", "Economics", "economics", "scenario",
           "CompressionStats",
           "DEFAULT_SERVING_MODEL", "DEFAULT_GPU", "DEFAULT_PRICE", "DEFAULT_EMBEDDER", "COMPRESSION_NOTE"]
