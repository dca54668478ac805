"""Token economics: what a model's weights and KV cache occupy, what padding wastes, what tokens cost.

Data first: every function returns a frozen dataclass with ``to_dict()`` that carries its
formulas and assumptions. Catalog facts (models, GPUs, dated prices) ship as JSON and are
read lazily by :class:`Catalog`; nothing is fetched from the network.
"""

from .catalog import (
    PRICE_UNIT,
    Catalog,
    CloudOffer,
    GPUSpec,
    ModelSpec,
    TokenPrice,
    estimate_parameters,
)
from .cost import (
    CostComparison,
    CostEstimate,
    DecodeStep,
    GPUHourCost,
    OnPremGPU,
    SelfHostedCost,
    ServingLoad,
    Volume,
    api_cost,
    compare_api_cost,
    decode_step,
    gpu_hour_cost,
    self_hosted_cost,
    serving_load,
)
from .memory import (
    GIB,
    VLLM_MAX_NUM_SEQS,
    VLLM_RESERVE_LOGS,
    Capacity,
    KVCachePerToken,
    PagedKVCache,
    Quantization,
    Reserve,
    ReserveLog,
    TransientMemory,
    WeightsMemory,
    activation_memory,
    attention_scores_memory,
    capacity,
    forward_flops_per_token,
    implied_reserve_bytes,
    kv_cache_breakdown,
    kv_cache_bytes_per_token,
    kv_cache_from_blocks,
    paged_kv_cache,
    prefill_memory,
    quantization,
    weights_memory,
)
from .padding import PaddingComparison, PaddingStats, compare_padding, padding_stats

__all__ = [
    "PRICE_UNIT", "Catalog", "CloudOffer", "GPUSpec", "ModelSpec", "TokenPrice", "estimate_parameters",
    "CostComparison", "CostEstimate", "DecodeStep", "GPUHourCost", "OnPremGPU", "SelfHostedCost", "ServingLoad",
    "Volume", "api_cost", "compare_api_cost", "decode_step", "gpu_hour_cost", "self_hosted_cost", "serving_load",
    "GIB", "VLLM_MAX_NUM_SEQS", "VLLM_RESERVE_LOGS", "Capacity", "KVCachePerToken", "PagedKVCache", "Quantization",
    "Reserve", "ReserveLog", "TransientMemory",
    "WeightsMemory", "activation_memory", "attention_scores_memory", "capacity", "forward_flops_per_token",
    "implied_reserve_bytes", "kv_cache_breakdown", "kv_cache_bytes_per_token", "kv_cache_from_blocks",
    "paged_kv_cache", "prefill_memory", "quantization", "weights_memory",
    "PaddingComparison", "PaddingStats", "compare_padding", "padding_stats",
]
