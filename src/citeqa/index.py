"""The :class:`Index`: build from sources, load from disk, retrieve and answer.

This module wires the pipeline stages together — sources → segment → embed →
storage → retrieval → compose — and holds no file format of its own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import storage
from .compose import MAX_CITATIONS, compose_answer
from .embed import DEFAULT_MODEL, Embedder, embedder_for_space, get_embedder
from .errors import (
    CiteqaError,
    IncompatibleIndexError,
    IndexNotFoundError,
    InvalidArgumentError,
    SourceError,
    StaleIndexError,
)
from .lexical import TOKENIZER_VERSION, BM25Index, tokenize
from .query import clean_question, resolve_followup
from .ranker import Mode, Ranker, abstain_decision, context_arrays, load_reranker
from .retrieval import Ranking, fuse_rankings
from .schema import Answer, Document, Hit
from .segment import RULES_VERSION, segment_document, segmenter_info
from .sources import default_source, read_documents
from .vector_index import build_vector_index, check_index_type

log = logging.getLogger("citeqa")

MAX_K = 100


def _check_k(k: object) -> int:
    """Validate a count argument (``k``, ``max_citations``): a whole number in 1..100."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InvalidArgumentError(f"k must be a whole number, got {k!r}")
    if not 0 < int(k) <= MAX_K:
        raise InvalidArgumentError(f"k must be between 1 and {MAX_K}, got {k}")
    return int(k)


