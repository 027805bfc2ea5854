"""Text of EPUB e-books (.epub): the chapters in reading order, one paragraph per line, the book's title first.

An EPUB is a zip of XHTML chapters listed in a package file (``content.opf``, found through
``META-INF/container.xml``); its *spine* is the reading order. Each chapter of the spine is
read as the reader sees it: headings, paragraphs, list items ("- item"), definition terms
and descriptions, quotations, table rows (with their column heads under a header row of
``<th>`` cells, as web pages), a code block's lines joined by spaces; scripts, styles,
images and the navigation (the table of contents, ``<nav>`` and the spine's "nav" document)
are left out, and so are print page numbers (``epub:type="pagebreak"``) and note markers
(``epub:type="noteref"``, a linked "1" or "[2]", a "↩" back link:
:func:`citeqa.ingest.paragraphs.is_note_marker`), which read like citeqa's own [1]. Items of the spine
marked ``linear="no"`` (pop-up notes, answers kept apart) are read after the others.

Nothing in the book is run or fetched: the XML is parsed without entities or network; a part
whose path leaves the book is not read; a zip that would expand past
:data:`citeqa.ingest.archive.MAX_EXPANDED_BYTES` is refused; a book whose chapters are
encrypted (DRM) is refused with what to do (obfuscated fonts, which EPUBs often carry,
are not chapters and do not count).
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable
from importlib.metadata import version
from typing import Any
from urllib.parse import unquote

from ..errors import SourceError
from .archive import open_zip, read_part, xml_part
from .extracted import Extracted
from .paragraphs import clean_lines, code_paragraphs, element_text, is_note_marker, paragraph_document, table_rows

EXTRACTOR = "epub"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1
#: Largest chapter or package file read, in bytes.
MAX_PART_BYTES = 20 * 1024 * 1024

_CONTAINER = "META-INF/container.xml"
_ENCRYPTION = "META-INF/encryption.xml"
_CHAPTER_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/xml"})
#: Font obfuscation (IDPF's and Adobe's): fonts only, the text stays readable.
_FONT_OBFUSCATION = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})

_DROPPED = frozenset({"script", "style", "head", "nav", "img", "svg", "math", "object", "video", "audio", "iframe", "title"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_PARAGRAPHS = _HEADINGS | frozenset({"p", "dt", "dd", "figcaption", "caption", "address", "summary"})
_LISTS = frozenset({"ul", "ol"})
#: Elements that hold blocks (read block by block; text directly in them is a paragraph of its own).
_CONTAINERS = frozenset(
    {"body", "div", "section", "article", "aside", "main", "header", "footer", "figure", "blockquote", "dl", "details", "center", "hgroup"}
)
_BLOCKS = _PARAGRAPHS | _LISTS | _CONTAINERS | frozenset({"li", "pre", "table", "hr"})


@functools.cache
def extractor_version() -> str:
    """lxml's version plus this module's rules version."""
    return f"{version('lxml')}+r{RULES_VERSION}"


def _local(tag: Any) -> str:
    """A tag or attribute name without its namespace ("{http://...}item" -> "item")."""
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attribute(element: Any, name: str) -> str:
    """An attribute by its local name, whatever its namespace (``epub:type``, ``opf:role``)."""
    for key, value in element.attrib.items():
        if _local(key) == name or str(key).endswith(":" + name):
            return str(value)
    return ""


def _inside(base: str, href: str) -> str | None:
    """The archive path of ``href`` relative to the folder ``base``; None when it leaves the book or is a URL."""
    href = unquote(href.split("#", 1)[0])
    if not href or "://" in href or href.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(base, href))
    return None if path.startswith("../") or path == ".." else path


def _package(archive: Any, name: str) -> tuple[Any, str]:
    """The package document (content.opf) and the folder its hrefs are relative to."""
    root = xml_part(archive, _CONTAINER, MAX_PART_BYTES)
    if root is None:
        raise SourceError(f"{name} is a zip file but not an EPUB book (no readable {_CONTAINER}); citeqa reads .epub")
    for rootfile in root.iter():
        if _local(rootfile.tag) == "rootfile" and (rootfile.get("full-path") or "").strip():
            path = _inside("", rootfile.get("full-path").strip())
            package = xml_part(archive, path, MAX_PART_BYTES) if path else None
            if package is not None:
                return package, posixpath.dirname(path)
    raise SourceError(f"{name}: this EPUB's package file (content.opf) is missing or damaged; save or export the book again")


def _refuse_drm(archive: Any, name: str) -> None:
    """Refuse a book whose text is encrypted (fonts obfuscated the usual way are fine)."""
    root = xml_part(archive, _ENCRYPTION, MAX_PART_BYTES)
    if root is None:
        return
    for encrypted in root.iter():
        if _local(encrypted.tag) != "EncryptedData":
            continue
        method = next((e.get("Algorithm") for e in encrypted.iter() if _local(e.tag) == "EncryptionMethod"), None)
        if method not in _FONT_OBFUSCATION:
            raise SourceError(
                f"{name} is protected by DRM (its chapters are encrypted); citeqa cannot read it. "
                "Use a DRM-free copy of the book, or export its text"
            )


def _spine(package: Any, base: str) -> tuple[list[str], str | None]:
    """The chapters' archive paths in reading order (linear ones first), and the book's title."""
    items: dict[str, tuple[str, str, str]] = {}
    title = None
    for element in package.iter():
        local = _local(element.tag)
        if local == "item" and element.get("id") and element.get("href"):
            items[element.get("id")] = (element.get("href"), (element.get("media-type") or "").lower(), element.get("properties") or "")
        elif local == "title" and title is None and "purl.org/dc" in str(element.tag):
            title = " ".join(clean_lines(element.text or "")) or None
    # an EPUB 2 book's own table of contents, named in its guide, is navigation too
    contents = {
        _inside(base, reference.get("href") or "")
        for reference in package.iter()
        if _local(reference.tag) == "reference" and (reference.get("type") or "").lower() == "toc"
    }
    linear: list[str] = []
    aside: list[str] = []
    for itemref in package.iter():
        if _local(itemref.tag) != "itemref" or itemref.get("idref") not in items:
            continue
        href, media, properties = items[itemref.get("idref")]
        path = _inside(base, href)
        if path is None or media not in _CHAPTER_TYPES or "nav" in properties.split() or path in contents:
            continue
        (aside if (itemref.get("linear") or "").strip().lower() == "no" else linear).append(path)
    seen: set[str] = set()
    return [p for p in linear + aside if not (p in seen or seen.add(p))], title


def _skipped(child: Any) -> bool:
    """Left out of a paragraph's text: scripts, images, navigation, note markers, print page numbers, nested lists."""
    tag = _local(child.tag)
    if tag in _DROPPED or tag in _LISTS:
        return True
    if "pagebreak" in _attribute(child, "type").split() or (child.get("role") or "") == "doc-pagebreak":
        return True  # the printed edition's page number ("169"), often in the middle of a sentence
    return is_note_marker(child)


