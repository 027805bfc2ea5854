"""Question analysis: follow-up resolution against the conversation, what counts as a date, and what denies."""

from __future__ import annotations

import pytest

from citeqa.errors import InvalidArgumentError
from citeqa.question import (
    asked_topic,
    asks_to_read_on,
    denies,
    keeps_subject,
    last_turn,
    needs_context,
    negated,
    overview_scope,
    question_type,
    resolve_followup,
    unwrap_request,
)


def _history(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": "Some answer. [1]"}]


def test_pronoun_followup_carries_the_previous_topic() -> None:
    resolved = resolve_followup("What does it focus on?", _history("What is the Shusha Declaration?"))
    assert resolved.startswith("What does it focus on?")
    assert "shusha" in resolved and "declaration" in resolved


def test_short_followup_carries_the_previous_topic() -> None:
    assert resolve_followup("Where?", _history("What is SAT?")) == "Where? (sat)"
    assert resolve_followup("and why?", _history("What does SAT stand for?")) == "and why? (sat stand)"


@pytest.mark.parametrize(
    ("question", "before", "resolved"),
    [
        # "and / what about" with a name the earlier question lacks: it takes an earlier name's place
        ("what about the DS?", "How many games are available for the PSP?", "what about the DS? (many games available)"),
        ("And who won it at the Oscars?", "Who won best actress at the Baftas?", "And who won it at the Oscars? (best actress)"),
        ("and SAS?", "What does SAT stand for?", "and SAS? (stand)"),
        ("and SAS?", "What is SAT?", "and SAS?"),  # nothing else to carry
        # one new name takes one earlier name's place, the first
        ("What about Aliyev?", "How many times has Erdogan visited Azerbaijan?", "What about Aliyev? (many times visited azerbaijan)"),
        ("What about Hilary Swank?", "Who did Clint Eastwood beat at the Oscars?", "What about Hilary Swank? (beat oscars)"),
        # the same name again, or no opener, or no name of its own: every earlier word is carried
        ("And when did Blair visit?", "Who did Blair meet in Paris?", "And when did Blair visit? (meet paris)"),
        ("When did he leave Harvard?", "Who founded Microsoft?", "When did he leave Harvard? (founded microsoft)"),
        ("Did it win anything else?", "Which film won at the Baftas?", "Did it win anything else? (film won baftas)"),
    ],
)
def test_a_name_set_against_an_earlier_one_takes_its_place(question, before, resolved) -> None:
    assert resolve_followup(question, _history(before)) == resolved


def test_standalone_question_is_searched_as_asked() -> None:
    question = "How many times has Erdogan visited Azerbaijan?"
    assert resolve_followup(question, _history("What is the Shusha Declaration?")) == question
    assert not needs_context(question)


def test_a_short_question_naming_its_own_subject_is_not_a_follow_up() -> None:
    question = "What does the declaration focus on?"  # two content words, no pointing back
    assert resolve_followup(question, _history("how many turkish soldiers are stationed in azerbaijan")) == question
    assert needs_context("and the delegations?") and needs_context("What about it?")


@pytest.mark.parametrize(
    "question",
    [
        # second turns of news-dev conversations and of the gold file
        "And what did the DTI say to that?",
        "Have they said what they think of the bid?",
        "What did he do straight after England's try?",
        "What about at the Baftas?",
        "Where?",
        "Is that possible?",
        "and SAS?",
        "Who helped set it up?",
        "what are its aims?",
    ],
)
def test_a_question_leaning_on_the_conversation_is_a_follow_up(question) -> None:
    assert needs_context(question)


@pytest.mark.parametrize(
    "question",
    [
        # stand-alone questions of SQuAD and news-dev: the pronoun's name comes first, the
        # demonstrative determines a noun, or the one content word has its verb
        "What century did the Normans first gain their separate identity?",  # SQuAD 2.0
        "Why do lots of United investors hang on to their shares?",  # news
        "How has Glazer changed the amount of borrowing in his latest move?",  # news
        "Who was this season's NFL MVP?",  # SQuAD 1.1
        "What was one of the Norman's major exports?",  # SQuAD 2.0
        "Which law did the DTI say there was no case for changing?",  # news
        "What is the IEEE?",  # SQuAD 1.1
        "What does unwrap do?",
        "Andrew is who?",
    ],
)
def test_a_question_that_names_what_it_asks_about_is_not_a_follow_up(question) -> None:
    assert not needs_context(question)


def test_a_third_turn_carries_the_last_question_that_named_something() -> None:
    history = _history("What does SAT stand for?") + _history("What do they do?")
    assert resolve_followup("and SAS?", history) == "and SAS? (stand)"  # SAS in SAT's place
    # the last question that names something wins over older ones
    history = _history("What is the Shusha Declaration?") + _history("Who signed it?") + _history("What do they do?")
    assert resolve_followup("and SAS?", history) == "and SAS? (signed)"
    # but only the last few turns are read
    old = _history("What is the Shusha Declaration?") + _history("What do they do?") * 5
    assert resolve_followup("and SAS?", old) == "and SAS?"


@pytest.mark.parametrize(
    ("question", "previous", "kept"),
    [
        ("Had he done it before?", "Who hosted the Oscars?", True),  # news dev
        ("What does that mean?", "What is Kilroy-Silk's rumoured new party called?", True),
        ("And after that?", "Who do Ireland play next in the Six Nations?", True),
        ("Where?", "How many DS consoles has Nintendo sold so far?", True),
        ("and SAS?", "What does SAT stand for?", False),  # the shipped article: a name of its own
        ("and what did they sign?", "Who signed the Shusha Declaration?", True),  # opens with "and"
        ("How far did he run to score it?", "Who scored England's try?", False),  # long enough to be a question of its own
        ("What about at the Baftas?", "Who won best director at the Oscars?", False),  # a new name: it may have moved on
        ("What does Ankara do?", "What is SAT?", False),  # stands alone: no follow-up
    ],
)
def test_a_short_follow_up_keeps_the_subject_unless_it_names_something_new(question: str, previous: str, kept: bool) -> None:
    assert keeps_subject(question, previous) is kept


def test_the_last_turn_is_the_last_user_question_with_the_messages_before_it() -> None:
    history = _history("Who hosted the Oscars?") + _history("Had he done it before?") + [{"role": "user", "content": "  "}]
    question, before = last_turn(history)
    assert question == "Had he done it before?" and before == history[:2]
    assert last_turn(None) is None and last_turn([{"role": "assistant", "content": "Hello."}]) is None
    with pytest.raises(InvalidArgumentError, match="history"):
        last_turn("Who hosted the Oscars?")


def test_without_history_nothing_is_carried() -> None:
    assert resolve_followup("What does it focus on?", None) == "What does it focus on?"


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        # a bare "when" after the question word joins a clause: the question word decides
        ("How many seconds were left in the game when the Broncos intercepted the pass that won the game?", "count"),  # SQuAD 1.1
        ("Who was the leader when the Franks entered the Euphrates valley?", "who"),  # SQuAD 2.0
        ("What did Kilroy-Silk call UKIP when he walked out?", None),  # news
        ("What happens when a variable goes out of scope?", None),
        ("Why did the launch fail when it rained?", None),
        # "when" as the question word, or a time asked for in other words, still asks for a date
        ("When did the war end?", "when"),
        ("And when did he leave?", "when"),
        ("What year did the war end?", "when"),
        ("Who won the title in what year?", "when"),
        ("Since when has he lived there?", "when"),
    ],
)
def test_a_when_clause_does_not_make_a_question_ask_for_a_date(question, kind) -> None:
    assert question_type(question) == kind


