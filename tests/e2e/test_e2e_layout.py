"""The chat's layout at a phone's width (390x844) and a laptop's (1280x900), in chromium:
on a phone the cited sentence, in its paragraph, is right under the answer and on screen;
tables fit; the intro's wording matches the layout. Saves the screenshots the README shows
(tests/e2e/phone-390.png, tests/e2e/desktop-1280.png)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
QUESTION = "What does the Shusha Declaration focus on?"
CITED = "signed the Shusha Declaration"


def _open(browser, served, width: int, height: int, **options):  # type: ignore[no-untyped-def]
    from conftest import Page

    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    return context, Page(context.new_page(), served["url"])


def _visible_in(page, element_js: str, within: str) -> bool:
    """True when the element ``element_js`` evaluates to lies inside the window and ``within``'s box."""
    return page.evaluate(
        f"""outer => {{
            const el = {element_js}, box = el.getBoundingClientRect();
            const o = document.querySelector(outer).getBoundingClientRect();
            return box.height > 0 && box.top >= Math.max(0, o.top) - 1 && box.bottom <= Math.min(innerHeight, o.bottom) + 1;
        }}""",
        within,
    )


# the mark of citation [1] in the newest reply's narrow view (a [2] earlier in the paragraph comes first in it)
def _starts_in(page, element_js: str, within: str) -> bool:
    """True when the first line of the element ``element_js`` evaluates to lies inside the window and ``within``'s box."""
    return page.evaluate(
        f"""outer => {{
            const el = {element_js}, box = el.getClientRects()[0];
            const o = document.querySelector(outer).getBoundingClientRect();
            return box.height > 0 && box.top >= Math.max(0, o.top) - 1 && box.bottom <= Math.min(innerHeight, o.bottom) + 1;
        }}""",
        within,
    )


NEWEST_NARROW_MARK = (
    "[...[...document.querySelectorAll('#cq-chat .cq-narrow')].pop().querySelectorAll('mark')]"
    ".find(m => m.innerText.startsWith('[1]'))"
)
NEWEST_ANSWER = "[...document.querySelectorAll('#cq-chat .cq-answer')].pop()"
FIRST_PANE_MARK = "document.querySelector('#cq-pane mark.cq-cite')"


def _single_line(page, selector: str) -> list[str]:
    """The texts of ``selector`` elements that wrap onto more than one line."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)].filter(el => {
            const range = document.createRange(); range.selectNodeContents(el);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            return tops.size > 1;
        }).map(el => el.innerText)""",
        selector,
    )


def test_phone_shows_the_cited_sentence_in_its_paragraph_right_under_the_answer(browser, served):
    context, chat = _open(browser, served, 390, 844, is_mobile=True, has_touch=True)
    try:
        page = chat.page
        intro = page.locator(".cq-intro-narrow").first
        assert intro.is_visible() and "under each answer" in intro.inner_text()
        assert not page.locator(".cq-intro-wide").first.is_visible()  # no "beside the chat" on a phone
        assert _single_line(page, "#cq-doc-list th") == []  # no "Sentenc es"
        table_fits = page.evaluate(
            "() => { const t = document.querySelector('#cq-doc-list table'); return t.scrollWidth <= t.parentElement.clientWidth + 1; }"
        )
        assert table_fits

        chat.ask(QUESTION)
        reply = chat.last_reply()
        assert not reply.locator(".cq-wide").is_visible()  # the folded sources are for wide screens
        narrow = reply.locator(".cq-narrow")
        assert narrow.is_visible()
        marks = narrow.locator("mark").all_inner_texts()
        assert any(CITED in m for m in marks), marks
        first = [m for m in marks if m.startswith("[1]")]
        assert first, marks
        # the paragraph around it is shown too, and where it is in the document
        assert len(narrow.locator("blockquote").first.inner_text()) > len(first[0])
        assert "lachin-joint-exercise.txt: [1] characters " in narrow.inner_text()
        page.wait_for_timeout(800)  # let the chat finish scrolling to the new reply
        # the answer and its first cited sentence ([1], in its paragraph) are on screen, in the chat
        assert _visible_in(page, NEWEST_ANSWER, "#cq-chat"), "the answer is scrolled away"
        # its first line at least: with a [2] before it in the paragraph, the rest may run below
        assert _starts_in(page, NEWEST_NARROW_MARK, "#cq-chat"), "the cited sentence is not on screen"
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        page.screenshot(path=str(HERE / "phone-390.png"))
    finally:
        context.close()


def test_laptop_keeps_the_source_pane_beside_the_chat(browser, served):
    context, chat = _open(browser, served, 1280, 900)
    try:
        page = chat.page
        assert page.locator(".cq-intro-wide").first.is_visible()
        assert not page.locator(".cq-intro-narrow").first.is_visible()
        chat.ask(QUESTION)
        reply = chat.last_reply()
        assert not reply.locator(".cq-narrow").is_visible()
        assert reply.locator(".cq-wide summary").is_visible()
        chat_box = page.locator("#cq-chat").bounding_box()
        pane_box = page.locator("#cq-pane").bounding_box()
        assert pane_box["x"] >= chat_box["x"] + chat_box["width"] - 1  # beside, not below
        assert pane_box["y"] < chat_box["y"] + chat_box["height"]
        page.locator("#cq-pane mark.cq-cite").first.wait_for()
        assert CITED in page.locator("#cq-pane mark.cq-cite").first.inner_text()
        page.wait_for_timeout(800)  # the pane scrolls to the first cited sentence
        assert _visible_in(page, FIRST_PANE_MARK, "#cq-pane"), "the cited sentence is not in view in the pane"
        assert _single_line(page, "#cq-doc-list th") == []
        page.screenshot(path=str(HERE / "desktop-1280.png"))
    finally:
        context.close()
