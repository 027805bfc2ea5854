"""Turning a document's bytes (text, Markdown, HTML, PDF, Word, PowerPoint, OpenDocument or EPUB) into the text citeqa indexes.

The format is decided by the bytes themselves — a PDF's ``%PDF-`` header, a zip (an EPUB
book or an OpenDocument text when its first bytes say so, a PowerPoint ``.pptx`` or a Word
``.docx`` by its parts), HTML's opening tags, else text (UTF-8 or another encoding,
:mod:`citeqa.ingest.encoding`) — and checked against what the name or the server's
content type claims, so a file that lies about its type gets a clear message. Text
named ``.md`` or ``.rst`` (or served so) is read as Markdown or reStructuredText (its
text without the markup, :mod:`citeqa.ingest.markdown`, :mod:`citeqa.ingest.rst`); other
text is indexed as is. The
:class:`Extracted` text is what the index stores and what every offset refers to.
"""

from __future__ import annotations

import codecs
import importlib
import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ..errors import InvalidArgumentError, SourceError
from .encoding import decode_text, marked_encoding
from .extracted import DEFAULT_MAX_BYTES, Extracted, page_of

#: Extractor name and version of plain text (decoded as is).
TEXT_EXTRACTOR = "text"
TEXT_EXTRACTOR_VERSION = "1"

MARKDOWN_SUFFIXES = (".md", ".markdown")
RST_SUFFIXES = (".rst", ".rest")
TEXT_SUFFIXES = (".txt", ".text") + MARKDOWN_SUFFIXES + RST_SUFFIXES
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
PDF_SUFFIXES = (".pdf",)
DOCX_SUFFIXES = (".docx",)
EPUB_SUFFIXES = (".epub",)
ODT_SUFFIXES = (".odt",)
PPTX_SUFFIXES = (".pptx",)
XLSX_SUFFIXES = (".xlsx",)
ODS_SUFFIXES = (".ods",)
XLS_SUFFIXES = (".xls",)
NOTEBOOK_SUFFIXES = (".ipynb",)
CSV_SUFFIXES = (".csv", ".tsv")
#: Zip packages of XML parts (:mod:`citeqa.ingest.archive`), and Excel's older binary workbooks:
#: containers whose pictures are never read.
PACKAGE_SUFFIXES = DOCX_SUFFIXES + ODT_SUFFIXES + PPTX_SUFFIXES + EPUB_SUFFIXES + XLSX_SUFFIXES + ODS_SUFFIXES + XLS_SUFFIXES
PACKAGE_KINDS = ("docx", "odt", "pptx", "epub", "xlsx", "ods", "xls")
#: The formats as messages name them (one place: the CLI, the folder reader, the chat's uploads).
FORMATS = (".txt", ".md", ".rst", ".html", ".pdf", ".docx", ".odt", ".pptx", ".epub", ".ipynb", ".csv", ".xlsx", ".xls", ".ods")
FORMATS_OR = ", ".join(FORMATS[:-1]) + " or " + FORMATS[-1]
SUPPORTED = ", ".join(FORMATS[:4]) + ", .htm, " + ", ".join(FORMATS[4:-1]) + " and " + FORMATS[-1]

HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPES = ("application/pdf",)
DOCX_TYPES = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",)
EPUB_TYPES = ("application/epub+zip",)
ODT_TYPES = ("application/vnd.oasis.opendocument.text",)
PPTX_TYPES = ("application/vnd.openxmlformats-officedocument.presentationml.presentation",)
XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)
ODS_TYPES = ("application/vnd.oasis.opendocument.spreadsheet",)
XLS_TYPES = ("application/vnd.ms-excel",)
NOTEBOOK_TYPES = ("application/x-ipynb+json",)
CSV_TYPES = ("text/csv", "text/tab-separated-values")
#: Content types that claim no format: the bytes (and the name) decide.
GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream", "application/zip", "application/x-zip-compressed")
#: What an EPUB's or an OpenDocument file's first part (``mimetype``, stored first and uncompressed) holds.
_EPUB_MIMETYPE = b"mimetypeapplication/epub+zip"
_ODT_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.text"
_ODS_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
_OPENDOCUMENT = b"mimetypeapplication/vnd.oasis.opendocument."
#: A zip's first bytes (a .docx is a zip of XML parts).
_ZIP_MAGIC = b"PK\x03\x04"
#: An OLE compound file's: an old .doc/.xls/.ppt, or any password-protected Office file.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown", "text/x-rst", "text/prs.fallenstein.rst")
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown")
RST_TYPES = ("text/x-rst", "text/prs.fallenstein.rst")

