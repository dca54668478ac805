"""Cost arithmetic against hand-computed cases; bad volumes and prices are refused."""

from __future__ import annotations

import json

import pytest

from chunkwise.reporting.economics import (
    Catalog,
    DecodeStep,
    OnPremGPU,
    TokenPrice,
    Volume,
    api_cost,
    compare_api_cost,
    decode_step,
    gpu_hour_cost,
    self_hosted_cost,
    serving_load,
)
from chunkwise.errors import CatalogError, ConfigError

DAYS_PER_MONTH = 365 / 12


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def test_api_cost_per_query_month_year(catalog):
    # claude-3.5-sonnet at $3 in / $15 out per million; 1,000 queries a day of 2,000 in + 500 out
    estimate = api_cost("claude-3.5-sonnet", queries_per_day=1000, input_tokens_per_query=2000,
                        output_tokens_per_query=500, catalog=catalog)
    assert estimate.usd_per_query == pytest.approx((2000 * 3 + 500 * 15) / 1e6) == pytest.approx(0.0135)
    assert estimate.usd_per_day == pytest.approx(13.5)
    assert estimate.usd_per_month == pytest.approx(13.5 * DAYS_PER_MONTH) == pytest.approx(410.625)
    assert estimate.usd_per_year == pytest.approx(13.5 * 365) == pytest.approx(4927.5)
    payload = estimate.to_dict()
    assert json.loads(json.dumps(payload)) == payload and payload["volume"]["queries_per_month"] == pytest.approx(1000 * DAYS_PER_MONTH)


def test_api_cost_from_tokens_per_month(catalog):
    estimate = api_cost("gpt-4o-mini", Volume(input_tokens_per_month=1e9, output_tokens_per_month=1e8), catalog=catalog)
    assert estimate.usd_per_month == pytest.approx(1e9 * 0.15 / 1e6 + 1e8 * 0.6 / 1e6) == pytest.approx(210.0)
    assert estimate.usd_per_query is None and estimate.usd_per_year == pytest.approx(2520.0)


def test_user_price_as_mapping_with_unit_conversion(catalog):
    per_token = {"input": 0.000003, "output": 0.000015, "unit": "usd_per_token", "name": "my-endpoint"}
    estimate = api_cost(per_token, queries_per_day=10, input_tokens_per_query=1e6, catalog=catalog)
    assert estimate.usd_per_query == pytest.approx(3.0) and "my-endpoint" in estimate.basis


def test_price_in_wrong_unit_is_refused(catalog):
    with pytest.raises(ConfigError, match="per token"):
        api_cost({"input": 0.000003, "output": 0.000015, "unit": "usd_per_million_tokens"},
                 queries_per_day=1, input_tokens_per_query=1, catalog=catalog)
    with pytest.raises(ConfigError, match="state its unit"):
        api_cost({"input": 3, "output": 15}, queries_per_day=1, input_tokens_per_query=1, catalog=catalog)
    with pytest.raises(CatalogError, match="claude-3.5-haiku"):
        api_cost("claude-3.5-haku", queries_per_day=1, input_tokens_per_query=1, catalog=catalog)


def test_compare_shows_what_fewer_tokens_save(catalog):
    price = TokenPrice(2.0, 8.0, name="flat")
    baseline = Volume(queries_per_day=100, input_tokens_per_query=4000, output_tokens_per_query=250)
    prepared = Volume(queries_per_day=100, input_tokens_per_query=2500, output_tokens_per_query=250)
    comparison = compare_api_cost(price, baseline, prepared, catalog=catalog)
    saved_per_day = 100 * 1500 * 2.0 / 1e6
    assert comparison.saved_usd_per_month == pytest.approx(saved_per_day * DAYS_PER_MONTH)
    assert comparison.saved_usd_per_year == pytest.approx(saved_per_day * 365)
    assert comparison.saved_fraction == pytest.approx(1500 * 2.0 / (4000 * 2.0 + 250 * 8.0))
    assert json.loads(json.dumps(comparison.to_dict())) == comparison.to_dict()


