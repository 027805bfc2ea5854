"""The query stage: check the question, then resolve follow-ups against the conversation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidArgumentError, InvalidQuestionError
from .lexical import STOPWORDS, words

MAX_QUESTION_CHARS = 1000

# Words that point back at something said earlier in the conversation.
_ANAPHORA = frozenset(
    "it its he him his she her hers they them their theirs this that these those there "
    "then one ones former latter same".split()
)


def clean_question(question: object) -> str:
    """Validate and normalize a question.

    Control and format characters (zero-width, direction marks) and lone surrogates
    are removed, white space is collapsed.

    Raises:
        InvalidQuestionError: not a string, blank, or longer than 1,000 characters.
    """
    if not isinstance(question, str):
        raise InvalidQuestionError(f"question must be text, got {type(question).__name__}")
    if len(question) > MAX_QUESTION_CHARS * 4:
        raise InvalidQuestionError(
            f"question is too long ({len(question):,} characters); keep it under "
            f"{MAX_QUESTION_CHARS:,} characters"
        )
    kept = []
    for ch in question:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            kept.append(" " if ch in "\t\n\r\v\f" else "")
        else:
            kept.append(ch)
    text = re.sub(r"\s+", " ", "".join(kept)).strip()
    if not text:
        raise InvalidQuestionError("question is blank; type a question about the documents")
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuestionError(
            "question has no letters or digits to search for; type a question about the documents"
        )
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"question is too long ({len(text):,} characters); keep it under "
            f"{MAX_QUESTION_CHARS:,} characters"
        )
    return text


def user_turns(history: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """The user's earlier questions from Gradio-style messages, oldest first.

    Raises:
        InvalidArgumentError: ``history`` is not a list of ``{"role", "content"}`` dicts.
    """
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise InvalidArgumentError(
            f"history must be a list of {{'role', 'content'}} messages, got {type(history).__name__}"
        )
    turns = []
    for number, message in enumerate(history):
        if not isinstance(message, Mapping) or "role" not in message:
            raise InvalidArgumentError(
                f"history[{number}] must be a {{'role', 'content'}} message, got {message!r:.80}"
            )
        content = message.get("content")
        if message["role"] == "user" and isinstance(content, str) and content.strip():
            turns.append(content)
    return turns


def content_words(text: str) -> list[str]:
    """Folded words of ``text`` without stop words or pointing words."""
    return [w for w in words(text) if w not in STOPWORDS and w not in _ANAPHORA]


def needs_context(question: str) -> bool:
    """True when a question leans on earlier turns: it points back ("it", "they"...) or
    names at most one thing ("and SAS?"). "What does the declaration focus on?" names
    its own subject and stands alone."""
    folded = words(question)
    return bool(set(folded) & _ANAPHORA) or len(content_words(question)) <= 1


def resolve_followup(question: str, history: Sequence[Mapping[str, Any]] | None) -> str:
    """The query to search for ``question`` given the conversation so far.

    A question that stands on its own is searched as asked. One that leans on the
    conversation (it points back with "it", "he", "they"... or has at most one content
    word, like "and SAS?") gets the content words of the previous question appended
    (its names and topic words), so the search knows what "it" is. The index ranks
    both the question as asked and this resolved query and fuses the two rankings
    (see :meth:`citeqa.Index.answer`), so carrying a wrong word costs little.

    Returns:
        The query; ``"question (carried words)"`` when something was carried, which is
        also what :attr:`Answer.interpreted_as` shows.
    """
    turns = user_turns(history)
    if not turns or not needs_context(question):
        return question
    own = set(content_words(question))
    carried: list[str] = []
    # Only a question's worth of the last turn: history comes from the client, unbounded.
    for word in content_words(turns[-1][: MAX_QUESTION_CHARS * 4]):
        if word not in own and word not in carried:
            carried.append(word)
    if not carried:
        return question
    return f"{question} ({' '.join(carried)})"