def test_answer_type_check_needs_a_date_or_number_only_when_asked() -> None:
    from citeqa.answer.abstain import answer_type_found

    article = ["The exercise involved special forces.", "It began on March 3, 2024."]
    assert answer_type_found("When did it begin?", article) is True
    assert answer_type_found("How many soldiers took part?", article) is False
    assert answer_type_found("What did the forces do?", article[:1]) is True


@pytest.mark.parametrize(
    "sentence",
    [
        "Officials said the talks may resume after the election.",  # news register
        "Steam engines may be classified by their application.",  # SQuAD (Steam_engine) register
        "Troops march on the capital while this may change.",
    ],
)
def test_the_verbs_may_and_march_are_not_dates(sentence):
    from citeqa.question import DATE_PATTERN

    assert DATE_PATTERN.findall(sentence) == []


@pytest.mark.parametrize(
    ("sentence", "date"),
    [
        ("The summit was held in May.", "May"),
        ("The treaty was signed on 12 May 2020 in Shusha.", "12 May 2020"),
        ("Luther posted the theses in March 1517.", "March 1517"),
        ("The leaders met last May.", "last May"),
    ],
)
def test_month_names_are_dates_when_written_as_months(sentence, date):
    from citeqa.question import DATE_PATTERN

    assert [m.group(0) for m in DATE_PATTERN.finditer(sentence)] == [date]


