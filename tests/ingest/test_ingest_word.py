"""Word (.docx) extraction (citeqa.ingest.word, mammoth) on a document Word's XML shapes."""

from __future__ import annotations

import io
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from lxml import etree

from citeqa.errors import SourceError
from citeqa.ingest import archive as containers
from citeqa.ingest.extract import extract, sniff
from citeqa.ingest.word import html_blocks
from zips import needing_zip_version

MINUTES = Path(__file__).resolve().parents[1] / "data" / "formats" / "minutes.docx"


def _rewritten(changes: dict[str, tuple[str, str]]) -> bytes:
    """minutes.docx with, in each named part, one string replaced by another."""
    out = io.BytesIO()
    with zipfile.ZipFile(MINUTES) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in changes:
                old, new = changes[info.filename]
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode())
            target.writestr(info, data)
    return out.getvalue()


def test_a_word_document_is_its_text_block_by_block() -> None:
    extracted = extract(MINUTES.read_bytes(), "minutes.docx")
    paragraphs = extracted.text.split("\n\n")
    assert (extracted.extractor, extracted.extractor_version) == ("mammoth", version("mammoth") + "+r1")
    # the Title-styled first line is the title (the properties say only "Harbour board minutes")
    assert extracted.title == paragraphs[0] == "Harbour board minutes, 3 March 2026"
    assert paragraphs[1].startswith("The harbour board met on 3 March in the old customs house.")
    # lists (a nested item too), numbered items, a table with its header row, a manual line break
    assert paragraphs[paragraphs.index("Decisions") + 1 :][:5] == [
        "- The north channel will be dredged before the summer season, at a cost of 180,000 pounds.",
        "- Mooring fees rise by four percent from 1 May.",
        "- Fishing boats registered in the town are exempt from the rise.",
        "- Ask three firms for dredging quotes.",
        "- Publish the new fees on the harbour office door.",
    ]
    assert ["| Berth | Fee a night | Longest boat |", "| North quay | 40 pounds | 30 m |", "| Fish dock | 12 pounds | 18 m |"] == [
        p for p in paragraphs if p.startswith("|")
    ]
    assert paragraphs[paragraphs.index("The next meeting is on 7 April") + 1] == "in the same room."
    # tracked changes as accepted: the deletion is gone, the insertion is text; the picture is nothing
    assert "close the slipway" not in extracted.text
    assert paragraphs[-1] == "The slipway stays open all year, the board decided after a vote of six to three."
    assert "data:image" not in extracted.text and "<" not in extracted.text


def test_the_properties_title_is_used_when_the_document_starts_with_text() -> None:
    untitled = {"word/document.xml": ('<w:pStyle w:val="Title"/>', "")}
    extracted = extract(_rewritten(untitled), "minutes.docx")
    assert extracted.title == "Harbour board minutes"
    assert extracted.text.startswith("Harbour board minutes\n\nHarbour board minutes, 3 March 2026\n\n")
    # a template's title none of whose words is in the text is not the document's
    extracted = extract(_rewritten({**untitled, "docProps/core.xml": ("Harbour board minutes", "Document1")}), "minutes.docx")
    assert extracted.title is None and extracted.text.startswith("Harbour board minutes, 3 March 2026\n\n")


def test_a_header_row_word_repeats_on_each_page_names_the_columns_of_each_row() -> None:
    headed = _rewritten({"word/document.xml": ("<w:tr>", "<w:tr><w:trPr><w:tblHeader/></w:trPr>")})
    paragraphs = extract(headed, "minutes.docx").text.split("\n\n")
    assert [p for p in paragraphs if p.startswith(("Berth:", "| "))] == [
        "Berth: North quay; Fee a night: 40 pounds; Longest boat: 30 m.",
        "Berth: Fish dock; Fee a night: 12 pounds; Longest boat: 18 m.",
    ]


def test_notes_come_last_without_their_markers_and_back_links() -> None:
    # mammoth's HTML for a footnote: a "[1]" link in the text, the note in a list with a "↑" link back
    html = (
        '<p>The tide rose<sup><a href="#footnote-1" id="footnote-ref-1">[1]</a></sup> fast.</p>'
        "<ul><li>One<ul><li>Nested</li></ul></li><li>Two</li></ul>"
        '<ol><li id="footnote-1"><p>Measured at the north quay. <a href="#footnote-ref-1">↑</a></p></li></ol>'
    )
    body = etree.fromstring(f"<div>{html}</div>", etree.HTMLParser()).find("body/div")
    assert html_blocks(body) == ["The tide rose fast.", "- One", "- Nested", "- Two", "Measured at the north quay. "]


def test_a_docx_is_recognised_by_its_content_and_other_zips_are_not_read() -> None:
    data = MINUTES.read_bytes()
    assert [sniff(data, name) for name in ("minutes.docx", "minutes.bin", "MINUTES.DOCX")] == ["docx"] * 3
    with pytest.raises(SourceError, match="unsupported or binary content"):
        sniff(b"PK\x03\x04" + bytes(range(256)) * 4, "budget.numbers")


@pytest.mark.parametrize(
    "data,says",
    [
        (b"PK\x03\x04" + bytes(range(256)) * 4, r"minutes\.docx cannot be read: its zip is damaged; save it again from Word"),
        (needing_zip_version(MINUTES.read_bytes(), 131), r"minutes\.docx cannot be read: its zip is damaged"),  # was zipfile's NotImplementedError
        (b"just words", r"minutes\.docx is not a Word document: a \.docx is a zip file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), r"old Office file \(\.doc, \.xls, \.ppt\) or a password-protected one; .* save it as an unprotected \.docx"),
    ],
)
def test_damaged_old_or_protected_documents_are_refused_with_what_to_do(data, says) -> None:
    with pytest.raises(SourceError, match=says):
        extract(data, "minutes.docx")


def test_a_zip_that_is_not_word_or_holds_no_text_is_refused() -> None:
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("word/other.xml", "<x/>")
    with pytest.raises(SourceError, match=r"a zip file but not a Word document \(no word/document\.xml\)"):
        extract(other.getvalue(), "minutes.docx")
    with zipfile.ZipFile(MINUTES) as archive:
        xml = archive.read("word/document.xml").decode()
    body = xml[xml.index("<w:body>") + 8 : xml.index("</w:body>")]
    blank = _rewritten({"word/document.xml": (body, "")})
    with pytest.raises(SourceError, match="this Word document has no text"):
        extract(blank, "minutes.docx")


def test_a_zip_bomb_is_refused_before_it_is_expanded(monkeypatch) -> None:
    monkeypatch.setattr(containers, "MAX_EXPANDED_BYTES", 10_000)
    with pytest.raises(SourceError, match=r"would expand to [\d,]+ bytes, over the limit of 10,000"):
        extract(MINUTES.read_bytes(), "minutes.docx")


def test_a_text_part_too_large_to_read_whole_is_refused_before_mammoth_reads_it(monkeypatch) -> None:
    from citeqa.ingest import word

    monkeypatch.setattr(word, "MAX_PART_BYTES", 1_000)
    with pytest.raises(SourceError, match=r"minutes\.docx: its part word/document\.xml would expand to [\d,]+ bytes, over the limit of 1,000; split"):
        extract(MINUTES.read_bytes(), "minutes.docx")
