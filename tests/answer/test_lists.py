"""Lists in answers (citeqa.answer.lists): what [1] introduces and the rest of a list the question asks for, on hand-made hits."""

from __future__ import annotations

import dataclasses

from citeqa.answer.compose import cites_what_it_introduces, compose_answer
from citeqa.answer.lists import (
    MAX_LIST_ITEMS,
    brought_along,
    introduced_count,
    list_under_heading,
)
from citeqa.schema import Hit

WAR = "During the 44-day conflict, which ended in a truce on Nov. 10, Azerbaijan liberated several cities."
VISITS = "During his presidency, President Recep Tayyip Erdoğan has visited Azerbaijan more than 20 times."


def _hit(text: str, score: float, row: int = 0) -> Hit:
    return Hit(text=text, score=score, doc_id="d", sentence_id=row, start=0, end=len(text), context=text, context_start=100 * row)


def _paragraphs(*texts: str) -> list[Hit]:
    """Hits of consecutive rows, each sentence a paragraph of its own."""
    return [Hit(text=t, score=0.0, doc_id="d", sentence_id=i, start=0, end=len(t), context=t, context_start=100 * i) for i, t in enumerate(texts)]


def _introduced(best: str, *following: str, limit: int = 10) -> int:
    first, *rest = _paragraphs(best, *following)
    return introduced_count(first, rest, limit)


ITEMS = ["• ENUMERATED;", "• BOOLEAN;", "• OBJECT IDENTIFIER;", "• NULL;"]


def test_a_list_is_introduced_whole_up_to_the_limit_and_ends_at_the_first_sentence_not_an_item() -> None:
    # a colon's list, its first item on a line of its own or (as PDF extraction may leave it) after the colon
    assert _introduced("The parser manages these types:", "• INTEGER;", *ITEMS, "It also reads DER.") == 5
    assert _introduced("Here is the list of types that the parser can manage: • INTEGER;", *ITEMS, "It also reads DER.") == 4
    assert _introduced("To install it:", "1. Download the archive.", "2. Unpack it.", "3) Run make.", "Then test.") == 3
    assert _introduced("The parser manages these types:", "• INTEGER;", *ITEMS, limit=2) == 2
    # a colon before a sentence that opens no list: that one sentence (a quotation, a command); no colon: nothing
    assert _introduced("He said:", '"We will win."', "• not his words") == 1
    assert _introduced("The parser manages many types.", "• INTEGER;", *ITEMS) == 0
    assert _introduced("Ratio: 3 to 1.", "- an item") == 0
    assert _introduced("The types:") == 0 and _introduced("The types:", *ITEMS, limit=0) == 0


def test_an_items_further_sentences_in_its_paragraph_belong_to_the_list() -> None:
    intro, free, anybody, thread, after = _paragraphs(
        "The main features of this library are:", "• It's Free Software.", "Anybody can use it.", "• Thread-safety.", "Chapter 2 starts here."
    )
    anybody = dataclasses.replace(anybody, context_start=free.context_start)  # the rest of the item's paragraph
    assert introduced_count(intro, [free, anybody, thread, after], 10) == 3
    assert introduced_count(intro, [free, dataclasses.replace(anybody, doc_id="other"), thread], 10) == 1


def test_a_list_after_the_best_sentence_is_cited_whole_before_the_others() -> None:
    intro = _hit("Here is the list of types that the parser can manage: • INTEGER;", 0.8, row=10)
    items = [_hit(text, 0.0, row=11 + i) for i, text in enumerate(ITEMS)]
    other = _hit(VISITS, 0.2, row=40)
    answer = compose_answer([intro, other], abstain=False, introduced=items)
    assert [hit.sentence_id for hit in answer.citations] == [10, 11, 12, 13, 14]
    assert answer.text.startswith(f"{intro.text} [1]\n• ENUMERATED; [2]\n• BOOLEAN; [3]")
    # a caller's own limit holds
    assert [h.sentence_id for h in cites_what_it_introduces([intro, other], items[:1], 2)] == [10, 11]
    assert MAX_LIST_ITEMS >= len(ITEMS)




def test_a_sentence_ending_otherwise_introduces_nothing() -> None:
    assert _introduced(WAR, VISITS, limit=3) == 0


FERRY = _paragraphs(
    "The Norrby ferry crosses to the mainland six times a day.", "What you may bring on board",
    "- bicycles and prams", "- dogs on a lead", "- up to two suitcases", "Tickets", "A return ticket costs 120 kronor.",
)
HEADINGS = {1, 5}


def _scored(row: int, score: float) -> Hit:
    return dataclasses.replace(FERRY[row], score=score)


def test_a_list_under_a_heading_the_question_matches_is_brought_along_in_order() -> None:
    best, heading = _scored(4, 0.3), _scored(1, 0.6)
    rest = list_under_heading(best, FERRY, [best, heading], HEADINGS.__contains__, 10)
    assert [hit.text for hit in rest] == ["- bicycles and prams", "- dogs on a lead"]
    assert [hit.sentence_id for hit in brought_along(best, FERRY, [best, heading], HEADINGS.__contains__, 10)] == [2, 3]
    assert len(list_under_heading(best, FERRY, [best, heading], HEADINGS.__contains__, 1)) == 1


def test_one_item_the_question_matches_better_than_the_heading_stands_alone() -> None:
    best = _scored(3, 0.9)
    assert list_under_heading(best, FERRY, [best, _scored(1, 0.01)], HEADINGS.__contains__, 10) == []
    assert list_under_heading(best, FERRY, [best], HEADINGS.__contains__, 10) == []  # the heading not ranked
    # no heading above the list (the line before is text), or no list at all
    assert list_under_heading(best, FERRY, [best, _scored(1, 0.95)], set().__contains__, 10) == []
    prose = _scored(6, 0.9)
    assert list_under_heading(prose, FERRY, [prose, _scored(5, 0.95)], HEADINGS.__contains__, 10) == []
    # the window does not reach the list's head
    assert list_under_heading(best, FERRY[2:], [best, _scored(1, 0.95)], HEADINGS.__contains__, 10) == []
