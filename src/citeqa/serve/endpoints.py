"""The chat server's endpoints for programs (``gradio_client``): ``/chat``, ``/answer``, ``/retrieve``, and ``/answer_in``, ``/retrieve_in`` held to chosen documents.

Each answers from the index served now (``live.get()``). ``/answer`` and ``/retrieve`` keep
the inputs they have always had (a client posting ``{"data": [question]}`` as plain HTTP
broke when a third input was added); the ``_in`` twins take the documents to search as their
second input. A refused question, ``k`` or document name raises an error saying what to
change (``gradio_client``: ``AppError``); ``/chat`` renders it in the reply instead. The JSON
shapes are :mod:`.contracts`'.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import CiteqaError
from ..index import check_k
from .contracts import AnswerJSON, RetrieveJSON
from .render import render_answer, render_error

log = logging.getLogger("citeqa")


def history_messages(history: Sequence[Any] | None) -> list[dict[str, str]]:
    """The ``{"role", "content"}`` messages of a client's history; anything else in it is left out."""
    if not isinstance(history, (list, tuple)):  # None, or junk sent to the API: no history
        return []
    messages = []
    for message in history:
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            messages.append({"role": str(message.get("role", "")), "content": message["content"]})
    return messages


def endpoints(live: Any) -> dict[str, Callable[..., Any]]:
    """The endpoint functions by API name, answering from ``live`` (a ``LiveIndex`` or ``Library``)."""
    import gradio as gr

    def refused(exc: CiteqaError) -> Exception:
        # a refused question is the caller's mistake, not ours: no traceback in the log
        return gr.Error(str(exc), print_exception=False)

    def chat(message: str, history: list | None = None) -> str:  # type: ignore[type-arg]
        """Answer a question about the documents as HTML: cited sentences with markers [n],
        then each source highlighted in its paragraph.

        Args:
            message: The question.
            history: Earlier turns as [{"role", "content"}] messages, for follow-ups.
        """
        try:
            result = live.get().answer(message, history_messages(history))
        except CiteqaError as exc:
            return render_error(exc)
        except Exception:  # noqa: BLE001 - never show a traceback
            log.exception("unexpected error while answering")
            return "<p><strong>Something went wrong on our side.</strong> Please try again.</p>"
        return render_answer(result, answer_id=secrets.token_hex(3), question=message)

    def answer(question: str) -> AnswerJSON:
        """Answer a question about the documents as JSON: {"text", "abstained", "interpreted_as",
        "citations": [{"text", "doc_id", "start", "end", "score", "context", ...}]}; a refused
        question raises an error saying what to change.

        Args:
            question: The question.
        """
        try:
            return live.get().answer(question).to_dict()  # type: ignore[no-any-return]
        except CiteqaError as exc:
            raise refused(exc) from None

    def answer_in(question: str, documents: list[str]) -> AnswerJSON:
        """Answer a question from the documents named only, as JSON (the shape of /answer); its
        "interpreted_as" ends with "(only in ...)". A name the index does not hold raises an
        error listing those it holds.

        Args:
            question: The question.
            documents: Document names (each hit's "doc_id"; a folder ending with "/" or a pattern such as "*.pdf").
        """
        try:
            return live.get().answer(question, documents=list(documents or [])).to_dict()  # type: ignore[no-any-return]
        except CiteqaError as exc:
            raise refused(exc) from None

    def retrieve(question: str, k: int = 5) -> RetrieveJSON:
        """Find the sentences of the indexed documents most relevant to a question, best first.
        Returns {"question", "hits": [...]}; each hit is a verbatim sentence ("text") with its
        document ("doc_id"), exact character offsets ("start", "end": document[start:end] == text),
        "score", its paragraph ("context") and, for PDFs, its 1-based "page" (else null).

        Args:
            question: What to look for, in natural language.
            k: How many sentences to return (1 to 100).
        """
        try:
            hits = live.get().retrieve(question, check_k(k))
        except CiteqaError as exc:
            raise refused(exc) from None
        return {"question": question, "hits": [hit.to_dict() for hit in hits]}  # type: ignore[typeddict-item]

    def retrieve_in(question: str, documents: list[str], k: int = 5) -> RetrieveJSON:
        """Find the sentences most relevant to a question among the documents named only (the shape of /retrieve).

        Args:
            question: What to look for, in natural language.
            documents: Document names (each hit's "doc_id"; a folder ending with "/" or a pattern such as "*.pdf").
            k: How many sentences to return (1 to 100).
        """
        try:
            hits = live.get().retrieve(question, check_k(k), documents=list(documents or []))
        except CiteqaError as exc:
            raise refused(exc) from None
        return {"question": question, "hits": [hit.to_dict() for hit in hits]}  # type: ignore[typeddict-item]

    # gradio reads types, not postponed strings
    for function, types in (
        (answer, {"question": str, "return": AnswerJSON}),
        (answer_in, {"question": str, "documents": list[str], "return": AnswerJSON}),
        (retrieve, {"question": str, "k": int, "return": RetrieveJSON}),
        (retrieve_in, {"question": str, "documents": list[str], "k": int, "return": RetrieveJSON}),
    ):
        function.__annotations__.update(types)
    return {"chat": chat, "answer": answer, "retrieve": retrieve, "answer_in": answer_in, "retrieve_in": retrieve_in}


__all__ = ["endpoints", "history_messages"]
