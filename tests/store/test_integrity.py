"""Index integrity: every damaged, missing, mismatched or stale index is refused.

Refusal means a :class:`citeqa.CiteqaError` subclass whose message names the index
path and says what to do (``citeqa build ...``). The corruption matrix runs on small
indexes built with the fake embedder (the model plays no part in file checks); the
real-model tests below copy a real index and damage it the same way.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from citeqa import store as storage
from citeqa.embed.passage import embedding_texts
from citeqa.errors import (
    CiteqaError,
    CorruptIndexError,
    IncompatibleIndexError,
    IndexNotFoundError,
    StaleIndexError,
)
from citeqa import Index, LiveIndex, build_index

DOC_A = (
    "Harbour report\n\n"
    "The new harbour crane lifts forty tonnes. It was built in Rotterdam in 2019.\n\n"
    "Ferries leave every hour in summer. In winter they leave twice a day.\n"
)
DOC_B = (
    "Orchard notes\n\n"
    "The apple harvest begins in late September. Pickers come from three villages.\n\n"
    "Cider is pressed in October and sold at the spring fair.\n"
)


# ----------------------------------------------------------------- damage helpers


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncate_last_byte(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1])


def _append(path: Path) -> None:
    with open(path, "ab") as handle:
        handle.write(b"\x00garbage appended\n")


def _flip(position: float) -> Callable[[Path], None]:
    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        at = min(len(data) - 1, int(len(data) * position))
        data[at] ^= 0x01
        path.write_bytes(bytes(data))

    flip.__name__ = f"flip@{position:.2f}"
    return flip


DAMAGES = [_empty, _truncate, _truncate_last_byte, _append, _flip(0.0), _flip(0.5), _flip(0.999)]


def _version_files(index_dir: Path) -> list[str]:
    version = storage.resolve_version(index_dir)
    return sorted(p.relative_to(version).as_posix() for p in version.rglob("*") if p.is_file())


def _assert_refusal(exc: CiteqaError, index_dir: Path) -> None:
    message = str(exc)
    assert str(index_dir) in message, f"message does not name the index path: {message}"
    assert "citeqa build" in message, f"message does not say how to fix it: {message}"


@pytest.fixture
def small_index(tmp_path, fake_embedder) -> Path:
    """A two-document index (fake embedder) in its own folder; returns the folder."""
    sources = tmp_path / "docs"
    sources.mkdir()
    (sources / "harbour.txt").write_text(DOC_A, encoding="utf-8")
    (sources / "orchard.md").write_text(DOC_B, encoding="utf-8")
    out = tmp_path / "index"
    build_index([sources], out, embedder=fake_embedder)
    return out


# ----------------------------------------------------------------- corrupt files


SERVING = [
    "vectors.faiss", "documents.jsonl", "documents.npy", "texts.bin", "sentences.npy",
    "paragraph_vectors.npy", "document_vectors.npy", "vocabulary.json",
]


def test_every_index_file_is_listed_for_the_corruption_matrix(small_index):
    files = _version_files(small_index)
    assert {*SERVING, storage.EMBEDDINGS, "manifest.json"} <= set(files)
    assert set(SERVING) == set(storage.SERVING_FILES)
    assert sum(f.startswith("bm25/") for f in files) >= 3
    assert sum(f.startswith("bm25_paragraphs/") for f in files) >= 3
    # The manifest covers every other file, so the matrix below checks them all.
    manifest = json.loads((storage.resolve_version(small_index) / storage.MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["files"]) == set(files) - {"manifest.json"}


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.__name__)
def test_damaged_index_files_are_refused(small_index, damage):
    version = storage.resolve_version(small_index)
    for rel in _version_files(small_index):
        target = version / rel
        original = target.read_bytes()
        damage(target)
        assert target.read_bytes() != original
        if rel == storage.EMBEDDINGS:
            # Read only by the next rebuild, so by design it is checked then, not at load
            # (see test_damaged_stored_vectors_are_recomputed_at_rebuild): the index
            # serves, and the damage is seen the moment the vectors are read.
            loaded = Index.load(small_index)
            assert len(loaded) > 0
            assert storage.read_embeddings(version, loaded.manifest) is None
            target.write_bytes(original)
            assert storage.read_embeddings(version, loaded.manifest) is not None
            continue
        if rel == "manifest.json" and damage is _truncate_last_byte:
            # Only the closing newline went: the JSON and its checksum are intact, so the
            # index is whole and loads; every byte that carries data is covered below.
            assert Index.load(small_index).manifest == json.loads(original)
            target.write_bytes(original)
            continue
        with pytest.raises(CorruptIndexError) as caught:
            Index.load(small_index)
        _assert_refusal(caught.value, small_index)
        assert rel.split("/")[-1] in str(caught.value) or "manifest.json" in str(caught.value)
        target.write_bytes(original)
    assert len(Index.load(small_index)) > 0  # restored: loads again


class _CountingEmbedder:
    """Wraps the fake embedder and counts the sentences it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_name, self.backend, self.dim, self.space = inner.model_name, inner.backend, inner.dim, inner.space
        self.embedded = 0

    def encode(self, texts, *, batch_size=32, show_progress=False):
        self.embedded += len(texts)
        return self.inner.encode(texts, batch_size=batch_size, show_progress=show_progress)


