"""Measured mode: the architecture built from the catalog is the catalog's, and no GPU is a clear error."""

from __future__ import annotations

import pytest

from chunkwise.reporting.economics import Catalog
from chunkwise.reporting.economics.measure import architecture_config, measure
from chunkwise.errors import ConfigError, DeviceUnavailableError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("llama-3-8b", 8_030_261_248), ("qwen2.5-7b", 7_615_616_512), ("mistral-7b-v0.1", 7_241_732_096),
        ("phi-3-mini", 3_821_079_552), ("mixtral-8x7b", 46_702_792_704), ("bge-small-en-v1.5", 33_360_000),
        ("all-minilm-l6-v2", 22_713_216),  # 512 positions, though sentence-transformers reads 256
    ],
)
def test_built_architecture_has_the_published_parameter_count(name, expected):
    """Built on the meta device (no memory): the config measure() uses is the real architecture."""
    spec = Catalog().model(name)
    config = architecture_config(name)
    auto = transformers.AutoModelForCausalLM if spec.kind == "decoder" else transformers.AutoModel
    with torch.device("meta"):
        built = auto.from_config(config)
    assert sum(p.numel() for p in built.parameters()) == expected


def test_models_it_cannot_build_are_named():
    with pytest.raises(ConfigError, match="cannot build 'deepseek-v3'"):
        architecture_config("deepseek-v3")
    with pytest.raises(ConfigError, match="attention="):
        measure("llama-3-8b", attention="flash_attention_3")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: measure() would run")
def test_without_a_gpu_measure_says_so():
    with pytest.raises(DeviceUnavailableError, match="needs a CUDA GPU"):
        measure("llama-3-8b", seq_len=16)
