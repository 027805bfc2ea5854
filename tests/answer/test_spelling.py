"""Spelling hints: which words of a question are taken for typos of the documents' words."""

from __future__ import annotations

from citeqa.answer.focus import Vocabulary, WordList
from citeqa.answer.spelling import english_word, spelling_fix

VOCABULARY = Vocabulary.from_texts(["Turkey and Azerbaijan held a drill.", "The president visited Baku twice.", "The exercise ended in Lachin."])


def no_word(word: str) -> bool:
    return False


def test_a_word_the_documents_lack_is_mended_to_the_one_they_write_a_typo_away():
    assert spelling_fix("who is turky's presdent", VOCABULARY, no_word) == "who is turkey's president"
    assert spelling_fix("When did the excercise end?", VOCABULARY, no_word) == "When did the exercise end?"
    assert spelling_fix("Turky?", VOCABULARY, no_word) == "Turkey?"  # the capital kept


def test_nothing_is_offered_for_words_the_documents_hold_english_words_or_far_words():
    assert spelling_fix("Who visited Baku?", VOCABULARY, no_word) is None
    assert spelling_fix("How many visits?", VOCABULARY, no_word) is None  # "visits": the stem of "visited"
    assert spelling_fix("Who is Turkey's presdent?", VOCABULARY, lambda w: w == "presdent") is None  # taken for a real word
    assert spelling_fix("What is the capital of Peru?", VOCABULARY, no_word) is None  # nothing a typo away
    assert spelling_fix("Is it 2021?", VOCABULARY, no_word) is None


def test_the_nearest_word_must_be_the_only_one_that_near():
    words = WordList.of(["baker", "bakes", "lachin"])
    assert words.nearest("lachn") == "lachin"
    assert words.nearest("bakez") is None  # "baker" and "bakes" both one edit away
    assert words.nearest("akes") is None  # a typo in the first letter is not forgiven
    assert words.nearest("lac") is None  # too short to forgive any


def test_the_english_word_list_knows_words_and_not_typos():
    assert english_word("president") and english_word("capital") and english_word("quantify")
    assert not english_word("presdent") and not english_word("turky")


def test_an_abstention_offers_the_question_respelled_with_the_documents_words(article_index):
    answer = article_index.answer("who is turky's presdent")
    assert answer.abstained
    assert answer.text.splitlines()[0] == "The documents don't seem to answer this question. Did you mean: who is turkey's president"
    unknown = article_index.answer("Who won the World Cup in 2018?")
    assert unknown.abstained and unknown.text.splitlines()[0] == "The documents don't seem to answer this question."


def test_the_question_respelled_is_asked_as_a_question_of_its_own(article_index):
    offered = article_index.answer("who is turky's presdent")
    history = [{"role": "user", "content": "who is turky's presdent"}, {"role": "assistant", "content": offered.text}]
    respelled = article_index.answer("who is turkey's president", history)
    alone = article_index.answer("who is turkey's president")
    # a follow-up of the misspelt turn would carry its typos: "who is turkey's president (turky presdent)"
    assert respelled.interpreted_as == "who is turkey's president" and not respelled.abstained
    assert respelled.to_dict() == alone.to_dict()
