"""The Milvus store against a real milvus-lite server on 127.0.0.1 and a real Milvus Lite file."""

from __future__ import annotations

import collections
import dataclasses
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="the Milvus store needs the extra: pip install 'citeqa[milvus]'")

from citeqa.build import context_arrays
from citeqa.errors import (
    CiteqaError,
    IncompatibleIndexError,
    IndexNotFoundError,
    InvalidArgumentError,
    StaleIndexError,
)
from citeqa.index import Index
from citeqa.ingest.segment import paragraph_numbers, segment_document
from citeqa.ingest.sources import read_documents
from citeqa.store import milvus as M
from citeqa.store.lexical import BM25Index
from citeqa.store.milvus import write as milvus_write
from citeqa.text import tokenize
from store_corpora import TOOLS, ZOO



def _corpus(folder: Path, files: dict[str, str], embedder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    documents = read_documents([folder])
    rows, texts, next_paragraph = [], [], 0
    for number, document in enumerate(documents):
        sentences = segment_document(document, next_paragraph)
        rows += [[number, s.start, s.end, s.paragraph_id] for s in sentences]
        texts += [s.text for s in sentences]
        if sentences:
            next_paragraph = sentences[-1].paragraph_id + 1
    vectors = embedder.encode(texts)
    info = {"model": embedder.model_name, "backend": embedder.backend, "dimension": embedder.dim, "vector_space": embedder.space}
    rows = np.array(rows, dtype=np.int64)
    context = context_arrays(rows, texts, [tokenize(t) for t in texts], vectors, len(documents))
    return {
        "documents": documents, "rows": rows, "texts": texts, "vectors": vectors, "info": info,
        "paragraph_vectors": context.paragraph_vectors, "document_vectors": context.document_vectors,
        "paragraph_bm25": context.paragraph_bm25, "vocabulary": context.vocabulary,
    }  # fmt: skip


@pytest.fixture(scope="session")
def zoo(tmp_path_factory, embedder):
    return _corpus(tmp_path_factory.mktemp("zoo"), ZOO, embedder)


@pytest.fixture(scope="session")
def tools(tmp_path_factory, embedder):
    return _corpus(tmp_path_factory.mktemp("tools"), TOOLS, embedder)


@pytest.fixture(scope="session")
def zoo_store(milvus_server, zoo):
    return M.write_index(f"milvus://{milvus_server}/zoo", **zoo)


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("address", "uri", "collection", "lite"),
    [
        ("milvus://127.0.0.1:19530/news", "http://127.0.0.1:19530", "news", False),
        ("milvus://milvus.internal:443/Archive_2", "http://milvus.internal:443", "Archive_2", False),
        ("milvus-lite:{tmp}/x.db", "{tmp}/x.db", "citeqa", True),
        ("milvus-lite:{tmp}/x.db#news", "{tmp}/x.db", "news", True),
    ],
)
def test_store_milvus_parse_address(tmp_path, address, uri, collection, lite):
    parsed = M.parse_address(address.format(tmp=tmp_path))
    assert (parsed.uri, parsed.collection, parsed.lite) == (uri.format(tmp=tmp_path), collection, lite)
    assert M.is_milvus_address(address) and not M.is_milvus_address(str(tmp_path))


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("milvus://127.0.0.1/news", "milvus://HOST:PORT/COLLECTION"),
        ("milvus://127.0.0.1:19530", "milvus://HOST:PORT/COLLECTION"),
        ("milvus://127.0.0.1:99999/news", "port must be 1-65535"),
        ("milvus://127.0.0.1:19530/bad-name", "'bad-name'"),
        ("milvus://127.0.0.1:19530/news_v20260101000000000000", "version collections"),
        ("milvus-lite:{tmp}/x.sqlite", "must end in .db"),
        ("milvus-lite:{tmp}/x.db#", "nothing after '#'"),
        ("milvus-lite:{tmp}/no/such/dir/x.db", "does not exist"),
        ("milvis://127.0.0.1:19530/news", "not a Milvus address"),
    ],
)
def test_store_milvus_bad_address_says_what_is_wrong(tmp_path, address, says):
    address = address.format(tmp=tmp_path)
    with pytest.raises(InvalidArgumentError) as caught:
        M.parse_address(address)
    assert says.format(tmp=tmp_path) in str(caught.value)
    assert address in str(caught.value) or says in ("port must be 1-65535",)