#: Blocks inside a paragraph-like element (a list item's or a cell's paragraphs): a space before each.
_SPACED = frozenset({"p", "div", "dt", "dd", "li", "blockquote"})


def _text(element: Any) -> str:
    return element_text(element, skip=_skipped, spaced=_SPACED)


def _table(table: Any) -> list[str]:
    rows = [row for row in table.iter() if _local(row.tag) == "tr"]
    cells = [[_text(cell) for cell in row if _local(cell.tag) in ("td", "th")] for row in rows]
    headed = bool(rows) and all(_local(cell.tag) == "th" for cell in rows[0] if isinstance(cell.tag, str))
    return table_rows(cells[0], cells[1:]) if headed and cells and cells[0] else table_rows(None, cells)


def _blocks(element: Any, out: list[str]) -> None:
    """The paragraphs of ``element``, a container of blocks, appended to ``out`` in reading order."""
    run = [element.text or ""]

    def flush() -> None:
        text = "".join(run)
        if text.strip():
            out.append(text)
        run.clear()

    for child in element:
        tag = _local(child.tag)
        if not tag or tag in _DROPPED or "toc" in _attribute(child, "type").split():
            run.append(child.tail or "")
            continue
        if tag not in _BLOCKS:
            if not _skipped(child):
                run.append(_text(child))
            run.append(child.tail or "")
            continue
        flush()
        if tag in _PARAGRAPHS:
            out.append(_text(child))
        elif tag in _LISTS:
            _list(child, out)
        elif tag == "li":
            _item(child, out)
        elif tag == "pre":
            out.extend(code_paragraphs(element_text(child)))
        elif tag == "table":
            out.extend(_table(child))
        elif tag in _CONTAINERS:
            _blocks(child, out)
        run.append(child.tail or "")
    flush()


