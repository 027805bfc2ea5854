"""The ranking stage reads only what a query needs: context built at index time, vectors of
candidate rows only — so memory and time per query don't grow with the corpus."""

from __future__ import annotations

import math
import threading
from collections import Counter

import numpy as np
import pytest

from built import NORRBY
from citeqa import Index, build_index
from citeqa.store.lexical import BM25Index, tokenize
from citeqa.build import context_arrays, group_means
from citeqa.search.ranker import Ranker
from citeqa.search.rerank import load_reranker
from citeqa.ingest.segment import paragraph_numbers



def _index_of(tmp_path, embedder, files: dict[str, str]):  # type: ignore[no-untyped-def]
    """An index of the given documents (name -> text), built in ``tmp_path``."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return build_index([folder], tmp_path / "idx", embedder=embedder)

def test_paragraph_numbers_restart_where_the_paragraph_or_document_changes() -> None:
    rows = np.array(
        [
            [0, 0, 5, 0],
            [0, 6, 9, 0],
            [0, 10, 12, 1],
            [1, 0, 4, 1],  # same paragraph id, new document: a new paragraph
            [1, 5, 8, 7],
        ]
    )
    assert paragraph_numbers(rows).tolist() == [0, 0, 1, 2, 3]
    assert paragraph_numbers(np.zeros((0, 4), dtype=np.int64)).shape == (0,)


def test_group_means_are_unit_means_of_contiguous_runs() -> None:
    vectors = np.array([[1, 0], [0, 1], [3, 4], [0, 0]], dtype=np.float32)
    means = group_means(vectors, np.array([0, 2, 3]))
    np.testing.assert_allclose(means[0], [math.sqrt(0.5), math.sqrt(0.5)], rtol=1e-6)
    np.testing.assert_allclose(means[1], [0.6, 0.8], rtol=1e-6)
    assert means[2].tolist() == [0.0, 0.0]  # a zero sum stays zero, no division by zero


def test_context_arrays_give_each_paragraph_and_document_its_own_row() -> None:
    rows = np.array([[0, 0, 3, 0], [0, 4, 7, 0], [0, 8, 9, 1], [2, 0, 3, 2]])
    tokens = [["drill"], ["lachin"], ["navy"], ["drill", "drill"]]
    vectors = np.eye(4, dtype=np.float32)
    texts = ["Drill one.", "In Lachin.", "Navy SEALs.", "Drill, drill."]
    context = context_arrays(rows, texts, tokens, vectors, documents=3)
    assert context.paragraph_bm25.size == 3
    assert context.paragraph_vectors.shape == (3, 4)
    assert context.document_vectors.shape == (3, 4)
    assert not context.document_vectors[1].any()  # document 1 has no sentences
    scores = context.paragraph_bm25.scores_of_tokens(["lachin"])
    assert scores.argmax() == 0 and scores[1] == scores[2] == 0
    assert "lachin" in context.vocabulary["words"] and "seals" in context.vocabulary["names"]


def test_idf_from_the_postings_equals_counting_words() -> None:
    texts = ["The drill began in Lachin.", "Navy divers joined the drill.", "Lachin, Lachin!", "Nothing here."]
    tokens = [tokenize(t) for t in texts]
    counts = Counter(t for words in tokens for t in set(words))
    idf = BM25Index.from_tokens(tokens).idf()
    n = len(texts)
    assert set(idf) == set(counts)
    for token, df in counts.items():
        assert idf[token] == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    assert idf.ceiling == pytest.approx(max(idf.values()))
    assert idf.get("absent-word") is None


class _CountingVectors:
    """A FAISS index proxy that records which rows the ranker reads back."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.read: list[int] = []

    def reconstruct_batch(self, rows):  # type: ignore[no-untyped-def]
        self.read.extend(int(r) for r in rows)
        return self.inner.reconstruct_batch(rows)

    def reconstruct_n(self, *args):  # type: ignore[no-untyped-def]
        raise AssertionError("the ranker must not read every vector")

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)


