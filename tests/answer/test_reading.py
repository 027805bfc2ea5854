"""Answers read in order, as pure logic: which rows an overview or a reading on cites, and how the answer reads."""

from __future__ import annotations

import pytest

from citeqa.answer.reading import OPENING_SENTENCES, following_rows, opening_rows, overview_answer, read_on_answer
from citeqa.schema import Hit


def test_one_document_opens_with_its_first_sentences_never_more_than_asked():
    counts = [2, 5, 4]  # rows 0-1, 2-6, 7-10
    assert opening_rows(counts, 1, 10) == [2, 3, 4][:OPENING_SENTENCES]
    assert opening_rows(counts, 1, 1) == [2]
    assert opening_rows(counts, 0, 10) == [0, 1]  # a short document: all it has
    assert opening_rows(counts, 2, 10) == [7, 8, 9]


def test_the_collection_opens_with_each_documents_first_sentence_skipping_empty_ones():
    counts = [2, 0, 5, 4]
    assert opening_rows(counts, None, 10) == [0, 2, 7]
    assert opening_rows(counts, None, 2) == [0, 2]


@pytest.mark.parametrize(("document", "limit", "message"), [(3, 3, "document must be in 0..2, got 3"), (-1, 3, "got -1"), (0, 0, "limit must be > 0, got 0")])
def test_a_bad_document_or_limit_names_the_value(document, limit, message):
    with pytest.raises(ValueError, match=message):
        opening_rows([1, 2, 3], document, limit)


def _hit(text: str, row: int) -> Hit:
    return Hit(text=text, score=0.5, doc_id="a.txt", sentence_id=row, start=0, end=len(text), context=text, context_start=0)


def test_an_overview_quotes_its_sentences_and_says_what_it_cites_without_a_confidence():
    hits = [_hit("Harbor news", 0), _hit("The harbor opened.", 1)]
    answer = overview_answer(hits, documents=1, opened="a.txt")
    assert answer.text == "Harbor news [1] The harbor opened. [2]"
    assert answer.interpreted_as == "an overview: the first 2 sentences of a.txt"
    assert answer.confidence is None and not answer.abstained and answer.citations == hits
    assert overview_answer(hits[:1], documents=1, opened="a.txt").interpreted_as == "an overview: the first sentence of a.txt"
    assert overview_answer(hits, documents=2, opened=None).interpreted_as == "an overview: the first sentence of each of the 2 documents"
    assert overview_answer(hits, documents=9, opened=None).interpreted_as == "an overview: the first sentence of 2 of the 9 documents"


def test_reading_on_cites_what_follows_the_last_cited_row_of_the_document():
    counts = [2, 5, 4]  # rows 0-1, 2-6, 7-10
    assert following_rows(counts, 1, [3, 2], 10) == [4, 5, 6]
    assert following_rows(counts, 1, [5], 10) == [6]  # the document ends there
    assert following_rows(counts, 1, [6], 10) == []
    assert following_rows(counts, 1, [3, 8], 1) == [4]  # a citation of another document is passed over
    assert following_rows(counts, 0, [8], 3) == []


def test_a_reading_on_answer_says_where_it_read_and_abstains_at_the_end():
    hits = [_hit("It can berth twelve ships.", 2)]
    answer = read_on_answer(hits, opened="a.txt")
    assert answer.text == "It can berth twelve ships. [1]" and answer.interpreted_as == "reading on: the next sentence of a.txt"
    assert answer.confidence is None and not answer.abstained
    ended = read_on_answer([], opened="a.txt")
    assert ended.abstained and ended.text == "The documents don't say more here: a.txt ends with the sentence last cited."
