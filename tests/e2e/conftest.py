"""Browser tests: a real `citeqa serve` on loopback driven by headless Debian chromium.

Needs ``apt-get install chromium`` (never ``playwright install``). Screenshots go to
tests/screenshots/ (git-ignored) for review.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "tests" / "screenshots"
CHROMIUM = os.environ.get("CITEQA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def served(tmp_path_factory, article_index) -> Iterator[dict]:
    """A real server over the article index, with a fresh workspace."""
    root = tmp_path_factory.mktemp("e2e")
    proc, url = start_server(
        root / "server.log", "--index", str(article_index.path.parent), "--workspace", str(root / "workspace"), "--mcp"
    )
    url += "/"
    yield {"url": url, "workspace": root / "workspace", "log": root / "server.log", "root": root}
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install it with `apt-get install -y chromium` (see README)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Page:
    """A browser tab on the chat, recording any JavaScript dialog that opens."""

    def __init__(self, page, url: str) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._on_dialog)
        page.goto(url)
        page.wait_for_selector("#cq-question textarea", timeout=60_000)
        page.wait_for_selector("#cq-doc-list table", timeout=60_000)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    KINDS = ":is(.cq-answer, .cq-abstain, .cq-error)"
    REPLY = f"#cq-chat {KINDS}"

    def replies(self) -> int:
        """How many answers, abstentions or refusals the chat shows."""
        return self.page.locator(self.REPLY).count()

    def wait_for_reply(self, before: int) -> None:
        self.page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length > n", arg=[self.REPLY, before], timeout=60_000
        )

    def ask(self, question: str) -> None:
        """Type a question, press Enter, wait for the new reply."""
        before = self.replies()
        box = self.page.locator("#cq-question textarea")
        box.fill(question)
        box.press("Enter")
        self.wait_for_reply(before)

    def last_reply(self):
        """The chat bubble of the newest reply."""
        return self.page.locator("#cq-chat .bot").filter(has=self.page.locator(self.KINDS)).last

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def chat(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served["url"].rstrip("/"))
    page = Page(context.new_page(), served["url"])
    yield page
    context.close()
