"""Dollars: hosted-API token prices, GPU hours (cloud or amortized on-prem), per query/month/year.

Self-hosted serving is costed under a stated load: GPUs kept on all year (the headline), busy
GPU-seconds at the batch the traffic forms (Little's law), and the floor of a fully used GPU.

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

from ...errors import ConfigError
from .catalog import Catalog, GPUSpec, TokenPrice
from .memory import VLLM_MAX_NUM_SEQS, kv_cache_bytes_per_token, weights_memory

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


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name}={value!r} must be a positive integer")
    return value


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
class DecodeStep:
    """Seconds one decode step takes: reading the weights once, plus each running sequence's KV cache.

    ``seconds(batch) = fixed_seconds + batch x per_sequence_seconds`` (decode is memory-bound);
    a request alone decodes ``1 / seconds(1)`` tokens a second, a batch ``batch / seconds(batch)``.
    Build it with :func:`decode_step` (the GPU's bandwidth) or from two measured speeds.
    """

    fixed_seconds: float
    per_sequence_seconds: float
    basis: str = "given by caller"

    def __post_init__(self) -> None:
        _number("fixed_seconds", self.fixed_seconds)
        _number("per_sequence_seconds", self.per_sequence_seconds, allow_zero=True)

    def seconds(self, batch: float) -> float:
        return self.fixed_seconds + batch * self.per_sequence_seconds

    def tokens_per_second(self, batch: float) -> float:
        """Aggregate decode tokens a second with ``batch`` sequences running."""
        return batch / self.seconds(batch)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "single_request_tokens_per_second": self.tokens_per_second(1)}


def decode_step(model: Any, gpu: str | GPUSpec, *, context_tokens: float, mbu: float = 0.6,
                weight_format: str | None = None, kv_dtype: str | None = None,
                catalog: Catalog | None = None) -> DecodeStep:
    """A memory-bound decode step of ``model`` on ``gpu`` at ``mbu`` of its peak bandwidth.

    ``fixed_seconds = weights / (bandwidth x mbu)``; ``per_sequence_seconds = kv_bytes_per_token x
    context_tokens / (bandwidth x mbu)``, with ``context_tokens`` the mean cached context of a
    running request (prompt + output / 2). An estimate from datasheet bandwidth, not a measurement.
    """
    catalog = catalog or Catalog()
    spec = catalog.resolve_model(model)
    device = catalog.resolve_gpu(gpu)
    _number("context_tokens", context_tokens, allow_zero=True)
    if _number("mbu", mbu) > 1:
        raise ConfigError(f"mbu={mbu!r} is a fraction of peak bandwidth and must be in (0, 1]")
    bandwidth = device.memory_bandwidth_gb_s * 1e9 * mbu
    weights = weights_memory(spec, weight_format).bytes
    per_token = kv_cache_bytes_per_token(spec, kv_dtype)
    basis = (f"memory-bound decode of {spec.name} on {device.name}: fixed = weights / (bandwidth x mbu) = {weights} / "
             f"({device.memory_bandwidth_gb_s:g}e9 x {mbu:g}); per sequence = kv_bytes_per_token x context / (bandwidth x mbu) "
             f"= {per_token} x {context_tokens:g} / ({device.memory_bandwidth_gb_s:g}e9 x {mbu:g})")
    return DecodeStep(weights / bandwidth, per_token * context_tokens / bandwidth, basis)


@dataclass(frozen=True)
class ServingLoad:
    """Requests in flight on each GPU by Little's law, and how busy that keeps it.

    A fluid model of one GPU running continuous batching: prefill takes ``prefill_fraction``
    (arrival rate x prefill seconds) of its time; decode steps fill the rest, each advancing
    every decoding request by a token. By Little's law the requests decoding at once are
    ``decoding = arrival rate x output_tokens x step(batch) / (1 - prefill_fraction)``, with the
    batch ``max(1, decoding)`` (solved together), and ``in_flight = prefill_fraction + decoding``;
    ``latency_seconds = in_flight / arrival rate``. No queueing delay or bursts are modelled.
    ``keeps_up`` is False when ``gpus`` were given and cannot serve the rate within
    ``concurrency_cap`` (memory and the engine's ``max_num_seqs``): they then run full.
    """

    queries_per_second: float
    gpus: int
    in_flight_per_gpu: float
    batch: float
    latency_seconds: float
    gpu_seconds_per_query: float
    busy_fraction: float
    prefill_fraction: float
    concurrency_cap: int
    keeps_up: bool
    formula: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _decoding(rate: float, prefill_s: float, output: float, step: DecodeStep, cap: int) -> float | None:
    """Requests decoding at once on one GPU at ``rate`` requests/s; None when it cannot keep up."""
    prefill_fraction = rate * prefill_s
    if prefill_fraction >= 1:
        return None
    tokens_per_step_time = rate * output / (1 - prefill_fraction)
    alone = tokens_per_step_time * step.seconds(1)
    if alone <= 1:
        return alone  # requests seldom overlap: each decodes in a batch of one
    # decoding = a x (fixed + decoding x per_sequence), solved for decoding
    headroom = 1 - tokens_per_step_time * step.per_sequence_seconds
    decoding = tokens_per_step_time * step.fixed_seconds / headroom if headroom > 0 else None
    return decoding if decoding is not None and decoding <= cap else None


def serving_load(queries_per_day: float, *, input_tokens: float, output_tokens: float,
                 prefill_tokens_per_second: float, step: DecodeStep, concurrency_cap: int,
                 gpus: int | None = None) -> ServingLoad:
    """The load ``queries_per_day`` puts on ``gpus`` GPUs (default: the fewest that keep up)."""
    rate = _number("queries_per_day", queries_per_day) / 86_400
    prefill_s = _number("input_tokens", input_tokens, allow_zero=True) / _number(
        "prefill_tokens_per_second", prefill_tokens_per_second)
    output = _number("output_tokens", output_tokens, allow_zero=True)
    _count("concurrency_cap", concurrency_cap)
    full_seconds = prefill_s + output * step.seconds(concurrency_cap) / concurrency_cap
    count = gpus or max(1, math.ceil(rate * full_seconds))
    decoding = _decoding(rate / count, prefill_s, output, step, concurrency_cap)
    while decoding is None and gpus is None:
        count += 1
        decoding = _decoding(rate / count, prefill_s, output, step, concurrency_cap)
    per_gpu = rate / count
    prefill_fraction = min(1.0, per_gpu * prefill_s)
    keeps_up = decoding is not None
    if decoding is None:
        decoding = float(concurrency_cap)  # the given GPUs run full and a queue grows
    batch = max(1.0, decoding)
    per_query = prefill_s + output * step.seconds(batch) / batch
    busy = min(1.0, per_gpu * per_query)
    in_flight = prefill_fraction + decoding
    latency = in_flight / per_gpu
    formula = (f"per GPU {per_gpu:.6g} requests/s; prefill_fraction = rate x prefill_s = {per_gpu:.6g} x {prefill_s:.6g} = "
               f"{prefill_fraction:.6g}; decoding = rate x output x step(batch) / (1 - prefill_fraction) = {decoding:.6g} "
               f"(batch {batch:.6g}, step {step.seconds(batch):.6g} s); in_flight = {in_flight:.6g}; latency = in_flight / "
               f"rate = {latency:.6g} s; busy = rate x (prefill_s + output x step / batch) = {busy:.6g}")
    return ServingLoad(rate, count, in_flight, batch, latency, per_query, busy, prefill_fraction, concurrency_cap,
                       keeps_up, formula)


@dataclass(frozen=True)
class SelfHostedCost:
    """Serving a volume on your own GPUs: kept on all year, and the floor of a fully used GPU.

    ``usd_per_query``/``usd_per_month``/``usd_per_year`` are what ``gpus`` GPUs kept on around
    the clock cost (``always_on_*``); ``fully_used_*`` is the same traffic if every GPU-second
    were spent at full batch (the old figure, reachable only with traffic to fill the GPU);
    ``busy_usd_per_query`` pays only the GPU-seconds a query holds at the batch its traffic
    forms. ``load`` holds the in-flight requests (Little's law) when a ``decode_step`` is given;
    ``load_note`` is the assumption to print next to the figures.
    """

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
    gpus: int = 1
    busy_fraction: float = 1.0
    fully_used_gpu_hours_per_month: float = 0.0
    fully_used_usd_per_query: float | None = None
    fully_used_usd_per_month: float = 0.0
    fully_used_usd_per_year: float = 0.0
    busy_usd_per_query: float | None = None
    always_on_usd_per_year: float = 0.0
    load: ServingLoad | None = None
    load_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["gpu_hour"] = self.gpu_hour.to_dict()
        out["volume"] = self.volume.to_dict()
        out["load"] = self.load.to_dict() if self.load is not None else None
        out["formulas"] = list(self.formulas)
        out["assumptions"] = list(self.assumptions)
        return out


def _full_decode_speed(decode_tokens_per_second: float | None, step: DecodeStep | None, cap: int) -> float:
    if (decode_tokens_per_second is None) == (step is None):
        raise ConfigError("give decode_tokens_per_second (aggregate, at full batch) or decode_step, not both or neither")
    if step is None:
        return _number("decode_tokens_per_second", decode_tokens_per_second)
    return step.tokens_per_second(cap)


def _fully_used_formulas(volume: Volume, prefill: float, decode: float, full_hours: float, price: float) -> tuple[str, ...]:
    return (
        f"usd_per_million_input (fully used) = usd_per_gpu_hour / (prefill_tps x 3600) x 1e6 = "
        f"{price / (prefill * 3600) * 1e6:.6g}",
        f"usd_per_million_output (fully used) = usd_per_gpu_hour / (decode_tps x 3600) x 1e6 = "
        f"{price / (decode * 3600) * 1e6:.6g}",
        f"fully_used_gpu_hours_per_month = {volume.monthly_input_tokens:g} / {prefill:g} / 3600 + "
        f"{volume.monthly_output_tokens:g} / {decode:g} / 3600 = {full_hours:.6g}",
        f"fully_used_usd_per_month = fully_used_gpu_hours_per_month x usd_per_gpu_hour = {full_hours * price:.6g}",
    )


def _kept_on_hour(gpu: Any, busy_hour_price: float, busy: float) -> float:
    """$ per wall-clock hour of a GPU kept on: a rented one costs its hourly price busy or idle; an
    owned one its amortized purchase plus energy while busy (OnPremGPU's own ``utilization`` is
    replaced by the load's busy fraction)."""
    if isinstance(gpu, OnPremGPU):
        return gpu.capex_usd_per_hour + gpu.energy_usd_per_busy_hour * busy
    return busy_hour_price


def self_hosted_cost(gpu: str | GPUSpec | OnPremGPU | float, volume: Volume, *, prefill_tokens_per_second: float,
                     decode_tokens_per_second: float | None = None, decode_step: DecodeStep | None = None,
                     max_concurrent_requests: int | None = None, always_on_gpus: int | None = None,
                     provider: str | None = None, catalog: Catalog | None = None) -> SelfHostedCost:
    """Cost of serving ``volume`` on GPUs kept on all year, and at full use, with the load it assumes.

    Give the decode speed as ``decode_tokens_per_second`` (aggregate per GPU at full batch, as
    measured) or as a ``decode_step`` (its speed at any batch): only the latter, with a
    per-query volume, yields requests in flight (Little's law), the busy fraction and
    ``busy_usd_per_query``. ``max_concurrent_requests`` caps the batch (default
    :data:`~chunkwise.reporting.economics.memory.VLLM_MAX_NUM_SEQS`). Always-on GPUs: ``always_on_gpus``,
    else the fewest that keep up; ``gpu_hours_per_month`` is what they are paid for.
    """
    hour = gpu_hour_cost(gpu, provider=provider, catalog=catalog)
    prefill = _number("prefill_tokens_per_second", prefill_tokens_per_second)
    if not isinstance(volume, Volume):
        raise ConfigError(f"volume must be a Volume, got {type(volume).__name__}")
    cap = _count("max_concurrent_requests", VLLM_MAX_NUM_SEQS if max_concurrent_requests is None
                 else max_concurrent_requests)
    if always_on_gpus is not None:
        _count("always_on_gpus", always_on_gpus)
    decode = _full_decode_speed(decode_tokens_per_second, decode_step, cap)
    price = hour.usd_per_gpu_hour
    full_hours = volume.monthly_input_tokens / prefill / 3600 + volume.monthly_output_tokens / decode / 3600
    full_per_query = None
    if volume.per_query:
        full_per_query = (volume.input_tokens_per_query / prefill + volume.output_tokens_per_query / decode) / 3600 * price
    load = None
    if decode_step is not None and volume.per_query:
        load = serving_load(volume.queries_per_day, input_tokens=volume.input_tokens_per_query,
                            output_tokens=volume.output_tokens_per_query, prefill_tokens_per_second=prefill,
                            step=decode_step, concurrency_cap=cap, gpus=always_on_gpus)
        gpus, busy = load.gpus, load.busy_fraction
    else:
        gpus = always_on_gpus or max(1, math.ceil(full_hours / HOURS_PER_MONTH))
        busy = min(1.0, full_hours / (gpus * HOURS_PER_MONTH))
    kept_on = _kept_on_hour(gpu, price, busy)
    monthly = gpus * HOURS_PER_MONTH * kept_on
    per_query = monthly / volume.queries_per_month if volume.per_query else None
    busy_per_query = load.gpu_seconds_per_query * price / 3600 if load is not None else None
    formulas = (
        f"gpu_hour: {hour.formula}",
        *((f"kept-on hour of an owned GPU = capex/h + energy per busy hour x busy = {gpu.capex_usd_per_hour:.6g} + "
           f"{gpu.energy_usd_per_busy_hour:.6g} x {busy:.6g} = {kept_on:.6g}",) if isinstance(gpu, OnPremGPU) else ()),
        f"usd_per_month = gpus x {HOURS_PER_MONTH:g} h x kept-on usd_per_gpu_hour = {gpus} x {HOURS_PER_MONTH:g} x "
        f"{kept_on:.6g} = {monthly:.6g}",
        *((f"usd_per_query = usd_per_month / queries_per_month = {monthly:.6g} / {volume.queries_per_month:.6g} = "
           f"{per_query:.6g}",) if per_query is not None else ()),
        *((f"load: {load.formula}",
           f"busy_usd_per_query = gpu_seconds_per_query x usd_per_gpu_hour / 3600 = {load.gpu_seconds_per_query:.6g} x "
           f"{price:.6g} / 3600 = {busy_per_query:.6g}") if load is not None else ()),
        *_fully_used_formulas(volume, prefill, decode, full_hours, price),
    )
    full_batch = f"at {cap} in flight" if decode_step is not None else f"at {decode:.4g} decode tokens/s"
    note = _load_note(gpus, busy, load, full_per_query, full_batch, always_on_gpus is not None)
    assumptions = (
        CALENDAR, note,
        "decode speed: " + (decode_step.basis if decode_step is not None
                            else f"{decode:g} tokens/s aggregate per GPU at full batch, as given"),
        "fully used = every GPU-second at full batch; reachable only when other traffic fills the GPU",
        "GPUs kept on all year are paid whether busy or idle; autoscaling, cold starts and spot prices are not modelled",
    )
    return SelfHostedCost(hour, volume, prefill, decode, gpus * HOURS_PER_MONTH, price / (prefill * 3600) * 1e6,
                          price / (decode * 3600) * 1e6, per_query, monthly, monthly * 12, always_on_gpus, monthly,
                          formulas, assumptions, gpus, busy, full_hours, full_per_query, full_hours * price,
                          full_hours * price * 12, busy_per_query, monthly * 12, load, note)


def _load_note(gpus: int, busy: float, load: ServingLoad | None, full_per_query: float | None, full_batch: str,
               given: bool) -> str:
    """The load behind the always-on figures, in one line for a report."""
    which = "given" if given else "the fewest that keep up"
    note = f"always on: {gpus} GPU{'s' if gpus != 1 else ''} ({which}), busy {busy:.1%} of the time"
    if load is not None:
        note += (f"; {load.in_flight_per_gpu:.3g} requests in flight per GPU (Little's law: "
                 f"{load.queries_per_second / load.gpus:.3g} requests/s x {load.latency_seconds:.3g} s)")
        if not load.keeps_up:
            note += "; these GPUs cannot keep up: they run full and requests queue"
    else:
        note += " at full batch (requests in flight not computed: pass decode_step= for them)"
    if full_per_query is not None:
        note += f"; fully used {full_batch}: ${full_per_query:.6f} per query"
    return note
