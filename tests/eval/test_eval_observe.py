"""The evaluation's cached corpus indexes (citeqa.eval.observe.corpus_index)."""

from __future__ import annotations

from pathlib import Path

from citeqa.eval.observe import corpus_index

DOCUMENTS = [
    ("rhine.txt", "The Rhine rises in the Swiss Alps.\nIts length is about 1,230 kilometres.\n"),
    ("danube.txt", "The Danube flows into the Black Sea.\n"),
]


def test_a_cached_index_of_another_vector_space_is_rebuilt_not_refused(tmp_path, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    """An embedder export bump leaves caches of the old space behind (the cross-encoder script's weight fit hit one)."""
    stale = corpus_index(DOCUMENTS, tmp_path, fake_embedder, lambda message: None)
    assert stale.embedder.space == fake_embedder.space
    said: list[str] = []
    index = corpus_index(DOCUMENTS, tmp_path, None, said.append)  # the product's embedder
    assert index.embedder.space != fake_embedder.space
    assert any("unusable" in line for line in said)
    assert index.retrieve("Which sea does the Danube flow into?", 1)[0].text == "The Danube flows into the Black Sea."


def test_cached_rankings_are_keyed_by_the_follow_up_and_tokenizer_code(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A change to index.py (follow-up searches) or text.py (query tokens) must not reuse old rankings."""
    import citeqa.index
    import citeqa.text
    from citeqa.eval.observe import code_version

    before = code_version()
    for number, module in enumerate((citeqa.index, citeqa.text)):
        edited = tmp_path / f"edited{number}.py"
        edited.write_text(Path(str(module.__file__)).read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        with monkeypatch.context() as patch:
            patch.setattr(module, "__file__", str(edited))
            assert code_version() != before, module.__name__
    assert code_version() == before
