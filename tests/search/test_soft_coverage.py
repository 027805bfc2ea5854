"""Soft coverage: question words matched to a sentence's words by the bundled model's word-piece vectors."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa import build_index
from citeqa.embed.wordpieces import WordPieces, piece_ids, word_pieces
from citeqa.search.candidates import soft_words
from citeqa.search.features import (
    SOFT_FLOOR,
    SOFT_FULL,
    soft_coverages,
)


def test_soft_coverages_weigh_each_query_word_by_its_best_match_in_each_text() -> None:
    weights = np.array([3.0, 1.0])  # query words "war", "last"
    # text 0 holds a word like "war" (0.35: half way from SOFT_FLOOR to SOFT_FULL) and "last" itself;
    # text 1 a word below the floor and one a little like "last"; text 2 no words at all
    similarity = np.array([[0.35, 0.0], [0.1, 1.0], [0.15, 0.1], [0.0, 0.3]])
    owner = np.array([0, 0, 1, 1])
    got = soft_coverages(weights, similarity, owner, 3)
    half = (0.35 - SOFT_FLOOR) / (SOFT_FULL - SOFT_FLOOR)
    assert got.tolist() == pytest.approx([(3.0 * half + 1.0) / 4.0, (1.0 * (0.3 - SOFT_FLOOR) / (SOFT_FULL - SOFT_FLOOR)) / 4.0, 0.0])
    assert soft_coverages(np.zeros(0), np.zeros((0, 0)), np.zeros(0), 2).tolist() == [0.0, 0.0]


def test_word_pieces_similarity_is_one_for_the_word_itself_and_zero_off_the_vocabulary() -> None:
    pieces = WordPieces(["war", "conflict", "banana", "##s"], np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0], [1.0, 1.0]]))
    got = pieces.similarity(["war", "zzyzx"], ["conflict", "banana", "war", "zzyzx", "qwerty"])
    assert np.allclose(got, [[0.6, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    ids = pieces.ids(["war", "zzyzx", "war", "qwerty", "zzyzx"])
    assert ids[0] == ids[2] == 0 and ids[1] == ids[4] < 0 and ids[3] < 0 and ids[3] != ids[1]
    assert np.array_equal(pieces.id_similarity(pieces.ids(["war", "zzyzx"]), pieces.ids(["conflict", "banana", "war", "zzyzx", "qwerty"])), got)
    with pytest.raises(ValueError, match="2 pieces but 1 vectors"):
        WordPieces(["a", "b"], np.ones((1, 2)))


def test_bundled_word_pieces_hold_paraphrases_closer_than_unrelated_words() -> None:
    pieces = word_pieces()
    assert pieces is word_pieces()  # read once per process
    war, goal = pieces.similarity(["war", "goal"], ["conflict", "aim", "banana"]).T
    assert war[0] > SOFT_FLOOR > war[2] and goal[1] > SOFT_FLOOR > goal[2]


def test_soft_words_drop_stop_words_single_letters_and_repeats() -> None:
    assert soft_words("The war, the WAR and a 44-day conflict.") == ("war", "44", "day", "conflict")


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("soft-docs")
    (folder / "conflict.txt").write_text(
        "The conflict ended after 44 days.\nBananas grow in warm places.\nThe war memorial was built in 1921.\n", encoding="utf-8"
    )
    return build_index([folder], tmp_path_factory.mktemp("soft-index"), embedder=embedder)


def test_a_sentence_with_a_paraphrase_gets_soft_but_no_exact_coverage(index, embedder) -> None:
    question = "When did the war end?"
    ids, context = index.ranker.gather(question, embedder.encode([question])[0])
    found = {index.ranker.text(int(r)): (c, s) for r, c, s in zip(ids, context.coverage, context.soft_coverage)}
    exact, soft = found["The conflict ended after 44 days."]
    assert soft > exact  # "end" is held exactly; "war" only as "conflict"
    assert found["Bananas grow in warm places."][1] < soft
    memorial = found["The war memorial was built in 1921."]
    assert memorial[1] >= memorial[0] > 0  # a word held exactly counts in full
    # the words of each sentence are kept for the next query: the same values again
    again = index.ranker.gather(question, embedder.encode([question])[0])[1].soft_coverage
    assert again.tolist() == pytest.approx(context.soft_coverage.tolist())


def test_candidate_soft_coverage_equals_matching_each_sentence_s_words_one_by_one(index, embedder) -> None:
    ranker = index.ranker
    question = "When did the war memorial conflict end?"
    ids, context = ranker.gather(question, embedder.encode([question])[0])
    asked = sorted(soft_words(question))
    texts = [ranker.text(int(r)) for r in ids]
    held = [soft_words(text) for text in texts]
    # the reference: every (sentence, word) pair compared by word, no ids, no cache
    similarity = np.concatenate([ranker.pieces.similarity(asked, list(words)) for words in held])
    owner = np.repeat(np.arange(len(texts)), [len(words) for words in held])
    weights = np.array([ranker.idf.get(w, max(ranker.idf.values())) for w in asked]) + 1e-9
    expected = soft_coverages(weights, similarity, owner, len(texts))
    assert context.soft_coverage.tolist() == pytest.approx(expected.tolist())
    assert ranker.soft_coverage(question, ids, texts).tolist() == pytest.approx(expected.tolist())  # words kept: same again


def test_the_build_stores_each_sentence_s_word_piece_ids(index) -> None:
    from citeqa.search.candidates import soft_word_ids

    store = index.ranker.store
    texts = store.texts(np.arange(len(index)))
    ids, counts = soft_word_ids(texts, word_pieces())
    assert store.stored.manifest["word_pieces"] == word_pieces().digest == piece_ids().digest  # vocab.txt alone names the same table
    assert np.array_equal(store.stored.pieces, ids) and np.array_equal(np.diff(store.stored.piece_offsets), counts)
    rows = np.array([2, 0, 2], dtype=np.int64)
    got = store.word_pieces(rows)
    expected = [word_pieces().ids(soft_words(texts[r])) for r in rows]
    assert got.counts.tolist() == [len(e) for e in expected] and np.array_equal(got.ids, np.concatenate(expected))


def test_soft_coverage_from_stored_ids_equals_reading_each_text(index, embedder) -> None:
    import dataclasses

    from citeqa.search.candidates import CandidateRetriever
    from citeqa.store.local import LocalStore

    question = "When did the war memorial conflict end?"
    vector = embedder.encode([question])[0]
    ids, context = index.ranker.gather(question, vector)
    stored = index.ranker.store.stored
    # an index built before the ids were stored, and one whose ids are of another table: read from the text
    older = CandidateRetriever(LocalStore(dataclasses.replace(stored, pieces=None, piece_offsets=None)))
    other = CandidateRetriever(LocalStore(dataclasses.replace(stored, manifest={**stored.manifest, "word_pieces": "another-table"})))
    for retriever in (older, other):
        again_ids, again = retriever.gather(question, vector)
        assert np.array_equal(again_ids, ids)
        assert again.soft_coverage.tolist() == context.soft_coverage.tolist()
    assert older.store.candidates(question, ["war"], vector, 3, 3).word_pieces is None
    assert index.ranker.store.candidates(question, ["war"], vector, 3, 3).word_pieces.table == word_pieces().digest  # read as stored


def test_word_ids_are_the_same_in_another_process() -> None:
    import subprocess
    import sys

    words = ["war", "zzyzxqq", "kilometres", "Şuşa"]
    code = "from citeqa.embed.wordpieces import word_pieces; import sys; print(word_pieces().ids(sys.argv[1:]).tolist())"
    there = subprocess.run([sys.executable, "-c", code, *words], capture_output=True, text=True, check=True).stdout
    here = word_pieces().ids(words)
    assert there.strip() == str(here.tolist()) and here.dtype == np.int32 and (here[1:2] < 0).all()


def test_soft_word_ids_equal_each_text_s_ids_also_where_folding_makes_more_words_than_characters() -> None:
    from citeqa.search.candidates import soft_word_ids

    pieces = piece_ids()
    # "⒑⒒⒓..." folds to "10.11.12...": more words than its length allows for unfolded text
    texts = ["\u2491\u2492\u2493\u2494\u2495\u2496", "The war, the WAR and a 44-day conflict.", "", "a b", "Şuşa was declared."]
    for chunk in (1, 2, 8):
        ids, counts = soft_word_ids(texts, pieces, chunk=chunk)
        expected = [pieces.ids(soft_words(text)) for text in texts]
        assert counts.tolist() == [len(e) for e in expected] and np.array_equal(ids, np.concatenate(expected))
    assert counts[0] == 6
