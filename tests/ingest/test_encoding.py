"""Text encodings: UTF-8 as is, UTF-16/32 by their mark, a declared charset, else the likeliest one."""

from __future__ import annotations

import codecs

import pytest

from citeqa.errors import SourceError
from citeqa.ingest.encoding import declared_charset, decode_text, marked_encoding
from citeqa.ingest.extract import extract, sniff

NOTE = "Le café ouvre à huit heures. The café on Kyrkogatan opens at eight o’clock – “every day”.\n"
#: No charset reads these as text (charset-normalizer finds none).
UNREADABLE = bytes(range(128, 256))


def test_utf8_is_read_as_is_with_its_mark_kept():
    assert decode_text(NOTE.encode("utf-8"), "n.txt") == NOTE
    assert decode_text(codecs.BOM_UTF8 + NOTE.encode("utf-8"), "n.txt") == "\ufeff" + NOTE


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_are_read_by_their_byte_order_mark(encoding):
    data = ("\ufeff" + NOTE).encode(encoding) if encoding.endswith(("le", "be")) else NOTE.encode(encoding)
    assert marked_encoding(data) in ("utf-16", "utf-32")
    assert decode_text(data, "n.txt") == NOTE


def test_a_damaged_utf16_file_is_refused_with_what_to_do():
    with pytest.raises(SourceError, match=r"n\.txt starts as UTF-16 text but is damaged at byte \d+; save it again as UTF-8"):
        decode_text(NOTE.encode("utf-16")[:-1], "n.txt")


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_western_legacy_file_is_read(encoding):
    text = "Le café ouvre à huit heures.\n" if encoding == "latin-1" else NOTE
    assert decode_text(text.encode(encoding), "n.txt") == text


def test_a_short_note_that_reads_in_many_charsets_is_read_as_windows_1252():
    # charset-normalizer ranks Urdu's cp1006 first for these bytes ("cafﻠ au lait")
    assert decode_text(b"caf\xe9 au lait\n", "n.txt") == "café au lait\n"


def test_text_in_another_script_is_read_in_its_charset():
    russian = "Паром в Висбю отправляется в девять часов утра и возвращается вечером в шесть.\n"
    assert decode_text(russian.encode("cp1251"), "n.txt") == russian


def test_a_declared_charset_is_tried_after_utf8():
    euro = "Tickets cost 40 € at the harbour café.\n"
    assert decode_text(euro.encode("iso-8859-15"), "t", "text/plain; charset=ISO-8859-15") == euro
    # a server that says Latin-1 for UTF-8 bytes: the bytes are UTF-8
    assert decode_text(euro.encode("utf-8"), "t", "text/plain; charset=iso-8859-1") == euro


def test_declared_charset_reads_the_parameter_and_ignores_unknown_ones():
    assert declared_charset('text/plain; format=flowed; charset="Windows-1252"') == "cp1252"
    assert declared_charset("text/plain; charset=no-such-charset") is None
    assert declared_charset("text/plain") is None and declared_charset(None) is None


def test_bytes_no_charset_reads_are_refused_with_what_to_do():
    with pytest.raises(SourceError, match=r"n\.txt is not UTF-8 text \(byte 0\) nor text in any other charset citeqa recognises; save it as UTF-8"):
        decode_text(UNREADABLE, "n.txt")


def test_a_utf16_web_page_and_markdown_file_are_read_as_their_format():
    page = "<html><head><title>Ferry times</title></head><body><article><h1>Ferry times</h1><p>The ferry to Visby leaves at nine every morning from the north quay, all through the summer.</p></article></body></html>"
    data = page.encode("utf-16")
    assert sniff(data, "ferry.html") == "html"
    assert "The ferry to Visby leaves at nine" in extract(data, "ferry.html").text
    markdown = "# Ferry times\n\nThe ferry *leaves* at nine.\n".encode("utf-16")
    assert extract(markdown, "ferry.md").text == "Ferry times\n\nThe ferry leaves at nine."


def test_a_legacy_markdown_file_is_read_without_its_markup():
    assert extract("# Café hours\n\nThe **café** opens at eight.\n".encode("cp1252"), "cafe.md").text == "Café hours\n\nThe café opens at eight."