@pytest.mark.parametrize(
    ("sentence", "time"),
    [
        ("The ferry to Norrby leaves at nine every morning.", "at nine every morning"),  # a timetable
        ("High water at Norrby is at 07:45.", "07:45"),
        ("At what time did Tesla get dinner? He dined at 8:10 p.m. sharp.", "8:10 p.m."),  # SQuAD 1.1
        ("Luther woke at 1 a.m with chest pains.", "1 a.m"),
        ("The library opens every Monday at 10am.", "every Monday"),
        ("The museum is closed on Sundays.", "Sundays"),  # a weekday in the plural: a schedule
        ("The awards are shown on BBC One at 2010 GMT.", "2010"),
        ("Talks ran until midnight.", "midnight"),
        ("The patrol left at dawn.", "at dawn"),
        ("The vote is due this evening.", "this evening"),
        ("Oxygen began to accumulate 2.5 billion years ago.", "2.5 billion years ago"),  # SQuAD 1.1
        ("The house is dated c1600.", "c1600"),
    ],
)
def test_times_of_day_and_deep_time_answer_when(sentence, time):
    from citeqa.question import DATE_PATTERN, _may_hold_date, answer_spans

    assert _may_hold_date(sentence)
    spans = answer_spans("When did it happen?", sentence)
    assert time in [sentence[a:b] for a, b in spans], (sentence, spans)
    assert DATE_PATTERN.search(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Shares rose 5% to 12.50 in early trading.",  # a price, not a clock
        "Each team has eleven players.",
        "They stood at three points after the match.",
        "The minister resigned on Monday.",  # a weekday alone: in news, mostly the day a thing was said
    ],
)
def test_numbers_and_lowercase_weekdays_are_not_times(sentence):
    from citeqa.question import DATE_PATTERN

    assert DATE_PATTERN.findall(sentence) == []


def test_deep_time_is_both_a_date_and_an_age_other_elapsed_times_only_a_date() -> None:
    from citeqa.question import answer_spans

    fossils = "The fossils date from 525 million years ago."
    assert answer_spans("How old are the fossils?", fossils)
    assert answer_spans("When did they live?", fossils)
    assert not answer_spans("How old is he?", "He bought the club two years ago.")


def test_has_answer_type_is_whether_answer_spans_finds_any() -> None:
    from citeqa.question import answer_spans, has_answer_type

    texts = [
        "The exercise began on 10 November 2020 in Lachin.",
        "Erdogan has visited Azerbaijan 20 times since 2003.",
        "The Navy sent 44 ships and $5 million.",
        "It lasted six weeks and covered 1,230 kilometres.",
        "The city of Baku hosted them.",
        "The exercise began.",
        "However, nothing happened in May.",
        "He was 45 years old when Turkey joined.",
    ]
    questions = [
        "When did the exercise begin?", "Who visited Azerbaijan?", "How many ships did the Navy send?",
        "How much money was sent?", "How long did it last?", "How old was he?", "Where was it held?",
        "What is the exercise?", "Which city hosted them?",
    ]
    for question in questions:
        for text in texts:
            assert has_answer_type(question, text) == bool(answer_spans(question, text)), (question, text)


