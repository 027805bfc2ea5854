"""Answers read in the documents' order (real model, real index): "What is this article about?" by its opening, "Tell me more" by what follows."""

from __future__ import annotations

from importlib import resources

from built import index_of

ARTICLE = resources.files("citeqa").joinpath("data", "lachin-joint-exercise.txt")


def test_what_an_article_is_about_is_answered_by_its_opening_cited_to_its_characters(article_index):
    answer = article_index.answer("What is this article about?")
    assert not answer.abstained and answer.confidence is None
    assert answer.interpreted_as == "an overview: the first 3 sentences of lachin-joint-exercise.txt"
    text = ARTICLE.read_text(encoding="utf-8")
    assert [c.sentence_id for c in answer.citations] == [0, 1, 2]
    assert answer.citations[0].text == "Turkish, Azerbaijani militaries hold joint exercise in Lachin"
    for cited in answer.citations:
        assert text[cited.start : cited.end] == cited.text
    assert answer.text.startswith("Turkish, Azerbaijani militaries hold joint exercise in Lachin [1] ")
    assert len(article_index.answer("Summarize the document", max_citations=1).citations) == 1
    headline = article_index.answer("What is the headline?")
    assert [c.sentence_id for c in headline.citations] == [0]
    assert headline.interpreted_as == "an overview: the first sentence of lachin-joint-exercise.txt"


def test_a_question_about_something_in_the_article_is_still_searched(article_index):
    answer = article_index.answer("What does the Shusha Declaration focus on?")
    assert answer.interpreted_as == "What does the Shusha Declaration focus on?"
    assert "focuses on defense cooperation" in answer.citations[0].text


DOCUMENTS = {
    "harbour.txt": "Norrby harbour reopens\n\nThe harbour of Norrby reopened on Monday after two years of work. It can berth twelve ships.\n",
    "library.txt": "A new library for Norrby\n\nThe town library moves to the old customs house in May. It will hold 40,000 books.\n",
}


def test_a_collection_is_summed_up_by_each_documents_first_line_and_a_conversation_by_its_document(tmp_path, embedder):
    index = index_of(tmp_path, embedder, DOCUMENTS)
    whole = index.answer("What are these documents about?")
    assert [c.text for c in whole.citations] == ["Norrby harbour reopens", "A new library for Norrby"]
    assert whole.interpreted_as == "an overview: the first sentence of each of the 2 documents"
    # asked with no conversation, "this article" could be either: the collection's first lines
    assert [c.doc_id for c in index.answer("What is this article about?").citations] == ["harbour.txt", "library.txt"]
    assert [c.text for c in index.answer("What are the headlines?").citations] == ["Norrby harbour reopens", "A new library for Norrby"]
    # after a question answered from the library document, "this article" is that one
    first = index.answer("How many books will the library hold?")
    assert first.citations[0].doc_id == "library.txt"
    history = [{"role": "user", "content": "How many books will the library hold?"}, {"role": "assistant", "content": first.text}]
    answer = index.answer("What is this article about?", history)
    assert answer.interpreted_as == "an overview: the first 3 sentences of library.txt"
    assert [c.doc_id for c in answer.citations] == ["library.txt"] * 3
    assert [c.text for c in index.answer("What is the title?", history).citations] == ["A new library for Norrby"]
    # an index that did not answer those turns finds the same document by asking them again
    from citeqa import Index

    fresh = Index.load(index.path.parent, embedder=embedder)
    longer = history + [{"role": "user", "content": "What is this article about?"}, {"role": "assistant", "content": answer.text}]
    assert fresh.answer("Summarize it", longer).interpreted_as == "an overview: the first 3 sentences of library.txt"



def _asked(index, questions):
    """Ask ``questions`` in turn as one conversation; the answers."""
    history, answers = [], []
    for question in questions:
        answer = index.answer(question, history)
        answers.append(answer)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    return answers


def test_tell_me_more_reads_on_after_the_last_sentence_the_answer_cited(article_index):
    first, more, again = _asked(article_index, ["What does the Shusha Declaration focus on?", "Tell me more", "Go on"])
    last = max(hit.sentence_id for hit in first.citations)
    assert [hit.sentence_id for hit in more.citations] == [last + 1, last + 2, last + 3]
    assert more.interpreted_as == "reading on: the next 3 sentences of lachin-joint-exercise.txt"
    assert more.confidence is None and not more.abstained
    assert more.citations[0].text == "The declaration affirms joint efforts by the two armies in the face of foreign threats."
    assert [hit.sentence_id for hit in again.citations] == [last + 4]  # the article's last sentence
    ended = _asked(article_index, ["What does the Shusha Declaration focus on?", "Tell me more", "Go on", "What else?"])[-1]
    assert ended.abstained and ended.citations == []
    assert ended.text == "The documents don't say more here: lachin-joint-exercise.txt ends with the sentence last cited."


