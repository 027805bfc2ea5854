"""Reading sources: files by content, folders with skipped files and reasons, URL ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.errors import SourceError
from citeqa.ingest.sources import read_sources, url_doc_id

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


@pytest.mark.parametrize(
    ("url", "doc_id"),
    [
        ("http://127.0.0.1:8000/article.html", "127.0.0.1:8000/article.html"),
        ("https://Example.org/news/2026/barrage/", "example.org/news/2026/barrage"),
        ("https://example.org", "example.org"),
        ("https://example.org/a%20b.pdf?id=3", "example.org/a b.pdf?id=3"),
    ],
)
def test_url_doc_ids_are_host_and_path(url, doc_id):
    assert url_doc_id(url) == doc_id


def test_files_are_read_by_content_not_by_name(tmp_path):
    (tmp_path / "report.txt").write_bytes((FORMATS / "report.pdf").read_bytes())  # a PDF named .txt
    (tmp_path / "saved").write_bytes((FORMATS / "news.html").read_bytes())  # a page without a suffix
    result = read_sources([tmp_path / "report.txt", tmp_path / "saved"])
    pdf, html = result.documents
    assert pdf.extractor == "pypdf" and pdf.pages is not None and pdf.text.startswith("Estuary Monitoring Report")
    assert html.extractor == "trafilatura" and html.pages is None
    assert html.text.startswith("Harbour town switches on its tidal barrage\n")


def test_folders_skip_other_files_and_say_why(tmp_path, caplog):
    docs = tmp_path / "docs"
    (docs / "deep" / "er").mkdir(parents=True)
    (docs / "notes.md").write_text("# Notes\n\nThe ferry leaves at nine.\n", encoding="utf-8")
    (docs / "deep" / "er" / "report.pdf").write_bytes((FORMATS / "report.pdf").read_bytes())
    (docs / "page.bin").write_bytes((FORMATS / "news.html").read_bytes())  # HTML by content: read
    (docs / "budget.numbers").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    (docs / "report.docx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)  # damaged
    (docs / "script.py").write_text("print('hello')\n", encoding="utf-8")
    (docs / "scan.pdf").write_bytes((FORMATS / "scan.pdf").read_bytes())
    (docs / ".hidden.txt").write_text("never read", encoding="utf-8")
    result = read_sources([docs])
    assert [d.doc_id for d in result.documents] == ["deep/er/report.pdf", "notes.md", "page.bin"]
    skipped = {Path(s.path).name: s.reason for s in result.skipped}
    assert skipped["budget.numbers"] == "not a .txt, .md, .rst, .html, .pdf, .docx, .odt, .pptx, .epub, .ipynb, .csv, .xlsx, .xls or .ods file"
    assert skipped["script.py"] == "not a .txt, .md, .rst, .html, .pdf, .docx, .odt, .pptx, .epub, .ipynb, .csv, .xlsx, .xls or .ods file"
    assert skipped["report.docx"].startswith("report.docx cannot be read: its zip is damaged; save it again from Word")
    assert skipped["scan.pdf"].startswith("scan.pdf has no text layer")
    assert ".hidden.txt" not in skipped
    assert f"skipped {docs / 'budget.numbers'}: not a .txt" in caplog.text


def test_a_sub_folder_the_caller_picks_is_skipped_once_with_its_files_unread(tmp_path):
    docs = tmp_path / "docs"
    (docs / "idx" / "v-1").mkdir(parents=True)
    (docs / ".git").mkdir()
    (docs / "notes.txt").write_text("The ferry leaves at nine.\n", encoding="utf-8")
    (docs / "idx" / "CURRENT").write_text("v-1\n", encoding="utf-8")
    (docs / "idx" / "v-1" / "readme.txt").write_text("inside the index: never read\n", encoding="utf-8")
    (docs / ".git" / "notes.txt").write_text("hidden: never read\n", encoding="utf-8")
    result = read_sources([docs], skip_folder=lambda folder: (folder / "CURRENT").is_file())
    assert [d.doc_id for d in result.documents] == ["notes.txt"]
    assert [(Path(s.path).name, s.reason) for s in result.skipped] == [("idx", "a citeqa index folder: its files are not documents")]
    # without the predicate the same folder is read as any other
    assert [d.doc_id for d in read_sources([docs]).documents] == ["idx/v-1/readme.txt", "notes.txt"]


def test_a_named_file_that_cannot_be_read_is_an_error_not_a_skip(tmp_path):
    (tmp_path / "budget.numbers").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(SourceError, match="unsupported or binary content"):
        read_sources([tmp_path / "budget.numbers"])
    with pytest.raises(SourceError, match="no text layer"):
        read_sources([FORMATS / "scan.pdf"])
    with pytest.raises(SourceError, match=r"only http:// and https://"):
        read_sources(["ftp://example.org/report.pdf"])


def test_large_plain_text_has_no_html_pdf_limit_but_large_pdfs_are_refused_unread(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("The ferry leaves at nine. " * 40, encoding="utf-8")
    assert read_sources([big], max_bytes=100).documents[0].text.startswith("The ferry")
    pdf = tmp_path / "big.pdf"
    pdf.write_bytes((FORMATS / "report.pdf").read_bytes())
    with pytest.raises(SourceError, match="over the limit of 1,000 bytes"):
        read_sources([pdf], max_bytes=1000)
