"""Measured mode: build a catalog architecture with random weights on a GPU and read its real memory.

The estimates in :mod:`chunkwise.reporting.economics.memory` are arithmetic; ``measure()`` checks them.
It builds the model from the catalog's architecture numbers through Hugging Face
transformers (random weights: memory does not depend on their values, and nothing is
downloaded), runs one prefill of ``batch x seq_len`` random tokens on a CUDA device, and puts
``torch.cuda``'s own counts next to the estimates for the weights, the KV cache and the peak
above the weights. Needs torch with CUDA and transformers; without a GPU it raises
:class:`~chunkwise.errors.DeviceUnavailableError` and the CLI says so and exits 4.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError, DeviceUnavailableError, MissingDependencyError
from .catalog import Catalog, ModelSpec
from .memory import AttentionImpl, kv_cache_bytes_per_token, prefill_memory, weights_memory

MIB = 2**20

# Catalog name prefix -> (transformers config class, auto class). Architectures not listed
# here (DeepSeek-V3: 671B parameters do not fit one GPU) are refused by name.
_ARCHITECTURES: dict[str, tuple[str, str]] = {
    "llama": ("LlamaConfig", "AutoModelForCausalLM"),
    "mistral": ("MistralConfig", "AutoModelForCausalLM"),
    "mixtral": ("MixtralConfig", "AutoModelForCausalLM"),
    "qwen2": ("Qwen2Config", "AutoModelForCausalLM"),
    "phi-3": ("Phi3Config", "AutoModelForCausalLM"),
    "all-minilm": ("BertConfig", "AutoModel"),
    "bge": ("BertConfig", "AutoModel"),
}


def _architecture(spec: ModelSpec) -> tuple[str, str]:
    for prefix, classes in _ARCHITECTURES.items():
        if spec.name.startswith(prefix):
            return classes
    raise ConfigError(
        f"measure() cannot build {spec.name!r}; it builds {', '.join(sorted(_ARCHITECTURES))} architectures"
    )


def architecture_config(model: Any, *, catalog: Catalog | None = None) -> Any:
    """A transformers config with the catalog's architecture numbers for ``model``."""
    spec = (catalog or Catalog()).resolve_model(model)
    config_name, _ = _architecture(spec)
    transformers = _import("transformers")
    common: dict[str, Any] = {
        "vocab_size": spec.vocab,
        "hidden_size": spec.hidden,
        "num_hidden_layers": spec.layers,
        "num_attention_heads": spec.heads,
        "intermediate_size": spec.intermediate or 4 * spec.hidden,
        # BERT-family checkpoints carry 512 positions even where the catalog's context is
        # the 256 word pieces sentence-transformers truncates to (all-MiniLM-L6-v2).
        "max_position_embeddings": max(spec.max_context or 4096, 512 if spec.kind == "encoder" else 0),
        "tie_word_embeddings": spec.tie_word_embeddings,
    }
    if spec.kind == "decoder":
        common.update(num_key_value_heads=spec.kv_heads, head_dim=spec.head_dim)
    if spec.sliding_window:
        common["sliding_window"] = spec.sliding_window
    if spec.num_experts:
        common.update(num_local_experts=spec.num_experts, num_experts_per_tok=spec.experts_per_token)
    return getattr(transformers, config_name)(**common)


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise MissingDependencyError(
            f"measure() needs {name} (pip install torch transformers, a CUDA build of torch for a GPU)"
        ) from err


@dataclass(frozen=True)
class Measured:
    """One figure measured next to its estimate (bytes)."""

    what: str
    measured: int
    estimated: int

    @property
    def ratio(self) -> float:
        """estimated / measured: 1.0 is exact, below 1 an underestimate."""
        return self.estimated / self.measured if self.measured else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class MemoryMeasurement:
    """``measure()``'s result: measured against estimated, and how it was measured."""

    model: str
    seq_len: int
    batch_size: int
    attention: str
    device: str
    figures: tuple[Measured, ...]
    versions: dict[str, str]
    method: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["figures"] = [f.to_dict() for f in self.figures]
        out["method"] = list(self.method)
        return out

    def to_text(self) -> str:
        lines = [f"{self.model}, {self.batch_size} x {self.seq_len} tokens, {self.attention} attention, on {self.device}",
                 f"  {'':<26}{'measured':>12}{'estimated':>12}{'est/meas':>10}"]
        for f in self.figures:
            lines.append(f"  {f.what:<26}{f.measured / MIB:>10,.0f} MiB{f.estimated / MIB:>8,.0f} MiB{f.ratio:>10.3f}")
        return "\n".join(lines)


