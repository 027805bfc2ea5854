"""Web pages added to the chat's workspace by their address (real http.server on loopback,
real model and index): named by host and path, refused at private addresses unless allowed."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from citeqa import LiveIndex
from citeqa.errors import SourceError
from citeqa.serve.webpages import MAX_URL_CHARS, add_web_page, page_name
from citeqa.serve.workspace import Library, Workspace

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
HTML = (FORMATS / "news.html").read_bytes()
PDF = (FORMATS / "report.pdf").read_bytes()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copy(FORMATS / "news.html", folder / "barrage")  # no suffix: the bytes say HTML
    shutil.copy(FORMATS / "report.pdf", folder / "report.pdf")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def guess_type(self, path):  # type: ignore[no-untyped-def]
            return "text/html" if str(path).endswith("barrage") else super().guess_type(path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def library(article_index, embedder, tmp_path) -> Library:
    return Library(LiveIndex(article_index.path.parent), Workspace(tmp_path / "ws"), build_embedder=lambda m: embedder)


@pytest.mark.parametrize(
    ("url", "data", "content_type", "name"),
    [
        ("https://example.org/news/barrage", HTML, "text/html", "example.org_news_barrage.html"),
        ("https://example.org/files/report.pdf", PDF, "application/pdf", "example.org_files_report.pdf"),
        ("https://example.org/", HTML, "", "example.org.html"),
        ("https://example.org/notes", b"# Tides\n\nHigh water at noon.\n", "text/markdown", "example.org_notes.md"),
        ("http://example.org:8080/a?id=7", b"Plain words.\n", "text/plain", "example.org_8080_a_id_7.txt"),
    ],
)
def test_a_page_is_named_by_its_host_and_path_with_the_suffix_of_what_it_is(url, data, content_type, name) -> None:
    assert page_name(url, data, content_type) == name


def test_a_page_named_one_format_that_is_another_is_refused_as_a_file_would_be() -> None:
    # a "report.pdf" link answering with a web page (a log-in or paywall page) adds no PDF
    with pytest.raises(SourceError, match=r"example\.org_report\.pdf is not a PDF: it has no %PDF- header"):
        page_name("https://example.org/report.pdf", HTML, "text/html")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "no address was given; paste a web page's address"),
        ("   ", "no address was given"),
        ("ferry timetable", "'ferry timetable' is not a web address; paste one starting with https://"),
        ("file:///etc/passwd", "is not a web address"),
        ("https://example.org/" + "a" * MAX_URL_CHARS, "characters long; the limit is 2,000"),
    ],
)
def test_what_is_no_web_address_is_refused_in_words_and_nothing_changes(library, url, message) -> None:
    before = library.get()
    with pytest.raises(SourceError, match=message):
        add_web_page(library, url)
    assert library.get() is before and library.workspace.names() == []


def test_a_page_at_a_private_address_is_refused_unless_the_server_allows_them(library, site) -> None:
    with pytest.raises(SourceError, match=r"127\.0\.0\.1 is a local or private network address.*--allow-private-urls"):
        add_web_page(library, f"{site}/barrage")
    assert library.workspace.names() == []
    change = add_web_page(library, f"{site}/barrage", public_only=False)
    assert change.message.startswith("Added 127.0.0.1_")
    (stored,) = library.workspace.names()
    assert stored.endswith("_barrage.html") and library.workspace.read(stored) == HTML
    answer = library.get().answer("How much did the barrage cost?")
    assert not answer.abstained and answer.citations[0].doc_id == stored
    assert "41 million pounds" in answer.citations[0].text
    # the same page again is the same document; a PDF keeps its name
    assert "already there with the same content" in add_web_page(library, f"{site}/barrage", public_only=False).message
    add_web_page(library, f"{site}/report.pdf", public_only=False)
    assert sorted(library.workspace.names())[1].endswith("_report.pdf")
    hit = library.get().answer("How many salmon did the fish counter record?").citations[0]
    assert "1,214 salmon" in hit.text and hit.page == 2


def test_several_addresses_are_added_in_one_rebuild_or_none_is(library, site) -> None:
    before = library.get()
    with pytest.raises(SourceError, match=r"/gone\.html: the server answered HTTP 404"):
        add_web_page(library, f"{site}/barrage {site}/gone.html", public_only=False)
    assert library.get() is before and library.workspace.names() == []
    with pytest.raises(SourceError, match=r"'nowhere' is not a web address"):
        add_web_page(library, f"{site}/barrage nowhere")
    with pytest.raises(SourceError, match=r"11 addresses were given; add at most 10 at a time"):
        add_web_page(library, " ".join(f"{site}/p{n}.html" for n in range(11)))
    seen: list[str] = []
    change = add_web_page(library, f"  {site}/barrage\n{site}/report.pdf {site}/barrage ", lambda f, m: seen.append(m), public_only=False)
    assert change.message.startswith("Added 127.0.0.1_") and "(3 documents," in change.message  # the article and both
    assert [n.rsplit("_", 1)[1] for n in library.workspace.names()] == ["barrage.html", "report.pdf"]
    assert any("(2 of 2)" in m for m in seen) and not any("(3 of" in m for m in seen)  # the same address once
    assert library.get().answer("How many salmon did the fish counter record?").citations[0].page == 2


def test_a_missing_page_is_refused_with_the_server_s_answer(library, site) -> None:
    with pytest.raises(SourceError, match=r"/gone\.html: the server answered HTTP 404"):
        add_web_page(library, f"{site}/gone.html", public_only=False)
    assert library.workspace.names() == []


def test_the_documents_panel_links_each_page_to_the_address_it_was_added_from(library, site, tmp_path) -> None:
    from citeqa.serve.render import render_documents

    add_web_page(library, f"{site}/barrage {site}/report.pdf", public_only=False)
    uploaded = tmp_path / "notes.md"
    uploaded.write_text("# Notes\n\nThe weir was inspected in May.\n", encoding="utf-8")
    library.add([("notes.md", str(uploaded))])
    origins = {info.name: info.origin for info in library.documents()}
    page = next(name for name in origins if name.endswith("barrage.html"))
    assert origins[page] == f"{site}/barrage" and origins["notes.md"] == "" and origins["lachin-joint-exercise.txt"] == ""
    html = render_documents(library.documents(), library.get())
    assert f'<a class="cq-origin" href="{site}/barrage" rel="noopener noreferrer nofollow" target="_blank">' in html
    assert html.count('class="cq-origin"') == 2
    # the source pane says where a cited page came from; a file uploaded from disk has no such line
    from citeqa.serve.render import render_source_pane

    pane = render_source_pane(library.get().answer("How much did the barrage cost?"), library.get(), answer_id="a1", origins=library.workspace.origins())
    assert f'<p class="cq-from">from <a class="cq-origin" href="{site}/barrage"' in pane
    weir = render_source_pane(library.get().answer("When was the weir inspected?"), library.get(), answer_id="a2", origins=library.workspace.origins())
    assert "<h3>notes.md</h3>" in weir and "<h3>notes.md</h3><p class=\"cq-from\">" not in weir
    # kept across a restart (a plain file beside the documents), forgotten with its document
    again = Library(library.base, Workspace(library.workspace.root), build_embedder=lambda m: None)
    assert {i.name: i.origin for i in again.documents()}[page] == f"{site}/barrage"
    library.remove(page)
    assert page not in library.workspace.origins() and len(library.workspace.origins()) == 1


def test_an_address_that_is_not_http_is_never_made_a_link(tmp_path, article_index) -> None:
    from citeqa.serve.render import render_documents
    from citeqa.serve.workspace import ORIGINS_FILE, DocumentInfo

    workspace = Workspace(tmp_path / "ws")
    workspace.documents_dir.mkdir(parents=True)
    (workspace.documents_dir / ORIGINS_FILE).write_text('{"a.html": "javascript:alert(1)", "b.html": "https://x.org/?q=\\"><b>", "c": 3}', encoding="utf-8")
    assert workspace.origins() == {"b.html": 'https://x.org/?q="><b>'}  # read back checked: the file may have been edited
    html = render_documents([DocumentInfo("a.html", 1, "a.html", "", origin="javascript:alert(1)"), DocumentInfo("b.html", 1, "b.html", "", origin='https://x.org/?q="><b>')], article_index)
    assert "javascript" not in html and 'href="https://x.org/?q=&quot;&gt;&lt;b&gt;"' in html and "<b>" not in html
    (workspace.documents_dir / ORIGINS_FILE).write_text("{not json", encoding="utf-8")
    assert workspace.origins() == {}
