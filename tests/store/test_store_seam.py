"""The same behaviour from both stores behind the seam: the local folder and Milvus (a real milvus-lite server on 127.0.0.1)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import citeqa
from citeqa.api import LiveIndex
from citeqa.cli import main
from citeqa.errors import StaleIndexError
from citeqa.index import Index
from citeqa.store import verify
from store_corpora import TOOLS, ZOO

QUESTIONS = {
    "Where do emperor penguins breed?": "Emperor penguins breed on the sea ice of Antarctica during the winter.",
    "How much water can a camel drink?": "A camel can drink 100 litres of water in ten minutes.",
    "How many humps do Bactrian camels have?": "Dromedaries have one hump and Bactrian camels have two.",
}
OFF_TOPIC = "Which team won the 1998 football World Cup final?"

STORES = ["local", "milvus"]
FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
#: Questions on the PDF and HTML fixtures: the document and page ([1] of each) that answer them.
FORMAT_QUESTIONS = {
    "How many salmon did the fish counter record?": ("report.pdf", 2),
    "How many times did the operator release water?": ("report.pdf", 3),
    "How much did the tidal barrage cost?": ("news.html", None),
}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def target(request, tmp_path):
    """Where an index goes: a folder (local) or a fresh alias on the session's Milvus server."""
    if request.param == "local":
        return str(tmp_path / "index")
    server = request.getfixturevalue("milvus_server")
    return f"milvus://{server}/seam_{request.node.name.split('[')[0][-20:]}_{abs(hash(str(tmp_path))) % 10**8}"


@pytest.fixture(scope="module")
def zoo_docs(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("zoo-docs"), ZOO)


@pytest.fixture(scope="module")
def local_zoo(zoo_docs, tmp_path_factory, embedder) -> Index:
    """The ZOO corpus in an index folder."""
    return citeqa.build_index([zoo_docs], tmp_path_factory.mktemp("zoo-local") / "index", embedder=embedder)


@pytest.fixture(scope="module")
def milvus_zoo(zoo_docs, milvus_server, embedder) -> Index:
    """The same corpus in the session's Milvus server (skipped without the milvus extra)."""
    return citeqa.build_index([zoo_docs], f"milvus://{milvus_server}/seam_both", embedder=embedder)


@pytest.fixture
def both(request) -> dict[str, Index]:
    """The ZOO index of each store the test is parametrised with (or both)."""
    stores = [request.param] if hasattr(request, "param") else STORES
    return {name: request.getfixturevalue(f"{name}_zoo") for name in stores}


@pytest.mark.parametrize(("both", "store"), [(name, name) for name in STORES], indirect=["both"])
def test_store_seam_retrieves_and_answers_with_exact_offsets(both, store):
    index = both[store]
    assert len(index) == 7 and [d.doc_id for d in index.documents] == ["camels.txt", "penguins.txt"]
    for question, sentence in QUESTIONS.items():
        hits = index.retrieve(question, k=3)
        assert hits[0].text == sentence
        document = next(d for d in index.documents if d.doc_id == hits[0].doc_id)
        assert document.text[hits[0].start : hits[0].end] == sentence
        assert sentence in hits[0].context and document.text[hits[0].context_start :].startswith(hits[0].context)
        answer = index.answer(question)
        assert not answer.abstained and answer.citations[0].text == sentence


@pytest.mark.parametrize(("both", "store"), [(name, name) for name in STORES], indirect=["both"])
def test_store_seam_abstains_off_topic(both, store):
    answer = both[store].answer(OFF_TOPIC)
    assert answer.abstained


def test_store_seam_both_stores_rank_alike(both):
    local, milvus = both["local"], both["milvus"]
    for question in [*QUESTIONS, OFF_TOPIC, "penguin eggs", "cutting wood"]:
        vector = local.embedder.encode([question])[0]
        a = local.rank(question, 10, vector=vector)
        b = milvus.rank(question, 10, vector=vector)
        assert a.ids.tolist() == b.ids.tolist(), question
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4, atol=1e-4)
        answers = local.answer(question), milvus.answer(question)
        assert answers[1].text == answers[0].text and answers[1].abstained == answers[0].abstained, question
        spans = [[(h.doc_id, h.start, h.end, h.context_start, h.page) for h in a.citations] for a in answers]
        assert spans[1] == spans[0], question
    assert milvus.sentence_counts() == local.sentence_counts()
    np.testing.assert_array_equal(milvus.spans, local.spans)


@pytest.mark.parametrize("target", STORES, indirect=True)
def test_store_seam_stale_source_is_refused(target, tmp_path, embedder):
    docs = _write(tmp_path / "docs", TOOLS)
    citeqa.build_index([docs], target, embedder=embedder)
    assert len(Index.load(target)) == 4
    (docs / "tools.txt").write_text("Something else entirely.", encoding="utf-8")
    with pytest.raises(StaleIndexError, match=r"tools\.txt.*rebuild with: citeqa build"):
        Index.load(target)
    assert len(Index.load(target, check_stale=False)) == 4
    (docs / "tools.txt").unlink()
    with pytest.raises(StaleIndexError, match=r"tools\.txt no longer exists; rebuild with: citeqa build"):
        Index.load(target)


