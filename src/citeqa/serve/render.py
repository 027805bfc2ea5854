"""HTML for the chat: answers with clickable markers, the source pane, the documents
list, and the plain-text copy. Pure functions over :mod:`citeqa.schema` records.

Document text is data, never markup: everything taken from a document (or typed by
the user) goes through :func:`escape_text` — HTML-escaped and Markdown made inert.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..answer.compose import ABSTAIN_MESSAGE, DID_YOU_MEAN, offered_respelling
from ..answer.confidence import describe_confidence
from ..errors import CiteqaError
from ..ingest.fetch import is_url
from ..question import MAX_QUESTION_CHARS, clean_question
from ..schema import Answer, Hit
from ..text import is_list_item, visible_controls

if TYPE_CHECKING:
    from ..index import Index
    from .workspace import DocumentInfo

#: Longer documents are shown as their cited paragraphs only, to keep the page light.
MAX_PANE_CHARS = 100_000

# Characters that HTML, Markdown, Gradio's LaTeX or an HTML template would read as
# syntax, written as numeric entities in one pass (escaping twice would mangle "&#x27;"
# into "&&#35;x27;") so document text is always shown literally. ":" too, so
# "javascript:" or "http://" in a document never becomes an autolink; "@" too, so an address
# ("harbour@example.org") does not either.
_ESCAPES = str.maketrans({ch: f"&#{ord(ch)};" for ch in "&<>\"'\\`*_{}[]()#!|~$:@"})
# GitHub-flavoured Markdown also links a bare "www." name (the chat's status line rendered
# "'www.example.org/page'" as a link holding "&#39;"): its dot is written as an entity.
_WWW = re.compile(r"(?i)\b(www)\.")


def escape_text(text: str) -> str:
    """Escape document text for a chat message: HTML-escaped, Markdown made inert."""
    out = text.translate(_ESCAPES)
    return _WWW.sub(r"\1&#46;", out)


def shown_question_html(question: str) -> str:
    """The user's turn as the chat shows it: escaped, a blank one marked, one too long cut (it is refused anyway)."""
    if not question or not question.strip():
        return "<em>(blank)</em>"
    if len(question) > MAX_QUESTION_CHARS:
        return escape_text(question[:MAX_QUESTION_CHARS]) + f" … <em>({len(question):,} characters)</em>"
    return escape_text(question)


def escape_name(name: str) -> str:
    """A document name for the page: escaped, its control and bidi characters shown as ``<U+202E>``."""
    return escape_text(visible_controls(name))


def emphasize(sentence: str, spans: Sequence[tuple[int, int]]) -> str:
    """``sentence`` escaped, with the answer spans (offsets into it) underlined."""
    out, at = [], 0
    for start, end in sorted((max(0, s), min(len(sentence), e)) for s, e in spans):
        if start < at or start >= end:
            continue
        out.append(escape_text(sentence[at:start]))
        out.append(f'<span class="cq-span">{escape_text(sentence[start:end])}</span>')
        at = end
    out.append(escape_text(sentence[at:]))
    return "".join(out)


def highlight_in_context(hit: Hit) -> str:
    """The hit's paragraph, escaped, with the cited sentence inside ``<mark>``."""
    local_start = hit.start - hit.context_start
    local_end = hit.end - hit.context_start
    before = hit.context[:local_start]
    after = hit.context[local_end:]
    return f"{escape_text(before)}<mark>{emphasize(hit.text, hit.answer_spans)}</mark>{escape_text(after)}"


def interpretation(question: str, answer: Answer) -> str:
    """The searched query when it differs from the question as asked, else ""."""
    try:
        asked = clean_question(question)
    except CiteqaError:
        asked = question
    query = answer.interpreted_as.strip()
    return query if query and query.casefold() != asked.strip().casefold() else ""


def _page(hit: Hit) -> str:
    """``"page N, "`` for a hit in a paged document (PDF), else ""."""
    return f"page {int(hit.page)}, " if hit.page is not None else ""


def _anchor(answer_id: str, number: int) -> str:
    return f"#cq-{answer_id}-{number}"


