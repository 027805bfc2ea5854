"""The corpus-wide arrays ranking reads, computed at build time: BM25 (sentences, paragraphs), the focus vocabulary, mean vectors.

The lexical part needs only the sentences, so the build computes it while the vectors are
still being embedded (:mod:`citeqa.build.pipeline`); the mean vectors need the vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..answer.focus import Vocabulary
from ..errors import SourceError
from ..ingest.segment import paragraph_numbers
from ..store.lexical import BM25Index
from ..text import tokenize


@dataclass(frozen=True)
class ContextArrays:
    """The corpus-wide context ranking reads, computed once when an index is built.

    Attributes:
        paragraph_bm25: BM25 over whole paragraphs (numbered by
            :func:`citeqa.ingest.segment.paragraph_numbers`).
        paragraph_vectors: float32 ``(paragraphs, dim)`` unit mean vector of each paragraph.
        document_vectors: float32 ``(documents, dim)`` unit mean vector of each document
            (zeros for a document without sentences).
        vocabulary: The corpus's surface words and names (:meth:`Vocabulary.word_lists`),
            for the abstention's focus check.
    """

    paragraph_bm25: BM25Index
    paragraph_vectors: np.ndarray
    document_vectors: np.ndarray
    vocabulary: dict[str, list[str]]


@dataclass(frozen=True)
class Lexical:
    """What an index needs from the sentences' words alone (no vectors).

    Attributes:
        bm25: BM25 over the sentences.
        paragraph_bm25: BM25 over whole paragraphs.
        vocabulary: See :attr:`ContextArrays.vocabulary`.
    """

    bm25: BM25Index
    paragraph_bm25: BM25Index
    vocabulary: dict[str, list[str]]


#: Rows read at a time by :func:`group_means` (64k rows of 384-d float32 = 96 MB).
MEAN_BLOCK = 1 << 16


def group_means(vectors: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Unit-length mean of each run of rows ``vectors[starts[i]:starts[i + 1]]``.

    Args:
        vectors: ``(n, dim)`` vectors whose groups are contiguous runs of rows (any float
            dtype; read :data:`MEAN_BLOCK` rows at a time, so no float32 copy of all of
            them is made).
        starts: Sorted first row of each group (the first is 0).

    Returns:
        float32 ``(len(starts), dim)``; a group summing to zero stays zero.
    """
    if not len(starts):
        return np.zeros((0, vectors.shape[1]), dtype=np.float32)
    starts = np.asarray(starts, dtype=np.int64)
    n = vectors.shape[0]
    sums = np.zeros((len(starts), vectors.shape[1]), dtype=np.float32)
    for lo in range(0, n, MEAN_BLOCK):
        hi = min(n, lo + MEAN_BLOCK)
        # the groups meeting this block, and where each begins inside it
        first = int(np.searchsorted(starts, lo, side="right")) - 1
        last = int(np.searchsorted(starts, hi, side="left"))
        inside = np.maximum(starts[first:last], lo) - lo
        part = np.add.reduceat(np.asarray(vectors[lo:hi], dtype=np.float32), inside, axis=0)
        if lo == 0 and hi == n:
            sums = part  # one block: exactly the sums of a single reduceat
        else:
            sums[first:last] += part
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (sums / norms).astype(np.float32)


def _paragraph_tokens(paragraph: np.ndarray, tokens: Sequence[Sequence[str]]) -> list[list[str]]:
    count = int(paragraph[-1]) + 1 if paragraph.size else 0
    paragraph_tokens: list[list[str]] = [[] for _ in range(count)]
    for row, words in enumerate(tokens):
        paragraph_tokens[int(paragraph[row])].extend(words)
    return paragraph_tokens


def interned_tokens(texts: Sequence[str]) -> list[list[str]]:
    """Each text's BM25 tokens (:func:`citeqa.text.tokenize`), every occurrence of a word one
    shared string: a million sentences hold ~10 million tokens but ~100k distinct words."""
    shared: dict[str, str] = {}
    return [[shared.setdefault(t, t) for t in tokenize(text)] for text in texts]


def lexical_arrays(rows: np.ndarray, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None) -> Lexical:
    """The :class:`Lexical` part of an index being built.

    Args:
        rows: int64 ``(n, 4)``: document number, start, end, paragraph id per sentence.
        texts: Each sentence's text.
        tokens: Each sentence's BM25 tokens (:func:`citeqa.text.tokenize`; computed when None).

    Raises:
        SourceError: not one sentence holds a word BM25 can index.
    """
    tokens = interned_tokens(texts) if tokens is None else tokens
    if not any(tokens):  # BM25 can't index a corpus without a single word (found by the fuzz tests)
        raise SourceError("the sources hold no words to index (only punctuation or symbols); add some text and build again")
    paragraph = paragraph_numbers(np.asarray(rows, dtype=np.int64).reshape(-1, 4))
    return Lexical(
        bm25=BM25Index.from_tokens(tokens),
        paragraph_bm25=BM25Index.from_tokens(_paragraph_tokens(paragraph, tokens)),
        vocabulary=Vocabulary.from_texts(texts, {t for words in tokens for t in words}).word_lists(),
    )


def mean_vectors(rows: np.ndarray, vectors: np.ndarray, documents: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit mean vector of each paragraph and of each document (zeros for an empty document)."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    paragraph = paragraph_numbers(rows)
    count = int(paragraph[-1]) + 1 if paragraph.size else 0
    paragraph_starts = np.searchsorted(paragraph, np.arange(count))
    document_vectors = np.zeros((documents, vectors.shape[1]), dtype=np.float32)
    if rows.shape[0]:
        doc = rows[:, 0]
        doc_starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        document_vectors[doc[doc_starts]] = group_means(vectors, doc_starts)
    return group_means(vectors, paragraph_starts), document_vectors


def context_arrays(
    rows: np.ndarray, texts: Sequence[str], tokens: Sequence[Sequence[str]], vectors: np.ndarray, documents: int
) -> ContextArrays:
    """Compute the :class:`ContextArrays` of an index being built.

    Args:
        rows: int64 ``(n, 4)``: document number, start, end, paragraph id per sentence.
        texts: Each sentence's text.
        tokens: Each sentence's BM25 tokens (:func:`citeqa.text.tokenize`).
        vectors: float32 ``(n, dim)`` unit sentence vectors.
        documents: How many documents the index holds.
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    paragraph = paragraph_numbers(rows)
    paragraph_vectors, document_vectors = mean_vectors(rows, vectors, documents)
    return ContextArrays(
        paragraph_bm25=BM25Index.from_tokens(_paragraph_tokens(paragraph, tokens)),
        paragraph_vectors=paragraph_vectors,
        document_vectors=document_vectors,
        vocabulary=Vocabulary.from_texts(texts, {t for words in tokens for t in words}).word_lists(),
    )
