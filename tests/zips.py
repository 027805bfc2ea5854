"""Zip files mangled for the .docx and .epub tests."""

from __future__ import annotations


def needing_zip_version(data: bytes, version: int) -> bytes:
    """``data`` (a zip) whose first central directory entry asks for zip ``version`` (131: "13.1", which Python does not read)."""
    mangled = bytearray(data)
    at = mangled.index(b"PK\x01\x02")
    mangled[at + 6 : at + 8] = version.to_bytes(2, "little")
    return bytes(mangled)
