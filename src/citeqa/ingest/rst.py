"""Text of reStructuredText files (docutils): what a reader of the rendered page sees, not the markup.

Each block is a paragraph of one line with a blank line between them, as web pages are
extracted: section titles (the first is the title), paragraphs, list items starting with
"- ", definition terms before their definitions, table rows with their column heads ("Port:
Norrby; High water: 07:45."; "| cell | cell |" without a header row), a literal
block's lines joined by spaces (a blank line in it ending a paragraph). Sphinx's roles read
as their text (":func:`~pkg.load`" as "load", ":ref:`the guide <guide>`" as "the guide") and
its directives that docutils does not know keep their content ("versionadded" reads "New in
version 3.1: ..."); comments, targets, substitution definitions, footnote markers, images,
table-of-contents and index entries are left out.

The file is data: ``include``, ``raw`` and the file or URL options of ``csv-table`` are
off, no configuration file is read, and nothing is fetched or run.

Limits: a document whose paragraphs are long and full of unclosed markup characters is
refused (:data:`MAX_INLINE_WORK`: docutils' time grows with their square); text an extension would generate (autodoc's API pages, ``literalinclude``) is not
there; an ``include``'s text is not indexed (index the included file itself).
"""

from __future__ import annotations

import functools
import io
import re
import textwrap
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from .extracted import Extracted
from .paragraphs import clean_lines, code_paragraphs, paragraph_document, table_rows
from .sphinx import (
    CODE_DIRECTIVES,
    NO_ARGUMENTS,
    UNSEEN_CONTENT,
    directive_name,
    role_text,
    version_note,
)

EXTRACTOR = "docutils"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 2

#: An unknown role as docutils leaves it: ":role:`text`" (Sphinx's :func:, :ref:, :doc:, ...).
_ROLE = re.compile(r":[\w.+:-]+:`(.*?)`", re.DOTALL)
#: The first line of an unknown directive as docutils quotes it: ".. name:: arguments".
_DIRECTIVE = re.compile(r"^\.\.\s+([\w.:+-]+)::[ \t]*(.*)$")
#: Where a footnote marker was ("tides [#]_." reads "tides."), and the space before it.
_MARKER = "\x00"
_MARKER_SPACE = re.compile(r"\s*\x00")
#: Where docutils' inline parsing may start a markup run; each one it cannot close is looked
#: for to the end of its paragraph, so its time grows with (starts x paragraph length).
_INLINE_START = re.compile(r"[`*|](?=\S)|_`")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
#: Most of that product a document may have: 18 times the most of 8,101 .rst files on our
#: build machine (5.6e6, six's documentation); about 3 s of parsing at worst, where a 20 kB
#: paragraph of unclosed backticks took 7 s and one of 150 kB six minutes.
MAX_INLINE_WORK = 100_000_000
#: How deep an unknown directive's content is read again inside another one.
_MAX_DEPTH = 8


@functools.cache
def extractor_version() -> str:
    """docutils' version plus this module's rules version."""
    return f"{version('docutils')}+r{RULES_VERSION}"


def inline_work(text: str) -> int:
    """An upper estimate of docutils' inline parsing work on ``text``: markup starts x paragraph length, summed."""
    return sum(len(_INLINE_START.findall(paragraph)) * len(paragraph) for paragraph in _PARAGRAPHS.split(text))


def _doctree(text: str) -> Any:
    """The document parsed by docutils with everything that reads files or URLs off."""
    from docutils.core import publish_doctree

    settings = {
        "report_level": 5,  # no messages printed
        "halt_level": 5,  # no message stops the parse
        "warning_stream": io.StringIO(),
        "file_insertion_enabled": False,  # include, csv-table :file:/:url:
        "raw_enabled": False,
        "_disable_config": True,  # no docutils.conf from the working directory
        "input_encoding": "unicode",
        "smart_quotes": False,
        "syntax_highlight": "none",
        # docutils refuses a whole document with a line over 10,000 characters (a paragraph
        # written on one line can be); inline parsing stays linear far beyond that
        "line_length_limit": 10_000,
    }
    return publish_doctree(text, settings_overrides=settings)


def _role_text(raw: str) -> str:
    """The text of an unknown role: ":func:`~pkg.load`" -> "load", ":ref:`the guide <g>`" -> "the guide"."""

    return _ROLE.sub(lambda match: role_text(match.group(1)), raw)


def _inline(node: Any) -> str:
    """The text a reader sees of an inline node: unknown roles as their text, footnote markers left out."""
    from docutils import nodes

    if isinstance(node, nodes.Text):
        return str(node)
    if isinstance(node, (nodes.footnote_reference, nodes.citation_reference)):
        return _MARKER
    if isinstance(node, (nodes.substitution_definition, nodes.target, nodes.image, nodes.system_message,
                         nodes.raw, nodes.comment)):
        return ""
    if isinstance(node, nodes.problematic):
        return _role_text(node.astext())
    return "".join(_inline(child) for child in node.children)


def _one_line(text: str) -> str:
    """An inline text as one line: the source's line ends are spaces, a footnote marker and the space before it go."""
    return _MARKER_SPACE.sub("", " ".join(text.split("\n")))