def _sentence_texts(index: Index) -> list[str]:
    return [index.documents[int(d)].text[int(s) : int(e)] for d, s, e, _p in index.spans]


@pytest.mark.parametrize("damage", [*DAMAGES, Path.unlink], ids=lambda d: d.__name__)
def test_damaged_stored_vectors_are_recomputed_at_rebuild(small_index, fake_embedder, damage, caplog):
    sources = [small_index.parent / "docs"]
    counting = _CountingEmbedder(fake_embedder)
    build_index(sources, small_index, embedder=counting)
    assert counting.embedded == 0  # undamaged: an unchanged corpus reuses every stored vector

    target = storage.resolve_version(small_index) / storage.EMBEDDINGS
    data = bytearray(target.read_bytes())
    damage(target)
    if damage is not Path.unlink:
        assert target.read_bytes() != bytes(data)
    with caplog.at_level(logging.INFO, logger="citeqa"):
        rebuilt = build_index(sources, small_index, embedder=counting)
    n = len(rebuilt)
    assert counting.embedded == n  # every sentence embedded again, none taken from the damage
    if damage is not Path.unlink:
        assert any("cannot reuse" in r.getMessage() and storage.EMBEDDINGS in r.getMessage() for r in caplog.records)
    assert any("embedding every sentence" in r.getMessage() for r in caplog.records)
    stored = storage.read_embeddings(rebuilt.path, rebuilt.manifest)
    assert stored is not None and stored.shape == (n, fake_embedder.dim)
    # each sentence is embedded after its document's headline, as the first build did
    expected = fake_embedder.encode(embedding_texts(_sentence_texts(rebuilt), rebuilt.spans))
    np.testing.assert_allclose(stored, expected, atol=1e-3)
    assert "forty tonnes" in rebuilt.answer("How much can the crane lift?").text


def test_every_single_bit_flip_in_the_manifest_is_refused(small_index):
    manifest = storage.resolve_version(small_index) / storage.MANIFEST
    original = manifest.read_bytes()
    for at in range(len(original)):
        for bit in (0x01, 0x20):
            data = bytearray(original)
            data[at] ^= bit
            manifest.write_bytes(bytes(data))
            with pytest.raises(CorruptIndexError) as caught:
                Index.load(small_index)
            assert str(manifest) in str(caught.value) or str(small_index) in str(caught.value)
    manifest.write_bytes(original)
    Index.load(small_index)


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.__name__)
def test_damaged_current_pointer_is_refused(small_index, damage):
    pointer = small_index / storage.POINTER
    damage(pointer)
    with pytest.raises(CorruptIndexError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)
    assert "CURRENT" in str(caught.value)


def test_every_single_bit_flip_in_the_current_pointer_is_refused(small_index, fake_embedder):
    # Two versions exist, so a flip could only be accepted by naming the other one.
    build_index([small_index.parent / "docs"], small_index, embedder=fake_embedder)
    assert len(storage.list_versions(small_index)) == 2
    pointer = small_index / storage.POINTER
    original = pointer.read_bytes()
    for at in range(len(original)):
        for bit in (0x01, 0x02, 0x20, 0x40):
            data = bytearray(original)
            data[at] ^= bit
            pointer.write_bytes(bytes(data))
            with pytest.raises(CorruptIndexError):
                Index.load(small_index)
    pointer.write_bytes(original)
    Index.load(small_index)


