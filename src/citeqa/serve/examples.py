"""The chat's words: its example questions, title and heading, for the shipped article or any documents.

The shipped article's examples only make sense while the article is among the documents
served; for other documents (``citeqa serve --index my-index``) the examples are the
overview questions every set of documents answers (:func:`citeqa.question.overview_scope`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import DEFAULT_ARTICLE

# The first example answers; the second shows an overview (the article's opening); the last shows an
# abstention. ("When did the joint exercise take place?" was first until the shipped policy abstained
# on it: its [1] is an undated sentence.)
EXAMPLES = [
    "Where did the joint drill take place?",
    "What is this article about?",
    "What does the Shusha Declaration focus on?",
    "How many times has Erdogan visited Azerbaijan?",
    "What is the aim of the exercise?",
    "Who won the World Cup in 2018?",
]

# the page heading's first line becomes the browser tab's title
RETITLE_JS = "() => { const h = document.querySelector('#cq-title h1'); if (h) document.title = h.innerText.trim(); }"

HOW_IT_WORKS = (
    "**How it works:** every answer is made of the documents' own sentences, each followed by a "
    "marker like [1] that points to its exact place in the text, shown highlighted "
    '<span class="cq-intro-wide">in the source pane beside the chat</span>'
    '<span class="cq-intro-narrow">right under each answer</span>. '
    "Nothing is generated; when the documents don't say, citeqa says so and shows the closest passages."
)
PANE_PLACEHOLDER = (
    '<div class="cq-pane cq-empty" id="cq-pane"><p>Ask a question: the source document of the answer '
    "appears here, every cited sentence highlighted and numbered like its marker.</p></div>"
)
ARTICLE_TITLE = "citeqa: ask the article"
OTHER_TITLE = "citeqa: ask the documents"
ARTICLE_LABEL = "Example questions about the shipped article"
OTHER_LABEL = "Example questions"


def examples_for(doc_ids: Sequence[str]) -> tuple[str, list[str]]:
    """The label and questions of the examples shown for an index of these documents."""
    if DEFAULT_ARTICLE in doc_ids:
        return ARTICLE_LABEL, list(EXAMPLES)
    if len(doc_ids) == 1:
        return OTHER_LABEL, ["What is this document about?", "What is the title of the document?"]
    return OTHER_LABEL, ["What are these documents about?", "Which documents do you have?"]


def title_for(doc_ids: Sequence[str]) -> str:
    """The page's title for an index of these documents (read when the page is built)."""
    return ARTICLE_TITLE if list(doc_ids) == [DEFAULT_ARTICLE] else OTHER_TITLE


def heading(doc_ids: Sequence[str]) -> str:
    """The page's heading (Markdown): its title and how it works."""
    return f"# {title_for(doc_ids)}\n{HOW_IT_WORKS}"


__all__ = [
    "ARTICLE_LABEL", "ARTICLE_TITLE", "EXAMPLES", "HOW_IT_WORKS", "OTHER_LABEL", "OTHER_TITLE", "PANE_PLACEHOLDER", "RETITLE_JS",
    "examples_for", "heading", "title_for",
]