def test_ranking_reads_back_only_candidate_vectors(tmp_path, embedder) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for k in range(120):
        (folder / f"d{k:02d}.txt").write_text(
            f"Report {k}\n\nThe harbour of town {k} opened in {1900 + k}. Ships from port {k} carry grain.\n\n"
            f"Farmers of valley {k} grow wheat and barley. The mill of valley {k} grinds it.\n",
            encoding="utf-8",
        )
    index = build_index([folder], tmp_path / "idx", embedder=embedder)
    stored = index._stored  # noqa: SLF001 - the test inspects what the ranker reads
    counting = _CountingVectors(stored.vectors)
    ranker = Ranker(
        type(stored)(**{**stored.__dict__, "vectors": counting}),  # same index, counting proxy
        load_reranker(),
    )
    vector = embedder.encode(["When did the harbour of town 3 open?"])[0]
    ids, context = ranker.gather("When did the harbour of town 3 open?", vector)
    read = set(counting.read)
    assert set(ids.tolist()) <= read  # each candidate, its neighbours and its headline
    assert len(read) <= 4 * len(ids) < len(index)  # ... and nothing else
    best = int(ids[np.argmax(context.dense)])
    assert "town 3 opened" in ranker.text(best)


def test_ranker_evidence_matches_a_direct_computation(article_index, embedder) -> None:
    ranker = article_index.ranker
    question = "Which naval units took part?"
    vector = embedder.encode([question])[0]
    ids, context = ranker.gather(question, vector)
    stored = article_index._stored  # noqa: SLF001
    everything = stored.vectors.reconstruct_n(0, len(article_index))
    np.testing.assert_allclose(context.dense, everything[ids] @ vector, atol=1e-5)
    for row, paragraph_cosine in zip(ids[:5], context.paragraph_dense[:5]):
        members = list(ranker.paragraph_rows(int(row)))
        mean = everything[members].sum(axis=0)
        mean /= np.linalg.norm(mean)
        assert paragraph_cosine == pytest.approx(float(mean @ vector), abs=2e-3)  # stored as float16
        assert ranker.paragraph_text(int(row)).startswith(ranker.text(members[0]))
    assert ranker.title_text(int(ids[0])) == ranker.text(0)


def test_an_approximate_index_ranks_from_its_decoded_vectors(tmp_path, embedder, article_index) -> None:
    hnsw = build_index(None, tmp_path / "hnsw", embedder=embedder, index_type="hnsw-sq8")
    question = "How many times has Erdogan visited Azerbaijan?"
    exact = [h.text for h in article_index.retrieve(question, k=1)]
    approximate = [h.text for h in Index.load(tmp_path / "hnsw", embedder=embedder).retrieve(question, k=1)]
    assert hnsw.manifest["faiss"]["type"] == "hnsw-sq8"
    assert approximate == exact and "20 times" in exact[0]


def test_bm25_scores_equal_the_bm25s_reference() -> None:
    texts = ["The drill began in Lachin.", "Navy divers joined the drill drill.", "Lachin, Lachin!", "Nothing here."]
    index = BM25Index.from_tokens([tokenize(t) for t in texts])
    for query in ["drill in Lachin", "Lachin Lachin navy", "drill", "unknown words only"]:
        tokens = [t for t in tokenize(query) if t in index._model.vocab_dict]  # noqa: SLF001
        expected = index._model.get_scores(tokens) if tokens else np.zeros(len(texts))  # noqa: SLF001
        np.testing.assert_allclose(index.scores(query), expected, rtol=1e-6)


def test_ascii_fast_path_of_fold_agrees_with_the_full_fold() -> None:
    import string
    import unicodedata

    from citeqa.text import fold

    def full(text: str) -> str:  # the general path: decompose, drop accents, casefold
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()

    for text in [string.printable, "Erdogan visited Azerbaijan MORE than 20 Times", "it's 44-DAY war"]:
        assert text.isascii() and fold(text) == full(text)
    assert fold("ÉRDOĞAN Şuşa") == "erdogan susa"


def test_sentence_text_is_sliced_without_decoding_ascii_documents(tmp_path, fake_embedder) -> None:
    index = _index_of(tmp_path, fake_embedder, {"plain.txt": "Plain words here. Second sentence follows.\n", "accents.txt": "Erdoğan visited Baku. Şuşa was declared.\n"})
    table = index._stored.documents  # noqa: SLF001
    for row in range(len(index)):
        doc, start, end, _ = (int(x) for x in index._stored.sentences[row])  # noqa: SLF001
        assert table.text_slice(doc, start, end) == table[doc].text[start:end] == index.ranker.text(row)
    assert {index.ranker.text(r) for r in range(len(index))} >= {"Erdoğan visited Baku.", "Plain words here."}


