"""Property-based tests (hypothesis): random Unicode documents and questions through build,
answer, the workspace and the HTTP API of a real server — no traceback (only CiteqaError),
citation offsets always round-trip, nothing lost.

Bounded for the default suite ($CITEQA_FUZZ_EXAMPLES examples each, default 15); the long
run is ``benchmarks/fuzz.py --examples 2000``.
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citeqa import Index, build_index
from citeqa.errors import CiteqaError
from citeqa.ingest.extract import extract
from citeqa.ingest.sources import read_sources
from citeqa.question import clean_question
from citeqa.serve.workspace import Library, Workspace

EXAMPLES = int(os.environ.get("CITEQA_FUZZ_EXAMPLES", "15"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 50,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# any Unicode scalar value (no lone surrogates: those are not text a file can hold)
CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
WORDS = st.lists(st.text(CHARS, min_size=1, max_size=12) | st.sampled_from(
    ["ferry", "Erdoğan", "日本", "crane", "1911", "naïve", "ﬁsh", "e\u0301", "\u202e", "\x9b", "\t", "Ⅻ", "🙂"]),
    min_size=1, max_size=14)
SENTENCE = st.builds(lambda words, end: " ".join(words) + end, WORDS, st.sampled_from([".", "?", "!", "", "。", "...", ".\u00a0"]))
PARAGRAPH = st.builds(" ".join, st.lists(SENTENCE, min_size=1, max_size=5))
DOCUMENT = st.one_of(
    st.builds(lambda ps, sep: sep.join(ps), st.lists(PARAGRAPH, min_size=1, max_size=4), st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n \n"])),
    st.text(CHARS, max_size=300),
)
QUESTION = st.one_of(st.text(CHARS, max_size=80), SENTENCE, st.builds(lambda s: s + "?", SENTENCE))


def _check_answer(index: Index, question: str, texts: dict[str, str]) -> None:
    try:
        result = index.answer(question)
    except CiteqaError:
        return  # a refused question is fine; anything else is a bug
    for hit in result.citations:
        assert texts[hit.doc_id][hit.start : hit.end] == hit.text
        assert hit.context[hit.start - hit.context_start : hit.end - hit.context_start] == hit.text
    json.dumps(result.to_dict())


@FUZZ
@given(documents=st.lists(DOCUMENT, min_size=1, max_size=3), questions=st.lists(QUESTION, min_size=1, max_size=3))
def test_random_documents_build_and_answer_with_exact_offsets(tmp_path_factory, fake_embedder, documents, questions):
    folder = tmp_path_factory.mktemp("docs")
    for number, text in enumerate(documents):
        (folder / f"d{number}.txt").write_bytes(text.encode("utf-8"))
    # a folder's file that is not readable text (empty, or binary by its bytes) is skipped
    # with a reason, never silently: everything else is indexed byte for byte
    try:
        skipped = {Path(s.path).name: s.reason for s in read_sources([folder]).skipped}
    except CiteqaError as exc:  # not one of them readable: the build must say so too
        skipped = {f"d{n}.txt": str(exc) for n in range(len(documents))}
    assert all(reason for reason in skipped.values())
    readable = {f"d{n}.txt": text for n, text in enumerate(documents) if f"d{n}.txt" not in skipped}
    try:
        index = build_index([folder], tmp_path_factory.mktemp("index"), embedder=fake_embedder)
    except CiteqaError as exc:  # only when nothing in them is a sentence or a word
        message = str(exc)
        assert "no text to index" in message or "no words to index" in message or (
            not readable and "none of the sources could be read" in message
        ), exc
        return
    stored = {d.doc_id: d.text for d in index.documents}
    assert stored == readable  # nothing lost, byte for byte
    for doc, start, end in index.spans[:, :3]:
        text = index.documents[int(doc)].text
        assert 0 <= start < end <= len(text)
    for question in questions:
        _check_answer(index, question, stored)


NAMES = st.builds(lambda stem, suffix: stem + suffix, st.text(CHARS, min_size=1, max_size=20), st.sampled_from([".md", ".txt", ".MD"]))


@FUZZ
@given(uploads=st.lists(st.tuples(NAMES, DOCUMENT), min_size=1, max_size=4))
def test_random_uploads_are_stored_under_distinct_names_or_refused(tmp_path_factory, fake_embedder, base_for_fuzz, uploads):
    root = tmp_path_factory.mktemp("ws")
    library = Library(base_for_fuzz, Workspace(root / "ws"), build_embedder=lambda model: fake_embedder)
    files = []
    for number, (name, text) in enumerate(uploads):
        path = root / f"upload-{number}"
        path.write_bytes(text.encode("utf-8"))
        files.append((name, str(path)))
    try:
        library.add(files)
    except CiteqaError:
        assert library.workspace.names() == []  # a refused batch changes nothing
        return
    stored = {name: library.workspace.read(name) for name in library.workspace.names()}
    distinct = {text.encode("utf-8") for _, text in uploads}
    assert distinct <= set(stored.values())  # every distinct upload kept: nothing overwritten
    assert all(unicodedata.is_normalized("NFC", name) for name in stored)
    indexed = {d.doc_id: d.text for d in library.get().documents}
    for name, data in stored.items():
        # text as is; Markdown as its text without the markup
        assert indexed[name] == extract(data, name).text
        assert indexed[name] == data.decode("utf-8") or name.lower().endswith(".md")


@pytest.fixture
def base_for_fuzz(tmp_path_factory, fake_embedder):
    from citeqa import LiveIndex

    folder = tmp_path_factory.mktemp("fuzz-base")
    (folder / "base.md").write_text("The base document talks about harbour cranes.\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("fuzz-base-index")
    build_index([folder], out, embedder=fake_embedder)
    return LiveIndex(out)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, article_index):
    from serving import start_server, stop_server

    root = tmp_path_factory.mktemp("fuzz-server")
    proc, url = start_server(root / "server.log", "--index", str(article_index.path.parent), "--read-only")
    yield url, root / "server.log"
    stop_server(proc)


def _call(url: str, api: str, data: list) -> tuple[str, object]:  # type: ignore[type-arg]
    posted = httpx.post(f"{url}/gradio_api/call/{api}", json={"data": data}, timeout=60)
    assert posted.status_code == 200, posted.text[:300]
    stream = httpx.get(f"{url}/gradio_api/call/{api}/{posted.json()['event_id']}", timeout=60).text
    event, payload = "", None
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            payload = json.loads(line.split(":", 1)[1])
    return event, payload


def _invalid(question: str) -> bool:
    """True when the library itself refuses the question (what the API must then refuse too)."""
    try:
        clean_question(question)
    except CiteqaError:
        return True
    return False


@FUZZ
@given(question=QUESTION, k=st.integers(min_value=-3, max_value=120))
def test_random_questions_over_http_never_crash_and_offsets_round_trip(api_server, question, k):
    url, log = api_server
    event, payload = _call(url, "retrieve", [question, k])
    assert event in ("complete", "error"), (event, payload)
    if event == "complete":
        for hit in payload[0]["hits"]:  # type: ignore[index]
            context, start = hit["context"], hit["start"] - hit["context_start"]
            assert context[start : start + len(hit["text"])] == hit["text"]
    else:  # refused: a blank or over-long question, or k outside 1..100
        assert not question.strip() or len(question) > 1000 or not 1 <= k <= 100 or _invalid(question), question
    event, payload = _call(url, "answer", [question])
    assert event in ("complete", "error"), (event, payload)
    if event == "complete":
        answer = payload[0]  # type: ignore[index]
        assert all(
            c["context"][c["start"] - c["context_start"] :][: len(c["text"])] == c["text"] for c in answer["citations"]
        )
    assert "Traceback" not in Path(log).read_text(errors="replace")
