"""The corpus-wide arrays ranking reads, computed at build time: BM25 (sentences, paragraphs), the focus vocabulary, mean vectors.

The lexical part needs only the sentences, so the build computes it while the vectors are
still being embedded (:mod:`citeqa.build.pipeline`); the mean vectors need the vectors.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..answer.focus import Vocabulary
from ..errors import SourceError
from ..ingest.segment import paragraph_numbers
from ..store.lexical import BM25Index
from ..text import TokenIds, Tokenizer, is_plain


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


def corpus_token_ids(texts: Sequence[str], tokenizer: Tokenizer | None = None) -> TokenIds:
    """Every text's BM25 tokens (exactly :func:`citeqa.text.tokenize`'s) as word numbers (a new
    :class:`citeqa.text.Tokenizer` unless one is given: its pieces feed the vocabulary)."""
    return (tokenizer or Tokenizer()).token_ids(texts)


def token_ids_of(tokens: Sequence[Sequence[str]]) -> TokenIds:
    """:class:`TokenIds` of texts already tokenized."""
    number: dict[str, int] = {}
    ids = np.fromiter((number.setdefault(t, len(number)) for words in tokens for t in words), dtype=np.int32)
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum([len(words) for words in tokens], out=offsets[1:])
    return TokenIds(ids, offsets, list(number))


def _paragraph_offsets(paragraph: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Token offsets of each paragraph (paragraphs are contiguous runs of sentences)."""
    count = int(paragraph[-1]) + 1 if paragraph.size else 0
    first = np.searchsorted(paragraph, np.arange(count + 1))
    return offsets[first]


def lexical_arrays(rows: np.ndarray, texts: Sequence[str], tokens: Sequence[Sequence[str]] | None = None) -> Lexical:
    """The :class:`Lexical` part of an index being built.

    Args:
        rows: int64 ``(n, 4)``: document number, start, end, paragraph id per sentence.
        texts: Each sentence's text.
        tokens: Each sentence's BM25 tokens (:func:`citeqa.text.tokenize`; computed when None).

    Raises:
        SourceError: not one sentence holds a word BM25 can index.
    """
    tokenizer = Tokenizer()
    found = corpus_token_ids(texts, tokenizer) if tokens is None else token_ids_of(tokens)
    if not found.ids.size:  # BM25 can't index a corpus without a single word (found by the fuzz tests)
        raise SourceError("the sources hold no words to index (only punctuation or symbols); add some text and build again")
    paragraph = paragraph_numbers(np.asarray(rows, dtype=np.int64).reshape(-1, 4))
    count = int(paragraph[-1]) + 1 if paragraph.size else 0
    bm25, paragraph_bm25 = BM25Index.pair_from_token_ids(
        found.ids, found.offsets, np.searchsorted(paragraph, np.arange(count + 1)), found.vocabulary
    )
    return Lexical(
        bm25=bm25,
        paragraph_bm25=paragraph_bm25,
        vocabulary=_vocabulary(texts, found.vocabulary, tokenizer if tokens is None else None),
    )


#: Texts joined into one string for :meth:`Vocabulary.from_texts` (its patterns match no
#: character of the separator, so the words found are those of the texts one by one).
VOCABULARY_CHUNK = 4096


def _vocabulary(texts: Sequence[str], stems: Sequence[str], tokenizer: Tokenizer | None = None) -> dict[str, list[str]]:
    """The focus vocabulary's word lists; with the ``tokenizer`` that tokenized ``texts``, the
    words and compounds of the plain ASCII texts are read from its distinct pieces (every
    word and compound of such a text lies inside one piece, lowercased: folding them is
    lowercasing them), so only the other texts are read again for them."""

    def chunks(items: Sequence[str]) -> Iterator[str]:
        return ("\n".join(items[lo : lo + VOCABULARY_CHUNK]) for lo in range(0, len(items), VOCABULARY_CHUNK))

    if tokenizer is None:
        return Vocabulary.from_texts(chunks(texts), stems).word_lists()
    others = [text for text in texts if not is_plain(text)]
    word_texts = itertools.chain(chunks(others), chunks(tokenizer.plain_pieces()))
    return Vocabulary.from_texts(chunks(texts), stems, word_texts=word_texts).word_lists()


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
    found = token_ids_of(tokens)
    return ContextArrays(
        paragraph_bm25=BM25Index.from_token_ids(found.ids, _paragraph_offsets(paragraph, found.offsets), found.vocabulary),
        paragraph_vectors=paragraph_vectors,
        document_vectors=document_vectors,
        vocabulary=_vocabulary(texts, found.vocabulary),
    )
