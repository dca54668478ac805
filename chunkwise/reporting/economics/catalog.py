"""Facts the economics numbers stand on: models, GPUs and dated prices, plus user overrides.

The shipped catalog is JSON under ``chunkwise/data/economics`` and is read lazily by a
:class:`Catalog` object (never at import, never from the network). Users can bring their
own model as a Hugging Face ``config.json`` (path or dict) and their own prices as a
:class:`TokenPrice` whose unit is explicit and range-checked.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import CatalogError, ConfigError

AttentionKind = Literal["mha", "gqa", "mqa", "mla"]
ModelKind = Literal["decoder", "encoder"]

#: The one unit token prices are stored and computed in.
PRICE_UNIT = "usd_per_million_tokens"
#: Per-million prices outside this band are almost surely in another unit (per token, per
#: thousand) or a typo; real list prices of hosted models sit well inside it.
PRICE_SANITY_RANGE_USD_PER_MILLION = (0.001, 5000.0)

_DTYPE_ALIASES = {
    "float32": "float32", "fp32": "float32", "torch.float32": "float32",
    "bfloat16": "bfloat16", "bf16": "bfloat16", "torch.bfloat16": "bfloat16",
    "float16": "float16", "fp16": "float16", "half": "float16", "torch.float16": "float16",
}


def _name_key(name: str) -> str:
    """Lookup key: case, punctuation and an org prefix do not matter."""
    return re.sub(r"[^a-z0-9]", "", name.strip().lower())


def _closest(name: str, candidates: dict[str, str], what: str) -> CatalogError:
    """A CatalogError that lists the catalog names closest to ``name``."""
    key = _name_key(name)
    keys = difflib.get_close_matches(key, list(candidates), n=5, cutoff=0.4)
    close = sorted({candidates[k] for k in keys})
    known = sorted(set(candidates.values()))
    hint = f" Close names: {', '.join(close)}." if close else ""
    return CatalogError(
        f"Unknown {what} {name!r}.{hint} Known {what}s: {', '.join(known)}."
        + (" Or pass your own Hugging Face config.json (path or dict)." if what == "model" else "")
    )


@dataclass(frozen=True)
class ModelSpec:
    """Architecture numbers of one model; everything the memory and cost formulas read.

    ``params_total`` is what sits in memory; ``params_active`` is what one token
    passes through (equal for dense models, smaller for mixture-of-experts).
    ``params_basis`` says whether they are published counts or estimated from a config.
    ``dtype`` is the compute (and default KV-cache) dtype; ``weight_format``, when set, is how
    the published checkpoint stores the weights (DeepSeek-V3: ``fp8-block128``) and is the
    default of :func:`~chunkwise.reporting.economics.weights_memory`.
    """

    name: str
    kind: ModelKind
    params_total: int
    params_active: int
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    attention: AttentionKind
    intermediate: int | None = None
    max_context: int | None = None
    dtype: str = "bfloat16"
    weight_format: str | None = None
    tie_word_embeddings: bool = False
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    num_experts: int | None = None
    experts_per_token: int | None = None
    shared_experts: int | None = None
    moe_intermediate: int | None = None
    sliding_window: int | None = None
    source: str | None = None
    source_date: str | None = None
    params_basis: str = "published"
    notes: str | None = None

    def __post_init__(self) -> None:
        for field in ("params_total", "params_active", "layers", "hidden", "heads", "kv_heads",
                      "head_dim", "vocab"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"model {self.name!r}: {field}={value!r} must be a positive integer")
        if self.params_active > self.params_total:
            raise ConfigError(
                f"model {self.name!r}: params_active={self.params_active} exceeds "
                f"params_total={self.params_total}"
            )
        if self.kind not in ("decoder", "encoder"):
            raise ConfigError(f"model {self.name!r}: kind={self.kind!r} must be 'decoder' or 'encoder'")
        if self.attention not in ("mha", "gqa", "mqa", "mla"):
            raise ConfigError(
                f"model {self.name!r}: attention={self.attention!r} must be mha, gqa, mqa or mla"
            )
        if self.heads % self.kv_heads:
            raise ConfigError(
                f"model {self.name!r}: heads={self.heads} is not a multiple of kv_heads={self.kv_heads}"
            )
        if self.attention == "mla" and (not self.kv_lora_rank or not self.qk_rope_head_dim):
            raise ConfigError(
                f"model {self.name!r}: attention='mla' needs kv_lora_rank and qk_rope_head_dim"
            )
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ConfigError(f"model {self.name!r}: dtype={self.dtype!r} must be float32, bfloat16 or float16")

    @property
    def is_moe(self) -> bool:
        return bool(self.num_experts and self.num_experts > 1)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["is_moe"] = self.is_moe
        return out

    @classmethod
    def from_hf_config(
        cls,
        config: Mapping[str, Any] | str | os.PathLike[str],
        *,
        name: str | None = None,
        params_total: int | None = None,
        params_active: int | None = None,
    ) -> ModelSpec:
        """Build a spec from a Hugging Face ``config.json`` (a path, a model folder, or a dict).

        Parameter counts are estimated from the architecture (:func:`estimate_parameters`)
        unless given; pass the published counts when you have them.
        """
        if isinstance(config, (str, os.PathLike)):
            path = os.fspath(config)
            if os.path.isdir(path):
                path = os.path.join(path, "config.json")
            try:
                with open(path, encoding="utf-8") as handle:
                    config = json.load(handle)
            except FileNotFoundError as err:
                raise ConfigError(f"model config {path!r} does not exist") from err
            except json.JSONDecodeError as err:
                raise ConfigError(f"model config {path!r} is not valid JSON: {err}") from err
            name = name or os.path.basename(os.path.dirname(os.path.abspath(path))) or "custom"
        if not isinstance(config, Mapping):
            raise ConfigError(f"a model config must be a mapping, got {type(config).__name__}")
        cfg = dict(config)
        # Multimodal and some newer configs nest the language model's numbers.
        if "num_hidden_layers" not in cfg and isinstance(cfg.get("text_config"), Mapping):
            cfg = {**cfg, **cfg["text_config"]}
        required = ["num_hidden_layers", "num_attention_heads", "hidden_size", "vocab_size"]
        if params_total is None:
            required.append("intermediate_size")
        missing = [key for key in required if cfg.get(key) is None]
        if missing:
            raise ConfigError(
                f"model config is missing {', '.join(missing)}; these Hugging Face config.json "
                "fields are needed (intermediate_size only when params_total is not given)"
            )
        heads = int(cfg["num_attention_heads"])
        hidden = int(cfg["hidden_size"])
        kv_heads = int(cfg.get("num_key_value_heads") or heads)
        is_mla = cfg.get("kv_lora_rank") is not None
        if is_mla:
            missing = [k for k in ("qk_rope_head_dim",) if cfg.get(k) is None]
            if missing:
                raise ConfigError(f"model config has kv_lora_rank (MLA) but is missing {', '.join(missing)}")
            head_dim = int(cfg.get("qk_nope_head_dim", 0)) + int(cfg["qk_rope_head_dim"])
            attention: AttentionKind = "mla"
        else:
            head_dim = int(cfg.get("head_dim") or hidden // heads)
            attention = "mha" if kv_heads == heads else ("mqa" if kv_heads == 1 else "gqa")
        experts = cfg.get("num_local_experts") or cfg.get("n_routed_experts") or cfg.get("num_experts")
        model_type = str(cfg.get("model_type", ""))
        kind: ModelKind = "encoder" if model_type in _ENCODER_MODEL_TYPES else "decoder"
        if params_total is None:
            estimated_total, estimated_active = estimate_parameters(cfg)
            params_total = estimated_total
            params_active = estimated_active if params_active is None else params_active
            basis = "estimated from config by chunkwise.reporting.economics.catalog.estimate_parameters"
        else:
            params_active = params_total if params_active is None else params_active
            basis = "given by caller"
        dtype = _DTYPE_ALIASES.get(str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16"), "bfloat16")
        quant = cfg.get("quantization_config")
        weight_format = None
        if isinstance(quant, Mapping) and quant.get("quant_method") == "fp8":
            # DeepSeek-V3 style: fp8 weights with one scale per 128 x 128 block
            weight_format = "fp8-block128" if list(quant.get("weight_block_size") or ()) == [128, 128] else "fp8"
        return cls(
            name=name or str(cfg.get("_name_or_path") or model_type or "custom"),
            kind=kind,
            params_total=int(params_total),
            params_active=int(params_active),
            layers=int(cfg["num_hidden_layers"]),
            hidden=hidden,
            heads=heads,
            kv_heads=kv_heads,
            head_dim=head_dim,
            vocab=int(cfg["vocab_size"]),
            attention=attention,
            intermediate=int(cfg["intermediate_size"]) if cfg.get("intermediate_size") else None,
            max_context=int(cfg["max_position_embeddings"]) if cfg.get("max_position_embeddings") else None,
            dtype=dtype,
            weight_format=weight_format,
            tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            kv_lora_rank=int(cfg["kv_lora_rank"]) if is_mla else None,
            qk_rope_head_dim=int(cfg["qk_rope_head_dim"]) if is_mla else None,
            num_experts=int(experts) if experts else None,
            experts_per_token=int(cfg["num_experts_per_tok"]) if cfg.get("num_experts_per_tok") else None,
            shared_experts=int(cfg["n_shared_experts"]) if cfg.get("n_shared_experts") else None,
            moe_intermediate=int(cfg["moe_intermediate_size"]) if cfg.get("moe_intermediate_size") else None,
            sliding_window=int(cfg["sliding_window"]) if cfg.get("sliding_window") and cfg.get("use_sliding_window", True) else None,
            source="user config",
            params_basis=basis,
        )


_ENCODER_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "mpnet", "distilbert", "electra", "nomic_bert"})


def estimate_parameters(config: Mapping[str, Any]) -> tuple[int, int]:
    """Return ``(params_total, params_active)`` counted layer by layer from an HF config.

    Covers BERT-style encoders, Llama-style decoders (gated MLP, optional q/k/v bias as in
    Qwen2, tied embeddings), Mixtral-style and DeepSeek-style mixture-of-experts, and
    DeepSeek's MLA attention. Norm weights are counted; rotary tables and buffers are not.
    It reproduces every published count in the shipped catalog exactly (see tests).
    """
    h = int(config["hidden_size"])
    layers = int(config["num_hidden_layers"])
    vocab = int(config["vocab_size"])
    heads = int(config["num_attention_heads"])
    inter = int(config["intermediate_size"])
    if str(config.get("model_type", "")) in _ENCODER_MODEL_TYPES:
        positions = int(config.get("max_position_embeddings", 512))
        type_vocab = int(config.get("type_vocab_size", 2))
        embeddings = (vocab + positions + type_vocab) * h + 2 * h  # tables + LayerNorm
        per_layer = 4 * (h * h + h) + 2 * h + (h * inter + inter) + (inter * h + h) + 2 * h
        pooler = h * h + h  # sentence-transformers checkpoints keep BERT's pooler
        total = embeddings + layers * per_layer + pooler
        return total, total

    kv_heads = int(config.get("num_key_value_heads") or heads)
    if config.get("kv_lora_rank") is not None:  # DeepSeek multi-head latent attention
        q_rank = config.get("q_lora_rank")
        kv_rank = int(config["kv_lora_rank"])
        rope = int(config["qk_rope_head_dim"])
        nope = int(config["qk_nope_head_dim"])
        v_dim = int(config["v_head_dim"])
        q_dim = heads * (nope + rope)
        q_proj = (h * int(q_rank) + int(q_rank) + int(q_rank) * q_dim) if q_rank else h * q_dim
        attention = q_proj + h * (kv_rank + rope) + kv_rank + kv_rank * heads * (nope + v_dim) + heads * v_dim * h
    else:
        head_dim = int(config.get("head_dim") or h // heads)
        attention = h * heads * head_dim + 2 * h * kv_heads * head_dim + heads * head_dim * h
        if config.get("attention_bias") or config.get("model_type") == "qwen2":
            attention += heads * head_dim + 2 * kv_heads * head_dim  # q, k, v biases
    norms = 2 * h
    dense_mlp = 3 * h * inter  # gate, up, down

    experts = config.get("num_local_experts") or config.get("n_routed_experts") or config.get("num_experts")
    if experts:
        experts = int(experts)
        top_k = int(config["num_experts_per_tok"])
        expert_inter = int(config.get("moe_intermediate_size") or inter)
        shared = int(config.get("n_shared_experts") or 0)
        per_expert = 3 * h * expert_inter
        router = h * experts + (experts if config.get("topk_method") == "noaux_tc" else 0)
        first_dense = int(config.get("first_k_dense_replace") or 0)
        moe_layers = layers - first_dense
        dense_layer = attention + norms + dense_mlp
        total_layers = first_dense * dense_layer + moe_layers * (attention + norms + router + (experts + shared) * per_expert)
        active_layers = first_dense * dense_layer + moe_layers * (attention + norms + router + (top_k + shared) * per_expert)
    else:
        total_layers = active_layers = layers * (attention + norms + dense_mlp)
    embeddings = vocab * h * (1 if config.get("tie_word_embeddings") else 2)
    final_norm = h
    return total_layers + embeddings + final_norm, active_layers + embeddings + final_norm


@dataclass(frozen=True)
class CloudOffer:
    """One dated on-demand price for renting a GPU."""

    provider: str
    instance: str
    gpus_per_instance: int
    usd_per_instance_hour: float
    as_of: str
    source: str
    region: str | None = None

    @property
    def usd_per_gpu_hour(self) -> float:
        return self.usd_per_instance_hour / self.gpus_per_instance

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "usd_per_gpu_hour": self.usd_per_gpu_hour}


@dataclass(frozen=True)
class GPUSpec:
    """One accelerator: usable memory in bytes (with how that number was obtained), speed, price."""

    name: str
    memory_bytes: int
    memory_bytes_exact: bool
    memory_basis: str
    memory_nominal_gb: float
    memory_bandwidth_gb_s: float
    bf16_dense_tflops: float | None = None
    fp16_dense_tflops: float | None = None
    power_watts: float | None = None
    cloud: tuple[CloudOffer, ...] = ()
    spec_source: str | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.memory_bytes, bool) or not isinstance(self.memory_bytes, int) or self.memory_bytes <= 0:
            raise ConfigError(f"GPU {self.name!r}: memory_bytes={self.memory_bytes!r} must be a positive integer")

    @property
    def memory_gib(self) -> float:
        return self.memory_bytes / 2**30

    def cheapest_offer(self) -> CloudOffer | None:
        return min(self.cloud, key=lambda offer: offer.usd_per_gpu_hour, default=None)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["cloud"] = [offer.to_dict() for offer in self.cloud]
        out["memory_gib"] = self.memory_gib
        return out


@dataclass(frozen=True)
class TokenPrice:
    """A price in US dollars per million input and output tokens.

    ``unit`` must be ``"usd_per_million_tokens"``; for prices quoted per token or per
    thousand tokens use :meth:`from_unit`, which converts explicitly. Values outside
    :data:`PRICE_SANITY_RANGE_USD_PER_MILLION` are rejected as a likely unit mistake
    (0 is allowed: a free input or output); pass ``check_range=False`` to keep them.
    """

    input_usd_per_million: float
    output_usd_per_million: float
    unit: str = PRICE_UNIT
    name: str = "custom"
    provider: str | None = None
    as_of: str | None = None
    source: str | None = None
    check_range: bool = True

    def __post_init__(self) -> None:
        if self.unit != PRICE_UNIT:
            raise ConfigError(
                f"price {self.name!r}: unit={self.unit!r}; TokenPrice stores {PRICE_UNIT!r}. "
                "Use TokenPrice.from_unit(input, output, unit='usd_per_token' or 'usd_per_thousand_tokens') "
                "to convert."
            )
        low, high = PRICE_SANITY_RANGE_USD_PER_MILLION
        for field in ("input_usd_per_million", "output_usd_per_million"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"price {self.name!r}: {field}={value!r} must be a finite number")
            if value < 0:
                raise ConfigError(f"price {self.name!r}: {field}={value!r} is negative")
            if self.check_range and value != 0 and not (low <= value <= high):
                per_token_hint = (
                    f" {value!r} per million tokens is ${value * 1e6:.4g} per trillion tokens: "
                    f"if it is a price per token, the per-million price is {value * 1e6:.6g}; "
                    f"if per thousand tokens, {value * 1e3:.6g}."
                    if value < low else " That is far above any listed API price."
                )
                raise ConfigError(
                    f"price {self.name!r}: {field}={value!r} $ per million tokens is outside the plausible "
                    f"range [{low}, {high}].{per_token_hint} Use TokenPrice.from_unit(...) for other units, "
                    "or check_range=False if the number is right."
                )

    @classmethod
    def from_unit(
        cls,
        input_price: float,
        output_price: float,
        *,
        unit: Literal["usd_per_token", "usd_per_thousand_tokens", "usd_per_million_tokens"],
        **fields: Any,
    ) -> TokenPrice:
        """Convert a price quoted per token or per thousand tokens to per million."""
        factors = {"usd_per_token": 1e6, "usd_per_thousand_tokens": 1e3, "usd_per_million_tokens": 1.0}
        if unit not in factors:
            raise ConfigError(f"unit={unit!r} must be one of {', '.join(factors)}")
        for label, value in (("input_price", input_price), ("output_price", output_price)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{label}={value!r} must be a number")
        factor = factors[unit]
        return cls(input_price * factor, output_price * factor, **fields)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TokenPrice:
        """Build from ``{"input": 3, "output": 15, "unit": "usd_per_million_tokens", ...}``; unit is required."""
        if "unit" not in data:
            raise ConfigError(
                "a price mapping must state its unit, e.g. "
                "{'input': 3.0, 'output': 15.0, 'unit': 'usd_per_million_tokens'}"
            )
        missing = [key for key in ("input", "output") if key not in data]
        if missing:
            raise ConfigError(f"price mapping is missing {', '.join(missing)}")
        extra = {k: data[k] for k in ("name", "provider", "as_of", "source", "check_range") if k in data}
        return cls.from_unit(data["input"], data["output"], unit=data["unit"], **extra)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("check_range")
        return out


class Catalog:
    """The shipped models, GPUs and prices, read from package JSON on first use and kept.

    ``Catalog(data_dir=...)`` reads another folder with the same three files.
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        self._data_dir = os.fspath(data_dir) if data_dir is not None else None
        self._loaded: dict[str, Any] = {}

    def _read(self, filename: str) -> dict[str, Any]:
        if filename not in self._loaded:
            if self._data_dir is not None:
                with open(os.path.join(self._data_dir, filename), encoding="utf-8") as handle:
                    text = handle.read()
            else:
                from importlib import resources

                text = resources.files("chunkwise").joinpath("data").joinpath("economics").joinpath(filename).read_text("utf-8")
            self._loaded[filename] = json.loads(text)
        return self._loaded[filename]

    def _index(self, filename: str, list_key: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        cache_key = f"{filename}#index"
        if cache_key not in self._loaded:
            entries: dict[str, dict[str, Any]] = {}
            names: dict[str, str] = {}
            for entry in self._read(filename)[list_key]:
                for alias in [entry["name"], *entry.get("aliases", [])]:
                    for key in {_name_key(alias), _name_key(alias.split("/")[-1])}:
                        entries[key] = entry
                        names[key] = entry["name"]
            self._loaded[cache_key] = (entries, names)
        return self._loaded[cache_key]

    # models -----------------------------------------------------------------
    def model_names(self) -> list[str]:
        return [entry["name"] for entry in self._read("models.json")["models"]]

    def model(self, name: str) -> ModelSpec:
        entries, names = self._index("models.json", "models")
        entry = entries.get(_name_key(name)) or entries.get(_name_key(name.split("/")[-1]))
        if entry is None:
            raise _closest(name, names, "model")
        fields = {f.name for f in dataclasses.fields(ModelSpec)}
        return ModelSpec(**{k: v for k, v in entry.items() if k in fields})

    # GPUs -------------------------------------------------------------------
    def gpu_names(self) -> list[str]:
        return [entry["name"] for entry in self._read("gpus.json")["gpus"]]

    def gpu(self, name: str) -> GPUSpec:
        entries, names = self._index("gpus.json", "gpus")
        entry = entries.get(_name_key(name))
        if entry is None:
            raise _closest(name, names, "GPU")
        memory_bytes = entry.get("memory_bytes") or round(entry["memory_gib_reported"] * 2**30)
        return GPUSpec(
            name=entry["name"],
            memory_bytes=int(memory_bytes),
            memory_bytes_exact=bool(entry["memory_bytes_exact"]),
            memory_basis=entry["memory_basis"],
            memory_nominal_gb=entry["memory_nominal_gb"],
            memory_bandwidth_gb_s=entry["memory_bandwidth_gb_s"],
            bf16_dense_tflops=entry.get("bf16_dense_tflops"),
            fp16_dense_tflops=entry.get("fp16_dense_tflops"),
            power_watts=entry.get("power_watts"),
            cloud=tuple(CloudOffer(**offer) for offer in entry.get("cloud", [])),
            spec_source=entry.get("spec_source"),
            notes=entry.get("notes"),
        )

    @property
    def gpu_prices_as_of(self) -> str:
        return self._read("gpus.json")["prices_as_of"]

    # API prices -------------------------------------------------------------
    def price_names(self) -> list[str]:
        return [entry["name"] for entry in self._read("prices.json")["prices"]]

    def price(self, name: str) -> TokenPrice:
        data = self._read("prices.json")
        if data["unit"] != PRICE_UNIT:  # guards a hand-edited data file
            raise ConfigError(f"prices.json unit is {data['unit']!r}, expected {PRICE_UNIT!r}")
        entries, names = self._index("prices.json", "prices")
        entry = entries.get(_name_key(name))
        if entry is None:
            raise _closest(name, names, "price")
        return TokenPrice(
            input_usd_per_million=entry["input"],
            output_usd_per_million=entry["output"],
            name=entry["name"],
            provider=entry.get("provider"),
            as_of=entry.get("as_of", data["prices_as_of"]),
            source=entry.get("source"),
        )

    @property
    def prices_as_of(self) -> str:
        return self._read("prices.json")["prices_as_of"]

    # resolution of user input ----------------------------------------------
    def resolve_model(self, model: str | os.PathLike[str] | Mapping[str, Any] | ModelSpec) -> ModelSpec:
        """A ModelSpec from a catalog name, a config.json path or folder, an HF config dict, or a spec."""
        if isinstance(model, ModelSpec):
            return model
        if isinstance(model, Mapping):
            return ModelSpec.from_hf_config(model)
        if isinstance(model, os.PathLike) or (isinstance(model, str) and (os.path.exists(model) or model.endswith(".json"))):
            return ModelSpec.from_hf_config(model)
        if isinstance(model, str):
            return self.model(model)
        raise ConfigError(
            f"model must be a catalog name, a config.json path, a dict or a ModelSpec; got {type(model).__name__}"
        )

    def resolve_gpu(self, gpu: str | GPUSpec) -> GPUSpec:
        if isinstance(gpu, GPUSpec):
            return gpu
        if isinstance(gpu, str):
            return self.gpu(gpu)
        raise ConfigError(f"gpu must be a catalog name or a GPUSpec; got {type(gpu).__name__}")

    def resolve_price(self, price: str | TokenPrice | Mapping[str, Any]) -> TokenPrice:
        if isinstance(price, TokenPrice):
            return price
        if isinstance(price, Mapping):
            return TokenPrice.from_mapping(price)
        if isinstance(price, str):
            return self.price(price)
        raise ConfigError(f"price must be a catalog name, a TokenPrice or a mapping; got {type(price).__name__}")
