"""Text of OpenDocument text files (.odt, LibreOffice's and OpenOffice's): paragraphs, headings, lists, tables and notes.

An ``.odt`` is a zip whose ``content.xml`` holds the text. It is read as the reader sees it,
one block per line with a blank line between them, as Word documents are: a heading or
paragraph as it reads, a list item starting with "- " (nested ones too), a table row as
"| cell | cell |" (with its column heads, "Berth: North quay; Fee: 40 pounds.", under header
rows the table marks as such), a line break kept, the spaces and tabs the format encodes
(``<text:s text:c="3"/>``) as spaces; footnotes and endnotes come last, without their
citation marks; tracked changes as accepted (deleted text left out); comments, the table of
contents and indexes, pictures and drawings left out. The title is the first line when the
document starts with a heading (the Title style counts), else the title in ``meta.xml``
when its words are in the text (:func:`citeqa.ingest.paragraphs.names_this_text`: docutils
writes "[no title]").

Nothing in the file is run or fetched: the XML is parsed without entities or network, and a
zip that would expand past :data:`citeqa.ingest.archive.MAX_EXPANDED_BYTES` is refused.
Limits: text in frames and text boxes, headers and footers, charts and embedded objects is
not indexed; a password-protected file is refused with what to do.
"""

from __future__ import annotations

import functools
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from .archive import open_zip, properties_title, xml_part
from .extracted import Extracted
from .paragraphs import clean_lines, names_this_text, paragraph_document, table_rows

EXTRACTOR = "odt"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1
#: Largest content.xml read, in bytes.
MAX_CONTENT_BYTES = 100 * 1024 * 1024

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"


def _t(name: str) -> str:
    return f"{{{_TEXT}}}{name}"


#: Parts of the text that are not the text a reader reads: a table of contents and indexes,
#: tracked changes' stored deletions, comments, note citation marks, page-break marks, frames.
_LEFT_OUT = frozenset(
    {
        _t("table-of-content"), _t("alphabetical-index"), _t("illustration-index"), _t("table-index"),
        _t("object-index"), _t("user-index"), _t("bibliography"), _t("tracked-changes"), _t("note-citation"),
        _t("soft-page-break"), f"{{{_OFFICE}}}annotation", f"{{{_OFFICE}}}annotation-end",
        "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}frame",
        "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}a",
    }
)


@functools.cache
def extractor_version() -> str:
    """lxml's version plus this module's rules version."""
    return f"{version('lxml')}+r{RULES_VERSION}"


class _Reader:
    """Reads content.xml's body into one-line paragraphs; notes are kept apart and come last."""

    def __init__(self, title_styles: frozenset[str]) -> None:
        self.blocks: list[str] = []
        self.notes: list[str] = []
        self.title_styles = title_styles
        self.starts_with_heading: bool | None = None

    def inline(self, element: Any) -> str:
        """A paragraph's text: spans and links as their text, ``<text:s>`` and tabs as spaces, line breaks kept; notes set aside."""
        parts = [element.text or ""]
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in (_t("s"), _t("tab")):  # encoded spaces (a run collapses to one, as everywhere) and tabs
                parts.append(" ")
            elif tag == _t("line-break"):
                parts.append("\n")
            elif tag == _t("note"):
                body = child.find(_t("note-body"))
                if body is not None:
                    self.notes.append(" ".join(self.paragraphs(body)))
            elif tag and tag not in _LEFT_OUT:
                parts.append(self.inline(child))
            parts.append(child.tail or "")
        return "".join(parts)

    def paragraphs(self, element: Any) -> list[str]:
        """The paragraphs of a note's or a cell's body, each on one line."""
        saved, self.blocks = self.blocks, []
        self.read(element)
        found, self.blocks = self.blocks, saved
        return [" ".join(clean_lines(block)) for block in found if block.strip()]

    def read(self, container: Any) -> None:
        """The blocks of ``container`` (the body, a section, a list item, a note's body) in reading order."""
        for child in container:
            tag = child.tag if isinstance(child.tag, str) else ""
            if not tag or tag in _LEFT_OUT:
                continue
            if tag in (_t("h"), _t("p")):
                text = self.inline(child)
                if self.starts_with_heading is None and text.strip():
                    styled = child.get(_t("style-name")) in self.title_styles
                    self.starts_with_heading = tag == _t("h") or styled
                self.blocks.append(text)
            elif tag == _t("list"):
                self.list(child)
            elif tag == f"{{{_TABLE}}}table":
                self.table(child)
            else:  # a section, an index body's wrapper we keep, a change region of inserted text
                self.read(child)

    def list(self, element: Any) -> None:
        """A list's items as "- item", each before the items of the lists nested in it."""
        for item in element:
            if item.tag not in (_t("list-item"), _t("list-header")):
                continue
            own = " ".join(clean_lines("\n".join(self.inline(child) for child in item if child.tag in (_t("p"), _t("h")))))
            if own:
                self.blocks.append("- " + own)
            for child in item:
                if child.tag == _t("list"):
                    self.list(child)

    def table(self, table: Any) -> None:
        header: list[list[str]] = []
        body: list[list[str]] = []

        def rows(container: Any, into: list[list[str]]) -> None:
            for child in container:
                if child.tag == f"{{{_TABLE}}}table-row":
                    into.append([" ".join(self.paragraphs(cell)) for cell in child if cell.tag == f"{{{_TABLE}}}table-cell"])
                elif child.tag == f"{{{_TABLE}}}table-header-rows":
                    rows(child, header)
                elif child.tag in (f"{{{_TABLE}}}table-rows", f"{{{_TABLE}}}table-row-group"):
                    rows(child, into)

        rows(table, body)
        self.blocks.extend(table_rows(header[0], header[1:] + body) if header else table_rows(None, body))


