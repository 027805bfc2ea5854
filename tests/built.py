"""A real index (real model, FAISS, BM25) of a few hand-written documents, for tests that need their own."""

from __future__ import annotations


def index_of(tmp_path, embedder, documents):  # type: ignore[no-untyped-def]
    """A real index of ``{file name: text}`` built in ``tmp_path``."""
    from citeqa import build_index

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in documents.items():
        (docs / name).write_text(text, encoding="utf-8")
    return build_index([docs], tmp_path / "index", embedder=embedder)