def test_a_text_skipped_by_the_date_hints_holds_no_date() -> None:
    from citeqa.question import DATE_PATTERN, _may_hold_date, has_answer_type

    dated = [
        "It began last week.", "He left two years ago.", "They met yesterday.", "Sales rose in the 1990s.",
        "It opened in May.", "The 5 Sep meeting.", "The 21st century began.", "We leave tomorrow.",
        "Next Monday they sail.", "Later this spring.", "Talks on Nov. 10, 2020.", "It ended ٢١st century.",
    ]
    for text in dated:
        assert DATE_PATTERN.search(text), text
        assert _may_hold_date(text), text
    assert has_answer_type("When did it end?", "It ended ٢١st century.")  # Unicode digits: no ASCII hint
    plain = ["The harbour opened.", "Navy divers joined the drill.", "Nothing here at all."]
    for text in plain:
        assert not _may_hold_date(text) and not DATE_PATTERN.search(text), text
        assert not has_answer_type("When did it open?", text)
    assert has_answer_type("Who opened it?", "The Mayor of Baku opened it.")  # "may" inside a name: the expression decides


def test_the_ascii_twins_answer_as_the_unicode_expressions_and_are_kept_off_separator_text() -> None:
    from citeqa import question
    from citeqa.question import _EXPRESSIONS, _plain, answer_spans, has_answer_type

    base = [
        "The war ended in May 1945 after six years.", "It cost about 5 million dollars in total.",
        "The bridge is 1,230 kilometres long.", "John Smith met the Prime Minister of France.",
        "He was aged 45 when he died.", "They stayed for three weeks in Paris.", "The treaty was signed on 4 June 1919.",
    ]
    questions = [
        "When did the war end?", "How much did it cost?", "How long is the bridge?", "Who met the Prime Minister?",
        "How old was he?", "Where did they stay?", "How many people came?",
    ]
    # the same sentences with an accent (not ASCII) and with a word separator U+001C, which
    # Unicode matching reads as white space and ASCII matching does not
    texts = base + [f"Café. {t}" for t in base] + [t.replace(" ", "\x1c", 4) for t in base]
    assert [_plain(t) for t in texts] == [True] * len(base) + [False] * 2 * len(base)
    for q in questions:
        for text in texts:  # the twins serve plain text only: every answer is the expressions' own
            assert has_answer_type(q, text) == bool(answer_spans(q, text)), (q, text)
    # where ASCII matching would differ, so the separator text must not reach the twins
    separated = "He was aged\x1c45 when he died."
    assert has_answer_type("How old was he?", separated)
    unicode_only = question._EXPRESSIONS
    try:
        question._EXPRESSIONS = {False: _EXPRESSIONS[True], True: _EXPRESSIONS[True]}
        assert not has_answer_type("How old was he?", separated)
    finally:
        question._EXPRESSIONS = unicode_only


@pytest.mark.parametrize("name", ["_DATE", "_NUMBER"])
def test_the_first_letter_lookahead_of_dates_and_numbers_drops_no_match(name) -> None:
    """_DATE and _NUMBER begin with a lookahead of the letters (and digits) their alternatives
    start with, for speed; without it they find the same spans, also in their ASCII twins."""
    import re

    import citeqa.question as q

    fast = getattr(q, name)
    rest = re.match(r"\(\?=\[[^\]]+\]\)(.*)", fast.pattern, re.DOTALL).group(1)
    plain = re.compile(rest, fast.flags)
    texts = [
        "It opened on Jan. 5, 1999, closed in March 2001 and reopened in May; by the 1990s-00s it was busy.",
        "On 12 September 2004, last week, next Monday, earlier this year and later this June.",
        "Two decades ago, an hour later, a year ago, 30 years ago, in the 5th century, yesterday and today.",
        "Tomorrow ſix years ago, ſeven months ago, \u0663 years ago, in \u0661\u0669\u0669\u0669, \u212a.",
        "At 07:45, by 9 a.m., at 2010 GMT, nine o'clock, at noon, until midnight, tonight, at dawn, before sunset.",
        "In the morning, during the night, that evening, every Monday, at nine every morning, c1600, c. 1750.",
        "Some 2.5 billion years ago, 3\u20132.7 billion years ago and ten thousand years ago.",
        "Nearly 40 people, about half, over two hundred men, more than 5,000 troops and 12% rose.",
        "Roughly a dozen, up to three thousand, at least one-third, fewer than ninety-nine, less than 7.5 km.",
        "Approximately eleven boats, some fifty-five planes, under 3 hours; Eight hundred ships; Billions spent.",
        "The Navy held drills with Azerbaijan and Turkey near Lachin; nothing numbered or dated here.",
    ]
    for twin in (lambda p: p, q._ascii_twin):
        for text in texts:
            assert [m.span() for m in twin(fast).finditer(text)] == [m.span() for m in twin(plain).finditer(text)], text
    found = [m.group() for text in texts for m in fast.finditer(text)]
    assert len(found) >= 15, found  # the texts do exercise the alternatives