def _title_styles(content: Any) -> frozenset[str]:
    """The automatic paragraph styles derived from the Title style (LibreOffice names them "P1"...)."""
    names = {"Title"}
    for style in content.iter(f"{{{_STYLE}}}style"):
        if style.get(f"{{{_STYLE}}}parent-style-name") == "Title":
            names.add(style.get(f"{{{_STYLE}}}name") or "Title")
    return frozenset(names)


def refuse_encrypted(archive: Any, name: str) -> None:
    """Refuse an OpenDocument file whose parts are encrypted (a password), with what to do."""
    manifest = xml_part(archive, "META-INF/manifest.xml", 10_000_000)
    if manifest is not None and any(True for _ in manifest.iter(f"{{{_MANIFEST}}}encryption-data")):
        raise SourceError(
            f"{name} is password-protected; open it in LibreOffice and save it without a password, then build again"
        )


def cell_text(cell: Any) -> str:
    """The text of a table cell (an OpenDocument spreadsheet's too) as it reads, on one line."""
    return " ".join(_Reader(frozenset()).paragraphs(cell))


def extract_odt(data: bytes, name: str) -> Extracted:
    """The text of an OpenDocument text file: title first, then its blocks one per line, blank-line separated.

    Raises:
        SourceError: not a readable .odt (damaged, not a text document, a zip bomb),
            password-protected, or no text in it.
    """
    archive = open_zip(data, name, damaged="save it again from LibreOffice", too_big="split the document or save it without embedded media")
    refuse_encrypted(archive, name)
    content = xml_part(archive, "content.xml", MAX_CONTENT_BYTES)
    body = content.find(f"{{{_OFFICE}}}body/{{{_OFFICE}}}text") if content is not None else None
    if body is None:
        raise SourceError(f"{name} is a zip file but not an OpenDocument text (no readable content.xml with text); citeqa reads .odt")
    reader = _Reader(_title_styles(content))
    reader.read(body)
    lines = clean_lines("\n".join(reader.blocks + reader.notes))
    if not lines:
        raise SourceError(f"{name}: this document has no text (only pictures, frames or nothing); nothing to index")
    if reader.starts_with_heading:
        title: str | None = lines[0]
    else:
        title = properties_title(archive, "meta.xml")
        if title is not None and not names_this_text(title, lines):
            title = None  # a template's, an old file name's or a placeholder ("[no title]"), not this text's
    return paragraph_document(lines, title, EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "MAX_CONTENT_BYTES", "RULES_VERSION", "cell_text", "extract_odt", "extractor_version", "refuse_encrypted"]
