"""The corpus-wide arrays ranking reads, computed at build time: BM25 (sentences, paragraphs), the focus vocabulary, mean vectors.

The lexical part needs only the sentences, so the build computes it while the vectors are
still being embedded (:mod:`citeqa.build.pipeline`); the mean vectors need the vectors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..answer.focus import Vocabulary
from ..errors import SourceError
from ..ingest.segment import paragraph_numbers
from ..store.lexical import BM25Index
from ..text import _WORD, STOPWORDS, _places, _stemmer, fold


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


@dataclass(frozen=True)
class TokenIds:
    """Every text's BM25 tokens as word numbers: text ``i``'s are ``ids[offsets[i]:offsets[i + 1]]``.

    Attributes:
        ids: int32 word numbers, all texts' tokens one after another.
        offsets: int64 ``(texts + 1,)`` where each text's tokens start (the last: the end).
        vocabulary: The word of each number (each occurs at least once).
    """

    ids: np.ndarray
    offsets: np.ndarray
    vocabulary: list[str]

    def texts(self) -> list[list[str]]:
        """Each text's tokens as strings (for tests and small corpora)."""
        words = self.vocabulary
        return [[words[j] for j in self.ids[a:b].tolist()] for a, b in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist())]


#: Texts tokenized together by :func:`corpus_token_ids`.
TOKEN_CHUNK = 8192
#: Joins a chunk's texts; a chunk holding it in a text is tokenized text by text.
_SEPARATOR = "\x00"
_WORD_OR_SEPARATOR = re.compile(_SEPARATOR + "|" + _WORD.pattern)


