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
    GPUHourCost,
    OnPremGPU,
    SelfHostedCost,
    Volume,
    api_cost,
    compare_api_cost,
    gpu_hour_cost,
    self_hosted_cost,
)
from .memory import (
    GIB,
    Capacity,
    KVCachePerToken,
    PagedKVCache,
    Quantization,
    Reserve,
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
    "CostComparison", "CostEstimate", "GPUHourCost", "OnPremGPU", "SelfHostedCost", "Volume",
    "api_cost", "compare_api_cost", "gpu_hour_cost", "self_hosted_cost",
    "GIB", "Capacity", "KVCachePerToken", "PagedKVCache", "Quantization", "Reserve", "TransientMemory",
    "WeightsMemory", "activation_memory", "attention_scores_memory", "capacity", "forward_flops_per_token",
    "implied_reserve_bytes", "kv_cache_breakdown", "kv_cache_bytes_per_token", "kv_cache_from_blocks",
    "paged_kv_cache", "prefill_memory", "quantization", "weights_memory",
    "PaddingComparison", "PaddingStats", "compare_padding", "padding_stats",
]