@pytest.mark.parametrize("fields", [
    {"queries_per_day": 0, "input_tokens_per_query": 100},
    {"queries_per_day": -5, "input_tokens_per_query": 100},
    {"queries_per_day": 10, "input_tokens_per_query": 0},
    {"queries_per_day": 10, "input_tokens_per_query": 100, "output_tokens_per_query": -1},
    {"input_tokens_per_month": 0},
    {"input_tokens_per_month": -1e6},
    {"input_tokens_per_month": float("nan")},
    {"queries_per_day": 10},
    {"queries_per_day": 10, "input_tokens_per_query": 100, "input_tokens_per_month": 1e6},
    {},
])
def test_zero_negative_or_incomplete_volumes_are_refused(fields):
    with pytest.raises(ConfigError):
        Volume(**fields)


def test_zero_output_tokens_are_allowed():
    assert Volume(queries_per_day=5, input_tokens_per_query=10).monthly_output_tokens == 0


# --------------------------------------------------------------------------- GPU hours
def test_cloud_gpu_hour_from_the_snapshot(catalog):
    assert gpu_hour_cost("t4", catalog=catalog).usd_per_gpu_hour == pytest.approx(0.526)
    aws = gpu_hour_cost("h100-80gb", provider="aws", catalog=catalog)
    assert aws.usd_per_gpu_hour == pytest.approx(98.32 / 8) and aws.as_of == "2024-06-01"
    assert gpu_hour_cost("h100-80gb", catalog=catalog).usd_per_gpu_hour == pytest.approx(2.99)  # cheapest offer
    with pytest.raises(ConfigError, match="no cloud price for h200"):
        gpu_hour_cost("h200", catalog=catalog)
    with pytest.raises(ConfigError, match="providers: aws"):
        gpu_hour_cost("t4", provider="gcp", catalog=catalog)


def test_on_prem_amortization_hand_computed():
    owned = OnPremGPU(purchase_usd=30_000, years=3, power_watts=700, usd_per_kwh=0.10, utilization=0.5)
    capex = 30_000 / (3 * 8760)
    assert owned.capex_usd_per_hour == pytest.approx(capex)
    assert owned.energy_usd_per_busy_hour == pytest.approx(0.07)
    assert owned.usd_per_wall_hour == pytest.approx(capex + 0.07 * 0.5)
    assert gpu_hour_cost(owned).usd_per_gpu_hour == pytest.approx((capex + 0.035) / 0.5)
    with_pue = OnPremGPU(purchase_usd=0, years=1, power_watts=1000, usd_per_kwh=0.2, utilization=1, pue=1.5)
    assert with_pue.usd_per_busy_hour == pytest.approx(0.3)


@pytest.mark.parametrize("fields", [
    {"years": 0}, {"years": -1}, {"utilization": 0}, {"utilization": 1.2}, {"purchase_usd": -1}, {"pue": 0.9},
])
def test_on_prem_rejects_bad_numbers(fields):
    base = {"purchase_usd": 10_000, "years": 4, "power_watts": 300, "usd_per_kwh": 0.15, "utilization": 0.6}
    with pytest.raises(ConfigError):
        OnPremGPU(**{**base, **fields})


def test_self_hosted_cost_hand_computed(catalog):
    volume = Volume(queries_per_day=1000, input_tokens_per_query=2000, output_tokens_per_query=200)
    result = self_hosted_cost(2.0, volume, prefill_tokens_per_second=10_000, decode_tokens_per_second=1_000,
                              always_on_gpus=1, catalog=catalog)
    assert result.usd_per_million_input == pytest.approx(2.0 / 36e6 * 1e6)
    assert result.usd_per_million_output == pytest.approx(2.0 / 3.6e6 * 1e6)
    hours = volume.monthly_input_tokens / 10_000 / 3600 + volume.monthly_output_tokens / 1_000 / 3600
    assert result.fully_used_gpu_hours_per_month == pytest.approx(hours)
    assert result.fully_used_usd_per_month == pytest.approx(hours * 2.0)
    assert result.fully_used_usd_per_year == pytest.approx(hours * 24)
    assert result.fully_used_usd_per_query == pytest.approx((2000 / 10_000 + 200 / 1_000) / 3600 * 2.0)
    # the headline is the GPU kept on: 730 h x $2 a month, over 1,000 x 365 / 12 queries
    assert result.usd_per_month == result.always_on_usd_per_month == pytest.approx(730 * 2.0)
    assert result.usd_per_year == result.always_on_usd_per_year == pytest.approx(8760 * 2.0)
    assert result.usd_per_query == pytest.approx(8760 * 2.0 / 365_000)
    assert result.busy_fraction == pytest.approx(hours / 730) and result.gpus == 1
    assert result.load is None and result.busy_usd_per_query is None and "pass decode_step" in result.load_note
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    with pytest.raises(ConfigError, match="decode_tokens_per_second"):
        self_hosted_cost(2.0, volume, prefill_tokens_per_second=1, decode_tokens_per_second=0)
    with pytest.raises(ConfigError, match="always_on_gpus"):
        self_hosted_cost(2.0, volume, prefill_tokens_per_second=1, decode_tokens_per_second=1, always_on_gpus=0)
    with pytest.raises(ConfigError, match="not both"):
        self_hosted_cost(2.0, volume, prefill_tokens_per_second=1, decode_tokens_per_second=1,
                         decode_step=DecodeStep(0.01, 0.0001))