def test_only_a_one_sentence_first_paragraph_counts_as_a_headline(tmp_path, fake_embedder) -> None:
    index = _index_of(tmp_path, fake_embedder, {"a-headline.txt": "Harbour reopens\n\nThe harbour opened. Ships came in.\n", "b-running.txt": "The mill opened in 1900. It grinds wheat.\n\nFarmers sell flour.\n", "c-one-line.txt": "Just one sentence here.\n"})
    ranker = index.ranker
    texts = [ranker.text(r) for r in range(len(index))]
    rows = np.arange(len(index))
    titles = ranker.title_rows(rows)
    headline = texts.index("Harbour reopens")
    assert [int(t) for t, text in zip(titles, texts) if text.startswith(("The harbour", "Ships"))] == [headline] * 2
    assert all(t == -1 for t, text in zip(titles, texts) if text.startswith(("The mill", "It grinds", "Farmers")))
    assert ranker.title_text(texts.index("Farmers sell flour.")) == ""
    one = texts.index("Just one sentence here.")
    assert titles[one] == one
    ids, context = ranker.gather("When did the mill open?", fake_embedder.encode(["When did the mill open?"])[0])
    mill = int(np.flatnonzero(ids == texts.index("The mill opened in 1900."))[0])
    assert context.title[mill] == 0.0 and context.title_dense[mill] == pytest.approx(context.document_dense[mill])


def test_sentence_texts_read_at_once_equal_each_read_alone(tmp_path, fake_embedder, monkeypatch) -> None:
    from citeqa.store import documents

    long_text = " ".join(f"Sentence number {i} mentions Gäncä." for i in range(40))
    index = _index_of(tmp_path, fake_embedder, {"plain.txt": "Plain words here. Second sentence follows.\n", "accents.txt": "Erdoğan visited Baku. Şuşa was declared. Then ships came.\n", "long.txt": long_text + "\n"})
    monkeypatch.setattr(documents, "SLICE_DECODE_BYTES", 200)  # long.txt goes through the decoded-document cache
    store = index.ranker.store
    rows = np.array([*range(len(index)), 0, len(index) - 1, 3], dtype=np.int64)  # repeats too
    assert store.texts(rows) == [index.ranker.text(int(r)) for r in rows]
    assert store.texts(np.zeros(0, dtype=np.int64)) == []
    assert "Erdoğan visited Baku." in store.texts(rows) and "Plain words here." in store.texts(rows)


def test_candidate_texts_read_many_at_once_equal_each_read_alone(tmp_path, fake_embedder, monkeypatch) -> None:
    from citeqa.store.local import SentenceTexts

    index = _index_of(tmp_path, fake_embedder, {"a.txt": "Erdoğan visited Baku. Şuşa was declared. Then ships came.\n", "b.txt": "Plain words here. Second one.\n"})
    store = index.ranker.store
    rows = np.arange(len(index), dtype=np.int64)[::-1]
    alone = [index.ranker.text(int(r)) for r in rows]
    texts = SentenceTexts(store, rows)
    reads = []
    texts_of = store.texts
    monkeypatch.setattr(store, "texts", lambda ids: (reads.append(len(ids)), texts_of(ids))[1])
    assert texts.many([3, 0, -1, 3]) == [alone[3], alone[0], alone[-1], alone[3]]
    assert reads == [3]  # the three distinct ones, in one read
    assert texts.many([0, 1]) == alone[:2] and reads == [3, 1]  # only the one not read yet
    assert [texts[i] for i in range(len(rows))] == alone and texts.many([]) == []
    with pytest.raises(IndexError, match="candidate position 99"):
        texts.many([0, 99])


