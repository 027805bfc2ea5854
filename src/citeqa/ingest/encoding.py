"""Text encodings: how the bytes of a text file (plain text, Markdown, reStructuredText) become its text.

UTF-8 is read as is, a byte order mark kept (offsets count it, as they always have). A UTF-16
or UTF-32 file starting with its byte order mark (what Windows Notepad saves as "Unicode") is
decoded by the mark. Other bytes are decoded in the charset a server declared for them when it
reads them, else in the one charset-normalizer finds likeliest (Windows-1252 from an older
Windows editor, Latin-1, Windows-1251, Shift JIS...): when the bytes read equally well in several
(a short note: "caf\\xe9 au lait" reads as French in Windows-1252 and as Urdu in cp1006),
Windows-1252 is taken if it is one of them. Bytes that read as no text in any charset are refused.
An index does not record the guess: the text it stores is the one read when it was built.
"""

from __future__ import annotations

import codecs

from ..errors import SourceError

#: Byte order marks of the UTF-16 and UTF-32 encodings, UTF-32's first (its little-endian
#: mark starts with UTF-16's).
_UNICODE_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

#: The charset taken when the bytes read equally well in several: the Western one most
#: legacy English text is in.
WESTERN = "cp1252"


def marked_encoding(data: bytes) -> str | None:
    """"utf-16" or "utf-32" when ``data`` starts with that encoding's byte order mark, else None."""
    for mark, encoding in _UNICODE_MARKS:
        if data.startswith(mark):
            return encoding
    return None


def declared_charset(content_type: str | None) -> str | None:
    """The codec named by a Content-Type's ``charset`` parameter, when Python knows it."""
    for parameter in (content_type or "").split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            try:
                return codecs.lookup(value.strip().strip("\"'")).name
            except LookupError:
                return None
    return None


def _likeliest_charset(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    if any(WESTERN in m.could_be_from_charset for m in tied):
        return WESTERN
    return str(best.encoding)


def decode_text(data: bytes, name: str, content_type: str | None = None) -> str:
    """The text of a text file's bytes (see the module's docstring for the order tried).

    Args:
        data: the file's bytes.
        name: its name or URL, for messages.
        content_type: the server's Content-Type for a URL, whose charset is tried after UTF-8.

    Raises:
        SourceError: the bytes read as text in no charset.
    """
    marked = marked_encoding(data)
    if marked:
        try:
            return data.decode(marked)
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{name} starts as {marked.upper()} text but is damaged at byte {exc.start}; save it again as UTF-8"
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    for charset in (declared_charset(content_type), _likeliest_charset(data)):
        if charset:
            try:
                return data.decode(charset)
            except UnicodeDecodeError:
                continue
    raise SourceError(
        f"{name} is not UTF-8 text (byte {first_bad}) nor text in any other charset citeqa recognises; "
        "save it as UTF-8 and try again"
    )


__all__ = ["WESTERN", "declared_charset", "decode_text", "marked_encoding"]
