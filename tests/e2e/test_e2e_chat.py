"""The chat in a real browser: answers with markers, highlighted sources, scrolling,
keyboard use, copying, abstentions, bad input and phone width."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

ERDOGAN = "During his presidency, President Recep Tayyip Erdoğan has visited Azerbaijan more than 20 times"


def test_answer_shows_markers_and_highlights_the_cited_sentence_in_the_source(chat):
    chat.ask("How many times has Erdogan visited Azerbaijan?")
    reply = chat.last_reply()
    markers = reply.locator("a.cq-marker")
    assert markers.count() >= 1
    assert markers.first.inner_text() == "[1]"
    cited = chat.page.locator("#cq-pane mark.cq-cite")
    assert cited.count() == markers.count()
    texts = [cited.nth(i).inner_text() for i in range(cited.count())]
    assert any(ERDOGAN in t for t in texts)
    numbers = [cited.nth(i).locator(".cq-num").inner_text() for i in range(cited.count())]
    assert sorted(numbers) == [f"[{i}]" for i in range(1, cited.count() + 1)]
    # the pane shows the whole document, not only the cited sentence
    assert "liberated from Armenian occupation" in chat.page.locator("#cq-pane").inner_text()
    chat.shot("answer-with-source")


def test_clicking_a_marker_scrolls_the_source_pane_to_the_sentence_and_flashes_it(chat):
    chat.ask("How many times has Erdogan visited Azerbaijan?")
    marker = chat.last_reply().locator("a.cq-marker").first
    target_id = marker.get_attribute("href")[1:]
    target = chat.page.locator(f"#{target_id}")
    pane = chat.page.locator("#cq-pane")
    assert ERDOGAN in target.inner_text()
    chat.page.wait_for_function("() => document.querySelector('#cq-pane').scrollTop > 0")  # new answer: at [1]
    pane.evaluate("e => { e.scrollTop = 0; }")  # the reader scrolls back to the top
    assert not _inside(target.bounding_box(), pane.bounding_box())  # far down the article
    marker.click()
    chat.page.wait_for_function(
        "id => document.getElementById(id).classList.contains('cq-flash')", arg=target_id, timeout=5000
    )
    chat.page.wait_for_timeout(800)  # smooth scrolling
    assert pane.evaluate("e => e.scrollTop") > 0
    assert _inside(target.bounding_box(), pane.bounding_box())
    chat.shot("marker-clicked")


def test_clicking_a_source_link_of_an_older_answer_shows_that_answer_again(chat):
    chat.ask("How many times has Erdogan visited Azerbaijan?")
    bubbles = chat.page.locator("#cq-chat .bot")
    first = bubbles.nth(bubbles.count() - 1)
    chat.ask("What does the Shusha Declaration focus on?")
    assert "Shusha" in chat.page.locator("#cq-pane mark.cq-cite").first.inner_text() or any(
        "declaration" in t.lower() for t in chat.page.locator("#cq-pane mark.cq-cite").all_inner_texts()
    )
    first.locator("summary").click()
    link = first.locator("a.cq-source").first
    target_id = link.get_attribute("href")[1:]
    link.click()
    chat.page.wait_for_function(
        "id => { const e = document.getElementById(id); return e && e.classList.contains('cq-flash'); }",
        arg=target_id,
        timeout=10_000,
    )
    assert ERDOGAN in chat.page.locator(f"#{target_id}").inner_text()


def test_follow_up_shows_how_it_was_interpreted(chat):
    chat.ask("What does the Shusha Declaration focus on?")
    assert chat.last_reply().locator(".cq-interp").count() == 0
    chat.ask("What does it focus on?")
    interp = chat.last_reply().locator(".cq-interp")
    assert interp.count() == 1
    assert "Interpreted as" in interp.inner_text()
    assert "shusha" in interp.inner_text().lower()


def test_what_is_this_about_and_tell_me_more_read_the_article_in_order(chat):
    chat.ask("What is this article about?")
    reply = chat.last_reply()
    assert "an overview: the first 3 sentences of lachin-joint-exercise.txt" in reply.locator(".cq-interp").inner_text()
    assert reply.locator(".cq-answer").inner_text().startswith("Turkish, Azerbaijani militaries hold joint exercise in Lachin [1]")
    assert reply.locator(".cq-confidence").count() == 0
    chat.ask("Tell me more")
    more = chat.last_reply()
    assert "reading on: the next 3 sentences" in more.locator(".cq-interp").inner_text()
    assert more.locator(".cq-answer").inner_text().startswith("The joint exercise is being held under the Agreement")
    assert "The joint exercise is being held" in chat.page.locator("#cq-pane mark").first.inner_text()


def test_did_you_mean_asks_the_question_respelled_as_a_question_of_its_own(chat):
    chat.ask("who is turky's presdent")
    offer = chat.last_reply().locator("a.cq-respelled")
    assert offer.inner_text() == "who is turkey's president"
    before = chat.replies()
    offer.click()
    chat.wait_for_reply(before)
    reply = chat.last_reply()
    # asked, not typed as a follow-up of the misspelt turn (which would carry "turky" and "presdent")
    assert reply.locator(".cq-interp").count() == 0 and reply.locator(".cq-answer").count() == 1
    assert ERDOGAN in reply.locator(".cq-answer").inner_text()
    assert chat.page.locator("#cq-chat .user").last.inner_text().strip() == "who is turkey's president"


def test_abstention_looks_different_and_lists_closest_passages(chat):
    chat.ask("Who won the 2022 football World Cup?")
    reply = chat.last_reply()
    assert reply.locator(".cq-abstain").count() == 1
    assert reply.locator(".cq-answer").count() == 0
    assert "Closest passages (not an answer)" in reply.inner_text()
    pane = chat.page.locator("#cq-pane")
    assert "cq-abstained" in pane.get_attribute("class")
    assert "Closest passages" in pane.inner_text()
    chat.shot("abstention")


def test_blank_and_oversized_questions_get_a_clear_message(chat):
    chat.ask("   ")
    assert "question is blank" in chat.last_reply().inner_text()
    # a little too long: not cut short by the box and asked, but refused with the limit
    chat.ask("Why " + "did the exercise start " * 50 + "?")
    assert "question is too long (1,155 characters); keep it under 1,000 characters" in chat.last_reply().inner_text()
    assert "(1,155 characters)" in chat.page.locator("#cq-chat .user").last.inner_text()
    huge = "why " * 5000  # 20,000 characters pasted; the box keeps 4,000, the server checks again
    chat.ask(huge)
    text = chat.last_reply().inner_text()
    assert "Traceback" not in text and "Error" not in text and "too long" in text
    assert len(chat.page.locator("#cq-chat .user").last.inner_text()) < 1100
    assert len(chat.page.locator("#cq-question textarea").input_value()) == 0
    chat.ask("<img src=x onerror=alert(1)> **when** did the exercise start?")
    asked = chat.page.locator("#cq-chat .user").last.inner_text()
    assert "<img src=x onerror=alert(1)> **when**" in asked
    assert chat.page.locator("#cq-chat img[src='x']").count() == 0 and chat.dialogs == []
    chat.shot("bad-input")


def test_example_question_is_asked_with_one_click(chat):
    before = chat.replies()
    chat.page.get_by_text("What does the Shusha Declaration focus on?", exact=True).first.click()
    chat.wait_for_reply(before)
    assert "focuses on defense cooperation" in chat.last_reply().inner_text()


def test_keyboard_only_ask_then_reach_a_marker_and_open_its_source(chat):
    page = chat.page
    page.locator("#cq-question textarea").focus()
    page.keyboard.type("How many times has Erdogan visited Azerbaijan?")
    page.keyboard.press("Enter")
    page.locator("#cq-chat .bot .cq-answer").first.wait_for(timeout=60_000)
    page.locator("#cq-pane mark.cq-cite").first.wait_for()
    page.evaluate("document.activeElement.blur()")  # start tabbing from the top of the page
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('cq-marker')"):
            break
    else:
        pytest.fail("Tab never reached an answer marker")
    target_id = page.evaluate("document.activeElement.getAttribute('href').slice(1)")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "id => document.getElementById(id).classList.contains('cq-flash')", arg=target_id, timeout=5000
    )
    assert page.evaluate("document.activeElement.id") == target_id


def test_clear_chat_empties_the_conversation_and_the_source_pane(chat):
    chat.ask("What is the aim of the exercise?")
    assert chat.page.locator("#cq-pane mark.cq-cite").count() >= 1
    chat.page.locator("#cq-clear").click()
    chat.page.wait_for_function("() => document.querySelectorAll('#cq-chat .bot').length === 0", timeout=10_000)
    assert chat.page.locator("#cq-pane mark.cq-cite").count() == 0
    assert chat.page.locator("#cq-plain textarea").input_value() == ""


def test_copy_button_copies_the_answer_with_its_citations_as_plain_text(chat):
    chat.ask("How many times has Erdogan visited Azerbaijan?")
    plain = chat.page.locator("#cq-plain textarea").input_value()
    assert "Sources:" in plain and "[1] lachin-joint-exercise.txt, characters" in plain
    assert "<" not in plain
    chat.page.locator("#cq-plain button").first.click()
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    assert copied == plain


def test_phone_width_has_no_horizontal_scroll(browser, served):
    from conftest import Page

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        chat = Page(context.new_page(), served["url"])
        chat.ask("What does the Shusha Declaration focus on?")
        widths = chat.page.evaluate(
            "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
        )
        assert max(widths[:2]) <= widths[2] == 390, widths
        chat.shot("phone-390")
    finally:
        context.close()


def _inside(box: dict, outer: dict) -> bool:
    return box["y"] >= outer["y"] - 1 and box["y"] + box["height"] <= outer["y"] + outer["height"] + 1
