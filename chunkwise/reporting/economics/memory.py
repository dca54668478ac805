"""GPU memory of serving a model: weights, KV cache (paged as vLLM does), attention, activations.

Every result is a frozen dataclass whose ``to_dict()`` carries the inputs, the numbers, the
formula strings and the assumptions, so each figure in a report can be traced by hand.
Byte counts are exact integers where the formula makes them so; GiB = 2**30 bytes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import ConfigError
from .catalog import Catalog, GPUSpec, ModelSpec

GIB = 2**30

#: Bytes per parameter or per cached value for each plain storage type.
DTYPE_BYTES: Mapping[str, float] = {
    "float32": 4, "fp32": 4,
    "bfloat16": 2, "bf16": 2, "float16": 2, "fp16": 2,
    "fp8": 1, "float8": 1, "float8_e4m3fn": 1, "int8": 1,
    "int4": 0.5,
}

#: vLLM's default KV-cache block size, in tokens.
VLLM_BLOCK_SIZE = 16
#: vLLM's default fraction of device memory the engine may use.
VLLM_GPU_MEMORY_UTILIZATION = 0.9
#: vLLM's default cap on sequences running at once (``max_num_seqs``): 256 in
#: ``EngineArgs.get_batch_defaults`` (vllm/engine/arg_utils.py) for A100s and cards under 70 GiB,
#: and in the V0 engine for every card; the V1 engine raises it to 1024 on larger cards that are
#: not A100s (H100, H200, MI300X). Pass ``max_num_seqs=`` to :func:`capacity` for another engine.
VLLM_MAX_NUM_SEQS = 256

AttentionImpl = Literal["eager", "sdpa", "flash"]


def dtype_bytes(dtype: str) -> float:
    """Bytes per value for a dtype name (``bfloat16``, ``fp8``, ``int4``...)."""
    try:
        return DTYPE_BYTES[dtype.lower()]
    except (KeyError, AttributeError) as err:
        raise ConfigError(f"dtype={dtype!r} is not one of {', '.join(sorted(DTYPE_BYTES))}") from err


def _positive_int(name: str, value: Any, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (value == 0 and not allow_zero):
        bound = "a non-negative" if allow_zero else "a positive"
        raise ConfigError(f"{name}={value!r} must be {bound} integer")
    return value


def _resolve_model(model: Any, catalog: Catalog | None) -> ModelSpec:
    return (catalog or Catalog()).resolve_model(model)


# --------------------------------------------------------------------------- weights
@dataclass(frozen=True)
class Quantization:
    """How weights are stored: bits per weight plus per-group scale (and zero-point) overhead.

    Grouped integer formats (GPTQ/AWQ style) store one scale, and for asymmetric schemes one
    zero point, per ``group_size`` weights. Embedding and output-head matrices usually stay
    in 16-bit (``keep_embeddings_16bit``), which matters for large vocabularies.
    """

    name: str
    bits: float
    group_size: int | None = None
    scale_bytes: float = 0.0
    zero_point_bytes: float = 0.0
    keep_embeddings_16bit: bool = False

    def __post_init__(self) -> None:
        if not (0 < self.bits <= 32):
            raise ConfigError(f"quantization {self.name!r}: bits={self.bits!r} must be in (0, 32]")
        if self.group_size is not None:
            _positive_int("group_size", self.group_size)

    @property
    def bytes_per_param(self) -> float:
        """Storage per quantized weight, including the amortized scale and zero point."""
        overhead = (self.scale_bytes + self.zero_point_bytes) / self.group_size if self.group_size else 0.0
        return self.bits / 8 + overhead

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "bytes_per_param": self.bytes_per_param}


#: Named weight formats. Per-channel/per-tensor scales of fp8 and int8 are a few kB and ignored.
QUANTIZATIONS: Mapping[str, Quantization] = {
    "float32": Quantization("float32", 32),
    "bfloat16": Quantization("bfloat16", 16),
    "float16": Quantization("float16", 16),
    "fp8": Quantization("fp8", 8),
    # DeepSeek-V3's published checkpoint: fp8 linear weights with one fp32 scale per
    # 128 x 128 block; embedding and output head stay bf16.
    "fp8-block128": Quantization("fp8-block128", 8, group_size=128 * 128, scale_bytes=4,
                                 keep_embeddings_16bit=True),
    "int8": Quantization("int8", 8),
    # GPTQ/AWQ-style 4-bit: groups of 128 weights share an fp16 scale and a 4-bit zero point;
    # embeddings and lm_head stay 16-bit as those toolkits leave them.
    "int4": Quantization("int4", 4, group_size=128, scale_bytes=2, zero_point_bytes=0.5,
                         keep_embeddings_16bit=True),
}
_QUANT_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16",
                  "float8": "fp8", "int4-g128": "int4", "awq": "int4", "gptq": "int4"}


def quantization(spec: str | Quantization) -> Quantization:
    """A Quantization from a name (``bfloat16``, ``fp8``, ``int8``, ``int4``...) or itself."""
    if isinstance(spec, Quantization):
        return spec
    key = _QUANT_ALIASES.get(str(spec).lower(), str(spec).lower())
    if key not in QUANTIZATIONS:
        raise ConfigError(f"weight format {spec!r} is not one of {', '.join(QUANTIZATIONS)}; "
                          "or pass a Quantization(...)")
    return QUANTIZATIONS[key]


@dataclass(frozen=True)
class WeightsMemory:
    """Bytes the model's weights occupy. Mixture-of-experts models hold every expert: total params."""

    model: str
    weight_format: Quantization
    params_total: int
    params_active: int
    params_quantized: int
    params_16bit: int
    bytes: int
    formula: str
    assumptions: tuple[str, ...]

    @property
    def gib(self) -> float:
        return self.bytes / GIB

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["weight_format"] = self.weight_format.to_dict()
        out["gib"] = self.gib
        out["assumptions"] = list(self.assumptions)
        return out


