"""The :class:`Index`: build from sources, load from disk, retrieve and answer.

This module wires the pipeline stages together — sources → segment → embed →
storage → retrieval → compose — and holds no file format of its own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import storage
from .compose import MAX_CITATIONS, compose_answer
from .embed import DEFAULT_MODEL, Embedder, get_embedder
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
from .ranker import Mode, Ranker, abstain_decision, load_reranker
from .retrieval import Ranking, fuse_rankings
from .schema import Answer, Document, Hit
from .segment import RULES_VERSION, segment_documents, segmenter_info
from .sources import default_source, read_documents

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
        rows = stored.sentences
        self._doc = rows[:, 0]
        self._start = rows[:, 1]
        self._end = rows[:, 2]
        self._paragraph = rows[:, 3]
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
    def documents(self) -> list[Document]:
        """The indexed documents."""
        return list(self._stored.documents)

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
                    embedder = get_embedder(self._stored.manifest.get("model", DEFAULT_MODEL))
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
        p_start, p_end = self._paragraph_span(row)
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

    def _paragraph_span(self, row: int) -> tuple[int, int]:
        paragraph = self._paragraph[row]
        first = last = row
        while first > 0 and self._paragraph[first - 1] == paragraph:
            first -= 1
        while last + 1 < len(self) and self._paragraph[last + 1] == paragraph:
            last += 1
        return int(self._start[first]), int(self._end[last])

    @property
    def ranker(self) -> Ranker:
        """The ranking stage for this index (built on first use from the stored data)."""
        if self._ranker is None:
            with self._ranker_lock:
                if self._ranker is None:
                    texts = [self._text(row) for row in range(len(self))]
                    self._ranker = Ranker(
                        texts, self._stored.sentences, self._stored.vectors, self._stored.bm25, load_reranker()
                    )
        return self._ranker

    def _text(self, row: int) -> str:
        document = self._stored.documents[int(self._doc[row])]
        return document.text[int(self._start[row]) : int(self._end[row])]

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


def build_index(
    sources: Iterable[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    show_progress: bool = False,
    batch_size: int = 32,
) -> Index:
    """Build an index from files and folders and make it the live version of ``out``.

    Args:
        sources: .txt/.md files and folders (read recursively); None means the
            shipped article.
        out: The index folder. An existing index there is replaced atomically.
        model: A sentence-transformers model path or name (default: bundled MiniLM).
        embedder: Use this embedder instead of loading ``model``.
        show_progress: Show a progress bar while embedding.
        batch_size: Sentences per embedding batch.

    Returns:
        The new index, loaded back from disk and verified.

    Raises:
        SourceError: a source is missing, unreadable, not UTF-8, or no sentence was found.
    """
    import faiss

    documents = read_documents(sources)
    sentences = segment_documents(documents)
    if not sentences:
        raise SourceError("the sources hold no text to index; add some sentences and build again")
    embedder = embedder or get_embedder(model)
    number = {d.doc_id: i for i, d in enumerate(documents)}
    rows = np.array(
        [[number[s.doc_id], s.start, s.end, s.paragraph_id] for s in sentences], dtype=np.int64
    )
    texts = [s.text for s in sentences]
    vectors = embedder.encode(texts, batch_size=batch_size, show_progress=show_progress)
    flat = faiss.IndexFlatIP(embedder.dim)
    flat.add(vectors)
    info = {
        "model": embedder.model_name,
        "backend": embedder.backend,
        "dimension": embedder.dim,
        "vector_space": embedder.space,
        "metric": "inner_product",
        "faiss_index": "IndexFlatIP",
        "segmenter": segmenter_info(),
        "tokenizer": {"name": "citeqa.lexical", "version": TOKENIZER_VERSION, "bm25": "bm25s lucene k1=1.2 b=0.75"},
    }
    storage.write_version(
        Path(out), documents=documents, sentences=rows, vectors=flat, bm25=BM25Index.build(texts), info=info
    )
    return Index.load(out, embedder=embedder)


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
                    fresh = Index.load(self._path, embedder=self._index.embedder)
                except CiteqaError as exc:
                    log.error("keeping the index that was serving; reload failed: %s", exc)
                else:
                    log.info("now serving %s", fresh.path)
                    self._index = fresh
                self._seen = current
            return self._index
