"""Answer composition: citations follow the scores, no near-duplicates, answer words marked."""

from __future__ import annotations


from citeqa.answer.compose import (
    ABSTAIN_MESSAGE,
    CLOSEST_HEADING,
    cites_what_it_introduces,
    compose_answer,
    format_cited,
    is_near_duplicate,
    offered_respelling,
    select_citations,
    without_offered_turn,
)
from citeqa.question import answer_spans, question_type
from citeqa.schema import Hit

WAR = (
    "During the 44-day conflict, which ended in a truce on Nov. 10, Azerbaijan liberated several "
    "cities and nearly 300 settlements and villages in Nagorno-Karabakh."
)
VISITS = "During his presidency, President Recep Tayyip Erdoğan has visited Azerbaijan more than 20 times."


def _hit(text: str, score: float, row: int = 0) -> Hit:
    return Hit(text=text, score=score, doc_id="d", sentence_id=row, start=0, end=len(text), context=text)


def _marked(question: str, text: str) -> list[str]:
    return [text[s:e] for s, e in answer_spans(question, text)]


def test_question_type_reads_the_question_word() -> None:
    assert question_type("When did the war end?") == "when"
    assert question_type("how many villages were freed") == "count"
    assert question_type("Who is the president?") == "who"
    assert question_type("What does the declaration focus on?") is None


def test_when_questions_mark_dates() -> None:
    assert _marked("When did the war end?", WAR) == ["Nov. 10"]


def test_how_many_questions_mark_numbers_but_not_dates() -> None:
    marked = _marked("How many settlements were liberated?", WAR)
    assert "nearly 300 settlements" in marked
    assert all("10" not in m for m in marked)


def test_who_questions_mark_names_not_already_in_the_question() -> None:
    assert "President Recep Tayyip Erdoğan" in _marked("Who is the Turkish president?", VISITS)
    assert "Azerbaijan" not in _marked("Who visited Azerbaijan?", VISITS)


def test_untyped_questions_mark_nothing() -> None:
    assert answer_spans("What does the declaration focus on?", WAR) == ()


def test_number_of_citations_follows_the_scores() -> None:
    confident = [_hit("A sentence.", 0.9, 0), _hit("Other words here.", 0.05, 1)]
    split = [_hit("A sentence.", 0.4, 0), _hit("Other words here.", 0.35, 1), _hit("Third one now.", 0.1, 2)]
    assert len(select_citations(confident)) == 1
    assert [h.sentence_id for h in select_citations(split)] == [0, 1]


def test_near_duplicates_are_cited_once() -> None:
    a = "The declaration affirms joint efforts by the two armies."
    b = "The declaration affirms joint efforts by the two armies in the face of threats."
    assert is_near_duplicate(a, b)
    chosen = select_citations([_hit(a, 0.5, 0), _hit(b, 0.45, 1), _hit("Something else entirely.", 0.4, 2)])
    assert [h.sentence_id for h in chosen] == [0, 2]


def test_answer_marks_answer_words_in_citations() -> None:
    result = compose_answer([_hit(WAR, 0.9)], abstain=False, question="When did the war end?")
    assert not result.abstained
    span = result.citations[0].answer_spans[0]
    assert WAR[span[0] : span[1]] == "Nov. 10"
    assert result.text == f"{WAR} [1]"


def test_abstaining_lists_closest_passages_not_an_answer() -> None:
    result = compose_answer([_hit(WAR, 0.1), _hit(VISITS, 0.05, 1)], abstain=True, question="Who won?")
    assert result.abstained
    assert result.text.startswith(ABSTAIN_MESSAGE)
    assert CLOSEST_HEADING in result.text


def test_a_clearly_relevant_second_sentence_is_cited_below_half_the_best() -> None:
    peaked = [_hit("X signed the declaration.", 0.77, 0), _hit("The declaration focuses on trade.", 0.23, 1)]
    tail = [_hit("A sentence.", 0.8, 0), _hit("Other words here.", 0.12, 1)]
    assert [h.sentence_id for h in select_citations(peaked)] == [0, 1]
    assert [h.sentence_id for h in select_citations(tail)] == [0]


def test_quantity_nouns_make_count_questions() -> None:
    assert question_type("What is the number of towns?") == "count"
    assert question_type("What is the population of the town?") is None  # no literal "population" rule
    assert question_type("how much did it cost") == "count"


