"""One-line paragraphs as the HTML, Markdown and Word extractors give them: cleaned lines, code blocks, the title first.

These extractors give segmentation one paragraph per line with a blank line between them:
white space collapsed, invisible characters removed, a code block's lines joined by spaces,
a blank line inside it ending a paragraph (so a line of code such as ``EventEmitter,`` or
``});`` is no sentence of its own), and the document's title as the first line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..text import tokenize
from .extracted import Extracted

_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
#: A blank line (white space between two line breaks).
BLANK_LINES = re.compile(r"\n[ \t\f\v\r]*\n\s*")


def clean_lines(text: str) -> list[str]:
    """Lines of ``text`` with runs of spaces collapsed and invisible characters removed (blank lines dropped)."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _SPACES.sub(" ", _INVISIBLE.sub("", line)).strip()
        if line:
            lines.append(line)
    return lines


def element_text(
    element: Any,
    *,
    skip: Callable[[Any], bool] = lambda child: False,
    breaks: frozenset[str] = frozenset({"br"}),
    spaced: frozenset[str] = frozenset(),
) -> str:
    """An lxml element's text in document order, its children's tails included.

    A child for which ``skip`` is true gives only its tail (a script, a nested list, a note's
    back link); an element whose tag is in ``breaks`` is a line break; one in ``spaced`` (a
    paragraph inside a table cell) starts with a space. Comments give only their tails.
    """
    if not isinstance(element.tag, str):
        return ""
    parts = ["\n" if element.tag in breaks else element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and not skip(child):
            if child.tag in spaced:
                parts.append(" ")
            parts.append(element_text(child, skip=skip, breaks=breaks, spaced=spaced))
        parts.append(child.tail or "")
    return "".join(parts)


#: What a note's reference reads in a superscript: "1", "(2)", "*", "†".
_NOTE_NUMBER = re.compile(r"\s*(?:\(?\d{1,4}\)?|[*†‡§¶]+)\s*")
#: A bracketed marker in a superscript: "[1]", "[a]", "[note 2]", "[citation needed]".
_BRACKETED_NOTE = re.compile(r"\s*\[[^\[\]]{1,40}\]\s*")
#: What a note's back link reads: "^" (MediaWiki's), "↩" (pandoc's, Python-Markdown's), "↑".
_BACK_LINK = re.compile(r"\s*(?:\^|↩\ufe0e?|↑)\s*")
#: How writers mark note references and back links (EPUB's ``epub:type``, ARIA roles, pandoc's,
#: Python-Markdown's, Sphinx's and mdBook's classes).
_NOTE_KINDS = frozenset(
    {"noteref", "doc-noteref", "doc-backlink", "footnote-ref", "footnote-backref", "footnote-reference", "fn-backref"}
)


def _local_name(name: Any) -> str:
    return str(name).rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def is_note_marker(element: Any) -> bool:
    """True for an HTML ``<sup>`` or ``<a>`` that only marks a note: a reference ("[1]",
    "[citation needed]", a linked superscript "2") or a back link ("^", "↩").

    Left in the text, "...North Sea.[2]" reads like citeqa's own markers, which point at
    sentences. Kept: a superscript that is no link ("x²", "1st"), and a link that reads
    as text, even a short one ("the Rust and <a href="#c">C</a> representations", "step
    <a href="#s2">2</a>").
    """
    if not isinstance(element.tag, str) or _local_name(element.tag) not in ("a", "sup"):
        return False
    marks = " ".join(str(value) for key, value in element.attrib.items() if _local_name(key) in ("type", "role", "class"))
    if _NOTE_KINDS.intersection(marks.split()):
        return True
    text = element_text(element)
    if _local_name(element.tag) == "a":
        return "#" in (element.get("href") or "") and bool(_BACK_LINK.fullmatch(text))
    links = [a for a in element.iter() if isinstance(a.tag, str) and _local_name(a.tag) == "a"]
    if not links:
        return False
    in_page = any("#" in (link.get("href") or "") for link in links)
    return bool(_BRACKETED_NOTE.fullmatch(text)) or (in_page and bool(_NOTE_NUMBER.fullmatch(text)))


def code_paragraphs(code: str) -> list[str]:
    """A code block's paragraphs: its lines joined by spaces, a blank line ending one (none if it is blank)."""
    parts = (" ".join(clean_lines(part)) for part in BLANK_LINES.split(code))
    return [part for part in parts if part]


def table_rows(head: Sequence[str] | None, body: Sequence[Sequence[str]]) -> list[str]:
    """A table's rows as paragraphs: each body row with its column heads, else as "| cell | cell |".

    With a header row (Markdown's, reStructuredText's, a Word table's repeated header row),
    a row reads "Port: Norrby; High water: 07:45; Low water: 14:02." and so answers a question
    naming a column without the header row beside it ("When is high water at Norrby?" found
    the header row first); an empty cell is left out. Without one, cells are "| "-separated.
    """

    def cells(row: Sequence[str]) -> list[str]:
        return [" ".join(clean_lines(cell)) for cell in row]

    named = cells(head) if head is not None and any(cell.strip() for cell in head) else None
    out = []
    for row in map(cells, body):
        if not any(row):
            continue
        if named is None:
            out.append("| " + " | ".join(row) + " |")
            continue
        pairs = [f"{name}: {value}" if name else value for name, value in zip(named, row) if value]
        pairs += [value for value in row[len(named) :] if value]
        out.append("; ".join(pairs) + ("" if pairs[-1][-1:] in ".!?" else "."))
    if named is not None and not out:  # a header alone
        out.append("| " + " | ".join(named) + " |")
    return out


def names_this_text(title: str, lines: Sequence[str]) -> bool:
    """True when at least two words of a properties' ``title``, and at least half of them, are in the text's first 20 lines.

    A document's properties often hold a template's or a tool's title ("PowerPoint
    Presentation", docutils' "[no title]"); one shared word is not enough to take it for the text's.
    """
    words = set(tokenize(title))
    found = words & set(tokenize(" ".join(lines[:20])))
    return len(found) >= 2 and 2 * len(found) >= len(words)


def paragraph_document(lines: Sequence[str], title: str | None, extractor: str, extractor_version: str) -> Extracted:
    """The extracted record of one-line paragraphs: ``title`` first (added unless it is the first line), a blank line between them."""
    lines = list(lines)
    if title and (not lines or lines[0] != title):
        lines.insert(0, title)
    return Extracted(
        text="\n\n".join(lines),
        pages=None,
        extractor=extractor,
        extractor_version=extractor_version,
        title=title,
    )


__all__ = [
    "BLANK_LINES",
    "clean_lines",
    "code_paragraphs",
    "element_text",
    "is_note_marker",
    "names_this_text",
    "paragraph_document",
    "table_rows",
]
