"""The "how long" questions of issue 11 (the shipped article, a three-sentence Rhine document) and times of day for "when".

"How long" asks for a duration or a length (:func:`citeqa.question.measure_kind`): the
sentence holding "44-day" / "1,230 kilometres" is the one with the asked-for answer type.
The Rhine's length sentence names no Rhine ("Its length ..."): the reranker feature
``window_coverage`` (the question's words in the sentence or the three before it) credits it
with the name. "How long did the war last?" still misses [1] (the
lexical match of "last" in "Ankara last year" wins): pinned as an expected failure so a fix
shows up.
"""

from __future__ import annotations

import pytest

RHINE = (
    "The Rhine is one of the major rivers of Europe.\n"
    "The Rhine rises in the Swiss Alps and flows into the North Sea.\n"
    "Its length is about 1,230 kilometres.\n"
)


@pytest.fixture(scope="module")
def rhine_index(index_of):
    return index_of("rhine.txt", RHINE)


def _ranked(index, question: str) -> list[str]:
    return [hit.text for hit in index.retrieve(question, 4)]


def test_how_long_was_the_war_cites_the_44_day_sentence_first(article_index):
    ranked = _ranked(article_index, "How long was the war?")
    assert "44-day" in ranked[0]


@pytest.mark.xfail(strict=True, reason="still missed: 'last' matches 'Ankara last year' lexically (issue 11)")
def test_how_long_did_the_war_last_cites_the_44_day_sentence_first(article_index):
    assert "44-day" in _ranked(article_index, "How long did the war last?")[0]


def test_how_long_did_the_war_last_has_the_44_day_sentence_in_the_top_three(article_index):
    assert any("44-day" in text for text in _ranked(article_index, "How long did the war last?")[:3])


def test_how_long_is_the_rhine_cites_the_length_sentence_first(rhine_index):
    assert _ranked(rhine_index, "How long is the Rhine?")[0] == "Its length is about 1,230 kilometres."


def test_who_questions_do_not_take_the_question_s_own_subject_as_the_answer():
    from citeqa.question import answer_spans

    text = "Boeing has unveiled its new long-distance 777 plane, replacing the Airbus A340 on the route."
    found = [text[s:e] for s, e in answer_spans("Who did Boeing replace?", text)]
    assert "Boeing" not in found and any("Airbus" in f for f in found)


TIMETABLE = (
    "Norrby harbour timetable\n\n"
    "The ferry to Norrby leaves at nine every morning. Tickets are sold on board and cost 40 kronor for adults.\n"
    "The return crossing departs from Norrby quay at 16:30. In winter the last boat back leaves at 3 p.m.\n"
)


@pytest.fixture(scope="module")
def timetable_index(index_of):
    return index_of("timetable.txt", TIMETABLE)


@pytest.mark.parametrize(
    ("question", "fragment"),
    [
        ("When does the ferry leave?", "at nine every morning"),
        ("When is the return crossing?", "16:30"),
        ("When does the last boat leave in winter?", "3 p.m."),
    ],
)
def test_a_time_of_day_answers_when(timetable_index, question, fragment):
    """A clock time or "at nine every morning" is the asked-for answer type: the sentence is cited, not refused."""
    answer = timetable_index.answer(question)
    assert not answer.abstained, answer.text
    first = answer.citations[0]
    assert fragment in first.text
    assert any(fragment in first.text[a:b] for a, b in first.answer_spans)  # and underlined as the answer