def weights_memory(model: Any, weight_format: str | Quantization | None = None, *,
                   catalog: Catalog | None = None) -> WeightsMemory:
    """Memory of the weights in the given format (default: the checkpoint's ``weight_format``, else its dtype)."""
    spec = _resolve_model(model, catalog)
    fmt = quantization(weight_format or spec.weight_format or spec.dtype)
    params_16bit = 0
    if fmt.keep_embeddings_16bit:
        params_16bit = spec.vocab * spec.hidden * (1 if spec.tie_word_embeddings else 2)
        if spec.kind == "encoder":
            params_16bit = spec.vocab * spec.hidden
    params_quantized = spec.params_total - params_16bit
    total = math.ceil(params_quantized * fmt.bytes_per_param + params_16bit * 2)
    assumptions = [
        "weights memory uses params_total: every expert of a mixture-of-experts model is resident",
        f"params_total={spec.params_total} ({spec.params_basis})",
    ]
    if fmt.group_size:
        assumptions.append(
            f"{fmt.name}: {fmt.bits:g} bits per weight plus ({fmt.scale_bytes} B scale + {fmt.zero_point_bytes} B zero point)"
            f" per group of {fmt.group_size} = {fmt.bytes_per_param:.6f} B/param"
        )
    if params_16bit:
        assumptions.append(
            f"embedding/output-head matrices ({params_16bit} params = vocab x hidden x "
            f"{1 if spec.tie_word_embeddings or spec.kind == 'encoder' else 2}) stay 16-bit; norms are counted as quantized"
        )
    if fmt.bits == 8 and not fmt.group_size:
        assumptions.append("per-channel/per-tensor scales of 8-bit formats are ignored (a few kB)")
    formula = (
        "ceil(params_quantized * bytes_per_param + params_16bit * 2)"
        f" = ceil({params_quantized} * {fmt.bytes_per_param:g} + {params_16bit} * 2) = {total}"
    )
    return WeightsMemory(spec.name, fmt, spec.params_total, spec.params_active, params_quantized,
                         params_16bit, total, formula, tuple(assumptions))


# --------------------------------------------------------------------------- KV cache
def kv_cache_bytes_per_token(model: Any, kv_dtype: str | None = None, *, catalog: Catalog | None = None) -> int:
    """KV-cache bytes one token occupies across all layers (0 for an encoder).

    Standard attention: ``2 (K and V) x layers x kv_heads x head_dim x bytes``.
    MLA (DeepSeek): ``layers x (kv_lora_rank + qk_rope_head_dim) x bytes`` (one latent, no separate V).
    """
    spec = _resolve_model(model, catalog)
    return kv_cache_breakdown(spec, kv_dtype).bytes_per_token


