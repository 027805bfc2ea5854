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

MyST (Sphinx's Markdown, as in Jupyter Book and many projects' docs), when a file has its
roles or directives: a role reads as its text ("{ref}`the guide <guide>`" as "the guide"); a
directive (a "```{note}" or ":::{note}" fence) as reST's do (:mod:`citeqa.ingest.sphinx`): a
note's, warning's, tab's or figure caption's content as Markdown after its title argument, a
version note as "New in version 10.0: ...", ``{code-block}`` and the like as code,
``{eval-rst}`` as reStructuredText, a ``{toctree}`` not at all; its options (":caption: x")
are left out, as are targets ("(label)=") and "%" comment lines; a definition list's term
("Global" over ": In a ...") is a line before its definition.

Limits: other Markdown extensions (math, Pandoc's divs and admonitions, and definition lists
outside MyST files) stay as their literal text.
"""

from __future__ import annotations

import functools
import re
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from .extracted import Extracted
from .paragraphs import (
    clean_lines,
    code_paragraphs,
    element_text,
    paragraph_document,
    table_rows,
)
from .sphinx import (
    CODE_DIRECTIVES,
    NO_ARGUMENTS,
    TEXT_DIRECTIVES,
    UNSEEN_CONTENT,
    directive_name,
    role_text,
    version_note,
)

EXTRACTOR = "markdown-it"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 2

#: YAML front matter: a "---" first line, up to a "---" or "..." line.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_LINE_BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
#: A wiki link (Obsidian, Foam, many wikis): "[[Page]]" or "[[Page|shown text]]".
_WIKI_LINK = re.compile(r"\[\[([^\[\]|\n]+)(?:\|([^\[\]\n]+))?\]\]")
#: Elements of an HTML block whose text is not the document's.
_HIDDEN_TAGS = ("script", "style", "template", "noscript")
#: MyST's markup: a role ("{ref}`...`") or a directive's fence ("```{note}", ":::{note}").
_MYST = re.compile(r"\{[\w.:+-]+\}`|^[ \t]{0,3}(?:`{3,}|~{3,}|:{3,})[ \t]*\{([\w.:+-]+)\}", re.MULTILINE)
#: Directives that mark a file as MyST (R Markdown's and Quarto's "```{r}" cells do not).
_MYST_DIRECTIVES = TEXT_DIRECTIVES | CODE_DIRECTIVES | UNSEEN_CONTENT | {"eval-rst"}
#: A directive fence's info: "{name} arguments".
_DIRECTIVE = re.compile(r"^\{([\w.:+-]+)\}[ \t]*(.*)$", re.DOTALL)
#: A directive's option line (":caption: Setup"), before its content.
_OPTION = re.compile(r"^[ \t]*:[\w-]+:(?:[ \t].*)?$")
#: How deep a directive's content is read inside another one.
_MAX_DEPTH = 8


@functools.cache
def extractor_version() -> str:
    """markdown-it-py's version plus this module's rules version."""
    return f"{version('markdown-it-py')}+r{RULES_VERSION}"


@functools.cache
def _parser(myst: bool = False) -> Any:
    """CommonMark with tables, strikethrough and footnotes; with ``myst``, MyST's roles,
    targets, comments, ":::" fences and definition lists too (a "%" line is text in other Markdown)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin

    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).use(footnote_plugin)
    if myst:
        from mdit_py_plugins.colon_fence import colon_fence_plugin
        from mdit_py_plugins.deflist import deflist_plugin
        from mdit_py_plugins.myst_blocks import myst_block_plugin
        from mdit_py_plugins.myst_role import myst_role_plugin

        parser = parser.use(myst_role_plugin).use(myst_block_plugin).use(colon_fence_plugin).use(deflist_plugin)
    return parser


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
        elif child.type == "myst_role":
            parts.append(role_text(child.content))
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak" or child.type == "html_inline" and _LINE_BREAK_TAG.fullmatch(child.content.strip()):
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


def _options_off(content: str) -> str:
    """A directive's content without its options: ":key: value" lines or a "---" YAML block first."""
    lines = content.split("\n")
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is not None:
            return "\n".join(lines[end + 1 :])
    while lines and _OPTION.match(lines[0]):
        lines = lines[1:]
    return "\n".join(lines)


def _directive(token: Any, depth: int) -> list[str]:
    """The blocks of a fence: code, or a MyST directive's (:mod:`citeqa.ingest.sphinx`): its
    title argument, then its content read as Markdown (as code, reST or nothing for some)."""
    if depth >= _MAX_DEPTH:  # nested deeper than any real document: its text as code, read no further
        return code_paragraphs(token.content)
    match = _DIRECTIVE.match(token.info.strip())
    if match is None:
        return code_paragraphs(token.content) if token.type != "colon_fence" else _markdown_blocks(token.content, depth)
    name, arguments = match.group(1).lower(), " ".join(match.group(2).split())
    if token.type != "colon_fence" and directive_name(name) not in _MYST_DIRECTIVES:
        return code_paragraphs(token.content)  # a code cell ("```{r}", "```{python}") or a directive unknown here
    content = _options_off(token.content)
    if name in UNSEEN_CONTENT:
        return []
    if name in CODE_DIRECTIVES:
        return code_paragraphs(content)
    if name == "eval-rst":
        from .rst import text_blocks

        return text_blocks(content)
    inner = _markdown_blocks(content, depth) if content.strip() else []
    noted = version_note(name, arguments, inner)
    if noted is not None:
        return noted
    shown = [role_text(arguments)] if arguments and directive_name(name) not in NO_ARGUMENTS else []
    return shown + inner


def _markdown_blocks(text: str, depth: int) -> list[str]:
    """The blocks of a MyST directive's content, one level deeper."""
    return _blocks(_parser(True).parse(text), depth + 1)


def _blocks(tokens: list[Any], depth: int = 0) -> list[str]:
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
        elif kind == "code_block":
            blocks.extend(code_paragraphs(token.content))
        elif kind in ("fence", "colon_fence"):
            blocks.extend(_directive(token, depth))
        elif kind == "html_block":
            blocks.append(_html_text(token.content))
    return blocks


def is_myst(text: str) -> bool:
    """True when ``text`` uses MyST's roles or directives."""
    return any(match.group(1) is None or directive_name(match.group(1)) in _MYST_DIRECTIVES for match in _MYST.finditer(text))


def markdown_blocks(text: str, myst: bool) -> tuple[list[str], bool]:
    """The blocks of a piece of Markdown (a notebook's cell), read as MyST when ``myst``, and
    whether it opens with a heading."""
    tokens = _parser(myst).parse(text)
    return _blocks(tokens), bool(tokens) and tokens[0].type == "heading_open"


def extract_markdown(text: str, name: str) -> Extracted:
    """The text of a Markdown document: its blocks one per line, blank-line separated.

    Raises:
        SourceError: the document has no text (only markup, images or comments).
    """
    title, body = _front_matter(text.removeprefix("\ufeff"))
    tokens = _parser(is_myst(body)).parse(body)
    lines = clean_lines("\n".join(_blocks(tokens)))
    if not lines:
        what = "has no text, only markup, images or comments" if body.strip() else "holds no text"
        raise SourceError(f"{name}: this Markdown file {what}; add some text or leave the file out")
    if title is None and tokens and tokens[0].type == "heading_open":
        title = lines[0]
    return paragraph_document(lines, title, EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "RULES_VERSION", "extract_markdown", "extractor_version", "is_myst", "markdown_blocks"]
