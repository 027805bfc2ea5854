"""Zip files for the .docx, .odt, .pptx and .epub tests: the fixtures' own writers, and a copy mangled."""

from __future__ import annotations

import sys
from pathlib import Path

#: The committed format fixtures (tests/data/formats) and the script that writes them.
FORMATS = Path(__file__).resolve().parent / "data" / "formats"
sys.path.insert(0, str(FORMATS))
from make_fixtures import book_parts, odt_parts, pptx_parts, zip_bytes  # noqa: E402

__all__ = ["FORMATS", "book_parts", "needing_zip_version", "odt_parts", "pptx_parts", "zip_bytes"]


def needing_zip_version(data: bytes, version: int) -> bytes:
    """``data`` (a zip) whose first central directory entry asks for zip ``version`` (131: "13.1", which Python does not read)."""
    mangled = bytearray(data)
    at = mangled.index(b"PK\x01\x02")
    mangled[at + 6 : at + 8] = version.to_bytes(2, "little")
    return bytes(mangled)