@dataclass(frozen=True)
class KVCachePerToken:
    """Per-token KV-cache size and how it was computed."""

    model: str
    attention: str
    kv_dtype: str
    bytes_per_value: float
    bytes_per_token: int
    formula: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def kv_cache_breakdown(model: Any, kv_dtype: str | None = None, *, catalog: Catalog | None = None) -> KVCachePerToken:
    """:func:`kv_cache_bytes_per_token` with its formula, for reports."""
    spec = _resolve_model(model, catalog)
    kv_dtype = kv_dtype or spec.dtype
    width = dtype_bytes(kv_dtype)
    if spec.kind == "encoder":
        return KVCachePerToken(spec.name, spec.attention, kv_dtype, width, 0,
                               "encoder: no autoregressive decoding, no KV cache")
    if spec.attention == "mla":
        per_token = spec.layers * (spec.kv_lora_rank + spec.qk_rope_head_dim) * width
        formula = (f"layers x (kv_lora_rank + qk_rope_head_dim) x bytes = {spec.layers} x "
                   f"({spec.kv_lora_rank} + {spec.qk_rope_head_dim}) x {width:g} = {per_token:g}")
    else:
        per_token = 2 * spec.layers * spec.kv_heads * spec.head_dim * width
        formula = (f"2 x layers x kv_heads x head_dim x bytes = 2 x {spec.layers} x {spec.kv_heads} x "
                   f"{spec.head_dim} x {width:g} = {per_token:g}")
    return KVCachePerToken(spec.name, spec.attention, kv_dtype, width, math.ceil(per_token), formula)


@dataclass(frozen=True)
class PagedKVCache:
    """KV cache of a set of requests allocated in fixed-size blocks, as vLLM's paged attention does."""

    model: str
    kv_dtype: str
    block_size: int
    bytes_per_token: int
    bytes_per_block: int
    sequence_tokens: tuple[int, ...]
    real_tokens: int
    blocks: int
    allocated_tokens: int
    bytes: int
    unpaged_bytes: int
    formula: str

    @property
    def gib(self) -> float:
        return self.bytes / GIB

    @property
    def block_fill(self) -> float:
        """real_tokens / allocated_tokens: the share of allocated slots that hold a token."""
        return self.real_tokens / self.allocated_tokens if self.allocated_tokens else 1.0

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["sequence_tokens"] = list(self.sequence_tokens)
        out.update(gib=self.gib, block_fill=self.block_fill)
        return out


