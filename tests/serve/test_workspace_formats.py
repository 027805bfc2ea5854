"""Uploads of web pages and PDFs into the chat's workspace (real model, real files):
checked by content, answered from with the page shown, refused whole when unreadable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from citeqa import LiveIndex
from citeqa.errors import SourceError
from citeqa.ingest.extract import extract
from citeqa.serve.render import plain_text, render_answer, render_source_pane
from citeqa.serve.workspace import MAX_UPLOAD_BYTES, Library, Workspace, check_document

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def _staged(tmp_path: Path, name: str, data: bytes) -> tuple[str, str]:
    folder = tmp_path / "uploads"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return name, str(folder / name)


@pytest.fixture
def library(article_index, embedder, tmp_path) -> Library:
    return Library(LiveIndex(article_index.path.parent), Workspace(tmp_path / "ws"), build_embedder=lambda m: embedder)


def test_uploaded_pdf_is_answered_from_with_its_page(library, tmp_path):
    change = library.add([_staged(tmp_path, "report.pdf", (FORMATS / "report.pdf").read_bytes())])
    assert "Added report.pdf" in change.message
    index = library.get()
    answer = index.answer("How many salmon did the fish counter record?")
    assert not answer.abstained
    hit = answer.citations[0]
    assert hit.doc_id == "report.pdf" and "1,214 salmon" in hit.text
    assert hit.page == 2
    document = next(d for d in index.documents if d.doc_id == "report.pdf")
    assert document.text[hit.start : hit.end] == hit.text
    # the index holds the extracted text, not the PDF's bytes
    assert document.text == extract((FORMATS / "report.pdf").read_bytes(), "report.pdf").text
    assert document.pages == (0, 1165, 2059) and document.extractor == "pypdf"
    pane = render_source_pane(answer, index, answer_id="p")
    assert '<span class="cq-num">[1]</span><span class="cq-page">page 2</span>' in pane
    assert "Estuary Monitoring Report 2026" in pane  # the pane shows the extracted text
    assert "report.pdf, page 2, characters" in render_answer(answer, answer_id="p")
    assert "report.pdf, page 2, characters" in plain_text(answer)


def test_uploaded_e_book_is_answered_from_its_chapters(library, tmp_path):
    change = library.add([_staged(tmp_path, "book.epub", (FORMATS / "book.epub").read_bytes())])
    assert "Added book.epub" in change.message
    index = library.get()
    answer = index.answer("When does the ferry to the island leave?")
    assert not answer.abstained
    hit = answer.citations[0]
    assert hit.doc_id == "book.epub" and "at nine every morning" in hit.text
    document = next(d for d in index.documents if d.doc_id == "book.epub")
    assert document.text[hit.start : hit.end] == hit.text and document.extractor == "epub"
    assert "book.epub, characters" in plain_text(answer)


def test_uploaded_opendocument_text_is_answered_from(library, tmp_path):
    change = library.add([_staged(tmp_path, "notes.odt", (FORMATS / "notes.odt").read_bytes())])
    assert "Added notes.odt" in change.message
    hit = library.get().answer("What is the fee a night at the north quay?").citations[0]
    assert hit.doc_id == "notes.odt" and hit.text == "Berth: North quay; Fee a night: 40 pounds; Longest boat: 25 m."


def test_uploaded_slide_deck_is_answered_from(library, tmp_path):
    change = library.add([_staged(tmp_path, "budget.pptx", (FORMATS / "budget.pptx").read_bytes())])
    assert "Added budget.pptx" in change.message
    hit = library.get().answer("How much will the pontoons cost?").citations[0]
    assert hit.doc_id == "budget.pptx" and hit.text == "Item: Pontoons; Cost: 65,000 pounds."


@pytest.mark.parametrize(
    ("fixture", "question", "cited", "absent"),
    [
        ("levels.ipynb", "What was the highest water of 2025?", r"The highest water of 2025 was 412 cm", "Figure size"),  # a plot's placeholder
        ("berths.csv", "How much is a night at the south pontoon?", r"Berth: South pontoon; Fee a night: 28 pounds;", None),
        ("tides.xlsx", "How full is the north quay?", r"Berth: North quay; Fee a night: 40; Occupancy: 87\.5%;", "Draft figures"),  # a hidden sheet
        ("fees.ods", "What does a night at the south pontoon cost?", r"Berth: South pontoon; Fee a night: £28\.00;", "Draft figures"),
        # either of its two sheets says it: "name: Weight in grams; value: 0.9." or "name: Clippy; ...; weight: 0.9."
        ("clippy.xls", "How much did Clippy weigh?", r"name: .*0\.9\.$", None),
    ],
)
def test_uploaded_notebook_or_table_is_answered_from_with_exact_offsets(library, tmp_path, fixture, question, cited, absent):
    # ``cited``: a pattern [1] starts with
    change = library.add([_staged(tmp_path, fixture, (FORMATS / fixture).read_bytes())])
    assert f"Added {fixture}" in change.message
    index = library.get()
    hit = index.answer(question).citations[0]
    assert hit.doc_id == fixture and re.match(cited, hit.text), hit.text
    document = next(d for d in index.documents if d.doc_id == fixture)
    assert document.text[hit.start : hit.end] == hit.text
    assert absent is None or absent not in document.text


def test_uploaded_web_page_keeps_the_article_and_drops_the_boilerplate(library, tmp_path):
    library.add([_staged(tmp_path, "news.html", (FORMATS / "news.html").read_bytes())])
    index = library.get()
    document = next(d for d in index.documents if d.doc_id == "news.html")
    assert document.text.startswith("Harbour town switches on its tidal barrage\n")
    for boilerplate in ("cookie", "Subscribe today", "Share on Facebook", "All rights reserved", "track("):
        assert boilerplate not in document.text
    answer = index.answer("How much did the barrage cost?")
    assert answer.citations[0].doc_id == "news.html" and "41 million pounds" in answer.citations[0].text
    assert answer.citations[0].page is None


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("scan.pdf", (FORMATS / "scan.pdf").read_bytes(), "no text layer"),
        ("cut.pdf", (FORMATS / "report.pdf").read_bytes()[:20_000], "truncated or damaged"),
        ("fake.pdf", b"Just some words, not a PDF at all.", "not a PDF"),
        ("page.html", bytes(range(256)) * 8, "content is binary"),
        ("renamed.txt", (FORMATS / "scan.pdf").read_bytes(), "no text layer"),  # content decides, not the name
        ("half.ipynb", (FORMATS / "levels.ipynb").read_bytes()[:300], "not a Jupyter notebook: not valid JSON"),
    ],
)
def test_unreadable_upload_is_refused_and_nothing_is_half_added(library, tmp_path, name, data, message):
    serving = library.get()
    with pytest.raises(SourceError, match=message):
        library.add([_staged(tmp_path, "ok.txt", b"A harmless note about tulips.\n"), _staged(tmp_path, name, data)])
    assert library.workspace.names() == []  # not even the good file of the same upload
    assert library.get() is serving
    assert not library.workspace.index_dir.exists()  # no rebuild was even started


def test_upload_size_limits_depend_on_the_format(tmp_path):
    with pytest.raises(SourceError, match=f"limit is {MAX_UPLOAD_BYTES:,} bytes for pdf files"):
        check_document("huge.pdf", b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES)
    extracted = check_document("news.html", (FORMATS / "news.html").read_bytes())
    assert extracted.extractor == "trafilatura"


def test_upload_rebuild_keeps_the_base_index_urls_as_fetched_without_going_online(embedder, tmp_path):
    import subprocess
    import sys
    import time
    import urllib.request

    from citeqa import build_index
    from serving import free_port

    site = tmp_path / "site"
    site.mkdir()
    (site / "news.html").write_bytes((FORMATS / "news.html").read_bytes())
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/news.html"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        base = build_index([url], tmp_path / "base", embedder=embedder)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert [d.doc_id for d in base.documents] == [f"127.0.0.1:{port}/news.html"]
    library = Library(LiveIndex(tmp_path / "base"), Workspace(tmp_path / "ws"), build_embedder=lambda m: embedder)
    library.add([_staged(tmp_path, "report.pdf", (FORMATS / "report.pdf").read_bytes())])  # the URL is gone now
    index = library.get()
    assert sorted(d.doc_id for d in index.documents) == sorted([f"127.0.0.1:{port}/news.html", "report.pdf"])
    answer = index.answer("How much did the tidal barrage cost?")
    assert answer.citations[0].doc_id == f"127.0.0.1:{port}/news.html"
    source = next(s for s in index.manifest["sources"] if s.get("fetched"))
    assert source["path"] == url and source["sha256"] == base.manifest["sources"][0]["sha256"]
