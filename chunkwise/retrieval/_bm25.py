"""Okapi BM25 over a small set of texts, with a tokenizer that works across scripts.

Used by ``compress`` to score candidate sentences against a query (IDF taken
over the candidates themselves, so it needs no corpus statistics), and by the
benchmarks to pick lexically close distractors.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import numpy as np
import regex

# Letters with their marks and digits; CJK, Thai and similar scripts written without spaces
# are taken one character at a time and later paired into bigrams.
_WORD = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]|[\p{L}\p{M}\p{N}]+(?:['’][\p{L}]+)*")
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")

# English function words: the question forms ("when did", "who is the") would otherwise
# match nearly every sentence. IDF over a few hundred sentences is too noisy to learn this.
STOPWORDS = frozenset(
    """
    a an and are as at be been being but by can could did do does doing for from had has have
    he her hers him his how i if in into is it its me my of on or our she so than that the their
    them then there these they this those to us was we were what when where which while who whom
    whose why will with would you your yours
    """.split()
)


def _stem(word: str) -> str:
    """A light English plural/possessive fold: enough to match 'films' with 'film'."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 3 and word.isascii():
        if word.endswith("ies") and len(word) > 4:
            return word[:-3] + "y"
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, lightly stemmed words; character bigrams for scripts written without spaces."""
    out: list[str] = []
    previous_unspaced: str | None = None
    previous_end = -1
    for match in _WORD.finditer(text.lower()):
        token = match.group()
        if len(token) == 1 and _UNSPACED.match(token):
            # a bigram with the previous character when they touch, plus the character itself
            if previous_unspaced is not None and match.start() == previous_end:
                out.append(previous_unspaced + token)
            out.append(token)
            previous_unspaced, previous_end = token, match.end()
            continue
        previous_unspaced = None
        if token in STOPWORDS:
            continue
        out.append(_stem(token))
    return out


class BM25:
    """BM25 scores of a query against a fixed list of tokenized texts.

    IDF is the non-negative variant ``log(1 + (N - df + 0.5) / (df + 0.5))``,
    so a term present everywhere scores near zero instead of negative.
    """

    def __init__(
        self,
        documents: Iterable[Sequence[str]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        vocabulary: Collection[str] | None = None,
    ) -> None:
        """``vocabulary``: the only terms that will be scored (a query's); postings are kept for them alone,
        so memory follows the query, not the number of distinct words in the texts."""
        lengths: list[int] = []
        # term -> (document indexes, term frequencies)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for index, document in enumerate(documents):
            lengths.append(len(document))
            wanted = document if vocabulary is None else [term for term in document if term in vocabulary]
            for term, frequency in Counter(wanted).items():
                rows, frequencies = postings.setdefault(term, ([], []))
                rows.append(index)
                frequencies.append(frequency)
        self._setup(np.array(lengths, dtype=np.float64), {
            term: (np.asarray(rows, dtype=np.int64), np.asarray(frequencies, dtype=np.float64))
            for term, (rows, frequencies) in postings.items()
        }, k1, b)

    def _setup(self, lengths: np.ndarray, postings: dict[str, tuple[np.ndarray, np.ndarray]], k1: float, b: float) -> None:
        self.k1 = k1
        self.b = b
        self.count = len(lengths)
        self.lengths = lengths
        mean = float(self.lengths.mean()) if self.count and self.lengths.sum() else 1.0
        self._norm = k1 * (1.0 - b + b * self.lengths / mean)
        self._postings = postings

    def grouped(self, owners: np.ndarray, count: int) -> BM25:
        """BM25 over ``count`` documents, each the concatenation of the documents whose owner it is."""
        grouped = BM25.__new__(BM25)
        lengths = np.bincount(owners, weights=self.lengths, minlength=count)
        postings = {}
        for term, (rows, frequencies) in self._postings.items():
            totals = np.bincount(owners[rows], weights=frequencies, minlength=count)
            found = np.flatnonzero(totals)
            postings[term] = (found.astype(np.int64), totals[found])
        grouped._setup(lengths, postings, self.k1, self.b)
        return grouped

    def idf(self, term: str) -> float:
        posting = self._postings.get(term)
        frequency = 0 if posting is None else len(posting[0])
        return math.log(1.0 + (self.count - frequency + 0.5) / (frequency + 0.5))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """One score per document; repeated query terms count once."""
        scores = np.zeros(self.count, dtype=np.float64)
        for term in dict.fromkeys(query_terms):
            posting = self._postings.get(term)
            if posting is None:
                continue
            rows, frequencies = posting
            scores[rows] += self.idf(term) * frequencies * (self.k1 + 1.0) / (frequencies + self._norm[rows])
        return scores

    def matched_fraction(self, query_terms: Sequence[str]) -> np.ndarray:
        """Share of the query's IDF mass each document contains (0..1): a calibrated lexical relevance."""
        unique = list(dict.fromkeys(query_terms))
        weights = {term: self.idf(term) for term in unique}
        total = sum(weights.values())
        matched = np.zeros(self.count, dtype=np.float64)
        if not total:
            return matched
        for term, weight in weights.items():
            posting = self._postings.get(term)
            if posting is not None:
                matched[posting[0]] += weight
        return matched / total
