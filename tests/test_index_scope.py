"""Answers held to chosen documents (real model, real FAISS and BM25): ``answer(..., documents=[...])``."""

from __future__ import annotations

import numpy as np
import pytest

from built import index_of
from citeqa import InvalidArgumentError

#: Two licences that say the same things in other words, and a ferry page: a question both
#: licences answer is answered from the one chosen.
DOCUMENTS = {
    "apache.txt": "Apache licence\n\nYou may charge a fee for warranty support. "
    "Any patent licence ends on the date you start a patent lawsuit over the work.\n\n"
    "The notice file is for information only.\n",
    "mpl.txt": "Mozilla licence\n\nYou may charge a fee for support and for warranty. "
    "Your patent grants end if you start litigation claiming the software infringes a patent.\n\n"
    "The licence steward may publish new versions of this licence.\n",
    "ferry.txt": "Norrby ferry\n\nThe ferry crosses to the mainland every hour. A return ticket costs 40 crowns.\n",
}
PATENT = "What happens to my patent licence if I start a patent lawsuit?"


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    return index_of(tmp_path_factory.mktemp("scope"), embedder, DOCUMENTS)


def test_a_question_is_answered_only_from_the_documents_chosen_with_exact_offsets(index):
    everywhere = index.answer(PATENT)
    assert everywhere.citations[0].doc_id == "apache.txt"  # the closer wording wins when nothing is chosen
    held = index.answer(PATENT, documents=["mpl.txt"])
    assert not held.abstained
    assert {c.doc_id for c in held.citations} == {"mpl.txt"}
    assert "litigation" in held.citations[0].text
    assert everywhere.interpreted_as == PATENT and held.interpreted_as == PATENT + " (only in mpl.txt)"  # it says so
    text = DOCUMENTS["mpl.txt"]
    for cited in held.citations:
        assert text[cited.start : cited.end] == cited.text
    both = index.answer(PATENT, documents=["mpl.txt", "ferry.txt"])
    assert both.citations[0].doc_id == "mpl.txt" and {c.doc_id for c in both.citations} <= {"mpl.txt", "ferry.txt"}
    assert both.interpreted_as.endswith(" (only in ferry.txt and mpl.txt)")
    assert index.answer(PATENT, documents="mpl.txt").citations == held.citations  # one name alone
    hits = index.retrieve("Can I charge a fee?", 10, documents=["mpl.txt"])
    assert hits and {h.doc_id for h in hits} == {"mpl.txt"}
    assert len(index.retrieve("Can I charge a fee?", 10)) > len(hits)  # the other documents' sentences are left out
    for ranking in (index.rank("patent lawsuit", 5, documents=["mpl.txt"]), index.rank_turn("patent lawsuit", None, 5, documents=["mpl.txt"])[1]):
        assert {h.doc_id for h in index.hits(ranking.ids, ranking.scores)} == {"mpl.txt"}
    with pytest.raises(InvalidArgumentError, match="only the hybrid mode"):
        index.rank("patent lawsuit", 5, mode="bm25", documents=["mpl.txt"])


def test_a_question_the_chosen_documents_do_not_answer_is_abstained(index):
    assert not index.answer("How much is a return ticket?").abstained
    held = index.answer("How much is a return ticket?", documents=["apache.txt"])
    assert held.abstained
    assert {c.doc_id for c in held.citations} <= {"apache.txt"}


def test_a_name_only_the_other_documents_hold_is_a_name_the_choice_lacks(index, monkeypatch):
    # "Norrby" is in ferry.txt only: held to apache.txt the question is about something the
    # choice never mentions, however well the rest of it matches ("You may charge a fee ...")
    question = "What fee may Norrby charge for warranty support?"
    held = index.answer(question, documents=["apache.txt"])
    assert held.abstained and held.confidence < 0.1
    assert held.citations[0].text == "You may charge a fee for warranty support."  # still the closest passage
    assert index._vocabulary_within(None) is index.vocabulary
    apache = index._scope(["apache.txt"])
    chosen = index._vocabulary_within(apache)
    assert index._vocabulary_within(apache) is chosen  # read once per choice
    assert "charg" in chosen.stems and "norrbi" not in chosen.stems and "norrbi" in index.vocabulary.stems
    monkeypatch.setattr("citeqa.index.CHOSEN_WORDS_MAX_CHARS", 10)  # a choice too large to read: the index's words
    index._chosen_words.clear()
    assert index._vocabulary_within(index._scope(["mpl.txt"])) is index.vocabulary
    plain = index.answer("What fee may I charge for warranty support?", documents=["apache.txt"])
    assert not plain.abstained and plain.citations[0].text == held.citations[0].text