def test_store_milvus_unreachable_server_says_how_to_start_one(unused_port):
    port = unused_port  # nothing listens there
    with pytest.raises(M.MilvusStoreError) as caught:
        M.MilvusStore.open(f"milvus://127.0.0.1:{port}/news")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "milvus-lite server" in message and f"--port {port}" in message


def test_store_milvus_missing_index_names_the_build_command(milvus_server):
    with pytest.raises(IndexNotFoundError, match=r"citeqa build SOURCES --store milvus://.*/nothing_here"):
        M.MilvusStore.open(f"milvus://{milvus_server}/nothing_here")


# --------------------------------------------------------------------------- reading


def test_store_milvus_hybrid_search_finds_the_sentence(zoo_store, zoo, embedder):
    question = "Where do emperor penguins breed?"
    vector = embedder.encode([question])[0]
    expected = zoo["texts"].index("Emperor penguins breed on the sea ice of Antarctica during the winter.")
    found = zoo_store.candidates(question, tokenize(question), vector, 5, 5)
    assert expected in found.ids.tolist() and found.texts == [zoo["texts"][i] for i in found.ids]
    cosines, dense_ids = zoo_store.dense_search(vector, 3)
    local = zoo["vectors"] @ vector
    assert list(dense_ids) == list(np.argsort(-local)[:3])
    np.testing.assert_allclose(cosines, np.sort(local)[::-1][:3], atol=1e-5)
    lexical_ids, lexical = zoo_store.lexical_search(question, 3)
    assert int(lexical_ids[0]) == expected and np.all(lexical > 0)
    assert zoo_store.lexical_search("the of and", 3)[0].size == 0  # only stop words: nothing to match
    with pytest.raises(M.MilvusStoreError, match="local store only"):
        zoo_store.bm25_scores(question)


def test_store_milvus_held_to_documents_searches_only_their_sentences(zoo_store, zoo, embedder):
    question = "Where do emperor penguins breed?"
    vector = embedder.encode([question])[0]
    rows = zoo["rows"]
    penguins = int(rows[zoo["texts"].index("Emperor penguins breed on the sea ice of Antarctica during the winter.")][0])
    others = sorted({int(d) for d in rows[:, 0]} - {penguins})
    assert others, "ZOO needs a second document"
    held = zoo_store.candidates(question, tokenize(question), vector, 5, 5, others)
    assert held.ids.size and set(held.docs.tolist()) <= set(others)
    in_others = np.flatnonzero(np.isin(rows[:, 0], others))
    local = zoo["vectors"][in_others] @ vector
    assert int(held.ids[0]) in in_others[np.argsort(-local)[:5]].tolist()  # dense and BM25 fused by RRF: one of the 5 nearest
    assert penguins in zoo_store.candidates(question, tokenize(question), vector, 5, 5, [penguins]).docs.tolist()
    index = Index(zoo_store, embedder)  # through the index, by name, as the local store
    held = index.answer("How much can a camel drink?", documents=["penguins.txt"])
    assert {c.doc_id for c in held.citations} == {"penguins.txt"} and held.interpreted_as.endswith("(only in penguins.txt)")
    assert index.answer("How much can a camel drink?", documents=["camels.txt"]).citations[0].doc_id == "camels.txt"


def test_store_milvus_reads_by_id_what_the_local_index_holds(zoo_store, zoo):
    rows, texts, documents = zoo["rows"], zoo["texts"], zoo["documents"]
    ids = np.array([4, 0, 2])
    np.testing.assert_array_equal(zoo_store.rows(ids), rows[ids])
    assert zoo_store.texts(ids) == [texts[i] for i in ids]
    paragraphs = paragraph_numbers(rows)
    assert list(zoo_store.paragraph_rows(4)) == np.flatnonzero(paragraphs == paragraphs[4]).tolist()
    assert zoo_store.vocabulary() == zoo["vocabulary"]
    np.testing.assert_array_equal(zoo_store.sentence_counts(), np.bincount(rows[:, 0], minlength=len(documents)))
    assert [d.doc_id for d in zoo_store.documents] == [d.doc_id for d in documents]
    for number, document in enumerate(documents):
        assert zoo_store.documents[number].text == document.text == zoo_store.document_text(number)
    # every document opens with a one-sentence title paragraph: that is its headline row
    firsts = np.array([int(np.flatnonzero(rows[:, 0] == d)[0]) for d in rows[ids, 0]])
    np.testing.assert_array_equal(zoo_store.title_rows(ids), firsts)
    assert zoo_store.manifest["sources"][0]["sha256"] == documents[0].sha256
    with pytest.raises(IndexError, match="out of range"):
        zoo_store.document_text(len(documents))