def test_reading_on_from_a_history_the_index_did_not_answer_answers_that_turn_again(tmp_path, embedder, article_index):
    from citeqa import Index

    fresh = Index.load(article_index.path.parent, embedder=embedder)
    history = [{"role": "user", "content": "What is this article about?"}, {"role": "assistant", "content": "..."}]
    assert [hit.sentence_id for hit in fresh.answer("Tell me more", history).citations] == [3, 4, 5]
    # with nothing before it there is nothing to read on from (it was searched as asked until 2026-12-06)
    alone = fresh.answer("Tell me more")
    assert alone.abstained and alone.interpreted_as == "reading on: no sentence cited before" and alone.confidence is None


def test_a_cited_sentence_ending_with_a_colon_brings_the_one_it_introduces(tmp_path, embedder):
    rules = (
        "Norrby harbour rules\n\n"
        "To book a berth for the night, send a text message to the harbour office in this form:\n\n"
        "BERTH NORRBY, then the length of the boat in metres and the nights wanted.\n\n"
        "Fishing boats moor at the north quay, pleasure craft at the south pontoon.\n"
    )
    index = index_of(tmp_path, embedder, {"rules.txt": rules})
    answer = index.answer("How do I book a berth for the night?")
    assert not answer.abstained
    first, second = answer.citations[:2]
    assert first.text.endswith("in this form:") and second.text.startswith("BERTH NORRBY")
    assert second.sentence_id == first.sentence_id + 1 and rules[second.start : second.end] == second.text
    assert len(index.answer("How do I book a berth for the night?", max_citations=1).citations) == 1


TOOLS = (
    "# Norrby harbour office\n\n"
    "The harbour office lends these tools to visiting boats:\n\n"
    "- a hose for fresh water\n"
    "- a trolley for luggage\n"
    "- a ladder for the north quay\n"
    "- a set of fenders\n\n"
    "The office opens at nine every morning and closes at six.\n"
)


def test_a_cited_sentence_introducing_a_list_brings_the_whole_list_and_a_caller_limit_holds(tmp_path, embedder):
    index = index_of(tmp_path, embedder, {"tools.md": TOOLS})
    answer = index.answer("What tools does the harbour office lend?")
    assert not answer.abstained
    first, *items = answer.citations
    assert first.text == "The harbour office lends these tools to visiting boats:"
    text = index.documents[0].text
    assert [text[hit.start : hit.end] for hit in items] == [hit.text for hit in items]
    assert [hit.sentence_id for hit in items] == list(range(first.sentence_id + 1, first.sentence_id + 5))
    assert [hit.text.lstrip("- ") for hit in items] == ["a hose for fresh water", "a trolley for luggage", "a ladder for the north quay", "a set of fenders"]
    # after the list, reading on goes on in the document; a caller's limit counts the items
    history = [{"role": "user", "content": "What tools does the harbour office lend?"}, {"role": "assistant", "content": answer.text}]
    assert index.answer("Tell me more", history).citations[0].text.startswith("The office opens at nine")
    assert [hit.sentence_id for hit in index.answer("What tools does the harbour office lend?", max_citations=2).citations] == [first.sentence_id, first.sentence_id + 1]


def test_a_list_whose_first_item_follows_the_colon_as_pdf_text_has_it_is_cited_whole(tmp_path, embedder):
    types = "\n\n".join(["• ENUMERATED;", "• BOOLEAN;", "• OBJECT IDENTIFIER;", "• NULL;"])
    manual = (
        "ASN.1 parser\n\n"
        f"Here is the list of types that the parser can manage: • INTEGER;\n\n{types}\n\n"
        "The parser also reads the definitions of a whole module from one file.\n"
    )
    index = index_of(tmp_path, embedder, {"manual.txt": manual})
    answer = index.answer("Which types can the parser manage?")
    assert not answer.abstained
    assert [hit.text for hit in answer.citations] == [
        "Here is the list of types that the parser can manage: • INTEGER;", "• ENUMERATED;", "• BOOLEAN;", "• OBJECT IDENTIFIER;", "• NULL;"
    ]
    assert all(manual[hit.start : hit.end] == hit.text for hit in answer.citations)