def test_follow_ups_reading_on_and_overviews_stay_in_the_chosen_documents(index):
    history = [{"role": "user", "content": PATENT}]
    first = index.answer(PATENT, documents=["mpl.txt"])
    history.append({"role": "assistant", "content": first.text})
    more = index.answer("Tell me more", history, documents=["mpl.txt"])
    assert more.citations and {c.doc_id for c in more.citations} == {"mpl.txt"}
    assert more.citations[0].sentence_id > first.citations[-1].sentence_id
    follow = index.answer("And for support?", history, documents=["mpl.txt"])
    assert {c.doc_id for c in follow.citations} == {"mpl.txt"}
    opening = index.answer("What is this document about?", documents=["ferry.txt"])
    assert [c.text for c in opening.citations][:1] == ["Norrby ferry"]
    firsts = index.answer("What are these documents about?", documents=["ferry.txt", "mpl.txt"])
    assert [c.text for c in firsts.citations] == ["Norrby ferry", "Mozilla licence"]  # in index order


def test_an_unknown_or_empty_choice_says_which_documents_there_are(index):
    with pytest.raises(InvalidArgumentError, match=r"no document named 'gpl\.txt' in this index; its documents are 'apache\.txt', 'ferry\.txt', 'mpl\.txt'"):
        index.answer(PATENT, documents=["gpl.txt"])
    with pytest.raises(InvalidArgumentError, match="at least one document"):
        index.retrieve(PATENT, documents=[])


def test_the_store_searches_only_the_chosen_rows_as_exact_search_over_them_would(index, monkeypatch):
    """Vector hits equal a brute-force search over the chosen document's stored vectors, by the
    exact path and by the whole-index search the store uses for large choices; BM25 hits are the
    reference scores of those rows."""
    from citeqa.store import local
    from citeqa.text import tokenize

    store = index.store
    counts = index.sentence_counts()
    first = sum(counts[d.doc_id] for d in index.documents[:1])
    number = [d.doc_id for d in index.documents].index("mpl.txt")
    starts = np.cumsum([0] + [counts[d.doc_id] for d in index.documents])
    rows = np.arange(starts[number], starts[number + 1])
    assert first >= 0 and rows.size >= 3
    query = "Who may publish new versions?"
    vector = index.embedder.encode([query])[0]
    reference = store._reconstruct(rows) @ vector
    expected = rows[np.argsort(-reference, kind="stable")][:2]
    exact = store.candidates(query, tokenize(query), vector, 2, 5, [number])
    assert list(exact.ids[:2]) == list(expected)
    assert set(exact.ids.tolist()) <= set(rows.tolist())
    assert all(exact.found[int(r)] == pytest.approx(float(reference[list(rows).index(r)]), abs=1e-5) for r in expected)
    monkeypatch.setattr(local, "EXACT_WITHIN", 0)  # a choice too large to score row by row
    searched = store.candidates(query, tokenize(query), vector, 2, 5, [number])
    assert list(searched.ids[:2]) == list(expected)
    bm25 = store.bm25_scores(query)
    matching = [int(r) for r in rows if bm25[r] > 0]
    lexical = [int(r) for r in exact.ids if exact.lexical[list(exact.ids).index(r)] > 0]
    assert sorted(lexical) == sorted(matching)
    for r in lexical:
        assert exact.lexical[list(exact.ids).index(r)] == pytest.approx(float(bm25[r]), rel=1e-5)


def test_documents_are_named_by_id_folder_or_pattern():
    from citeqa.index import named_documents

    numbers = {"notes/a.md": 0, "notes/b.md": 1, "report.pdf": 2, "notes-old.txt": 3}
    assert named_documents("report.pdf", numbers) == (2,)
    assert named_documents(["notes/", "report.pdf"], numbers) == (0, 1, 2)  # a folder: every document under it
    assert named_documents(["*.pdf", "notes/?.md"], numbers) == (0, 1, 2)
    assert named_documents(["notes/a.md", "notes/*"], numbers) == (0, 1)  # each document once
    with pytest.raises(InvalidArgumentError, match=r"no document named 'notes' in this index; its documents are 'notes-old.txt', 'notes/a.md'"):
        named_documents(["notes"], numbers)  # a name is exact: "notes" is no folder and no pattern
    with pytest.raises(InvalidArgumentError, match=r"no document named '\*\.docx'"):
        named_documents("*.docx", numbers)
    many = {f"d{i:02d}.txt": i for i in range(12)}
    with pytest.raises(InvalidArgumentError, match=r"'d09\.txt' and 2 more$"):
        named_documents(["x"], many)