def test_store_milvus_evidence_equals_the_local_arrays(zoo_store, zoo, embedder):
    rows, texts, vectors = zoo["rows"], zoo["texts"], zoo["vectors"]
    question = "How much water does a camel drink?"
    vector = embedder.encode([question])[0]
    ids = np.array([1, 3, len(texts) - 1])
    paragraphs, docs = np.array([2, 0, 2]), np.array([1, 0, 1])
    evidence = zoo_store.evidence(tokenize(question), vector, ids, paragraphs, docs)
    np.testing.assert_allclose(evidence.cosines, vectors[ids] @ vector, atol=1e-5)
    np.testing.assert_array_equal(evidence.sentence_paragraphs, paragraph_numbers(rows)[ids])
    np.testing.assert_allclose(evidence.paragraph_dense, zoo["paragraph_vectors"][paragraphs] @ vector, atol=1e-5)
    np.testing.assert_allclose(
        evidence.paragraph_lexical, zoo["paragraph_bm25"].scores_of_tokens(tokenize(question))[paragraphs], rtol=1e-5
    )
    np.testing.assert_allclose(evidence.document_dense, zoo["document_vectors"][docs] @ vector, atol=1e-5)
    found = zoo_store.candidates(question, tokenize(question), vector, 3, 3)
    _, dense_ids = zoo_store.dense_search(vector, 3)
    lexical_ids, _ = zoo_store.lexical_search(question, 3)
    assert set(found.ids.tolist()) == set(dense_ids.tolist()) | set(lexical_ids.tolist())  # the union of both searches
    np.testing.assert_array_equal(found.docs, rows[found.ids, 0])
    np.testing.assert_array_equal(found.title_rows, zoo_store.title_rows(found.ids))
    with pytest.raises(InvalidArgumentError, match=r"sentence ids must be in 0\.\."):
        zoo_store.cosines(vector, np.array([len(texts)]))


def test_store_milvus_a_paragraph_too_long_for_one_row_of_vectors_asks_milvus_for_its_cosines(milvus_server, tmp_path, embedder):
    # 40 sentences' 384-d vectors need ~80 KB of base64, more than one VARCHAR: that paragraph
    # keeps only its mean vector and its sentences' cosines come from a restricted search
    long = " ".join(f"Tool number {n} hangs on hook {n} of the long wall." for n in range(40))
    corpus = _corpus(tmp_path / "docs", {"hooks.txt": f"Hooks\n\n{long}\n\nA short closing paragraph ends it."}, embedder)
    store = M.write_index(f"milvus://{milvus_server}/long_paragraph", **corpus)
    rows, vectors = corpus["rows"], corpus["vectors"]
    paragraphs = paragraph_numbers(rows)
    assert np.bincount(paragraphs).max() >= 40
    np.testing.assert_array_equal(store.paragraph_of(np.arange(len(rows))), paragraphs)
    counting = store._calls.client = _CountingClient(store._calls.client)
    vector = embedder.encode(["Which hook holds tool 7?"])[0]
    ids = np.arange(len(rows))
    evidence = store.evidence(tokenize("hook tool"), vector, ids, paragraphs[ids], rows[ids, 0])
    np.testing.assert_allclose(evidence.cosines, vectors @ vector, atol=1e-5)
    np.testing.assert_array_equal(evidence.sentence_paragraphs, paragraphs)
    np.testing.assert_allclose(evidence.paragraph_dense, corpus["paragraph_vectors"][paragraphs] @ vector, atol=1e-5)
    assert counting.calls["search"] == 1  # the long paragraph's cosines; the others' came with their rows


