"""Overviews as pure logic: which rows an overview cites, and how its answer reads."""

from __future__ import annotations

import pytest

from citeqa.answer.overview import OPENING_SENTENCES, opening_rows, overview_answer
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
