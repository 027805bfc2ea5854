"""The JSON shapes the servers promise to programs (gradio_client and MCP), as typed dicts.

They mirror :meth:`citeqa.schema.Hit.to_dict` and :meth:`citeqa.schema.Answer.to_dict`.
Gradio turns them into the return types ``Client.view_api()`` shows, and the MCP SDK into
each tool's output schema, so a change here is a change of contract: keep them in step
with the records (tests/serve/test_contracts.py checks the keys).
"""

from typing_extensions import (  # pydantic needs these on Python < 3.12
    NotRequired,
    TypedDict,
)

#: What ``score`` means, said the same way in every tool description and instruction.
SCORE_MEANING = (
    "score is the reranker's softmax share among the candidate sentences (up to 100) it weighed for "
    "this question (0 to 1; all candidates together sum to 1). It ranks sentences within one "
    "question; it is not a probability that the sentence is correct and can't be compared across "
    "questions. In an overview or a reading on (interpreted_as starts \"an overview:\" or \"reading "
    "on\") nothing is ranked and each cited sentence scores an equal share."
)
CONFIDENCE_MEANING = (
    "confidence is the fitted probability (0 to 1) that citation [1] answers the question, from a "
    "logistic model over absolute signals (similarity, word coverage, names and answer type found), "
    "null when not computed (an overview, a reading on); abstained, not confidence, is the decision."
)
ABSTAINED_MEANING = (
    "abstained is true when the documents don't seem to answer the question: text then says so, "
    "and citations are the closest passages, not an answer."
)


class HitJSON(TypedDict):
    """One cited sentence: ``document[start:end] == text``."""

    text: str
    score: float
    doc_id: str
    sentence_id: int
    start: int
    end: int
    context: str
    context_start: int
    answer_spans: list[list[int]]
    page: NotRequired[int | None]


class AnswerJSON(TypedDict):
    """An answer: cited sentences with markers [n]; ``citations[n-1]`` is marker [n]."""

    text: str
    abstained: bool
    interpreted_as: str
    confidence: float | None
    citations: list[HitJSON]


class RetrieveJSON(TypedDict):
    """The sentences most relevant to a question, best first (retrieval never abstains)."""

    question: str
    hits: list[HitJSON]


HIT_FIELDS = (
    'each hit is {"text": the sentence verbatim, "doc_id", "start", "end": character offsets '
    'with document[start:end] == text, "score", "sentence_id", "context": its whole paragraph, '
    '"context_start": the paragraph\'s offset, "answer_spans": [[start, end], ...] relative to text '
    "marking the words that answer the question, empty when unsure}"
)
