"""Zip containers (.docx, .odt, .pptx, .epub) opened safely: damaged files and zip bombs refused before any part is read.

Word and OpenDocument texts, PowerPoint decks and e-books are zips of XML parts. :func:`open_zip` checks the archive
once: it opens, it is not damaged, and its parts would not expand past
:data:`MAX_EXPANDED_BYTES`. :func:`read_part` reads one part by name with a size limit
and gives None for a part that is missing; :func:`xml_part` parses one as XML without
entities or network, :func:`properties_title` reads the document's title from its properties. Nothing in the archive is run, fetched or written to disk.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any

from ..errors import SourceError
from .paragraphs import clean_lines

#: Largest total size of a document's parts once unzipped (a zip bomb is refused, not expanded).
#: Each part read has its own, smaller limit (:func:`read_part`); pictures are never read.
MAX_EXPANDED_BYTES = 1024 * 1024 * 1024
#: Largest package file (.docx, .odt, .pptx, .epub) read from disk: a deck's or a book's pictures
#: make it large, and they are never read, so the limit of other formats (20 MB) does not apply.
MAX_PACKAGE_BYTES = 200 * 1024 * 1024


def open_zip(data: bytes, name: str, *, damaged: str, too_big: str) -> zipfile.ZipFile:
    """``data`` as a zip archive, checked.

    Args:
        data: the file's bytes.
        name: its name, for messages.
        damaged: what the user should do when the zip is damaged ("save it again from Word").
        too_big: what to do when it would expand past :data:`MAX_EXPANDED_BYTES`.

    Raises:
        SourceError: the zip is damaged or would expand past the limit.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError):  # a mangled header: "zip file version 13.1"
        raise SourceError(f"{name} cannot be read: its zip is damaged; {damaged}") from None
    expanded = sum(info.file_size for info in infos)
    if expanded > MAX_EXPANDED_BYTES:
        raise SourceError(f"{name} would expand to {expanded:,} bytes, over the limit of {MAX_EXPANDED_BYTES:,}; {too_big}")
    return archive


def read_part(archive: zipfile.ZipFile, part: str, limit: int = MAX_EXPANDED_BYTES) -> bytes | None:
    """The bytes of ``part``, or None when it is missing, larger than ``limit`` or cannot be read."""
    try:
        if archive.getinfo(part).file_size > limit:
            return None
        return archive.read(part)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError):
        return None  # missing, damaged (a bad checksum or deflate stream), an unknown compression, or encrypted


def xml_part(archive: zipfile.ZipFile, part: str, limit: int = MAX_EXPANDED_BYTES) -> Any:
    """``part`` parsed as XML (an lxml element), or None when it is missing, too large or not XML.

    No entity is resolved and nothing is fetched: a ``<!ENTITY x SYSTEM "file:///etc/passwd">``
    stays an unresolved reference.
    """
    from lxml import etree

    data = read_part(archive, part, limit)
    if data is None:
        return None
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except (etree.LxmlError, ValueError):
        return None


def properties_title(archive: zipfile.ZipFile, part: str) -> str | None:
    """The Dublin Core title in a package's properties part (Office's ``docProps/core.xml``,
    OpenDocument's ``meta.xml``), its white space collapsed; None when there is none."""
    root = xml_part(archive, part, 1_000_000)
    found = root.find(".//{http://purl.org/dc/elements/1.1/}title") if root is not None else None
    title = " ".join(clean_lines(found.text or "")) if found is not None else ""
    return title or None


__all__ = ["MAX_EXPANDED_BYTES", "MAX_PACKAGE_BYTES", "open_zip", "properties_title", "read_part", "xml_part"]