def test_store_milvus_lexical_evidence_equals_the_local_bm25(zoo_store, zoo):
    texts, rows = zoo["texts"], zoo["rows"]
    tokens = [tokenize(t) for t in texts]
    local = BM25Index.from_tokens(tokens)
    paragraphs = paragraph_numbers(rows)
    for question in ("penguins breed in winter", "How much water can a camel drink?", "penguin penguin coasts"):
        query = tokenize(question)
        ids = np.arange(len(texts))
        np.testing.assert_allclose(zoo_store.lexical_scores(query, ids), local.scores_of_tokens(query), rtol=1e-5, atol=1e-6)
        vector = zoo["vectors"][0]
        np.testing.assert_allclose(
            zoo_store.paragraph_evidence(query, vector, paragraphs)[1],
            zoo["paragraph_bm25"].scores_of_tokens(query)[paragraphs],
            rtol=1e-5,
            atol=1e-6,
        )
        assert dict(zoo_store.idf()) == pytest.approx(dict(local.idf()))


class _CountingClient:
    """The real pymilvus client, counting the calls made through it."""

    def __init__(self, client) -> None:
        self.client, self.calls = client, collections.Counter()

    def __getattr__(self, name):
        self.calls[name] += 1
        return getattr(self.client, name)


def test_store_milvus_a_repeated_answer_costs_two_round_trips(zoo_store, embedder):
    store = M.MilvusStore.open(zoo_store.address, check_stale=False)  # its own, cold caches
    counting = store._calls.client = _CountingClient(store._calls.client)
    index = Index(store, embedder)
    question = "How much water can a camel drink?"
    first = index.answer(question)
    cold = sum(counting.calls.values())
    counting.calls.clear()
    second = index.answer(question)
    # rows, texts, paragraphs (with their sentences' vectors) and documents read once are kept: the candidates remain
    assert dict(counting.calls) == {"hybrid_search": 1} and cold > 1
    assert second.text == first.text and second.citations == first.citations


def test_store_milvus_a_sentence_held_twice_is_ranked_once_as_when_held_once(milvus_server, zoo_store, tmp_path, embedder):
    twice = _corpus(tmp_path / "twice", {**ZOO, **{f"copy-{name}": text for name, text in ZOO.items()}}, embedder)
    doubled = Index(M.write_index(f"milvus://{milvus_server}/zoo_twice", **twice), embedder)
    question = "Where do emperor penguins breed?"
    once, hits = Index(zoo_store, embedder).retrieve(question, 4), doubled.retrieve(question, 4)
    assert len({hit.text for hit in hits}) == 4
    assert [hit.text for hit in hits] == [hit.text for hit in once]
    assert [hit.score for hit in hits] == pytest.approx([hit.score for hit in once], abs=0.03)


def test_store_milvus_stale_source_is_refused(milvus_server, tmp_path, embedder):
    corpus = _corpus(tmp_path / "docs", TOOLS, embedder)
    address = f"milvus://{milvus_server}/stale_check"
    M.write_index(address, **corpus)
    assert len(M.MilvusStore.open(address)) == len(corpus["texts"])
    (tmp_path / "docs" / "tools.txt").write_text("Something else entirely.", encoding="utf-8")
    with pytest.raises(StaleIndexError, match=r"tools\.txt changed since the build; rebuild with: citeqa build"):
        M.MilvusStore.open(address)
    assert len(M.MilvusStore.open(address, check_stale=False)) == len(corpus["texts"])


def test_store_milvus_older_format_is_refused_with_a_rebuild_hint(milvus_server, tools, monkeypatch):
    # a version-1 store kept no pages nor extractors: reading it would give wrong defaults
    address = f"milvus://{milvus_server}/old_format"
    monkeypatch.setattr(milvus_write, "FORMAT_VERSION", 1)
    refused = r"store format 1, this citeqa reads 3; rebuild with: citeqa build SOURCES --store milvus://"
    with pytest.raises(IncompatibleIndexError, match=refused):  # written, then refused when opened
        M.write_index(address, **tools)
    monkeypatch.undo()
    with pytest.raises(IncompatibleIndexError, match=refused):
        M.MilvusStore.open(address, check_stale=False)


def test_store_milvus_long_page_lists_span_chunks(milvus_server, tools):
    # more page offsets than one VARCHAR holds: they continue in extra document rows
    long_doc = dataclasses.replace(tools["documents"][0], pages=tuple(range(0, 9_000_000, 1000)))
    assert len(json.dumps(list(long_doc.pages))) > 65_535
    store = M.write_index(f"milvus://{milvus_server}/long_pages", **dict(tools, documents=[long_doc]))
    assert store.documents[0] == long_doc
    assert store.manifest["counts"]["document_chunks"] > 1