def _unknown_directive(block: str, depth: int) -> list[str]:
    """The blocks of a directive docutils does not know or could not run (quoted whole in ``block``): its arguments, then its content."""
    lines = block.split("\n")
    match = _DIRECTIVE.match(lines[0].strip())
    if match is None:
        return []
    name, arguments = match.group(1).lower(), match.group(2).strip()
    body = lines[1:]
    # options (":maxdepth: 2") come first, then the content
    while body and re.match(r"^\s+:[\w-]+:", body[0]):
        body = body[1:]
    content = textwrap.dedent("\n".join(body)).strip("\n")
    readable = bool(content.strip()) and depth < _MAX_DEPTH
    noted = version_note(name, arguments, _blocks(_doctree(content), depth + 1) if readable else [])
    if noted is not None:
        return noted
    if name in CODE_DIRECTIVES:
        return code_paragraphs(content)
    out: list[str] = []
    if arguments and directive_name(name) not in NO_ARGUMENTS:
        out.append(_role_text(arguments))
    if readable and name not in UNSEEN_CONTENT:
        out.extend(_blocks(_doctree(content), depth + 1))
    return out


def _blocks(node: Any, depth: int = 0) -> list[str]:
    """The blocks under ``node`` in reading order, one text each."""
    from docutils import nodes

    out: list[str] = []
    for child in node.children:
        if isinstance(child, (nodes.title, nodes.paragraph, nodes.term, nodes.rubric, nodes.line, nodes.attribution)):
            out.append(_one_line(_inline(child)))
        elif isinstance(child, (nodes.literal_block, nodes.doctest_block)):
            out.extend(code_paragraphs(child.astext()))
        elif isinstance(child, (nodes.bullet_list, nodes.enumerated_list)):
            for item in child.children:
                inner = _blocks(item, depth)
                if inner:
                    inner[0] = "- " + inner[0]
                out.extend(inner)
        elif isinstance(child, nodes.tgroup):  # a table: its header's last row names the columns
            rows = {kind: [[" ".join(_blocks(entry, depth)) for entry in row.children]
                           for part in child.children if isinstance(part, kind) for row in part.children]
                    for kind in (nodes.thead, nodes.tbody)}
            out.extend(table_rows(rows[nodes.thead][-1] if rows[nodes.thead] else None, rows[nodes.tbody]))
        elif isinstance(child, nodes.field) and len(child.children) == 2:
            name, body = child.children  # "Author: Someone", as a rendered field list reads
            inner = _blocks(body, depth)
            head = _one_line(_inline(name)) + ":"
            out.extend([f"{head} {inner[0]}", *inner[1:]] if inner else [head])
        elif isinstance(child, nodes.Bibliographic) and not isinstance(child, nodes.field):
            out.append(f"{child.tagname.capitalize()}: {' '.join(child.astext().split())}")  # author, version, date...
        elif isinstance(child, nodes.system_message):
            # a directive docutils does not know, or could not run (an option it lacks, such as
            # Sphinx's ":caption:"), is quoted whole in the message: read its content
            quoted = [c.astext() for c in child.children if isinstance(c, nodes.literal_block)]
            if quoted and _DIRECTIVE.match(quoted[0].split("\n", 1)[0].strip()):
                out.extend(_unknown_directive(quoted[0], depth))
        elif isinstance(child, (nodes.comment, nodes.target, nodes.substitution_definition, nodes.raw,
                                nodes.image, nodes.pending, nodes.label, nodes.transition, nodes.Text)):
            continue
        else:  # sections, lists' items, tables' parts, admonitions, quotes, definitions, footnotes...
            out.extend(_blocks(child, depth))
    return out


def text_blocks(text: str) -> list[str]:
    """The blocks of a piece of reStructuredText (MyST's ``eval-rst`` directive); too much
    markup to parse in reasonable time (:data:`MAX_INLINE_WORK`) reads as code."""
    if inline_work(text) > MAX_INLINE_WORK:
        return code_paragraphs(text)
    try:
        return _blocks(_doctree(text))
    except (RecursionError, ValueError, IndexError, AttributeError):
        return code_paragraphs(text)


def extract_rst(text: str, name: str) -> Extracted:
    """The text of a reStructuredText document: its blocks one per line, blank-line separated.

    Raises:
        SourceError: docutils cannot read it, or it has no text.
    """
    if inline_work(text) > MAX_INLINE_WORK:
        raise SourceError(
            f"{name}: this reStructuredText has paragraphs too long and too full of markup characters "
            "(`, *, |) to parse in reasonable time; split its long paragraphs, or save it as .txt"
        )
    try:
        doctree = _doctree(text.removeprefix("\ufeff"))
        lines = clean_lines("\n".join(_blocks(doctree)))
    except (RecursionError, ValueError, IndexError, AttributeError) as exc:
        raise SourceError(f"{name}: cannot read this reStructuredText ({type(exc).__name__}); check its markup") from None
    if not lines:
        raise SourceError(f"{name}: this reStructuredText file has no text; add some or leave the file out")
    from docutils import nodes

    titled = bool(doctree.children) and isinstance(doctree.children[0], nodes.title)
    return paragraph_document(lines, lines[0] if titled else None, EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "RULES_VERSION", "extract_rst", "extractor_version", "text_blocks"]
