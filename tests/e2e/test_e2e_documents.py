"""Documents from the page, in a real browser: upload → background rebuild → ask;
remove; hostile document text shown literally; wrong files refused by the server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

OBSERVATORY = (
    "Notes from the hills\n\n"
    "The Kestrel Ridge Observatory was founded in 1931 by the astronomer Ida Marlowe. "
    "Its main telescope has a mirror 2.4 meters wide. "
    "Every August the observatory opens its dome to visitors for the Perseid meteor shower.\n"
)
HOSTILE = (
    "Zorblax budget note\n\n"
    "The Zorblax committee approved the <img src=x onerror=alert(1)> budget on Tuesday. "
    "A second line reads <script>alert(2)</script> and [click](javascript:alert(3)) and ![](http://127.0.0.1:9/x.png). "
    "The committee also noted ${alert(4)} and {{7*7}} in the margin.\n"
)


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".lock"):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _upload(chat, *paths: Path) -> None:
    chat.page.locator("#cq-upload input[type=file]").set_input_files([str(p) for p in paths])


def _wait_status(chat, text: str, timeout: float = 180_000) -> str:
    chat.page.wait_for_function(
        "t => (document.querySelector('#cq-status') || {}).innerText?.includes(t)", arg=text, timeout=timeout
    )
    return chat.page.locator("#cq-status").inner_text()


def test_upload_rebuilds_in_the_background_then_answers_from_the_new_document(
    chat, browser, served, article_index, tmp_path
):
    from conftest import Page

    base_before = _tree_digest(article_index.path.parent)
    assert chat.page.title() == "citeqa: ask the article"
    other_context = browser.new_context()
    other = Page(other_context.new_page(), served["url"])  # someone else chatting meanwhile
    other.ask("What is the aim of the exercise?")
    doc = tmp_path / "observatory.txt"
    doc.write_text(OBSERVATORY, encoding="utf-8")
    _upload(chat, doc)
    # the stage shows beside the upload box (not over the documents table) while the index is rebuilt
    stages = []
    for _ in range(600):
        text = chat.page.locator("#cq-status").inner_text()
        if "Added observatory.txt" in text:
            break
        if text and (not stages or stages[-1] != text):
            stages.append(text)
        assert chat.page.locator("#cq-doc-list .progress-text, #cq-doc-list .eta-bar").count() == 0
        chat.page.wait_for_timeout(50)
    seen = " | ".join(stages)
    # a three-sentence document can go from one stage to the next faster than the 50 ms poll,
    # so any of the rebuild's named stages counts (CI once saw only loading, splitting, switching)
    stage_names = ("Loading the embedding model", "Reading", "Splitting", "Embedding sentences:", "Indexing", "Switching")
    assert any(name in seen for name in stage_names), seen
    status = _wait_status(chat, "Added observatory.txt")
    assert "now answers from the new index" in status
    note = chat.page.locator("#cq-chat .cq-note").last  # the chat says so
    note.wait_for(timeout=10_000)
    assert "Documents updated" in note.inner_text() and "now answers from the new index" in note.inner_text()
    table = chat.page.locator("#cq-doc-list").inner_text()
    assert "observatory.txt" in table and "lachin-joint-exercise.txt" in table
    # the heading and the tab stop saying "the article" once there are two documents (they did until a restart)
    chat.page.wait_for_function("() => document.title === 'citeqa: ask the documents'", timeout=10_000)
    assert "ask the documents" in chat.page.locator("#cq-title h1").inner_text()
    chat.ask("Who founded the Kestrel Ridge Observatory?")
    assert "Ida Marlowe" in chat.last_reply().locator(".cq-answer").inner_text()
    assert "observatory.txt" in chat.page.locator("#cq-pane h3").all_inner_texts()
    assert any("Ida Marlowe" in t for t in chat.page.locator("#cq-pane mark.cq-cite").all_inner_texts())
    chat.shot("uploaded-document-answer")
    # the other conversation is told that the documents changed
    other.ask("Who founded the Kestrel Ridge Observatory?")
    assert "The documents changed" in other.last_reply().locator(".cq-note").inner_text()
    assert "Ida Marlowe" in other.last_reply().inner_text()
    other_context.close()
    # stored in the workspace; the served base index was not touched
    assert (served["workspace"] / "documents" / "observatory.txt").read_text(encoding="utf-8") == OBSERVATORY
    assert _tree_digest(article_index.path.parent) == base_before

    # removing it works the same way
    chat.page.locator("#cq-remove-choice input").click()
    chat.page.get_by_role("option", name="observatory.txt").click()
    chat.page.locator("#cq-remove").click()
    _wait_status(chat, "Removed observatory.txt")
    assert "observatory.txt" not in chat.page.locator("#cq-doc-list").inner_text()
    assert not (served["workspace"] / "documents" / "observatory.txt").exists()
    chat.page.wait_for_function("() => document.title === 'citeqa: ask the article'", timeout=10_000)
    chat.ask("Who founded the Kestrel Ridge Observatory?")
    assert "Ida Marlowe" not in chat.last_reply().inner_text()


def test_hostile_document_text_is_shown_literally_and_runs_nothing(chat, tmp_path):
    doc = tmp_path / "<b>zorblax<b>.txt"  # text as is (a Markdown file's tags are left out: test_ingest_markdown.py)
    doc.write_text(HOSTILE, encoding="utf-8")
    _upload(chat, doc)
    _wait_status(chat, "Added")
    chat.ask("What did the Zorblax committee approve?")
    reply = chat.last_reply()
    reply.locator("summary").click()
    pane_text = chat.page.locator("#cq-pane").inner_text()
    assert "<img src=x onerror=alert(1)> budget" in reply.inner_text()
    assert "<img src=x onerror=alert(1)> budget" in pane_text
    chat.page.get_by_text("What did the Zorblax committee approve?").first.wait_for()
    chat.ask("What is in the second line and the margin of the Zorblax note?")
    chat.last_reply().locator("summary").click()
    chat.page.wait_for_timeout(1500)  # give any injected handler time to fire
    all_text = chat.page.locator("body").inner_text()
    assert "<script>alert(2)</script>" in all_text
    assert "${alert(4)}" in all_text
    assert chat.page.locator("#cq-chat img[src='x'], #cq-pane img, #cq-pane script, #cq-doc-list b").count() == 0
    assert chat.page.locator("a[href^='javascript']").count() == 0
    assert chat.dialogs == []
    listed = chat.page.locator("#cq-doc-list").inner_text()
    assert "zorblax" in listed and ".txt" in listed  # the name was made safe (by Gradio or by us)
    chat.shot("hostile-document")


def test_wrong_file_type_is_refused_in_words_beside_the_upload_box(chat, served, tmp_path):
    doc = tmp_path / "table.bin"
    doc.write_bytes(b"The Quillmoor bridge opened in 1899.\x00\x01")
    _upload(chat, doc)
    status = _wait_status(chat, "Not added", timeout=30_000)
    assert "unsupported file type" in status and "table.bin" in status, status
    assert "Error" not in chat.page.locator("#cq-upload").inner_text()  # no bare red badge
    # right under the upload box and the web address box below it
    upload_box = chat.page.locator("#cq-upload").bounding_box()
    address_box = chat.page.locator("#cq-page-url").bounding_box()
    status_box = chat.page.locator("#cq-status").bounding_box()
    assert 0 <= address_box["y"] - (upload_box["y"] + upload_box["height"]) < 40
    assert abs(status_box["x"] - upload_box["x"]) < 40 and 0 <= status_box["y"] - (address_box["y"] + address_box["height"]) < 80
    assert not (served["workspace"] / "documents" / "table.bin").exists()
    assert "table.bin" not in chat.page.locator("#cq-doc-list").inner_text()
    chat.shot("wrong-file-type")


def test_a_web_page_on_the_server_s_own_machine_is_refused_in_words(chat, served):
    """Fetched for whoever uses the page, an address must not reach the server's machine or network."""
    box = chat.page.locator("#cq-page-url textarea, #cq-page-url input").first
    port = served["url"].rsplit(":", 1)[1].strip("/")
    for address, words in [
        (f"http://127.0.0.1:{port}/gradio_api/info", "127.0.0.1 is a local or private network address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a local or private network address"),
        # shown as typed: no link made of it, no entity ("'www.example.org/ferry&#39;" was)
        ("www.example.org/ferry", "'www.example.org/ferry' is not a web address; paste one starting with https://"),
    ]:
        box.fill(address)
        box.press("Enter")
        status = _wait_status(chat, words, timeout=30_000)
        assert status.startswith("Not added") and "--allow-private-urls" in status or "not a web address" in status, status
        assert box.input_value() == address  # kept, to be corrected
        assert chat.page.locator("#cq-status a").count() == 0
    assert list((served["workspace"] / "documents").glob("*gradio*")) == []
    assert "169.254" not in chat.page.locator("#cq-doc-list").inner_text()


