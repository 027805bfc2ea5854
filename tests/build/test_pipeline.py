"""The overlapped build stages: documents segmented in a thread while earlier ones are embedded,
with the same sentences, order and vectors as one document after another (citeqa.build.pipeline)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from citeqa.build import pipeline
from citeqa.build.context import lexical_arrays
from citeqa.embed import get_embedder
from citeqa.errors import SourceError
from citeqa.ingest.segment import segment_documents
from citeqa.schema import Document

WORDS = ["harbor", "salmon", "bridge", "council", "river", "school", "market", "tower", "garden", "station"]


def _documents(count: int) -> list[Document]:
    documents = []
    for number in range(count):
        sentences = [
            f"The {WORDS[(number + k) % len(WORDS)]} of town {number} opened in {1900 + k}."
            for k in range(1 + number % 4)
        ]
        text = " ".join(sentences[:2]) + ("\n\n" + " ".join(sentences[2:]) if len(sentences) > 2 else "")
        documents.append(Document(f"doc-{number}.txt", text, f"/docs/doc-{number}.txt", f"sha-{number}"))
    return documents


class Recording:
    """The real fp32 embedder, noting each call and the thread progress is reported from."""

    def __init__(self) -> None:
        self.inner = get_embedder(backend="onnx")
        self.dim, self.space, self.model_name, self.backend = self.inner.dim, self.inner.space, "m", "onnx"
        self.calls: list[int] = []

    def encode(self, texts, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append(len(texts))
        return self.inner.encode(texts, **kwargs)


def test_pipelined_build_has_the_sentences_order_and_vectors_of_a_plain_loop(monkeypatch):
    monkeypatch.setattr(pipeline, "QUEUE_DOCUMENTS", 3)  # the segmenter waits for the embedder often
    documents = _documents(40)
    embedder = Recording()
    events: list[tuple[str, int, int, int]] = []
    result = pipeline.segment_and_embed(
        documents, {}, embedder, chunk=7,
        report=lambda stage, done, total: events.append((stage, done, total, threading.get_ident())),
    )
    expected = segment_documents(documents)
    assert result.texts == [s.text for s in expected]
    assert result.rows[:, 1:].tolist() == [[s.start, s.end, s.paragraph_id] for s in expected]
    assert result.rows[:, 0].tolist() == [int(s.doc_id.split("-")[1].split(".")[0]) for s in expected]
    plain = embedder.inner.encode(result.texts)
    cosines = (result.vectors * plain).sum(axis=1)
    assert cosines.min() >= 0.999
    assert max(embedder.calls) <= 7 and sum(embedder.calls) == len(expected) == result.embedded
    assert {ident for *_, ident in events} == {threading.get_ident()}  # callbacks never come from the worker
    embedding = [(done, total) for stage, done, total, _ in events if stage == "embedding"]
    assert embedding[-1] == (len(expected), len(expected))
    assert [d for d, _ in embedding] == sorted(d for d, _ in embedding)
    assert [e[:3] for e in events if e[0] == "segmenting"][-1] == ("segmenting", 40, 40)
    lexical = lexical_arrays(result.rows, result.texts)
    assert np.allclose(result.lexical.bm25.scores("harbor opened"), lexical.bm25.scores("harbor opened"))
    assert result.lexical.vocabulary == lexical.vocabulary


def test_documents_are_segmented_while_earlier_ones_are_embedded(monkeypatch):
    documents = _documents(30)
    segmented_during_embedding = threading.Event()
    embedding = threading.Event()
    real_segment = pipeline.segment_document
    calls = []

    def segment(document, first):  # type: ignore[no-untyped-def]
        calls.append(document.doc_id)
        # the first three documents hold 6 sentences, more than a chunk of 4: from the fourth on the
        # segmenter waits for the embedder to start (on a busy machine it could otherwise finish
        # all 30 before the first embedding call, and the test would fail for the scheduler's sake)
        if len(calls) > 3:
            embedding.wait(timeout=60)
        if embedding.is_set():
            segmented_during_embedding.set()
        return real_segment(document, first)

    class WaitsForTheSegmenter(Recording):
        def encode(self, texts, **kwargs):  # type: ignore[no-untyped-def]
            if not self.calls:  # the first call holds on until the segmenter moved on meanwhile
                embedding.set()
                assert segmented_during_embedding.wait(timeout=60), "no document was segmented while embedding"
            return super().encode(texts, **kwargs)

    monkeypatch.setattr(pipeline, "segment_document", segment)
    result = pipeline.segment_and_embed(documents, {}, WaitsForTheSegmenter(), chunk=4, report=lambda *a: None)
    assert result.embedded == len(segment_documents(documents))


def test_a_segmentation_error_reaches_the_caller_and_an_embedding_error_stops_the_thread(monkeypatch):
    def broken(document, first):  # type: ignore[no-untyped-def]
        raise SourceError(f"{document.doc_id}: cannot be split")

    monkeypatch.setattr(pipeline, "segment_document", broken)
    with pytest.raises(SourceError, match="doc-0.txt: cannot be split"):
        pipeline.segment_and_embed(_documents(3), {}, Recording(), report=lambda *a: None)
    monkeypatch.undo()

    class Failing(Recording):
        def encode(self, texts, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("the model broke")

    before = {t.ident for t in threading.enumerate()}
    monkeypatch.setattr(pipeline, "QUEUE_DOCUMENTS", 2)
    with pytest.raises(RuntimeError, match="the model broke"):
        pipeline.segment_and_embed(_documents(50), {}, Failing(), chunk=2, report=lambda *a: None)
    for thread in threading.enumerate():
        if thread.ident not in before and thread.name == "citeqa-build-segment":
            thread.join(timeout=30)
            assert not thread.is_alive(), "the segmenting thread kept running after the build failed"


def test_no_text_at_all_is_refused_with_what_to_do():
    empty = [Document("blank.txt", "   \n\n  ", "/docs/blank.txt", "sha")]
    with pytest.raises(SourceError, match="no text to index"):
        pipeline.segment_and_embed(empty, {}, Recording(), report=lambda *a: None)


def _written(tmp_path, name, documents, rows, texts, vectors, embedder, **kwargs):  # type: ignore[no-untyped-def]
    from citeqa.build import write_index
    from citeqa.store.read import load_version

    write_index(tmp_path / name, documents, rows, texts, vectors, embedder, index_type="flat", **kwargs)
    return load_version(tmp_path / name, check_stale=False)


def test_write_index_builds_the_vector_index_in_a_thread_while_indexing_the_words_the_same_as_given(tmp_path, monkeypatch):
    import citeqa.build as build_module

    documents = _documents(30)
    embedder = Recording()
    sentences = segment_documents(documents)
    rows = np.array([[int(s.doc_id.split("-")[1].split(".")[0]), s.start, s.end, s.paragraph_id] for s in sentences], dtype=np.int64)
    texts = [s.text for s in sentences]
    vectors = embedder.inner.encode(texts)
    threads: list[tuple[str, str]] = []

    def noting(name, function):  # type: ignore[no-untyped-def]
        def noted(*args):  # type: ignore[no-untyped-def]
            threads.append((name, threading.current_thread().name))
            return function(*args)

        return noted

    monkeypatch.setattr(build_module, "lexical_arrays", noting("words", build_module.lexical_arrays))
    monkeypatch.setattr(build_module, "build_vector_index", noting("vectors", build_module.build_vector_index))
    overlapped = _written(tmp_path, "a", documents, rows, texts, vectors, embedder)
    assert sorted(threads) == [("vectors", "citeqa-build-vectors"), ("words", threading.current_thread().name)]
    given = _written(tmp_path, "b", documents, rows, texts, vectors, embedder, lexical=lexical_arrays(rows, texts))
    for a, b in ((overlapped.bm25, given.bm25), (overlapped.paragraph_bm25, given.paragraph_bm25)):
        assert a._model.vocab_dict == b._model.vocab_dict
        for key in ("data", "indices", "indptr"):
            assert np.asarray(a._model.scores[key]).tobytes() == np.asarray(b._model.scores[key]).tobytes()
    assert overlapped.vocabulary() == given.vocabulary() and "salmon" in overlapped.vocabulary()["words"]
    assert overlapped.vectors.ntotal == given.vectors.ntotal == len(texts)


def test_write_index_raises_what_either_side_of_the_overlap_raised(tmp_path, monkeypatch):
    import citeqa.build as build_module
    from citeqa.build import write_index

    embedder = Recording()
    documents = [Document("d.txt", "... !!! ???", "/docs/d.txt", "sha")]
    rows = np.array([[0, 0, 3, 0], [0, 4, 11, 0]], dtype=np.int64)
    vectors = embedder.inner.encode(["...", "!!! ???"])
    with pytest.raises(SourceError, match="no words to index"):
        write_index(tmp_path / "idx", documents, rows, ["...", "!!! ???"], vectors, embedder, index_type="flat")
    assert not (tmp_path / "idx").exists() or not any((tmp_path / "idx").glob("v-*"))

    def broken(*args):  # type: ignore[no-untyped-def]
        raise MemoryError("no room for the graph")

    monkeypatch.setattr(build_module, "build_vector_index", broken)
    documents = [Document("d.txt", "Salmon swim. Bridges stand.", "/docs/d.txt", "sha")]
    rows = np.array([[0, 0, 12, 0], [0, 13, 27, 0]], dtype=np.int64)
    with pytest.raises(MemoryError, match="no room"):
        write_index(tmp_path / "idx", documents, rows, ["Salmon swim.", "Bridges stand."], vectors, embedder, index_type="flat")
    assert not (tmp_path / "idx").exists() or not any((tmp_path / "idx").glob("v-*"))
