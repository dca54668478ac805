"""Catalog facts: published parameter counts re-derived, lookups, user configs and prices validated."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from chunkwise.reporting.economics import Catalog, ModelSpec, TokenPrice, estimate_parameters, kv_cache_bytes_per_token
from chunkwise.errors import CatalogError, ConfigError

GOLDEN = Path(__file__).parent / "golden" / "economics" / "hf_configs.json"
HF_CONFIGS = json.loads(GOLDEN.read_text("utf-8"))["configs"]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def test_every_catalog_model_has_a_golden_config(catalog):
    assert sorted(catalog.model_names()) == sorted(HF_CONFIGS)


@pytest.mark.parametrize("name", sorted(HF_CONFIGS))
def test_published_parameter_counts_are_reproduced_layer_by_layer(catalog, name):
    spec = catalog.model(name)
    assert estimate_parameters(HF_CONFIGS[name]) == (spec.params_total, spec.params_active)


@pytest.mark.parametrize("name", sorted(HF_CONFIGS))
def test_hf_config_and_catalog_agree(catalog, name):
    shipped = catalog.model(name)
    user = ModelSpec.from_hf_config(HF_CONFIGS[name], name=name)
    for field in ("layers", "hidden", "heads", "kv_heads", "head_dim", "vocab", "attention", "kind",
                  "params_total", "params_active", "kv_lora_rank", "qk_rope_head_dim", "num_experts",
                  "experts_per_token", "dtype"):
        assert getattr(user, field) == getattr(shipped, field), field
    assert kv_cache_bytes_per_token(user) == kv_cache_bytes_per_token(shipped)
    assert user.params_basis.startswith("estimated")


def test_published_headline_numbers(catalog):
    assert catalog.model("llama-3-8b").params_total == 8_030_261_248
    mixtral = catalog.model("mixtral-8x7b")
    assert (round(mixtral.params_total / 1e9, 1), round(mixtral.params_active / 1e9, 1)) == (46.7, 12.9)
    deepseek = catalog.model("deepseek-v3")
    assert (round(deepseek.params_total / 1e9), round(deepseek.params_active / 1e9)) == (671, 38)
    assert (deepseek.attention, deepseek.kv_lora_rank, deepseek.qk_rope_head_dim, deepseek.layers) == ("mla", 512, 64, 61)
    minilm = catalog.model("all-MiniLM-L6-v2")
    assert (minilm.layers, minilm.hidden, minilm.heads, minilm.max_context, round(minilm.params_total / 1e6, 1)) == (
        6, 384, 12, 256, 22.7)


def test_every_model_is_sourced_and_dated(catalog):
    for name in catalog.model_names():
        spec = catalog.model(name)
        assert spec.source.startswith("https://huggingface.co/") and spec.source.endswith("config.json")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec.source_date)


@pytest.mark.parametrize("alias", ["meta-llama/Meta-Llama-3-8B", "Meta-Llama-3-8B-Instruct", "LLAMA_3_8B", "llama3-8b"])
def test_model_aliases_resolve(catalog, alias):
    assert catalog.model(alias).name == "llama-3-8b"


def test_unknown_model_lists_close_names(catalog):
    with pytest.raises(CatalogError, match="llama-3-8b") as info:
        catalog.model("llama-3-9b")
    assert "Close names" in str(info.value)
    assert isinstance(info.value, LookupError)


def test_unknown_gpu_lists_close_names(catalog):
    with pytest.raises(CatalogError, match=r"Close names: .*a100-40gb"):
        catalog.gpu("a100-40")
    with pytest.raises(CatalogError, match="h100-80gb"):
        catalog.gpu("h100-90gb")


def test_unknown_price_lists_close_names(catalog):
    with pytest.raises(CatalogError, match="gpt-4o-mini"):
        catalog.price("gpt-4o-mimi")


def test_catalog_reads_nothing_until_asked():
    fresh = Catalog()
    assert fresh._loaded == {}
    fresh.gpu("t4")
    assert set(fresh._loaded) == {"gpus.json", "gpus.json#index"}


def test_gpu_memory_is_runtime_reported_bytes(catalog):
    # vLLM's start-up log on an A100-SXM4-40GB prints total_gpu_memory 39.50 GiB (vLLM issue 12330);
    # 39.39 GiB (42,298,834,944 bytes) is not the SXM card's figure.
    a100 = catalog.gpu("NVIDIA A100-SXM4-40GB")
    assert a100.memory_bytes == 79 * 2**29 == 42_412_802_048 and not a100.memory_bytes_exact
    assert round(a100.memory_gib, 2) == 39.50 and "12330" in a100.memory_basis
    for name in catalog.gpu_names():
        gpu = catalog.gpu(name)
        nominal = gpu.memory_nominal_gb * 2**30
        # what the runtime reports is a little less than the physical memory, never more
        assert 0.9 * nominal < gpu.memory_bytes < nominal, name
        assert gpu.memory_basis and gpu.spec_source.startswith("https://")
        for offer in gpu.cloud:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", offer.as_of) and offer.source.startswith("https://")


def test_h100_alias_is_the_sxm_card_and_pcie_and_l40s_are_their_own(catalog):
    sxm = catalog.gpu("h100")
    assert sxm.name == "h100-80gb" and "SXM5" in sxm.notes
    pcie = catalog.gpu("NVIDIA H100 PCIe")
    # datasheets: PCIe 2.0 TB/s and 1,513 sparse = 756 dense TFLOPS; SXM 3.35 TB/s and 989.4 dense
    assert (pcie.name, pcie.memory_bandwidth_gb_s, pcie.bf16_dense_tflops, pcie.power_watts) == ("h100-pcie", 2000, 756.0, 350)
    assert pcie.memory_bandwidth_gb_s < sxm.memory_bandwidth_gb_s and pcie.bf16_dense_tflops < sxm.bf16_dense_tflops
    l40s = catalog.gpu("l40s")
    # 48 GB GDDR6 at 864 GB/s, 733 sparse = 362.05 dense bf16 TFLOPS; PyTorch reports 44.42 GiB
    assert (l40s.memory_nominal_gb, l40s.memory_bandwidth_gb_s, l40s.bf16_dense_tflops) == (48, 864, 362.05)
    assert l40s.memory_bytes == round(44.42 * 2**30) and l40s.cloud == ()


def test_phi3_mini_sliding_window_is_the_configs_2047(catalog):
    # microsoft/Phi-3-mini-4k-instruct config.json: "sliding_window": 2047
    assert catalog.model("phi-3-mini").sliding_window == 2047
    config = {**HF_CONFIGS["phi-3-mini"], "sliding_window": 2047}
    assert ModelSpec.from_hf_config(config).sliding_window == 2047


def test_deepseek_v3_weights_default_to_the_fp8_checkpoint(catalog):
    assert catalog.model("deepseek-v3").weight_format == "fp8-block128"
    assert catalog.model("llama-3-8b").weight_format is None
    # deepseek-ai/DeepSeek-V3 config.json carries this quantization_config
    fp8 = {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128], "activation_scheme": "dynamic"}
    spec = ModelSpec.from_hf_config({**HF_CONFIGS["deepseek-v3"], "quantization_config": fp8})
    assert spec.weight_format == "fp8-block128" and spec.dtype == "bfloat16"


def test_deepseek_price_on_the_snapshot_date_was_the_launch_discount(catalog):
    # DeepSeek-V3 launched 2024-12-26 at $0.14 in (cache miss) / $0.28 out until 2025-02-08 16:00 UTC,
    # then $0.27 / $1.10. The snapshot is dated 2025-01-15: inside the discount.
    assert catalog.prices_as_of == "2025-01-15"
    standard = catalog.price("deepseek-chat")
    assert (standard.input_usd_per_million, standard.output_usd_per_million, standard.as_of) == (0.27, 1.1, "2025-02-08")
    launch = catalog.price("deepseek-v3-launch-discount")
    assert (launch.input_usd_per_million, launch.output_usd_per_million, launch.as_of) == (0.14, 0.28, "2025-01-15")
    assert standard.as_of > catalog.prices_as_of


def test_cloud_offer_divides_instance_price_by_gpus(catalog):
    aws = [o for o in catalog.gpu("h100-80gb").cloud if o.provider == "aws"][0]
    assert aws.usd_per_gpu_hour == pytest.approx(98.32 / 8)
    assert catalog.gpu("h100").cheapest_offer().provider == "lambda"


def test_prices_are_dated_and_in_the_one_unit(catalog):
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", catalog.prices_as_of)
    for name in catalog.price_names():
        price = catalog.price(name)
        assert price.unit == "usd_per_million_tokens" and price.as_of and price.source.startswith("https://")
    sonnet = catalog.price("claude-3-5-sonnet")
    assert (sonnet.input_usd_per_million, sonnet.output_usd_per_million) == (3.0, 15.0)


# --------------------------------------------------------------------------- user configs
def test_config_missing_fields_are_named():
    with pytest.raises(ConfigError, match="num_hidden_layers, vocab_size"):
        ModelSpec.from_hf_config({"hidden_size": 4096, "num_attention_heads": 32, "intermediate_size": 11008})


def test_config_without_intermediate_needs_params():
    config = {k: v for k, v in HF_CONFIGS["llama-3-8b"].items() if k != "intermediate_size"}
    with pytest.raises(ConfigError, match="intermediate_size"):
        ModelSpec.from_hf_config(config)
    spec = ModelSpec.from_hf_config(config, params_total=8_030_261_248)
    assert spec.params_active == spec.params_total and spec.params_basis == "given by caller"


def test_config_defaults_head_dim_and_kv_heads():
    config = {"hidden_size": 2048, "num_attention_heads": 16, "num_hidden_layers": 4, "vocab_size": 1000,
              "intermediate_size": 5632}
    spec = ModelSpec.from_hf_config(config)
    assert (spec.head_dim, spec.kv_heads, spec.attention) == (128, 16, "mha")
    assert ModelSpec.from_hf_config({**config, "num_key_value_heads": 1}).attention == "mqa"


def test_config_from_file_and_folder(tmp_path, catalog):
    folder = tmp_path / "my-llama"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_CONFIGS["llama-3-8b"]), "utf-8")
    by_file = catalog.resolve_model(str(folder / "config.json"))
    by_folder = catalog.resolve_model(folder)
    assert by_file.name == by_folder.name == "my-llama"
    assert kv_cache_bytes_per_token(by_folder) == 131_072
    with pytest.raises(ConfigError, match="does not exist"):
        catalog.resolve_model(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json", "utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        catalog.resolve_model(str(tmp_path / "bad.json"))


def test_mla_config_needs_rope_dim():
    config = {k: v for k, v in HF_CONFIGS["deepseek-v3"].items() if k != "qk_rope_head_dim"}
    with pytest.raises(ConfigError, match="qk_rope_head_dim"):
        ModelSpec.from_hf_config(config, params_total=1)


def test_bad_spec_values_are_rejected():
    with pytest.raises(ConfigError, match="params_active"):
        ModelSpec(name="x", kind="decoder", params_total=10, params_active=11, layers=1, hidden=8, heads=2,
                  kv_heads=2, head_dim=4, vocab=10, attention="mha")
    with pytest.raises(ConfigError, match="kv_heads"):
        ModelSpec(name="x", kind="decoder", params_total=10, params_active=10, layers=1, hidden=8, heads=3,
                  kv_heads=2, head_dim=4, vocab=10, attention="gqa")


# --------------------------------------------------------------------------- user prices
def test_price_per_token_given_as_per_million_is_rejected_with_the_conversion():
    with pytest.raises(ConfigError) as info:
        TokenPrice(0.000003, 0.000015)
    message = str(info.value)
    assert "per token" in message and "is 3" in message


def test_price_in_other_units_converts_explicitly():
    per_token = TokenPrice.from_unit(0.000003, 0.000015, unit="usd_per_token")
    assert (per_token.input_usd_per_million, per_token.output_usd_per_million) == pytest.approx((3.0, 15.0))
    per_thousand = TokenPrice.from_unit(0.003, 0.015, unit="usd_per_thousand_tokens")
    assert per_thousand.input_usd_per_million == pytest.approx(3.0)
    with pytest.raises(ConfigError, match="unit"):
        TokenPrice.from_unit(3, 15, unit="usd_per_hour")


def test_price_unit_must_be_stated_and_right():
    with pytest.raises(ConfigError, match="usd_per_million_tokens"):
        TokenPrice(3.0, 15.0, unit="usd_per_token")
    with pytest.raises(ConfigError, match="state its unit"):
        TokenPrice.from_mapping({"input": 3.0, "output": 15.0})
    mapped = TokenPrice.from_mapping({"input": 3.0, "output": 15.0, "unit": "usd_per_million_tokens", "name": "mine"})
    assert mapped.name == "mine" and mapped.output_usd_per_million == 15.0


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, 1e9, "3", True])
def test_price_values_are_checked(bad):
    with pytest.raises(ConfigError):
        TokenPrice(bad, 1.0)


def test_price_range_check_can_be_turned_off_and_zero_is_free():
    assert TokenPrice(0.0005, 0.0, check_range=False).input_usd_per_million == 0.0005
    assert TokenPrice(0.02, 0.0).output_usd_per_million == 0.0