def paged_kv_cache(model: Any, sequence_tokens: Iterable[int], *, kv_dtype: str | None = None,
                   block_size: int = VLLM_BLOCK_SIZE, catalog: Catalog | None = None) -> PagedKVCache:
    """KV cache for requests of the given lengths (prompt + generated tokens each).

    Each request gets ``ceil(tokens / block_size)`` blocks of its own; prefix sharing is not modelled.
    """
    spec = _resolve_model(model, catalog)
    _positive_int("block_size", block_size)
    lengths = tuple(_positive_int("sequence length", n, allow_zero=True) for n in sequence_tokens)
    per_token = kv_cache_breakdown(spec, kv_dtype)
    blocks = sum(-(-n // block_size) for n in lengths)
    bytes_per_block = per_token.bytes_per_token * block_size
    real = sum(lengths)
    formula = (f"blocks = sum(ceil(tokens_i / {block_size})) = {blocks}; bytes = blocks x block_size x "
               f"bytes_per_token = {blocks} x {block_size} x {per_token.bytes_per_token} = {blocks * bytes_per_block}")
    return PagedKVCache(spec.name, per_token.kv_dtype, block_size, per_token.bytes_per_token, bytes_per_block,
                        lengths, real, blocks, blocks * block_size, blocks * bytes_per_block,
                        real * per_token.bytes_per_token, formula)


def kv_cache_from_blocks(model: Any, num_blocks: int, *, kv_dtype: str | None = None,
                         block_size: int = VLLM_BLOCK_SIZE, catalog: Catalog | None = None) -> int:
    """Bytes of a KV cache of ``num_blocks`` blocks (e.g. vLLM's logged ``# GPU blocks``)."""
    _positive_int("num_blocks", num_blocks, allow_zero=True)
    _positive_int("block_size", block_size)
    return num_blocks * block_size * kv_cache_bytes_per_token(model, kv_dtype, catalog=catalog)


# --------------------------------------------------------------------------- transient memory
@dataclass(frozen=True)
class TransientMemory:
    """A transient buffer estimate (attention scores, activations) with its formula."""

    what: str
    bytes: int
    formula: str
    assumptions: tuple[str, ...]

    @property
    def gib(self) -> float:
        return self.bytes / GIB

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "assumptions": list(self.assumptions), "gib": self.gib}


def _eager_bytes_per_score(spec: ModelSpec, dtype: str, width: float) -> tuple[float, str]:
    """Bytes live per attention score at the peak of an eager softmax in ``dtype``, and why."""
    if spec.kind != "decoder":
        # BERT-style: softmax in the model's dtype; input and output are live together.
        return 2 * width, f"scores + softmax output in the model dtype = 2 x {width:g}"
    if width == 2 and dtype.lower() in ("bfloat16", "bf16"):
        # softmax(x, dtype=float32) on a bf16 tensor first casts x to fp32 (PyTorch upcasts
        # only fp16 inside the kernel), then writes an fp32 output: 2 + 4 + 4 bytes.
        return 10, "bf16 scores + their fp32 copy + fp32 softmax output = 2 + 4 + 4"
    if width == 2:
        return 8, "fp16 scores + fp32 softmax output + the cast back to fp16 = 2 + 4 + 2"
    return 2 * width, f"scores + softmax output = 2 x {width:g}"


def attention_scores_memory(model: Any, *, batch_size: int, seq_len: int, implementation: AttentionImpl = "eager",
                            dtype: str | None = None, catalog: Catalog | None = None) -> TransientMemory:
    """Peak memory of one layer's attention scores for a batch of equal-length sequences.

    ``eager`` (transformers' ``eager_attention_forward``) materializes the score matrix,
    ``batch x heads x seq^2``, and at the softmax holds it together with the softmax's own
    buffers: decoders take the softmax in fp32 (10 bytes per score in bf16), encoders in
    the model dtype; plus the additive mask, ``batch x seq^2`` in the model dtype. Checked
    against torch.cuda peaks on an H100 for Llama-3-8B (see :func:`prefill_memory`).
    ``sdpa``/``flash`` (FlashAttention-style kernels) never do: they keep one fp32 softmax
    statistic (log-sum-exp) per query row, ``batch x heads x seq x 4`` -- linear in seq.
    """
    spec = _resolve_model(model, catalog)
    _positive_int("batch_size", batch_size)
    _positive_int("seq_len", seq_len)
    dtype = dtype or spec.dtype
    width = dtype_bytes(dtype)
    layers_note = "layers run one after another, so one layer's buffer is live at a time"
    if implementation == "eager":
        per_score, why = _eager_bytes_per_score(spec, dtype, width)
        scores = batch_size * spec.heads * seq_len * seq_len
        mask = math.ceil(batch_size * seq_len * seq_len * width)
        total = math.ceil(scores * per_score) + mask
        formula = (f"batch x heads x seq^2 x bytes_per_score + batch x seq^2 x bytes (mask) = {batch_size} x {spec.heads} x "
                   f"{seq_len}^2 x {per_score:g} + {batch_size} x {seq_len}^2 x {width:g} = {total}")
        assumptions = (layers_note, f"bytes_per_score: {why}", "the additive attention mask is materialized per batch row")
    elif implementation in ("sdpa", "flash"):
        total = batch_size * spec.heads * seq_len * 4
        formula = f"batch x heads x seq x 4 (fp32 log-sum-exp) = {batch_size} x {spec.heads} x {seq_len} x 4 = {total}"
        assumptions = (layers_note, "tiled kernel: score tiles live in on-chip SRAM, not device memory")
    else:
        raise ConfigError(f"implementation={implementation!r} must be 'eager', 'sdpa' or 'flash'")
    return TransientMemory(f"attention scores ({implementation})", total, formula, assumptions)


def activation_memory(model: Any, *, num_tokens: int, num_sequences: int = 1, dtype: str | None = None,
                      catalog: Catalog | None = None) -> TransientMemory:
    """Peak inference activations for a forward pass over ``num_tokens`` tokens (no autograd).

    ``num_tokens x bytes x (4 x hidden + mlp_tensors x mlp_width) + num_sequences x vocab x 4``:
    the residual stream, its normed copy, q/k/v and attention output (about 4 hidden-wide
    tensors) plus the MLP's live tensors -- a decoder's gated MLP holds gate, up and their
    product (3), an encoder's (BERT) holds the up projection and its GELU (2) -- and fp32
    logits for the one sampled position of each decoder sequence. ``mlp_width`` is
    ``intermediate`` (x ``experts_per_token`` for mixture-of-experts, whose tokens go
    through several experts).
    """
    spec = _resolve_model(model, catalog)
    _positive_int("num_tokens", num_tokens)
    _positive_int("num_sequences", num_sequences)
    width = dtype_bytes(dtype or spec.dtype)
    intermediate = spec.intermediate or 4 * spec.hidden
    if spec.is_moe and spec.experts_per_token:
        # A routed token runs through experts_per_token (+ shared) experts; dense layers, if any,
        # use the full intermediate width, and the wider of the two sets the peak.
        expert_width = (spec.moe_intermediate or intermediate) * (spec.experts_per_token + (spec.shared_experts or 0))
        intermediate = max(intermediate, expert_width)
    mlp_tensors = 3 if spec.kind == "decoder" else 2
    per_token = 4 * spec.hidden + mlp_tensors * intermediate
    hidden_part = math.ceil(num_tokens * width * per_token)
    logits = num_sequences * spec.vocab * 4 if spec.kind == "decoder" else 0
    total = hidden_part + logits
    formula = (f"num_tokens x bytes x (4 x hidden + {mlp_tensors} x mlp_width) + num_sequences x vocab x 4 = "
               f"{num_tokens} x {width:g} x (4 x {spec.hidden} + {mlp_tensors} x {intermediate}) + "
               f"{num_sequences if spec.kind == 'decoder' else 0} x {spec.vocab} x 4 = {total}")
    assumptions = (
        "inference, no autograd: only one layer's intermediates are live at a time",
        "fused/flash attention: no seq^2 term (see attention_scores_memory for eager)",
        "logits are computed for the last position of each sequence only, in fp32",
    )
    return TransientMemory("activations", total, formula, assumptions)


def prefill_memory(model: Any, *, seq_len: int, batch_size: int = 1, implementation: AttentionImpl = "sdpa",
                   dtype: str | None = None, catalog: Catalog | None = None) -> TransientMemory:
    """Peak memory above the weights of one prefill: the KV cache it writes plus the larger phase of a layer.

    The MLP phase is :func:`activation_memory`. With eager attention the attention phase
    -- the hidden-wide inputs (residual, normed copy, q, attention output), k and v, their
    copies repeated to every head under grouped-query attention, and
    :func:`attention_scores_memory` -- is larger from a few hundred tokens on. Checked on
    an NVIDIA H100 (transformers, random bf16 weights): Llama-3-8B eager 1,641 MiB at 2,048
    tokens and 22,020 MiB at 8,192 (the tests hold these figures).
    """
    spec = _resolve_model(model, catalog)
    _positive_int("seq_len", seq_len)
    _positive_int("batch_size", batch_size)
    width = dtype_bytes(dtype or spec.dtype)
    tokens = batch_size * seq_len
    kv = tokens * kv_cache_bytes_per_token(spec, dtype, catalog=catalog)
    mlp_phase = activation_memory(spec, num_tokens=tokens, num_sequences=batch_size, dtype=dtype, catalog=catalog)
    scores = attention_scores_memory(spec, batch_size=batch_size, seq_len=seq_len, implementation=implementation,
                                     dtype=dtype, catalog=catalog)
    kv_width = spec.kv_heads * spec.head_dim
    repeated = 2 * spec.heads * spec.head_dim if spec.kv_heads < spec.heads else 0
    attention_inputs = math.ceil(tokens * width * (4 * spec.hidden + 2 * kv_width + repeated))
    attention_phase = attention_inputs + scores.bytes
    total = kv + max(mlp_phase.bytes, attention_phase)
    formula = (f"kv_cache + max(mlp_phase, attention_phase) = {kv} + max({mlp_phase.bytes}, {attention_inputs} + "
               f"{scores.bytes}) = {total}; attention inputs = tokens x bytes x (4 x hidden + 2 x kv_width"
               f"{' + 2 x heads x head_dim (repeated k, v)' if repeated else ''}) = {tokens} x {width:g} x "
               f"(4 x {spec.hidden} + 2 x {kv_width}{f' + {repeated}' if repeated else ''})")
    assumptions = (f"KV cache of {tokens} tokens in {dtype or spec.dtype}", *mlp_phase.assumptions[:1],
                   *scores.assumptions[1:])
    return TransientMemory(f"prefill peak above weights ({implementation})", total, formula, assumptions)


# --------------------------------------------------------------------------- capacity
@dataclass(frozen=True)
class ReserveLog:
    """A published vLLM start-up log: its stated settings and the reserve it shows.

    The reserve is what vLLM keeps out of the KV cache besides the weights:
    ``total x gpu_memory_utilization - weights - kv_cache``.
    """

    source: str
    model: str
    gpu: str
    total_gpu_memory_gib: float
    gpu_memory_utilization: float
    reserve_gib: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: Published vLLM logs of Llama-3-8B in bf16 on one GPU at the default utilization 0.9; the
#: reserve each shows bounds the assumption of :class:`Reserve` (tests hold both logs).
VLLM_RESERVE_LOGS: tuple[ReserveLog, ...] = (
    ReserveLog("https://github.com/vllm-project/vllm/pull/10511", "llama-3-8b", "80 GB GPU", 79.22, 0.9, 3.05,
               "non_torch_memory 1.79 GiB + PyTorch activation peak 1.26 GiB; available_kv_cache_memory 53.29 GiB"),
    ReserveLog("https://github.com/vllm-project/vllm/issues/12330", "llama-3-8b", "A100-SXM4-40GB", 39.50, 0.9, 9.48,
               "# GPU blocks: 5691 (11.12 GiB of KV cache) after 14.96 GiB of weights; the reserve is implied: "
               "35.55 - 14.96 - 11.12 GiB (9.477 GiB before rounding)"),
)
#: The largest reserve in :data:`VLLM_RESERVE_LOGS`: the top of the range every capacity states.
VLLM_RESERVE_HIGH_BYTES = round(max(log.reserve_gib for log in VLLM_RESERVE_LOGS) * GIB)


@dataclass(frozen=True)
class Reserve:
    """Memory kept out of the KV cache besides the weights: an assumption, stated with a range.

    vLLM measures it at start-up by profiling a dummy forward pass of ``max_num_batched_tokens``
    tokens. Here it is estimated as :func:`activation_memory` of that pass plus
    ``runtime_overhead_bytes`` (CUDA context, cuBLAS workspaces, allocator slack). Published
    logs for Llama-3-8B show more: 3.05 GiB (vLLM PR 10511) and 9.48 GiB (vLLM issue 12330)
    against this estimate's 2.03 GiB, so every :class:`Capacity` also gives the blocks at
    ``high_bytes`` (default :data:`VLLM_RESERVE_HIGH_BYTES`). Give ``fixed_bytes`` to use a
    reserve read from your own log instead of the estimate.
    """

    runtime_overhead_bytes: int = GIB
    max_num_batched_tokens: int = 8192
    fixed_bytes: int | None = None
    high_bytes: int = VLLM_RESERVE_HIGH_BYTES

    def __post_init__(self) -> None:
        _positive_int("runtime_overhead_bytes", self.runtime_overhead_bytes, allow_zero=True)
        _positive_int("max_num_batched_tokens", self.max_num_batched_tokens)
        if self.fixed_bytes is not None:
            _positive_int("fixed_bytes", self.fixed_bytes, allow_zero=True)
        _positive_int("high_bytes", self.high_bytes, allow_zero=True)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "published_logs": [log.to_dict() for log in VLLM_RESERVE_LOGS]}


