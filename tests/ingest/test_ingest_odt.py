"""OpenDocument text extraction (citeqa.ingest.odt) on notes written as LibreOffice writes them, and their variants."""

from __future__ import annotations


import pytest

from citeqa.errors import SourceError
from citeqa.ingest import archive as containers
from citeqa.ingest.extract import current_extractor_version, extract, sniff
from zips import FORMATS, odt_parts, needing_zip_version, zip_bytes

NOTES = FORMATS / "notes.odt"


def test_the_committed_notes_are_what_their_writer_writes() -> None:
    assert NOTES.read_bytes() == zip_bytes(odt_parts())


def test_the_text_reads_as_written_with_tables_lists_and_notes_last() -> None:
    extracted = extract(NOTES.read_bytes(), "notes.odt")
    lines = extracted.text.split("\n\n")
    assert extracted.title == lines[0] == "Harbour Board: Notes of the March Meeting"  # the Title style, not meta.xml's "Untitled 1"
    assert lines[1:] == [
        "Attendance",
        "Seven members attended; the chair was Ines Morrow.",  # <text:s/> and <text:s text:c="3"/> are spaces
        "The meeting opened at 18:00",  # a line break kept
        "in the harbour office.",
        "Decisions",
        "The slipway stays open all year, the board decided after a vote of six to one.",
        "- Dredge the north channel before summer",
        "- at a cost of 180,000 pounds",  # a nested item after its parent
        "- Publish the tide tables on the board's website",
        "Berth: North quay; Fee a night: 40 pounds; Longest boat: 25 m.",  # under the table's header rows
        "Berth: Fish dock; Fee a night: 12 pounds; Longest boat: 18 m.",
        "The next meeting is on 7 April.",
        "The office moved to the north quay in 2024.",  # the footnote, last, without its "1"
    ]
    for left_out in ("Contents", "slipway will close", "Check the count", "Untitled"):
        assert left_out not in extracted.text  # the table of contents, a tracked deletion, a comment
    assert extracted.extractor == "odt" and extracted.extractor_version == current_extractor_version("odt")


def test_the_meta_title_serves_only_when_the_text_does_not_start_with_a_heading_and_shares_its_words() -> None:
    content = odt_parts()["content.xml"]
    assert isinstance(content, str)
    plain = content.replace('text:style-name="P1"', 'text:style-name="Standard"')
    meta = odt_parts()["meta.xml"]
    assert isinstance(meta, str)
    titled = zip_bytes(odt_parts(), {"content.xml": plain, "meta.xml": meta.replace("Untitled 1", "Harbour Board notes")})
    assert extract(titled, "notes.odt").text.startswith("Harbour Board notes\n\nHarbour Board: Notes of the March Meeting")
    assert extract(zip_bytes(odt_parts(), {"content.xml": plain}), "notes.odt").title is None  # "Untitled 1" is not this text's


def test_an_odt_is_told_by_its_bytes_and_other_opendocument_files_are_refused() -> None:
    data = NOTES.read_bytes()
    assert [sniff(data, name) for name in ("notes.odt", "download", "NOTES.ODT")] == ["odt"] * 3
    with pytest.raises(SourceError, match=r"slides\.odt is an OpenDocument file but not a text document or a spreadsheet"):
        extract(zip_bytes(odt_parts("application/vnd.oasis.opendocument.presentation")), "slides.odt")
    assert sniff(zip_bytes(odt_parts("application/vnd.oasis.opendocument.spreadsheet")), "sheet.odt") == "ods"  # the bytes decide
    with pytest.raises(SourceError, match=r"notes\.odt is not an OpenDocument text: an \.odt is a zip file"):
        extract(b"plain words, not a zip", "notes.odt")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"PK\x03\x04" + bytes(range(256)) * 4, r"notes\.odt cannot be read: its zip is damaged; save it again from LibreOffice"),
        (needing_zip_version(NOTES.read_bytes(), 131), r"notes\.odt cannot be read: its zip is damaged"),
        (zip_bytes(odt_parts(), {"content.xml": None}), r"not an OpenDocument text \(no readable content\.xml with text\)"),
        (zip_bytes(odt_parts(), {"content.xml": "<office:document-content"}), r"no readable content\.xml with text"),
        (
            zip_bytes(odt_parts(), {"META-INF/manifest.xml": '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                    '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/></manifest:file-entry></manifest:manifest>'}),
            r"notes\.odt is password-protected; open it in LibreOffice and save it without a password",
        ),
    ],
)
def test_damaged_or_protected_documents_are_refused_with_what_to_do(data, says) -> None:
    with pytest.raises(SourceError, match=says):
        extract(data, "notes.odt")


def test_a_document_without_text_is_refused() -> None:
    content = odt_parts()["content.xml"]
    assert isinstance(content, str)
    empty = content[: content.index("<office:text>") + len("<office:text>")] + content[content.index("</office:text>") :]
    with pytest.raises(SourceError, match=r"this document has no text"):
        extract(zip_bytes(odt_parts(), {"content.xml": empty}), "notes.odt")


def test_entities_are_not_resolved(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET LINE", encoding="utf-8")
    content = odt_parts()["content.xml"]
    assert isinstance(content, str)
    leaking = content.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY leak SYSTEM "file://{secret}">]>',
    ).replace("The next meeting is on 7 April.", "The next meeting is on 7 April. &leak;")
    assert "TOP SECRET" not in extract(zip_bytes(odt_parts(), {"content.xml": leaking}), "notes.odt").text


def test_a_zip_bomb_is_refused_before_it_is_expanded(monkeypatch) -> None:
    monkeypatch.setattr(containers, "MAX_EXPANDED_BYTES", 1_000)
    with pytest.raises(SourceError, match=r"notes\.odt would expand to [\d,]+ bytes, over the limit of 1,000"):
        extract(NOTES.read_bytes(), "notes.odt")
