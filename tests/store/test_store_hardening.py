"""Index folders under attack or on a full disk (issue #16 F7, F8, F10): symbolic links are
never followed, pruning keeps the live and previous real versions, error messages never
echo a file's contents, a pruned version says "reload", a failed write cleans up."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import citeqa
from citeqa import store as storage
from citeqa.cli import main
from citeqa.errors import CorruptIndexError, IndexReplacedError, StorageError

SECRET = "root:x:0:0:SECRET-LINE-never-to-be-printed:/root:/bin/bash\n" * 20


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha ants build tall nests. They work all summer.\n", encoding="utf-8")
    (folder / "b.md").write_text("Beta bees make honey in June.\n", encoding="utf-8")
    return folder


def _build(corpus: Path, out: Path, embedder) -> citeqa.Index:  # type: ignore[no-untyped-def]
    return citeqa.build_index([corpus], out, embedder=embedder)


# ---------------------------------------------------------------------- F10: symbolic links, pointer content


def test_current_as_a_symlink_to_a_secret_file_is_refused_without_echoing_it(tmp_path, corpus, fake_embedder):
    out = tmp_path / "index"
    _build(corpus, out, fake_embedder)
    secret = tmp_path / "passwd"
    secret.write_text(SECRET, encoding="utf-8")
    (out / "CURRENT").unlink()
    (out / "CURRENT").symlink_to(secret)
    with pytest.raises(CorruptIndexError) as caught:
        citeqa.Index.load(out, embedder=fake_embedder)
    assert "SECRET-LINE" not in str(caught.value) and "root:x" not in str(caught.value)
    assert "symbolic link" in str(caught.value)


def test_a_pointer_holding_a_file_s_text_is_not_echoed(tmp_path, corpus, fake_embedder):
    out = tmp_path / "index"
    _build(corpus, out, fake_embedder)
    (out / "CURRENT").write_text(SECRET, encoding="utf-8")
    with pytest.raises(CorruptIndexError) as caught:
        citeqa.Index.load(out, embedder=fake_embedder)
    assert "SECRET-LINE" not in str(caught.value) and "does not hold a version name" in str(caught.value)


def test_current_naming_a_version_symlink_to_an_outside_index_is_refused(tmp_path, corpus, fake_embedder):
    out, outside = tmp_path / "index", tmp_path / "outside"
    _build(corpus, out, fake_embedder)
    other = _build(corpus, outside, fake_embedder)
    (out / "v-99999999T000000000000Z-evil").symlink_to(other.path)
    (out / "CURRENT").write_text("v-99999999T000000000000Z-evil\n", encoding="utf-8")
    with pytest.raises(CorruptIndexError, match="symbolic link"):
        citeqa.Index.load(out, embedder=fake_embedder)


def test_pruning_ignores_version_symlinks_and_keeps_the_previous_real_version(tmp_path, corpus, fake_embedder):
    out, outside = tmp_path / "index", tmp_path / "outside"
    first = _build(corpus, out, fake_embedder)
    target = _build(corpus, outside, fake_embedder).path
    link = out / "v-99999999T000000000000Z-evil"
    link.symlink_to(target)  # sorts after every real version
    second = _build(corpus, out, fake_embedder)
    assert first.path.is_dir(), "the previous real version was pruned"
    assert second.path.is_dir() and link.is_symlink() and (target / "manifest.json").is_file()
    assert link.name not in storage.list_versions(out)
    third = _build(corpus, out, fake_embedder)  # now the first one may go, the second stays
    assert not first.path.exists() and second.path.is_dir() and third.path.is_dir()
    assert (target / "manifest.json").is_file()


# ---------------------------------------------------------------------- F7: a held index whose version was pruned


def test_a_held_index_whose_version_was_pruned_says_reload(tmp_path, corpus, fake_embedder):
    out = tmp_path / "index"
    _build(corpus, out, fake_embedder)
    held = citeqa.Index.load(out, embedder=fake_embedder)
    _build(corpus, out, fake_embedder)
    _build(corpus, out, fake_embedder)  # the held version is pruned now
    assert not held.path.exists()
    with pytest.raises(IndexReplacedError) as caught:
        held.answer("What do the alpha ants build?")
    assert "reload" in str(caught.value) and "rebuild" not in str(caught.value)
    fresh = citeqa.Index.load(out, embedder=fake_embedder)
    assert fresh.answer("What do the alpha ants build?").citations


# ---------------------------------------------------------------------- F8: disk full while writing


def _no_space(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise OSError(errno.ENOSPC, "No space left on device")


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".tmp-"))


def test_disk_full_in_a_numpy_write_says_so_and_removes_the_half_written_version(tmp_path, corpus, fake_embedder, monkeypatch):
    out = tmp_path / "index"
    live = _build(corpus, out, fake_embedder).path.name
    monkeypatch.setattr(storage.write, "_save_npy", _no_space)
    with pytest.raises(StorageError) as caught:
        _build(corpus, out, fake_embedder)
    assert str(caught.value) == f"no space left on the disk holding {out}; free space and rebuild"
    assert _leftovers(out) == [] and (out / "CURRENT").read_text().strip() == live


def test_disk_full_inside_faiss_says_so_and_removes_the_half_written_version(tmp_path, corpus, fake_embedder, monkeypatch):
    import faiss

    out = tmp_path / "index"
    live = _build(corpus, out, fake_embedder).path.name

    def partial_write(index, path):  # type: ignore[no-untyped-def]
        Path(path).write_bytes(b"\0" * 1000)  # what FAISS leaves when the disk fills up
        raise RuntimeError(f"Error in faiss::FileIOWriter::operator(): write error in {path}: 1000 != 4096 (No space left on device)")

    monkeypatch.setattr(faiss, "write_index", partial_write)
    with pytest.raises(StorageError, match="no space left on the disk holding .*; free space and rebuild"):
        _build(corpus, out, fake_embedder)
    assert _leftovers(out) == [] and (out / "CURRENT").read_text().strip() == live


def test_cli_build_on_a_full_disk_prints_one_clear_line(tmp_path, corpus, monkeypatch, capsys):
    out = tmp_path / "index"
    monkeypatch.setattr(storage.write, "_save_npy", _no_space)
    code = main(["build", str(corpus), "--index", str(out), "--quiet", "--backend", "onnx-int8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [f"citeqa: error: no space left on the disk holding {out}; free space and rebuild"]
    assert _leftovers(out) == []


def test_other_os_errors_while_writing_name_the_folder_and_what_to_do(tmp_path, corpus, fake_embedder, monkeypatch):
    out = tmp_path / "index"

    def denied(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(storage.write, "_write_documents", denied)
    with pytest.raises(StorageError, match=r"could not write .*index \(Permission denied\); check the folder"):
        _build(corpus, out, fake_embedder)
    assert _leftovers(out) == [] and not (out / "CURRENT").exists()
    assert os.path.isdir(out) and not list(out.glob("v-*"))
