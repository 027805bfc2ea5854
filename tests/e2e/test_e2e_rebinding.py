"""DNS rebinding and cross-site requests in a real browser (issue #16 F2, F3): Chromium
resolves evil.test to 127.0.0.1 (--host-resolver-rules), as a rebound attacker's name would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from serving import start_server, stop_server

# as in tests/e2e/conftest.py (not imported: "conftest" may name tests/conftest.py here)
CHROMIUM = os.environ.get("CITEQA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

RETRIEVE = """async (url) => {
  try {
    const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                body: JSON.stringify({data: ['What is the aim of the exercise?', 3]})});
    return {status: r.status, body: await r.text()};
  } catch (e) { return {error: String(e)}; }
}"""
UPLOAD = """async (url) => {
  const form = new FormData();
  form.append('files', new Blob(['x'.repeat(200000)], {type: 'text/plain'}), 'planted-by-evil.txt');
  try { const r = await fetch(url, {method: 'POST', mode: 'no-cors', body: form}); return {type: r.type}; }
  catch (e) { return {error: String(e)}; }
}"""


@pytest.fixture(scope="module")
def target(tmp_path_factory, article_index):
    root = tmp_path_factory.mktemp("rebinding")
    temp = root / "gradio-tmp"
    temp.mkdir()
    proc, url = start_server(root / "server.log", "--index", str(article_index.path.parent), "--workspace",
                             str(root / "ws"), env={"GRADIO_TEMP_DIR": str(temp)})
    yield {"url": url, "port": int(url.rsplit(":", 1)[1]), "temp": temp}
    stop_server(proc)


@pytest.fixture(scope="module")
def rebinding_browser(browser):
    """A second Chromium from the suite's Playwright, resolving evil.test to 127.0.0.1."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.test 127.0.0.1"],
    )
    yield chromium
    chromium.close()


def _planted(temp: Path) -> list[Path]:
    return [p for p in temp.rglob("*") if p.is_file() and p.name == "planted-by-evil.txt"]


def test_the_app_s_own_page_can_use_the_api(rebinding_browser, target):
    page = rebinding_browser.new_page()
    assert page.goto(target["url"] + "/").status == 200
    result = page.evaluate(RETRIEVE, target["url"] + "/gradio_api/call/retrieve")
    assert result.get("status") == 200 and "event_id" in result["body"]
    page.close()


def test_a_rebound_name_gets_nothing_from_the_server(rebinding_browser, target):
    page = rebinding_browser.new_page()
    response = page.goto(f"http://evil.test:{target['port']}/")
    assert response.status == 400 and "untrusted Host" in page.content()
    # the attacker's page, served under the rebound name (its own origin is evil.test:PORT)
    attack = f"http://evil.test:{target['port']}/attack"
    page.route(attack, lambda route: route.fulfill(status=200, content_type="text/html", body="<p>hello</p>"))
    page.goto(attack)
    result = page.evaluate(RETRIEVE, "/gradio_api/call/retrieve")  # same origin for the browser
    # refused: a 400, or (when Chromium asks first, as for a private-network request) a failed fetch
    assert result.get("status") == 400 or "error" in result, result
    assert "event_id" not in result.get("body", "")
    page.evaluate(UPLOAD, "/gradio_api/upload")
    assert _planted(target["temp"]) == []
    page.close()


def test_another_site_can_neither_read_answers_nor_upload(rebinding_browser, target):
    page = rebinding_browser.new_page()
    attack = "http://evil.test:8999/"
    page.route(attack, lambda route: route.fulfill(status=200, content_type="text/html", body="<p>hello</p>"))
    page.goto(attack)
    result = page.evaluate(RETRIEVE, target["url"] + "/gradio_api/call/retrieve")
    assert "error" in result, result  # the preflight is refused: the browser never sends the POST
    page.evaluate(UPLOAD, target["url"] + "/gradio_api/upload")  # a "simple" request: no preflight
    page.wait_for_timeout(500)
    assert _planted(target["temp"]) == []
    page.close()