@pytest.mark.parametrize("target", STORES, indirect=True)
def test_store_seam_rebuild_is_atomic_and_readers_keep_their_version(target, tmp_path, embedder, monkeypatch):
    monkeypatch.setattr(LiveIndex, "REMOTE_CHECK_INTERVAL", 0.0)
    docs = _write(tmp_path / "docs", ZOO)
    citeqa.build_index([docs], target, embedder=embedder)
    old = Index.load(target)
    live = LiveIndex(target)
    assert live.get().retrieve("How much water can a camel drink?", 1)[0].text == QUESTIONS["How much water can a camel drink?"]
    _write(docs, TOOLS)
    citeqa.build_index([docs], target, embedder=embedder)
    new = Index.load(target)
    assert new.retrieve("What cuts wood?", 1)[0].text == "A chisel cuts wood when struck with a mallet."
    assert new.store.version != old.store.version
    # the index opened before the rebuild still reads its own version, whole
    assert old.retrieve("Where do emperor penguins breed?", 1)[0].text == QUESTIONS["Where do emperor penguins breed?"]
    assert {d.doc_id for d in live.get().documents} == {"tools.txt"}


def test_store_seam_cli_builds_and_asks_through_a_milvus_address(milvus_server, tmp_path, capsys):
    docs = _write(tmp_path / "docs", ZOO)
    address = f"milvus://{milvus_server}/seam_cli"
    assert main(["build", str(docs), "--store", address, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"into {address}" in out and "Milvus FLAT index" in out
    assert main(["ask", "How much water can a camel drink?", "--store", address, "-k", "1"]) == 0
    assert "A camel can drink 100 litres of water in ten minutes." in capsys.readouterr().out
    assert main(["ask", "camels?", "--store", address, "--index", str(tmp_path)]) == 2 - 1
    assert "not both" in capsys.readouterr().err
    assert main(["build", str(docs), "--store", address, "--index-type", "hnsw-sq8"]) == 1
    assert "exact (FLAT) index" in capsys.readouterr().err


def test_store_seam_milvus_without_the_extra_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['pymilvus'] = None\n"
        "import citeqa\n"
        "try:\n"
        "    citeqa.Index.load('milvus://127.0.0.1:19530/news')\n"
        "except citeqa.errors.CiteqaError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pip install 'citeqa[milvus]'" in result.stdout


def test_store_seam_milvus_lite_file_built_by_one_process_is_read_by_another(tmp_path):
    pytest.importorskip("pymilvus", reason="the Milvus store needs the extra: pip install 'citeqa[milvus]'")
    docs = _write(tmp_path / "docs", ZOO)
    address = f"milvus-lite:{tmp_path / 'zoo.db'}#zoo"
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "citeqa", *args], check=False, capture_output=True, text=True, timeout=300
    )
    built = run("build", str(docs), "--store", address, "--quiet")
    assert built.returncode == 0, built.stderr
    # a new process finds the collections released on disk and loads them before reading
    asked = run("ask", "How much water can a camel drink?", "--store", address, "-k", "1", "--json")
    assert asked.returncode == 0, asked.stderr
    assert '"A camel can drink 100 litres of water in ten minutes."' in asked.stdout


@pytest.fixture(scope="module")
def formats_docs(tmp_path_factory) -> Path:
    """A three-page PDF (section N on page N) and an HTML page."""
    folder = tmp_path_factory.mktemp("formats-docs")
    for name in ("report.pdf", "news.html"):
        shutil.copy(FORMATS / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def formats_local(formats_docs, tmp_path_factory, embedder) -> Index:
    return citeqa.build_index([formats_docs], tmp_path_factory.mktemp("formats-local") / "index", embedder=embedder)


@pytest.fixture(scope="module")
def formats_milvus(formats_docs, milvus_server, embedder) -> Index:
    return citeqa.build_index([formats_docs], f"milvus://{milvus_server}/seam_formats", embedder=embedder)


@pytest.mark.parametrize("store", STORES)
def test_store_seam_pdf_pages_and_extractors_read_back(store, request, embedder):
    index = request.getfixturevalue(f"formats_{store}")
    reopened = Index.load(index.path, embedder=embedder)  # what a new reader sees, not what the build kept
    documents = {d.doc_id: d for d in reopened.documents}
    assert documents["report.pdf"].extractor == "pypdf" and len(documents["report.pdf"].pages) == 3
    assert documents["news.html"].extractor == "trafilatura" and documents["news.html"].pages is None
    for question, (doc_id, page) in FORMAT_QUESTIONS.items():
        hit = reopened.retrieve(question, k=1)[0]
        assert (hit.doc_id, hit.page) == (doc_id, page), question
        assert documents[doc_id].text[hit.start : hit.end] == hit.text


@pytest.mark.parametrize("store", STORES)
def test_store_seam_a_new_extractor_version_makes_the_index_stale(store, request, monkeypatch, embedder):
    # what each source was extracted by is kept, so an HTML page is not taken for plain text
    index = request.getfixturevalue(f"formats_{store}")
    current = verify.current_extractor
    monkeypatch.setattr(verify, "current_extractor", lambda name, spec: ("trafilatura", "9.9") if name == "trafilatura" else current(name, spec))
    with pytest.raises(StaleIndexError, match=r"news\.html was extracted by trafilatura \S+ and this citeqa has trafilatura 9\.9"):
        Index.load(index.path, embedder=embedder)
    monkeypatch.undo()
    assert len(Index.load(index.path, embedder=embedder)) == len(index)


def test_store_seam_both_stores_keep_every_document_field(formats_local, formats_milvus, embedder):
    local, milvus = Index.load(formats_local.path, embedder=embedder), Index.load(formats_milvus.path, embedder=embedder)
    assert [dataclasses.asdict(d) for d in milvus.documents] == [dataclasses.asdict(d) for d in local.documents]
    for question in FORMAT_QUESTIONS:
        a, b = local.retrieve(question, k=3), milvus.retrieve(question, k=3)
        assert [dataclasses.replace(h, score=0.0) for h in b] == [dataclasses.replace(h, score=0.0) for h in a]
        np.testing.assert_allclose([h.score for h in b], [h.score for h in a], rtol=1e-3, atol=1e-4)
    assert milvus.store.manifest["sources"] == local.store.manifest["sources"]
