"""The search stage's front door: a query in, a :class:`~citeqa.search.fusion.Ranking` out.

:class:`Ranker` gathers candidates (:mod:`citeqa.search.candidates`) and reranks them
(:mod:`citeqa.search.rerank`) — the product's "hybrid" mode — or runs one of the baselines
it is measured against ("rrf", "dense", "bm25"; :mod:`citeqa.search.fusion`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import InvalidArgumentError
from ..question import asked_topic
from ..store.seam import VectorSource, query_vector
from ..text import is_list_item
from .candidates import CandidateRetriever, top_n
from .cross import CROSS_CANDIDATES, CrossEncoder, cross_rerank
from .fusion import Ranking, hybrid_rank, single_rank
from .headings import HEADING_SENTENCES, asks_a_question, lead_first, looks_like_heading, text_first, topic_words
from .rerank import RerankerModel, rerank

if TYPE_CHECKING:
    from ..store.seam import SentenceStore

#: The text under a heading that asks a question is read this far at most (:meth:`Ranker.answer_under`).
SECTION_SENTENCES = 60
#: The ranking modes: the product's hybrid reranker and the baselines it is measured against.
MODES = ("hybrid", "rrf", "dense", "bm25")


Mode = Literal["hybrid", "rrf", "dense", "bm25"]


#: How deep a "What is X?" question's lead (:meth:`Ranker.topic_lead`) is looked for: an answer's depth.
LEAD_DEPTH = 10


class Ranker(CandidateRetriever):
    """Ranks the sentences of one loaded index (immutable after construction)."""

    def __init__(self, stored: SentenceStore | Any, model: RerankerModel, cross: CrossEncoder | None = None) -> None:
        """
        Args:
            stored: The loaded index behind the store seam (a StoredIndex is wrapped in a LocalStore).
            model: Reranker weights (and the abstention thresholds stored beside them).
            cross: The cross-encoder that rescores the reranker's best candidates in
                "hybrid" mode (:mod:`citeqa.search.cross`), or None to skip that stage.
        """
        super().__init__(stored)
        self.model = model
        self.cross = cross

    def rank(
        self,
        query: str,
        vector: VectorSource,
        top_k: int = 10,
        *,
        mode: Mode = "hybrid",
        question: str | None = None,
        documents: Sequence[int] | None = None,
    ) -> Ranking:
        """Rank sentences for ``query`` with one of :data:`MODES`.

        ``vector`` is the query's unit vector, or a function that returns it
        (:data:`citeqa.store.seam.VectorSource`; "hybrid" calls it once the store has started its BM25 search).
        ``documents`` (document numbers, "hybrid" only) holds the ranking to their sentences.
        """
        if mode not in MODES:
            raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if documents is not None and mode != "hybrid":
            raise InvalidArgumentError(f"only the hybrid mode ranks within chosen documents, got mode {mode!r}")
        n = len(self)
        if mode != "hybrid":  # the baselines search the vector first
            vector = query_vector(vector)
        if mode == "dense":
            scores, ids = self.store.dense_search(vector, min(n, top_k))
            keep = ids >= 0
            zeros = np.zeros(int(keep.sum()), dtype=np.float32)
            return single_rank(ids[keep], scores[keep], scores[keep], zeros, top_k)
        if mode == "bm25":
            lexical = self.store.bm25_scores(query)
            ids = top_n(lexical, top_k)
            return single_rank(ids, lexical[ids], np.zeros(ids.shape[0]), lexical[ids], top_k)
        if mode == "rrf":
            scores, ids = self.store.dense_search(vector, min(n, max(100, top_k)))
            return hybrid_rank(ids, scores, self.store.bm25_scores(query), top_k)
        topic = asked_topic(question if question is not None else query)
        depth = max(top_k, LEAD_DEPTH) if topic else top_k  # a topic's lead may rank below top_k
        cands, context, answer_type_of = self.gather_lazy(query, vector, question=question, documents=documents)
        weights, mlp = self.model.weights, self.model.layer
        if self.cross is None:
            ranked = rerank(cands, context, weights, depth, mlp=mlp, answer_type_of=answer_type_of)
        else:
            first = rerank(cands, context, weights, max(depth, CROSS_CANDIDATES), mlp=mlp, answer_type_of=answer_type_of)
            head = [self.text(int(i)) for i in first.ids[:CROSS_CANDIDATES]]
            ranked = cross_rerank(first, self.cross.logits(query, head), self.cross.weight, depth)
        ranked = text_first(ranked, self.is_heading, self.answer_under)
        return lead_first(ranked, self._lead_of(topic, ranked.ids)).head(top_k)

    def topic_lead(self, question: str, ids: np.ndarray) -> range | None:
        """The first paragraph of text under the title or heading that names what ``question``
        asks about as a whole (:func:`citeqa.question.asked_topic`: "What is Warsaw?" and a
        document titled "Warsaw", "What is a data frame?" and a section "6.3 Data frames"), when
        a ranked row is that heading or in the document it titles; None when there is none."""
        return self._lead_of(asked_topic(question), ids)

    def _lead_of(self, topic: tuple[str, ...] | None, ids: np.ndarray) -> range | None:
        """:meth:`topic_lead` for the question's topic, already found."""
        if topic is None or not len(ids):
            return None
        documents = self.store.rows(np.asarray(ids, dtype=np.int64))[:, 0].tolist()
        starts = self._document_ends - self.store.sentence_counts()
        # each ranked row and each ranked document's title, with its document
        headed = dict.fromkeys([*zip((int(i) for i in ids), documents), *((int(starts[d]), d) for d in documents)])
        for row, document in headed:
            rows = self.store.paragraph_rows(row)
            if not self.is_heading(row) or topic_words(" ".join(self.text(r) for r in rows)) != topic:
                continue
            lead = rows[-1] + 1
            if lead < int(self._document_ends[document]) and not self.is_heading(lead):
                return self.store.paragraph_rows(lead)
        return None

    def is_heading(self, row: int) -> bool:
        """Whether sentence ``row`` is (part of) a title or heading: its paragraph of at most
        :data:`~citeqa.search.headings.HEADING_SENTENCES` sentences reads as one
        (:func:`~citeqa.search.headings.looks_like_heading`), as "2.2. Closing the gate", which
        the segmenter cuts after "2.2.", does, or asks a question (an FAQ's question:
        :func:`~citeqa.search.headings.asks_a_question`)."""
        rows = self.store.paragraph_rows(row)
        if len(rows) > HEADING_SENTENCES:
            return False
        text = " ".join(self.text(r) for r in rows)
        return looks_like_heading(text) or asks_a_question(text)

    def answer_under(self, row: int) -> range | None:
        """The sentences of the text under sentence ``row`` when ``row`` is a heading that asks
        a question (:meth:`is_heading`, ending with "?"): from the next paragraph up to the next
        heading, the next paragraph asking a question or the document's end, at most
        :data:`SECTION_SENTENCES`; else None. A question with nothing under it (in an FAQ's
        contents list, questions follow questions) is looked up further on in its document,
        up to :data:`SECTION_SENTENCES` x 20 sentences: its answer is under it there. A heading
        that asks nothing answers with the list right under it, if one is ("What you may bring
        on board", then "- bicycles and prams" ...): its items, at most :data:`SECTION_SENTENCES`."""
        rows = self.store.paragraph_rows(row)
        if not self.is_heading(row):
            return None
        document = int(self.store.rows(np.array([row], dtype=np.int64))[0, 0])
        document_end = int(self._document_ends[document])
        if not asks_a_question(self.text(rows[-1])):
            end = first = rows[-1] + 1
            while end < min(first + SECTION_SENTENCES, document_end) and is_list_item(self.text(end)):
                end = self.store.paragraph_rows(end)[-1] + 1
            return range(first, min(end, document_end)) if end > first else None
        section = self._section(rows[-1] + 1, document_end)
        if section is None:
            asked = self.text(rows[-1])
            later = np.arange(rows[-1] + 1, min(document_end, rows[-1] + 1 + 20 * SECTION_SENTENCES), dtype=np.int64)
            for again, text in zip(later.tolist(), self.store.texts(later)):
                if text == asked and self.is_heading(again):
                    section = self._section(self.store.paragraph_rows(again)[-1] + 1, document_end)
                    if section is not None:
                        break
        return section

    @functools.cached_property
    def _document_ends(self) -> np.ndarray:
        """The row after each document's last sentence (documents' rows are consecutive, in order)."""
        return np.cumsum(self.store.sentence_counts())

    def _section(self, first: int, document_end: int) -> range | None:
        """The sentences from ``first`` up to the next heading or question, or ``document_end``
        (read paragraph by paragraph)."""
        last = min(first + SECTION_SENTENCES, document_end)
        end = first
        while end < last and not self.is_heading(end) and not self._asks(end):
            end = self.store.paragraph_rows(end)[-1] + 1
        end = min(end, last)
        return range(first, end) if end > first else None

    def _asks(self, row: int) -> bool:
        """Whether sentence ``row``'s paragraph, of any length, asks a question (a contents list's next one)."""
        return asks_a_question(" ".join(self.text(r) for r in self.store.paragraph_rows(row)))