def _list(element: Any, out: list[str]) -> None:
    for item in element:
        if _local(item.tag) == "li":
            _item(item, out)


def _item(item: Any, out: list[str]) -> None:
    """A list item: "- " and its own text (its paragraphs joined), then the items of the lists nested in it."""
    own = " ".join(clean_lines(_text(item)))
    if own:
        out.append("- " + own)
    for nested in item.iter():
        if nested is not item and _local(nested.tag) in _LISTS and _owner(nested) is item:
            _list(nested, out)


def _owner(element: Any) -> Any:
    """The list item ``element`` is in (None outside any)."""
    parent = element.getparent()
    while parent is not None and _local(parent.tag) != "li":
        parent = parent.getparent()
    return parent


_SOURCE_SPACE = re.compile(r"[ \t\r\n\f\v]+")
#: Characters XML cannot hold (lxml refuses them as text); a damaged chapter's parse may carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _spaced(text: str) -> str:
    return _SOURCE_SPACE.sub(" ", _NOT_XML.sub("", text))


def _collapse_source_breaks(body: Any) -> None:
    """The line breaks of the chapter's source become spaces, as a reader shows them (a
    ``<br>`` keeps its own; a ``<pre>`` block keeps its lines): books wrap their paragraphs
    at 70 characters ("was an" / "English writer"), which would split every sentence."""
    kept = {inner for pre in body.iter() if _local(pre.tag) == "pre" for inner in pre.iter()}  # a <pre> and all in it
    for element in body.iter():
        if not isinstance(element.tag, str):
            continue
        if element not in kept and element.text:
            element.text = _spaced(element.text)
        if element.getparent() not in kept and element.tail:  # a tail is its parent's text
            element.tail = _spaced(element.tail)


def _chapter(data: bytes) -> list[str]:
    """A chapter's paragraphs (lenient HTML parsing: many books' XHTML is not well-formed)."""
    from lxml import etree

    try:
        root = etree.fromstring(data, etree.HTMLParser(no_network=True, remove_comments=True, remove_pis=True))
    except (etree.LxmlError, ValueError):
        return []
    if root is None:
        return []
    body = next((e for e in root.iter() if _local(e.tag) == "body"), root)
    _collapse_source_breaks(body)
    out: list[str] = []
    _blocks(body, out)
    return out


def _lines(paragraphs: Iterable[str]) -> list[str]:
    return clean_lines("\n".join(paragraphs))


def extract_epub(data: bytes, name: str) -> Extracted:
    """The text of an EPUB book: its title first, then its chapters' paragraphs, one per line, blank-line separated.

    Raises:
        SourceError: not a readable EPUB (damaged, no package, a zip bomb), protected by DRM, or no text in it.
    """
    archive = open_zip(data, name, damaged="download or export the book again", too_big="split the book or remove its media")
    _refuse_drm(archive, name)
    package, base = _package(archive, name)
    chapters, title = _spine(package, base)
    lines: list[str] = []
    for path in chapters:
        part = read_part(archive, path, MAX_PART_BYTES)
        if part is not None:
            lines.extend(_lines(_chapter(part)))
    if not lines:
        raise SourceError(f"{name}: this EPUB has no text in its chapters (only images, or nothing); nothing to index")
    return paragraph_document(lines, title, EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "MAX_PART_BYTES", "RULES_VERSION", "extract_epub", "extractor_version"]
