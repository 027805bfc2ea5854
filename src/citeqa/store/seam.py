"""The store seam: what ranking, abstention and answers read of an index, wherever its sentences live.

:class:`SentenceStore` is the protocol; :class:`citeqa.store.local.LocalStore` (the index
folder: FAISS + BM25 arrays, the default and the fastest) and
:class:`citeqa.store.milvus.MilvusStore` (collections in Milvus) implement it. The search
layer (:class:`citeqa.search.candidates.CandidateRetriever`) and :class:`citeqa.Index`
read only through it. Sentences are numbered 0..n-1 in index order (a document's
sentences contiguous); paragraphs are numbered as
:func:`citeqa.ingest.segment.paragraph_numbers` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, overload, runtime_checkable

import numpy as np

from ..schema import Document

T = TypeVar("T")

#: A query's unit vector, or a function that returns it: :meth:`SentenceStore.candidates`
#: calls it once, after it has started what needs no vector, so a store can search its
#: words meanwhile (the local store, on a thread of its own; :meth:`citeqa.Index.rank`).
VectorSource = np.ndarray | Callable[[], np.ndarray]


def query_vector(vector: VectorSource) -> np.ndarray:
    """The float32 ``(dim,)`` vector of a :data:`VectorSource` (calls it when it is a function)."""
    if callable(vector):
        vector = vector()
    return np.asarray(vector, dtype=np.float32).reshape(-1)


class LazySequence(Sequence[T]):
    """A sequence whose items are read when accessed: slices, negative positions and the
    range check here, reading one item (:meth:`_item`) in the subclass."""

    #: What a position is called in the IndexError ("document number"...).
    _position_name = "position"

    def _item(self, position: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, position: int) -> T: ...

    @overload
    def __getitem__(self, position: slice) -> list[T]: ...

    def __getitem__(self, position: int | slice) -> T | list[T]:
        if isinstance(position, slice):
            return [self._item(i) for i in range(*position.indices(len(self)))]
        position = int(position)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"{self._position_name} {position} out of range")
        return self._item(position)

    def many(self, positions: Sequence[int] | np.ndarray) -> list[T]:
        """``[self[p] for p in positions]`` (a subclass may read them at once)."""
        return [self[int(p)] for p in positions]


@dataclass(frozen=True)
class CandidateSet:
    """A query's candidate sentences (the union of the vector and the BM25 hits) and what is known of them.

    Every array is in the order of :attr:`ids`.
    """

    #: int64 sentence numbers: the vector hits first, then the BM25 hits (first appearance).
    ids: np.ndarray
    #: The BM25 score of each for the query (bm25s Lucene, k1=1.2, b=0.75).
    lexical: np.ndarray
    #: Cosine to the query of the sentences the vector search returned (the fallback of
    #: :meth:`SentenceStore.cosines` when a store cannot tell the cosine of any sentence).
    found: Mapping[int, float]
    #: Document number of each.
    docs: np.ndarray
    #: Paragraph number of each.
    paragraphs: np.ndarray
    #: Headline row of each one's document, -1 where it has none.
    title_rows: np.ndarray
    #: The text of each (a store may read each one only when it is first asked for).
    texts: Sequence[str]
    #: ``len(text.split())`` of each, or None: the reader counts them from :attr:`texts`.
    word_counts: np.ndarray | None = None
    #: The word-piece ids of each one's words, as the build stored them, or None: the reader
    #: makes them from :attr:`texts`.
    word_pieces: WordPieceIds | None = None


@dataclass(frozen=True)
class WordPieceIds:
    """Some sentences' word ids for soft word matching, as an index stores them
    (:func:`citeqa.search.candidates.soft_word_ids`)."""

    #: int32: every sentence's ids, one sentence after the other.
    ids: np.ndarray
    #: int64 ``(sentences,)``: how many ids each sentence has.
    counts: np.ndarray
    #: The word-piece table the ids are rows of (:attr:`citeqa.embed.wordpieces.WordPieces.digest`).
    table: str


@dataclass(frozen=True)
class TokenPresence:
    """Which query words some texts hold (see :meth:`SentenceStore.token_presence`).

    Attributes:
        tokens: The query's distinct tokens, in query order.
        exact: bool ``(texts, tokens)``: the text holds the token.
        loose: bool ``(texts, tokens)``: the text holds the token or a word sharing a stem
            prefix with it (:func:`citeqa.search.features.stems_match`).
    """

    tokens: list[str]
    exact: np.ndarray
    loose: np.ndarray


@dataclass(frozen=True)
class Evidence:
    """What the reranker reads of a candidate set's surroundings (see :meth:`SentenceStore.evidence`)."""

    #: Cosine of each asked sentence to the query, or None: the store cannot tell.
    cosines: np.ndarray | None
    #: Paragraph number of each asked sentence.
    sentence_paragraphs: np.ndarray
    #: Cosine of each asked paragraph's unit mean vector to the query.
    paragraph_dense: np.ndarray
    #: BM25 score of each asked paragraph (as a whole) for the query tokens.
    paragraph_lexical: np.ndarray
    #: Cosine of each asked document's unit mean vector to the query.
    document_dense: np.ndarray