def test_pointer_to_a_folder_outside_the_index_is_refused(small_index, tmp_path):
    outside = tmp_path / "v-elsewhere"
    shutil.copytree(storage.resolve_version(small_index), outside)
    (small_index / storage.POINTER).write_text("../v-elsewhere\n", encoding="utf-8")
    with pytest.raises(CorruptIndexError):
        Index.load(small_index)


# ----------------------------------------------------------------- missing


@pytest.mark.parametrize("rel", [*SERVING, "manifest.json", "bm25", "bm25/params.index.json"])
def test_missing_index_file_is_refused(small_index, rel):
    target = storage.resolve_version(small_index) / rel
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
    with pytest.raises(CorruptIndexError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)


def test_missing_version_folder_is_refused(small_index):
    shutil.rmtree(storage.resolve_version(small_index))
    with pytest.raises(CorruptIndexError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)


def test_missing_pointer_is_reported_as_no_index(small_index):
    (small_index / storage.POINTER).unlink()
    with pytest.raises(IndexNotFoundError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)


def test_missing_index_folder_is_reported_as_no_index(tmp_path):
    where = tmp_path / "nowhere"
    with pytest.raises(IndexNotFoundError) as caught:
        Index.load(where)
    _assert_refusal(caught.value, where)


# ----------------------------------------------------------------- stale


def test_changed_source_makes_the_index_stale(small_index):
    source = small_index.parent / "docs" / "harbour.txt"
    source.write_text(DOC_A + "A late addition.\n", encoding="utf-8")
    with pytest.raises(StaleIndexError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)
    assert str(source) in str(caught.value)


def test_deleted_source_makes_the_index_stale(small_index):
    source = small_index.parent / "docs" / "orchard.md"
    source.unlink()
    with pytest.raises(StaleIndexError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)
    assert "no longer exists" in str(caught.value)


# ----------------------------------------------------------------- mismatched


def _rewrite_manifest(index_dir: Path, **changes: object) -> None:
    """Change manifest fields *with* a valid checksum, as a different citeqa would write them."""
    path = storage.resolve_version(index_dir) / storage.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    manifest[storage.MANIFEST_DIGEST] = storage.manifest_digest(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_other_format_version_is_refused_as_incompatible(small_index):
    _rewrite_manifest(small_index, format_version=storage.FORMAT_VERSION + 1)
    with pytest.raises(IncompatibleIndexError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)


def test_an_index_segmented_by_other_rules_is_refused_with_its_rebuild_command(small_index):
    path = storage.resolve_version(small_index) / storage.MANIFEST
    segmenter = json.loads(path.read_text(encoding="utf-8"))["segmenter"]
    segmenter["params"]["rules_version"] = 1  # what citeqa wrote before a blank line ended every paragraph
    _rewrite_manifest(small_index, segmenter=segmenter)
    with pytest.raises(IncompatibleIndexError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)
    # the whole command, sources included, ready to paste
    docs = small_index.parent / "docs"
    assert f"citeqa build {docs / 'harbour.txt'} {docs / 'orchard.md'} --index {small_index}" in str(caught.value)


def test_dimension_differing_from_the_vectors_is_refused(small_index):
    _rewrite_manifest(small_index, dimension=384)
    with pytest.raises(CorruptIndexError) as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)
    assert "dimension" in str(caught.value)


def test_unknown_model_in_manifest_is_refused_at_first_query(small_index):
    _rewrite_manifest(small_index, model="/no/such/model-folder")
    index = Index.load(small_index)
    with pytest.raises(CiteqaError) as caught:
        index.answer("When do ferries leave?")
    assert "/no/such/model-folder" in str(caught.value)


def test_fake_index_is_refused_with_the_real_model(small_index, embedder):
    with pytest.raises(IncompatibleIndexError) as caught:
        Index.load(small_index, embedder=embedder)
    assert str(small_index) in str(caught.value)
    assert "rebuild" in str(caught.value)


def test_real_index_is_refused_with_another_vector_space(tmp_path, article_index, fake_embedder, embedder):
    copy = tmp_path / "article"
    shutil.copytree(article_index.path, copy / article_index.path.name)
    (copy / storage.POINTER).write_text(article_index.path.name + "\n", encoding="utf-8")
    with pytest.raises(IncompatibleIndexError):
        Index.load(copy, embedder=fake_embedder)

    class SameNameOtherSize:
        model_name = embedder.model_name
        backend = embedder.backend
        dim = embedder.dim * 2
        space = f"{embedder.model_name}|{embedder.dim * 2}|fp32"

        def encode(self, texts, *, batch_size=32, show_progress=False):  # pragma: no cover
            raise AssertionError("never used")

    with pytest.raises(IncompatibleIndexError):
        Index.load(copy, embedder=SameNameOtherSize())
    assert Index.load(copy, embedder=embedder).retrieve("Where was the exercise held?", 1)