def test_hits_read_at_once_carry_each_sentence_and_its_paragraph(tmp_path, fake_embedder) -> None:
    from citeqa.errors import InvalidArgumentError

    index = _index_of(tmp_path, fake_embedder, {"a.txt": "Harbour reopens\n\nThe harbour opened. Ships came in.\n\nFerries left at dawn.\n", "b.txt": "Erdoğan visited Baku. Şuşa was declared.\n"})
    spans = index.spans
    rows = [len(index) - 1, 0, 2, 2]
    hits = index.hits(np.array(rows), np.array([0.4, 0.3, 0.2, 0.1]))
    for hit, row, score in zip(hits, rows, [0.4, 0.3, 0.2, 0.1]):
        document = index.documents[int(spans[row, 0])]
        paragraph = [r for r in range(len(index)) if spans[r, 3] == spans[row, 3] and spans[r, 0] == spans[row, 0]]
        assert (hit.sentence_id, hit.score, hit.doc_id) == (row, pytest.approx(score), document.doc_id)
        assert (hit.start, hit.end, hit.text) == (spans[row, 1], spans[row, 2], index.ranker.text(row))
        assert hit.context_start == spans[paragraph[0], 1]
        assert hit.context == document.text[spans[paragraph[0], 1] : spans[paragraph[-1], 2]]
        assert hit == index.hit(row, score)
    assert index.hits([], []) == []
    with pytest.raises(InvalidArgumentError, match="got 99"):
        index.hits([0, 99], [0.5, 0.5])


def test_word_counts_stored_by_the_build_equal_counting_each_text(tmp_path, fake_embedder) -> None:
    import dataclasses

    from citeqa.store.local import LocalStore

    index = _index_of(tmp_path, fake_embedder, {
        "plain.txt": "Plain  words\there. Second sentence follows.\n\nA line of its own\n",
        "accents.txt": "Erdoğan visited Baku. The price\u00a0rose to 5 manat. Şuşa was declared.\n",
    })
    store = index.ranker.store
    rows = np.arange(len(index))
    texts = store.texts(rows)
    expected = [len(t.split()) for t in texts]
    assert store.stored.word_counts is not None and store.stored.word_counts.tolist() == expected
    # an index built before the file existed counts from the text: the same numbers
    older = LocalStore(dataclasses.replace(store.stored, word_counts=None))
    assert older.word_counts(rows).tolist() == expected
    assert older.word_counts(rows[::-1]).tolist() == expected[::-1]
    assert any("\u00a0" in t for t in texts) and any("\t" in t or "  " in t for t in texts)  # gaps split() counts as one
    question = "What did the price rise to?"
    ids, context = index.ranker.gather(question, fake_embedder.encode([question])[0])
    assert context.length.tolist() == [expected[int(i)] for i in ids]
    vector = fake_embedder.encode([question])[0]
    found = older.candidates(question, tokenize(question), vector, 5, 5)
    assert found.word_counts.tolist() == store.candidates(question, tokenize(question), vector, 5, 5).word_counts.tolist()
    assert list(found.texts) == store.texts(found.ids)  # read when asked for, the same texts


def test_an_hnsw_index_decodes_its_rows_as_reconstruct_does(tmp_path, embedder) -> None:
    build_index(None, tmp_path / "hnsw", embedder=embedder, index_type="hnsw-sq8")
    store = Index.load(tmp_path / "hnsw", embedder=embedder).ranker.store
    assert store._codes is not None  # the fast path is the one under test
    rows = np.array([0, 3, 3, len(store) - 1, 1], dtype=np.int64)
    decoded = store._reconstruct(rows)
    assert decoded.dtype == np.float32
    assert np.array_equal(decoded, store._vectors.reconstruct_batch(rows))  # bit for bit


def test_the_store_searches_bm25_on_its_thread_while_the_query_is_embedded(article_index, embedder, monkeypatch) -> None:
    from citeqa.store import local

    """Index.rank hands the store a function for the vector; the local store starts its BM25
    search on its own thread, then calls the function once on the caller's: the ranking
    equals one from the vector given."""
    index = Index.load(article_index.path, embedder=embedder, check_stale=False)
    store = index.ranker.store
    events: list[str] = []
    searched = store._bm25.sparse_scores
    monkeypatch.setattr(
        store._bm25, "sparse_scores", lambda tokens: (events.append(f"bm25 on {threading.current_thread().name}"), searched(tokens))[1]
    )
    encode = embedder.encode
    monkeypatch.setattr(
        embedder, "encode", lambda texts, **kw: (events.append(f"embed on {threading.current_thread().name}"), encode(texts, **kw))[1]
    )
    question = "Which countries took part in the exercise?"
    given = index.ranker.rank(question, encode([question])[0], 10)
    assert events == [f"bm25 on {threading.current_thread().name}"]  # a vector given: no thread
    events.clear()
    assert 0 < store._bm25.postings(tokenize(question)) < local.THREAD_MIN_POSTINGS
    assert index.rank(question, 10).ids.tolist() == given.ids.tolist()
    assert sorted(events) == [f"bm25 on {threading.current_thread().name}", f"embed on {threading.current_thread().name}"]
    events.clear()  # a small index searches its few postings on the caller's thread; a large one:
    monkeypatch.setattr(local, "THREAD_MIN_POSTINGS", 1)
    ranking = index.rank(question, 10)
    assert sorted(events) == ["bm25 on citeqa-bm25_0", f"embed on {threading.current_thread().name}"]
    assert ranking.ids.tolist() == given.ids.tolist() and ranking.scores.tolist() == given.scores.tolist()
    calls = []
    index.ranker.rank(question, lambda: (calls.append(1), encode([question])[0])[1], 10)
    assert calls == [1]  # called once, though ranking reads the vector again after the candidates
    for mode in ("dense", "rrf"):  # the baselines take a function too
        assert index.ranker.rank(question, lambda: encode([question])[0], 10, mode=mode).ids.tolist() == (
            index.ranker.rank(question, encode([question])[0], 10, mode=mode).ids.tolist()
        )


