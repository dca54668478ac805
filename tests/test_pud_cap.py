"""The shared PUD treebanks, five scripts: zero chunks over the cap and zero offset mismatches."""

from __future__ import annotations

import pytest

from chunkwise import chunk, get_tokenizer
from conftest import PUD_LANGUAGES, load_pud

from support_tokenizers import minilm_tokenizer_path


def _documents(shared_data, language):
    joiner = "" if language == "zh" else " "
    return [(d["doc_id"], joiner.join(d["sentences"])) for d in load_pud(shared_data, language)]


@pytest.mark.parametrize("language", PUD_LANGUAGES)
@pytest.mark.parametrize("tokenizer_name", ["cl100k", "minilm"])
@pytest.mark.parametrize("max_tokens", [64, 256])
def test_pud_cap_and_offsets(shared_data, language, tokenizer_name, max_tokens):
    if tokenizer_name == "cl100k":
        tokenizer = get_tokenizer(None)
    else:
        # The embedder adds [CLS] and [SEP]: count them, as embedding will.
        tokenizer = get_tokenizer(str(minilm_tokenizer_path()), special_tokens=True)
    over = mismatched = total = 0
    for doc_id, text in _documents(shared_data, language):
        chunks = chunk(text, max_tokens=max_tokens, tokenizer=tokenizer, doc_id=doc_id, special_tokens=tokenizer.special_tokens)
        total += len(chunks)
        recount = tokenizer.count_batch([c.text for c in chunks])
        over += sum(1 for c, n in zip(chunks, recount) if n > max_tokens or c.token_count != n)
        mismatched += sum(1 for c in chunks if text[c.start : c.end] != c.text)
    assert total > 0
    assert (over, mismatched) == (0, 0)
