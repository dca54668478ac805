"""Semantic chunking on every document of ../shared/data: zero chunks over the cap, exact offsets.

The cap and the offsets must hold whatever the vectors say, so a deterministic
bag-of-words embedder stands in for MiniLM here (the real model is covered in
test_semantic.py); it still gives the DP real, varying semantic scores.
"""

from __future__ import annotations

import ast
import gzip
import json

import numpy as np
import pytest

from chunkwise import ChunkConfig, Document, chunk_documents, get_tokenizer
from conftest import PUD_LANGUAGES, load_pud


class HashEmbedder:
    model_id = "test-hash-embedder"
    max_seq_length = 100_000
    dimension = 96

    def __init__(self):
        self.embedded = 0

    def embed(self, texts):
        self.embedded += len(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, hash_word(word) % self.dimension] += 1.0
            vectors[row, len(text) % self.dimension] += 0.5  # never all-zero
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def token_counts(self, texts):
        return [len(t.split()) for t in texts]


def hash_word(word: str) -> int:
    value = 0
    for char in word:
        value = (value * 131 + ord(char)) % 1_000_003
    return value


def _check(documents, max_tokens):
    tokenizer = get_tokenizer(None)
    config = ChunkConfig(max_tokens=max_tokens, strategy="semantic")
    embedder = HashEmbedder()
    results = chunk_documents(documents, tokenizer, config, embedder=embedder)
    if any(n > max_tokens for n in tokenizer.count_batch([d.text for d in documents])):
        assert embedder.embedded > 0  # documents over the cap went through semantic scoring
    total = 0
    for document, chunks in zip(documents, results):
        recount = tokenizer.count_batch([c.text for c in chunks])
        for c, count in zip(chunks, recount):
            assert document.text[c.start : c.end] == c.text
            assert c.token_count == count <= max_tokens
        # Nothing lost: every non-space character is in a chunk.
        assert "".join("".join(c.text for c in chunks).split()) == "".join(document.text.split())
        total += len(chunks)
    assert total >= len(documents)


@pytest.mark.parametrize("language", PUD_LANGUAGES)
@pytest.mark.parametrize("max_tokens", [64, 256])
def test_pud_semantic(shared_data, language, max_tokens):
    joiner = "" if language == "zh" else " "
    documents = [Document(d["doc_id"], joiner.join(d["sentences"])) for d in load_pud(shared_data, language)]
    _check(documents, max_tokens)


@pytest.mark.parametrize("max_tokens", [64, 256])
def test_nq_passages_semantic(shared_data, max_tokens):
    path = shared_data / "nq" / "nq_open_oracle_dev.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} missing")
    passages = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            contexts = row["ctxs"]
            contexts = ast.literal_eval(contexts) if isinstance(contexts, str) else contexts
            passages.extend(f"{c['title']}\n\n{c['text']}" for c in contexts)
    # Long documents of 25 passages each, as a store of articles would hold them.
    documents = [Document(f"nq-{i}", "\n\n".join(passages[i : i + 25])) for i in range(0, len(passages), 25)]
    _check(documents, max_tokens)
