"""Overview questions ("What is this article about?") answered by the documents' openings (real model, real index)."""

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


def test_an_abstention_offers_the_question_respelled_with_the_documents_words(article_index):
    answer = article_index.answer("who is turky's presdent")
    assert answer.abstained
    assert answer.text.splitlines()[0] == "The documents don't seem to answer this question. Did you mean: who is turkey's president"
    unknown = article_index.answer("Who won the World Cup in 2018?")
    assert unknown.abstained and unknown.text.splitlines()[0] == "The documents don't seem to answer this question."
