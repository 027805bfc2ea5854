"""A follow-up is answered near what the previous answer cited (real model, real index of the shipped article)."""

from __future__ import annotations

from citeqa.search.fusion import NEAR_WINDOW


def _turns(index, question):
    answer = index.answer(question)
    return answer, [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def test_a_follow_up_brings_up_sentences_near_the_previous_answer(article_index):
    first, history = _turns(article_index, "What does SAT stand for?")
    cited = [c.sentence_id for c in first.citations]
    assert not first.abstained and cited
    # the previous answer is found again from the conversation alone (the client sends no ids)
    assert article_index._previous_citations(history).tolist() == cited
    query, near = article_index.rank_turn("What do they do?", history, 5)
    _, plain = article_index.rank_turn("What do they do?", history, 5, near_previous_answer=False)
    assert query != "What do they do?"  # resolved against the conversation
    close = {r for c in cited for r in range(c - NEAR_WINDOW, c + NEAR_WINDOW + 1)}
    near_ids, plain_ids = near.ids.tolist(), plain.ids.tolist()
    assert near_ids != plain_ids
    # more of the top 5 sit next to the cited sentence, and none of those fell
    assert len(close & set(near_ids)) > len(close & set(plain_ids))
    assert all(near_ids.index(r) <= plain_ids.index(r) for r in close & set(plain_ids))
    # the answer composed from the conversation cites one of them first
    assert article_index.answer("What do they do?", history).citations[0].sentence_id in close


def test_a_question_that_stands_alone_or_follows_an_unanswered_one_is_ranked_as_before(article_index):
    _, history = _turns(article_index, "What does SAT stand for?")
    # names its own subject: not a follow-up, so the conversation changes nothing
    _, alone = article_index.rank_turn("What does the declaration focus on?", history, 5)
    assert alone.ids.tolist() == article_index.rank("What does the declaration focus on?", 5).ids.tolist()
    # the previous question was not answered: nothing to look near
    unanswered, history = _turns(article_index, "What is the capital of Peru?")
    assert unanswered.abstained
    assert article_index._previous_citations(history).size == 0
    query, near = article_index.rank_turn("Who lives there?", history, 5)
    assert query != "Who lives there?"  # a follow-up all the same
    _, plain = article_index.rank_turn("Who lives there?", history, 5, near_previous_answer=False)
    assert near.ids.tolist() == plain.ids.tolist()


def test_a_junk_or_blank_previous_turn_gives_nothing_to_look_near(article_index):
    assert article_index._previous_citations([{"role": "user", "content": "   "}]).size == 0
    assert article_index._previous_citations([{"role": "assistant", "content": "hello"}]).size == 0
    assert article_index._previous_citations(None).size == 0
    long_turn = [{"role": "user", "content": "war " * 2000}]  # over the question length limit
    assert article_index._previous_citations(long_turn).size == 0
