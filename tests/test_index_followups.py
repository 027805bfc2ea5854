"""Follow-ups against a conversation, and questions that only look like one (real model, real index of the shipped article)."""

from __future__ import annotations

from built import index_of


def _turns(index, question):
    answer = index.answer(question)
    return answer, [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def test_a_follow_up_is_read_against_the_conversation_and_fused_with_itself_as_asked(article_index):
    _, history = _turns(article_index, "What does SAT stand for?")
    query, ranking = article_index.rank_turn("What do they do?", history, 5)
    assert query == "What do they do? (sat stand)"  # resolved against the conversation
    assert len(ranking) == 5
    answer = article_index.answer("What do they do?", history)
    assert answer.interpreted_as == query and "SAT" in answer.citations[0].text


def test_a_follow_up_asked_alone_misses_what_the_conversation_finds(article_index):
    question = "Who helped set it up?"
    assert "Turkish Navy" not in article_index.retrieve(question, k=1)[0].text
    _, history = _turns(article_index, "When was Azerbaijan's special naval warfare unit established?")
    answer = article_index.answer(question, history)
    assert "cooperation of the Turkish Navy" in answer.citations[0].text


def test_a_question_that_names_its_subject_is_ranked_as_alone_whatever_came_before(article_index):
    for before in ("What does SAT stand for?", "What is the capital of Peru?"):
        _, history = _turns(article_index, before)
        # a pronoun after the name it stands for, a one-word subject with its verb: not follow-ups
        for question in ("How many times has Erdogan visited Azerbaijan, and when was his last visit?", "What does Ankara do?"):
            query, ranking = article_index.rank_turn(question, history, 5)
            assert query == question
            assert ranking.ids.tolist() == article_index.rank(question, 5).ids.tolist()


def test_what_about_another_name_is_answered_for_that_name(tmp_path, embedder):
    # the PSP sentence names the DS too: carrying "psp" put it first
    index = index_of(tmp_path, embedder, {"handhelds.txt": (
        "Handheld consoles go on sale\n\n"
        "The PSP goes on sale in March with 24 games available, more than the DS had at its launch.\n\n"
        "The DS has sold well. About 15 games are available for the DS.\n"
    )})
    _, history = _turns(index, "How many games are available for the PSP?")
    answer = index.answer("What about the DS?", history)
    assert answer.interpreted_as == "What about the DS? (many games available)"
    assert answer.citations[0].text == "About 15 games are available for the DS."


def _two_documents(tmp_path, embedder):
    return index_of(tmp_path, embedder, {
        "oscars.txt": (
            "Oscars night in Hollywood\n\n"
            "Comedian Chris Rock, who hosted the ceremony for the first time, received a standing ovation.\n\n"
            "Million Dollar Baby won four awards, including best picture.\n"
        ),
        "grammys.txt": (
            "Grammys night in Los Angeles\n\n"
            "Jon Stewart had done it before: he hosted the Grammys in 2001 and 2002.\n\n"
            "Ray Charles won eight awards, including album of the year.\n"
        ),
    })


def test_a_short_follow_up_is_answered_from_the_previous_answers_document(tmp_path, embedder):
    index = _two_documents(tmp_path, embedder)
    first, history = _turns(index, "Who hosted the Oscars?")
    assert first.citations[0].doc_id == "oscars.txt"
    question = "Had he done it before?"
    # ranked without the conversation's document, the other one's sentence that says "done it before" wins
    _, anywhere, _ = index._rank_turn(question, history, 3, "hybrid", follow_turns=0)
    assert index.hits(anywhere.ids, anywhere.scores)[0].doc_id == "grammys.txt"
    answer = index.answer(question, history)
    assert answer.citations[0].text.startswith("Comedian Chris Rock, who hosted the ceremony for the first time")
    # the other document is still ranked, below
    _, ranking = index.rank_turn(question, history, 6)
    docs = [hit.doc_id for hit in index.hits(ranking.ids, ranking.scores)]
    assert "grammys.txt" in docs and docs == sorted(docs, key=lambda d: d != "oscars.txt")


def test_a_follow_up_takes_the_previous_turns_document_from_its_answer_without_ranking_it_again(tmp_path, embedder, monkeypatch):
    from citeqa import Index

    index = _two_documents(tmp_path, embedder)
    _, history = _turns(index, "Who hosted the Oscars?")
    asked = []
    real_rank = index._rank  # every ranking of a turn goes through it
    monkeypatch.setattr(index, "_rank", lambda query, *a, **k: asked.append(query) or real_rank(query, *a, **k))
    remembered = index.answer("Had he done it before?", history)
    assert asked == ["Had he done it before? (hosted oscars)", "Had he done it before?"]  # the follow-up alone
    # a fresh index of the same folder ranks the previous turn again, to the same answer
    fresh = Index.load(tmp_path / "index", embedder=embedder).answer("Had he done it before?", history)
    assert [c.sentence_id for c in fresh.citations] == [c.sentence_id for c in remembered.citations]
    assert remembered.citations[0].doc_id == "oscars.txt"


def test_a_third_turn_follows_the_document_the_second_was_answered_from(tmp_path, embedder):
    index = _two_documents(tmp_path, embedder)
    _, history = _turns(index, "Who hosted the Oscars?")
    second = index.answer("Had he done it before?", history)
    assert second.citations[0].doc_id == "oscars.txt"
    history += [{"role": "user", "content": "Had he done it before?"}, {"role": "assistant", "content": second.text}]
    # the second turn ranked alone again would have been the other document's "had done it before"
    _, alone, _ = index._rank_turn("Had he done it before?", history[:2], 1, "hybrid", follow_turns=0)
    assert index.hits(alone.ids, alone.scores)[0].doc_id == "grammys.txt"
    answer = index.answer("And what did it win?", history)
    assert answer.citations[0].doc_id == "oscars.txt"


def test_a_follow_up_of_an_unanswered_question_is_not_held_to_its_closest_passages_document(tmp_path, embedder):
    index = _two_documents(tmp_path, embedder)
    first, history = _turns(index, "Who wrote the novel War and Peace?")
    assert first.abstained
    question = "Had he done it before?"
    _, held = index.rank_turn(question, history, 6)
    _, free, _ = index._rank_turn(question, history, 6, "hybrid", follow_turns=0)
    assert held.ids.tolist() == free.ids.tolist()


def test_a_follow_up_that_names_something_new_is_not_held_to_the_previous_document(tmp_path, embedder):
    index = _two_documents(tmp_path, embedder)
    _, history = _turns(index, "Who hosted the Oscars?")
    answer = index.answer("And who hosted the Grammys?", history)
    assert answer.citations[0].doc_id == "grammys.txt"