class _Tokenizer:
    """:func:`citeqa.text.tokenize` over many texts at once, with the same tokens.

    ``tokenize`` folds, finds the words, stems them and merges country names text by
    text, word by word. Here each distinct word is stemmed and looked up once (a million
    sentences hold ~10 million words but ~100k distinct ones) and its tokens kept as word
    numbers (its "emission"); a chunk of texts is split into words by one call, joined
    by a separator no word pattern crosses. Only the words that start a multi-word name
    ("New", "South"...) are resolved one by one, left to right as
    :func:`citeqa.text.merge_places` does: the name found there replaces the words it spans.
    """

    SILENT = 1  # the code of a word that emits nothing (inside a name found before it)

    def __init__(self) -> None:
        self.table, self.starts, self.longest = _places()
        self.single = {key[0]: tokens for key, tokens in self.table.items() if len(key) == 1}
        self.follows: dict[str, set[str]] = {}
        for key in self.table:
            if len(key) > 1:
                self.follows.setdefault(key[0], set()).add(key[1])
        self.number: dict[str, int] = {}  # token -> word number
        self.vocabulary: list[str] = []
        # code -> its emission emitted[start[code]:start[code + 1]]; code 0 is the separator
        self.code: dict[str, int] = {_SEPARATOR: 0}
        self.stem: list[str] = [_SEPARATOR, _SEPARATOR]
        self.plain: list[str] = [_SEPARATOR, _SEPARATOR]
        self.emitted: list[int] = []
        self.start: list[int] = [0, 0, 0]
        self.whole = [False, False]  # the code's word starts a multi-word name
        self.resolved: dict[tuple[int, ...], int] = {}  # emission -> code (for name starts)

    def _token(self, token: str) -> int:
        number = self.number.get(token)
        if number is None:
            number = self.number[token] = len(self.vocabulary)
            self.vocabulary.append(token)
        return number

    def _add(self, stem: str, plain: str, whole: bool, emission: tuple[int, ...]) -> int:
        self.stem.append(stem)
        self.plain.append(plain)
        self.whole.append(whole)
        self.emitted.extend(emission)
        self.start.append(len(self.emitted))
        return len(self.whole) - 1

    def _emission(self, tokens: tuple[str, ...]) -> int:
        numbers = tuple(self._token(t) for t in tokens)
        code = self.resolved.get(numbers)
        if code is None:
            code = self.resolved[numbers] = self._add(_SEPARATOR, _SEPARATOR, False, numbers)
        return code

    def _learn(self, found: set[str]) -> None:
        new = sorted(found.difference(self.code))
        clean = [w.replace("'", "") for w in new]
        for word, plain, stem in zip(new, clean, _stemmer().stemWords(clean)):
            tokens = self.single.get(stem)
            if tokens is None:
                tokens = () if plain in STOPWORDS else (stem,)
            # a name's first word emits what it does when no longer name starts there
            self.code[word] = self._add(stem, plain, stem in self.starts, tuple(self._token(t) for t in tokens))

    def _names(self, codes: np.ndarray) -> None:
        """Resolve, left to right, the longest multi-word names of ``codes`` (words then
        emit nothing but the name's first, which emits the name's tokens)."""
        original, stem, follows = codes.tolist(), self.stem, self.follows
        n, end = len(original), -1
        starts = np.flatnonzero(np.asarray(self.whole, dtype=bool)[codes[:-1]]).tolist()
        # only where the next word can continue a name can a name longer than one word start
        for i in [i for i in starts if stem[original[i + 1]] in follows[stem[original[i]]]]:
            if i < end:  # inside the name found before
                continue
            for length in range(min(self.longest, n - i), 1, -1):
                tokens = self.table.get(tuple(stem[c] for c in original[i : i + length]))
                if tokens is not None:
                    codes[i] = self._emission(tuple(tokens))
                    codes[i + 1 : i + length] = self.SILENT
                    end = i + length
                    break

    def chunk(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Word numbers of ``texts``'s tokens and each text's token count."""
        joined = _SEPARATOR.join(fold(text) for text in texts)  # fold keeps the separator
        if joined.count(_SEPARATOR) == len(texts) - 1:
            found = _WORD_OR_SEPARATOR.findall(joined)
        else:  # a text holds the separator: find each text's words alone
            found = []
            for text in texts:
                found.extend(_WORD.findall(fold(text)))
                found.append(_SEPARATOR)
            found.pop()
        self._learn(set(found))
        codes = np.fromiter(map(self.code.__getitem__, found), dtype=np.int64, count=len(found))
        self._names(codes)
        start = np.asarray(self.start, dtype=np.int64)
        counts = start[codes + 1] - start[codes]
        total = int(counts.sum())
        # the emissions of every word, one after another
        first = np.repeat(start[codes] - (np.cumsum(counts) - counts), counts)
        ids = np.asarray(self.emitted, dtype=np.int32)[first + np.arange(total)] if total else np.zeros(0, dtype=np.int32)
        text_of = np.cumsum(codes == 0)  # the text each word belongs to
        return ids, np.bincount(text_of, weights=counts, minlength=len(texts)).astype(np.int64)


def corpus_token_ids(texts: Sequence[str]) -> TokenIds:
    """Every text's BM25 tokens (exactly :func:`citeqa.text.tokenize`'s) as word numbers."""
    tokenizer = _Tokenizer()
    parts, counts = [], []
    for lo in range(0, len(texts), TOKEN_CHUNK):
        ids, per_text = tokenizer.chunk(texts[lo : lo + TOKEN_CHUNK])
        parts.append(ids)
        counts.append(per_text)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=offsets[1:])
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    # keep only the words that occur (a word's own token can be swallowed by a name)
    used = np.bincount(ids, minlength=len(tokenizer.vocabulary)) > 0
    renumber = np.cumsum(used, dtype=np.int64) - 1
    vocabulary = [w for w, keep in zip(tokenizer.vocabulary, used.tolist()) if keep]
    return TokenIds(renumber[ids].astype(np.int32), offsets, vocabulary)


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
    found = corpus_token_ids(texts) if tokens is None else token_ids_of(tokens)
    if not found.ids.size:  # BM25 can't index a corpus without a single word (found by the fuzz tests)
        raise SourceError("the sources hold no words to index (only punctuation or symbols); add some text and build again")
    paragraph = paragraph_numbers(np.asarray(rows, dtype=np.int64).reshape(-1, 4))
    return Lexical(
        bm25=BM25Index.from_token_ids(found.ids, found.offsets, found.vocabulary),
        paragraph_bm25=BM25Index.from_token_ids(found.ids, _paragraph_offsets(paragraph, found.offsets), found.vocabulary),
        vocabulary=_vocabulary(texts, found.vocabulary),
    )


#: Texts joined into one string for :meth:`Vocabulary.from_texts` (its patterns match no
#: character of the separator, so the words found are those of the texts one by one).
VOCABULARY_CHUNK = 4096


def _vocabulary(texts: Sequence[str], stems: Sequence[str]) -> dict[str, list[str]]:
    chunks = ("\n".join(texts[lo : lo + VOCABULARY_CHUNK]) for lo in range(0, len(texts), VOCABULARY_CHUNK))
    return Vocabulary.from_texts(chunks, stems).word_lists()


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
