"""The chat's workspace builds its index exactly as `citeqa build` does."""

from __future__ import annotations

from pathlib import Path


def test_uploads_are_embedded_with_the_same_backend_as_citeqa_build(article_index, tmp_path: Path) -> None:
    from citeqa import LiveIndex
    from citeqa.embed import get_embedder
    from citeqa.serve.workspace import Library, Workspace

    upload = tmp_path / "uploads" / "harbor.md"
    upload.parent.mkdir()
    upload.write_text("The Hollis harbor opened in 1911 after four years of work.\n", encoding="utf-8")
    library = Library(LiveIndex(article_index.path.parent), Workspace(tmp_path / "ws"))  # the server's default embedder
    library.add([("harbor.md", str(upload))], lambda fraction, message: None)
    built = library.get().manifest
    default = get_embedder()  # what `citeqa build` uses when no backend is given
    assert (built["backend"], built["vector_space"]) == (default.backend, default.space)
    answer = library.get().answer("When did the Hollis harbor open?")
    assert not answer.abstained and answer.citations[0].doc_id == "harbor.md"