def measure(model: Any, *, seq_len: int = 2048, batch_size: int = 1, attention: AttentionImpl = "sdpa",
            catalog: Catalog | None = None) -> MemoryMeasurement:
    """Build ``model`` with random weights (its catalog dtype) on the GPU, run one prefill, compare with the estimates.

    Figures: ``weights`` (allocated by building the model), ``kv_cache`` (held after the
    prefill, less the logits) and ``prefill_peak`` (``torch.cuda.max_memory_allocated``
    during the prefill, above the weights: the KV cache plus the transient peak, compared
    with :func:`~chunkwise.reporting.economics.memory.prefill_memory`).
    """
    spec = (catalog or Catalog()).resolve_model(model)
    if attention not in ("eager", "sdpa"):
        raise ConfigError(f"attention={attention!r} must be 'eager' or 'sdpa' (what transformers runs without extras)")
    torch = _import("torch")
    transformers = _import("transformers")
    if not torch.cuda.is_available():
        raise DeviceUnavailableError(
            "measure() needs a CUDA GPU and torch built with CUDA; none is visible here "
            f"(torch {torch.__version__}). The estimates need no GPU."
        )
    config = architecture_config(spec, catalog=catalog)
    config._attn_implementation = attention
    auto = getattr(transformers, _architecture(spec)[1])
    device = torch.device("cuda")
    torch.cuda.empty_cache()
    start = torch.cuda.memory_allocated(device)
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[spec.dtype]
    with device:
        built = auto.from_config(config, dtype=dtype, attn_implementation=attention).eval()
    weights = torch.cuda.memory_allocated(device) - start
    generator = torch.Generator(device=device).manual_seed(0)
    ids = torch.randint(0, spec.vocab, (batch_size, seq_len), device=device, generator=generator)

    def forward(tokens: Any) -> tuple[Any, int]:
        if spec.kind == "decoder":
            result = built(input_ids=tokens, use_cache=True, logits_to_keep=1)
            return result, result.logits.numel() * result.logits.element_size()
        result = built(input_ids=tokens, attention_mask=torch.ones_like(tokens))
        return result, result.last_hidden_state.numel() * result.last_hidden_state.element_size()

    with torch.inference_mode():
        # A short warm-up first: cuBLAS allocates its workspace (32 MiB on an H100) on the
        # first matrix product and keeps it, which would otherwise count as KV cache.
        forward(ids[:, :8])
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        out, kept_logits = forward(ids)
        torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    held = torch.cuda.memory_allocated(device) - before - kept_logits
    name = torch.cuda.get_device_name(device)
    del out, built
    torch.cuda.empty_cache()
    estimate_peak = prefill_memory(spec, seq_len=seq_len, batch_size=batch_size, implementation=attention,
                                   catalog=catalog).bytes
    figures = [Measured("weights", weights, weights_memory(spec, catalog=catalog).bytes)]
    if spec.kind == "decoder":
        figures.append(Measured("kv_cache", held, batch_size * seq_len * kv_cache_bytes_per_token(spec, catalog=catalog)))
    figures.append(Measured("prefill_peak", peak, estimate_peak))
    return MemoryMeasurement(
        spec.name, seq_len, batch_size, attention, name, tuple(figures),
        {"torch": torch.__version__, "transformers": transformers.__version__},
        (
            f"architecture from the catalog through transformers, random {spec.dtype} weights built on the GPU",
            f"{batch_size} x {seq_len} random token ids; decoders: use_cache=True, logits for the last position only",
            "torch.cuda.memory_allocated / max_memory_allocated (the caching allocator's own counts)",
        ),
    )


__all__ = ["measure", "architecture_config", "Measured", "MemoryMeasurement"]