class Index:
    """A loaded, verified index: immutable once loaded and safe to share between threads.

    Build one with :func:`build_index`, open one with :meth:`Index.load`.
    """

    def __init__(self, stored: storage.StoredIndex, embedder: Embedder | None = None) -> None:
        self._stored = stored
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        rows = stored.sentences  # memory-mapped; the columns below are views, not copies
        self._doc = rows[:, 0]
        self._start = rows[:, 1]
        self._end = rows[:, 2]
        self._ranker: Ranker | None = None
        self._ranker_lock = threading.Lock()

    # ------------------------------------------------------------------ opening

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        check_stale: bool = True,
        embedder: Embedder | None = None,
    ) -> Index:
        """Open and verify the index at ``path``.

        Args:
            path: An index folder written by :func:`build_index` (or one version in it).
            check_stale: Refuse the index if a source changed since the build.
            embedder: Embed queries with this instead of the model the manifest names.

        Raises:
            IndexNotFoundError, CorruptIndexError, StaleIndexError, IncompatibleIndexError.
        """
        stored = storage.load_version(Path(path), check_stale=check_stale)
        _check_pipeline(stored.manifest, stored.path)
        if embedder is not None:
            _check_space(embedder, stored.manifest, stored.path)
        return cls(stored, embedder)

    # ------------------------------------------------------------------ facts

    @property
    def path(self) -> Path:
        """The version folder this index was loaded from."""
        return self._stored.path

    @property
    def manifest(self) -> dict[str, Any]:
        """The verified manifest (a copy)."""
        return dict(self._stored.manifest)

    @property
    def documents(self) -> Sequence[Document]:
        """The indexed documents (a read-only sequence; each text is read when accessed)."""
        return self._stored.documents

    def __len__(self) -> int:
        return int(self._stored.sentences.shape[0])

    @property
    def spans(self) -> np.ndarray:
        """A copy of the sentence table: int64 ``(n, 4)`` of document number, start, end, paragraph id."""
        return self._stored.sentences.copy()

    def sentence_counts(self) -> dict[str, int]:
        """How many sentences each document has in this index, by document id."""
        counts = np.bincount(self._doc, minlength=len(self._stored.documents))
        return {d.doc_id: int(n) for d, n in zip(self._stored.documents, counts)}

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r}, documents={len(self._stored.documents)}, sentences={len(self)})"

    @property
    def embedder(self) -> Embedder:
        """The query embedder (loaded on first use, checked against the manifest)."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    manifest = self._stored.manifest
                    embedder = embedder_for_space(manifest.get("model", DEFAULT_MODEL), manifest.get("vector_space"))
                    _check_space(embedder, self._stored.manifest, self._stored.path)
                    self._embedder = embedder
        return self._embedder

    # ------------------------------------------------------------------ search

    def hit(self, row: int, score: float) -> Hit:
        """The :class:`Hit` for sentence ``row``."""
        if not 0 <= row < len(self):
            raise InvalidArgumentError(f"sentence row must be in [0, {len(self)}), got {row}")
        document = self._stored.documents[int(self._doc[row])]
        start, end = int(self._start[row]), int(self._end[row])
        paragraph = self.ranker.paragraph_rows(row)
        p_start, p_end = int(self._start[paragraph[0]]), int(self._end[paragraph[-1]])
        return Hit(
            text=document.text[start:end],
            score=float(score),
            doc_id=document.doc_id,
            sentence_id=int(row),
            start=start,
            end=end,
            context=document.text[p_start:p_end],
            context_start=p_start,
        )

    @property
    def ranker(self) -> Ranker:
        """The ranking stage for this index (built on first use from the stored data)."""
        if self._ranker is None:
            with self._ranker_lock:
                if self._ranker is None:
                    self._ranker = Ranker(self._stored, load_reranker())
        return self._ranker

    def rank(
        self,
        query: str,
        top_k: int = 10,
        *,
        mode: Mode = "hybrid",
        vector: np.ndarray | None = None,
        question: str | None = None,
    ) -> Ranking:
        """Rank sentences for an already-cleaned query.

        Args:
            query: The query text (cleaned, follow-ups resolved).
            top_k: How many sentences to return.
            mode: "hybrid" (the product: dense + BM25 candidates reranked with paragraph
                context), or a baseline: "rrf", "dense", "bm25".
            vector: The query's embedding when already computed (evaluation batches them).
            question: The question whose wording decides the answer type (default: query).
        """
        if vector is None:
            vector = self.embedder.encode([query])[0]
        return self.ranker.rank(query, vector, top_k, mode=mode, question=question)

    def rank_turn(
        self,
        question: str,
        history: Sequence[Mapping[str, Any]] | None,
        top_k: int = 10,
        *,
        mode: Mode = "hybrid",
    ) -> tuple[str, Ranking]:
        """Rank for one conversation turn: resolve a follow-up, rank, fuse with the question as asked.

        Args:
            question: The cleaned question.
            history: Earlier turns (Gradio messages) or None.
            top_k: How many sentences to return.
            mode: Ranking mode (see :meth:`rank`).

        Returns:
            The query searched (the interpretation) and the ranking.
        """
        query = resolve_followup(question, history)
        ranking = self.rank(query, top_k, mode=mode, question=question)
        if query != question:  # a resolved follow-up: also rank the question as asked, then fuse
            ranking = fuse_rankings([ranking, self.rank(question, top_k, mode=mode, question=question)], top_k)
        return query, ranking

    def retrieve(self, question: str, k: int = 5) -> list[Hit]:
        """The ``k`` sentences most relevant to ``question``, best first.

        Raises:
            InvalidQuestionError: blank or over-long question.
            InvalidArgumentError: ``k`` outside 1..100.
        """
        k = _check_k(k)
        query = clean_question(question)
        ranking = self.rank(query, k)
        return [self.hit(int(i), float(s)) for i, s in zip(ranking.ids, ranking.scores)]

    def answer(
        self,
        question: str,
        history: Sequence[Mapping[str, Any]] | None = None,
        *,
        max_citations: int = MAX_CITATIONS,
    ) -> Answer:
        """Answer ``question`` with cited sentences of the documents.

        Args:
            question: The question.
            history: Earlier turns as Gradio messages (``[{"role", "content"}, ...]``);
                a follow-up ("What does it focus on?") is resolved against them.
            max_citations: At most this many sentences are cited (1..100).

        Returns:
            An :class:`Answer`; ``abstained`` is True when the documents don't seem to
            answer the question, and the citations are then the closest passages.
        """
        max_citations = _check_k(max_citations)
        cleaned = clean_question(question)
        query, ranking = self.rank_turn(cleaned, history, max(10, max_citations))
        hits = [self.hit(int(i), float(s)) for i, s in zip(ranking.ids, ranking.scores)]
        abstain = self._should_abstain(query, ranking)
        return compose_answer(
            hits, abstain=abstain, interpreted_as=query, question=cleaned, max_citations=max_citations
        )

    def _should_abstain(self, query: str, ranking: Ranking) -> bool:
        return abstain_decision(query, ranking, self.ranker).abstain


def _check_pipeline(manifest: Mapping[str, Any], where: Path) -> None:
    """Refuse an index whose BM25 tokens or sentences were made by other rules."""
    tokenizer = manifest.get("tokenizer", {}).get("version")
    rules = manifest.get("segmenter", {}).get("params", {}).get("rules_version")
    if tokenizer != TOKENIZER_VERSION or rules != RULES_VERSION:
        raise IncompatibleIndexError(
            f"index at {where} was built with tokenizer v{tokenizer} and segmentation rules "
            f"v{rules}; this citeqa uses v{TOKENIZER_VERSION} and v{RULES_VERSION}; rebuild it with citeqa build"
        )


def _check_space(embedder: Embedder, manifest: Mapping[str, Any], where: Path) -> None:
    expected = manifest.get("vector_space")
    if embedder.space != expected:
        raise IncompatibleIndexError(
            f"index at {where} holds vectors of {expected!r} but the query embedder makes "
            f"{embedder.space!r}; rebuild the index with this model or use the one it was built with"
        )


@dataclass(frozen=True)
class _Segmented:
    """Sentences of the documents to index, and the vectors already known for some."""

    rows: np.ndarray  # int64 (n, 4): document number, start, end, paragraph id
    texts: list[str]
    vectors: np.ndarray  # float32 (n, dim); rows in ``missing`` still to compute
    missing: np.ndarray  # int64 row numbers whose vectors must be computed
    reused_documents: int


def _previous_build(out: Path, embedder: Embedder) -> tuple[dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], str]:
    """Sentences and vectors of the live index at ``out`` per ``(doc_id, sha256)``, if reusable.

    Reusable means: same vector space and the same segmenter; and its stored vectors
    verify. Anything else (no index, another model, damage) means an empty map and a reason.
    """
    try:
        stored = storage.load_version(out, check_stale=False)
    except IndexNotFoundError:
        return {}, "first build"
    except CiteqaError as exc:
        return {}, f"the previous index is unusable ({exc})"
    manifest = stored.manifest
    if manifest.get("vector_space") != embedder.space or manifest.get("segmenter") != segmenter_info():
        return {}, "the previous index used another model or segmenter"
    vectors = stored.embeddings()
    if vectors is None:
        return {}, "the previous index has no usable stored vectors"
    rows = np.asarray(stored.sentences)
    order = np.argsort(rows[:, 0], kind="stable")
    bounds = np.searchsorted(rows[order, 0], np.arange(len(stored.documents) + 1))
    found: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for number, key in enumerate(stored.documents.keys()):
        picked = order[bounds[number] : bounds[number + 1]]
        found[key] = (rows[picked], vectors[picked])
    return found, "ok"


def _segment(documents: Sequence[Document], previous: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]], dim: int) -> _Segmented:
    """Segment the documents, taking sentences and vectors of unchanged ones from ``previous``."""
    rows: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    missing: list[np.ndarray] = []
    texts: list[str] = []
    next_paragraph = 0
    count = 0
    reused = 0
    for number, document in enumerate(documents):
        known = previous.get((document.doc_id, document.sha256))
        if known is not None:
            old_rows, old_vectors = known
            part = old_rows.copy()
            part[:, 0] = number
            if len(part):
                _, part[:, 3] = np.unique(part[:, 3], return_inverse=True)
                part[:, 3] += next_paragraph
            part_vectors = old_vectors
            reused += 1
        else:
            sentences = segment_document(document, next_paragraph)
            part = np.array(
                [[number, s.start, s.end, s.paragraph_id] for s in sentences], dtype=np.int64
            ).reshape(-1, 4)
            part_vectors = np.zeros((len(sentences), dim), dtype=np.float32)
            missing.append(np.arange(count, count + len(sentences), dtype=np.int64))
        texts.extend(document.text[int(s) : int(e)] for s, e in part[:, 1:3])
        if len(part):
            next_paragraph = int(part[:, 3].max()) + 1
        rows.append(part)
        vectors.append(part_vectors)
        count += len(part)
    return _Segmented(
        rows=np.concatenate(rows) if rows else np.zeros((0, 4), dtype=np.int64),
        texts=texts,
        vectors=np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32),
        missing=np.concatenate(missing) if missing else np.zeros(0, dtype=np.int64),
        reused_documents=reused,
    )


def build_index(
    sources: Iterable[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    backend: str | None = None,
    index_type: str = "auto",
    incremental: bool = True,
    show_progress: bool = False,
    batch_size: int | None = None,
) -> Index:
    """Build an index from files and folders and make it the live version of ``out``.

    Args:
        sources: .txt/.md files and folders (read recursively); None means the
            shipped article.
        out: The index folder. An existing index there is replaced atomically.
        model: A sentence-transformers model path or name (default: bundled MiniLM).
        embedder: Use this embedder instead of loading ``model``.
        backend: Embedding backend when no ``embedder`` is given (see
            :data:`citeqa.embed.BACKENDS`; default "auto": ONNX int8, torch as fallback).
        index_type: "auto" (exact below 100k sentences, HNSW above), "flat", "hnsw-sq8"
            or "ivf-sq8" (see :mod:`citeqa.vector_index`).
        incremental: Reuse the sentences and vectors of documents unchanged since the
            live index at ``out`` was built (same content hash, model and segmenter).
        show_progress: Show a progress bar while embedding.
        batch_size: Sentences per embedding batch (default: the embedder's own).

    Returns:
        The new index, loaded back from disk and verified.

    Raises:
        SourceError: a source is missing, unreadable, not UTF-8, or no sentence was found.
        InvalidArgumentError: an unknown backend or index type.
    """
    check_index_type(index_type)
    if batch_size is not None and batch_size <= 0:
        raise InvalidArgumentError(f"batch_size must be > 0, got {batch_size}")
    documents = read_documents(sources)
    embedder = embedder or get_embedder(model, backend)
    out = Path(out)
    previous, why = _previous_build(out, embedder) if incremental else ({}, "a full rebuild was asked for")
    segmented = _segment(documents, previous, embedder.dim)
    if not segmented.texts:
        raise SourceError("the sources hold no text to index; add some sentences and build again")
    if segmented.reused_documents:
        log.info("reusing the sentences and vectors of %d unchanged documents", segmented.reused_documents)
    elif incremental and why not in ("ok", "first build"):
        log.info("embedding every sentence: %s", why)
    vectors = segmented.vectors
    if segmented.missing.size:
        todo = [segmented.texts[int(i)] for i in segmented.missing]
        sizing = {} if batch_size is None else {"batch_size": batch_size}
        vectors[segmented.missing] = embedder.encode(todo, show_progress=show_progress, **sizing)
    return write_index(out, documents, segmented.rows, segmented.texts, vectors, embedder, index_type=index_type)


def write_index(
    out: str | os.PathLike[str],
    documents: Sequence[Document],
    rows: np.ndarray,
    texts: Sequence[str],
    vectors: np.ndarray,
    embedder: Embedder,
    *,
    index_type: str = "auto",
) -> Index:
    """Write segmented, embedded documents as the live index of ``out`` (the last build step).

    Args:
        out: The index folder.
        documents: The documents, in order.
        rows: int64 ``(n, 4)``: document number, start, end, paragraph id per sentence.
        texts: The sentence texts (``documents[d].text[start:end]``), for BM25.
        vectors: float32 ``(n, dim)`` unit vectors made by ``embedder``.
        embedder: The embedder that made ``vectors`` (recorded in the manifest; embeds queries).
        index_type: See :func:`build_index`.
    """
    built = build_vector_index(vectors, index_type)
    info = {
        "model": embedder.model_name,
        "backend": embedder.backend,
        "dimension": embedder.dim,
        "vector_space": embedder.space,
        "metric": "inner_product",
        "faiss_index": built.info["factory"],
        "faiss": built.info,
        "segmenter": segmenter_info(),
        "tokenizer": {"name": "citeqa.lexical", "version": TOKENIZER_VERSION, "bm25": "bm25s lucene k1=1.2 b=0.75"},
    }
    tokens = [tokenize(text) for text in texts]
    context = context_arrays(rows, texts, tokens, vectors, len(documents))
    storage.write_version(
        Path(out),
        documents=documents,
        sentences=rows,
        vectors=built.index,
        bm25=BM25Index.from_tokens(tokens),
        paragraph_bm25=context.paragraph_bm25,
        paragraph_vectors=context.paragraph_vectors,
        document_vectors=context.document_vectors,
        vocabulary=context.vocabulary,
        info=info,
        embeddings=vectors,
    )
    # the sources were hashed when read moments ago; a later change shows at the next load
    return Index.load(out, embedder=embedder, check_stale=False)


# ---------------------------------------------------------------------- the default index


def default_index_path() -> Path:
    """Where the default index lives.

    ``$CITEQA_INDEX`` if set; else ``index/`` of the source checkout citeqa runs from;
    else ``$XDG_DATA_HOME/citeqa/index`` (built on first use).
    """
    env = os.environ.get("CITEQA_INDEX")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "index").is_dir():
        return checkout / "index"
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "citeqa" / "index"


def open_default_index(path: Path | None = None) -> Index:
    """Load the default index, rebuilding it when it is missing or the shipped article changed.

    Only an index built from the shipped article alone is rebuilt automatically;
    any other problem is raised.
    """
    path = path or default_index_path()
    try:
        return Index.load(path)
    except IndexNotFoundError:
        log.warning("no index at %s yet; building it from the shipped article", path)
    except (StaleIndexError, IncompatibleIndexError) as exc:
        if storage.recorded_sources(path) != [default_source()]:
            raise
        log.warning("rebuilding the default index at %s: %s", path, exc)
    return build_index(None, path)


_default: Index | None = None
_default_lock = threading.Lock()


def default_index() -> Index:
    """The default index, loaded once per process (see :func:`open_default_index`)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = open_default_index()
        return _default


def resolve_index(index: Index | str | os.PathLike[str] | None) -> Index:
    """An :class:`Index` from an Index, a path, or None (the default index)."""
    if index is None:
        return default_index()
    if isinstance(index, Index):
        return index
    if isinstance(index, (str, os.PathLike)):
        return Index.load(index)
    raise InvalidArgumentError(f"index must be an Index, a path or None, got {type(index).__name__}")


def retrieve(question: str, k: int = 5, index: Index | str | os.PathLike[str] | None = None) -> list[Hit]:
    """The ``k`` sentences most relevant to ``question`` (default index when None)."""
    return resolve_index(index).retrieve(question, k)


def answer(
    question: str,
    history: Sequence[Mapping[str, Any]] | None = None,
    index: Index | str | os.PathLike[str] | None = None,
) -> Answer:
    """Answer ``question`` from the documents, citing their sentences (default index when None)."""
    return resolve_index(index).answer(question, history)


class LiveIndex:
    """The index a long-running server answers from, swapped when a rebuild lands.

    Each :meth:`get` does one ``stat`` of the index's pointer file; when it changed,
    the new version is loaded and verified *before* it replaces the old one. If it
    fails to load, the last good index keeps serving and the problem is logged.
    Loaded indexes are never mutated, so requests in flight are unaffected.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else default_index_path()
        self._is_default = path is None
        self._lock = threading.Lock()
        self._index = open_default_index(self._path) if self._is_default else Index.load(self._path)
        self._seen = storage.pointer_mtime(self._path)

    @property
    def path(self) -> Path:
        """The index folder being served."""
        return self._path

    def get(self) -> Index:
        """The newest good index (reloading first if the pointer changed)."""
        current = storage.pointer_mtime(self._path)
        if current == self._seen:
            return self._index
        with self._lock:
            if current != self._seen:
                try:
                    try:
                        fresh = Index.load(self._path, embedder=self._index.embedder)
                    except IncompatibleIndexError:  # rebuilt with another model or backend
                        fresh = Index.load(self._path)
                        _ = fresh.embedder  # load its query embedder before it serves
                except CiteqaError as exc:
                    log.error("keeping the index that was serving; reload failed: %s", exc)
                else:
                    log.info("now serving %s", fresh.path)
                    self._index = fresh
                self._seen = current
            return self._index