# ----------------------------------------------------------------- real model


@pytest.mark.parametrize("damage", [_truncate, _append, _flip(0.5)], ids=lambda d: d.__name__)
def test_damaged_real_index_is_refused(tmp_path, article_index, embedder, damage):
    copy = tmp_path / "article"
    shutil.copytree(article_index.path, copy / article_index.path.name)
    (copy / storage.POINTER).write_text(article_index.path.name + "\n", encoding="utf-8")
    assert Index.load(copy, embedder=embedder).answer("Where was the exercise held?").citations
    for rel in (*SERVING, "manifest.json"):
        target = copy / article_index.path.name / rel
        original = target.read_bytes()
        damage(target)
        with pytest.raises(CorruptIndexError) as caught:
            Index.load(copy, embedder=embedder)
        _assert_refusal(caught.value, copy)
        target.write_bytes(original)


def test_live_index_keeps_serving_the_last_good_index_when_a_reload_fails(tmp_path, embedder, caplog):
    docs = tmp_path / "docs"
    docs.mkdir()
    source = docs / "report.txt"
    source.write_text(DOC_A, encoding="utf-8")
    out = tmp_path / "index"
    build_index([source], out, embedder=embedder)
    live = LiveIndex(out)
    first = live.get()
    question = "How much can the crane lift?"
    assert "forty tonnes" in first.answer(question).text

    # A real rebuild whose new version is damaged before the server sees it.
    source.write_text(DOC_B, encoding="utf-8")
    build_index([source], out, embedder=embedder)
    bad_version = storage.resolve_version(out)
    assert bad_version != first.path
    vectors = bad_version / "vectors.faiss"
    data = bytearray(vectors.read_bytes())
    data[len(data) // 2] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="citeqa"):
        served = live.get()
    assert served is first
    assert "forty tonnes" in served.answer(question).text
    assert any("reload failed" in r.getMessage() and "vectors.faiss" in r.getMessage() for r in caplog.records)

    # The pointer itself damaged: still the last good index.
    (out / storage.POINTER).write_text("v-garbage\n", encoding="utf-8")
    assert live.get() is first

    # The index folder gone: still the last good index.
    moved = tmp_path / "moved"
    out.rename(moved)
    assert live.get() is first
    moved.rename(out)

    # A good rebuild lands: served from then on.
    build_index([source], out, embedder=embedder)
    fresh = live.get()
    assert fresh is not first
    assert "September" in fresh.answer("When does the apple harvest begin?").text


def test_live_index_refuses_a_rebuild_made_with_another_model(tmp_path, embedder, fake_embedder, caplog):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.txt").write_text(DOC_A, encoding="utf-8")
    out = tmp_path / "index"
    build_index([docs], out, embedder=embedder)
    live = LiveIndex(out)
    first = live.get()
    build_index([docs], out, embedder=fake_embedder)  # a different vector space lands
    with caplog.at_level(logging.ERROR, logger="citeqa"):
        assert live.get() is first
    assert any("reload failed" in r.getMessage() for r in caplog.records)
    assert "forty tonnes" in live.get().answer("How much can the crane lift?").text


def test_word_piece_offsets_that_do_not_fit_the_sentences_are_refused(small_index):
    from citeqa.store.write import _file_table

    version = storage.resolve_version(small_index)
    offsets = np.load(version / "sentence_piece_offsets.npy")
    np.save(version / "sentence_piece_offsets.npy", offsets[:-1])  # one sentence short, hashes made to match
    _rewrite_manifest(small_index, files=_file_table(version))
    with pytest.raises(CorruptIndexError, match="word-piece offsets") as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)


def test_word_piece_ids_listed_without_their_offsets_are_refused(small_index):
    from citeqa.store.write import _file_table

    version = storage.resolve_version(small_index)
    (version / "sentence_piece_offsets.npy").unlink()  # gone from the folder and the manifest alike
    _rewrite_manifest(small_index, files=_file_table(version))
    with pytest.raises(CorruptIndexError, match="without their offsets") as caught:
        Index.load(small_index)
    _assert_refusal(caught.value, small_index)
