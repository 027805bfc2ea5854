"""Questions asked as requests ("Can you tell me ...", "Tell me about X") through Index.answer (real model and index)."""

from __future__ import annotations

import pytest

from built import NORRBY

# built.NORRBY with its poet saying "Let me tell you about this Norrby": a sentence that holds the
# request's own words, which "Tell me about Norrby" searched as asked would meet
TOWN = NORRBY.replace("Let this Norrby never change", "Let me tell you about this Norrby")


@pytest.fixture(scope="module")
def town(index_of):
    return index_of("norrby.txt", TOWN)


@pytest.mark.parametrize("request_", ["Tell me about Norrby", "Can you tell me about Norrby, please?", "What do you know about Norrby?", "Describe Norrby"])
def test_tell_me_about_x_is_answered_as_what_is_x(town, request_):
    answer = town.answer(request_)
    assert answer.interpreted_as == "What is Norrby?"  # shown in the chat and the CLI as what was searched
    assert answer.citations[0].text.startswith("Norrby (Swedish pronunciation"), answer.citations[0].text
    assert [h.sentence_id for h in answer.citations] == [h.sentence_id for h in town.answer("What is Norrby?").citations]
    assert town.retrieve(request_, k=1)[0].text.startswith("Norrby (Swedish pronunciation")


def test_a_request_with_a_question_inside_is_answered_as_that_question(town):
    answer = town.answer("Could you please tell me how many schools Norrby has?")
    assert answer.interpreted_as == "How many schools Norrby has?"
    assert "two schools" in answer.citations[0].text and not answer.abstained


def test_a_follow_up_after_a_request_keeps_its_subject(town):
    first = "Can you tell me about Norrby?"
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": town.answer(first).text}]
    answer = town.answer("How far is it from the ferry port?", history)
    assert answer.interpreted_as == "How far is it from the ferry port? (norrby)"
    assert "40 kilometres" in answer.citations[0].text


def test_the_shipped_article_answers_a_request_as_its_question(article_index):
    plain = article_index.answer("Where did the joint drill take place?")
    asked = article_index.answer("Can you tell me where the joint drill took place?")
    assert "Lachin" in asked.citations[0].text and not asked.abstained
    assert asked.citations[0].sentence_id == plain.citations[0].sentence_id