# The report's defaults: Llama-3-8B on an A100-80GB (AWS p4de.24xlarge, $40.9657 / 8 GPUs = $5.1207125 an hour),
# 10,000 queries a day of 2,409 prompt tokens (the demo's naive side) and 200 output tokens.
A100_80GB_USD_PER_HOUR = 40.9657 / 8
DEMO_NAIVE = Volume(queries_per_day=10_000, input_tokens_per_query=2409, output_tokens_per_query=200)


def test_decode_step_is_the_memory_bound_roofline(catalog):
    # A100-80GB: 2,039 GB/s at 60% = 1.2234e12 B/s. Weights 16,060,522,496 B -> 13.128 ms a step;
    # each running request adds its KV cache, 131,072 B/token x 2,509 tokens (prompt + output / 2) -> 0.2688 ms.
    step = decode_step("llama-3-8b", "a100-80gb", context_tokens=2409 + 100, catalog=catalog)
    assert step.fixed_seconds == pytest.approx(16_060_522_496 / 1.2234e12)
    assert step.per_sequence_seconds == pytest.approx(131_072 * 2509 / 1.2234e12)
    assert step.tokens_per_second(1) == pytest.approx(1 / 0.0133966, rel=1e-4)    # 74.6 tokens/s alone
    assert step.tokens_per_second(169) == pytest.approx(169 / 0.0585567, rel=1e-4)  # 2,886 at 169 running
    with pytest.raises(ConfigError, match="mbu"):
        decode_step("llama-3-8b", "a100-80gb", context_tokens=10, mbu=1.5, catalog=catalog)


def test_little_law_at_10000_queries_a_day(catalog):
    step = decode_step("llama-3-8b", "a100-80gb", context_tokens=2509, catalog=catalog)
    # prefill at 40% of 312 TFLOPS over 2 x 7,504,924,672 + 4 x 32 x 1,204 x 32 x 128 = 15,641,092,096 FLOPs a token
    prefill = 312e12 * 0.4 / 15_641_092_096                    # 7,979.0 tokens/s -> 2,409 tokens in 0.30192 s
    result = self_hosted_cost("a100-80gb", DEMO_NAIVE, prefill_tokens_per_second=prefill, decode_step=step,
                              max_concurrent_requests=169, catalog=catalog)
    load = result.load
    # 10,000 / 86,400 = 0.115741 requests/s. Prefill holds the GPU 0.115741 x 0.30192 = 3.494% of the time; a
    # request decodes alone, 200 steps of 13.3966 ms, slowed by the others' prefills: by Little's law
    # 0.115741 x 200 x 0.0133966 / (1 - 0.03494) = 0.32133 requests decoding, 0.35628 in flight: far from
    # the 169 of a full batch. Latency 0.35628 / 0.115741 = 3.0783 s; busy 0.03494 + 0.32133 x 0.96506 = 34.5%.
    assert load.queries_per_second == pytest.approx(0.115741, rel=1e-5) and load.batch == 1
    assert load.prefill_fraction == pytest.approx(0.034944, rel=1e-4)
    assert load.in_flight_per_gpu == pytest.approx(0.35628, rel=1e-4) and load.gpus == 1 and load.keeps_up
    assert load.latency_seconds == pytest.approx(3.0783, rel=1e-4)
    assert result.busy_fraction == pytest.approx(0.34505, rel=1e-4)
    # paying only the busy GPU-seconds: 2.98124 s x $5.1207125 / 3600 = $0.004241 a query (the issue's
    # $0.0043 counted the embedding table in prefill FLOPs: 0.3222 s of prefill instead of 0.3019)
    assert result.busy_usd_per_query == pytest.approx(0.0042406, rel=1e-4)
    # fully used at 169 in flight: 0.30192 + 200 x 58.5567 ms / 169 = 0.37122 GPU-seconds -> $0.000528
    assert result.fully_used_usd_per_query == pytest.approx(0.00052803, rel=1e-4)
    # kept on all year: 8,760 h x $5.1207125 = $44,857 a year; over 3,650,000 queries, $0.012290 each
    assert result.usd_per_year == pytest.approx(44_857.44, abs=0.01)
    assert result.usd_per_query == pytest.approx(0.01229, abs=1e-6)
    assert result.usd_per_query / result.fully_used_usd_per_query == pytest.approx(23.3, abs=0.05)
    assert ("1 GPU (the fewest that keep up), busy 34.5% of the time; 0.356 requests in flight per GPU "
            "(Little's law: 0.116 requests/s x 3.08 s)") in result.load_note
    assert result.load_note in result.assumptions
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()