@dataclass(frozen=True)
class Capacity:
    """How many KV-cache blocks, tokens and concurrent requests fit on one GPU after the weights.

    ``max_concurrent_requests`` is the smaller of what memory holds at ``context_length``
    (``max_concurrent_by_memory``) and the engine's ``max_num_seqs``;
    ``concurrency_limited_by`` says which. ``num_blocks_low`` and
    ``max_concurrent_requests_low`` are the same figures at the high end of the reserve's
    range; ``reserve_note`` is the one line a report prints beside them.
    """

    model: str
    gpu: str
    gpu_memory_bytes: int
    gpu_memory_exact: bool
    gpu_memory_utilization: float
    budget_bytes: int
    weights_bytes: int
    reserve_bytes: int
    reserve_basis: str
    kv_cache_available_bytes: int
    kv_bytes_per_token: int
    block_size: int
    bytes_per_block: int
    num_blocks: int
    kv_tokens: int
    kv_cache_bytes: int
    context_length: int | None
    blocks_per_request: int | None
    max_concurrent_requests: int | None
    fits: bool
    formulas: tuple[str, ...]
    assumptions: tuple[str, ...]
    max_num_seqs: int = VLLM_MAX_NUM_SEQS
    max_concurrent_by_memory: int | None = None
    concurrency_limited_by: str | None = None
    reserve_high_bytes: int = 0
    num_blocks_low: int = 0
    max_concurrent_requests_low: int | None = None
    reserve_note: str = ""

    @property
    def kv_cache_gib(self) -> float:
        return self.kv_cache_bytes / GIB

    @property
    def weights_gib(self) -> float:
        return self.weights_bytes / GIB

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["formulas"] = list(self.formulas)
        out["assumptions"] = list(self.assumptions)
        out.update(kv_cache_gib=self.kv_cache_gib, weights_gib=self.weights_gib,
                   reserve_gib=self.reserve_bytes / GIB, reserve_high_gib=self.reserve_high_bytes / GIB,
                   gpu_memory_gib=self.gpu_memory_bytes / GIB)
        return out


