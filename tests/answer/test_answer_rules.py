"""Each hand rule of abstention that is kept, pinned with cases from two datasets.

A rule stays only if switching it off lowers the negatives abstained on the report halves
of at least two datasets (``citeqa eval``, rule ablation). The extracts below are short
passages of those datasets (news dev BBC articles, the shipped article's gold file,
SQuAD 2.0), quoted so the tests need no shared data: each rule must fire on a question
those documents don't answer and stay quiet on one they do.
"""

from __future__ import annotations

import pytest

from citeqa.answer.abstain import answer_type_found, should_abstain
from citeqa.answer.focus import Vocabulary, check_focus

NEWS_DS = [
    "Nintendo's DS handheld game console has officially gone on sale in Europe.",
    "Since going on sale in Japan and the US at the end of 2004, Nintendo has sold almost 4m DS consoles.",
    (
        "Part of this popularity may be due to the fact that the DS can run any of the catalogue of 700 games "
        "produced for Nintendo's GameBoy Advance handheld."
    ),
]
NEWS_BOEING = [
    (
        "US aircraft firm Boeing has unveiled its new long-distance 777 plane, as it tries to regain its position "
        "as the industry's leading manufacturer."
    ),
    "Boeing, in contrast to European rival Airbus, hopes airlines will want to fly smaller aircraft over longer distances.",
    "Airbus, which overtook Boeing as the number one civilian planemaker in 2003, is focusing on so-called super jumbos.",
]
NEWS_UKIP = [
    "He plans to stand in the next general election but refused to confirm he is setting up a new political party.",
    "It began with a flood of publicity which helped UKIP into third place in last June's European elections.",
]
GOLD_LACHIN = [
    "Turkish and Azerbaijani militaries launched a joint drill in Azerbaijan's Lachin region.",
    "President Recep Tayyip Erdoğan has visited Azerbaijan more than 20 times.",
    (
        "During the 44-day conflict, which ended in a truce on Nov. 10, Azerbaijan liberated several cities and "
        "nearly 300 settlements and villages in Nagorno-Karabakh."
    ),
]
SQUAD_STEAM = [
    "A steam engine is a heat engine that performs mechanical work using steam as its working fluid.",
    "Steam engines are external combustion engines, where the working fluid is separate from the combustion products.",
    "In 1781 James Watt patented a steam engine that produced continuous rotary motion.",
]


def focus(question: str, texts: list[str]) -> str:
    """What :func:`check_focus` finds missing when ``texts`` are both the corpus and the best sentences."""
    return check_focus(question, texts, Vocabulary.from_texts(texts)).missing


@pytest.mark.parametrize(
    ("question", "texts", "missing"),
    [
        ("What is the capital of Australia?", NEWS_DS, "name 'Australia'"),  # news, off-topic
        ("Did NATO comment on the drill?", GOLD_LACHIN, "name 'NATO'"),  # gold, near-topic
        ("What did Newcomen patent in 1781?", SQUAD_STEAM, "name 'Newcomen'"),  # SQuAD 2.0 style
    ],
)
def test_names_rule_fires_when_a_name_asked_is_nowhere(question, texts, missing):
    assert focus(question, texts) == missing


@pytest.mark.parametrize(
    ("question", "texts"),
    [("How many consoles has Nintendo sold?", NEWS_DS), ("How often has Erdogan visited Azerbaijan?", GOLD_LACHIN)],
)
def test_names_rule_is_quiet_when_the_names_are_there(question, texts):
    assert focus(question, texts) == ""


@pytest.mark.parametrize(
    ("question", "texts", "missing"),
    [
        ("Who is Boeing's chief executive?", NEWS_BOEING, "role 'executive'"),  # news, near-topic
        ("Who is Azerbaijan's prime minister?", GOLD_LACHIN, "role 'minister'"),  # gold, near-topic
    ],
)
def test_role_rule_fires_when_the_role_asked_is_nowhere(question, texts, missing):
    assert focus(question, texts) == missing


def test_role_rule_is_quiet_when_the_role_is_there():
    assert focus("Who is the president of Turkey?", [*GOLD_LACHIN, "Turkey's president spoke."]) == ""
    assert focus("Who was the manufacturer of the 777?", NEWS_BOEING) == ""


@pytest.mark.parametrize(
    ("question", "texts", "missing"),
    [
        ("How many orders has Airbus received for its super jumbo?", NEWS_BOEING, "counted 'orders'"),  # news
        ("How many warships took part in the drill?", GOLD_LACHIN, "counted 'warships"),  # gold
    ],
)
def test_counted_words_rule_fires_when_no_number_counts_the_thing(question, texts, missing):
    assert focus(question, texts).startswith(missing)


def test_counted_words_rule_is_quiet_when_a_number_counts_it():
    assert focus("How many games can the DS run?", NEWS_DS) == ""
    assert focus("How many villages did Azerbaijan liberate?", GOLD_LACHIN) == ""


@pytest.mark.parametrize(
    ("question", "texts"),
    [
        ("When will the next general election be held?", NEWS_UKIP),  # news, near-topic
        ("When will the next joint drill be held?", GOLD_LACHIN),  # gold, near-topic
    ],
)
def test_future_date_rule_fires_without_a_date_said_of_the_future(question, texts):
    assert focus(question, texts) == "future date"


def test_future_date_rule_is_quiet_with_a_future_date():
    assert focus("When will the next drill be held?", ["The next drill will be held in May 2022.", *GOLD_LACHIN]) == ""
    assert focus("When will the next general election be held?", ["The next general election will be held in 2026."]) == ""


@pytest.mark.parametrize(
    ("question", "texts"),
    [
        ("When did Boeing unveil the 777?", NEWS_BOEING[:2]),  # news: no date in the best sentences
        ("How many steam engines did Watt build?", SQUAD_STEAM[:2]),  # SQuAD: no number in them
    ],
)
def test_answer_type_rule_fires_when_no_best_sentence_holds_a_date_or_number(question, texts):
    assert not answer_type_found(question, texts)
    assert answer_type_found(question, texts + [NEWS_BOEING[2], SQUAD_STEAM[2]])  # 2003 / 1781


def test_similarity_floors():
    t = {"hard_floor": 0.05, "soft_floor": 0.30, "min_coverage": 0.10}
    assert should_abstain(0.04, 1.0, t)  # below the hard floor: always
    assert should_abstain(0.2, 0.0, t) and not should_abstain(0.2, 0.5, t)  # between: coverage decides
    assert not should_abstain(0.35, 0.0, t)  # above the soft floor: similarity alone answers
