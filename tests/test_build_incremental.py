"""Rebuilds re-embed only new or changed documents, drop deleted ones, and swap atomically."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa import Index, build_index


class CountingEmbedder:
    """The real embedder, recording what it is asked to embed."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.model_name, self.backend, self.dim = inner.model_name, inner.backend, inner.dim
        self.calls: list[list[str]] = []

    @property
    def space(self) -> str:
        return self._inner.space

    def encode(self, texts, **kwargs):
        self.calls.append(list(texts))
        return self._inner.encode(texts, **kwargs)


DOCS = {
    "alpha.txt": "Alpha Station\nThe alpha station opened in 1998. It measures wind speed on the ridge.\n",
    "beta.txt": "Beta Farm\nThe beta farm grows barley and oats. Its harvest starts in August.\n",
    "gamma.md": "# Gamma Bridge\n\nThe gamma bridge spans the river. It was repaired after the 2010 flood.\n",
}


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_rebuild_embeds_only_new_and_changed_documents(tmp_path, corpus, embedder):
    counting = CountingEmbedder(embedder)
    out = tmp_path / "idx"
    first = build_index([corpus], out, embedder=counting)
    assert sum(len(c) for c in counting.calls) == len(first) == 9

    (corpus / "beta.txt").write_text("Beta Farm\nThe beta farm now grows rye. Its harvest starts in July.\n", encoding="utf-8")
    (corpus / "gamma.md").unlink()
    (corpus / "delta.txt").write_text("Delta Port\nThe delta port handles grain ships.\n", encoding="utf-8")
    counting.calls.clear()
    second = build_index([corpus], out, embedder=counting)

    embedded = [t for call in counting.calls for t in call]
    # only the changed and the new document, each sentence read after its document's headline
    assert sorted(embedded) == sorted(
        [
            "Beta Farm", "Beta Farm: The beta farm now grows rye.", "Beta Farm: Its harvest starts in July.",
            "Delta Port", "Delta Port: The delta port handles grain ships.",
        ]
    )
    assert {d.doc_id for d in second.documents} == {"alpha.txt", "beta.txt", "delta.txt"}
    assert all("gamma" not in second.hit(r, 0).text for r in range(len(second)))
    assert second.path != first.path and Index.load(out).path == second.path


def test_incremental_rebuild_answers_like_a_full_rebuild(tmp_path, corpus, embedder):
    out = tmp_path / "idx"
    build_index([corpus], out, embedder=embedder)
    (corpus / "alpha.txt").write_text(DOCS["alpha.txt"] + "A new mast was added in 2020.\n", encoding="utf-8")
    incremental = build_index([corpus], out, embedder=embedder)
    full = build_index([corpus], tmp_path / "full", embedder=embedder, incremental=False)
    assert np.array_equal(np.asarray(incremental._stored.sentences), np.asarray(full._stored.sentences))
    for question in ("When did the station open?", "What does the farm grow?", "When was the bridge repaired?"):
        a, b = incremental.retrieve(question, k=3), full.retrieve(question, k=3)
        assert [(h.doc_id, h.start, h.end) for h in a] == [(h.doc_id, h.start, h.end) for h in b]
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=2e-3)


def test_another_model_re_embeds_everything(tmp_path, corpus, embedder, fake_embedder):
    out = tmp_path / "idx"
    build_index([corpus], out, embedder=fake_embedder)
    counting = CountingEmbedder(embedder)
    rebuilt = build_index([corpus], out, embedder=counting)
    assert sum(len(c) for c in counting.calls) == len(rebuilt)
    assert rebuilt.manifest["vector_space"] == embedder.space


def test_a_text_extracted_differently_under_the_same_extractor_version_is_segmented_again(tmp_path, corpus, embedder, monkeypatch):
    # an extraction change that forgot its version bump: the old offsets would cut the new text
    # (the Rust book's rebuild said "sentence offsets out of range" until the index was built --full)
    import dataclasses

    from citeqa.ingest import sources

    out = tmp_path / "idx"
    build_index([corpus], out, embedder=embedder)
    extract_file = sources._extract_file  # noqa: SLF001

    def longer(data, spec, max_bytes):  # type: ignore[no-untyped-def]
        extracted = extract_file(data, spec, max_bytes)
        return dataclasses.replace(extracted, text=extracted.text.replace("opened in 1998", "first opened its doors in 1998"))

    monkeypatch.setattr(sources, "_extract_file", longer)
    counting = CountingEmbedder(embedder)
    rebuilt = build_index([corpus], out, embedder=counting)
    embedded = [t for call in counting.calls for t in call]
    assert "Alpha Station: The alpha station first opened its doors in 1998." in embedded
    assert not any("Beta" in text for text in embedded)  # the others are reused
    reloaded = Index.load(out)
    hit = reloaded.retrieve("When did the alpha station open?", k=1)[0]
    assert hit.text == "The alpha station first opened its doors in 1998." and rebuilt.path == reloaded.path
