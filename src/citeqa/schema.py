"""Small frozen records that flow through the pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One source document as read (UTF-8, newlines untouched).

    Attributes:
        doc_id: Stable name of the document (file name relative to the source root).
        text: The full text; every offset in citeqa points into it.
        path: Where it was read from (``package:`` for the shipped article).
        sha256: Hex digest of the raw bytes (a file's, or a URL's response body), used
            to detect stale indexes.
        pages: For paged formats (PDF), ``pages[i]`` is the offset in ``text`` where page
            ``i + 1`` starts; None for the others.
        extractor: What turned the bytes into ``text`` ("text", "markdown-it", "trafilatura", "pypdf", "mammoth").
        extractor_version: Its version (with citeqa's rules), so an index built by
            another extractor is recognised as stale.
    """

    doc_id: str
    text: str
    path: str
    sha256: str
    pages: tuple[int, ...] | None = None
    # the defaults are citeqa.ingest.extract's TEXT_EXTRACTOR and TEXT_EXTRACTOR_VERSION
    extractor: str = "text"
    extractor_version: str = "1"


@dataclass(frozen=True)
class Sentence:
    """A sentence with exact offsets: ``document.text[start:end] == text``."""

    doc_id: str
    start: int
    end: int
    text: str
    paragraph_id: int
    paragraph_start: int
    paragraph_end: int


@dataclass(frozen=True)
class Hit:
    """One retrieved sentence.

    Attributes:
        text: The sentence, verbatim.
        score: The reranker's softmax share of this sentence among the candidates of this
            one question (the scores of all candidates sum to 1). Higher is better and hits
            come in descending order, but it is *not* a probability of being right: when
            every candidate is poor, the least poor one still gets a share near 1. How
            likely the answer is right is :attr:`Answer.confidence`. In an overview (a
            document's opening) or a reading on ("Tell me more", :mod:`citeqa.answer.reading`)
            nothing is ranked: each cited sentence scores an equal share. The sentences a
            [1] introduces (it ends with ":", or opens a list) are cited right after it with their own
            shares, 0 when not among the candidates, so an answer's scores may then rise after [2].
        doc_id: The document it comes from.
        sentence_id: Its row in the index.
        start: Character offset of the sentence in the document.
        end: End offset (exclusive); ``document[start:end] == text``.
        context: The whole paragraph the sentence stands in.
        context_start: Offset of ``context`` in the document, so the sentence sits at
            ``context[start - context_start:end - context_start]``.
        answer_spans: Character spans, relative to ``text``, of the words that answer
            the question (dates for "when", numbers for "how many"...), if any.
        page: 1-based page of ``start`` for paged documents (PDF); None for the others.
    """

    text: str
    score: float
    doc_id: str
    sentence_id: int
    start: int
    end: int
    context: str
    context_start: int = 0
    answer_spans: tuple[tuple[int, int], ...] = ()
    page: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (spans as lists)."""
        data = asdict(self)
        data["answer_spans"] = [list(span) for span in self.answer_spans]
        return data


@dataclass(frozen=True)
class Answer:
    """An extractive answer.

    Attributes:
        text: The answer: cited sentences verbatim, each followed by its marker ``[n]``.
            When abstaining, a sentence saying the documents don't seem to answer the
            question (followed by "Did you mean: ..." and the question respelled when a
            word of it looks like a typo of the documents' word,
            :mod:`citeqa.answer.spelling`), then the closest passages.
        citations: ``citations[i]`` is the sentence behind marker ``[i+1]``.
        abstained: True when nothing in the documents seems to answer the question.
        interpreted_as: The query actually searched (differs from the question when a
            follow-up was resolved against the conversation, or a request was unwrapped:
            "Tell me about Warsaw" is searched as "What is Warsaw?",
            :func:`citeqa.question.unwrap_request`); for a question about the
            documents as a whole or "Tell me more", what was read instead ("an overview: the
            first 3 sentences of report.txt", "reading on: the next sentence of report.txt",
            :mod:`citeqa.answer.reading`).
        confidence: The fitted probability (0..1) that citation [1] answers the question
            (:mod:`citeqa.answer.confidence`; its calibration error on held-out documents is
            0.09-0.31 per dataset, 0.035 pooled, see the README; a "What is X?" answered under
            X's title gets the rate fitted for that rule); None when not computed
            (an overview, a reading on).
    """

    text: str
    citations: list[Hit] = field(default_factory=list)
    abstained: bool = False
    interpreted_as: str = ""
    confidence: float | None = None

    def __post_init__(self) -> None:
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"text", "abstained", "interpreted_as", "confidence", "citations": [...]}``."""
        return {
            "text": self.text,
            "abstained": self.abstained,
            "interpreted_as": self.interpreted_as,
            "confidence": None if self.confidence is None else round(float(self.confidence), 4),
            "citations": [hit.to_dict() for hit in self.citations],
        }
