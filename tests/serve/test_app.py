"""The chat's rendering (pure) and the workspace behind the documents panel
(real model and FAISS; the base index is never written)."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import pytest

from citeqa.errors import SourceError
from citeqa import LiveIndex
from citeqa.serve.render import escape_text, interpretation, plain_text, render_answer, render_source_pane
from citeqa.schema import Answer, Hit
from citeqa.question import overview_scope
from citeqa.serve.app import create_app
from citeqa.serve.examples import ARTICLE_LABEL, EXAMPLES, examples_for
from citeqa.serve.workspace import (
    MAX_DOCUMENT_BYTES,
    Library,
    Workspace,
    check_document,
    safe_document_name,
)

DOC = "Title line\n\nFirst sentence here. The <b>second</b> sentence [x](javascript:alert(1)) ends.\n"


def _hit(start: int, end: int, spans=()) -> Hit:
    return Hit(
        text=DOC[start:end], score=1.0, doc_id="doc.txt", sentence_id=0, start=start, end=end,
        context=DOC[12:], context_start=12, answer_spans=tuple(spans),
    )


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".lock"):
        digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------- rendering


def test_document_text_is_escaped_and_markdown_made_inert():
    out = escape_text("<img src=x onerror=alert(1)> [x](javascript:alert(1)) **b** ${a} `c`")
    assert not re.search(r"[<>\[\]()*`${}]", out)
    assert "&#60;img" in out
    # nor does an address or a bare web name become a link (GitHub-flavoured Markdown links both)
    linked = escape_text("harbour@example.org posts them on www.example.org/tides and WWW.EXAMPLE.ORG")
    assert "@" not in linked and "www." not in linked.lower() and "www&#46;example" in linked and "WWW&#46;EXAMPLE" in linked


def test_answer_reply_has_clickable_markers_tied_to_the_source_pane():
    second = DOC.index("The <b>")
    answer = Answer(text="...", citations=[_hit(second, len(DOC) - 1)], interpreted_as="q")
    reply = render_answer(answer, answer_id="abc", question="q")
    pane = render_source_pane(answer, None, answer_id="abc")
    assert '<a class="cq-marker" href="#cq-abc-1"' in reply and "[1]</a>" in reply
    assert 'id="cq-abc-1"' in pane
    assert "<b>" not in reply and "<b>" not in pane
    assert "Interpreted as" not in reply


def test_source_pane_highlights_exactly_the_cited_characters_with_answer_spans():
    second = DOC.index("The <b>")
    hit = _hit(second, len(DOC) - 1, spans=[(4, 15)])

    class Doc:
        doc_id, text = "doc.txt", DOC

    class FakeIndex:
        documents = [Doc()]

    pane = render_source_pane(Answer(text="", citations=[hit]), FakeIndex(), answer_id="z")
    marked = re.search(r'<mark class="cq-cite" id="cq-z-1"[^>]*><span class="cq-num">\[1\]</span>(.*?)</mark>', pane)
    assert marked is not None
    import html

    shown = html.unescape(re.sub(r"<[^>]+>", "", marked.group(1)))
    assert shown == DOC[second : len(DOC) - 1]
    assert '<span class="cq-span">' + escape_text(DOC[second + 4 : second + 15]) + "</span>" in marked.group(1)
    assert "Title line" in pane  # the whole document, not just the sentence


def test_removed_or_very_long_documents_show_only_the_cited_paragraph():
    hit = _hit(12, 32)
    pane = render_source_pane(Answer(text="", citations=[hit]), None, answer_id="r")
    assert 'id="cq-r-1"' in pane and "First sentence here." in pane
    assert "Title line" not in pane


def test_app_module_imports_without_launching_anything():
    import importlib.util

    spec = importlib.util.spec_from_file_location("citeqa_app", Path(__file__).resolve().parents[2] / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.main)


def test_read_only_app_builds_with_the_documented_endpoints(article_index):
    app = create_app(LiveIndex(article_index.path.parent))
    names = {fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"}
    assert names == {"chat", "answer", "retrieve", "answer_in", "retrieve_in"}


def test_abstention_renders_as_closest_passages_not_an_answer():
    answer = Answer(text="The documents don't seem to answer this question.", citations=[_hit(12, 33)], abstained=True)
    reply = render_answer(answer, answer_id="q", question="Who won?")
    assert 'class="cq-abstain"' in reply and "Closest passages (not an answer)" in reply
    assert "cq-answer" not in reply
    assert "cq-abstained" in render_source_pane(answer, None, answer_id="q")


def test_an_offered_respelling_is_a_link_to_ask_it_and_shown_as_text():
    offer = "The documents don't seem to answer this question. Did you mean: who is <b>turkey's</b> president"
    reply = render_answer(Answer(text=offer, citations=[_hit(12, 33)], abstained=True), answer_id="q")
    link = f'<a class="cq-respelled" href="#respelled" title="Ask this question">{escape_text("who is <b>turkey")}'
    assert link in reply and "<b>" not in reply
    plain = render_answer(Answer(text="The documents don't seem to answer this question.", abstained=True), answer_id="q")
    assert "cq-respelled" not in plain


def test_interpretation_is_shown_only_when_the_query_differs():
    assert interpretation("What does it focus on?", Answer(text="", interpreted_as="What does it focus on? (shusha)"))
    assert interpretation("  what is  X? ", Answer(text="", interpreted_as="what is X?")) == ""


def test_a_cited_list_shows_each_item_on_a_line_of_its_own():
    text = "It lends these tools: - a <hose> - a ladder"
    spans = [(0, 21), (22, 32), (33, 43)]
    hits = [Hit(text=text[a:b], score=0.5, doc_id="t.md", sentence_id=i, start=a, end=b, context=text) for i, (a, b) in enumerate(spans)]
    reply = render_answer(Answer(text="...", citations=hits), answer_id="l")
    answer = reply.split('<p class="cq-answer">', 1)[1].split("</p>", 1)[0]
    assert answer.count("<br>") == 2 and answer.index("<br>") > answer.index("[1]</a>")
    assert "<hose>" not in answer and "&#60;hose&#62;" in answer
    prose = render_answer(Answer(text="...", citations=[_hit(12, 32), _hit(33, len(DOC) - 1)]), answer_id="p")
    assert "<br>" not in prose


def test_plain_text_copy_carries_citations_without_markup():
    answer = Answer(text="First sentence here. [1]", citations=[_hit(12, 32)])
    text = plain_text(answer)
    assert text.startswith("First sentence here. [1]")
    assert '[1] doc.txt, characters 12-32: "First sentence here."' in text


# ---------------------------------------------------------------------- workspace checks


@pytest.mark.parametrize(
    ("name", "expected"),
    [("notes.txt", "notes.txt"), ("../../etc/passwd.md", "passwd.md"), (".hidden.TXT", "hidden.txt"),
     ("a<b>c.md", "a_b_c.md"), ("C:\\Users\\x\\report.md", "report.md")],
)
def test_uploaded_names_are_made_safe(name, expected):
    assert safe_document_name(name) == expected


@pytest.mark.parametrize("name", ["script.js", "noext", ".md", "archive.txt.exe", "budget.numbers"])
def test_other_file_types_are_refused_by_name(name):
    with pytest.raises(SourceError, match=r"\.txt, \.md, \.rst, \.html, \.pdf, \.docx, \.odt, \.pptx, \.epub, \.ipynb, \.csv, \.xlsx, \.xls or \.ods"):
        safe_document_name(name)


@pytest.mark.parametrize("name", ["page.html", "page.HTM", "report.pdf", "minutes.DOCX"])
def test_web_pages_and_pdfs_are_accepted_by_name(name):
    assert safe_document_name(name) == name.lower()


def test_upload_content_checks_say_what_to_do():
    with pytest.raises(SourceError, match="limit is"):
        check_document("big.txt", b"a" * (MAX_DOCUMENT_BYTES + 1))
    assert check_document("latin.txt", "Le café ouvre à huit heures.".encode("latin-1")).text == "Le café ouvre à huit heures."
    with pytest.raises(SourceError, match="not UTF-8 text .* nor text in any other charset"):
        check_document("garbled.txt", bytes(range(128, 256)))
    with pytest.raises(SourceError, match="holds no text"):
        check_document("blank.md", b"  \n\n ")


# ---------------------------------------------------------------------- the library (real model)


@pytest.fixture
def base(article_index):
    return LiveIndex(article_index.path.parent)


def _upload(tmp_path: Path, name: str, text: str) -> tuple[str, str]:
    folder = tmp_path / "uploads"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return name, str(path)


def test_added_document_is_answered_from_and_the_base_index_is_untouched(base, embedder, article_index, tmp_path):
    before = _tree_digest(article_index.path.parent)
    library = Library(base, Workspace(tmp_path / "ws"), build_embedder=lambda model: embedder)
    progress: list[str] = []
    change = library.add(
        [_upload(tmp_path, "garden.md", "The Hollis garden grows forty kinds of blue tulip every spring.\n")],
        lambda fraction, message: progress.append(message),
    )
    assert "Added garden.md" in change.message and "now answers from the new index" in change.message
    assert progress[0] == "Checking the files" and any("Indexing" in p for p in progress)
    answer = library.get().answer("How many kinds of tulip does the Hollis garden grow?")
    assert not answer.abstained and answer.citations[0].doc_id == "garden.md"
    assert {d.name: d.sentences for d in library.documents()}["garden.md"] == 1
    assert _tree_digest(article_index.path.parent) == before
    # a restarted server serves the same workspace index without rebuilding it
    version = library.get().path
    again = Library(LiveIndex(article_index.path.parent), Workspace(tmp_path / "ws"), build_embedder=lambda m: embedder)
    assert again.get().path == version
    # removing the last upload goes back to the base index
    library.remove("garden.md")
    assert library.get().path == base.get().path
    assert library.workspace.names() == []


def test_refused_upload_changes_nothing(base, embedder, tmp_path):
    library = Library(base, Workspace(tmp_path / "ws"), build_embedder=lambda model: embedder)
    serving = library.get()
    for name, text, match in [
        ("page.html", "<p>Hello there.</p>", "found no article text"),
        ("notes.html", "Hello there, no tags.", "contains no HTML tags"),
        ("lachin-joint-exercise.txt", "Same name as the article.", "already a document"),
        ("empty.txt", "   ", "holds no text"),
    ]:
        with pytest.raises(SourceError, match=match):
            library.add([_upload(tmp_path, name, text)])
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * (MAX_DOCUMENT_BYTES // 5 + 1))
    with pytest.raises(SourceError, match="limit is"):
        library.add([("big.txt", str(big))])
    with pytest.raises(SourceError, match="not an uploaded document"):
        library.remove("lachin-joint-exercise.txt")
    assert library.workspace.names() == [] and library.get() is serving


def test_failed_rebuild_rolls_back_the_upload_and_keeps_serving(base, tmp_path):
    def broken(model):
        raise SourceError("simulated embedder failure")

    library = Library(base, Workspace(tmp_path / "ws"), build_embedder=broken)
    serving = library.get()
    with pytest.raises(SourceError, match="simulated"):
        library.add([_upload(tmp_path, "notes.txt", "Some notes about nothing in particular.")])
    assert library.workspace.names() == []
    assert library.get() is serving


def test_chat_keeps_answering_from_the_old_index_during_a_rebuild(base, embedder, tmp_path):
    started, release = threading.Event(), threading.Event()

    class SlowEmbedder:
        """The real model, held at the start of the rebuild's encoding."""

        def __init__(self) -> None:
            self.model_name, self.backend, self.dim, self.space = (
                embedder.model_name, embedder.backend, embedder.dim, embedder.space)

        def encode(self, texts, **kwargs):
            started.set()
            assert release.wait(60)
            return embedder.encode(texts, **kwargs)

    library = Library(base, Workspace(tmp_path / "ws"), build_embedder=lambda model: SlowEmbedder())
    old = library.get()
    worker = threading.Thread(
        target=library.add, args=([_upload(tmp_path, "ferry.txt", "The Oskar ferry sails to Brindle Island at noon.")],)
    )
    worker.start()
    try:
        assert started.wait(60)
        assert library.busy
        during = library.get().answer("How many times has Erdogan visited Azerbaijan?")
        assert library.get() is old and not during.abstained
        assert "ferry.txt" not in {d.doc_id for d in library.get().documents}
    finally:
        release.set()
        worker.join(120)
    assert not library.busy
    assert "ferry.txt" in {d.doc_id for d in library.get().documents}
    assert library.get().answer("When does the Oskar ferry sail?").citations[0].doc_id == "ferry.txt"