def _reserve_bytes(spec: ModelSpec, reserve: Reserve, max_num_seqs: int) -> tuple[int, str]:
    """The reserve :func:`capacity` assumes, and how it was obtained."""
    if reserve.fixed_bytes is not None:
        return reserve.fixed_bytes, f"fixed_bytes={reserve.fixed_bytes} given by caller"
    # vLLM's profiling pass spreads max_num_batched_tokens over up to max_num_seqs sequences.
    act = activation_memory(spec, num_tokens=reserve.max_num_batched_tokens,
                            num_sequences=min(max_num_seqs, reserve.max_num_batched_tokens), dtype=spec.dtype)
    return (reserve.runtime_overhead_bytes + act.bytes,
            f"runtime_overhead_bytes={reserve.runtime_overhead_bytes} + activation peak ({act.formula})")


def _concurrency(num_blocks: int, blocks_per_request: int | None, max_num_seqs: int) -> tuple[int | None, int | None]:
    """(held by memory, admitted by the engine) for requests of ``blocks_per_request`` blocks."""
    if not blocks_per_request:
        return None, None
    by_memory = num_blocks // blocks_per_request
    return by_memory, min(by_memory, max_num_seqs)


def capacity(model: Any, gpu: str | GPUSpec, *, gpu_memory_utilization: float = VLLM_GPU_MEMORY_UTILIZATION,
             weight_format: str | Quantization | None = None, kv_dtype: str | None = None,
             block_size: int = VLLM_BLOCK_SIZE, context_length: int | None = None,
             reserve: Reserve | None = None, max_num_seqs: int = VLLM_MAX_NUM_SEQS,
             catalog: Catalog | None = None) -> Capacity:
    """KV-cache capacity of one GPU serving ``model``, following vLLM's accounting.

    ``budget = floor(gpu_memory_bytes x gpu_memory_utilization)``;
    ``kv_available = budget - weights - reserve``; ``num_blocks = floor(kv_available / bytes_per_block)``;
    concurrent requests at ``context_length`` = ``min(floor(num_blocks / ceil(context_length / block_size)),
    max_num_seqs)``: the engine schedules at most ``max_num_seqs`` sequences however many fit
    (:data:`VLLM_MAX_NUM_SEQS`). The reserve is an assumption with a range (:class:`Reserve`).
    A model that does not fit returns ``fits=False`` with zero blocks rather than raising.
    """
    catalog = catalog or Catalog()
    spec = catalog.resolve_model(model)
    device = catalog.resolve_gpu(gpu)
    if isinstance(gpu_memory_utilization, bool) or not isinstance(gpu_memory_utilization, (int, float)) \
            or not (0 < gpu_memory_utilization <= 1):
        raise ConfigError(f"gpu_memory_utilization={gpu_memory_utilization!r} must be in (0, 1]")
    _positive_int("block_size", block_size)
    _positive_int("max_num_seqs", max_num_seqs)
    if context_length is not None:
        _positive_int("context_length", context_length)
    if spec.kind == "encoder":
        raise ConfigError(f"{spec.name} is an encoder: it keeps no KV cache, so KV capacity does not apply")
    reserve = reserve or Reserve()
    weights = weights_memory(spec, weight_format)
    per_token = kv_cache_breakdown(spec, kv_dtype)
    budget = math.floor(device.memory_bytes * gpu_memory_utilization)
    reserve_bytes, reserve_basis = _reserve_bytes(spec, reserve, max_num_seqs)
    reserve_high = max(reserve_bytes, reserve.high_bytes)
    available = budget - weights.bytes - reserve_bytes
    bytes_per_block = per_token.bytes_per_token * block_size
    num_blocks = max(0, available // bytes_per_block)
    num_blocks_low = max(0, (budget - weights.bytes - reserve_high) // bytes_per_block)
    blocks_per_request = -(-context_length // block_size) if context_length else None
    by_memory, concurrent = _concurrency(num_blocks, blocks_per_request, max_num_seqs)
    concurrent_low = _concurrency(num_blocks_low, blocks_per_request, max_num_seqs)[1]
    limited_by = None if by_memory is None else ("max_num_seqs" if by_memory > max_num_seqs else "memory")
    formulas = (
        f"budget = floor(gpu_memory_bytes x utilization) = floor({device.memory_bytes} x {gpu_memory_utilization}) = {budget}",
        f"weights = {weights.formula}",
        f"kv_available = budget - weights - reserve = {budget} - {weights.bytes} - {reserve_bytes} = {available}",
        f"kv_bytes_per_token = {per_token.formula}",
        f"num_blocks = floor(kv_available / (block_size x kv_bytes_per_token)) = floor({available} / {bytes_per_block}) = {num_blocks}",
        f"kv_cache_bytes = num_blocks x bytes_per_block = {num_blocks * bytes_per_block}",
        f"num_blocks_low = floor((budget - weights - reserve_high) / bytes_per_block) = floor(({budget} - {weights.bytes} - "
        f"{reserve_high}) / {bytes_per_block}) = {num_blocks_low}",
    ) + ((f"max_concurrent_requests = min(floor(num_blocks / ceil(context_length / block_size)), max_num_seqs) = "
          f"min(floor({num_blocks} / {blocks_per_request}), {max_num_seqs}) = min({by_memory}, {max_num_seqs}) = {concurrent}",)
         if blocks_per_request else ())
    logged = sorted(log.reserve_gib for log in VLLM_RESERVE_LOGS)
    note = (f"KV cache assumes a {reserve_bytes / GIB:.2f} GiB reserve besides the weights; published vLLM logs of "
            f"Llama-3-8B show {logged[0]:.2f} to {logged[-1]:.2f} GiB (PR 10511, issue 12330): {num_blocks:,} blocks "
            f"here, {num_blocks_low:,} with a {reserve_high / GIB:.2f} GiB reserve")
    if concurrent is not None:
        note += "; concurrent requests " + (f"{concurrent:,}" if concurrent_low == concurrent
                                            else f"{concurrent_low:,} to {concurrent:,}")
        if limited_by == "max_num_seqs":
            note += f" (memory holds {by_memory:,}; the engine admits max_num_seqs={max_num_seqs})"
    assumptions = (
        f"GPU memory: {device.memory_basis}",
        "one GPU, no tensor parallelism; every request reserves full blocks for its whole context (no prefix sharing)",
        f"reserve: {reserve_basis}",
        f"reserve range: {reserve_bytes / GIB:.2f} to {reserve_high / GIB:.2f} GiB; vLLM profiles it on the real GPU and "
        "published logs differ from the estimate (pass Reserve(fixed_bytes=...) with the reserve your log shows)",
        f"the engine runs at most max_num_seqs={max_num_seqs} sequences at once (vLLM's default 256 on A100s and "
        "cards under 70 GiB; 1024 in the V1 engine on larger cards)",
    )
    return Capacity(spec.name, device.name, device.memory_bytes, device.memory_bytes_exact, gpu_memory_utilization,
                    budget, weights.bytes, reserve_bytes, reserve_basis, available, per_token.bytes_per_token,
                    block_size, bytes_per_block, num_blocks, num_blocks * block_size, num_blocks * bytes_per_block,
                    context_length, blocks_per_request, concurrent, available >= bytes_per_block,
                    formulas, assumptions, max_num_seqs, by_memory, limited_by, reserve_high, num_blocks_low,
                    concurrent_low, note)


def implied_reserve_bytes(model: Any, gpu: str | GPUSpec, *, num_blocks: int,
                          gpu_memory_utilization: float = VLLM_GPU_MEMORY_UTILIZATION,
                          weight_format: str | Quantization | None = None, kv_dtype: str | None = None,
                          block_size: int = VLLM_BLOCK_SIZE, catalog: Catalog | None = None) -> int:
    """The reserve a logged block count implies: ``budget - weights - num_blocks x bytes_per_block``.

    Use it to calibrate :class:`Reserve` from a real vLLM log (``# GPU blocks: N``).
    """
    catalog = catalog or Catalog()
    spec = catalog.resolve_model(model)
    device = catalog.resolve_gpu(gpu)
    budget = math.floor(device.memory_bytes * gpu_memory_utilization)
    weights = weights_memory(spec, weight_format).bytes
    return budget - weights - kv_cache_from_blocks(spec, num_blocks, kv_dtype=kv_dtype, block_size=block_size)


# --------------------------------------------------------------------------- compute
def forward_flops_per_token(model: Any, *, context_tokens: int = 0, catalog: Catalog | None = None) -> int:
    """Forward FLOPs for one token: ``2 x (params_active - embedding table) + 4 x layers x context x heads x head_dim``.

    The input embedding is a table lookup, not a matrix product, so its ``vocab x hidden``
    parameters cost no FLOPs (a decoder with tied embeddings still multiplies by that matrix
    in its output head, so nothing is taken off; an encoder's position tables are left in). Mixture-of-experts models compute with
    active parameters only; the second term is the QK^T and attention-times-V products
    against ``context_tokens`` cached tokens. The output head is counted for every token
    (vLLM computes it only for the last prompt token, so prefill costs a little less).
    """
    spec = _resolve_model(model, catalog)
    _positive_int("context_tokens", context_tokens, allow_zero=True)
    # An encoder has no output head: its word table is only looked up, tied or not.
    lookup = spec.vocab * spec.hidden if spec.kind == "encoder" or not spec.tie_word_embeddings else 0
    return 2 * (spec.params_active - lookup) + 4 * spec.layers * context_tokens * spec.heads * spec.head_dim