# The stricter answer type (answer_type_level 2), on sentences of the SQuAD 1.1 and news-dev
# fit halves: a name or a number is in most sentences (level 1), so only a place ("at Levi's
# Stadium", "in Seattle") or a quantity of the asked thing ("500 ... planes") tells the sentence
# that answers apart from the one that merely names things.
_SUPER_BOWL_PLACE = "The game was played on February 7, 2016, at Levi's Stadium in the San Francisco Bay Area at Santa Clara, California."
_SUPER_BOWL_NAMES = "Super Bowl 50 was an American football game to determine the champion of the National Football League (NFL) for the 2015 season."
_BOEING_PLACE = 'The company offically "rolled-out" the new 777 in Seattle at 2200 GMT.'
_BOEING_COUNT = "Boeing said it expected to sell about 500 of its 777-200LR planes over the next 20 years."


@pytest.mark.parametrize(
    ("question", "text", "level"),
    [
        ("Where did Super Bowl 50 take place?", _SUPER_BOWL_PLACE, 2),  # SQuAD 1.1
        ("Where did Super Bowl 50 take place?", _SUPER_BOWL_NAMES, 1),  # names, none a place
        ("Where was the new 777 rolled out?", _BOEING_PLACE, 2),  # news dev
        ("Where was the new 777 rolled out?", _BOEING_COUNT, 1),
        ("Where was the new 777 rolled out?", "It was rolled out at night.", 0),
        ("How many planes does Boeing expect to sell?", _BOEING_COUNT, 2),  # a quantity of planes
        ("How many planes does Boeing expect to sell?", _BOEING_PLACE, 1),  # a number, of no planes
        ("How many games did the Broncos win?", "The Broncos finished the regular season with a 12–4 record.", 1),
        ("When was Super Bowl 50 played?", _SUPER_BOWL_PLACE, 1),  # no stricter type for dates
        ("Who won Super Bowl 50?", _SUPER_BOWL_NAMES, 1),  # nor for names
        ("What was the game called?", _SUPER_BOWL_PLACE, 0),  # no type asked
    ],
)
def test_answer_type_level_is_two_only_for_a_place_or_a_quantity_of_the_asked_thing(question, text, level) -> None:
    from citeqa.question import answer_type_level, has_answer_type

    assert answer_type_level(question, text) == level
    assert (level > 0) == has_answer_type(question, text)



def test_answer_type_level_reads_the_spans_shown_to_the_reader() -> None:
    from citeqa.question import (
        STRICT_KINDS,
        answer_spans,
        answer_type_level,
        question_type,
        shown_answer_spans,
    )

    texts = [
        "The exercise began on 10 November 2020 in Lachin, Azerbaijan.",
        "The Navy sent 44 ships and $5 million to the Black Sea.",
        "It lasted six weeks and covered 1,230 kilometres.",
        "The city of Baku hosted them at the Heydar Aliyev Centre.",
        "Turkey and Azerbaijan signed the Shusha Declaration.",
        "He was 45 years old when Turkey joined NATO in 1952.",
        "Erdoğan visited Şuşa 20 times; the Türk Silahlı Kuvvetleri sent 300 soldiers to Gəncə.",
    ]
    questions = [
        "Where was the exercise held?", "Where did the Navy send ships?", "How many ships did the Navy send?",
        "How much money was sent?", "How long did it last?", "How old was he?", "How many soldiers were sent?",
        "Who hosted them?", "When did Turkey join NATO?", "What did they sign?",
    ]
    for question in questions:
        for text in texts:
            expected = 0 if not answer_spans(question, text) else 2 if question_type(question) in STRICT_KINDS and shown_answer_spans(question, text) else 1
            assert answer_type_level(question, text) == expected, (question, text)


