"""The index on disk: manifest contents, verification (corrupt, stale, missing), atomic switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import citeqa
from citeqa import store as storage
from citeqa.errors import (
    CorruptIndexError,
    IncompatibleIndexError,
    IndexNotFoundError,
    SourceError,
    StaleIndexError,
)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "Alpha report\nThe alpha team met on Jan. 5, 2020 in Oslo. They planned a bridge.\n", encoding="utf-8"
    )
    (folder / "b.md").write_text("# Beta notes\n\nBeta builds boats. Boats float on water.\n", encoding="utf-8")
    return folder


@pytest.fixture
def built(corpus: Path, tmp_path: Path, fake_embedder):
    out = tmp_path / "index"
    index = citeqa.build_index([corpus], out, embedder=fake_embedder)
    return out, index


def test_manifest_records_model_segmenter_sources_and_file_hashes(built, corpus):
    out, index = built
    manifest = json.loads((index.path / "manifest.json").read_text())
    assert manifest["format_version"] == storage.FORMAT_VERSION
    assert manifest["model"] == "fake-hash-embedder"
    assert manifest["dimension"] == 64
    assert manifest["segmenter"]["name"] == "pysbd" and manifest["segmenter"]["version"]
    assert {s["doc_id"] for s in manifest["sources"]} == {"a.txt", "b.md"}
    assert all(len(s["sha256"]) == 64 for s in manifest["sources"])
    assert {"vectors.faiss", "documents.jsonl", "sentences.npy", "texts.bin"} <= set(manifest["files"])
    assert manifest["counts"]["sentences"] == len(index) == 6
    assert manifest["created_at"]
    assert (out / "CURRENT").read_text().strip() == index.path.name


def test_index_files_hold_no_pickle(built):
    import numpy as np

    _, index = built
    kinds = set()
    for path in index.path.rglob("*"):
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)  # raises if anything inside needs pickle
            kinds.add("npy")
        elif path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                json.loads(line)
            kinds.add("jsonl")
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
            kinds.add("json")
    assert kinds == {"npy", "jsonl", "json"}


def test_missing_index_is_reported_with_the_build_command(tmp_path):
    with pytest.raises(IndexNotFoundError, match=r"no index at .*citeqa build"):
        citeqa.Index.load(tmp_path / "nowhere")


def test_flipped_byte_in_vectors_is_rejected(built):
    out, index = built
    path = index.path / "vectors.faiss"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match="vectors.faiss.*sha256.*citeqa build"):
        citeqa.Index.load(out)


def test_truncated_sentences_file_is_rejected(built):
    out, index = built
    path = index.path / "sentences.npy"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CorruptIndexError, match="sentences.npy.*truncated"):
        citeqa.Index.load(out)


def test_deleted_index_file_is_rejected(built):
    out, index = built
    (index.path / "documents.jsonl").unlink()
    with pytest.raises(CorruptIndexError, match="documents.jsonl is missing"):
        citeqa.Index.load(out)


def test_garbled_manifest_is_rejected(built):
    out, index = built
    (index.path / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptIndexError, match="manifest.json is not valid JSON"):
        citeqa.Index.load(out)


def test_pointer_to_a_missing_version_is_rejected(built):
    out, _ = built
    (out / "CURRENT").write_text("v-nothing-here\n")
    with pytest.raises(CorruptIndexError, match="CURRENT points to"):
        citeqa.Index.load(out)


def test_stale_index_is_rejected_when_a_source_changes(built, corpus):
    out, _ = built
    (corpus / "a.txt").write_text("Alpha report\nEverything changed.\n", encoding="utf-8")
    with pytest.raises(StaleIndexError, match=r"a\.txt changed since the build; rebuild with: citeqa build"):
        citeqa.Index.load(out)


def test_stale_index_is_rejected_when_a_source_is_deleted(built, corpus):
    out, _ = built
    (corpus / "b.md").unlink()
    with pytest.raises(StaleIndexError, match=r"b\.md no longer exists"):
        citeqa.Index.load(out)


def test_other_format_version_is_incompatible(built):
    out, index = built
    manifest_path = index.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 999  # as a newer citeqa would write it, checksum and all
    manifest[storage.MANIFEST_DIGEST] = storage.manifest_digest(manifest)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IncompatibleIndexError, match="index format 999"):
        citeqa.Index.load(out)


def test_query_embedder_from_another_space_is_refused(built, embedder):
    out, _ = built
    with pytest.raises(IncompatibleIndexError, match="fake-hash-embedder"):
        citeqa.Index.load(out, embedder=embedder)


def test_rebuild_switches_versions_and_keeps_the_previous_one(built, corpus, fake_embedder):
    out, first = built
    (corpus / "c.txt").write_text("Gamma gazes at galaxies.\n", encoding="utf-8")
    second = citeqa.build_index([corpus], out, embedder=fake_embedder)
    third = citeqa.build_index([corpus], out, embedder=fake_embedder)
    versions = storage.list_versions(out)
    assert second.path.name in versions and third.path.name in versions
    assert first.path.name not in versions  # pruned: two versions are kept
    assert (out / "CURRENT").read_text().strip() == third.path.name
    assert len(citeqa.Index.load(out)) == 7


def test_unsupported_and_undecodable_sources_are_refused(tmp_path, fake_embedder):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(SourceError, match="truncated or damaged"):
        citeqa.build_index([pdf], tmp_path / "i", embedder=fake_embedder)
    sheet = tmp_path / "budget.numbers"
    sheet.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    with pytest.raises(SourceError, match="unsupported or binary content"):
        citeqa.build_index([sheet], tmp_path / "i", embedder=fake_embedder)
    garbled = tmp_path / "garbled.txt"
    garbled.write_bytes(bytes(range(128, 256)))
    with pytest.raises(SourceError, match="not UTF-8 text .* nor text in any other charset"):
        citeqa.build_index([garbled], tmp_path / "i", embedder=fake_embedder)
    with pytest.raises(SourceError, match="no such file"):
        citeqa.build_index([tmp_path / "missing.txt"], tmp_path / "i", embedder=fake_embedder)
    assert not (tmp_path / "i" / "CURRENT").exists()


def test_default_index_rebuilds_itself_when_the_shipped_article_changes(tmp_path, embedder, monkeypatch, caplog):
    from citeqa import api as index_module

    out = tmp_path / "default-index"
    first = citeqa.build_index(None, out, embedder=embedder)
    manifest_path = first.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["sources"][0]["sha256"] = "0" * 64  # as if the article changed after the build
    manifest[storage.MANIFEST_DIGEST] = storage.manifest_digest(manifest)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError):
        citeqa.Index.load(out)
    with caplog.at_level("WARNING", logger="citeqa"):
        rebuilt = index_module.open_default_index(out)
    assert rebuilt.path != first.path
    assert "rebuilding the default index" in caplog.text
    assert any("more than 20 times" in h.text for h in rebuilt.retrieve("How often has Erdogan been to Azerbaijan?", k=3))


def test_a_non_default_stale_index_is_not_rebuilt_silently(built, corpus):
    from citeqa import api as index_module

    out, _ = built
    (corpus / "a.txt").write_text("Changed.\n", encoding="utf-8")
    with pytest.raises(StaleIndexError):
        index_module.open_default_index(out)


def test_the_vector_index_is_asked_for_once_every_other_file_is_written(tmp_path, fake_embedder, monkeypatch):
    """The build writes the rest of a version while a thread finishes the FAISS index."""
    import faiss

    seen: list[set[str]] = []
    write_index = faiss.write_index

    def spy(index, path):  # the version's files present when the FAISS index is written
        seen.append({p.name for p in Path(path).parent.iterdir()})
        return write_index(index, path)

    monkeypatch.setattr(faiss, "write_index", spy)
    (tmp_path / "a.txt").write_text("The alpha team met in Oslo. They planned a bridge.\n", encoding="utf-8")
    index = citeqa.build_index([tmp_path / "a.txt"], tmp_path / "index", embedder=fake_embedder)
    assert len(seen) == 1
    assert {"embeddings.npy", "sentences.npy", "bm25", "bm25_paragraphs", "vocabulary.json"} <= seen[0]
    assert "manifest.json" not in seen[0]
    assert index.manifest["faiss_index"] == "IndexFlatIP"  # the manifest written after it names it
