"""What the build embeds for each sentence: the sentence after its document's headline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citeqa.embed.passage import EMBEDDING_TEXT, embedding_texts, headline_rows

# rows: document number, start, end, paragraph id (a document's rows consecutive)
_ROWS = np.array(
    [
        [0, 0, 13, 0],  # "Super Bowl 50": a paragraph of its own, the headline
        [0, 15, 60, 1],
        [0, 61, 90, 1],
        [1, 0, 40, 2],  # a first sentence that shares its paragraph: no headline
        [1, 41, 80, 2],
        [2, 0, 31, 3],  # a one-sentence document: nothing to read it with
        [3, 0, 30, 4],  # "Boeing unveils new 777 aircraft"
        [3, 32, 90, 5],
    ]
)
_TEXTS = [
    "Super Bowl 50",
    "The game was played on February 7, 2016.",
    "The Broncos won.",
    "Ferries leave at noon.",
    "They return at six.",
    "A lone line.",
    "Boeing unveils new 777 aircraft",
    "US aircraft firm Boeing has unveiled its new long-distance 777 plane.",
]


def test_each_sentence_is_read_after_its_documents_headline_when_it_has_one() -> None:
    assert headline_rows(_ROWS).tolist() == [-1, 0, 0, -1, -1, -1, -1, 6]
    assert embedding_texts(_TEXTS, _ROWS) == [
        "Super Bowl 50",
        "Super Bowl 50: The game was played on February 7, 2016.",
        "Super Bowl 50: The Broncos won.",
        "Ferries leave at noon.",
        "They return at six.",
        "A lone line.",
        "Boeing unveils new 777 aircraft",
        "Boeing unveils new 777 aircraft: US aircraft firm Boeing has unveiled its new long-distance 777 plane.",
    ]


def test_a_long_one_sentence_first_paragraph_is_prose_not_a_headline() -> None:
    from citeqa.embed.passage import MAX_HEADLINE_WORDS

    rows = np.array([[0, 0, 10, 0], [0, 11, 20, 1]])
    long = " ".join(["word"] * (MAX_HEADLINE_WORDS + 1)) + "."
    assert embedding_texts([long, "Then this."], rows) == [long, "Then this."]
    short = " ".join(["word"] * MAX_HEADLINE_WORDS)
    assert embedding_texts([short, "Then this."], rows) == [short, f"{short}: Then this."]


def test_a_markdown_headings_marks_are_not_read_with_the_sentences() -> None:
    rows = np.array([[0, 0, 14, 0], [0, 16, 50, 1]])
    assert embedding_texts(["## Rhine facts", "The Rhine rises in the Swiss Alps."], rows) == [
        "## Rhine facts",
        "Rhine facts: The Rhine rises in the Swiss Alps.",
    ]


def test_one_document_at_a_time_gives_the_same_texts_as_all_at_once() -> None:
    # the local build embeds document by document, the Ray build all rows at once
    starts = [0, 3, 5, 6, 8]
    one_by_one = [t for a, b in zip(starts, starts[1:]) for t in embedding_texts(_TEXTS[a:b], _ROWS[a:b])]
    assert one_by_one == embedding_texts(_TEXTS, _ROWS)


def test_no_rows_and_mismatched_lengths() -> None:
    assert headline_rows(np.zeros((0, 4), dtype=np.int64)).shape == (0,)
    assert embedding_texts([], np.zeros((0, 4), dtype=np.int64)) == []
    with pytest.raises(ValueError, match="same length, got 1 and 2"):
        embedding_texts(["a"], _ROWS[:2])


def test_a_real_build_stores_each_sentence_vector_read_after_the_headline(article_index, embedder) -> None:
    assert article_index.manifest["embedding_text"] == EMBEDDING_TEXT
    headline = article_index.ranker.text(0)
    assert headline == "Turkish, Azerbaijani militaries hold joint exercise in Lachin"
    row = next(r for r in range(len(article_index)) if "more than 20 times" in article_index.ranker.text(r))
    sentence = article_index.ranker.text(row)
    stored = np.asarray(article_index.store.stored.embeddings()[row], dtype=np.float32)
    with_headline, alone = embedder.encode([f"{headline}: {sentence}", sentence])
    # int8 vectors move a little with the batch they are embedded in, so compare, not equate
    assert float(stored @ with_headline) > 0.98
    assert float(stored @ with_headline) > float(stored @ alone) + 0.02
    # the headline itself is embedded alone
    assert float(np.asarray(article_index.store.stored.embeddings()[0], dtype=np.float32) @ embedder.encode([headline])[0]) > 0.98


def test_an_index_of_sentences_embedded_alone_is_refused_and_its_vectors_not_reused(tmp_path, embedder, caplog) -> None:
    import citeqa
    from citeqa.errors import IncompatibleIndexError
    from citeqa import store as storage

    source = tmp_path / "rhine.txt"
    source.write_text("The Rhine\n\nThe Rhine rises in the Swiss Alps.\n\nIts length is about 1,230 kilometres.\n", encoding="utf-8")
    out = tmp_path / "index"
    first = citeqa.build_index([source], out, embedder=embedder)
    path = first.path / storage.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["embedding_text"]  # as citeqa before the headline was read with each sentence wrote it
    manifest[storage.MANIFEST_DIGEST] = storage.manifest_digest(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IncompatibleIndexError) as caught:
        citeqa.Index.load(out)
    message = str(caught.value)
    assert str(out) in message and "each sentence alone" in message and "citeqa build" in message
    with caplog.at_level("INFO", logger="citeqa"):
        rebuilt = citeqa.build_index([source], out, embedder=embedder)
    assert "embedded other texts for its sentences" in caplog.text
    assert rebuilt.manifest["embedding_text"] == EMBEDDING_TEXT
    assert rebuilt.retrieve("How long is the Rhine?", 1)[0].text == "Its length is about 1,230 kilometres."


def test_the_default_index_of_sentences_embedded_alone_rebuilds_itself(tmp_path, embedder, caplog) -> None:
    import citeqa
    from citeqa import api
    from citeqa import store as storage

    out = tmp_path / "default-index"
    first = citeqa.build_index(None, out, embedder=embedder)
    path = first.path / storage.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["embedding_text"]
    manifest[storage.MANIFEST_DIGEST] = storage.manifest_digest(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level("WARNING", logger="citeqa"):
        rebuilt = api.open_default_index(out)
    assert "rebuilding the default index" in caplog.text
    assert rebuilt.manifest["embedding_text"] == EMBEDDING_TEXT
