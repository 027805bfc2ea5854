"""Text of PowerPoint decks (.pptx): each slide's title, text and tables in slide order, then its speaker notes.

A ``.pptx`` is a zip of XML parts: ``ppt/presentation.xml`` lists the slides in order
(through its relationships), each slide holds shapes with paragraphs of text runs. Each
slide is read as the audience sees it, one paragraph per line with a blank line between
them: the title first (the title placeholder), then the other shapes in the order the slide
lists them (groups opened), a table's rows (with their column heads under a header row, as
"Quarter: Q3; Revenue: 4.1m."), a line break kept; then the slide's speaker notes, which
often carry the sentences the bullets only hint at. Slide numbers, dates and footers are
left out, and so are hidden slides, pictures, charts and SmartArt. The deck's title is the
title in its properties when its words are in the text, else the first slide's title.

Nothing in the file is run or fetched: the XML is parsed without entities or network, a
part outside the deck is not read, and a zip that would expand past
:data:`citeqa.ingest.archive.MAX_EXPANDED_BYTES` is refused; an old ``.ppt`` and a
password-protected deck are refused with what to do (:func:`citeqa.ingest.extract.sniff`).
"""

from __future__ import annotations

import functools
import posixpath
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from .archive import open_zip, properties_title, xml_part
from .extracted import Extracted
from .paragraphs import clean_lines, names_this_text, paragraph_document, table_rows

EXTRACTOR = "pptx"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1
#: Largest slide, notes or presentation part read, in bytes.
MAX_PART_BYTES = 20 * 1024 * 1024

_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SLIDE = _R + "/slide"
_NOTES = _R + "/notesSlide"
#: Placeholders that are not the slide's text: its number, date, footer, header, and the notes page's slide picture.
_FURNITURE = frozenset({"sldNum", "dt", "ftr", "hdr", "sldImg"})
_TITLES = frozenset({"title", "ctrTitle"})


@functools.cache
def extractor_version() -> str:
    """lxml's version plus this module's rules version."""
    return f"{version('lxml')}+r{RULES_VERSION}"


def _relations(archive: Any, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, archive path of the target); targets outside the deck are left out."""
    folder, name = posixpath.split(part)
    root = xml_part(archive, posixpath.join(folder, "_rels", name + ".rels"), MAX_PART_BYTES)
    found: dict[str, tuple[str, str]] = {}
    if root is None:
        return found
    for relation in root.iter(f"{{{_RELS}}}Relationship"):
        target = relation.get("Target") or ""
        if relation.get("TargetMode") == "External" or "://" in target:
            continue
        path = posixpath.normpath(target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target))
        if not path.startswith(".."):
            found[relation.get("Id") or ""] = (relation.get("Type") or "", path)
    return found


def _paragraph(paragraph: Any) -> str:
    """A DrawingML paragraph's text: its runs and fields, ``<a:br/>`` as a line break."""
    parts = []
    for child in paragraph:
        if child.tag in (f"{{{_A}}}r", f"{{{_A}}}fld"):
            parts.append("".join(t.text or "" for t in child.iter(f"{{{_A}}}t")))
        elif child.tag == f"{{{_A}}}br":
            parts.append("\n")
    return "".join(parts)


def _text_body(body: Any) -> list[str]:
    return [_paragraph(p) for p in body.iter(f"{{{_A}}}p")]


def _table(table: Any) -> list[str]:
    rows = [
        [" ".join(clean_lines("\n".join(_text_body(cell)))) for cell in row.iter(f"{{{_A}}}tc")]
        for row in table.iter(f"{{{_A}}}tr")
    ]
    properties = table.find(f"{{{_A}}}tblPr")
    headed = properties is not None and properties.get("firstRow") in ("1", "true") and len(rows) > 1
    return table_rows(rows[0], rows[1:]) if headed else table_rows(None, rows)


def _placeholder(shape: Any) -> str | None:
    """The shape's placeholder type ("title", "body", "sldNum"...), "body" for an untyped one, None for no placeholder."""
    ph = shape.find(f"{{{_P}}}nvSpPr/{{{_P}}}nvPr/{{{_P}}}ph")
    return None if ph is None else ph.get("type", "body")


def _shapes(tree: Any, title: list[str], blocks: list[str]) -> None:
    """The text of a shape tree in its order: a title placeholder's into ``title``, the rest into ``blocks``."""
    for shape in tree:
        tag = shape.tag if isinstance(shape.tag, str) else ""
        if tag == f"{{{_P}}}sp":
            kind = _placeholder(shape)
            body = shape.find(f"{{{_P}}}txBody")
            if kind in _FURNITURE or body is None:
                continue
            (title if kind in _TITLES else blocks).extend(_text_body(body))
        elif tag == f"{{{_P}}}grpSp":
            _shapes(shape, title, blocks)
        elif tag == f"{{{_P}}}graphicFrame":
            for table in shape.iter(f"{{{_A}}}tbl"):
                blocks.extend(_table(table))


def _slide(archive: Any, path: str) -> tuple[str, list[str]]:
    """A slide's title and its lines (title, text, tables, then its speaker notes); ("", []) for a hidden slide."""
    root = xml_part(archive, path, MAX_PART_BYTES)
    if root is None or root.get("show") in ("0", "false"):
        return "", []
    title: list[str] = []
    blocks: list[str] = []
    tree = root.find(f"{{{_P}}}cSld/{{{_P}}}spTree")
    if tree is not None:
        _shapes(tree, title, blocks)
    notes_path = next((target for kind, target in _relations(archive, path).values() if kind == _NOTES), None)
    notes = xml_part(archive, notes_path, MAX_PART_BYTES) if notes_path else None
    notes_tree = notes.find(f"{{{_P}}}cSld/{{{_P}}}spTree") if notes is not None else None
    if notes_tree is not None:
        _shapes(notes_tree, [], blocks)  # the notes page's own title placeholder is the slide's picture's
    heading = " ".join(clean_lines("\n".join(title)))
    return heading, ([heading] if heading else []) + clean_lines("\n".join(blocks))


def extract_pptx(data: bytes, name: str) -> Extracted:
    """The text of a PowerPoint deck: its title first, then each shown slide's lines, blank-line separated.

    Raises:
        SourceError: not a readable .pptx (damaged, not a deck, a zip bomb), or no text in it.
    """
    archive = open_zip(data, name, damaged="save it again from PowerPoint", too_big="split the deck or save it without embedded media")
    presentation = xml_part(archive, "ppt/presentation.xml", MAX_PART_BYTES)
    if presentation is None:
        raise SourceError(f"{name} is a zip file but not a PowerPoint deck (no readable ppt/presentation.xml); citeqa reads .pptx")
    relations = _relations(archive, "ppt/presentation.xml")
    lines: list[str] = []
    first_title = None
    for slide in presentation.iter(f"{{{_P}}}sldId"):
        kind, path = relations.get(slide.get(f"{{{_R}}}id") or "", ("", ""))
        if kind != _SLIDE:
            continue
        heading, slide_lines = _slide(archive, path)
        first_title = first_title or heading or None
        lines.extend(slide_lines)
    if not lines:
        raise SourceError(f"{name}: this deck has no text on its shown slides (only pictures, charts or nothing); nothing to index")
    title = properties_title(archive, "docProps/core.xml")
    if title is None or not names_this_text(title, lines):
        title = first_title  # "PowerPoint Presentation" or a template's name is not this deck's
    return paragraph_document(lines, title, EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "MAX_PART_BYTES", "RULES_VERSION", "extract_pptx", "extractor_version"]