def render_answer(answer: Answer, *, answer_id: str = "a", question: str = "", note: str = "") -> str:
    """The chat reply: the answer with clickable markers, then its sources.

    Args:
        answer: The answer to show.
        answer_id: Ties the markers to the sentences of the source pane.
        question: The question as asked ("Interpreted as" is shown when it differs).
        note: An escaped notice to put first (e.g. that the index changed).
    """
    parts = [f'<p class="cq-note">{note}</p>'] if note else []
    interpreted = interpretation(question, answer) if question else ""
    if interpreted:
        parts.append(f'<p class="cq-interp"><em>Interpreted as: “{escape_text(interpreted)}”</em></p>')
    markers = [
        f'<a class="cq-marker" href="{_anchor(answer_id, i)}" title="Show source {i}">[{i}]</a>'
        for i in range(1, len(answer.citations) + 1)
    ]
    if answer.abstained:
        respelled = offered_respelling(answer.text)
        if respelled:  # a link that asks the question respelled (chat.js)
            first = escape_text(f"{ABSTAIN_MESSAGE} {DID_YOU_MEAN}") + (
                f'<a class="cq-respelled" href="#respelled" title="Ask this question">{escape_text(respelled)}</a>'
            )
        else:
            first = escape_text(answer.text.splitlines()[0] if answer.text else ABSTAIN_MESSAGE)
        closest = "".join(
            f"<li>{escape_text(hit.text)} {marker}</li>" for hit, marker in zip(answer.citations, markers)
        )
        body = f'<p class="cq-abstain-title">Not answered: {first}</p>'
        if closest:
            body += f"<p>Closest passages (not an answer):</p><ol>{closest}</ol>"
        parts.append(f'<div class="cq-abstain">{body}</div>')
        heading = "Closest passages in context"
    else:
        cited = "".join(  # a list's items each on a line of its own
            ("<br>" if number and is_list_item(hit.text) else " " if number else "") + f"{emphasize(hit.text, hit.answer_spans)} {marker}"
            for number, (hit, marker) in enumerate(zip(answer.citations, markers))
        )
        parts.append(f'<p class="cq-answer">{cited}</p>')
        heading = f"Sources ({len(answer.citations)})"
    if answer.confidence is not None:
        shown = describe_confidence(answer.confidence) + " that [1] answers the question"
        parts.append(f'<p class="cq-confidence">{escape_text(shown)}</p>')
    if answer.citations:
        items = "".join(
            f'<li><a class="cq-source" href="{_anchor(answer_id, i)}">[{i}] {escape_name(hit.doc_id)}, '
            f"{_page(hit)}characters {hit.start}–{hit.end}</a><blockquote>{highlight_in_context(hit)}</blockquote></li>"
            for i, hit in enumerate(answer.citations, 1)
        )
        # Wide screens: folded, the source pane beside the chat shows the sentences. Narrow
        # screens (the pane is far below): each sentence in its paragraph right under the
        # answer. chat.css picks one by the screen's width.
        parts.append(f'<details class="cq-wide"><summary>{heading}</summary><ol>{items}</ol></details>')
        parts.append(f'<div class="cq-narrow">{_cited_paragraphs(answer.citations, answer_id)}</div>')
    return "".join(parts)


def _cited_paragraphs(citations: Sequence[Hit], answer_id: str) -> str:
    """Each paragraph holding a cited sentence, once, its cited sentences marked and numbered,
    under a line saying where they are (the reply's sources on a narrow screen)."""
    groups: dict[tuple[str, int], list[tuple[int, Hit]]] = {}
    for number, hit in enumerate(citations, 1):
        groups.setdefault((hit.doc_id, hit.context_start), []).append((number, hit))
    out = []
    for (doc_id, context_start), cited in groups.items():
        where = " · ".join(
            f'<a class="cq-source" href="{_anchor(answer_id, n)}">[{n}]</a> characters {h.start}–{h.end}' for n, h in cited
        )
        context = cited[0][1].context
        body, at = [], 0
        for number, hit in sorted(cited, key=lambda item: item[1].start):
            start, end = hit.start - context_start, hit.end - context_start
            if start < at or context[start:end] != hit.text:  # overlapping or not where it should be
                continue
            body.append(escape_text(context[at:start]))
            body.append(f'<mark><span class="cq-num">[{number}]</span>{emphasize(hit.text, hit.answer_spans)}</mark>')
            at = end
        body.append(escape_text(context[at:]))
        out.append(f'<p class="cq-meta">{escape_name(doc_id)}: {where}</p><blockquote>{"".join(body)}</blockquote>')
    return "".join(out)


def render_error(exc: CiteqaError) -> str:
    """A clear message for a refused question (never a traceback)."""
    return f'<p class="cq-error"><strong>Can\'t answer that:</strong> {escape_text(str(exc))}</p>'


