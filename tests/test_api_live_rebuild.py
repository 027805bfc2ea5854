"""Live rebuild: queries keep running in threads while rebuilds swap the index.

Every answer must come from one whole index: each citation's text equals the
document slice of *the index that served it*, and no index ever changes after it
was handed out (rebuilds write new versions; nothing is added to a loaded FAISS index).
"""

from __future__ import annotations

import hashlib
import threading
import time

import numpy as np

from citeqa import Index, LiveIndex, build_index

CORPUS_A = {
    "harbour.txt": (
        "Harbour report\n\n"
        "The new harbour crane lifts forty tonnes. It was built in Rotterdam in 2019.\n\n"
        "Ferries leave every hour in summer. In winter they leave twice a day.\n"
    ),
    "orchard.txt": (
        "Orchard notes\n\n"
        "The apple harvest begins in late September. Pickers come from three villages.\n\n"
        "Cider is pressed in October and sold at the spring fair.\n"
    ),
}
CORPUS_B = {
    "harbour.txt": (
        "Harbour report, revised\n\n"
        "After the upgrade the harbour crane lifts sixty tonnes, and a second crane is planned. "
        "The crane was first built in Rotterdam.\n\n"
        "Ferries now leave every half hour in summer and every two hours in winter.\n\n"
        "The lighthouse was repainted red and white in May.\n"
    ),
}
QUESTIONS = [
    "How much can the harbour crane lift?",
    "How often do the ferries leave?",
    "When does the apple harvest begin?",
    "Where was the crane built?",
    "What colour is the lighthouse?",
]


def _write_corpus(folder, corpus):  # type: ignore[no-untyped-def]
    for old in folder.glob("*.txt"):
        old.unlink()
    for name, text in corpus.items():
        (folder / name).write_text(text, encoding="utf-8")


def _fingerprint(index: Index) -> tuple:
    vectors = index._stored.vectors
    data = vectors.reconstruct_n(0, vectors.ntotal)
    texts = hashlib.sha256("\x00".join(d.text for d in index.documents).encode()).hexdigest()
    return (
        str(index.path),
        len(index),
        int(vectors.ntotal),
        hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest(),
        hashlib.sha256(index._stored.sentences.tobytes()).hexdigest(),
        texts,
        tuple((h.sentence_id, h.start, h.end) for h in index.retrieve(QUESTIONS[0], 3)),
    )


def test_queries_during_rebuilds_never_fail_and_cite_their_own_index(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    _write_corpus(docs, CORPUS_A)
    out = tmp_path / "index"
    build_index([docs], out, embedder=embedder)
    live = LiveIndex(out)

    served: dict[int, Index] = {}
    fingerprints: dict[int, tuple] = {}
    errors: list[str] = []
    checked = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def worker(seed: int) -> None:
        n = seed
        while not stop.is_set():
            index = live.get()
            with lock:
                if id(index) not in served:
                    served[id(index)] = index
                    fingerprints[id(index)] = _fingerprint(index)
            question = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            try:
                result = index.answer(question)
                hits = list(result.citations) + index.retrieve(question, 5)
                documents = {d.doc_id: d.text for d in index.documents}
                for hit in hits:
                    text = documents[hit.doc_id]
                    if hit.text != text[hit.start : hit.end]:
                        errors.append(f"{index.path.name}: {hit.text!r} is not {hit.doc_id}[{hit.start}:{hit.end}]")
                    ctx_start = hit.context_start
                    if hit.context != text[ctx_start : ctx_start + len(hit.context)]:
                        errors.append(f"{index.path.name}: context of sentence {hit.sentence_id} is not in {hit.doc_id}")
                with lock:
                    checked[0] += len(hits)
            except Exception as exc:  # noqa: BLE001 - every error fails the test
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(4)]
    for thread in threads:
        thread.start()
    try:
        versions = []
        for corpus in (CORPUS_B, CORPUS_A, CORPUS_B, CORPUS_A):
            time.sleep(0.3)
            _write_corpus(docs, corpus)
            versions.append(build_index([docs], out, embedder=embedder).path.name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and live.get().path.name != versions[-1]:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    print(f"checked {checked[0]} citations from {len(served)} indexes across {len(versions)} rebuilds")
    assert errors == []
    assert checked[0] > 100
    assert live.get().path.name == versions[-1]
    assert len(served) >= 3, "the rebuilds were not picked up while querying"
    # No index that was ever served changed afterwards.
    for key, index in served.items():
        assert _fingerprint(index) == fingerprints[key], f"{index.path.name} changed after it was served"


def test_warm_up_loads_the_query_embedder_in_the_background(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in CORPUS_A.items():
        (docs / name).write_text(text, encoding="utf-8")
    build_index([docs], tmp_path / "idx", embedder=embedder)
    live = LiveIndex(tmp_path / "idx")
    assert live.get()._embedder is None  # loaded on first use: the first question would wait for it
    thread = live.warm_up()
    thread.join(timeout=300)
    assert not thread.is_alive() and thread.daemon
    assert live.get()._embedder is not None
    assert "crane" in live.get().answer("How much does the harbour crane lift?").citations[0].text


def test_a_failed_warm_up_is_logged_and_leaves_the_first_question_to_say_why(tmp_path, embedder, monkeypatch, caplog):
    from citeqa.errors import CiteqaError

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text(CORPUS_A["harbour.txt"], encoding="utf-8")
    build_index([docs], tmp_path / "idx", embedder=embedder)
    live = LiveIndex(tmp_path / "idx")

    def broken() -> Index:
        raise CiteqaError("the model folder is missing")

    monkeypatch.setattr(live, "get", broken)
    with caplog.at_level("WARNING", logger="citeqa"):
        live.warm_up().join(timeout=60)
    assert "could not prepare the embedding model in advance: the model folder is missing" in caplog.text
