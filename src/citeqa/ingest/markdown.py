"""Text of Markdown files (markdown-it-py, CommonMark with tables and footnotes): what a reader sees, not the markup.

Each block is a paragraph of one line with a blank line between them, as HTML pages are
extracted: a heading without its ``#`` marks, a paragraph's wrapped lines joined by
spaces (a hard line break or ``<br>`` keeps its break), a list item starting with "- ",
a table row with its column heads ("Sensor: PX-40; Range: 40 m."), and a code block's lines joined by spaces, a blank line
in it ending a paragraph. Emphasis and code marks, link targets, link reference
definitions, images, HTML comments and tags are left out (the text inside tags is kept);
footnotes come last without their "[^1]" markers; a wiki link reads as its text
("[[Tide tables|the tables]]" as "the tables"); YAML front matter is left out, its
``title`` becoming the first line. Nothing is rendered to HTML or fetched: the file is data.

Limits: other Markdown extensions (math, admonitions, definition lists) stay as their
literal text.
"""

from __future__ import annotations

import functools
import re
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from .extracted import Extracted
from .paragraphs import clean_lines, code_paragraphs, element_text, paragraph_document, table_rows

EXTRACTOR = "markdown-it"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1

#: YAML front matter: a "---" first line, up to a "---" or "..." line.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
#: A wiki link (Obsidian, Foam, many wikis): "[[Page]]" or "[[Page|shown text]]".
_WIKI_LINK = re.compile(r"\[\[([^\[\]|\n]+)(?:\|([^\[\]\n]+))?\]\]")
#: Elements of an HTML block whose text is not the document's.
_HIDDEN_TAGS = ("script", "style", "template", "noscript")


@functools.cache
def extractor_version() -> str:
    """markdown-it-py's version plus this module's rules version."""
    return f"{version('markdown-it-py')}+r{RULES_VERSION}"


@functools.cache
def _parser() -> Any:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).use(footnote_plugin)


def _front_matter(text: str) -> tuple[str | None, str]:
    """The front matter's title (None without one) and the text after the front matter.

    Only a block that reads as a YAML mapping is front matter; a document that merely starts
    with a "---" rule keeps it.
    """
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None, text
    import yaml

    try:
        fields = yaml.safe_load(match.group(1) or "")
    except (yaml.YAMLError, RecursionError):  # not YAML after all: the text keeps it
        return None, text
    if not isinstance(fields, dict):
        return None, text
    title = fields.get("title")
    title = " ".join(clean_lines(title)) if isinstance(title, str) else None
    return title or None, text[match.end() :]


def _inline_text(token: Any) -> str:
    """The text a reader sees of an inline token: marks, link targets, images and footnote markers left out."""
    parts = []
    for child in token.children or ():
        if child.type == "text":
            parts.append(_WIKI_LINK.sub(lambda link: (link.group(2) or link.group(1)).strip(), child.content))
        elif child.type == "code_inline":
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "html_inline" and _LINE_BREAK_TAG.fullmatch(child.content.strip()):
            parts.append("\n")
    return "".join(parts)


def _html_text(html: str) -> str:
    """The text inside an HTML block's tags (comments, scripts and styles left out); a ``<br>`` breaks the line."""
    from lxml import etree

    try:
        root = etree.fromstring(html, etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True))
    except (etree.LxmlError, ValueError):  # nothing to parse, or characters XML cannot hold
        return ""
    return "" if root is None else element_text(root, skip=lambda child: child.tag in _HIDDEN_TAGS)


def _blocks(tokens: list[Any]) -> list[str]:
    """The document's blocks in order, each a paragraph (a hard break may part one)."""
    blocks: list[str] = []
    item = False  # the next paragraph opens a list item
    row: list[str] | None = None
    head: list[str] | None = None  # the table's header row
    body: list[list[str]] = []
    in_head = False
    for token in tokens:
        kind = token.type
        if kind == "list_item_open":
            item = True
        elif kind == "list_item_close":
            item = False
        elif kind == "table_open":
            head, body = None, []
        elif kind in ("thead_open", "thead_close"):
            in_head = kind == "thead_open"
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            if in_head:
                head = row
            else:
                body.append(row)
            row = None
        elif kind == "table_close":
            blocks.extend(table_rows(head, body))
        elif kind == "inline":
            text = _inline_text(token)
            if row is not None:
                row.append(text)
            elif text.strip():
                blocks.append(("- " if item else "") + text)
                item = False
        elif kind in ("fence", "code_block"):
            blocks.extend(code_paragraphs(token.content))
        elif kind == "html_block":
            blocks.append(_html_text(token.content))
    return blocks


def extract_markdown(text: str, name: str) -> Extracted:
    """The text of a Markdown document: its blocks one per line, blank-line separated.

    Raises:
        SourceError: the document has no text (only markup, images or comments).
    """
    title, body = _front_matter(text.removeprefix("\ufeff"))
    tokens = _parser().parse(body)
    lines = clean_lines("\n".join(_blocks(tokens)))
    if not lines:
        what = "has no text, only markup, images or comments" if body.strip() else "holds no text"
        raise SourceError(f"{name}: this Markdown file {what}; add some text or leave the file out")
    if title is None and tokens and tokens[0].type == "heading_open":
        title = lines[0]
    return paragraph_document(lines, title, EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "RULES_VERSION", "extract_markdown", "extractor_version"]