def render_source_pane(answer: Answer, index: Index | None, *, answer_id: str, origins: Mapping[str, str] | None = None) -> str:
    """The source pane: each cited document in full, every cited sentence highlighted
    and numbered like its marker; under the name of a document added by address, a link to
    that address (``origins``: ``{document name: address}``).

    Shows only the cited paragraphs when ``index`` no longer holds the document (an
    older answer after the document was removed) or the document is very long.
    """
    documents = {d.doc_id: d for d in index.documents} if index is not None else {}
    by_doc: dict[str, list[tuple[int, Hit]]] = {}
    for number, hit in enumerate(answer.citations, 1):
        by_doc.setdefault(hit.doc_id, []).append((number, hit))
    kind = "cq-abstained" if answer.abstained else "cq-answered"
    heading = "Closest passages (not an answer)" if answer.abstained else "Cited sentences"
    jump = " ".join(
        f'<a class="cq-source" href="{_anchor(answer_id, i)}">[{i}]</a>'
        for i in range(1, len(answer.citations) + 1)
    )
    # data-answer lets chat.js scroll the pane to citation [1] of each newly shown answer
    parts = [f'<div class="cq-pane {kind}" id="cq-pane" data-answer="{escape_text(answer_id)}"><p class="cq-jump"><strong>{heading}:</strong> {jump}</p>']
    if not answer.citations:
        parts.append("<p>No passage to show.</p>")
    for doc_id, cited in by_doc.items():
        document = documents.get(doc_id)
        exact = (
            document is not None
            and len(document.text) <= MAX_PANE_CHARS
            and all(document.text[h.start : h.end] == h.text for _, h in cited)
        )
        parts.append(f"<h3>{escape_name(doc_id)}</h3>")
        link = _origin_link(str((origins or {}).get(doc_id, "")))
        if link:
            parts.append(f'<p class="cq-from">from {link}</p>')
        if exact:
            parts.append(f'<div class="cq-doc-text">{_marked_document(document.text, cited, answer_id)}</div>')
        else:
            for number, hit in cited:
                shift = hit.context_start
                local = [(number, dataclasses.replace(hit, start=hit.start - shift, end=hit.end - shift))]
                parts.append(f'<div class="cq-doc-text">{_marked_document(hit.context, local, answer_id)}</div>')
    parts.append("</div>")
    return "".join(parts)


def _marked_document(text: str, cited: Sequence[tuple[int, Hit]], answer_id: str) -> str:
    out, at = [], 0
    for number, hit in sorted(cited, key=lambda item: item[1].start):
        if hit.start < at:
            continue
        out.append(escape_text(text[at : hit.start]))
        page = f'<span class="cq-page">page {int(hit.page)}</span>' if hit.page is not None else ""
        out.append(
            f'<mark class="cq-cite" id="{_anchor(answer_id, number)[1:]}" tabindex="-1">'
            f'<span class="cq-num">[{number}]</span>{page}{emphasize(text[hit.start : hit.end], hit.answer_spans)}</mark>'
        )
        at = hit.end
    out.append(escape_text(text[at:]))
    return "".join(out)


def plain_text(answer: Answer) -> str:
    """The answer with its citations as plain text, for copying."""
    lines = [answer.text, "", "Sources:"]
    for number, hit in enumerate(answer.citations, 1):
        lines.append(f'[{number}] {visible_controls(hit.doc_id)}, {_page(hit)}characters {hit.start}-{hit.end}: "{hit.text}"')
    return "\n".join(lines) if answer.citations else answer.text


def _origin_link(address: str) -> str:
    """A link under a document's name to the web address it was added from ("" for none, or not http(s))."""
    if not address or not is_url(address):
        return ""
    shown = escape_text(visible_controls(address if len(address) <= 80 else address[:79] + "…"))
    return f'<a class="cq-origin" href="{html.escape(address, quote=True)}" rel="noopener noreferrer nofollow" target="_blank">{shown}</a>'


def render_documents(infos: Sequence[DocumentInfo], index: Index, busy: bool = False, notice: str = "") -> str:
    """The documents panel: what the chat answers from (and uploads not in it yet, or that failed)."""
    built = str(index.manifest.get("created_at", "?")).replace("T", " ").replace("+00:00", " UTC")
    rows = "".join(
        f'<tr><td class="cq-name">{escape_name(info.name)}{"<br>" + _origin_link(info.origin) if info.origin else ""}</td><td class="cq-n">{info.sentences:,}</td>'
        f"<td>{escape_text(info.state or info.added_at) if info.file else 'built in'}</td></tr>"
        for info in infos
    )
    indexed = sum(1 for info in infos if not info.state)
    state = " A rebuild is running; the chat answers from this index until it is done." if busy else ""
    if notice:
        state += f" {escape_text(notice)}"
    return (
        f'<div class="cq-docs"><p class="cq-meta">Index built {escape_text(built)}: {indexed} '
        f"document{'s' if indexed != 1 else ''}, {len(index):,} sentences.{state}</p>"
        f"<table><thead><tr><th>Document</th><th>Sentences</th><th>Added</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )
