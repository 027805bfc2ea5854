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


#: A town article shaped as Wikipedia's: a title, a lead with a parenthesis, then sentences that say
#: "Norrby" more often than the lead does (for the "What is X?" rule: ``Ranker.topic_lead``).
NORRBY = (
    "Norrby\n\n"
    "Norrby (Swedish pronunciation: [ˈnɔ̌rːbyː]; see also other names) is the largest town on the island of Hollis "
    "and the seat of its council. It stands on the Kalv estuary, 40 kilometres from the mainland ferry port.\n\n"
    "Let this Norrby never change, the poet wrote in 1911. No one will ever see the Norrby I knew, he added later.\n\n"
    "Today Norrby is known for its harbour festival and its fish market. Norrby has two schools and a library.\n"
)