# Tags that open an HTML document (after a BOM, white space and comments).
_HTML_START = re.compile(rb"^(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>/]", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(rb"<[a-z][a-z0-9]*[\s>/]", re.IGNORECASE)
_SNIFF = 4096
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\x1b")


def _suffix(name: str) -> str:
    path = urlsplit(name).path if "://" in name else name
    return PurePosixPath(path.replace("\\", "/")).suffix.lower()


def _media_type(content_type: str | None) -> str | None:
    """The media type of a Content-Type, None when there is none or it claims no format (:data:`GENERIC_TYPES`)."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return None if media in GENERIC_TYPES else media or None


def _looks_binary(head: bytes) -> bool:
    """True if ``head`` has NUL bytes or many control bytes (any text encoding passes)."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 0x20 and byte not in _TEXT_CONTROLS or byte == 0x7F)
    return controls > 0.05 * len(head)


def sniff(data: bytes, name: str, content_type: str | None = None) -> str:
    """The format of ``data``: "pdf", "epub", "odt", "ods", "pptx", "xlsx", "docx", "xls", "html", "notebook", "csv", "markdown", "rst" or "text", decided by content.

    The name's suffix and the content type only break ties (an HTML fragment named
    ``.html``; text named ``.md`` or served as Markdown is "markdown") and make refusals
    precise; they never override what the bytes are.

    Raises:
        SourceError: empty, binary or of an unsupported type, or named as one format
            while its content is another.
    """
    suffix = _suffix(name)
    media = _media_type(content_type)
    if not data:
        raise SourceError(f"{name} is empty; nothing to index")
    if b"%PDF-" in data[:1024]:
        return "pdf"
    claims_pdf = suffix in PDF_SUFFIXES or media in PDF_TYPES
    claims_html = suffix in HTML_SUFFIXES or media in HTML_TYPES
    claims_docx = suffix in DOCX_SUFFIXES or media in DOCX_TYPES
    claims_epub = suffix in EPUB_SUFFIXES or media in EPUB_TYPES
    claims_odt = suffix in ODT_SUFFIXES or media in ODT_TYPES
    claims_pptx = suffix in PPTX_SUFFIXES or media in PPTX_TYPES
    claims_xlsx = suffix in XLSX_SUFFIXES or media in XLSX_TYPES
    claims_ods = suffix in ODS_SUFFIXES or media in ODS_TYPES
    claims_xls = suffix in XLS_SUFFIXES or media in XLS_TYPES
    claims_notebook = suffix in NOTEBOOK_SUFFIXES or media in NOTEBOOK_TYPES
    claims_csv = suffix in CSV_SUFFIXES or media in CSV_TYPES
    head = data[:_SNIFF]
    marked = marked_encoding(head)
    if marked:  # UTF-16/32 text (Notepad's "Unicode"): sniffed as the UTF-8 it is read as
        head = head.decode(marked, errors="ignore").encode("utf-8")
    head = head.removeprefix(codecs.BOM_UTF8)
    # a zip is an EPUB or OpenDocument text when its first part says so, a deck or a Word document
    # by its parts or its name (each is checked when it is read); an old .doc/.ppt or a
    # password-protected Office file (an OLE file) is refused below with what to do
    if head.startswith(_ZIP_MAGIC) and (claims_epub or _EPUB_MIMETYPE in head[:128]):
        return "epub"
    if head.startswith(_ZIP_MAGIC) and (_ODT_MIMETYPE in head[:128] or (claims_odt and _OPENDOCUMENT not in head[:128])):
        return "odt"
    if head.startswith(_ZIP_MAGIC) and (_ODS_MIMETYPE in head[:128] or (claims_ods and _OPENDOCUMENT not in head[:128])):
        return "ods"
    if head.startswith(_ZIP_MAGIC) and (claims_odt or claims_ods):  # a drawing or presentation named .odt
        raise SourceError(
            f"{name} is an OpenDocument file but not a text document or a spreadsheet; "
            "citeqa reads .odt text documents and .ods spreadsheets"
        )
    if head.startswith(_ZIP_MAGIC) and (claims_pptx or (b"ppt/" in head and not claims_docx)):
        return "pptx"
    if head.startswith(_ZIP_MAGIC) and (claims_xlsx or (b"xl/" in head and not claims_docx)):
        return "xlsx"
    if head.startswith(_ZIP_MAGIC) and (claims_docx or b"word/" in head):
        return "docx"
    if head.startswith(_OLE_MAGIC) and claims_xls:  # Excel 97-2003 (a password-protected one is refused when read)
        return "xls"
    if head.startswith(_OLE_MAGIC):
        program, modern = ("Excel", ".xlsx") if suffix in (".xls", ".xlsx") else ("PowerPoint", ".pptx") if suffix in (".ppt", ".pptx") else ("Word", ".docx")
        raise SourceError(
            f"{name} is an old Office file (.doc, .xls, .ppt) or a password-protected one; "
            f"open it in {program} or LibreOffice and save it as an unprotected {modern}"
        )
    if claims_pptx:
        raise SourceError(
            f"{name} is not a PowerPoint deck: a .pptx is a zip file and this starts with "
            f"{data[:16]!r}; save it again from PowerPoint as .pptx"
        )
    if claims_xls:
        raise SourceError(
            f"{name} is not an Excel 97-2003 workbook: an .xls starts with {_OLE_MAGIC!r} and this with "
            f"{data[:16]!r}; save it again from Excel or LibreOffice as .xlsx"
        )
    if claims_ods:
        raise SourceError(
            f"{name} is not an OpenDocument spreadsheet: an .ods is a zip file and this starts with "
            f"{data[:16]!r}; save it again from LibreOffice"
        )
    if claims_xlsx:
        raise SourceError(
            f"{name} is not an Excel workbook: an .xlsx is a zip file and this starts with "
            f"{data[:16]!r}; save it again from Excel or LibreOffice as .xlsx"
        )
    if claims_odt:
        raise SourceError(
            f"{name} is not an OpenDocument text: an .odt is a zip file and this starts with "
            f"{data[:16]!r}; save it again from LibreOffice"
        )
    if claims_epub:
        raise SourceError(
            f"{name} is not an EPUB book: an .epub is a zip file and this starts with "
            f"{data[:16]!r}; download or export the book again"
        )
    if claims_docx:
        raise SourceError(
            f"{name} is not a Word document: a .docx is a zip file and this starts with "
            f"{data[:16]!r}; save it again from Word as .docx"
        )
    if claims_pdf:
        raise SourceError(
            f"{name} is not a PDF: it has no %PDF- header (starts with {data[:16]!r}); "
            "check that the file was saved or downloaded completely"
        )
    if _looks_binary(head):
        if claims_html or claims_notebook or claims_csv or suffix in TEXT_SUFFIXES or media in TEXT_TYPES:
            what, again = (
                ("HTML", "save the page again as HTML") if claims_html
                else ("a Jupyter notebook", "save it again from Jupyter") if claims_notebook
                else ("text", "save it again as plain text (UTF-8)")
            )
            raise SourceError(
                f"{name} claims to be {what} but its content is binary (starts with "
                f"{data[:16]!r}); {again}, or give the file its real type"
            )
        raise SourceError(
            f"{name}: unsupported or binary content (starts with {data[:16]!r}); "
            f"citeqa reads {SUPPORTED}"
        )
    if claims_notebook:  # JSON, checked when it is read
        return "notebook"
    if _HTML_START.match(head.lstrip()):
        return "html"
    if claims_csv:
        return "csv"
    if claims_html and _HTML_TAG.search(head):
        return "html"
    if claims_html:
        raise SourceError(
            f"{name} is named or served as HTML but contains no HTML tags; "
            "rename it .txt if it is plain text"
        )
    if suffix and suffix not in TEXT_SUFFIXES and not media:
        raise SourceError(f"{name}: unsupported file type {suffix!r}; citeqa reads {SUPPORTED}")
    if media and media not in TEXT_TYPES:
        raise SourceError(f"{name}: unsupported content type {media!r}; citeqa reads {SUPPORTED}")
    return text_kind(name, content_type)


def text_kind(name: str, content_type: str | None = None) -> str:
    """How UTF-8 text of this name (or served with this content type) is read: "markdown", "rst" or "text".

    As Markdown or reStructuredText when named so (``.md``, ``.rst``) or served so: most
    servers send such a file as "text/plain" (raw.githubusercontent.com does), so that type
    does not make it plain text.
    """
    media, suffix = _media_type(content_type), _suffix(name)
    if media in MARKDOWN_TYPES or (media not in RST_TYPES and suffix in MARKDOWN_SUFFIXES):
        return "markdown"
    if media in RST_TYPES or suffix in RST_SUFFIXES:
        return "rst"
    return "text"


#: Each extractor's module (its ``EXTRACTOR`` name and ``extractor_version()``), imported when needed.
_EXTRACTOR_MODULES = {
    "trafilatura": "html",
    "pypdf": "pdf",
    "markdown-it": "markdown",
    "docutils": "rst",
    "mammoth": "word",
    "epub": "epub",
    "odt": "odt",
    "pptx": "slides",
    "notebook": "notebook",
    "csv": "tabular",
    "openpyxl": "spreadsheet",
    "ods": "ods",
    "xlrd": "xls",
}
#: The module and function reading each package kind (:data:`PACKAGE_KINDS`) from its bytes.
_PACKAGE_READERS = {
    "docx": ("word", "extract_docx"),
    "pptx": ("slides", "extract_pptx"),
    "odt": ("odt", "extract_odt"),
    "epub": ("epub", "extract_epub"),
    "xlsx": ("spreadsheet", "extract_xlsx"),
    "ods": ("ods", "extract_ods"),
    "xls": ("xls", "extract_xls"),
}


def current_extractor_version(extractor: str) -> str | None:
    """The version this citeqa's ``extractor`` has now (None for an unknown extractor).

    An index records each document's extractor and version; when they differ from
    these, the same bytes would now extract to another text, so the index is stale.
    """
    if extractor == TEXT_EXTRACTOR:
        return TEXT_EXTRACTOR_VERSION
    if extractor not in _EXTRACTOR_MODULES:
        return None
    module = importlib.import_module(f"{__package__}.{_EXTRACTOR_MODULES[extractor]}")
    return str(module.extractor_version()) if module.EXTRACTOR == extractor else None


def current_extractor(extractor: str, name: str) -> tuple[str, str | None]:
    """The extractor and version this citeqa reads a source with, given the one it was read with.

    The same as :func:`current_extractor_version` but for text named Markdown or
    reStructuredText, read as is until December 2026 and as markup since: its recorded
    "text" extractor is now "markdown-it" or "docutils".
    """
    kind = text_kind(name) if extractor == TEXT_EXTRACTOR else "text"
    if kind != "text":  # the markup's module is named for its kind (citeqa.ingest.markdown, .rst)
        extractor = importlib.import_module(f"{__package__}.{kind}").EXTRACTOR
    return extractor, current_extractor_version(extractor)


def extract(
    data: bytes,
    name: str,
    content_type: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Extracted:
    """Extract the indexable text of a document's bytes.

    Args:
        data: the document's bytes (a file's, or a URL's response body).
        name: a file name or URL, used in messages and as a hint for the type.
        content_type: the server's Content-Type for a URL, if any.
        max_bytes: documents larger than this are refused.

    Raises:
        SourceError: too large, empty, unsupported, lying about its type, or its
            content cannot be extracted (see :mod:`citeqa.ingest.pdf` and ``html``).
        InvalidArgumentError: ``max_bytes`` is not positive.
    """
    if max_bytes <= 0:
        raise InvalidArgumentError(f"max_bytes must be > 0, got {max_bytes}")
    if len(data) > max_bytes:
        raise SourceError(
            f"{name} is {len(data):,} bytes, over the limit of {max_bytes:,} bytes; "
            "split it or raise the limit"
        )
    if marked_encoding(data):  # UTF-16/32 with its mark (Notepad's "Unicode"): read on as UTF-8
        data = decode_text(data, name).encode("utf-8")
    kind = sniff(data, name, content_type)
    if kind == "pdf":
        from .pdf import extract_pdf

        return extract_pdf(data, name, max_bytes=max_bytes)
    if kind == "html":
        from .html import extract_html

        return extract_html(data, name)
    if kind in _PACKAGE_READERS:
        module, reader = _PACKAGE_READERS[kind]
        return getattr(importlib.import_module(f"{__package__}.{module}"), reader)(data, name)
    if kind == "csv":
        from .tabular import extract_table

        tab = _suffix(name) == ".tsv" or _media_type(content_type) == "text/tab-separated-values"
        return extract_table(decode_text(data, name, content_type), name, tab=tab)
    if kind == "notebook":
        from .notebook import extract_notebook

        return extract_notebook(decode_text(data, name, content_type), name)
    if kind == "markdown":
        from .markdown import extract_markdown

        return extract_markdown(decode_text(data, name, content_type), name)
    if kind == "rst":
        from .rst import extract_rst

        return extract_rst(decode_text(data, name, content_type), name)
    return Extracted(
        text=decode_text(data, name, content_type),
        pages=None,
        extractor=TEXT_EXTRACTOR,
        extractor_version=TEXT_EXTRACTOR_VERSION,
        title=None,
    )


__all__ = [
    "CSV_SUFFIXES",
    "CSV_TYPES",
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "FORMATS_OR",
    "GENERIC_TYPES",
    "NOTEBOOK_SUFFIXES",
    "NOTEBOOK_TYPES",
    "PACKAGE_KINDS",
    "PACKAGE_SUFFIXES",
    "Extracted",
    "current_extractor",
    "current_extractor_version",
    "extract",
    "page_of",
    "sniff",
    "text_kind",
]
