"""EPUB extraction (citeqa.ingest.epub) on a book written as EPUB 3 readers read it, and its variants."""

from __future__ import annotations


import pytest

from citeqa.errors import SourceError
from citeqa.ingest import archive as containers
from citeqa.ingest.extract import current_extractor_version, extract, sniff
from zips import FORMATS, book_parts, needing_zip_version, zip_bytes

BOOK = FORMATS / "book.epub"


def test_the_committed_book_is_what_its_writer_writes() -> None:
    assert BOOK.read_bytes() == zip_bytes(book_parts())


def test_chapters_are_read_in_reading_order_as_the_reader_sees_them() -> None:
    extracted = extract(BOOK.read_bytes(), "book.epub")
    lines = extracted.text.split("\n\n")
    assert extracted.title == lines[0] == "The Norrby Coast: A Walker's Guide"
    assert extracted.extractor == "epub" and extracted.pages is None
    order = [
        "Chapter 1: The Harbour",
        # the note marker "1" is left out (it would read like citeqa's own [1])
        "Norrby harbour lies at the end of the coast road. The ferry to the island leaves at nine every morning.",
        "- water",
        "- at least two litres in summer",  # a nested item after its parent
        "Route: Cliff path; Length: 7 km; Time: 2 hours.",  # a row with its column heads
        "Harbour office Mon-Fri 08:00-16:00 Sat 09:00-12:00",  # a preformatted block, one paragraph
        "The sea here changes faster than the sky.",
        "The harbour master keeps a tide table at the office door.",  # text directly in a <div>
        "Chapter 2: The Lighthouse",
        "The lighthouse at Kelby Point was built in 1868 and is 31 metres tall. Its lamp can be seen from 40 kilometres away.",
        "Keeper's cottage",
        "The tower was raised by four metres in 1902.",
        "Notes",  # linear="no": after the chapters, though the spine lists it between them
        "The ferry does not run on public holidays.",
    ]
    assert [line for line in lines if line in order] == order
    for left_out in ("Contents", "cover", "document.write", "picture of the harbour", "serif"):
        assert left_out not in extracted.text  # navigation, the cover's picture, scripts, alt text, styles


def test_the_extractor_version_is_recorded_and_current() -> None:
    extracted = extract(BOOK.read_bytes(), "book.epub")
    assert extracted.extractor_version == current_extractor_version("epub")
    assert extracted.extractor_version.endswith("+r1")


def test_an_epub_is_told_by_its_bytes_whatever_its_name() -> None:
    data = BOOK.read_bytes()
    assert sniff(data, "book.epub") == "epub"
    assert sniff(data, "download") == "epub"  # the "mimetype" part comes first, stored
    assert sniff(data, "https://example.org/get?id=3", "application/epub+zip") == "epub"
    with pytest.raises(SourceError, match=r"book\.epub is not an EPUB book: an \.epub is a zip file"):
        extract(b"Just some text that is not a book.", "book.epub")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"PK\x03\x04" + bytes(range(256)) * 4, r"book\.epub cannot be read: its zip is damaged; download or export the book again"),
        (needing_zip_version(BOOK.read_bytes(), 131), r"book\.epub cannot be read: its zip is damaged"),  # found by fuzzing: zipfile's NotImplementedError
        (zip_bytes(book_parts(), {"META-INF/container.xml": None}), r"a zip file but not an EPUB book \(no readable META-INF/container\.xml\)"),
        (zip_bytes(book_parts(), {"OEBPS/content.opf": None}), r"package file \(content\.opf\) is missing or damaged"),
        (zip_bytes(book_parts(), {"OEBPS/content.opf": "<package><not closed"}), r"package file \(content\.opf\) is missing or damaged"),
        (
            zip_bytes(book_parts(), {"OEBPS/chapter1.xhtml": "<html><body><img src='a.png'/></body></html>", "OEBPS/chapter2.xhtml": "<html/>", "OEBPS/notes.xhtml": ""}),
            r"this EPUB has no text in its chapters",
        ),
    ],
)
def test_damaged_or_empty_books_are_refused_with_what_to_do(data, says) -> None:
    with pytest.raises(SourceError, match=says):
        extract(data, "book.epub")


def test_a_book_with_encrypted_chapters_is_refused_as_drm_but_obfuscated_fonts_are_read() -> None:
    drm = (
        '<?xml version="1.0"?><encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/chapter1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>'
    )
    with pytest.raises(SourceError, match=r"book\.epub is protected by DRM .* Use a DRM-free copy"):
        extract(zip_bytes(book_parts(), {"META-INF/encryption.xml": drm}), "book.epub")
    assert "Norrby" in extract(BOOK.read_bytes(), "book.epub").text  # the fixture's font obfuscation


def test_nothing_outside_the_book_is_read_or_fetched(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET LINE", encoding="utf-8")
    opf = book_parts()["OEBPS/content.opf"]
    assert isinstance(opf, str)
    opf = opf.replace(
        "</manifest>",
        f'<item id="up" href="../../../../{secret}" media-type="application/xhtml+xml"/>'
        '<item id="web" href="https://example.org/chapter.xhtml" media-type="application/xhtml+xml"/></manifest>',
    ).replace("</spine>", '<itemref idref="up"/><itemref idref="web"/></spine>')
    # an external entity in the package is not resolved either
    opf = opf.replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE package [<!ENTITY leak SYSTEM "file://{secret}">]>',
    ).replace("<dc:title>The Norrby Coast: A Walker's Guide</dc:title>", "<dc:title>Guide &leak;</dc:title>")
    text = extract(zip_bytes(book_parts(), {"OEBPS/content.opf": opf}), "book.epub").text
    assert "TOP SECRET" not in text and "Norrby harbour lies" in text


def test_a_zip_bomb_is_refused_before_it_is_expanded(monkeypatch) -> None:
    monkeypatch.setattr(containers, "MAX_EXPANDED_BYTES", 1_000)
    with pytest.raises(SourceError, match=r"book\.epub would expand to [\d,]+ bytes, over the limit of 1,000; split the book"):
        extract(BOOK.read_bytes(), "book.epub")
