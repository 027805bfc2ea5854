"""Question focus (citeqa.focus): tiny hand-made inputs, then the real article index."""

from __future__ import annotations

import pytest

from citeqa.answer.abstain import abstain_decision, should_abstain
from citeqa.answer.focus import (
    Vocabulary,
    check_focus,
    counted_words,
    max_typos,
    name_supported,
    question_names,
    role_word,
    word_supported,
)

TEXTS = [
    "Turkish and Azerbaijani forces held a cease-fire drill near Lachin.",
    "The Underwater Offence (Su Altı Taarruz) units took part, the ministry said in a statement.",
    "President Recep Tayyip Erdoğan has visited Azerbaijan more than 20 times.",
    "Nearly 300 villages were liberated during the 44-day conflict.",
]


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.from_texts(TEXTS)


def test_vocabulary_keeps_words_compounds_and_name_initials(vocabulary: Vocabulary) -> None:
    assert "ceasefire" in vocabulary.words and "cease" in vocabulary.words
    assert all(name in vocabulary.names for name in ("sat", "sualtitaarruz", "erdogan", "turkish"))
    assert vocabulary.names.has_prefix("turk") and not vocabulary.names.has_prefix("nato")
    assert "drill" in vocabulary.stems


def test_words_match_by_stem_typo_and_compound_but_not_by_a_near_word(vocabulary: Vocabulary) -> None:
    assert word_supported("drills", vocabulary)  # stem
    assert word_supported("visted", vocabulary)  # one typo
    assert word_supported("ceasefire", vocabulary)  # compound written as one word
    assert word_supported("Erdogan", vocabulary)  # accents folded
    assert not word_supported("minister", vocabulary)
    assert not word_supported("helicopters", vocabulary)
    assert max_typos("war") == 0 and max_typos("minister") == 1 and max_typos("interoperability") == 2


def test_names_match_demonyms_and_initials_but_stems_do_not_count(vocabulary: Vocabulary) -> None:
    assert name_supported(["Turkey"], vocabulary)  # Turkish
    assert name_supported(["SAT"], vocabulary)  # Su Altı Taarruz
    assert name_supported(["Recep", "Tayyip", "Erdogan"], vocabulary)
    assert not name_supported(["NATO"], vocabulary)
    assert name_supported(["Drills"], vocabulary)  # a lone capitalized common word also matches by stem
    # "united" stems to "unit", but a name must match as written: "United States" is absent
    assert not name_supported(["United", "States"], Vocabulary.from_texts(["The unit met two states."]))


def test_question_names_skip_the_question_word_and_title_case() -> None:
    assert question_names("Did NATO comment on the drills?") == [["NATO"]]
    assert question_names("Is the United States involved?") == [["United", "States"]]
    assert question_names("How populous is Nagorno-Karabakh?") == [["Nagorno", "Karabakh"]]
    assert question_names("NATO said what?") == [["NATO"]]
    assert question_names("Where is the drill?") == []
    assert question_names("Who Is The President Of Azerbaijan") == []
    assert question_names("Were Boats Used?") == []
    assert question_names("WHO IS THE TURKISH PRESIDENT") == []


def test_counted_words_skip_names_and_generic_counts() -> None:
    assert counted_words("How many Turkish soldiers took part?") == ["soldiers", "took", "part"]
    assert counted_words("how many turkish soldiers are in baku") == ["soldiers"]  # places, lower case too
    assert counted_words("What is the population of Lachin?") == []  # the literal "population" rule was deleted
    assert counted_words("How many times has he visited?") == []
    assert counted_words("How many people died?") == []
    assert counted_words("Where is it?") == []


def test_role_words() -> None:
    assert role_word("Who is Armenia's prime minister?") == "minister"
    assert role_word("what is the name of the book written by Smith") == "book"
    assert role_word("Who is Erdogan?") is None
    assert role_word("Who was considered the best?") is None


def test_check_focus_says_what_is_missing(vocabulary: Vocabulary) -> None:
    best = TEXTS[2:] + TEXTS[:2]
    assert check_focus("Did NATO comment on the drills?", best, vocabulary).missing == "name 'NATO'"
    assert check_focus("Who is the prime minister?", best, vocabulary).missing == "role 'minister'"
    assert check_focus("How many ships were sunk?", best, vocabulary).missing.startswith("counted 'ships")
    assert check_focus("When will the next drill be held?", best, vocabulary).missing == "future date"
    assert check_focus("When will they meet?", ["The leaders will meet on May 3."], vocabulary).found
    for question in ("How many villages were liberated?", "How many times has Erdogan visited?", "What did the ministry say?"):
        assert check_focus(question, best, vocabulary).found, question


def test_missing_focus_abstains_even_when_similar() -> None:
    t = {"hard_floor": 0.05, "soft_floor": 0.3, "min_coverage": 0.1}
    assert should_abstain(0.8, 1.0, t, focus_found=False) is True
    assert should_abstain(0.8, 1.0, t, focus_found=True) is False


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("What did the European Union say about the drills?", "name 'European Union'"),
        ("who is the defence minister of turkey", "role 'minister'"),
        ("How many warships has Erdogan sent to Azerbaijan?", "counted 'warships'"),
    ],
)
def test_article_index_rules_abstain_when_the_focus_is_missing(article_index, question: str, missing: str) -> None:
    query_ranking = article_index.rank(question, 10, question=question)
    rules = abstain_decision(
        question, query_ranking, article_index.ranker, article_index.vocabulary, question=question, policy="rules"
    )
    assert rules.abstain and rules.focus_missing == missing
    assert rules.answer_type_found and rules.best_dense > 0.3  # similarity alone would answer
    either = abstain_decision(
        question, query_ranking, article_index.ranker, article_index.vocabulary, question=question, policy="rules_or_model"
    )
    assert either.abstain
    # the shipped policy (chosen on fit halves) decides what Index.answer does
    shipped = abstain_decision(question, query_ranking, article_index.ranker, article_index.vocabulary, question=question)
    assert article_index.answer(question).abstained == shipped.abstain


@pytest.mark.parametrize(
    "question",
    ["What did the Azerbaijani Defense Ministry say about the drill?", "How many villages did Azerbaijan liberate?", "Did Turkey support Baku?", "What does SAT stand for?"],
)
def test_article_index_answers_when_the_focus_is_there(article_index, question: str) -> None:
    assert not article_index.answer(question).abstained
