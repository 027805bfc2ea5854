"""Index format v2: memory-mapped columns, lazy document text, verification of every file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citeqa import CorruptIndexError, IncompatibleIndexError, Index, InvalidArgumentError, build_index
from citeqa import store as storage


@pytest.fixture
def fresh_index(tmp_path, embedder):
    return build_index(None, tmp_path / "idx", embedder=embedder)


def test_sentence_table_and_texts_are_memory_mapped(article_index):
    stored = article_index._stored
    assert isinstance(stored.sentences, np.memmap) or isinstance(stored.sentences.base, np.memmap)
    assert stored.sentences.dtype == np.int64 and stored.sentences.shape == (len(article_index), 4)
    assert len(stored.documents) == 1
    document = stored.documents[0]
    assert document.text.startswith("Turkish, Azerbaijani militaries")


def test_every_hit_quotes_its_document_exactly(article_index):
    document = article_index._stored.documents[0]
    for row in range(len(article_index)):
        hit = article_index.hit(row, 0.0)
        assert document.text[hit.start : hit.end] == hit.text
        assert hit.context[hit.start - hit.context_start : hit.end - hit.context_start] == hit.text


def test_manifest_records_backend_space_and_index_type(article_index):
    manifest = article_index.manifest
    assert manifest["format_version"] == storage.FORMAT_VERSION == 3
    assert manifest["backend"] == "onnx-int8"  # the default: no loss in citeqa eval, 1.8x faster
    assert "|onnx-int8" in manifest["vector_space"]
    assert manifest["faiss"]["type"] == "flat"
    assert set(manifest["files"]) >= {
        "vectors.faiss", "sentences.npy", "texts.bin", "documents.npy", "embeddings.npy",
        "paragraph_vectors.npy", "document_vectors.npy", "vocabulary.json", "bm25_paragraphs/params.index.json",
    }


@pytest.mark.parametrize(
    "name",
    [
        "texts.bin", "sentences.npy", "documents.npy", "vectors.faiss",
        "paragraph_vectors.npy", "document_vectors.npy", "vocabulary.json",
    ],
)
def test_a_damaged_serving_file_is_rejected_naming_it(fresh_index, name):
    path = fresh_index.path / name
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match=rf"{name}.*citeqa build"):
        Index.load(fresh_index.path.parent)


def test_damaged_stored_vectors_are_recomputed_not_reused(fresh_index, embedder, caplog):
    path = fresh_index.path / storage.EMBEDDINGS
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    assert Index.load(fresh_index.path.parent).retrieve("Where was the exercise held?")  # not needed to serve
    assert fresh_index._stored.embeddings() is None
    calls = []

    class Counting:
        def __getattr__(self, name):
            return getattr(embedder, name)

        def encode(self, texts, **kwargs):
            calls.append(len(texts))
            return embedder.encode(texts, **kwargs)

    rebuilt = build_index(None, fresh_index.path.parent, embedder=Counting())
    assert calls == [len(rebuilt)]
    assert "stored vectors" in caplog.text or "sha256" in caplog.text


def test_an_index_of_the_previous_format_is_refused_with_the_fix(fresh_index):
    manifest_path = fresh_index.path / storage.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 1  # as written by citeqa 0.1 before manifests had a checksum
    del manifest[storage.MANIFEST_DIGEST]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IncompatibleIndexError, match="index format 1, this citeqa reads 3.*citeqa build"):
        Index.load(fresh_index.path.parent)


def test_vocabulary_is_read_on_first_use_and_checked_again(fresh_index):
    from citeqa.errors import CorruptIndexError as Corrupt

    index = Index.load(fresh_index.path.parent)
    lists = index._stored.vocabulary()  # noqa: SLF001
    assert "lachin" in lists["words"] and "erdogan" in lists["names"]
    path = fresh_index.path / storage.VOCABULARY
    path.write_text(path.read_text(encoding="utf-8").replace("lachin", "lachim"), encoding="utf-8")
    with pytest.raises(Corrupt, match=r"vocabulary.json.*citeqa build"):
        index._stored.vocabulary()  # noqa: SLF001


@pytest.mark.parametrize("as_given", [str, lambda path: path])
def test_an_index_made_from_a_path_says_to_load_it(article_index, as_given):
    folder = article_index.path.parent
    with pytest.raises(InvalidArgumentError, match=r"Index\(\) takes a loaded index, got the path .*Index\.load\("):
        Index(as_given(folder))
    assert Index.load(folder).retrieve("Where was the exercise held?", k=1)


def test_an_index_loads_from_many_threads_at_once(article_index):
    """NumPy parses .npy headers with ast, which CPython 3.11 can't run in parallel threads
    ("AST constructor recursion depth mismatch", ~1 load in 200 before storage serialized it)."""
    import threading

    errors: list[str] = []
    loaded = [0]

    def work() -> None:
        for _ in range(50):
            try:
                Index.load(article_index.path.parent)
                loaded[0] += 1
            except Exception as exc:  # noqa: BLE001 - every failure fails the test
                errors.append(repr(exc))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and loaded[0] == 300


def test_rebuild_hint_names_the_sources_their_folder_or_the_form_of_the_command(tmp_path):
    from citeqa.store.format import rebuild_hint

    def manifest(paths):
        return {"sources": [{"path": p} for p in paths]}

    few = [f"{tmp_path}/docs/a.txt", f"{tmp_path}/docs/b.html"]
    assert rebuild_hint(manifest(few), tmp_path / "idx") == f"citeqa build {' '.join(few)} --index {tmp_path / 'idx'}"
    book = [f"{tmp_path}/book/ch{k:02d}.html" for k in range(12)] + [f"{tmp_path}/book/old/ch01.html"]
    assert rebuild_hint(manifest(book), tmp_path / "idx") == f"citeqa build {tmp_path}/book --index {tmp_path / 'idx'}"
    scattered = [f"/{name}/x{k}.txt" for k in range(6) for name in ("srv", "opt")]
    assert rebuild_hint(manifest(scattered), tmp_path / "idx") == f"citeqa build SOURCES... --index {tmp_path / 'idx'}"
    urls = [f"https://example.org/page{k}.html" for k in range(12)]
    assert rebuild_hint(manifest(urls), tmp_path / "idx").startswith("citeqa build SOURCES... --index")
    assert rebuild_hint(None, tmp_path / "idx") == f"citeqa build --index {tmp_path / 'idx'}"
