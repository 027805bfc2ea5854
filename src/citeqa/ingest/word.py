"""Text of Word documents (.docx, read with mammoth): paragraphs, headings, lists, tables and notes.

mammoth turns the document's structure into simple HTML, which is read here as text, one
block per line with a blank line between them, as web pages are: a heading or paragraph as
it reads, a list item starting with "- ", a table row as "| cell | cell |" (with its column
heads, "Berth: North quay; Fee: 40 pounds.", under a header row Word repeats on each page), a line break
kept; footnotes and endnotes come last, without their "[1]" markers and back links;
tracked changes as accepted (deleted text left out), comments and images left out. The
title is the first line when the document starts with a heading (Word's Title style
counts), else the title in its properties when some word of it is in the text. Nothing in the file is
run or fetched: the zip's parts are only read, and a zip that would expand to more than
:data:`citeqa.ingest.archive.MAX_EXPANDED_BYTES` is refused.

Limits: text in shapes and text boxes that mammoth does not read, headers and footers,
charts and embedded objects are not indexed; an old binary ``.doc`` and a
password-protected file are refused with what to do.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from ..text import tokenize
from .archive import open_zip, properties_title
from .extracted import Extracted
from .paragraphs import clean_lines, element_text, paragraph_document, table_rows

EXTRACTOR = "mammoth"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1
#: Largest text part (``word/document.xml``, footnotes, styles) read, in bytes.
MAX_PART_BYTES = 100 * 1024 * 1024

_BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})
_LISTS = frozenset({"ul", "ol"})
#: mammoth's links between a note and its reference ("#footnote-1", "#endnote-ref-2").
_NOTE_LINK = re.compile(r"#(?:foot|end)note-")
_NOTE_ID = re.compile(r"(?:foot|end)note-")
#: Word's own title and subtitle styles are headings (mammoth's default map makes them paragraphs).
_STYLE_MAP = "p[style-name='Title'] => h1:fresh\np[style-name='Subtitle'] => h2:fresh"


@functools.cache
def extractor_version() -> str:
    """mammoth's version plus this module's rules version."""
    return f"{version('mammoth')}+r{RULES_VERSION}"


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """The document's zip, checked: a Word document, not damaged, not a zip bomb (an old .doc is refused by :func:`citeqa.ingest.extract.sniff`)."""
    archive = open_zip(data, name, damaged="save it again from Word", too_big="split the document or save it without embedded media")
    if "word/document.xml" not in set(archive.namelist()):
        raise SourceError(f"{name} is a zip file but not a Word document (no word/document.xml); citeqa reads .docx")
    # mammoth reads the text parts whole: each is held to MAX_PART_BYTES (pictures are never read)
    for info in archive.infolist():
        if info.filename.startswith("word/") and info.filename.endswith(".xml") and info.file_size > MAX_PART_BYTES:
            raise SourceError(
                f"{name}: its part {info.filename} would expand to {info.file_size:,} bytes, over the limit of "
                f"{MAX_PART_BYTES:,}; split the document"
            )
    return archive


def _skipped(child: Any) -> bool:
    """A nested list (its items are blocks of their own), or a note's marker or back link."""
    return child.tag in _LISTS or (child.tag == "a" and bool(_NOTE_LINK.match(child.get("href") or "")))


def _own_text(element: Any) -> str:
    """An element's text without its nested lists and without note markers and back links."""
    return element_text(element, skip=_skipped)


def html_blocks(root: Any) -> list[str]:
    """The blocks of mammoth's HTML (parsed, under ``root``) in reading order, one text each."""
    blocks: list[str] = []
    for element in root:
        if not isinstance(element.tag, str):
            continue
        if element.tag in _BLOCKS:
            blocks.append(_own_text(element))
        elif element.tag in _LISTS:
            for item in element:
                if item.tag != "li":
                    continue
                text = _own_text(item)
                if text.strip():  # a footnote or endnote is no list item, though mammoth lists them
                    blocks.append(text if _NOTE_ID.match(item.get("id") or "") else "- " + text)
                blocks.extend(html_blocks([nested for nested in item if nested.tag in _LISTS]))
        elif element.tag == "table":
            rows = [[_own_text(cell) for cell in row if cell.tag in ("td", "th")] for row in element.iter("tr")]
            # Word marks a header row only when it repeats on each page (mammoth's <th>); a
            # first row of plain cells may be data ("Chair | Ines Morrow"), so it is no header
            first = next(element.iter("tr"), None)
            headed = first is not None and first.find("th") is not None
            blocks.extend(table_rows(rows[0], rows[1:]) if headed else table_rows(None, rows))
        else:
            blocks.extend(html_blocks(element))
    return blocks


def extract_docx(data: bytes, name: str) -> Extracted:
    """The text of a Word document: title first, then its blocks one per line, blank-line separated.

    Raises:
        SourceError: not a readable .docx (damaged, not Word's, a zip bomb), or no text in it.
    """
    import mammoth
    from lxml import etree

    archive = _open_zip(data, name)
    no_images = mammoth.images.img_element(lambda image: {})  # the image's bytes are never read
    try:
        result = mammoth.convert_to_html(io.BytesIO(data), convert_image=no_images, style_map=_STYLE_MAP)
    except Exception as exc:  # noqa: BLE001 - mammoth raises what its parsers raise on a damaged part
        raise SourceError(f"{name}: cannot read this Word document ({type(exc).__name__}); save it again from Word") from None
    body = etree.fromstring(f"<div>{result.value}</div>", etree.HTMLParser(no_network=True)).find("body/div")
    lines = clean_lines("\n".join(html_blocks(body))) if body is not None else []
    if body is None or not lines:
        raise SourceError(f"{name}: this Word document has no text (only images, shapes or nothing); nothing to index")
    if len(body) and body[0].tag in ("h1", "h2"):
        title: str | None = lines[0]  # what the reader sees first; the properties' title is often a template's
    else:
        title = properties_title(archive, "docProps/core.xml")
        if title is not None and not set(tokenize(title)) & set(tokenize(" ".join(lines[:20]))):
            title = None  # "Document1", "Microsoft Word - old.doc": not this text's
    return paragraph_document(lines, title, EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "MAX_PART_BYTES", "RULES_VERSION", "extract_docx", "extractor_version"]
