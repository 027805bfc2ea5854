"""What ranking asks a Milvus store per query: candidates from one ``hybrid_search``, then paragraph and document evidence.

A query costs one round trip once the caches are warm: the ``hybrid_search`` (candidates
with their rows and texts). The cosines of the candidates, their neighbours and headlines
are computed here from the vectors of the paragraphs that hold them (a paragraph row
carries its mean vector and its sentences' vectors as float32 bytes in one string, which
Milvus Lite returns far more cheaply than FLOAT_VECTOR fields: it builds a Python float per
dimension of each row it reads); which paragraph holds a row is told by the paragraph
starts kept in ``_meta``. Only a paragraph too long for one VARCHAR has its sentences' cosines asked of
Milvus (one search restricted to those rows). A version is immutable, so what was read of
it stays true: sentence rows, paragraphs (vectors, tokens, rows) and documents' mean
vectors are kept in bounded caches (:data:`ROW_CACHE`, :data:`PARAGRAPH_CACHE`,
:data:`DOCUMENT_CACHE`); the ranker's, abstention's and a hit's later reads of the same
rows need no round trip. (Measured on the SQuAD tune corpus, ``benchmarks/scale.py``: the
restricted search per query cost ~20 ms of the Lite server's time, mostly reading rows.)
Lexical evidence is the local index's formula (bm25s Lucene, k1=1.2, b=0.75) over the
stored tokens and statistics (:mod:`.lexical`), so it equals the local store's; Milvus's
own BM25 (per-segment statistics in Lite) only chooses the lexical candidates.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ...errors import CorruptIndexError, InvalidArgumentError
from ...text import tokenize
from ..seam import CandidateSet, Evidence, VectorSource, query_vector
from .address import (
    MilvusAddress,
    MilvusStoreError,
    _Calls,
    _ids_filter,
    decode_vectors,
)
from .lexical import IdfTable, bm25_of_tokens, milvus_terms

#: What :meth:`MilvusSearches.candidates` reads of each candidate (no vector: see :meth:`MilvusSearches.evidence`).
_ROW_FIELDS = ("doc", "start", "end", "paragraph", "paragraph_number", "title_row", "text")

#: Sentence rows (the fields above and their tokens) kept per store.
ROW_CACHE = 20_000
#: Paragraphs (mean and sentence vectors, tokens, first row, row count) kept per store
#: (~10 KB each with 384-d vectors and ~5 sentences a paragraph).
PARAGRAPH_CACHE = 5_000
#: Documents' unit mean vectors kept per store.
DOCUMENT_CACHE = 10_000

_POOL_LOCK = threading.Lock()
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """Three threads shared by every Milvus store: a query's evidence reads (paragraphs, documents) run at once."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(3, thread_name_prefix="citeqa-milvus")
        return _POOL