@pytest.mark.parametrize(
    ("sentence", "money"),
    [
        ("Tickets are sold on board and cost 40 kronor for adults.", "40 kronor"),
        ("The bridge cost CHF 2.5 million.", "CHF 2.5 million"),
        ("A night in the hostel costs 300 zlotys.", "300 zlotys"),
        ("The fee is 12 pounds.", "12 pounds"),
        ("The ferry costs ₺150.", "₺150"),
    ],
)
def test_amounts_in_the_world_s_currencies_answer_how_much(sentence, money):
    from citeqa.question import shown_answer_spans

    assert money in [sentence[a:b] for a, b in shown_answer_spans("How much does it cost?", sentence)]


def test_a_currency_code_counts_only_in_capitals() -> None:
    from citeqa.question import shown_answer_spans

    assert shown_answer_spans("How much does it cost?", "They try 5 times a day.") == ()


@pytest.mark.parametrize(
    ("text", "is_negated", "is_denying"),
    [
        ("What is not strictly contained in PSPACE?", True, True),
        ("Which team never won the cup?", True, True),
        ("Why didn't the council approve it?", True, True),
        ("How far can it fly without stopping?", True, True),
        ("Is P contained in EXPTIME or not?", False, False),  # "or not" asks, it does not deny
        ("The council refused to approve the plan.", False, True),
        ("Non-Catholics were not allowed to settle.", True, True),
        ("It flies almost 11,000 miles non-stop.", False, True),
        ("It was unknown how many tries each mission would need.", False, True),
        ("Nonetheless, Norway annotated the knot at noon.", False, False),
        ("L is strictly contained in PSPACE.", False, False),
    ],
)
def test_what_denies(text: str, is_negated: bool, is_denying: bool) -> None:
    assert negated(text) is is_negated
    assert denies(text) is is_denying


@pytest.mark.parametrize(
    ("question", "scope"),
    [
        ("What is this article about?", "document"),
        ("Summarize the document", "document"),
        ("Give me a summary, please", "document"),
        ("tl;dr", "document"),
        ("What are the main points?", "document"),
        ("What does the report say?", "document"),
        ("What are these documents about?", "collection"),
        ("Which documents do you have?", "collection"),
        ("What is the headline?", "title"),
        ("What is the title of the article?", "title"),
        ("What are the titles of the documents?", "collection"),
        ("What was the title of Beyonce's album?", None),
        # they ask about something in the documents, or for a fact: searched as usual
        ("What is the main point of the declaration?", None),
        ("What is Psalm 67 about?", None),
        ("What was the Plos Pathogens paper about?", None),
        ("What does the article say about Erdogan?", None),
        ("Who wrote the article?", None),
        ("What did Luther say the common people knew nothing about?", None),
        ("What is the document?", None),
    ],
)
def test_a_question_about_the_documents_as_a_whole_asks_for_an_overview(question, scope) -> None:
    assert overview_scope(question) == scope
    assert overview_scope(question, _history("What is SAT?")) == scope  # a document noun says which it is


def test_what_is_this_about_opens_a_conversation_as_an_overview_and_follows_one_up_as_a_follow_up() -> None:
    for question in ("What is this about?", "What is it about?"):
        assert overview_scope(question) == "document"
        assert overview_scope(question, _history("What is the Shusha Declaration?")) is None
        assert resolve_followup(question, _history("What is the Shusha Declaration?")) != question


@pytest.mark.parametrize(
    ("question", "reads_on"),
    [
        ("Tell me more", True),
        ("Go on.", True),
        ("What else?", True),
        ("Anything else, please?", True),
        ("Can you tell me more?", True),
        ("What else did Ankara do?", False),
        ("Tell me more about Erdogan", False),
        ("And after that?", False),
        ("What happened next?", False),
    ],
)
def test_tell_me_more_asks_to_read_on_and_a_question_naming_anything_does_not(question, reads_on) -> None:
    assert asks_to_read_on(question) is reads_on


