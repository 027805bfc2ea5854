"""Headings go below text (citeqa.search.headings): pure functions on hand-made rankings."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.search.fusion import Ranking
from citeqa.search.headings import asks_a_question, headings_last, lead_first, looks_like_heading, text_first, topic_words


@pytest.mark.parametrize(
    "text",
    ["2.1 Opening the barrage gate", "What is Ownership?", "Index", "Turkish, Azerbaijani militaries hold joint exercise in Lachin", "asn1 create element",
     "2. Scope"],  # a numbered line may be a heading
)
def test_titles_and_headings_look_like_headings(text):
    assert looks_like_heading(text)


@pytest.mark.parametrize(
    "text",
    [
        "The gate rises slowly.",  # a sentence of text ends with a mark
        "He said: \"It will open.\"",
        "fn main() {",  # code
        "$ cargo run",
        "use std::collections::HashMap;",
        "To open the barrage gate, the keeper turns the red key and holds the green button for ten seconds and waits",  # too long
        "42",  # no letter
        "- dogs on a lead",  # a list's item: text that answers
        "* up to two suitcases",
        "◦ fishing gear in a closed bag",
    ],
)
def test_sentences_and_code_do_not(text):
    assert not looks_like_heading(text)


@pytest.mark.parametrize(
    "text",
    [
        'Q. I upgraded my system to the unstable distribution and now my /etc/issue says "trixie/sid". Should it not read "sid" or "unstable"?',
        "Can I moor at the north quay with a boat longer than twelve metres, or must I use the south pontoon instead?",
        '"Why would anyone sail in this weather?"',
    ],
)
def test_a_question_the_document_asks_is_one_whatever_its_length(text):
    assert asks_a_question(text) and not looks_like_heading(text)


@pytest.mark.parametrize(
    "text",
    [
        "Boats longer than twelve metres moor at the south pontoon.",
        '"Who would sail in this?" he asked.',
        "It may be the earliest design for the tiltrotor.[improper synthesis?]",  # a note's "?"
    ],
)
def test_text_that_ends_otherwise_asks_none(text):
    assert not asks_a_question(text)


def _ranking(ids):
    n = len(ids)
    return Ranking(np.array(ids), np.linspace(0.9, 0.1, n), np.linspace(0.8, 0.2, n), np.arange(n, 0, -1.0), np.linspace(0.7, 0.3, n))


def test_the_best_sentence_of_text_takes_a_headings_first_place_and_the_rest_keep_their_order():
    ranking = _ranking([7, 8, 3, 5])
    moved = text_first(ranking, lambda row: row in {7, 8})
    assert moved.ids.tolist() == [3, 7, 8, 5]
    # every column moves with its row
    for column in ("scores", "dense", "lexical", "cross"):
        before = dict(zip(ranking.ids.tolist(), getattr(ranking, column).tolist()))
        assert getattr(moved, column).tolist() == [before[row] for row in moved.ids.tolist()]


@pytest.mark.parametrize("headings", [set(), {3, 5}, {7, 8, 3, 5}])
def test_a_ranking_led_by_text_or_of_headings_only_is_kept(headings):
    ranking = _ranking([7, 8, 3, 5])
    assert text_first(ranking, lambda row: row in headings).ids.tolist() == [7, 8, 3, 5]


def test_every_heading_goes_after_the_text_and_each_part_keeps_its_order():
    ranking = _ranking([3, 7, 5, 8, 2])
    moved = headings_last(ranking, lambda row: row in {7, 8})
    assert moved.ids.tolist() == [3, 5, 2, 7, 8]
    for column in ("scores", "dense", "lexical", "cross"):
        before = dict(zip(ranking.ids.tolist(), getattr(ranking, column).tolist()))
        assert getattr(moved, column).tolist() == [before[row] for row in moved.ids.tolist()]


@pytest.mark.parametrize("headings", [set(), {2}, {3, 7, 5, 8, 2}])
def test_a_ranking_with_its_headings_already_last_or_of_headings_only_is_kept(headings):
    ranking = _ranking([3, 7, 5, 8, 2])
    assert headings_last(ranking, lambda row: row in headings).ids.tolist() == [3, 7, 5, 8, 2]


def test_a_question_headings_answer_is_the_best_ranked_sentence_under_it():
    # 7 asks a question; rows 20-24 are the text under it; 3 ranks above them but lies elsewhere
    ranking = _ranking([7, 3, 22, 21, 5])
    under = {7: range(20, 25)}
    moved = text_first(ranking, lambda row: row in {7}, under.get)
    assert moved.ids.tolist() == [22, 7, 3, 21, 5]
    # none of its text ranked, or a heading that asks nothing: the best text, as before
    assert text_first(_ranking([7, 3, 5]), lambda row: row in {7}, under.get).ids.tolist() == [3, 7, 5]
    assert text_first(ranking, lambda row: row in {7}, {}.get).ids.tolist() == [3, 7, 22, 21, 5]
    # the contents' copy of the question (6, nothing under it) ranks above the question itself
    under = {6: None, 7: range(20, 25)}
    assert text_first(_ranking([6, 7, 3, 22]), lambda row: row in {6, 7}, under.get).ids.tolist() == [22, 6, 7, 3]


@pytest.mark.parametrize(
    ("heading", "words"),
    [("6.3 Data frames", ("data", "frame")), ("Warsaw", ("warsaw",)), ("European Union law", ("european", "union", "law")), ("2 4", ())],
)
def test_a_heading_names_its_topic_without_its_section_number(heading, words):
    assert topic_words(heading) == words


def test_the_lead_s_best_ranked_sentence_goes_first_with_its_scores():
    ranking = _ranking([7, 3, 9, 12, 8])
    led = lead_first(ranking, range(8, 10))  # the lead paragraph is rows 8-9: 9 ranks above 8
    assert led.ids.tolist() == [9, 7, 3, 12, 8] and led.scores[0] == ranking.scores[2] and led.cross[0] == ranking.cross[2]
    assert lead_first(ranking, range(7, 8)) is ranking and lead_first(ranking, range(40, 42)) is ranking
    assert lead_first(ranking, None) is ranking
