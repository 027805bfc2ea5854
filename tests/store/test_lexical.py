"""The word index read without tokenizing sentences: sparse BM25 scores and which query words a sentence holds."""

from __future__ import annotations

import numpy as np

from citeqa.search.features import (
    MIN_PREFIX,
    loose_coverages,
    presence_coverages,
    stems_match,
    weighted_coverage,
)
from citeqa.store.lexical import BM25Index, score_lookup
from citeqa.text import tokenize

TEXTS = [
    "The occupation of the city began in 1920.",
    "Occupied towns were returned, and the occupiers left.",
    "Navy divers joined the drill drill.",
    "Representatives of the union represented workers.",
    "Nothing here.",
    "The representative occupied a seat.",
]
QUERIES = [
    "Who occupied the city?",
    "When did the occupation begin?",
    "drill navy representative",
    "union representation of workers",
    "unknown words only",
    "",
]


def _index() -> tuple[BM25Index, list[list[str]]]:
    tokens = [tokenize(t) for t in TEXTS]
    return BM25Index.from_tokens(tokens), tokens


def test_sparse_scores_equal_the_dense_scores_at_every_text() -> None:
    index, _ = _index()
    for query in QUERIES:
        dense = index.scores(query)
        held, scores = index.sparse_scores(tokenize(query))
        assert np.array_equal(held, np.flatnonzero(dense))
        np.testing.assert_array_equal(scores, dense[held])
        rows = np.arange(len(TEXTS))
        np.testing.assert_array_equal(score_lookup(held, scores, rows), dense)
        np.testing.assert_array_equal(index.scores_at(tokenize(query), rows[::-1]), dense[::-1])


def test_prefix_terms_are_the_words_stems_match_finds() -> None:
    index, tokens = _index()
    vocabulary = sorted({t for words in tokens for t in words})
    for query in ["occupi", "occup", "repres", "represent", "drill", "nav", "unknownword", "union"]:
        expected = sorted(t for t in vocabulary if (stems_match(query, t) if len(query) >= MIN_PREFIX else t == query))
        found = sorted(w for w in vocabulary if index.term_id(w) in index.prefix_terms(query, MIN_PREFIX))
        assert found == expected, query


def test_presence_gives_the_coverages_of_tokenized_texts() -> None:
    index, tokens = _index()
    idf = index.idf()
    rows = np.array([5, 0, 3, 1, 4], dtype=np.int64)
    for query in QUERIES:
        query_tokens = tokenize(query)
        distinct, held, near = index.presence(query_tokens, np.sort(rows), MIN_PREFIX)
        order = np.searchsorted(np.sort(rows), rows)
        exact = presence_coverages(distinct, held[order], idf)
        loose = presence_coverages(distinct, near[order], idf)
        texts_tokens = [tokens[r] for r in rows]
        np.testing.assert_allclose(exact, [weighted_coverage(query_tokens, t, idf) for t in texts_tokens], atol=1e-12)
        np.testing.assert_allclose(loose, loose_coverages(query_tokens, texts_tokens, idf), atol=1e-12)


def test_sparse_scores_of_words_few_texts_hold_equal_the_dense_scores(tmp_path) -> None:
    # 400 texts; the query words are each held by a few of them, so sparse_scores merges
    # the words' sorted postings instead of counting over every text
    rng = np.random.default_rng(4)
    rare = ["harbour", "ferry", "lighthouse", "anchor", "tide"]
    texts = []
    for i in range(400):
        words = [f"filler{i % 37}", f"common{i % 3}"]
        words += [w for w in rare if rng.random() < 0.04] * int(rng.integers(1, 3))
        texts.append(" ".join(words))
    BM25Index.build(texts).save(tmp_path)
    index = BM25Index.load(tmp_path, mmap=True)
    for key in ("data", "indices", "indptr"):  # plain arrays over the mapped files: no np.memmap slicing
        array = index._model.scores[key]
        assert type(array) is np.ndarray and not array.flags.owndata
    rows = rng.permutation(400)
    for query in ["harbour ferry", "tide tide anchor", "lighthouse harbour anchor ferry tide", "anchor unknownword"]:
        tokens = tokenize(query)
        dense = index.scores(query)
        held, scores = index.sparse_scores(tokens)
        assert 0 < held.shape[0] and held.shape[0] * 4 < index.size  # the merging path
        assert np.array_equal(held, np.flatnonzero(dense))
        np.testing.assert_array_equal(scores, dense[held])
        np.testing.assert_array_equal(index.scores_at(tokens, rows), dense[rows])
    assert index.scores_at(tokenize("unknownword"), rows).tolist() == [0.0] * 400


def test_postings_count_what_a_search_reads() -> None:
    index = BM25Index.build(["Ships sail at dawn.", "Ships dock.", "Planes fly at night.", "Dawn breaks."])
    tokens = tokenize("ships at dawn, ships")
    assert tokens == ["ship", "dawn", "ship"]
    assert index.postings(tokens) == 2 + 2 + 2  # a repeated word counts each time
    assert index.postings(["unknown"]) == 0 and index.postings([]) == 0
    held, _ = index.sparse_scores(["plane"])
    assert index.postings(["plane"]) == held.shape[0] == 1


def test_an_index_released_after_saving_reads_the_same_postings_from_its_files(tmp_path) -> None:
    index, _ = _index()
    before = {q: index.scores(q) for q in QUERIES}
    held = {key: np.array(index._model.scores[key]) for key in ("data", "indices", "indptr")}
    index.save(tmp_path, release=True)
    for key, array in held.items():
        mapped = index._model.scores[key]
        assert isinstance(mapped.base, np.memmap) and mapped.tobytes() == array.tobytes()
    for query, scores in before.items():
        assert index.scores(query).tobytes() == scores.tobytes()
    assert BM25Index.load(tmp_path).scores(QUERIES[0]).tobytes() == before[QUERIES[0]].tobytes()
