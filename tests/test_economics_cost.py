"""Cost arithmetic against hand-computed cases; bad volumes and prices are refused."""

from __future__ import annotations

import json

import pytest

from chunkwise.economics import (
    Catalog,
    OnPremGPU,
    TokenPrice,
    Volume,
    api_cost,
    compare_api_cost,
    gpu_hour_cost,
    self_hosted_cost,
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
    assert result.gpu_hours_per_month == pytest.approx(hours)
    assert result.usd_per_month == pytest.approx(hours * 2.0) and result.usd_per_year == pytest.approx(hours * 24)
    assert result.usd_per_query == pytest.approx((2000 / 10_000 + 200 / 1_000) / 3600 * 2.0)
    assert result.always_on_usd_per_month == pytest.approx(730 * 2.0)
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    with pytest.raises(ConfigError, match="decode_tokens_per_second"):
        self_hosted_cost(2.0, volume, prefill_tokens_per_second=1, decode_tokens_per_second=0)
    with pytest.raises(ConfigError, match="always_on_gpus"):
        self_hosted_cost(2.0, volume, prefill_tokens_per_second=1, decode_tokens_per_second=1, always_on_gpus=0)
