"""In a real browser: the source pane scrolls to citation [1] of each new answer, a
PDF uploaded from the page is answered from with its page shown, and a web page added by
its address is answered from (own server and workspace, allowing this machine's addresses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import start_server, stop_server

pytestmark = pytest.mark.slow

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"

# how far citation [1] lies inside the pane's visible area (negative: above, > 1: below)
VISIBLE = """() => {
  const pane = document.querySelector('#cq-pane');
  const mark = pane.querySelector('mark.cq-cite');
  const p = pane.getBoundingClientRect(), m = mark.getBoundingClientRect();
  return {top: m.top - p.top, bottom: m.bottom - p.top, height: pane.clientHeight,
          scroll: pane.scrollTop, overflow: pane.scrollHeight - pane.clientHeight};
}"""


@pytest.fixture(scope="module")
def own_server(tmp_path_factory, article_index) -> Iterator[str]:
    root = tmp_path_factory.mktemp("e2e-formats")
    proc, url = start_server(  # pages of this machine may be added: the test's web server is on it
        root / "server.log", "--index", str(article_index.path.parent), "--workspace", str(root / "workspace"),
        "--allow-private-urls",
    )
    yield url + "/"
    stop_server(proc)


@pytest.fixture
def page(browser, own_server):
    from conftest import Page

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    chat = Page(context.new_page(), own_server)
    yield chat
    context.close()


def _wait_visible(chat) -> dict:
    chat.page.wait_for_function(
        f"() => {{ const v = ({VISIBLE})(); return v.top >= 0 && v.bottom <= v.height; }}", timeout=10_000
    )
    return chat.page.evaluate(VISIBLE)


def test_source_pane_scrolls_to_citation_1_of_each_new_answer(page):
    page.ask("How many times has Erdogan visited Azerbaijan?")  # the article's last sentence
    assert "more than 20 times" in page.last_reply().locator(".cq-answer").inner_text()
    seen = _wait_visible(page)
    assert seen["overflow"] > 0, "the article fits the pane: the test would prove nothing"
    assert seen["scroll"] > 0 and 0 <= seen["top"] and seen["bottom"] <= seen["height"]
    page.shot("scrolled-to-citation")
    # the next answer, near the top of the article, scrolls the pane back up to its [1]
    page.ask("When did the joint exercise take place?")
    page.page.wait_for_function("() => document.querySelector('#cq-pane').scrollTop < 400", timeout=10_000)
    again = _wait_visible(page)
    assert again["scroll"] < seen["scroll"]


def test_uploaded_pdf_is_answered_with_its_page_in_the_source_pane(page, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes((FORMATS / "report.pdf").read_bytes())
    scan = tmp_path / "scan.pdf"
    scan.write_bytes((FORMATS / "scan.pdf").read_bytes())
    upload = page.page.locator("#cq-upload input[type=file]")
    upload.set_input_files([str(scan)])  # refused with a clear message, nothing added
    page.page.wait_for_function(
        "() => (document.querySelector('#cq-status') || {}).innerText?.includes('no text layer')", timeout=120_000
    )
    assert "Not added" in page.page.locator("#cq-status").inner_text()
    assert "scan.pdf" not in page.page.locator("#cq-doc-list").inner_text()
    upload = page.page.locator("#cq-upload input[type=file]")
    upload.set_input_files([str(pdf)])
    page.page.wait_for_function(
        "() => (document.querySelector('#cq-status') || {}).innerText?.includes('Added report.pdf')", timeout=180_000
    )
    assert "report.pdf" in page.page.locator("#cq-doc-list").inner_text()
    page.ask("How many salmon did the fish counter record?")
    assert "1,214 salmon" in page.last_reply().locator(".cq-answer").inner_text()
    mark = page.page.locator("#cq-pane mark.cq-cite").first
    assert mark.locator(".cq-page").inner_text() == "page 2"
    assert "1,214 salmon" in mark.inner_text()
    assert "report.pdf" in page.page.locator("#cq-pane h3").all_inner_texts()
    assert "report.pdf, page 2, characters" in page.last_reply().locator("details").text_content()
    _wait_visible(page)
    page.shot("pdf-upload-answer")


def test_a_web_page_added_by_its_address_is_answered_from(page, tmp_path):
    import functools
    import http.server
    import threading

    (tmp_path / "barrage").write_bytes((FORMATS / "news.html").read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        box = page.page.locator("#cq-page-url textarea, #cq-page-url input").first
        box.fill(f"http://127.0.0.1:{site.server_address[1]}/barrage")
        box.press("Enter")
        page.page.wait_for_function(
            "() => /^Added 127\\.0\\.0\\.1_\\d+_barrage\\.html/.test((document.querySelector('#cq-status') || {}).innerText || '')",
            timeout=180_000,
        )
    finally:
        site.shutdown()
        site.server_close()
    assert box.input_value() == ""  # done: the box is cleared
    assert "_barrage.html" in page.page.locator("#cq-doc-list").inner_text()
    link = page.page.locator("#cq-doc-list a.cq-origin")  # the page's address, under its name
    assert link.count() == 1 and link.get_attribute("href") == f"http://127.0.0.1:{site.server_address[1]}/barrage"
    assert link.get_attribute("target") == "_blank" and "noopener" in (link.get_attribute("rel") or "")
    page.ask("How much did the barrage cost?")
    assert "41 million pounds" in page.last_reply().locator(".cq-answer").inner_text()
    assert any(t.endswith("_barrage.html") for t in page.page.locator("#cq-pane h3").all_inner_texts())
    assert page.page.locator("#cq-pane p.cq-from a.cq-origin").get_attribute("href") == link.get_attribute("href")
    page.shot("web-page-added-by-address")