def test_store_milvus_rejects_texts_that_are_not_the_slices(milvus_server, zoo):
    broken = dict(zoo, texts=["not the sentence", *zoo["texts"][1:]])
    with pytest.raises(InvalidArgumentError, match="is not documents"):
        M.write_index(f"milvus://{milvus_server}/broken", **broken)


# --------------------------------------------------------------------------- atomic rebuilds


def test_store_milvus_alias_switch_is_atomic(milvus_server, zoo, tools, embedder):
    address = f"milvus://{milvus_server}/switch"
    first = M.write_index(address, **zoo)
    pinned = M.MilvusStore.open(address)
    corpora = {len(zoo["texts"]): set(zoo["texts"]), len(tools["texts"]): set(tools["texts"])}
    assert len(corpora) == 2
    vector = embedder.encode(["cutting wood"])[0]
    seen: list[tuple[str, int]] = []
    problems: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                store = M.MilvusStore.open(address)
                found = store.candidates("cutting wood with a chisel", tokenize("cutting wood with a chisel"), vector, 10, 10)
                ids, texts = found.ids, store.texts(found.ids)
                n = len(store)
                if n not in corpora or not set(texts) <= corpora[n] or len(ids) != min(n, 20):
                    problems.append(f"{store.version}: {n} sentences, texts {texts[:2]}")
                seen.append((store.version, n))
            except CiteqaError as exc:  # a reader must never fail either
                problems.append(str(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        time.sleep(0.3)
        second = M.write_index(address, **tools)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not problems, problems[:3]
    versions = [v for v, _ in seen]
    assert first.version in versions and second.version in versions
    assert versions.index(second.version) > max(i for i, v in enumerate(versions) if v == first.version)
    # a store opened before the switch keeps reading its own version
    assert pinned.version == first.version and pinned.live_version() == second.version
    assert set(pinned.texts(np.arange(len(pinned)))) == set(zoo["texts"])
    assert M.list_versions(address) == [first.version, second.version]
    third = M.write_index(address, **zoo)
    assert M.list_versions(address) == [second.version, third.version]  # the oldest is dropped
    names = set(M.connect(address).list_collections())
    assert not any(name.startswith(first.version) for name in names)


def test_store_milvus_an_older_build_never_replaces_a_newer_live_one(milvus_server, zoo, tools, monkeypatch):
    address = f"milvus://{milvus_server}/race"
    newer = M.write_index(address, **tools)
    # a build that started earlier (older stamp) and finishes later must not win
    monkeypatch.setattr(milvus_write, "_version_name", lambda alias, when: f"{alias}_v20000101000000000000")
    with pytest.raises(M.MilvusStoreError, match=r"a newer build \(race_v\d{20}\) went live"):
        M.write_index(address, **zoo)
    assert M.MilvusStore.open(address).version == newer.version
    assert M.list_versions(address) == [newer.version]  # the losing build left nothing behind


# --------------------------------------------------------------------------- Milvus Lite file


def test_store_milvus_lite_local_file(tmp_path, zoo, embedder):
    address = f"milvus-lite:{tmp_path / 'citeqa.db'}#zoo_local"
    written = M.write_index(address, **zoo)
    store = M.MilvusStore.open(address)
    assert store.version == written.version and len(store) == len(zoo["texts"])
    vector = embedder.encode(["How much can a camel drink?"])[0]
    found = store.candidates("How much can a camel drink?", tokenize("How much can a camel drink?"), vector, 5, 5)
    assert "A camel can drink 100 litres of water in ten minutes." in found.texts
    assert (tmp_path / "citeqa.db").exists()


# --------------------------------------------------------------------------- import weight


def test_store_milvus_import_citeqa_does_not_import_pymilvus():
    code = (
        "import sys, citeqa, citeqa.store.milvus as m; "
        "assert m.is_milvus_address('milvus://h:1/c'); "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('pymilvus', 'milvus_lite', 'grpc', 'pyarrow')))"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_clients_do_not_ping_an_idle_server(milvus_server):
    """pymilvus's 10 s keepalive on idle connections drew GOAWAY "too_many_pings" from a gRPC server's default policy."""
    client = M.connect(f"milvus://{milvus_server}/pings")
    channel = client._handler._grpc_options  # what the shared channel was made with
    assert channel["grpc.keepalive_permit_without_calls"] is False
    assert channel["grpc.keepalive_time_ms"] >= 300_000
    assert client.list_collections() is not None
