"""Dollars: hosted-API token prices, GPU hours (cloud or amortized on-prem), per query/month/year.

Calendar used throughout: a year is 365 days (8,760 hours), a month is a twelfth of it
(30.4167 days, 730 hours). Prices come from the dated snapshot in the catalog or from the
caller; nothing is fetched.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .catalog import Catalog, GPUSpec, TokenPrice

DAYS_PER_YEAR = 365
HOURS_PER_YEAR = DAYS_PER_YEAR * 24
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
HOURS_PER_MONTH = HOURS_PER_YEAR / 12
CALENDAR = f"year = {DAYS_PER_YEAR} days = {HOURS_PER_YEAR} h; month = year / 12 = {DAYS_PER_MONTH:.4f} days = {HOURS_PER_MONTH:g} h"


def _number(name: str, value: Any, *, positive: bool = True, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name}={value!r} must be a finite number")
    if value < 0 or (value == 0 and positive and not allow_zero):
        raise ConfigError(f"{name}={value!r} must be {'positive' if not allow_zero else 'zero or more'}")
    return float(value)


@dataclass(frozen=True)
class Volume:
    """How much traffic: either queries per day with tokens per query, or tokens per month.

    Give ``queries_per_day`` + ``input_tokens_per_query`` (+ ``output_tokens_per_query``),
    or ``input_tokens_per_month`` (+ ``output_tokens_per_month``). Query counts and input
    tokens must be positive; output tokens may be zero (embedding, classification).
    """

    queries_per_day: float | None = None
    input_tokens_per_query: float | None = None
    output_tokens_per_query: float = 0.0
    input_tokens_per_month: float | None = None
    output_tokens_per_month: float | None = None

    def __post_init__(self) -> None:
        per_query = self.queries_per_day is not None or self.input_tokens_per_query is not None
        per_month = self.input_tokens_per_month is not None or self.output_tokens_per_month is not None
        if per_query and per_month:
            raise ConfigError("give either queries_per_day with tokens per query, or tokens per month, not both")
        if per_query:
            missing = [k for k in ("queries_per_day", "input_tokens_per_query") if getattr(self, k) is None]
            if missing:
                raise ConfigError(f"volume per query is missing {', '.join(missing)}")
            _number("queries_per_day", self.queries_per_day)
            _number("input_tokens_per_query", self.input_tokens_per_query)
            _number("output_tokens_per_query", self.output_tokens_per_query, allow_zero=True)
        elif per_month:
            if self.input_tokens_per_month is None:
                raise ConfigError("volume per month is missing input_tokens_per_month")
            _number("input_tokens_per_month", self.input_tokens_per_month)
            _number("output_tokens_per_month", self.output_tokens_per_month or 0.0, allow_zero=True)
        else:
            raise ConfigError("a volume needs queries_per_day and input_tokens_per_query, or input_tokens_per_month")

    @property
    def per_query(self) -> bool:
        return self.queries_per_day is not None

    @property
    def queries_per_month(self) -> float | None:
        return self.queries_per_day * DAYS_PER_MONTH if self.per_query else None

    @property
    def monthly_input_tokens(self) -> float:
        if self.per_query:
            return self.queries_per_day * DAYS_PER_MONTH * self.input_tokens_per_query
        return float(self.input_tokens_per_month)

    @property
    def monthly_output_tokens(self) -> float:
        if self.per_query:
            return self.queries_per_day * DAYS_PER_MONTH * self.output_tokens_per_query
        return float(self.output_tokens_per_month or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "queries_per_month": self.queries_per_month,
                "monthly_input_tokens": self.monthly_input_tokens,
                "monthly_output_tokens": self.monthly_output_tokens, "calendar": CALENDAR}


@dataclass(frozen=True)
class CostEstimate:
    """Dollars for a volume at one price, per query (when known), day, month and year."""

    basis: str
    volume: Volume
    usd_per_query: float | None
    usd_per_day: float
    usd_per_month: float
    usd_per_year: float
    usd_per_million_input: float | None
    usd_per_million_output: float | None
    formulas: tuple[str, ...]
    assumptions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["volume"] = self.volume.to_dict()
        out["formulas"] = list(self.formulas)
        out["assumptions"] = list(self.assumptions)
        return out


def _resolve_price(price: str | TokenPrice | Mapping[str, Any], catalog: Catalog | None) -> TokenPrice:
    return (catalog or Catalog()).resolve_price(price)


def api_cost(price: str | TokenPrice | Mapping[str, Any], volume: Volume | None = None, *,
             catalog: Catalog | None = None, **volume_fields: Any) -> CostEstimate:
    """Hosted-API cost of ``volume`` (or ``Volume(**volume_fields)``) at ``price``.

    ``usd_per_month = (input_tokens x input_price + output_tokens x output_price) / 1e6``.
    """
    tokens_price = _resolve_price(price, catalog)
    volume = volume if volume is not None else Volume(**volume_fields)
    if not isinstance(volume, Volume):
        raise ConfigError(f"volume must be a Volume, got {type(volume).__name__}")
    inp, out = tokens_price.input_usd_per_million, tokens_price.output_usd_per_million
    monthly = (volume.monthly_input_tokens * inp + volume.monthly_output_tokens * out) / 1e6
    per_query = None
    formulas = [
        f"usd_per_month = (monthly_input_tokens x {inp:g} + monthly_output_tokens x {out:g}) / 1e6 = "
        f"({volume.monthly_input_tokens:g} x {inp:g} + {volume.monthly_output_tokens:g} x {out:g}) / 1e6 = {monthly:.6g}",
        f"usd_per_year = usd_per_month x 12 = {monthly * 12:.6g}",
        f"usd_per_day = usd_per_month / {DAYS_PER_MONTH:.4f} = {monthly / DAYS_PER_MONTH:.6g}",
    ]
    if volume.per_query:
        per_query = (volume.input_tokens_per_query * inp + volume.output_tokens_per_query * out) / 1e6
        formulas.insert(0, f"usd_per_query = ({volume.input_tokens_per_query:g} x {inp:g} + "
                           f"{volume.output_tokens_per_query:g} x {out:g}) / 1e6 = {per_query:.6g}")
    basis = f"api price {tokens_price.name} ({tokens_price.provider or 'user'}, as of {tokens_price.as_of or 'not stated'})"
    assumptions = (CALENDAR, "list prices, no batch, cache or volume discounts")
    return CostEstimate(basis, volume, per_query, monthly / DAYS_PER_MONTH, monthly, monthly * 12, inp, out,
                        tuple(formulas), assumptions)


@dataclass(frozen=True)
class CostComparison:
    """Baseline vs prepared cost at the same price: what fewer tokens save."""

    baseline: CostEstimate
    prepared: CostEstimate
    saved_usd_per_month: float
    saved_usd_per_year: float
    saved_fraction: float

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline.to_dict(), "prepared": self.prepared.to_dict(),
                "saved_usd_per_month": self.saved_usd_per_month, "saved_usd_per_year": self.saved_usd_per_year,
                "saved_fraction": self.saved_fraction,
                "formula": "saved = baseline - prepared; saved_fraction = saved / baseline"}


def compare_api_cost(price: str | TokenPrice | Mapping[str, Any], baseline: Volume, prepared: Volume, *,
                     catalog: Catalog | None = None) -> CostComparison:
    """Cost of the same traffic before and after token reduction, and the difference."""
    catalog = catalog or Catalog()
    before = api_cost(price, baseline, catalog=catalog)
    after = api_cost(price, prepared, catalog=catalog)
    saved = before.usd_per_month - after.usd_per_month
    fraction = saved / before.usd_per_month if before.usd_per_month else 0.0
    return CostComparison(before, after, saved, saved * 12, fraction)


# --------------------------------------------------------------------------- GPU hours
@dataclass(frozen=True)
class OnPremGPU:
    """Owning a GPU: purchase amortized straight-line, energy paid while busy.

    ``usd_per_wall_hour = purchase_usd / (years x 8760) + power_watts / 1000 x usd_per_kwh x pue x utilization``;
    ``usd_per_busy_hour = usd_per_wall_hour / utilization`` (what a useful hour really costs).
    Idle power, hosting, networking and staff are not included.
    """

    purchase_usd: float
    years: float
    power_watts: float
    usd_per_kwh: float
    utilization: float = 1.0
    pue: float = 1.0

    def __post_init__(self) -> None:
        _number("purchase_usd", self.purchase_usd, allow_zero=True)
        _number("years", self.years)
        _number("power_watts", self.power_watts, allow_zero=True)
        _number("usd_per_kwh", self.usd_per_kwh, allow_zero=True)
        _number("utilization", self.utilization)
        if self.utilization > 1:
            raise ConfigError(f"utilization={self.utilization!r} is a fraction of hours busy and must be in (0, 1]")
        _number("pue", self.pue)
        if self.pue < 1:
            raise ConfigError(f"pue={self.pue!r} (power usage effectiveness) cannot be below 1")

    @property
    def capex_usd_per_hour(self) -> float:
        return self.purchase_usd / (self.years * HOURS_PER_YEAR)

    @property
    def energy_usd_per_busy_hour(self) -> float:
        return self.power_watts / 1000 * self.usd_per_kwh * self.pue

    @property
    def usd_per_wall_hour(self) -> float:
        return self.capex_usd_per_hour + self.energy_usd_per_busy_hour * self.utilization

    @property
    def usd_per_busy_hour(self) -> float:
        return self.usd_per_wall_hour / self.utilization

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "capex_usd_per_hour": self.capex_usd_per_hour,
                "energy_usd_per_busy_hour": self.energy_usd_per_busy_hour,
                "usd_per_wall_hour": self.usd_per_wall_hour, "usd_per_busy_hour": self.usd_per_busy_hour}


@dataclass(frozen=True)
class GPUHourCost:
    """The price of one busy GPU-hour and where it came from."""

    usd_per_gpu_hour: float
    basis: str
    as_of: str | None
    source: str | None
    formula: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def gpu_hour_cost(gpu: str | GPUSpec | OnPremGPU | float, *, provider: str | None = None,
                  catalog: Catalog | None = None) -> GPUHourCost:
    """$ per GPU-hour: a catalog GPU's cloud offer (cheapest, or ``provider``'s), on-prem, or a number."""
    if isinstance(gpu, OnPremGPU):
        formula = (f"(purchase / (years x {HOURS_PER_YEAR}) + watts/1000 x $/kWh x pue x utilization) / utilization = "
                   f"({gpu.purchase_usd:g} / ({gpu.years:g} x {HOURS_PER_YEAR}) + {gpu.power_watts:g}/1000 x "
                   f"{gpu.usd_per_kwh:g} x {gpu.pue:g} x {gpu.utilization:g}) / {gpu.utilization:g} = {gpu.usd_per_busy_hour:.6g}")
        return GPUHourCost(gpu.usd_per_busy_hour, "on-prem amortization", None, None, formula)
    if isinstance(gpu, (int, float)) and not isinstance(gpu, bool):
        value = _number("usd_per_gpu_hour", gpu, allow_zero=True)
        return GPUHourCost(value, "given by caller", None, None, f"usd_per_gpu_hour = {value:g}")
    spec = (catalog or Catalog()).resolve_gpu(gpu)
    offers = [o for o in spec.cloud if provider is None or o.provider == provider]
    if not offers:
        which = f" from provider {provider!r}" if provider else ""
        known = sorted({o.provider for o in spec.cloud})
        raise ConfigError(
            f"no cloud price for {spec.name}{which} in the snapshot"
            + (f" (providers: {', '.join(known)})" if known else "")
            + "; pass a $/hour number or an OnPremGPU"
        )
    offer = min(offers, key=lambda o: o.usd_per_gpu_hour)
    formula = (f"usd_per_instance_hour / gpus_per_instance = {offer.usd_per_instance_hour:g} / "
               f"{offer.gpus_per_instance} = {offer.usd_per_gpu_hour:.6g}")
    return GPUHourCost(offer.usd_per_gpu_hour, f"{offer.provider} {offer.instance} on-demand"
                       + (f" ({offer.region})" if offer.region else ""), offer.as_of, offer.source, formula)


@dataclass(frozen=True)
class SelfHostedCost:
    """Serving a volume on your own GPUs at a throughput you measured."""

    gpu_hour: GPUHourCost
    volume: Volume
    prefill_tokens_per_second: float
    decode_tokens_per_second: float
    gpu_hours_per_month: float
    usd_per_million_input: float
    usd_per_million_output: float
    usd_per_query: float | None
    usd_per_month: float
    usd_per_year: float
    always_on_gpus: int | None
    always_on_usd_per_month: float | None
    formulas: tuple[str, ...]
    assumptions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["gpu_hour"] = self.gpu_hour.to_dict()
        out["volume"] = self.volume.to_dict()
        out["formulas"] = list(self.formulas)
        out["assumptions"] = list(self.assumptions)
        return out


def self_hosted_cost(gpu: str | GPUSpec | OnPremGPU | float, volume: Volume, *, prefill_tokens_per_second: float,
                     decode_tokens_per_second: float, always_on_gpus: int | None = None, provider: str | None = None,
                     catalog: Catalog | None = None) -> SelfHostedCost:
    """Cost of processing ``volume`` at a measured aggregate throughput per GPU (chunkwise does not model speed).

    GPU-hours = input_tokens / prefill_tps / 3600 + output_tokens / decode_tps / 3600, paid per busy
    hour; ``always_on_gpus`` adds the cost of keeping that many GPUs rented all month instead.
    """
    hour = gpu_hour_cost(gpu, provider=provider, catalog=catalog)
    prefill = _number("prefill_tokens_per_second", prefill_tokens_per_second)
    decode = _number("decode_tokens_per_second", decode_tokens_per_second)
    if not isinstance(volume, Volume):
        raise ConfigError(f"volume must be a Volume, got {type(volume).__name__}")
    per_million_in = hour.usd_per_gpu_hour / (prefill * 3600) * 1e6
    per_million_out = hour.usd_per_gpu_hour / (decode * 3600) * 1e6
    hours = volume.monthly_input_tokens / prefill / 3600 + volume.monthly_output_tokens / decode / 3600
    monthly = hours * hour.usd_per_gpu_hour
    per_query = None
    if volume.per_query:
        per_query = (volume.input_tokens_per_query * per_million_in + volume.output_tokens_per_query * per_million_out) / 1e6
    always_on = None
    if always_on_gpus is not None:
        if isinstance(always_on_gpus, bool) or not isinstance(always_on_gpus, int) or always_on_gpus <= 0:
            raise ConfigError(f"always_on_gpus={always_on_gpus!r} must be a positive integer")
        always_on = always_on_gpus * HOURS_PER_MONTH * hour.usd_per_gpu_hour
    formulas = (
        f"gpu_hour: {hour.formula}",
        f"usd_per_million_input = usd_per_gpu_hour / (prefill_tps x 3600) x 1e6 = {per_million_in:.6g}",
        f"usd_per_million_output = usd_per_gpu_hour / (decode_tps x 3600) x 1e6 = {per_million_out:.6g}",
        f"gpu_hours_per_month = {volume.monthly_input_tokens:g} / {prefill:g} / 3600 + "
        f"{volume.monthly_output_tokens:g} / {decode:g} / 3600 = {hours:.6g}",
        f"usd_per_month = gpu_hours_per_month x usd_per_gpu_hour = {monthly:.6g}",
    )
    assumptions = (CALENDAR, "throughputs are aggregate tokens/s per GPU at your batch size, as measured by you",
                   "only busy GPU-hours are paid unless always_on_gpus is given")
    return SelfHostedCost(hour, volume, prefill, decode, hours, per_million_in, per_million_out, per_query, monthly,
                          monthly * 12, always_on_gpus, always_on, formulas, assumptions)