def test_heavy_traffic_batches_and_adds_gpus():
    step = DecodeStep(fixed_seconds=0.01, per_sequence_seconds=0.001)
    # 1 request/s, 0.5 s of prefill, 100 output tokens. Prefill takes half the GPU; alone a request would decode
    # 1 x 100 x 0.011 / 0.5 = 2.2 at once, so they batch: d = 200 x (0.01 + 0.001 d) -> d = 2 / 0.8 = 2.5
    # decoding, 3.0 in flight, latency 3.0 s, and the GPU never idles: 0.5 + 100 x 0.0125 / 2.5 = 1.0
    load = serving_load(86_400, input_tokens=500, output_tokens=100, prefill_tokens_per_second=1000, step=step,
                        concurrency_cap=256)
    assert (load.gpus, load.batch, load.in_flight_per_gpu) == (1, pytest.approx(2.5), pytest.approx(3.0))
    assert load.latency_seconds == pytest.approx(3.0) and load.busy_fraction == pytest.approx(1.0)
    # a cap of 2 running requests: one GPU cannot hold 2.5; two GPUs at 0.5 requests/s each: prefill 25%,
    # 0.5 x 100 x 0.011 / 0.75 = 0.7333 decoding, busy 0.25 + 0.7333 x 0.75 = 0.8
    capped = serving_load(86_400, input_tokens=500, output_tokens=100, prefill_tokens_per_second=1000, step=step,
                          concurrency_cap=2)
    assert capped.gpus == 2 and capped.in_flight_per_gpu == pytest.approx(0.25 + 0.5 * 100 * 0.011 / 0.75)
    assert capped.busy_fraction == pytest.approx(0.8)
    # one GPU given anyway: it runs full at the cap and a queue grows
    full = serving_load(86_400, input_tokens=500, output_tokens=100, prefill_tokens_per_second=1000, step=step,
                        concurrency_cap=2, gpus=1)
    assert not full.keeps_up and full.in_flight_per_gpu == 2.5 and full.busy_fraction == 1.0
    # prefill alone needs more than one GPU-second a second: 2 GPUs at least
    assert serving_load(86_400, input_tokens=1500, output_tokens=0, prefill_tokens_per_second=1000, step=step,
                        concurrency_cap=8).gpus == 2


def test_an_owned_gpu_kept_on_pays_its_purchase_always_and_energy_while_busy():
    owned = OnPremGPU(purchase_usd=30_000, years=3, power_watts=700, usd_per_kwh=0.10, utilization=0.5)
    volume = Volume(queries_per_day=1000, input_tokens_per_query=2000, output_tokens_per_query=200)
    result = self_hosted_cost(owned, volume, prefill_tokens_per_second=10_000, decode_tokens_per_second=1_000)
    # busy: (2,000 / 10,000 + 200 / 1,000) s x 1,000 queries / 86,400 s = 0.46296% of the time
    busy = 0.4 * 1000 / 86_400
    assert result.busy_fraction == pytest.approx(busy)
    # kept on: $30,000 / 26,280 h = $1.14155 an hour always, plus $0.07 an hour of energy while busy
    assert result.usd_per_year == pytest.approx((30_000 / 26_280 + 0.07 * busy) * 8760)
    # fully used keeps the OnPremGPU's own busy-hour price ((capex + 0.07 x 0.5) / 0.5 an hour)
    assert result.fully_used_usd_per_query == pytest.approx(0.4 / 3600 * (30_000 / 26_280 + 0.035) / 0.5)