class _Cache:
    """A bounded ``id -> value`` map shared by a store's threads (the oldest entries go first)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[int, Any] = {}
        self._lock = threading.Lock()

    def get_many(self, ids: np.ndarray) -> tuple[dict[int, Any], np.ndarray]:
        """The cached values of ``ids`` and the ids not cached."""
        with self._lock:
            found = {int(i): self._items[int(i)] for i in ids if int(i) in self._items}
        return found, np.array([int(i) for i in ids if int(i) not in found], dtype=np.int64)

    def put_many(self, items: Mapping[int, Any]) -> None:
        with self._lock:
            self._items.update(items)
            while len(self._items) > self._size:
                del self._items[next(iter(self._items))]


class MilvusSearches:
    """The per-query reads of :class:`citeqa.store.milvus.MilvusStore` (a mixin: it owns the state)."""

    address: MilvusAddress
    manifest: dict[str, Any]
    _calls: _Calls
    _names: dict[str, str]
    _avgdl: float
    _paragraph_avgdl: float
    _idf: IdfTable
    _paragraph_idf: IdfTable
    _paragraph_starts: np.ndarray
    dimension: int

    def __len__(self) -> int:
        return int(self.manifest["counts"]["sentences"])

    def _init_caches(self) -> None:
        self._row_cache = _Cache(ROW_CACHE)
        self._paragraph_cache = _Cache(PARAGRAPH_CACHE)
        self._document_cache = _Cache(DOCUMENT_CACHE)

    def _sentence_rows(self, ids: np.ndarray) -> dict[int, dict[str, Any]]:
        """The rows (:data:`_ROW_FIELDS`) of the sentence ``ids``: cached, else read in one query."""
        unique = np.unique(np.asarray(ids, dtype=np.int64).reshape(-1))
        found, missing = self._row_cache.get_many(unique)
        if missing.size:
            table = self._by_ids(self._names["sentences"], missing, list(_ROW_FIELDS))
            self._row_cache.put_many(table)
            found.update(table)
        return found

    def _tokens_of(self, ids: np.ndarray, texts: Sequence[str]) -> list[list[str]]:
        """The BM25 tokens of sentences ``ids`` whose ``texts`` are given (tokenized once per cached row)."""
        rows, _ = self._row_cache.get_many(np.asarray(ids, dtype=np.int64))
        out = []
        for i, text in zip(ids, texts):
            row = rows.get(int(i))
            if row is not None and "tokens" in row:
                out.append(row["tokens"])
                continue
            tokens = tokenize(text)
            if row is not None:
                row["tokens"] = tokens
            out.append(tokens)
        return out

    def _hint(self) -> str:
        return f"citeqa build SOURCES --store {self.address.text}"

    def _metric(self) -> str:
        return str(self.manifest["milvus"]["dense_index"]["metric_type"])

    def texts(self, ids: np.ndarray) -> list[str]:
        raise NotImplementedError

    def _check_ids(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise InvalidArgumentError(f"sentence ids must be in 0..{len(self) - 1}, got {ids.min()}..{ids.max()}")

    def _by_ids(self, name: str, ids: np.ndarray, fields: list[str], key: str = "id") -> dict[int, dict[str, Any]]:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not ids.size:
            return {}
        unique = np.unique(ids)
        found = self._calls(
            f"reading {name}", "query", name, filter=_ids_filter(key, unique), output_fields=[key, *fields], limit=int(unique.size)
        )
        table = {int(r[key]): r for r in found}
        missing = [int(i) for i in unique if int(i) not in table]
        if missing:
            raise CorruptIndexError(f"{self.address.text}: {name} lacks rows {missing[:5]}; rebuild with: {self._hint()}")
        return table

    # ----------------------------------------------------------------- searches

    def _hits(self, result: Any) -> tuple[np.ndarray, np.ndarray]:
        hits = result[0] if result else []
        ids = np.array([int(h["id"]) for h in hits], dtype=np.int64)
        scores = np.array([float(h["distance"]) for h in hits], dtype=np.float32)
        return ids, scores

    def dense_search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` sentences nearest to ``vector``: ``(inner products, ids)``, best first."""
        if k <= 0:
            raise InvalidArgumentError(f"k must be > 0, got {k}")
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        result = self._calls(
            "dense search", "search", self._names["sentences"], data=[vector.tolist()], anns_field="dense",
            limit=min(k, 16384), output_fields=["doc"], search_params={"metric_type": self._metric()},
        )  # fmt: skip
        ids, scores = self._hits(result)
        return scores, ids

    def lexical_search(self, query: str | Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best sentences by Milvus's BM25: ``(ids, scores)``, best first, scores > 0.

        Args:
            query: The query text, or its :func:`citeqa.lexical.tokenize` tokens.
            k: How many.
        """
        if k <= 0:
            raise InvalidArgumentError(f"k must be > 0, got {k}")
        terms = milvus_terms(tokenize(query) if isinstance(query, str) else query)
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        result = self._calls(
            "BM25 search", "search", self._names["sentences"], data=[terms], anns_field="sparse",
            limit=min(k, 16384), output_fields=["doc"], search_params={"metric_type": "BM25"},
        )  # fmt: skip
        ids, scores = self._hits(result)
        # Lite returns the negated score as a distance; a server returns the score
        return ids, np.abs(scores)

    def bm25_scores(self, query_text: str) -> np.ndarray:
        """Not offered: a BM25 score of every sentence would ship the whole corpus (the "bm25" and "rrf" baselines are local only)."""
        raise MilvusStoreError(
            f"{self.address.text}: the 'bm25' and 'rrf' ranking modes need every sentence's BM25 score and run on the "
            f"local store only; use mode 'hybrid' or 'dense', or a local index (citeqa build SOURCES --index DIR)"
        )

    def candidates(
        self,
        query_text: str,
        query_tokens: Sequence[str],
        vector: VectorSource,
        k_dense: int,
        k_lexical: int,
        documents: Sequence[int] | None = None,
    ) -> CandidateSet:
        """One ``hybrid_search`` (dense + Milvus BM25, fused by RRF) returning each candidate's row and text.

        With ``limit = k_dense + k_lexical`` the fused list holds every hit of both searches,
        so the ids are the union of the dense and the BM25 candidates. Their lexical scores
        are the local BM25's (:func:`.lexical.bm25_of_tokens`), not Milvus's.
        """
        if k_dense <= 0 or k_lexical < 0:
            raise InvalidArgumentError(f"k_dense must be > 0 and k_lexical >= 0, got {k_dense} and {k_lexical}")
        from pymilvus import AnnSearchRequest, RRFRanker

        vector = query_vector(vector)
        k_dense = min(k_dense, len(self))
        # held to some documents: Milvus filters both searches by the document number
        held = None if documents is None else _ids_filter("doc", sorted({int(d) for d in documents}))
        requests = [AnnSearchRequest(data=[vector.tolist()], anns_field="dense", param={"metric_type": self._metric()}, limit=k_dense, expr=held)]
        terms = milvus_terms(query_tokens)
        if terms and k_lexical:
            requests.append(AnnSearchRequest(data=[terms], anns_field="sparse", param={"metric_type": "BM25"}, limit=k_lexical, expr=held))
        result = self._calls(
            "hybrid search", "hybrid_search", self._names["sentences"], requests,
            ranker=RRFRanker(60), limit=k_dense + k_lexical, output_fields=list(_ROW_FIELDS),
        )  # fmt: skip
        hits = result[0] if result else []
        picked = [h["entity"] for h in hits]
        texts = self._texts_of(picked)
        ids = np.array([int(h["id"]) for h in hits], dtype=np.int64)
        _, fresh = self._row_cache.get_many(ids)
        wanted = set(fresh.tolist())
        self._row_cache.put_many({int(h["id"]): {"id": int(h["id"]), **h["entity"]} for h in hits if int(h["id"]) in wanted})
        return CandidateSet(
            ids=ids,
            lexical=self.lexical_scores(query_tokens, ids, texts).astype(np.float64),
            found={},
            docs=np.array([int(r["doc"]) for r in picked], dtype=np.int64),
            paragraphs=np.array([int(r["paragraph_number"]) for r in picked], dtype=np.int64),
            title_rows=np.array([int(r["title_row"]) for r in picked], dtype=np.int64),
            texts=texts,
        )

    def _texts_of(self, picked: list[Mapping[str, Any]]) -> list[str]:
        raise NotImplementedError

    def evidence(
        self, query_tokens: Sequence[str], vector: np.ndarray, ids: np.ndarray, paragraphs: np.ndarray, docs: np.ndarray
    ) -> Evidence:
        """The seam's evidence, from the paragraphs holding ``ids`` and ``paragraphs`` (cached;
        the ones not cached yet read in one query) and the documents' mean vectors (read at
        the same time): no round trip once they are cached."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self._check_ids(ids)
        numbers = np.asarray(paragraphs, dtype=np.int64).reshape(-1)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        f_documents = _pool().submit(self.document_cosines, vector, docs)
        holding = self.paragraph_of(ids)
        table = self._paragraphs(np.concatenate([holding, numbers]))
        cosines = np.zeros(ids.size, dtype=np.float64)
        asked = []
        for number in np.unique(holding):
            where = np.flatnonzero(holding == number)
            info = table[int(number)]
            if info["sentences"] is None:  # too long for one VARCHAR: ask Milvus
                asked.append(where)
            else:
                cosines[where] = (info["sentences"] @ vector)[ids[where] - info["first_row"]]
        if asked:
            where = np.concatenate(asked)
            cosines[where] = self.cosines(vector, ids[where])[0]
        paragraph_dense, paragraph_lexical = self._paragraph_scores(table, query_tokens, vector, numbers)
        return Evidence(
            cosines=cosines,
            sentence_paragraphs=holding,
            paragraph_dense=paragraph_dense,
            paragraph_lexical=paragraph_lexical,
            document_dense=f_documents.result(),
        )

    def paragraph_of(self, ids: np.ndarray) -> np.ndarray:
        """The paragraph number of each sentence id (from the paragraph starts in ``_meta``, no round trip)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self._check_ids(ids)
        return (np.searchsorted(self._paragraph_starts, ids, side="right") - 1).astype(np.int64)

    # ----------------------------------------------------------------- cosines by id

    def _filtered_cosines(
        self, name: str, field: str, vector: np.ndarray, key: str, ids: np.ndarray, extra: str = "", fields: Sequence[str] = (),
        metric: str = "IP",
    ) -> tuple[np.ndarray, dict[int, Mapping[str, Any]]]:
        """Inner products of ``vector`` with the ``field`` of the rows whose ``key`` is in ``ids``
        (a search restricted to those rows, so no vector travels back)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        unique = np.unique(ids)
        if not unique.size:
            return np.zeros(0, dtype=np.float64), {}
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        result = self._calls(
            f"reading {name}", "search", name, data=[vector.tolist()], anns_field=field,
            filter=_ids_filter(key, unique) + extra, limit=int(unique.size), output_fields=[key, *fields],
            search_params={"metric_type": metric},
        )  # fmt: skip
        table = {int(h["entity"][key]): {**h["entity"], "distance": float(h["distance"])} for h in (result[0] if result else [])}
        missing = [int(i) for i in unique if int(i) not in table]
        if missing:
            raise CorruptIndexError(f"{self.address.text}: {name} lacks rows {missing[:5]}; rebuild with: {self._hint()}")
        return np.array([table[int(i)]["distance"] for i in ids], dtype=np.float64), table

    def cosines(self, vector: np.ndarray, ids: np.ndarray, fields: Sequence[str] = ()) -> tuple[np.ndarray, dict[int, Mapping[str, Any]]]:
        """Cosine of each sentence id to the unit ``vector`` (one filtered search, no vectors shipped).

        Returns:
            ``(cosines in the order of ids, {id: {field: value}})`` for the scalar ``fields`` asked.
        """
        self._check_ids(ids)
        return self._filtered_cosines(self._names["sentences"], "dense", vector, "id", ids, fields=fields, metric=self._metric())

    def _paragraphs(self, numbers: np.ndarray) -> dict[int, dict[str, Any]]:
        """``{number: {"first_row", "rows", "tokens", "vector", "sentences"}}`` of paragraphs: cached,
        else read in one query (``sentences``: the sentences' vectors, or None when they did not fit)."""
        unique = np.unique(np.asarray(numbers, dtype=np.int64).reshape(-1))
        found, missing = self._paragraph_cache.get_many(unique)
        if missing.size:
            fields = ["first_row", "rows", "terms", "terms_complete", "vectors", "vectors_complete"]
            table = self._by_ids(self._names["paragraphs"], missing, fields)
            fresh = {}
            for number, row in table.items():
                first, count = int(row["first_row"]), int(row["rows"])
                if row["terms_complete"]:
                    tokens = row["terms"].split()
                else:  # too long for one VARCHAR: tokenize its sentences
                    tokens = [t for text in self.texts(np.arange(first, first + count)) for t in tokenize(text)]
                try:
                    stacked = decode_vectors(row["vectors"], self.dimension)
                except ValueError as exc:
                    raise CorruptIndexError(
                        f"{self.address.text}: the vectors of paragraph {number} are malformed ({exc}); rebuild with: {self._hint()}"
                    ) from None
                if stacked.shape[0] != (1 + count if row["vectors_complete"] else 1):
                    raise CorruptIndexError(
                        f"{self.address.text}: paragraph {number} holds {stacked.shape[0]} vectors for {count} sentences; "
                        f"rebuild with: {self._hint()}"
                    )
                sentences = stacked[1:] if row["vectors_complete"] else None
                fresh[number] = {"first_row": first, "rows": count, "tokens": tokens, "vector": stacked[0], "sentences": sentences}
            self._paragraph_cache.put_many(fresh)
            found.update(fresh)
        return found

    def paragraph_evidence(self, tokens: Sequence[str], vector: np.ndarray, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Of each paragraph number: the cosine of its mean vector to ``vector`` and its local
        BM25 score for query ``tokens`` (at most one round trip: for paragraphs not cached)."""
        numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
        return self._paragraph_scores(self._paragraphs(numbers), tokens, np.asarray(vector, dtype=np.float32).reshape(-1), numbers)

    def _paragraph_scores(
        self, table: Mapping[int, Mapping[str, Any]], tokens: Sequence[str], vector: np.ndarray, numbers: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if not numbers.size:
            return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.float32)
        cosines = np.stack([table[int(p)]["vector"] for p in numbers]) @ vector
        lexical = bm25_of_tokens(tokens, [table[int(p)]["tokens"] for p in numbers], self._paragraph_idf, self._paragraph_avgdl)
        return cosines.astype(np.float64), lexical

    def document_cosines(self, vector: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """Cosine of each document's unit mean vector to ``vector`` (0 for a document without
        sentences; at most one round trip: for documents not cached)."""
        docs = np.asarray(docs, dtype=np.int64).reshape(-1)
        if not docs.size:
            return np.zeros(0, dtype=np.float64)
        unique = np.unique(docs)
        found, missing = self._document_cache.get_many(unique)
        if missing.size:
            count = int(self.manifest["counts"]["documents"])
            if missing.min() < 0 or missing.max() >= count:
                raise InvalidArgumentError(f"document numbers must be in 0..{count - 1}, got {missing.min()}..{missing.max()}")
            found_rows = self._calls(
                f"reading {self._names['documents']}", "query", self._names["documents"],
                filter=_ids_filter("doc", missing) + " and chunk == 0", output_fields=["doc", "vector"], limit=int(missing.size),
            )  # fmt: skip
            fresh = {int(r["doc"]): np.asarray(r["vector"], dtype=np.float32) for r in found_rows}
            if len(fresh) != missing.size:
                lost = sorted(set(missing.tolist()) - set(fresh))
                raise CorruptIndexError(f"{self.address.text}: {self._names['documents']} lacks documents {lost[:5]}; rebuild with: {self._hint()}")
            self._document_cache.put_many(fresh)
            found.update(fresh)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        return (np.stack([found[int(d)] for d in docs]) @ vector).astype(np.float64)

    # ----------------------------------------------------------------- exact lexical evidence

    def lexical_scores(self, tokens: Sequence[str], ids: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """The local BM25 score (bm25s Lucene) of each sentence id for query ``tokens`` (``texts``: theirs, when read)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if texts is None:
            texts = self.texts(ids)
        return bm25_of_tokens(tokens, self._tokens_of(ids, texts), self._idf, self._avgdl)