def test_reading_on_inside_a_list_cites_its_next_items_then_reads_on_as_before(tmp_path, embedder):
    fish = ["cod", "herring", "mackerel", "plaice", "salmon", "sprat", "trout", "turbot", "whiting", "pike", "perch", "eel", "zander", "bream", "carp", "roach"]
    market = (
        "Norrby fish market\n\nThe fish market on the quay sells these kinds of fish every Saturday:\n\n"
        + "\n".join(f"- {name}" for name in fish)
        + "\n\nThe market opens at six. Stalls are let by the season. The harbour office keeps the list of stall holders.\n"
    )
    index = index_of(tmp_path, embedder, {"market.md": market})
    asked = "What kinds of fish does the market sell?"
    answer = index.answer(asked)
    assert [hit.text for hit in answer.citations[1:]] == [f"- {name}" for name in fish[:10]]
    history = [{"role": "user", "content": asked}, {"role": "assistant", "content": answer.text}]
    more = index.answer("Tell me more", history)
    assert [hit.text for hit in more.citations] == [f"- {name}" for name in fish[10:]]
    assert more.interpreted_as == "reading on: the next 6 sentences of market.md"  # not 3: the rest of the list
    history += [{"role": "user", "content": "Tell me more"}, {"role": "assistant", "content": more.text}]
    after = index.answer("Tell me more", history)
    assert [hit.text for hit in after.citations] == ["The market opens at six.", "Stalls are let by the season.", "The harbour office keeps the list of stall holders."]


FERRY = (
    "# Norrby ferry\n\nThe Norrby ferry crosses to the mainland six times a day from the north quay.\n\n"
    "## What you may bring on board\n\n- bicycles and prams\n- dogs on a lead\n- up to two suitcases\n- fishing gear in a closed bag\n\n"
    "## Tickets\n\nTickets are sold at the quay office and on board. A return ticket costs 120 kronor.\n"
)


def test_a_list_item_under_a_heading_is_text_that_answers_not_a_heading_put_last(tmp_path, embedder):
    index = index_of(tmp_path, embedder, {"ferry.md": FERRY})
    answer = index.answer("Can I take my dog on the ferry?")
    assert answer.citations[0].text == "- dogs on a lead"
    assert not index.ranker.is_heading(answer.citations[0].sentence_id)
    headings = [hit.text for hit in index.retrieve("What may I bring on board?", k=10) if index.ranker.is_heading(hit.sentence_id)]
    assert sorted(headings) == ["Norrby ferry", "Tickets", "What you may bring on board"]
    assert len(answer.citations) == 1  # the item the question asks about, alone


def test_a_question_matching_a_lists_heading_is_answered_with_the_list(tmp_path, embedder):
    index = index_of(tmp_path, embedder, {"ferry.md": FERRY})
    answer = index.answer("What may I bring on board the ferry?")
    items = ["- bicycles and prams", "- dogs on a lead", "- up to two suitcases", "- fishing gear in a closed bag"]
    assert answer.citations[0].text in items
    assert sorted(hit.text for hit in answer.citations) == sorted(items)
    assert [hit.text for hit in answer.citations[1:]] == [item for item in items if item != answer.citations[0].text]  # in order
    text = index.documents[0].text
    assert all(text[hit.start : hit.end] == hit.text for hit in answer.citations)
    # a heading that ranks first heads a list: the list answers, not the best sentence elsewhere
    heading = next(row for row in range(len(index)) if index.ranker.text(row) == "What you may bring on board")
    assert [index.ranker.text(row) for row in index.ranker.answer_under(heading)] == items
    assert index.ranker.answer_under(next(row for row in range(len(index)) if index.ranker.text(row) == "Tickets")) is None
    passengers = index.answer("What can passengers bring on the Norrby ferry?")
    assert sorted(hit.text for hit in passengers.citations) == sorted(items)


def test_tell_me_more_with_nothing_cited_before_says_why_instead_of_guessing(article_index):
    """It ranked the words "tell me more" and listed unrelated closest passages."""
    first = article_index.answer("Tell me more")
    assert first.abstained and first.citations == []
    assert first.text == "There is nothing to read on from: ask a question about the documents first."
    asked = "Who won the 2018 World Cup?"
    missed = article_index.answer(asked)
    assert missed.abstained
    history = [{"role": "user", "content": asked}, {"role": "assistant", "content": missed.text}]
    after = article_index.answer("What else?", history)
    assert after.abstained and after.citations == []
    assert after.text.startswith("There is nothing to read on from: the last question was not answered")
    answered = "Where did the joint drill take place?"
    history = [{"role": "user", "content": answered}, {"role": "assistant", "content": article_index.answer(answered).text}]
    assert not article_index.answer("Tell me more", history).abstained  # after an answer it reads on as before
