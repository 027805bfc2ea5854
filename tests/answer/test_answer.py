"""Answer composition and question checks: pure logic, hand-made hits."""

from __future__ import annotations

import pytest

from citeqa.answer.compose import compose_answer, select_citations
from citeqa.errors import InvalidArgumentError, InvalidQuestionError
from citeqa.question import clean_question, resolve_followup
from citeqa.schema import Hit


def make_hit(text: str, score: float, row: int) -> Hit:
    return Hit(text=text, score=score, doc_id="d", sentence_id=row, start=row * 100, end=row * 100 + len(text), context=text, context_start=row * 100)


HITS = [
    make_hit("The drill began on Monday.", 0.9, 0),
    make_hit("The drill began on Monday, officials said.", 0.89, 1),  # near-duplicate of the first
    make_hit("It ends on Friday.", 0.85, 2),
    make_hit("Cats sleep a lot.", 0.2, 3),
]


def test_answer_quotes_sentences_verbatim_with_markers_in_citation_order():
    answer = compose_answer(HITS, abstain=False, interpreted_as="q")
    assert not answer.abstained
    for number, hit in enumerate(answer.citations, 1):
        assert f"{hit.text} [{number}]" in answer.text


def test_near_duplicates_and_weak_hits_are_not_cited():
    chosen = select_citations(HITS)
    texts = [h.text for h in chosen]
    assert "The drill began on Monday, officials said." not in texts
    assert "Cats sleep a lot." not in texts
    assert texts[0] == "The drill began on Monday."


def test_abstention_lists_closest_passages_not_as_an_answer():
    answer = compose_answer(HITS, abstain=True)
    assert answer.abstained
    first_line, heading, *rest = answer.text.splitlines()
    assert "don't seem to answer" in first_line
    assert heading.startswith("Closest passages")
    assert rest == [f"[{i}] {h.text}" for i, h in enumerate(answer.citations, 1)]


def test_nothing_found_abstains_with_no_citations():
    answer = compose_answer([], abstain=False)
    assert answer.abstained and answer.citations == []


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "\u200b\u200f"])
def test_blank_questions_are_refused(question):
    with pytest.raises(InvalidQuestionError, match="blank"):
        clean_question(question)


def test_punctuation_only_question_is_refused():
    with pytest.raises(InvalidQuestionError, match="no letters or digits"):
        clean_question("???")


def test_control_and_format_characters_are_removed():
    assert clean_question("When\x00 did\u200b it\u202e start?\n") == "When did it start?"


def test_over_long_question_is_refused_with_its_length():
    with pytest.raises(InvalidQuestionError, match="too long .1,500 characters"):
        clean_question("a" * 1500)


def test_non_text_question_is_refused():
    with pytest.raises(InvalidQuestionError, match="must be text, got int"):
        clean_question(42)  # type: ignore[arg-type]


def test_followup_carries_the_previous_question_topic():
    history = [
        {"role": "user", "content": "What is the Shusha Declaration?"},
        {"role": "assistant", "content": "…"},
    ]
    query = resolve_followup("What does it focus on?", history)
    assert query.startswith("What does it focus on?")
    assert "shusha" in query and "declaration" in query


def test_standalone_question_is_searched_as_asked():
    history = [{"role": "user", "content": "What is the Shusha Declaration?"}]
    question = "How many settlements did Azerbaijan liberate in the conflict?"
    assert resolve_followup(question, history) == question


def test_malformed_history_is_refused():
    with pytest.raises(InvalidArgumentError, match="history"):
        resolve_followup("What about it?", "not a list")  # type: ignore[arg-type]
