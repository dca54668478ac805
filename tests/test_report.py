"""The report of prepare(): its economics equal the economics functions under the stated assumptions."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from chunkwise import prepare
from chunkwise.reporting.economics import (
    Catalog,
    TokenPrice,
    Volume,
    api_cost,
    capacity,
    compare_padding,
    kv_cache_bytes_per_token,
    paged_kv_cache,
)
from chunkwise.errors import CatalogError, ConfigError
from chunkwise.reporting.report import SCHEMA_VERSION, ReportConfig, split_stats

TEXT = "# Storage\n\n" + "Replicas copy each block to three racks. Reads go to the nearest copy.\n\n" * 40
DOCS = [{"id": f"d{i}", "text": TEXT * (i + 1)} for i in range(3)]


@pytest.fixture(scope="module")
def result():
    return prepare(DOCS, max_tokens=128, normalize=False, dedup=False)


def test_kv_cache_per_token_of_llama3_8b_bf16_is_131072(result):
    econ = result.report.economics
    assert econ.model == "llama-3-8b" and econ.kv_per_token.kv_dtype == "bfloat16"
    # 2 (K and V) x 32 layers x 8 KV heads x 128 head_dim x 2 bytes, by hand:
    assert econ.kv_per_token.bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131072
    data = result.report.to_dict()
    assert data["economics"]["kv_cache_per_token"]["bytes_per_token"] == 131072
    assert "131072" in data["economics"]["kv_cache_per_token"]["formula"]


def test_retrieval_and_request_tokens_by_hand(result):
    report, econ = result.report, result.report.economics
    config = econ.config
    for stats, side in ((report.naive, econ.naive), (report.prepared, econ.prepared)):
        mean = stats.tokens / stats.chunks
        assert side.retrieved_context_tokens == pytest.approx(5 * mean)
        assert side.prompt_tokens == math.ceil(5 * mean) + 100
        assert side.request_tokens == side.prompt_tokens + 200
        assert side.compressed_context_tokens is None  # measured only when prepare() gets sample queries
    assert config.top_k == 5 and config.queries_per_day == 10_000


def test_economics_equal_the_economics_functions(result):
    econ = result.report.economics
    catalog = Catalog()
    for side in (econ.naive, econ.prepared):
        assert side.kv_cache == paged_kv_cache("llama-3-8b", [side.request_tokens])
        assert side.kv_cache.bytes == math.ceil(side.request_tokens / 16) * 16 * 131072
        cap = capacity("llama-3-8b", "a100-80gb", gpu_memory_utilization=0.9, context_length=side.request_tokens)
        assert side.capacity == cap
        by_memory = cap.num_blocks // math.ceil(side.request_tokens / 16)
        # The engine admits at most max_num_seqs sequences, where the capacity model states one.
        assert side.max_concurrent_requests == min(by_memory, getattr(cap, "max_num_seqs", None) or by_memory)
        volume = Volume(queries_per_day=10_000, input_tokens_per_query=side.prompt_tokens, output_tokens_per_query=200)
        assert side.api_cost == api_cost("gpt-4o-mini", volume)
        price = catalog.price("gpt-4o-mini")
        by_hand = (side.prompt_tokens * price.input_usd_per_million + 200 * price.output_usd_per_million) / 1e6
        assert side.api_cost.usd_per_query == pytest.approx(by_hand)
        assert side.api_cost.usd_per_year == pytest.approx(by_hand * 10_000 * 365)
    lengths = [c.token_count for c in result.chunks]
    assert econ.prepared.padding == compare_padding(lengths, batch_size=32, max_length=128)
    assert econ.usd_saved_per_year == pytest.approx(econ.naive.api_cost.usd_per_year - econ.prepared.api_cost.usd_per_year)
    naive_kv, prepared_kv = econ.kv_bytes_at_concurrency
    assert econ.concurrency == econ.naive.max_concurrent_requests
    assert naive_kv == econ.concurrency * econ.naive.kv_cache.bytes
    assert prepared_kv == econ.concurrency * econ.prepared.kv_cache.bytes
    data = result.report.to_dict()["economics"]
    assert data["prices_as_of"] == catalog.prices_as_of
    assert data["kv_cache_bytes_at_concurrency"]["saved"] == naive_kv - prepared_kv
    curve = {row["context_tokens"]: row["max_concurrent_requests"] for row in data["concurrency_curve"]}
    assert curve[econ.naive.request_tokens] == econ.naive.max_concurrent_requests


def test_hand_computed_small_case():
    """One document, fixed assumptions; every figure redone with integers."""
    report = prepare("word" + " word" * 299, max_tokens=100, naive_overlap=0, normalize=False, dedup=False, top_k=2,
                     queries_per_day=1000, price=TokenPrice(1.0, 2.0, name="unit"), gpu="a100-40gb",
                     report_config=ReportConfig(prompt_tokens=0, output_tokens=10)).report
    econ = report.economics
    assert report.naive.chunks == 3 and report.naive.tokens == 300 and report.naive_overlap_tokens == 0
    assert econ.naive.retrieved_context_tokens == 200  # 2 x 100
    assert econ.naive.request_tokens == 210
    assert econ.naive.kv_cache.bytes == 14 * 16 * 131072  # ceil(210 / 16) = 14 blocks
    assert econ.naive.api_cost.usd_per_query == pytest.approx((200 * 1.0 + 10 * 2.0) / 1e6)
    assert econ.naive.api_cost.usd_per_year == pytest.approx((200 + 20) / 1e6 * 1000 * 365)
    assert econ.naive.capacity.gpu == "a100-40gb"


def test_naive_overlap_tokens_are_windows_minus_one_times_overlap():
    report = prepare("word" + " word" * 999, max_tokens=100, normalize=False, dedup=False).report
    # 20-token overlap, 80-token step: windows = 1 + ceil((1000 - 100) / 80) = 13
    assert report.naive.chunks == 13
    assert report.naive_overlap_tokens == 12 * 20
    assert report.stages["raw"] == report.stages["normalized"] == report.stages["deduplicated"] == 1000
    # Without overlap the same 100-token windows hold the 1,000 tokens once: 10 windows, 1,000 tokens.
    assert report.naive_no_overlap_tokens == 1000
    assert report.naive.tokens == 12 * 100 + 40 == 1240  # 12 full windows, the 13th starts at 960
    parts = {part["part"]: part["tokens"] for part in report.savings()}
    assert parts["overlap"] == 240 and parts["repair"] == 0 and parts["dedup"] == 0
    assert parts["chunking"] == 1000 - report.prepared.tokens
    assert report.waterfall == [("naive", 1240), ("without_overlap", 1000), ("after_repair", 1000),
                                ("after_dedup", 1000), ("chunked", report.prepared.tokens)]


def test_schema_is_versioned_and_keeps_v1_keys(result):
    data = json.loads(result.report.to_json())
    assert data["schema_version"] == SCHEMA_VERSION == "2"
    v1 = {"tokenizer", "max_tokens", "naive_overlap", "documents", "raw_chars", "raw_tokens", "naive", "prepared",
          "stages", "fixes", "removed_tokens", "tokens_saved", "tokens_saved_fraction", "notes"}
    assert v1 <= set(data)
    assert {"waterfall", "headline", "economics", "naive_overlap_tokens"} <= set(data)
    econ = data["economics"]
    for side in ("naive", "chunkwise"):
        assert econ[side]["formulas"] and econ[side]["capacity"]["formulas"] and econ[side]["api_cost"]["formulas"]
        assert econ[side]["compressed_context_tokens"] is None
    metrics = econ["metrics"]["chunkwise"]
    for key in ("tokens_per_request", "memory_utilization_at_concurrency", "api_usd_per_million_input",
                "sequence_efficiency"):
        assert key in metrics
    assert econ["compression"]["status"] == "not measured"


def test_text_report_shows_the_economics(result):
    text = result.report.to_text()
    for needle in ("KV cache per request", "concurrent requests per a100-80gb", "10,000 queries a day x 365",
                   "131,072 bytes/token", "as of 2025-01-15", "tokens saved against naive"):
        assert needle in text


def test_economics_can_be_switched_off():
    report = prepare(TEXT, max_tokens=64, report_config=False).report
    assert report.economics is None and report.to_dict()["economics"] is None
    assert "KV cache" not in report.to_text()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"gpu": "a100-80"}, CatalogError, "a100-80gb"),
        ({"model": "llama-3-8"}, CatalogError, "llama-3-8b"),
        ({"report_config": ReportConfig(model="lama-3-70b")}, CatalogError, "llama-3-70b"),
        ({"queries_per_day": 0}, ConfigError, "queries_per_day"),
        ({"queries_per_day": -5}, ConfigError, "queries_per_day"),
        ({"top_k": 0}, ConfigError, "top_k"),
        ({"price": {"input": 0.0000025, "output": 0.00001, "unit": "usd_per_million_tokens"}}, ConfigError, "per token"),
        ({"price": {"input": 2.5, "output": 10}}, ConfigError, "unit"),
        ({"price": "gpt-5-ultra"}, CatalogError, "Known prices"),
        ({"report_config": ReportConfig(model="all-minilm-l6-v2")}, ConfigError, "encoder"),
    ],
)
def test_bad_assumptions_fail_before_any_work(options, error, match, monkeypatch):
    import chunkwise.pipeline as pipeline

    def never(*args, **kwargs):
        raise AssertionError("chunking ran before the assumptions were checked")

    monkeypatch.setattr(pipeline, "chunk_documents", never)
    with pytest.raises(error, match=match):
        prepare(TEXT, max_tokens=64, **options)


def test_bad_report_config_values():
    with pytest.raises(ConfigError, match="gpu_memory_utilization"):
        ReportConfig(gpu_memory_utilization=1.5)
    with pytest.raises(ConfigError, match="embed_batch_size"):
        ReportConfig(embed_batch_size=0)
    with pytest.raises(ConfigError, match="unknown report option"):
        ReportConfig.build(gpus="a100")


def test_tokenizer_only_model_names_use_the_default_serving_model():
    report = prepare(TEXT, max_tokens=64, model="gpt-4").report
    assert report.tokenizer == "gpt-4"  # cl100k_base under its model name
    assert report.economics.model == "llama-3-8b"
    assert any("gpt-4" in note for note in report.economics.notes)


def test_catalog_model_serves_and_prices_are_dated():
    report = prepare(TEXT, max_tokens=64, model="qwen2.5-7b", tokenizer="cl100k_base", price="claude-3.5-haiku",
                     gpu="h100-80gb").report
    econ = report.economics
    assert econ.model == "qwen2.5-7b" and econ.gpu == "h100-80gb" and econ.price.name == "claude-3.5-haiku"
    assert econ.kv_per_token.bytes_per_token == kv_cache_bytes_per_token("qwen2.5-7b")
    assert econ.prices_as_of == "2025-01-15"


def test_split_stats_unchanged():
    stats = split_stats([10, 20, 30], 32)
    assert (stats.chunks, stats.tokens, stats.max_chunk_tokens, stats.padded_tokens) == (3, 60, 30, 96)
    assert stats.sequence_efficiency == pytest.approx(60 / 96)


def test_sample_corpus_saves_tokens_and_memory():
    from pathlib import Path

    from chunkwise.stores.sources import iter_documents

    sample = Path(__file__).resolve().parents[1] / "chunkwise" / "data" / "sample"
    report = prepare(list(iter_documents(sample))).report
    econ = report.economics
    assert report.tokens_saved > 0 and report.removed_tokens
    assert econ.prepared.retrieved_context_tokens < econ.naive.retrieved_context_tokens
    assert econ.prepared.max_concurrent_requests > econ.naive.max_concurrent_requests
    assert econ.usd_saved_per_year > 0
    headline = report.headline()
    assert headline["kv_cache_bytes_saved_at_concurrency"] > 0 and headline["prices_as_of"] == "2025-01-15"


class _HashEmbedder:
    """A deterministic bag-of-words embedder: enough for retrieval in a test, no model to load."""

    model_id = "test-hash-embedder"
    max_seq_length = 10_000
    dimension = 64

    def embed(self, texts):
        import numpy as np

        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, sum(map(ord, word.strip(".,?!"))) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    def token_counts(self, texts):
        return [len(t.split()) for t in texts]


def test_compression_is_measured_with_sample_queries():
    pytest.importorskip("faiss")
    from chunkwise import prepare

    topics = ["storage replicas rebuild", "billing invoices refunds", "connector keys rotation", "edge appliance firmware"]
    docs = [
        {"id": f"d{i}", "text": "\n\n".join(f"Section {j} about {topic}: sentence {j} explains {topic} in detail number {i}{j}."
                                          for j in range(30))}
        for i, topic in enumerate(topics)
    ]
    queries = ["How are invoices refunded?", "How do I rotate connector keys?"]
    result = prepare(docs, max_tokens=128, queries=queries, compress_budget_tokens=64, embedder=_HashEmbedder(), top_k=5)
    econ = result.report.to_dict()["economics"]
    measured = econ["compression"]
    assert measured["status"] == "measured" and measured["queries"] == 2 and measured["budget_tokens"] == 64
    assert measured["mean_compressed_tokens"] <= 64 < measured["mean_retrieved_tokens"]
    assert econ["chunkwise"]["compressed_context_tokens"] == measured["mean_compressed_tokens"]
    request = measured["chunkwise_request"]
    assert request["request_tokens"] == math.ceil(measured["mean_compressed_tokens"]) + 100 + 200
    assert "context after compress() to 64 tokens" in result.report.to_text()


def test_queries_must_be_strings():
    from chunkwise import prepare
    from chunkwise.errors import InputTypeError

    with pytest.raises(InputTypeError, match="queries"):
        prepare("text", queries="just one string")


def _hand_report(**changes):
    """A report with round numbers, built directly: the decomposition is checked against arithmetic done by hand."""
    from chunkwise.reporting.report import Report

    fields = dict(tokenizer="t", max_tokens=100, naive_overlap=20, documents=2, raw_chars=4000, raw_tokens=820,
                  naive=split_stats([100] * 10, 100), prepared=split_stats([230, 230, 230], 100),
                  normalized_tokens=790, deduplicated_tokens=700, naive_no_overlap_tokens=800)
    return Report(**(fields | changes))


def test_savings_decompose_the_total_by_hand():
    report = _hand_report()
    # naive 1,000 -> chunked 690: 310 saved. Overlap 1,000 - 800 = 200; repair 820 - 790 = 30;
    # dedup 790 - 700 = 90; chunking is the rest, 310 - 200 - 30 - 90 = -10 (chunkwise spent 10 more).
    parts = [(part["part"], part["tokens"]) for part in report.savings()]
    assert parts == [("overlap", 200), ("repair", 30), ("dedup", 90), ("chunking", -10)]
    assert report.tokens_saved == 310
    assert [round(part["fraction_of_naive"], 4) for part in report.savings()] == [0.2, 0.03, 0.09, -0.01]
    assert report.waterfall == [("naive", 1000), ("without_overlap", 800), ("after_repair", 770),
                                ("after_dedup", 680), ("chunked", 690)]
    data = report.to_dict()
    assert [part["tokens"] for part in data["savings"]] == [200, 30, 90, -10]
    text = report.to_text()
    assert "tokens saved against naive: 310 (31.0% of 1,000), in parts:" in text
    assert "  overlap          200   20.0%" in text and "  chunking         -10   -1.0%" in text
    assert "against the same windows without overlap (800 tokens), chunkwise saves 110 (13.8%)" in text


def test_baseline_states_where_each_setting_comes_from():
    default = _hand_report().baseline()
    assert default["window_tokens"] == 100 and default["overlap_tokens"] == 20 and default["overlap_fraction"] == 0.2
    for needle in ("200 of 4000 characters", "200 of 1024 tokens", "chunkwise's default choice"):
        assert needle in default["overlap_source"]
    assert "same cap" in default["window_source"]
    chosen = _hand_report(naive_overlap_set=True).baseline()
    assert chosen["overlap_source"] == "set by the caller (naive_overlap=20)"
    assert prepare(TEXT, max_tokens=64, naive_overlap=7, report_config=False).report.naive_overlap_set
    assert not prepare(TEXT, max_tokens=64, report_config=False).report.naive_overlap_set


def test_overlap_part_is_the_naive_windows_against_the_same_windows_without_overlap():
    from chunkwise import get_tokenizer, naive_split

    docs = [{"id": "a", "text": "Caf\u00c3\u00a9 menus list prices.\u200b " * 60 + "\n\n" + PARAGRAPH * 3},
            {"id": "b", "text": PARAGRAPH * 3 + "Tail text only b has, to keep it apart.\n"}]
    report = prepare(docs, max_tokens=64).report
    tok = get_tokenizer(None)
    with_overlap = sum(c.token_count for d in docs for c in naive_split(d["text"], max_tokens=64))
    without = sum(c.token_count for d in docs for c in naive_split(d["text"], max_tokens=64, overlap=0))
    raw = sum(tok.count_batch([d["text"] for d in docs]))
    parts = {part["part"]: part["tokens"] for part in report.savings()}
    assert report.naive.tokens == with_overlap and report.naive_no_overlap_tokens == without
    assert parts["overlap"] == with_overlap - without > 0
    assert parts["repair"] == raw - report.normalized_tokens > 0  # mojibake and an invisible repaired
    assert parts["dedup"] == sum(report.removed_tokens.values()) > 0  # b's paragraphs repeat a's
    assert sum(parts.values()) == report.tokens_saved


PARAGRAPH = "Replicas copy each block to three racks, and reads go to the nearest healthy copy.\n\n"


def test_context_is_compared_at_equal_top_k_and_at_an_equal_budget():
    report = prepare("word" + " word" * 299, max_tokens=100, naive_overlap=0, normalize=False, dedup=False, top_k=2,
                     report_config=ReportConfig(prompt_tokens=0, output_tokens=10)).report
    context = report.economics.context_comparison()
    mean = report.prepared.tokens / report.prepared.chunks
    assert context["basis"] == "equal_top_k" and context["recall"] == "not measured"
    assert context["naive_tokens"] == 200  # 2 windows of 100
    assert context["equal_budget"]["budget_tokens"] == 200
    assert context["equal_budget"]["chunkwise_chunks"] == pytest.approx(200 / mean)
    assert report.to_dict()["economics"]["context_comparison"]["equal_budget"]["naive_chunks"] == 2
    assert report.headline()["context_basis"] == "equal_top_k"
    assert "not a saving by itself" in report.to_text()


def test_padding_rows_count_slots_under_each_batching():
    from chunkwise.reporting.report import padding_explanation, padding_rows

    # 4 naive windows of 100 tokens; chunkwise chunks of 10, 100, 10, 100, 10 tokens; batch 2, max_length 100.
    lengths = [10, 100, 10, 100, 10]
    report = prepare("x", max_tokens=100, report_config=ReportConfig(embed_batch_size=2)).report
    econ = report.economics
    from chunkwise.reporting.scenarios import resolve, scenario

    resolved = resolve(ReportConfig(embed_batch_size=2))
    econ = dataclasses.replace(econ, naive=scenario("naive", [100] * 4, resolved, max_tokens=100),
                               prepared=scenario("chunkwise", lengths, resolved, max_tokens=100))
    rows = {row.label.split(", ", 1)[1]: row for row in padding_rows(econ) if row.label.startswith("embedding slots")}
    static = rows["every chunk padded to max_length (fixed-shape runtimes)"]
    assert (static.naive, static.chunkwise) == (400, 500)  # 4 x 100 and 5 x 100
    ordered = rows["batches in document order, each padded to its longest"]
    assert (ordered.naive, ordered.chunkwise) == (400, 2 * 100 + 2 * 100 + 10)  # [10,100] [10,100] [10]
    sorted_rows = rows["length-sorted batches (sentence-transformers' encode)"]
    assert (sorted_rows.naive, sorted_rows.chunkwise) == (400, 10 + 2 * 10 + 2 * 100)  # [10] [10,10] [100,100]
    assert all(row.better == "lower" and "embedding compute" in row.basis for row in rows.values())
    sentence = padding_explanation(econ)
    assert "0.57x the naive slots with length-sorted batches" in sentence and "1.25x when every chunk" in sentence


def test_embedding_rows_are_cut_at_the_embedders_context():
    """all-MiniLM-L6-v2 reads 256 tokens: 512-token chunks are padded and cut at 256, not 512 (issue 14, item 5)."""
    from chunkwise.reporting.report import padding_rows

    report = prepare("word" + " word" * 999, max_tokens=512, naive_overlap=0, normalize=False, dedup=False).report
    econ = report.economics
    # Naive: windows of 512 and 488 tokens, each cut to 256 -> 512 real slots, 256 + 232 tokens never embedded.
    assert econ.naive.padding.static.max_length == 256
    assert econ.naive.padding.static.padded_tokens == 2 * 256 and econ.naive.padding.static.truncated_tokens == 488
    cut = [row for row in padding_rows(econ) if row.label.startswith("tokens past max_length 256")][0]
    assert cut.naive == 488 and cut.better == "lower" and "does not see this text" in cut.basis
    wider = prepare("word" + " word" * 999, max_tokens=512, naive_overlap=0, normalize=False, dedup=False,
                    report_config=ReportConfig(embed_max_length=512)).report.economics
    assert wider.naive.padding.static.max_length == 512 and wider.naive.padding.static.truncated_tokens == 0


def test_money_keeps_three_significant_digits_below_a_dollar():
    from chunkwise.reporting._rows import usd as _usd

    assert [_usd(v) for v in (0.0043, 0.0123, 0.000481, 5.5, 891.2, None)] == [
        "$0.0043", "$0.0123", "$0.000481", "$5.50", "$891", "n/a"]


def test_capacity_basis_states_the_engine_cap_and_the_reserve_range():
    from types import SimpleNamespace

    from chunkwise.reporting._rows import _capacity_limits

    naive = SimpleNamespace(max_num_seqs=256, max_concurrent_by_memory=169, max_concurrent_requests_low=146,
                            reserve_high_bytes=int(9.5 * 2**30))
    prepared = SimpleNamespace(max_num_seqs=256, max_concurrent_by_memory=448, max_concurrent_requests_low=256,
                               reserve_high_bytes=int(9.5 * 2**30))
    assert _capacity_limits(naive, prepared) == (
        "; at most max_num_seqs=256 sequences at once (vLLM); memory alone holds 169 naive, 448 chunkwise; "
        "with the high reserve estimate (9.50 GiB): 146 naive, 256 chunkwise")
    assert _capacity_limits(SimpleNamespace(), SimpleNamespace()) == ""  # a capacity model without these fields


def test_self_hosted_cost_in_the_report_follows_the_load():
    """Issue 14, item 1: the report's self-hosted figure is the GPU kept on at the query volume, with
    Little's law's requests in flight, not a GPU decoding a full batch all day."""
    from chunkwise.reporting.economics import serving_load

    low = prepare(DOCS, max_tokens=128, report_config=ReportConfig(queries_per_day=10_000)).report.economics
    hosted = low.prepared.self_hosted
    assert hosted.load is not None and hosted.load.queries_per_second == pytest.approx(10_000 / 86_400)
    # Fewer than one request in flight: the one GPU is mostly idle, and a query pays for the idle time.
    assert hosted.load.in_flight_per_gpu < 1 and hosted.gpus == 1 and hosted.busy_fraction < 0.5
    assert hosted.usd_per_query == pytest.approx(hosted.usd_per_month / (10_000 * 365 / 12))
    assert hosted.usd_per_query > 10 * hosted.fully_used_usd_per_query
    assert any("requests in flight" in line for line in hosted.assumptions)
    # The same load, recomputed from the stated inputs.
    load = hosted.load
    again = serving_load(10_000, input_tokens=low.prepared.prompt_tokens, output_tokens=low.config.output_tokens,
                         prefill_tokens_per_second=hosted.prefill_tokens_per_second,
                         step=_decode_step_of(low), concurrency_cap=load.concurrency_cap)
    assert again.in_flight_per_gpu == pytest.approx(load.in_flight_per_gpu)
    # Ten times the queries on the same always-on GPU: a query costs less.
    high = prepare(DOCS, max_tokens=128, report_config=ReportConfig(queries_per_day=100_000)).report.economics
    assert high.prepared.self_hosted.usd_per_query < hosted.usd_per_query


def _decode_step_of(econ):
    from chunkwise.reporting.economics import decode_step

    prepared = econ.prepared
    return decode_step(econ.model, econ.gpu, context_tokens=prepared.prompt_tokens + econ.config.output_tokens / 2,
                       mbu=econ.config.decode_mbu, kv_dtype=econ.config.kv_dtype)