def test_first_example_answers_the_second_reads_the_opening_and_last_example_abstains(article_index):
    """A new user's first click shows a cited answer; the second what the article is about; the last
    example shows the honest "don't say"."""

    first = article_index.answer(EXAMPLES[0])
    assert not first.abstained and "Lachin" in first.citations[0].text
    assert article_index.answer(EXAMPLES[1]).interpreted_as.startswith("an overview: the first 3 sentences of")
    assert article_index.answer(EXAMPLES[-1]).abstained


def _examples_shown(app):  # type: ignore[no-untyped-def]
    (dataset,) = [block for block in app.blocks.values() if getattr(block, "elem_id", None) == "cq-examples"]
    return dataset.label, [sample[0] for sample in dataset.samples]


def test_other_documents_are_offered_examples_they_answer_not_the_shipped_articles(index_of, article_index):
    """Served with `--index my-index`, the chat offered questions about the shipped article, which abstain there."""
    ferry = index_of("ferry.txt", "Norrby ferry timetable\nThe Oskar ferry sails to Visby at nine every morning.\nIt returns at six.\n")
    app = create_app(LiveIndex(ferry.path.parent))
    assert app.title == "citeqa: ask the documents"
    label, samples = _examples_shown(app)
    assert label == "Example questions" and samples == ["What is this document about?", "What is the title of the document?"]
    overview, title = ferry.answer(samples[0]), ferry.answer(samples[1])
    assert overview.interpreted_as.startswith("an overview: the first 3 sentences of ferry.txt")
    assert [hit.text for hit in title.citations] == ["Norrby ferry timetable"] and not title.abstained
    article_app = create_app(LiveIndex(article_index.path.parent))
    assert _examples_shown(article_app) == (ARTICLE_LABEL, EXAMPLES) and article_app.title == "citeqa: ask the article"


def test_examples_follow_the_documents_served():
    assert examples_for(["lachin-joint-exercise.txt", "ferry.txt"]) == (ARTICLE_LABEL, EXAMPLES)
    label, samples = examples_for(["a.txt", "b.pdf"])
    assert label == "Example questions" and [overview_scope(q, []) for q in samples] == ["collection", "collection"]