def test_an_abstention_offers_the_question_respelled_and_the_offer_reads_back() -> None:
    offered = compose_answer([_hit(VISITS, 0.4)], abstain=True, interpreted_as="q", respelled="who is turkey's president")
    assert offered_respelling(offered.text) == "who is turkey's president"
    assert offered_respelling(compose_answer([_hit(VISITS, 0.4)], abstain=True, interpreted_as="q").text) is None
    assert offered_respelling("Did you mean: who is turkey's president") is None  # not an abstention's


def test_asking_the_offer_drops_the_misspelt_turn_from_the_conversation() -> None:
    text = f"{ABSTAIN_MESSAGE} Did you mean: who is turkey's president\n{CLOSEST_HEADING}\n[1] {VISITS}"
    earlier = [{"role": "user", "content": "Who visited?"}, {"role": "assistant", "content": VISITS}]
    history = [*earlier, {"role": "user", "content": "who is turky's presdent"}, {"role": "assistant", "content": text}]
    assert without_offered_turn("Who is  Turkey's president", history) == earlier
    assert without_offered_turn("who is turkey's prime minister", history) == history
    assert without_offered_turn("who is turkey's president", history[:-1]) == history[:-1]
    assert without_offered_turn("who is turkey's president", None) is None
    # questions only (`citeqa ask --after`): the respelling is worked out from the question
    questions = [{"role": "user", "content": "Who visited?"}, {"role": "user", "content": "who is turky's presdent"}]
    respell = {"who is turky's presdent": "who is turkey's president"}.get
    assert without_offered_turn("who is turkey's president", questions, respell) == questions[:1]
    assert without_offered_turn("who is turkey's prime minister", questions, respell) == questions


def test_a_sentence_ending_with_a_colon_brings_what_it_introduces() -> None:
    intro = Hit(text="Developers protect your rights with two steps:", score=0.7, doc_id="d", sentence_id=4, start=0, end=47, context="")
    steps = Hit(text="(1) assert copyright, and (2) offer you this License.", score=0.0, doc_id="d", sentence_id=5, start=48, end=101, context="")
    other = _hit(VISITS, 0.3, row=9)
    answer = compose_answer([intro, other], abstain=False, introduced=[steps])
    assert [hit.sentence_id for hit in answer.citations] == [4, 5, 9]
    assert answer.text == f"{intro.text} [1]\n{steps.text} [2] {VISITS} [3]"  # "(1) ..." opens a list: a line of its own
    # cited lower already: moved up, not cited twice; the last gives way at the limit; one allowed: [1] alone
    assert [h.sentence_id for h in cites_what_it_introduces([intro, other, steps], [steps], 3)] == [4, 5, 9]
    assert [h.sentence_id for h in cites_what_it_introduces([intro, other], [steps], 2)] == [4, 5]
    assert [h.sentence_id for h in cites_what_it_introduces([intro], [steps], 1)] == [4]


def test_a_sentence_ending_otherwise_brings_nothing() -> None:
    after = _hit(VISITS, 0.0, row=1)
    assert [h.sentence_id for h in cites_what_it_introduces([_hit(WAR, 0.9)], [], 3)] == [0]
    assert compose_answer([_hit(WAR, 0.9)], abstain=True, introduced=[after]).citations[0].text == WAR


ITEMS = ["• ENUMERATED;", "• BOOLEAN;"]


def test_a_cited_lists_items_each_start_a_line_and_a_terminal_reads_wrapped_lines_as_spaces() -> None:
    intro = _hit("The parser manages these types:", 0.8, row=1)
    items = [_hit(text, 0.0, row=2 + i) for i, text in enumerate(ITEMS[:2])]
    assert format_cited([intro, *items]) == "The parser manages these types: [1]\n• ENUMERATED; [2]\n• BOOLEAN; [3]"
    wrapped = _hit("It can berth\n   twelve ships.", 0.5, row=9)
    assert format_cited([_hit(WAR, 0.9), wrapped]) == f"{WAR} [1] It can berth\n   twelve ships. [2]"
    assert format_cited([_hit(WAR, 0.9), wrapped], one_line=True) == f"{WAR} [1] It can berth twelve ships. [2]"


def test_an_answer_held_to_documents_names_them_the_first_three_then_counts():
    from citeqa.answer.compose import only_in

    assert only_in([]) == ""
    assert only_in(["a.txt"]) == " (only in a.txt)"
    assert only_in(["a.txt", "b.pdf"]) == " (only in a.txt and b.pdf)"
    assert only_in(["a", "b", "c"]) == " (only in a, b and c)"
    assert only_in(["a", "b", "c", "d", "e"]) == " (only in a, b, c and 2 more)"
