"""The BM25 index (bm25s, Lucene IDF, always positive) over :func:`citeqa.text.tokenize` tokens.

Owns BM25 scoring and its files (a folder of .npy and JSON, no pickle); tokenization
itself is :mod:`citeqa.text`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..text import tokenize


class BM25Index:
    """A BM25 index over sentences, stored as a folder of .npy and JSON files."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        self._model = model

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """Index ``texts`` (one BM25 "document" per sentence)."""
        return cls.from_tokens([tokenize(t) for t in texts])

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder`` (npy + json, no pickle)."""
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> BM25Index:
        """Load an index written by :meth:`save`."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False))

    @property
    def size(self) -> int:
        """Number of indexed sentences."""
        return int(self._model.scores["num_docs"])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every sentence for ``query`` (zeros when nothing matches)."""
        return self.scores_of_tokens(tokenize(query))

    @classmethod
    def from_tokens(cls, corpus_tokens: Sequence[Sequence[str]]) -> BM25Index:
        """Index already-tokenized texts (sentences, or whole paragraphs)."""
        import bm25s

        model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        model.index([list(t) for t in corpus_tokens], show_progress=False)
        return cls(model)

    def scores_of_tokens(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every indexed text for already-tokenized query words.

        The same sums as bm25s's ``get_scores`` (a repeated word counts each time), added
        with one ``bincount`` over the words' postings instead of ``np.add.at`` per word:
        at a million sentences a common word has ~10^5 postings, and that is 20x faster.
        """
        vocab = self._model.vocab_dict
        matrix = self._model.scores
        indptr, indices, data = matrix["indptr"], matrix["indices"], matrix["data"]
        spans = [(int(indptr[i]), int(indptr[i + 1])) for i in (vocab.get(t) for t in tokens) if i is not None and i + 1 < len(indptr)]
        if not spans:
            return np.zeros(self.size, dtype=np.float32)
        rows = np.concatenate([indices[a:b] for a, b in spans])
        weights = np.concatenate([data[a:b] for a, b in spans])
        return np.bincount(rows, weights=weights, minlength=self.size).astype(np.float32)

    def idf(self) -> Idf:
        """The Lucene IDF of every indexed word, read from the postings (always > 0)."""
        indptr = np.asarray(self._model.scores["indptr"])
        df = np.diff(indptr).astype(np.float64)  # texts holding each word id
        n = float(self.size)
        return Idf(self._model.vocab_dict, np.log1p((n - df + 0.5) / (df + 0.5)))


class Idf(Mapping[str, float]):
    """Word → Lucene IDF, ``log(1 + (n - df + 0.5) / (df + 0.5))``, over one BM25 index.

    Backed by the index's vocabulary and one float array, so a million-sentence index
    needs no per-word Python objects beyond the vocabulary bm25s already holds.
    """

    def __init__(self, vocab: Mapping[str, int], values: np.ndarray) -> None:
        self._vocab = vocab
        self._values = values
        #: The largest IDF (a word found in one text only); 1.0 for an empty index.
        self.ceiling = float(values.max()) if values.size else 1.0

    def __getitem__(self, token: str) -> float:
        number = self._vocab[token]
        if number >= self._values.shape[0]:  # bm25s's placeholder for the empty token
            raise KeyError(token)
        return float(self._values[number])

    def __iter__(self) -> Iterator[str]:
        return (t for t, i in self._vocab.items() if i < self._values.shape[0])

    def __len__(self) -> int:
        return int(sum(1 for i in self._vocab.values() if i < self._values.shape[0]))