def test_no_question_of_the_shipped_gold_file_asks_for_an_overview_or_to_read_on() -> None:
    from citeqa.eval.corpora import load_gold

    questions = [turn.question for case in load_gold().cases for turn in case.turns]
    assert len(questions) > 80
    assert [q for q in questions if overview_scope(q) is not None or asks_to_read_on(q)] == []


def test_an_overview_turn_gives_a_follow_up_nothing_to_carry_so_the_turn_before_it_does() -> None:
    overview = _history("What is this article about?")
    assert resolve_followup("Who signed it?", overview) == "Who signed it?"
    history = _history("What is SAT?") + _history("Summarize the document")
    assert resolve_followup("Where?", history) == "Where? (sat)"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("What is Warsaw?", ("warsaw",)),
        ("who were the normans", ("norman",)),
        ("What is a data frame?", ("data", "frame")),
        ("What was the 1973 oil crisis?", ("1973", "oil", "crisi")),
        ("What is the capital of Poland?", ("capit", "poland")),  # only a heading "Capital of Poland" is that
        ("Where is Warsaw?", None),
        ("What does lapply do?", None),
        ("What is the name of the leader who ruled the duchy of Normandy then?", None),  # too long to be a topic
        ("What is it?", None),  # a pronoun has no words of its own
    ],
)
def test_a_question_about_a_thing_as_a_whole_names_its_topic(question, topic) -> None:
    assert asked_topic(question) == topic


@pytest.mark.parametrize(
    ("request_", "question"),
    [
        # an embedded question comes out as the question, opened with a capital and closed with "?"
        ("Can you tell me who hosted the Oscars?", "Who hosted the Oscars?"),
        ("Could you please tell me where the drill took place?", "Where the drill took place?"),
        ("Do you know when the war ended?", "When the war ended?"),
        ("Any idea who won?", "Who won?"),
        ("Please explain why Ankara sent troops.", "Why Ankara sent troops?"),
        ("Explain how a steam engine works", "How a steam engine works?"),
        ("I'd like to know if it rained, please", "It rained?"),
        ("I wonder whether the vote passed", "The vote passed?"),
        ("Can you tell me in what year the dam opened?", "In what year the dam opened?"),
        ("Do you know is the museum open on Sundays?", "Is the museum open on Sundays?"),
        ("Tell me about how the vote went", "How the vote went?"),
        # a thing asked about as a whole is asked as "What is X?", "are" for a plural
        ("Tell me about Warsaw", "What is Warsaw?"),
        ("Hi, can you tell me about the Rhine?", "What is the Rhine?"),
        ("Describe the Normans", "What are the Normans?"),
        ("Tell me about volcanoes", "What are volcanoes?"),
        ("Tell me about Paris, thanks", "What is Paris?"),
        ("Tell me about physics", "What is physics?"),
        ("What do you know about SAT?", "What is SAT?"),
        ("What can you tell me about the 44-day war?", "What is the 44-day war?"),
        ("Tell me more about Norrby", "What is Norrby?"),
        ("Tell me the population of Warsaw", "What is the population of Warsaw?"),
        # anything else is left as it is: questions, a request to read on, requests with nothing in them
        ("What is Warsaw?", "What is Warsaw?"),
        ("Who can tell me more?", "Who can tell me more?"),
        ("Tell me more", "Tell me more"),
        ("tell me more about it", "tell me more about it"),
        ("Tell me", "Tell me"),
        ("Tell me ?", "Tell me ?"),
        ("I need a summary", "I need a summary"),
        ("Name a luxury division of Toyota.", "Name a luxury division of Toyota."),
    ],
)
def test_a_request_is_searched_as_the_question_inside_it(request_, question) -> None:
    assert unwrap_request(request_) == question


def test_a_request_asking_about_a_thing_names_the_things_topic() -> None:
    assert asked_topic(unwrap_request("Tell me about the Normans")) == asked_topic("Who were the Normans?") == ("norman",)


def test_a_follow_up_after_a_request_carries_the_requests_subject_not_its_words() -> None:
    resolved = resolve_followup("How long is it?", _history("Can you tell me about the Rhine?"))
    assert resolved == "How long is it? (rhine)"