def test_a_numbered_heading_the_segmenter_cuts_in_two_still_goes_below_text(tmp_path, embedder) -> None:
    index = _index_of(tmp_path, embedder, {"manual.txt": (
        "Barrage gate manual\n\n"
        "2.2. Closing the gate in a storm\n\n"
        "In a storm the gate is closed from the control room, never from the quay.\n\n"
        "The time of closing goes in the storm book.\n"
    )})
    ranker = index.ranker
    heading = next(row for row in range(len(ranker)) if ranker.text(row) == "Closing the gate in a storm")
    assert [ranker.text(r) for r in ranker.store.paragraph_rows(heading)] == ["2.2.", "Closing the gate in a storm"]
    assert index.rank("How is the gate closed in a storm?", 4).ids[0] != heading
    answer = index.answer("How is the gate closed in a storm?")
    assert answer.citations[0].text == "In a storm the gate is closed from the control room, never from the quay."


def test_an_faq_question_goes_below_its_answer(tmp_path, embedder) -> None:
    # a question paragraph too long for a heading shares every word of the user's question
    question = "Where can I moor a boat longer than twelve metres when the north quay is full in August?"
    index = _index_of(tmp_path, embedder, {"faq.txt": (
        "Harbour FAQ\n\n"
        f"Q. {question}\n\n"
        "A. Use the south pontoon: it has room for eight large yachts.\n\n"
        "Q. Can I pay the harbour fee by card?\n\n"
        "A. Yes, at the machine by the harbour office.\n"
    )})
    faq_question = next(row for row in range(len(index.ranker)) if index.ranker.text(row) == f"Q. {question}")
    assert index.ranker.is_heading(faq_question)
    answer = index.answer(question)
    assert answer.citations[0].text == "A. Use the south pontoon: it has room for eight large yachts."


def test_headings_of_a_page_are_indexed_but_an_answer_cites_text_after_its_first_citation(tmp_path, embedder) -> None:
    # mdBook (the Rust book) writes each heading as a link to its own anchor
    def heading(level: int, words: str) -> str:
        anchor = words.lower().replace(" ", "-")
        return f"<h{level} id='{anchor}'><a class='header' href='#{anchor}'>{words}</a></h{level}>"

    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Tide types - The Harbour Book</title></head><body>"
        "<nav><a href='index.html'>Contents</a></nav><div id='content' class='content'><main>"
        f"{heading(1, 'Tide types')}"
        "<p>The harbour book sorts the tides of the estuary into two groups, which the pilots learn first.</p>"
        f"{heading(2, 'Spring tides')}"
        "<p>A spring tide is a tide with the largest range, and it comes twice a month at new and full moon.</p>"
        "<p>Spring tides flood the lower quay, so the harbour office closes it two hours before high water.</p>"
        f"{heading(2, 'Neap tides')}"
        "<p>A neap tide is a tide with the smallest range, a week after each spring tide.</p>"
        "<p>At neap tides the larger ferries cannot leave the inner basin at low water.</p>"
        "</main></div></body></html>"
    )
    index = _index_of(tmp_path, embedder, {"tides.html": page})
    texts = [index.ranker.text(row) for row in range(len(index.ranker))]
    assert {"Spring tides", "Neap tides"} <= set(texts)  # the headings are text of the page
    answer = index.answer("What is a spring tide?", max_citations=3)
    assert not answer.abstained
    assert answer.citations[0].text.startswith("A spring tide is a tide with the largest range")
    assert all(not index.ranker.is_heading(hit.sentence_id) for hit in answer.citations), [h.text for h in answer.citations]
    ranked = [index.ranker.text(int(row)) for row in index.rank("What is a spring tide?", 8).ids]
    assert "Spring tides" in ranked  # ranked, just not cited


