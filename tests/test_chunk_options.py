"""One source of chunk options (issue 15): the adapters and the CLI take ChunkConfig's fields, not a retyped copy."""

from __future__ import annotations

import dataclasses

import pytest

from chunkwise import ChunkConfig
from chunkwise.chunking import STRATEGIES
from chunkwise.cli import build_parser
from chunkwise.errors import ConfigError, InputTypeError
from chunkwise.integrations._shared import CHUNK_OPTIONS, Splitter, chunk_config, chunk_options


def test_the_options_are_chunkconfigs_fields_with_their_defaults():
    fields = {item.name: item for item in dataclasses.fields(ChunkConfig)}
    assert CHUNK_OPTIONS == ("max_tokens", "min_tokens", "overlap", "strategy", "special_tokens", "profile", "language",
                             "embed_max_tokens")
    for option in chunk_options():
        assert option.default == fields[option.name].default == getattr(ChunkConfig(), option.name)
        assert option.help == fields[option.name].metadata["help"]
    by_name = {option.name: option for option in chunk_options()}
    assert by_name["strategy"].choices == STRATEGIES
    assert by_name["max_tokens"].choices is None and by_name["special_tokens"].annotation is bool


def test_keywords_override_the_config_and_unknown_names_raise():
    base = ChunkConfig(max_tokens=512, cut_penalty=0.9)
    merged = chunk_config(base, {"max_tokens": 64})
    assert (merged.max_tokens, merged.cut_penalty) == (64, 0.9)
    assert chunk_config(None, {}) == ChunkConfig()
    assert chunk_config(base, {"cut_penalty": 0.2}).cut_penalty == 0.2  # any field, not only the named six
    with pytest.raises(ConfigError, match="'max_token'.*max_tokens"):
        chunk_config(None, {"max_token": 64})
    with pytest.raises(InputTypeError):
        chunk_config({"max_tokens": 64}, {})
    with pytest.raises(ConfigError, match="strategy"):
        Splitter(strategy="bogus")


def test_the_cli_has_a_flag_per_option_with_chunkconfigs_default():
    args = build_parser().parse_args(["demo"])
    for option in chunk_options():
        assert getattr(args, option.name) == option.default
    args = build_parser().parse_args(["prepare", "x", "-o", "y", "--strategy", "semantic", "--profile", "fast",
                                      "--overlap", "16", "--special-tokens", "--max-tokens", "128"])
    assert (args.strategy, args.profile, args.overlap, args.special_tokens, args.max_tokens) == ("semantic", "fast", 16, True, 128)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--strategy", "bogus"])


def test_every_adapter_takes_every_option_over_a_config():
    pytest.importorskip("langchain_text_splitters")
    pytest.importorskip("llama_index.core")
    pytest.importorskip("haystack")
    from chunkwise.integrations.haystack import ChunkwiseDocumentSplitter
    from chunkwise.integrations.langchain import ChunkwiseTextSplitter
    from chunkwise.integrations.llamaindex import ChunkwiseNodeParser

    options = {"max_tokens": 96, "min_tokens": 8, "overlap": 12, "strategy": "naive", "special_tokens": True, "profile": "fast",
               "language": "python", "embed_max_tokens": 200}
    assert set(options) == set(CHUNK_OPTIONS)
    base = ChunkConfig(max_tokens=512, cut_penalty=0.7)
    configs = {
        "langchain": ChunkwiseTextSplitter(config=base, **options).config,
        "haystack": ChunkwiseDocumentSplitter(config=base, **options)._chunkwise.config,
    }
    parser = ChunkwiseNodeParser(**options)
    configs["llamaindex"] = parser._splitter().config
    for name, config in configs.items():
        assert {key: getattr(config, key) for key in options} == options, name
    assert configs["langchain"].cut_penalty == configs["haystack"].cut_penalty == 0.7  # the config's other fields stay
    for option in chunk_options():
        assert ChunkwiseNodeParser.model_fields[option.name].default == option.default
    with pytest.raises(ConfigError, match="unknown chunk option"):
        ChunkwiseTextSplitter(chunk_size=100)
    with pytest.raises(ConfigError, match="unknown chunk option"):
        ChunkwiseDocumentSplitter(max_token=100)


def test_chunk_and_prepare_spell_the_options_with_chunkconfigs_defaults():
    """``chunk`` and ``prepare`` keep explicit keywords (they are what a reader of help() sees); their
    defaults must be ChunkConfig's, since ``with_keywords`` reads a keyword left at its default as unset."""
    import inspect

    from chunkwise import chunk, prepare

    for function in (chunk, prepare):
        parameters = inspect.signature(function).parameters
        for option in chunk_options():
            assert parameters[option.name].default == option.default, (function.__name__, option.name)