@runtime_checkable
class SentenceStore(Protocol):
    """One loaded, verified index version (immutable; safe to share between threads)."""

    #: The manifest: how the index was built (model, vector space, segmenter, tokenizer, counts, sources).
    manifest: dict[str, Any]

    def __len__(self) -> int:
        """How many sentences."""
        ...

    @property
    def location(self) -> str:
        """Where the version lives (a folder path or a store address), for messages."""
        ...

    @property
    def documents(self) -> Sequence[Document]:
        """The documents in index order (a lazy sequence: each text is read when accessed)."""
        ...

    def candidates(
        self,
        query_text: str,
        query_tokens: Sequence[str],
        vector: VectorSource,
        k_dense: int,
        k_lexical: int,
        documents: Sequence[int] | None = None,
    ) -> CandidateSet:
        """The ``k_dense`` nearest sentences to ``vector`` plus the ``k_lexical`` best BM25
        sentences for the query (score > 0), with what ranking reads of them; only sentences
        of ``documents`` (document numbers) when given, else of every document.

        ``vector`` may be a function (:data:`VectorSource`): it is called once, on the
        calling thread, after the store started whatever needs no vector (the local
        store's BM25 search, on a thread of its own)."""
        ...

    def evidence(
        self, query_tokens: Sequence[str], vector: np.ndarray, ids: np.ndarray, paragraphs: np.ndarray, docs: np.ndarray
    ) -> Evidence:
        """Cosines and paragraph numbers of the sentences ``ids`` (sorted, unique), the
        paragraphs' and documents' evidence for each entry of ``paragraphs`` and ``docs``."""
        ...

    def idf(self) -> Mapping[str, float]:
        """Word → IDF over the sentences (with a ``ceiling`` attribute: the largest)."""
        ...

    def token_presence(self, query_tokens: Sequence[str], ids: np.ndarray, min_prefix: int) -> TokenPresence | None:
        """Which of the query's distinct tokens each sentence of ``ids`` holds, exactly and by
        a shared stem prefix of at least ``min_prefix`` characters, read from the word index
        without tokenizing the sentences; None when the store cannot tell (the ranker then
        tokenizes the candidates' texts)."""
        ...

    def vocabulary(self) -> dict[str, list[str]]:
        """The corpus's distinct words and names (``{"words": [...], "names": [...]}``)."""
        ...

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """int64 ``(k, 4)``: document number, start, end, paragraph id of each sentence."""
        ...

    def texts(self, ids: np.ndarray) -> list[str]:
        """The text of each sentence."""
        ...

    def paragraph_rows(self, row: int) -> range:
        """The sentences of ``row``'s paragraph."""
        ...

    def title_rows(self, ids: np.ndarray) -> np.ndarray:
        """The headline row of each sentence's document, or -1 where it has none."""
        ...

    def sentence_counts(self) -> np.ndarray:
        """How many sentences each document has (int64, in document order)."""
        ...

    def dense_search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest sentences: ``(cosines, ids)``, best first (the "dense" baseline)."""
        ...

    def bm25_scores(self, query_text: str) -> np.ndarray:
        """BM25 score of every sentence (the "bm25"/"rrf" baselines; a remote store may refuse)."""
        ...

    def check_sources(self) -> None:
        """Raise StaleIndexError when a source changed or vanished since the build."""
        ...

    def live_version(self) -> str | None:
        """The version that is live now (a server reloads when it differs from :attr:`version`)."""
        ...

    @property
    def version(self) -> str:
        """This version's name."""
        ...
