"""Memory and padding formulas against hand-computed cases and a real vLLM log."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chunkwise.reporting.economics import (
    Catalog,
    GPUSpec,
    ModelSpec,
    Quantization,
    Reserve,
    activation_memory,
    attention_scores_memory,
    capacity,
    compare_padding,
    forward_flops_per_token,
    implied_reserve_bytes,
    kv_cache_breakdown,
    kv_cache_bytes_per_token,
    kv_cache_from_blocks,
    paged_kv_cache,
    padding_stats,
    prefill_memory,
    weights_memory,
)
from chunkwise.errors import CatalogError, ConfigError, InputDataError

GIB = 2**30
A100_40GB_BYTES = 42_412_802_048  # 39.50 GiB, as vLLM logs it on an A100-SXM4-40GB
LLAMA3_8B_PARAMS = 8_030_261_248


#: The GPU of vLLM PR 10511's log, as the log states it: total_gpu_memory 79.22 GiB.
PR_10511_CARD = GPUSpec(name="80 GB GPU as logged", memory_bytes=round(79.22 * GIB), memory_bytes_exact=False,
                        memory_basis="total_gpu_memory 79.22 GiB in the log", memory_nominal_gb=80,
                        memory_bandwidth_gb_s=3350)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


# --------------------------------------------------------------------------- truth: Llama-3-8B on A100-40GB
def test_llama3_8b_kv_cache_is_131072_bytes_per_token(catalog):
    assert kv_cache_bytes_per_token("llama-3-8b", catalog=catalog) == 2 * 32 * 8 * 128 * 2 == 131_072


def test_vllm_log_5691_blocks_is_11_12_gib_of_kv_cache(catalog):
    kv = kv_cache_from_blocks("llama-3-8b", 5691, catalog=catalog)
    assert kv == 5691 * 16 * 131_072 == 11_934_892_032
    assert round(kv / GIB, 2) == 11.12


def test_llama3_8b_bf16_weights_are_14_96_gib(catalog):
    weights = weights_memory("llama-3-8b", catalog=catalog)
    assert weights.bytes == LLAMA3_8B_PARAMS * 2 == 16_060_522_496
    assert round(weights.gib, 2) == 14.96


def test_implied_reserve_of_a_logged_block_count(catalog):
    # vLLM issue 12330 (A100-SXM4-40GB, 39.50 GiB, utilization 0.9): 5,691 blocks after 14.96 GiB of weights
    reserve = implied_reserve_bytes("llama-3-8b", "a100-40gb", num_blocks=5691, catalog=catalog)
    assert reserve == math.floor(A100_40GB_BYTES * 0.9) - 16_060_522_496 - 11_934_892_032
    assert round(reserve / GIB, 3) == 9.477  # 35.55 - 14.96 - 11.12 = 9.47 GiB when each term is rounded first


def test_a_reserve_read_from_a_log_gives_that_logs_kv_cache(catalog):
    # vLLM PR 10511 prints the reserve's parts itself: non_torch_memory 1.79 GiB + activation peak 1.26 GiB.
    # With that reserve the accounting budget - weights - reserve gives the logged 53.29 GiB of KV cache:
    # 79.22 x 0.9 - 14.957 - 3.05 = 53.29 GiB.
    cap = capacity("llama-3-8b", PR_10511_CARD, reserve=Reserve(fixed_bytes=round(3.05 * GIB)), catalog=catalog)
    assert cap.kv_cache_available_bytes / GIB == pytest.approx(53.29, abs=0.01)
    assert cap.reserve_basis.startswith("fixed_bytes=") and cap.reserve_high_bytes == round(9.48 * GIB)


def test_default_capacity_is_hand_computable(catalog):
    cap = capacity("llama-3-8b", "a100-40gb", context_length=8192, catalog=catalog)
    budget = math.floor(A100_40GB_BYTES * 0.9)                        # 38,171,521,843
    activations = 8192 * 2 * (4 * 4096 + 3 * 14336) + 256 * 128_256 * 4  # profile pass: 8,192 tokens, 256 sequences
    reserve = GIB + activations                                          # 2,178,154,496 = 2.03 GiB
    blocks = (budget - 16_060_522_496 - reserve) // (16 * 131_072)
    assert (cap.budget_bytes, cap.reserve_bytes, cap.num_blocks) == (budget, reserve, blocks)
    assert blocks == 9504 and cap.max_concurrent_requests == 9504 // 512 == 18 and cap.fits
    assert cap.concurrency_limited_by == "memory" and cap.max_concurrent_by_memory == 18
    payload = cap.to_dict()
    assert json.loads(json.dumps(payload)) == payload
    assert any("num_blocks" in line and str(blocks) in line for line in payload["formulas"])


def test_vllm_issue_12330_log_against_the_stated_range(catalog):
    # Stated settings: meta-llama/Meta-Llama-3-8B in bf16 on one A100-SXM4-40GB (total_gpu_memory 39.50 GiB),
    # gpu_memory_utilization 0.9. Logged: "# GPU blocks: 5691".
    cap = capacity("llama-3-8b", "a100-40gb", gpu_memory_utilization=0.9, context_length=8192, catalog=catalog)
    # The point estimate (2.03 GiB reserve) says 9,504 blocks: 1.67x the log. That is the limit the
    # report states; the high end of the range (9.48 GiB) gives
    # (38,171,521,843 - 16,060,522,496 - round(9.48 x 2**30)) // 2,097,152 = 5,689 blocks.
    assert cap.num_blocks == 9504 and round(cap.num_blocks / 5691, 2) == 1.67
    assert cap.reserve_high_bytes == round(9.48 * GIB) and cap.num_blocks_low == 5689
    assert cap.num_blocks_low <= 5691 <= cap.num_blocks
    assert cap.max_concurrent_requests_low == 5689 // 512 == 11
    assert "9,504 blocks here, 5,689 with a 9.48 GiB reserve" in cap.reserve_note
    assert "concurrent requests 11 to 18" in cap.reserve_note


def test_vllm_pr_10511_log_80gb_gpu(catalog):
    # Stated settings (vllm serve meta-llama/Meta-Llama-3-8B, one GPU): total_gpu_memory 79.22 GiB,
    # gpu_memory_utilization 0.90. Logged: can use 71.29 GiB; weights 14.96 GiB; non_torch_memory 1.79 GiB;
    # PyTorch activation peak 1.26 GiB; available_kv_cache_memory 53.29 GiB.
    cap = capacity("llama-3-8b", PR_10511_CARD, gpu_memory_utilization=0.9, catalog=catalog)
    assert cap.budget_bytes / GIB == pytest.approx(71.29, abs=0.01)   # 79.22 x 0.9 = 71.298
    assert round(cap.weights_gib, 2) == 14.96
    # our profile-pass estimate, 973,078,528 + 131,334,144 bytes = 1.03 GiB, is 18% under the logged 1.26 GiB
    activation = cap.reserve_bytes - GIB
    assert activation == 1_104_412_672 and round(activation / (1.26 * GIB), 2) == 0.82
    # predicted KV cache: 71.298 - 14.957 - 2.029 = 54.31 GiB, 1.9% over the logged 53.29 GiB
    assert round(cap.kv_cache_available_bytes / GIB, 2) == 54.31
    assert cap.kv_cache_available_bytes / (53.29 * GIB) == pytest.approx(1.019, abs=0.001)
    assert cap.reserve_bytes < 3.05 * GIB < cap.reserve_high_bytes


def test_concurrency_is_capped_at_vllm_max_num_seqs(catalog):
    # A100-80GB (79.25 GiB): floor(85,094,039,552 x 0.9) - 16,060,522,496 - 2,178,154,496 = 58,345,958,604 bytes
    # = 27,821 blocks of 2 MiB. The demo's requests: naive 2,609 tokens (164 blocks), chunkwise 982 (62 blocks).
    naive = capacity("llama-3-8b", "a100-80gb", context_length=2609, catalog=catalog)
    prepared = capacity("llama-3-8b", "a100-80gb", context_length=982, catalog=catalog)
    assert naive.num_blocks == prepared.num_blocks == 27_821
    assert (naive.max_concurrent_by_memory, naive.max_concurrent_requests, naive.concurrency_limited_by) == (
        27_821 // 164, 169, "memory")
    # memory holds 27,821 // 62 = 448 of the shorter requests, but vLLM schedules at most max_num_seqs = 256
    assert (prepared.max_concurrent_by_memory, prepared.max_concurrent_requests, prepared.concurrency_limited_by) == (
        448, 256, "max_num_seqs")
    assert round(prepared.max_concurrent_requests / naive.max_concurrent_requests, 2) == 1.51  # not 448 / 169 = 2.65
    assert "memory holds 448; the engine admits max_num_seqs=256" in prepared.reserve_note
    # vLLM's V1 default on big non-A100 cards is 1024; its profiling pass then holds 1,024 rows of fp32 logits:
    # reserve GIB + 973,078,528 + 1,024 x 128,256 x 4 = 2,572,156,928, so 27,633 blocks and 27,633 // 62 = 445
    wider = capacity("llama-3-8b", "a100-80gb", context_length=982, max_num_seqs=1024, catalog=catalog)
    assert (wider.reserve_bytes, wider.num_blocks, wider.max_concurrent_requests) == (2_572_156_928, 27_633, 445)
    with pytest.raises(ConfigError, match="max_num_seqs"):
        capacity("llama-3-8b", "a100-80gb", max_num_seqs=0, catalog=catalog)


def test_capacity_of_a_model_that_does_not_fit(catalog):
    cap = capacity("llama-3-70b", "t4", catalog=catalog)
    assert not cap.fits and cap.num_blocks == 0 and cap.kv_cache_bytes == 0 and cap.kv_cache_available_bytes < 0


@pytest.mark.parametrize("utilization", [0, -0.1, 1.5, True])
def test_capacity_rejects_bad_utilization(catalog, utilization):
    with pytest.raises(ConfigError, match="gpu_memory_utilization"):
        capacity("llama-3-8b", "a100-40gb", gpu_memory_utilization=utilization, catalog=catalog)


def test_capacity_rejects_encoders_and_unknown_gpus(catalog):
    with pytest.raises(ConfigError, match="encoder"):
        capacity("all-minilm-l6-v2", "t4", catalog=catalog)
    with pytest.raises(CatalogError, match="l4"):
        capacity("llama-3-8b", "l5", catalog=catalog)


# --------------------------------------------------------------------------- KV cache per token
@pytest.mark.parametrize(("name", "kv_dtype", "expected"), [
    ("phi-3-mini", None, 2 * 32 * 32 * 96 * 2),       # MHA
    ("qwen2.5-7b", None, 2 * 28 * 4 * 128 * 2),       # GQA
    ("llama-3-70b", "fp8", 2 * 80 * 8 * 128 * 1),     # fp8 KV cache
    ("deepseek-v3", None, 61 * (512 + 64) * 2),       # MLA latent + RoPE key
    ("deepseek-v3", "fp8", 61 * (512 + 64) * 1),
    ("all-minilm-l6-v2", None, 0),                    # encoder
])
def test_kv_cache_per_token_hand_cases(catalog, name, kv_dtype, expected):
    assert kv_cache_bytes_per_token(name, kv_dtype, catalog=catalog) == expected


def test_kv_breakdown_states_its_formula(catalog):
    mla = kv_cache_breakdown("deepseek-v3", catalog=catalog)
    assert mla.formula.endswith("= 70272") and "kv_lora_rank" in mla.formula


def test_unknown_dtype_is_rejected(catalog):
    with pytest.raises(ConfigError, match="dtype"):
        kv_cache_bytes_per_token("llama-3-8b", "int3", catalog=catalog)


# --------------------------------------------------------------------------- paged allocation
def test_paged_kv_rounds_each_request_up_to_whole_blocks(catalog):
    paged = paged_kv_cache("llama-3-8b", [1, 16, 17], catalog=catalog)
    assert (paged.blocks, paged.allocated_tokens, paged.real_tokens) == (1 + 1 + 2, 64, 34)
    assert paged.bytes == 4 * 16 * 131_072 and paged.unpaged_bytes == 34 * 131_072
    assert paged.block_fill == pytest.approx(34 / 64)


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(0, 5000), min_size=1, max_size=40), block_size=st.sampled_from([1, 8, 16, 32]))
def test_paging_wastes_less_than_one_block_per_request(lengths, block_size):
    paged = paged_kv_cache("mistral-7b-v0.1", lengths, block_size=block_size)
    assert paged.unpaged_bytes <= paged.bytes < paged.unpaged_bytes + len(lengths) * paged.bytes_per_block + 1
    if block_size == 1:
        assert paged.bytes == paged.unpaged_bytes


# --------------------------------------------------------------------------- weights: MoE and quantization
def test_moe_weights_use_total_and_compute_uses_active(catalog):
    mixtral = catalog.model("mixtral-8x7b")
    assert weights_memory(mixtral).bytes == 46_702_792_704 * 2
    # compute: active parameters less the input embedding table (a lookup), 32,000 x 4,096
    assert forward_flops_per_token(mixtral) == 2 * (12_879_925_248 - 32_000 * 4096)
    dense_same_size = forward_flops_per_token("llama-3-8b", catalog=catalog)
    assert forward_flops_per_token(mixtral) > dense_same_size  # 12.7B active matmul params > 7.5B


def test_forward_flops_exclude_the_embedding_table(catalog):
    # Llama-3-8B: 8,030,261,248 params of which 128,256 x 4,096 = 525,336,576 are the input embedding
    # table (its lm_head is a separate matrix and stays): 2 x 7,504,924,672 FLOPs per token.
    assert forward_flops_per_token("llama-3-8b", catalog=catalog) == 2 * 7_504_924_672 == 15_009_849_344
    extra = forward_flops_per_token("llama-3-8b", context_tokens=1000, catalog=catalog) - 15_009_849_344
    assert extra == 4 * 32 * 1000 * 32 * 128
    # tied embeddings: the one matrix is also the output head, so every parameter multiplies
    tied = ModelSpec(name="tied", kind="decoder", params_total=1000, params_active=1000, layers=1, hidden=4,
                     heads=1, kv_heads=1, head_dim=4, vocab=10, attention="mha", tie_word_embeddings=True)
    assert forward_flops_per_token(tied) == 2000
    # an encoder has no output head: its word table is only looked up
    assert forward_flops_per_token("all-minilm-l6-v2", catalog=catalog) == 2 * (22_713_216 - 30_522 * 384)


def test_deepseek_v3_weights_are_the_fp8_checkpoint(catalog):
    weights = weights_memory("deepseek-v3", catalog=catalog)
    embeddings = 2 * 129_280 * 7168                    # embed_tokens + lm_head stay bf16: 1,853,358,080
    quantized = 671_026_419_200 - embeddings            # 669,173,061,120 fp8 weights
    # 1 byte each plus one fp32 scale per 128 x 128 block: 669,173,061,120 x 4 / 16,384 = 163,372,329.375
    assert weights.weight_format.name == "fp8-block128"
    assert weights.bytes == 669_173_061_120 + 163_372_330 + embeddings * 2 == 673_043_149_610
    assert round(weights.bytes / 1e9) == 673           # the official checkpoint, ~671 GB of fp8 plus bf16 tables
    assert weights_memory("deepseek-v3", "bfloat16", catalog=catalog).bytes == 671_026_419_200 * 2
    assert (weights.params_quantized, weights.params_16bit) == (quantized, embeddings)


def test_int4_with_group_scales_hand_computed(catalog):
    weights = weights_memory("llama-3-8b", "int4", catalog=catalog)
    embeddings = 2 * 128_256 * 4096                   # embed_tokens + lm_head stay 16-bit
    quantized = LLAMA3_8B_PARAMS - embeddings
    per_param = 0.5 + (2 + 0.5) / 128                  # 4 bits + fp16 scale + 4-bit zero per 128
    assert weights.weight_format.bytes_per_param == per_param == 133 / 256
    assert quantized * 133 % 256 == 0                  # so the byte count below is exact
    assert weights.bytes == quantized * 133 // 256 + embeddings * 2 == 5_727_460_432
    assert (weights.params_quantized, weights.params_16bit) == (quantized, embeddings)


def test_custom_quantization_and_plain_formats(catalog):
    assert weights_memory("llama-3-8b", "fp8", catalog=catalog).bytes == LLAMA3_8B_PARAMS
    assert weights_memory("llama-3-8b", "float32", catalog=catalog).bytes == LLAMA3_8B_PARAMS * 4
    symmetric = Quantization("int4-sym-g64", 4, group_size=64, scale_bytes=2)
    assert weights_memory("llama-3-8b", symmetric, catalog=catalog).bytes == math.ceil(LLAMA3_8B_PARAMS * (0.5 + 2 / 64))
    with pytest.raises(ConfigError, match="weight format"):
        weights_memory("llama-3-8b", "int5", catalog=catalog)


# --------------------------------------------------------------------------- transient memory
def test_eager_attention_scores_are_quadratic_flash_is_linear(catalog):
    eager = attention_scores_memory("llama-3-8b", batch_size=2, seq_len=1024, catalog=catalog)
    # bf16 scores, their fp32 copy and the fp32 softmax (2 + 4 + 4 bytes), plus a bf16 mask per row
    assert eager.bytes == 2 * 32 * 1024 * 1024 * 10 + 2 * 1024 * 1024 * 2 == 675_282_944
    encoder = attention_scores_memory("all-minilm-l6-v2", batch_size=2, seq_len=256, catalog=catalog)
    assert encoder.bytes == 2 * 12 * 256 * 256 * 8 + 2 * 256 * 256 * 4  # fp32: scores + softmax in place of dtype
    flash = attention_scores_memory("llama-3-8b", batch_size=2, seq_len=1024, implementation="flash", catalog=catalog)
    assert flash.bytes == 2 * 32 * 1024 * 4
    eager_2x = attention_scores_memory("llama-3-8b", batch_size=2, seq_len=2048, catalog=catalog)
    flash_2x = attention_scores_memory("llama-3-8b", batch_size=2, seq_len=2048, implementation="sdpa", catalog=catalog)
    assert (eager_2x.bytes / eager.bytes, flash_2x.bytes / flash.bytes) == (4.0, 2.0)
    with pytest.raises(ConfigError, match="implementation"):
        attention_scores_memory("llama-3-8b", batch_size=1, seq_len=8, implementation="xformers", catalog=catalog)


def test_activation_estimate_hand_cases(catalog):
    dense = activation_memory("llama-3-8b", num_tokens=100, num_sequences=2, catalog=catalog)
    assert dense.bytes == 100 * 2 * (4 * 4096 + 3 * 14336) + 2 * 128_256 * 4
    moe = activation_memory("mixtral-8x7b", num_tokens=100, catalog=catalog)
    assert moe.bytes == 100 * 2 * (4 * 4096 + 3 * 14336 * 2) + 32_000 * 4   # two experts per token
    encoder = activation_memory("all-minilm-l6-v2", num_tokens=256, catalog=catalog)
    assert encoder.bytes == 256 * 4 * (4 * 384 + 2 * 1536)                    # fp32, no gate, no logits
    with pytest.raises(ConfigError, match="num_tokens"):
        activation_memory("llama-3-8b", num_tokens=0, catalog=catalog)


# Peaks above the weights measured on an NVIDIA H100 (transformers eager attention, random
# bf16 weights, torch.cuda.max_memory_allocated, one sequence): issue 14 of the tracker.
H100_EAGER_PREFILL_MIB = {("llama-3-8b", 2048): 1641, ("llama-3-8b", 8192): 22020}


@pytest.mark.parametrize("key", sorted(H100_EAGER_PREFILL_MIB))
def test_eager_prefill_estimate_matches_the_h100_measurements(catalog, key):
    model, seq_len = key
    estimate = prefill_memory(model, seq_len=seq_len, implementation="eager", catalog=catalog)
    assert estimate.bytes / 2**20 == pytest.approx(H100_EAGER_PREFILL_MIB[key], rel=0.02)
    # the single-bf16-matrix count the report used before was 745 and 6,049 MiB: 2.2x and 3.6x under
    one_matrix = kv_cache_bytes_per_token(model, catalog=catalog) * seq_len + activation_memory(
        model, num_tokens=seq_len, catalog=catalog).bytes + 32 * seq_len * seq_len * 2
    assert one_matrix < 0.5 * estimate.bytes


def test_the_4_gb_rule_of_thumb_for_2048_tokens_of_a_7b_model_is_wrong():
    # An MHA 7B (Llama-2-7B's shape) in bf16, one 2,048-token sequence, memory above the weights:
    mha_7b = ModelSpec.from_hf_config({"num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
                                       "num_key_value_heads": 32, "intermediate_size": 11008, "vocab_size": 32000},
                                      name="mha-7b")
    kv = 2048 * 2 * 32 * 32 * 128 * 2                                  # 1,073,741,824: the KV cache
    mlp_phase = 2048 * 2 * (4 * 4096 + 3 * 11008) + 32000 * 4          # 202,503,168
    sdpa = prefill_memory(mha_7b, seq_len=2048, implementation="sdpa")
    assert sdpa.bytes == kv + mlp_phase == 1_276_244_992               # 1.28 GB
    attention_phase = 2048 * 2 * (4 * 4096 + 2 * 4096) + 32 * 2048**2 * 10 + 2048**2 * 2
    eager = prefill_memory(mha_7b, seq_len=2048, implementation="eager")
    assert eager.bytes == kv + attention_phase == 2_524_971_008        # 2.52 GB
    assert eager.bytes < 0.65 * 4e9 and sdpa.bytes < 0.33 * 4e9


def test_prefill_hand_case(catalog):
    sdpa = prefill_memory("llama-3-8b", seq_len=1000, catalog=catalog)
    kv = 1000 * 2 * 32 * 8 * 128 * 2
    mlp_phase = 1000 * 2 * (4 * 4096 + 3 * 14336) + 128_256 * 4
    assert sdpa.bytes == kv + mlp_phase  # flash scores are tiny: the MLP phase is the peak
    eager = prefill_memory("llama-3-8b", seq_len=1000, implementation="eager", catalog=catalog)
    attention_phase = 1000 * 2 * (4 * 4096 + 2 * 1024 + 2 * 4096) + 32 * 1000**2 * 10 + 1000**2 * 2
    assert eager.bytes == kv + attention_phase
    with pytest.raises(ConfigError, match="seq_len"):
        prefill_memory("llama-3-8b", seq_len=0, catalog=catalog)


def test_every_result_serializes(catalog):
    results = [
        weights_memory("deepseek-v3", "int4", catalog=catalog), kv_cache_breakdown("llama-3-8b", catalog=catalog),
        paged_kv_cache("llama-3-8b", [5, 40], catalog=catalog),
        attention_scores_memory("phi-3-mini", batch_size=1, seq_len=10, catalog=catalog),
        activation_memory("qwen2.5-72b", num_tokens=10, catalog=catalog),
        capacity("qwen2.5-7b", "l4", context_length=4096, catalog=catalog),
        compare_padding([3, 1, 2], batch_size=2, max_length=4),
    ]
    for result in results:
        payload = result.to_dict()
        assert json.loads(json.dumps(payload)) == payload


# --------------------------------------------------------------------------- padding
def test_padding_hand_example():
    # lengths 5,1,3,8 in batches of 2, max_length 6: the 8 is truncated to 6 (2 tokens lost)
    result = compare_padding([5, 1, 3, 8], batch_size=2, max_length=6)
    assert {s: (getattr(result, s).real_tokens, getattr(result, s).padded_tokens) for s in ("static", "dynamic", "bucketed")} == {
        "static": (15, 24),      # 4 rows x 6
        "dynamic": (15, 22),     # [5,1] -> 2x5, [3,6] -> 2x6
        "bucketed": (15, 18),    # [6,5] -> 2x6, [3,1] -> 2x3
    }
    assert result.static.truncated_tokens == 2 and result.static.num_batches == 2
    assert result.bucketed.efficiency == pytest.approx(15 / 18) and result.static.pad_tokens == 9


def test_bucketing_puts_the_short_remainder_batch_last():
    # longest-first leaves the lone short sequence alone: [10,10],[1] = 21, not [1,10],[10] = 30
    assert padding_stats([1, 10, 10], batch_size=2, max_length=16, strategy="bucketed").padded_tokens == 21
    assert padding_stats([1, 10, 10], batch_size=2, max_length=16, strategy="dynamic").padded_tokens == 30


def test_padding_bad_input():
    with pytest.raises(InputDataError, match="nothing to pad"):
        compare_padding([], batch_size=2, max_length=8)
    with pytest.raises(InputDataError, match="non-negative"):
        compare_padding([3, -1], batch_size=2, max_length=8)
    with pytest.raises(ConfigError, match="batch_size"):
        compare_padding([3], batch_size=0, max_length=8)
    with pytest.raises(ConfigError, match="strategy"):
        padding_stats([3], batch_size=1, max_length=8, strategy="sorted")


@settings(max_examples=80, deadline=None)
@given(lengths=st.lists(st.integers(0, 600), min_size=1, max_size=60), batch_size=st.integers(1, 9),
       max_length=st.integers(1, 512), seed=st.randoms(use_true_random=False))
def test_padding_invariants(lengths, batch_size, max_length, seed):
    result = compare_padding(lengths, batch_size=batch_size, max_length=max_length)
    real = sum(min(n, max_length) for n in lengths)
    assert result.static.real_tokens == result.dynamic.real_tokens == result.bucketed.real_tokens == real
    assert result.bucketed.padded_tokens <= result.dynamic.padded_tokens <= result.static.padded_tokens
    shuffled = list(lengths)
    seed.shuffle(shuffled)
    any_order = padding_stats(shuffled, batch_size=batch_size, max_length=max_length, strategy="dynamic")
    assert result.bucketed.padded_tokens <= any_order.padded_tokens
    for stats in (result.static, result.dynamic, result.bucketed):
        assert stats.pad_tokens == stats.padded_tokens - stats.real_tokens >= 0
        assert 0 <= stats.efficiency <= 1


def test_bucketed_is_optimal_against_brute_force():
    import itertools
    import random

    rng = random.Random(11)
    for _ in range(200):
        lengths = [rng.randint(0, 9) for _ in range(rng.randint(1, 7))]
        batch_size = rng.randint(1, 4)
        best = min(
            padding_stats(list(order), batch_size=batch_size, max_length=99, strategy="dynamic").padded_tokens
            for order in itertools.permutations(lengths)
        )
        assert padding_stats(lengths, batch_size=batch_size, max_length=99, strategy="bucketed").padded_tokens == best
