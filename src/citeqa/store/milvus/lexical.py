"""Lexical evidence for a Milvus store: the local BM25 formula over stored tokens, and the terms Milvus's own BM25 reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .address import BM25_B, BM25_K1


def milvus_terms(tokens: Sequence[str]) -> str:
    """citeqa's BM25 tokens as text Milvus's standard analyzer splits back into the same words.

    Tokens may hold an apostrophe ("o'neil"), which the analyzer would split on; it is dropped.
    """
    return " ".join(t.replace("'", "") for t in tokens)


def bm25_of_tokens(
    query: Sequence[str], texts_tokens: Sequence[Sequence[str]], idf: Mapping[str, float], avgdl: float
) -> np.ndarray:
    """bm25s's Lucene score (k1=1.2, b=0.75) of each tokenized text for ``query`` (repeats count)."""
    out = np.zeros(len(texts_tokens), dtype=np.float64)
    wanted = [t for t in query if t in idf]
    if not wanted:
        return out.astype(np.float32)
    avgdl = avgdl if avgdl > 0 else 1.0
    for number, tokens in enumerate(texts_tokens):
        counts: dict[str, int] = {}
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(tokens) / avgdl)
        score = 0.0
        for token in wanted:
            tf = counts.get(token)
            if tf:
                score += idf[token] * tf / (tf + norm)
        out[number] = score
    return out.astype(np.float32)



class IdfTable(dict):  # type: ignore[type-arg]
    """Word → IDF with the largest IDF as ``ceiling`` (like :class:`citeqa.lexical.Idf`): the
    weight :func:`citeqa.retrieval.weighted_coverage` gives unknown words, found once, not
    by a scan of the whole table per call."""

    def __init__(self, values: Mapping[str, float]) -> None:
        super().__init__(values)
        self.ceiling = max(self.values(), default=1.0)



