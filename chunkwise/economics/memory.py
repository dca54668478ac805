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

from ..errors import ConfigError
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
    """Memory of the weights in the given format (default: the model's own dtype)."""
    spec = _resolve_model(model, catalog)
    fmt = quantization(weight_format or spec.dtype)
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
            f"{fmt.name}: {fmt.bits} bits per weight plus ({fmt.scale_bytes} B scale + {fmt.zero_point_bytes} B zero point)"
            f" per group of {fmt.group_size} = {fmt.bytes_per_param:.6f} B/param"
        )
    if params_16bit:
        assumptions.append(
            f"embedding/output-head matrices ({params_16bit} params = vocab x hidden x "
            f"{1 if spec.tie_word_embeddings or spec.kind == 'encoder' else 2}) stay 16-bit; norms are counted as quantized"
        )
    if fmt.bits in (8,):
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
class Reserve:
    """Memory set aside before the KV cache: runtime overhead plus the activation peak.

    vLLM measures this by profiling a dummy forward pass of ``max_num_batched_tokens``
    tokens (``max_num_seqs`` sequences); here it is estimated with :func:`activation_memory`
    plus a fixed ``runtime_overhead_bytes`` for the CUDA context, cuBLAS/NCCL workspaces and
    allocator slack. Give ``fixed_bytes`` to replace the estimate with a measured number.
    """

    runtime_overhead_bytes: int = GIB
    max_num_batched_tokens: int = 8192
    max_num_seqs: int = 256
    fixed_bytes: int | None = None

    def __post_init__(self) -> None:
        _positive_int("runtime_overhead_bytes", self.runtime_overhead_bytes, allow_zero=True)
        _positive_int("max_num_batched_tokens", self.max_num_batched_tokens)
        _positive_int("max_num_seqs", self.max_num_seqs)
        if self.fixed_bytes is not None:
            _positive_int("fixed_bytes", self.fixed_bytes, allow_zero=True)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Capacity:
    """How many KV-cache blocks, tokens and concurrent requests fit on one GPU after the weights."""

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
                   reserve_gib=self.reserve_bytes / GIB, gpu_memory_gib=self.gpu_memory_bytes / GIB)
        return out


def capacity(model: Any, gpu: str | GPUSpec, *, gpu_memory_utilization: float = VLLM_GPU_MEMORY_UTILIZATION,
             weight_format: str | Quantization | None = None, kv_dtype: str | None = None,
             block_size: int = VLLM_BLOCK_SIZE, context_length: int | None = None,
             reserve: Reserve | None = None, catalog: Catalog | None = None) -> Capacity:
    """KV-cache capacity of one GPU serving ``model``, following vLLM's accounting.

    ``budget = floor(gpu_memory_bytes x gpu_memory_utilization)``;
    ``kv_available = budget - weights - reserve``; ``num_blocks = floor(kv_available / bytes_per_block)``;
    concurrent requests at ``context_length`` = ``floor(num_blocks / ceil(context_length / block_size))``.
    A model that does not fit returns ``fits=False`` with zero blocks rather than raising.
    """
    catalog = catalog or Catalog()
    spec = catalog.resolve_model(model)
    device = catalog.resolve_gpu(gpu)
    if isinstance(gpu_memory_utilization, bool) or not isinstance(gpu_memory_utilization, (int, float)) \
            or not (0 < gpu_memory_utilization <= 1):
        raise ConfigError(f"gpu_memory_utilization={gpu_memory_utilization!r} must be in (0, 1]")
    _positive_int("block_size", block_size)
    if context_length is not None:
        _positive_int("context_length", context_length)
    if spec.kind == "encoder":
        raise ConfigError(f"{spec.name} is an encoder: it keeps no KV cache, so KV capacity does not apply")
    reserve = reserve or Reserve()
    weights = weights_memory(spec, weight_format)
    per_token = kv_cache_breakdown(spec, kv_dtype)
    budget = math.floor(device.memory_bytes * gpu_memory_utilization)
    if reserve.fixed_bytes is not None:
        reserve_bytes = reserve.fixed_bytes
        reserve_basis = f"fixed_bytes={reserve.fixed_bytes} given by caller"
    else:
        act = activation_memory(spec, num_tokens=reserve.max_num_batched_tokens, num_sequences=reserve.max_num_seqs,
                                dtype=spec.dtype)
        reserve_bytes = reserve.runtime_overhead_bytes + act.bytes
        reserve_basis = (f"runtime_overhead_bytes={reserve.runtime_overhead_bytes} + activation peak "
                         f"({act.formula})")
    available = budget - weights.bytes - reserve_bytes
    bytes_per_block = per_token.bytes_per_token * block_size
    num_blocks = max(0, available // bytes_per_block)
    blocks_per_request = -(-context_length // block_size) if context_length else None
    concurrent = num_blocks // blocks_per_request if blocks_per_request else None
    formulas = (
        f"budget = floor(gpu_memory_bytes x utilization) = floor({device.memory_bytes} x {gpu_memory_utilization}) = {budget}",
        f"weights = {weights.formula}",
        f"kv_available = budget - weights - reserve = {budget} - {weights.bytes} - {reserve_bytes} = {available}",
        f"kv_bytes_per_token = {per_token.formula}",
        f"num_blocks = floor(kv_available / (block_size x kv_bytes_per_token)) = floor({available} / {bytes_per_block}) = {num_blocks}",
        f"kv_cache_bytes = num_blocks x bytes_per_block = {num_blocks * bytes_per_block}",
    ) + ((f"max_concurrent_requests = floor(num_blocks / ceil(context_length / block_size)) = "
          f"floor({num_blocks} / {blocks_per_request}) = {concurrent}",) if blocks_per_request else ())
    assumptions = (
        f"GPU memory: {device.memory_basis}",
        "one GPU, no tensor parallelism; every request reserves full blocks for its whole context (no prefix sharing)",
        f"reserve: {reserve_basis}",
        "vLLM profiles the reserve on the real GPU; logs from real runs can differ from this estimate "
        "(pass Reserve(fixed_bytes=...) to use a measured value)",
    )
    return Capacity(spec.name, device.name, device.memory_bytes, device.memory_bytes_exact, gpu_memory_utilization,
                    budget, weights.bytes, reserve_bytes, reserve_basis, available, per_token.bytes_per_token,
                    block_size, bytes_per_block, num_blocks, num_blocks * block_size, num_blocks * bytes_per_block,
                    context_length, blocks_per_request, concurrent, available >= bytes_per_block,
                    formulas, assumptions)


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
    """Forward FLOPs for one token: ``2 x params_active + 4 x layers x context x heads x head_dim``.

    Mixture-of-experts models compute with active parameters only; the second term is the
    QK^T and attention-times-V products against ``context_tokens`` cached tokens.
    """
    spec = _resolve_model(model, catalog)
    _positive_int("context_tokens", context_tokens, allow_zero=True)
    return 2 * spec.params_active + 4 * spec.layers * context_tokens * spec.heads * spec.head_dim