def test_the_answer_to_an_faq_question_is_cited_from_the_text_under_it(tmp_path, embedder) -> None:
    # R's FAQ: "What is the difference between package and library?" cited a sentence from
    # elsewhere that names both; the answer is under the question that asks it
    index = _index_of(tmp_path, embedder, {"faq.txt": (
        "Harbour FAQ\n\n"
        "1.1 Which berths are there?\n\n"
        "1.2 What is the difference between a berth and a mooring?\n\n"
        "1 Berths\n\n"
        "Every berth and every mooring of the harbour is listed on the board by the office.\n\n"
        "1.1 Which berths are there?\n\n"
        "There are forty berths on the north quay and twelve on the south pontoon.\n\n"
        "1.2 What is the difference between a berth and a mooring?\n\n"
        "A berth is a place at a quay or pontoon, reached on foot. "
        "A mooring is a buoy in the basin, reached by dinghy.\n\n"
        "1.3 Can I pay by card?\n\n"
        "Yes, at the machine by the harbour office.\n"
    )})
    ranker = index.ranker
    question = next(row for row in range(len(ranker)) if ranker.text(row) == "1.2 What is the difference between a berth and a mooring?" and row > 5)
    under = ranker.answer_under(question)
    assert [ranker.text(row) for row in under] == ["A berth is a place at a quay or pontoon, reached on foot.", "A mooring is a buoy in the basin, reached by dinghy."]
    # the contents' copy of the question heads only other headings: its answer is under the question asked again
    copy = next(row for row in range(len(ranker)) if ranker.text(row) == "1.2 What is the difference between a berth and a mooring?")
    assert copy < question and ranker.answer_under(copy) == under
    # "Which berths are there?" is asked again too, with its own answer
    berths = next(row for row in range(len(ranker)) if ranker.text(row) == "1.1 Which berths are there?")
    assert [ranker.text(row) for row in ranker.answer_under(berths)] == ["There are forty berths on the north quay and twelve on the south pontoon."]
    # a heading that asks nothing has no answer under it
    assert ranker.answer_under(next(row for row in range(len(ranker)) if ranker.text(row) == "1 Berths")) is None
    answer = index.answer("What is the difference between a berth and a mooring?")
    assert answer.citations[0].text in {ranker.text(row) for row in under}


MANUAL = (
    "Working with tables\n\n"
    "6.2 Lists\n\n"
    "A list is an ordered collection of values of any type.\n\n"
    "6.3 Data frames\n\n"
    "A data frame is a list of columns of equal length, printed as a table.\n\n"
    "Data frames print row by row. Data frames can be sorted, filtered and joined; data frames read from "
    "files keep their column names.\n"
)


def test_what_is_x_cites_the_first_sentence_under_the_title_or_heading_naming_x(tmp_path, embedder) -> None:
    # a Wikipedia-style lead ("Warsaw (Polish: ...) is the capital ...") ranked 6th for "What is Warsaw?"
    # under shorter sentences saying "Warsaw" more often
    index = _index_of(tmp_path, embedder, {"norrby.txt": NORRBY, "tables.txt": MANUAL})
    lead = "is the largest town on the island of Hollis"
    for question in ("What is Norrby?", "what is norrby", "Where is Norrby?", "What is a data frame?", "What are data frames?"):
        first = index.retrieve(question, k=3)[0].text
        if question.startswith("Where"):  # asks for a place, not the topic as a whole: ranked as before
            assert index.ranker.topic_lead(question, np.arange(len(index))) is None
        elif "Norrby" in question or "norrby" in question:
            assert lead in first, (question, first)
        else:
            assert first == "A data frame is a list of columns of equal length, printed as a table.", (question, first)
    assert index.answer("What is Norrby?").citations[0].text.startswith("Norrby (Swedish pronunciation")
    # a heading naming something else is no topic's ("What is a list?" has its own section)
    assert index.retrieve("What is a list?", k=1)[0].text == "A list is an ordered collection of values of any type."
