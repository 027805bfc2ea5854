"""The workspace against a clumsy user and a restart mid-rebuild (issue #16 F1, F4, F5):
Unicode names kept, collisions renamed visibly, stable names, no rebuild per restart,
symbolic links ignored, start-up never waits for a rebuild, a failed one never silent."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from citeqa import LiveIndex, build_index
from citeqa.serve.workspace import FAILED_DIR, Library, Workspace, safe_document_name


@pytest.fixture(scope="module")
def files_base(tmp_path_factory, embedder) -> LiveIndex:
    """A base index built from files in a folder (not the shipped article)."""
    root = tmp_path_factory.mktemp("files-base")
    docs = root / "cli" / "docs"
    docs.mkdir(parents=True)
    (docs / "d1.md").write_text("The Norrby lighthouse was painted red in 1931.\n", encoding="utf-8")
    build_index([docs], root / "index", embedder=embedder)
    return LiveIndex(root / "index")


def _upload(tmp_path: Path, name: str, text: str | bytes, folder: str = "uploads") -> tuple[str, str]:
    where = tmp_path / folder
    where.mkdir(exist_ok=True)
    path = where / f"{len(list(where.iterdir()))}.bin"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return name, str(path)


def _ids(library: Library) -> set[str]:
    return {d.doc_id for d in library.get().documents}


# ---------------------------------------------------------------------- F4 names


@pytest.mark.parametrize(
    ("name", "expected"),
    [("日本.md", "日本.md"), ("re\u0301sume\u0301.md", "résumé.md"), ("rèsumè.md", "rèsumè.md"),
     ("Ελληνικά notes.txt", "Ελληνικά notes.txt"), ("evil\u202egnp.md", "evil_gnp.md"), ("tab\there.md", "tab_here.md")],
)
def test_unicode_names_are_kept_in_nfc_and_controls_replaced(name, expected):
    assert safe_document_name(name) == expected


def test_similar_names_and_same_name_twice_are_never_overwritten(files_base, embedder, tmp_path):
    library = Library(files_base, Workspace(tmp_path / "ws"), build_embedder=lambda model: embedder)
    change = library.add([
        _upload(tmp_path, "résumé.md", "Ada Quist studied glassmaking in Murano.\n"),
        _upload(tmp_path, "rèsumè.md", "Bo Lindqvist repaired clocks in Visby.\n"),
        _upload(tmp_path, "twin.md", "The first twin sails a green boat.\n"),
        _upload(tmp_path, "twin.md", "The second twin rides a yellow bicycle.\n"),
        _upload(tmp_path, "日本.md", "Kyoto has many old wooden temples.\n"),
    ])
    assert library.workspace.names() == sorted(["résumé.md", "rèsumè.md", "twin.md", "twin (2).md", "日本.md"])
    assert "added as twin (2).md" in change.message
    assert {"résumé.md", "rèsumè.md", "twin.md", "twin (2).md", "日本.md"} <= _ids(library)
    # a later upload of a taken name is renamed too; the same content again is skipped, visibly
    later = library.add([_upload(tmp_path, "twin.md", "A third twin plays the cello.\n")])
    assert "added as twin (3).md" in later.message and "twin (3).md" in _ids(library)
    again = library.add([_upload(tmp_path, "twin.md", "The first twin sails a green boat.\n")])
    assert "same content" in again.message and len(library.workspace.names()) == 6
    answer = library.get().answer("What does the second twin ride?")
    assert answer.citations[0].doc_id == "twin (2).md"


# ---------------------------------------------------------------------- F5 stable names, no rebuild per restart, symlinks


def test_base_documents_keep_their_names_and_a_restart_does_not_rebuild(files_base, embedder, tmp_path):
    library = Library(files_base, Workspace(tmp_path / "ws"), build_embedder=lambda model: embedder)
    library.add([_upload(tmp_path, "up.md", "The ferry Solvik carries sixty cars.\n")])
    assert _ids(library) == {"d1.md", "up.md"}  # never cli/docs/d1.md or a server path
    version = library.get().path
    builds: list[str] = []

    def counting(model):  # type: ignore[no-untyped-def]
        builds.append(model)
        return embedder

    again = Library(LiveIndex(files_base.path), Workspace(tmp_path / "ws"), build_embedder=counting)
    assert again.wait(60) and builds == [] and again.get().path == version


def test_symlinks_in_documents_are_never_read(files_base, embedder, tmp_path):
    secret = tmp_path / "outside.md"
    secret.write_text("The vault code is 4471 and the backup key is under the mat.\n", encoding="utf-8")
    workspace = Workspace(tmp_path / "ws")
    workspace.documents_dir.mkdir(parents=True)
    (workspace.documents_dir / "leak.md").symlink_to(secret)
    library = Library(files_base, workspace, build_embedder=lambda model: embedder)
    library.add([_upload(tmp_path, "real.md", "Real notes about the harbour ferry timetable.\n")])
    assert "leak.md" not in workspace.names() and "leak.md" not in _ids(library)
    assert all("vault code" not in d.text for d in library.get().documents)
    assert workspace.read("leak.md") is None


# ---------------------------------------------------------------------- F1 start-up never waits for a rebuild


def test_start_up_serves_the_last_good_index_while_it_rebuilds_in_the_background(files_base, embedder, tmp_path):
    first = Library(files_base, Workspace(tmp_path / "ws"), build_embedder=lambda model: embedder)
    first.add([_upload(tmp_path, "a.md", "The Norrby ferry leaves at nine.\n")])
    good = first.get().path
    # a crash mid-upload: a document in documents/ that the index doesn't hold
    (tmp_path / "ws" / "documents" / "b.md").write_text("The Skarpa bridge opened in 1984.\n", encoding="utf-8")
    started, release = threading.Event(), threading.Event()

    class Held:
        model_name, backend, dim, space = embedder.model_name, embedder.backend, embedder.dim, embedder.space

        def encode(self, texts, **kwargs):  # type: ignore[no-untyped-def]
            started.set()
            assert release.wait(60)
            return embedder.encode(texts, **kwargs)

    t0 = time.monotonic()
    library = Library(LiveIndex(files_base.path), Workspace(tmp_path / "ws"), build_embedder=lambda model: Held())
    assert time.monotonic() - t0 < 5
    try:
        assert started.wait(60) and library.busy
        assert library.get().path == good and "b.md" not in _ids(library)
        states = {info.name: info.state for info in library.documents()}
        assert states["b.md"] == "being indexed" and states["a.md"] == ""
    finally:
        release.set()
    assert library.wait(120)
    assert "b.md" in _ids(library) and library.notice == ""


def test_a_failed_start_up_rebuild_sets_the_document_aside_and_says_so(files_base, embedder, tmp_path):
    first = Library(files_base, Workspace(tmp_path / "ws"), build_embedder=lambda model: embedder)
    first.add([_upload(tmp_path, "a.md", "The Norrby ferry leaves at nine.\n")])
    (tmp_path / "ws" / "documents" / "bad.md").write_bytes(bytes(range(128, 256)))  # text in no charset
    first.workspace.note_origins({"bad.md": "https://example.org/bad"})  # as if added by address
    library = Library(LiveIndex(files_base.path), Workspace(tmp_path / "ws"), build_embedder=lambda model: embedder)
    assert library.wait(120)
    assert "bad.md" not in library.workspace.names()
    assert library.workspace.origins() == {}  # a later bad.md will not have come from there
    assert (tmp_path / "ws" / "documents" / FAILED_DIR / "bad.md").is_file()
    assert "bad.md" in library.notice and "not UTF-8" in library.notice and "upload it again" in library.notice
    assert _ids(library) == {"d1.md", "a.md"}


# ---------------------------------------------------------------------- F8 disk full during an upload's rebuild


def test_a_full_disk_during_an_upload_says_so_and_leaves_nothing_behind(files_base, embedder, tmp_path, monkeypatch):
    import errno

    from citeqa import store as storage
    from citeqa.errors import StorageError

    library = Library(files_base, Workspace(tmp_path / "ws"), build_embedder=lambda model: embedder)
    serving = library.get()

    def no_space(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.write, "_save_npy", no_space)
    with pytest.raises(StorageError, match="no space left on the disk holding .*; free space and rebuild"):
        library.add([_upload(tmp_path, "notes.md", "Notes about the Norrby ferry timetable.\n")])
    assert library.workspace.names() == [] and library.get() is serving
    assert not [p for p in (tmp_path / "ws").rglob(".tmp-*")]
