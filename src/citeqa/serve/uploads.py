"""What an upload must be: a safe, visible name and content citeqa can read (checked before anything is stored).

Names keep their Unicode (NFC) and lose folders, controls and bidi characters; content is
sniffed and extracted exactly as ``citeqa build`` will read the stored file.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from collections.abc import Sequence

from ..errors import SourceError
from ..ingest.extract import FORMATS_OR, extract, sniff
from ..ingest.extracted import Extracted
from ..ingest.sources import SUPPORTED_SUFFIXES

#: Largest accepted text, Markdown or reStructuredText upload, in bytes.
MAX_DOCUMENT_BYTES = 1_000_000
#: Largest accepted HTML, PDF, Word, OpenDocument, PowerPoint or EPUB upload, in bytes (the HTTP layer refuses larger bodies first).
MAX_UPLOAD_BYTES = 10_000_000
ACCEPTED = FORMATS_OR
#: Most documents a workspace holds.
MAX_DOCUMENTS = 20
MAX_NAME_CHARS = 100



def _name_char(ch: str) -> str:
    # letters, digits and combining marks of any script, and " ._-()"; controls, bidi
    # formatting characters, symbols and punctuation become "_"
    return ch if ch in " ._-()" or unicodedata.category(ch)[0] in "LNM" else "_"


def safe_document_name(name: str) -> str:
    """A file name safe to store: no folders, no leading dot, letters and digits of any
    script (NFC-normalised, so "résumé.md" typed either way is one name) and `` ._-()``.

    Raises:
        SourceError: the name has no usable characters or is not a file of :data:`ACCEPTED`.
    """
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", str(name))[-1]).strip()
    cleaned = "".join(_name_char(ch) for ch in base).lstrip(". ")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not stem.strip("._ -()"):
        raise SourceError(f"{name!r} is not a {ACCEPTED} file name; rename the file and upload it again")
    if f".{suffix.lower()}" not in SUPPORTED_SUFFIXES:
        raise SourceError(
            f"{base!r}: unsupported file type '.{suffix}'; citeqa reads {ACCEPTED} files"
        )
    stem = stem[: MAX_NAME_CHARS - len(suffix) - 1]
    return f"{stem}.{suffix.lower()}"


def numbered_name(name: str, number: int) -> str:
    """``twin.md`` → ``twin (2).md``: the visible new name of a colliding upload."""
    stem, _, suffix = name.rpartition(".")
    return f"{stem[: MAX_NAME_CHARS - len(suffix) - 8]} ({number}).{suffix}"


def check_document(name: str, data: bytes) -> Extracted:
    """Check an upload by its content: type, size, and that text can be extracted from it.

    The format is decided by the bytes (a PDF named .txt is a PDF; an .html that is
    really binary is refused), exactly as the build will read the stored file.

    Returns:
        The extracted text (what the index will store).

    Raises:
        SourceError: saying what is wrong and what to do.
    """
    kind = sniff(data, name)
    limit = MAX_DOCUMENT_BYTES if kind in ("text", "markdown", "rst") else MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise SourceError(
            f"{name} is {len(data):,} bytes; the limit is {limit:,} bytes for {kind} files — "
            "split it into smaller files"
        )
    extracted = extract(data, name, max_bytes=limit)
    if not any(ch.isalnum() for ch in extracted.text):
        raise SourceError(f"{name} holds no text; add some sentences and upload it again")
    return extracted


def discard_uploads(uploads: Sequence[tuple[str, str]]) -> None:
    """Delete Gradio's temporary copies of uploads ``(name, path)`` once read (stored or refused, they are done)."""
    for _name, path in uploads:
        with contextlib.suppress(OSError):
            os.unlink(path)