def test_a_web_address_asked_as_a_question_points_to_the_box_that_adds_pages(chat):
    chat.ask("https://example.org/news/barrage")
    reply = chat.last_reply()
    assert "That is a web address: to ask about that page, add it in the box under Documents first." in reply.locator(".cq-note").inner_text()
    assert reply.locator(".cq-note a").count() == 0  # said in words, nothing fetched or linked
    chat.ask("Where did the joint drill take place?")
    assert chat.last_reply().locator(".cq-note").count() == 0


FERRY = (
    "Norrby ferry timetable\n\n"
    "The Norrby ferry sails to the mainland every forty minutes from six in the morning. "
    "A return ticket costs 40 crowns.\n"
)


def test_the_chat_answers_only_from_the_documents_chosen_beside_it(chat, tmp_path):
    doc = tmp_path / "ferry-notes.txt"
    doc.write_text(FERRY, encoding="utf-8")
    _upload(chat, doc)
    _wait_status(chat, "Added ferry-notes.txt")
    chat.page.locator("#cq-only").wait_for(state="visible", timeout=10_000)  # shown once there are two documents
    chat.ask("How often does the Norrby ferry sail?")
    assert "every forty minutes" in chat.last_reply().locator(".cq-answer").inner_text()
    chat.page.locator("#cq-only input").click()
    chat.page.get_by_role("option", name="lachin-joint-exercise.txt").click()
    chat.page.locator("#cq-title").click()  # close the list
    chat.ask("How often does the Norrby ferry sail?")
    reply = chat.last_reply()
    assert reply.locator(".cq-abstain").count() == 1  # the article alone does not say
    assert "(only in lachin-joint-exercise.txt)" in reply.inner_text()  # and the reply says where it looked
    assert "forty minutes" not in reply.inner_text()
    chat.ask("Where did the joint drill take place?")
    assert "Lachin" in chat.last_reply().locator(".cq-answer").inner_text()
    chat.shot("answer-only-from")
    chat.page.locator("#cq-remove-choice input").click()
    chat.page.get_by_role("option", name="ferry-notes.txt").click()
    chat.page.locator("#cq-remove").click()
    _wait_status(chat, "Removed ferry-notes.txt")
    chat.ask("Where did the joint drill take place?")  # the choice of a document still indexed stays
    assert "Lachin" in chat.last_reply().locator(".cq-answer").inner_text()
    assert chat.dialogs == []
