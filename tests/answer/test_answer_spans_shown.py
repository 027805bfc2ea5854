"""What the chat underlines: only a span of the asked answer type, nothing when unsure
(question.shown_answer_spans, used by answer.compose.with_answer_spans)."""

from __future__ import annotations

import pytest

from citeqa.answer.compose import compose_answer
from citeqa.question import answer_spans, shown_answer_spans
from citeqa.schema import Hit

EXERCISE = (
    "Turkish and Azerbaijani militaries participate in joint military exercises in Lachin, "
    "Azerbaijan, Sept. 7, 2021. (AA Photo)"
)
RECIPE = "Mix 500 g of flour with 2 eggs and 300 ml of milk, then bake for 40 minutes at 180 degrees."
CRANE = "The new harbour crane lifts forty tonnes. It was built in Rotterdam in 2019."


def _shown(question: str, text: str) -> list[str]:
    return [text[s:e] for s, e in shown_answer_spans(question, text)]


def test_where_marks_places_not_a_photo_credit_or_demonyms():
    marked = _shown("Where did the joint exercise take place?", EXERCISE)
    assert marked == ["Lachin", "Azerbaijan"]
    assert "AA Photo" in [EXERCISE[s:e] for s, e in answer_spans("Where did it happen?", EXERCISE)]  # the lenient feature


def test_where_marks_nothing_when_no_name_stands_as_a_place():
    assert _shown("Where were the drills filmed?", "The drills were filmed by AA Photo staff and Reuters.") == []
    assert _shown("Where was the crane built?", CRANE) == ["Rotterdam"]


@pytest.mark.parametrize(
    "question,expected",
    [
        ("How much flour do I need?", ["500 g"]),
        ("How much milk goes in?", ["300 ml"]),
        ("How many eggs are used?", ["2 eggs"]),
        ("How long should it bake?", ["40 minutes"]),
    ],
)
def test_how_much_marks_only_the_quantity_of_the_asked_thing(question, expected):
    assert _shown(question, RECIPE) == expected


def test_count_without_a_named_thing_needs_a_unit_of_the_asked_measure_else_nothing():
    assert _shown("How much does the crane lift?", CRANE) == ["forty tonnes"]
    assert _shown("How much did it cost?", "The bridge cost $4.5 million and took 300 workers three years.") == ["$4.5 million"]
    assert _shown("What is the population of the town?", "The town has 12,000 inhabitants and 3 schools.") == []


def test_composed_answer_carries_the_strict_spans():
    hit = Hit(text=RECIPE, score=0.9, doc_id="r", sentence_id=0, start=0, end=len(RECIPE), context=RECIPE)
    result = compose_answer([hit], abstain=False, question="How much flour do I need?")
    assert [RECIPE[s:e] for s, e in result.citations[0].answer_spans] == ["500 g"]
