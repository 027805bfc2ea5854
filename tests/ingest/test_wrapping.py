"""Hard-wrapped plain text: its fill width, its wraps, and the paragraphs and sentences read from it."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from citeqa.ingest.segment import paragraph_spans, segment_document
from citeqa.ingest.wrapping import MAX_WIDTH, MIN_WIDTH, fill_width, is_wrap, line_pairs, runs_on
from citeqa.schema import Document

PROSE = (
    "The harbour authority will reopen the north quay to fishing boats on Monday 4 May, once the "
    "repairs to the sea wall are finished. Pleasure craft from Visby, Slite and Farosund may moor at "
    "the south pontoon until then, free of charge. The Harbour Master, Anna Lind, answers on channel "
    "12 at any hour; Erik Holm of the Norrby Sailing Club keeps the list of berths. THE AUTHORITY "
    "ACCEPTS NO LIABILITY FOR DAMAGE TO VESSELS MOORED AT THE NORTH QUAY BEFORE IT REOPENS."
)

# Filled by hand to 72 columns as an editor would: lines 2-4 start with capitals mid-sentence.
NOTICE = """NORRBY HARBOUR NOTICE

The harbour authority will reopen the north quay to fishing boats from
Visby and Gotland on Monday 4 May, once the repairs to the sea wall are
finished. Pleasure craft may moor at the south pontoon until then, free
Of charge for the first week. Questions go to the harbour office.

THE AUTHORITY ACCEPTS NO LIABILITY FOR DAMAGE TO VESSELS MOORED AT THE
NORTH QUAY BEFORE IT REOPENS, WHATEVER THE CAUSE OF THE DAMAGE.
"""


def _paragraphs(text: str) -> list[str]:
    return [text[s:e] for s, e in paragraph_spans(text)]


def test_the_fill_width_is_the_one_every_line_pair_agrees_with():
    # a 68-character line before a 5-letter word, 70 before 3, 65 before 8: all wrap at 70-73
    assert fill_width(np.array([[68, 5], [70, 3], [65, 8]])) == 70


def test_no_fill_width_narrower_than_filled_text_is():
    # an address's lines agree with 14 as filled text agrees with 70: "Harbour Office", "Quay Street 12", "Porthkennack", "PK1 2AB"
    address = line_pairs(["Harbour Office", "Quay Street 12", "Porthkennack"], ["Quay Street 12", "Porthkennack", "PK1 2AB"])
    assert fill_width(address) is None
    assert fill_width(np.array([[MIN_WIDTH, 5], [MIN_WIDTH - 1, 3], [MIN_WIDTH - 2, 8]])) == MIN_WIDTH


def test_no_fill_width_without_enough_pairs_or_agreement():
    assert fill_width(np.array([[68, 5], [70, 3]])) is None  # fewer than three pairs
    assert fill_width(np.zeros((0, 2), dtype=np.int64)) is None
    # one paragraph per line: every line longer than any fill width looked for
    assert fill_width(np.array([[MAX_WIDTH + 40, 3], [MAX_WIDTH + 300, 4], [MAX_WIDTH + 1, 2]])) is None
    # a list of short items of all lengths: no width that most breaks agree with
    assert fill_width(np.array([[12, 4], [30, 3], [51, 6], [20, 5], [44, 2]])) is None


@pytest.mark.parametrize("width", [50, 60, 72, 79])
def test_every_line_break_textwrap_makes_is_read_as_a_wrap(width):
    lines = textwrap.wrap(PROSE, width)
    found = fill_width(line_pairs(lines[:-1], lines[1:]))
    assert found is not None and found <= width
    assert all(is_wrap(upper, lower, found) for upper, lower in zip(lines, lines[1:]))
    assert _paragraphs("\n".join(lines)) == ["\n".join(lines)]


def test_a_line_that_could_have_held_the_next_word_is_no_wrap():
    assert not is_wrap("NORRBY HARBOUR NOTICE", "The harbour authority will", 72)
    assert is_wrap("The harbour authority will reopen the north quay to fishing boats from", "Visby and", 72)
    assert not is_wrap("The harbour authority will reopen the north quay to fishing boats from", "Visby", None)


@pytest.mark.parametrize(
    "upper",
    [
        # the GPL: "... or (2) access to copy the" / "Corresponding Source from a network server ..."
        "conveying of source, or (2) access to copy the",
        "The harbour office lends charts to the owners of",
        "Boats moor at the north quay, the south pontoon,",
    ],
)
def test_a_line_the_author_broke_short_after_a_comma_or_a_word_no_sentence_ends_with_runs_on(upper):
    assert is_wrap(upper, "Corresponding Source from a network server at no charge.", 72)
    assert not is_wrap(upper, "Corresponding Source from a network server at no charge.", None)  # not in unwrapped text
    assert not is_wrap(upper, "- Corresponding Source", 72)  # nor onto a list item


@pytest.mark.parametrize("upper", ["2.1 Opening the barrage gate", "Boats moor at the north quay.", "Apply to the harbour office", "Terms of the theme", "Spain and Andorra"])
def test_a_short_line_ending_otherwise_is_no_wrap(upper):
    assert not is_wrap(upper, "Corresponding Source from a network server at no charge.", 72)


@pytest.mark.parametrize(
    "lower",
    ["- the south pontoon", "* the south pontoon", "• the south pontoon", "◦ the south pontoon", "▪ The south pontoon",
     "2. The south pontoon", "b) The south pontoon", "(iv) The pontoon", "A. The pontoon"],
)
def test_a_list_item_is_never_wrapped_onto(lower):
    assert not is_wrap("Pleasure craft may moor at the following places while the quay is shut:", lower, 72)


def test_a_rule_or_underline_neither_wraps_nor_is_wrapped_onto():
    heading = "How to book a berth at the south pontoon for the summer season, 2026"
    assert not is_wrap(heading, "=" * len(heading), 72)
    assert not is_wrap("=" * 72, "Berths are booked at the harbour office.", 72)


def test_a_hard_wrapped_notice_keeps_its_paragraphs_and_its_headline_apart():
    assert _paragraphs(NOTICE) == [
        "NORRBY HARBOUR NOTICE",
        NOTICE.split("\n\n")[1],
        NOTICE.split("\n\n")[2].strip(),
    ]


def test_a_sentence_of_a_hard_wrapped_text_runs_on_over_a_capitalised_line():
    sentences = segment_document(Document("notice.txt", NOTICE, "notice.txt", "0" * 64))
    texts = [s.text for s in sentences]
    assert texts[1] == (
        "The harbour authority will reopen the north quay to fishing boats from\n"
        "Visby and Gotland on Monday 4 May, once the repairs to the sea wall are\nfinished."
    )
    assert texts[-1].startswith("THE AUTHORITY ACCEPTS") and texts[-1].endswith("THE DAMAGE.")
    assert all(NOTICE[s.start : s.end] == s.text for s in sentences)


PARAGRAPH_PER_LINE = (
    "Harbour reopens after storm\n"
    "The north quay of Norrby reopened on Monday after repairs to the sea wall that took the whole of the winter months.\n"
    "Fishing boats were the first back, followed by the ferries from Visby in the afternoon, the harbour master said.\n"
    "(Photo: Norrby Harbour)\n"
)
# an aligned table's rows are all as long as one another: every pair agrees with that length
TABLE = (
    "Port        High water   Low water\n"
    "Norrby           07:45       14:02\n"
    "Visby            08:10       14:30\n"
    "Slite            08:25       14:41\n"
)


@pytest.mark.parametrize("text", [PARAGRAPH_PER_LINE, TABLE], ids=["paragraph-per-line", "aligned-table"])
def test_lines_that_are_not_filled_prose_stay_paragraphs_of_their_own(text):
    assert _paragraphs(text) == text.strip().split("\n")


def test_a_tables_rows_are_no_wraps():
    assert not is_wrap("Norrby           07:45       14:02", "Visby            08:10       14:30", 34)


def test_a_line_below_an_underline_starts_a_paragraph_even_in_lowercase():
    text = "Configuration\n-------------\nadduser and deluser read their settings from two files."
    assert _paragraphs(text) == ["Configuration", "-------------", "adduser and deluser read their settings from two files."]


def test_a_hard_wrapped_text_file_is_answered_with_its_whole_sentence(index_of):
    index = index_of("notice.txt", NOTICE)
    answer = index.answer("When will the north quay reopen to fishing boats?")
    first = answer.citations[0]
    assert not answer.abstained
    assert first.text == NOTICE[first.start : first.end]
    # before wrapped lines were joined, the sentence stopped at "boats from" and lost its date
    assert "Monday 4 May" in first.text and first.text.startswith("The harbour authority")


def test_a_line_runs_on_when_it_starts_in_lowercase_or_is_a_wrap_and_never_below_a_line_without_words():
    assert runs_on("The harbour office opens at nine", "and closes at five.", None)  # lowercase: even unwrapped text
    assert runs_on("The harbour authority will reopen the north quay to fishing boats from", "Visby and", 72)
    assert not runs_on("The harbour authority will reopen the north quay to fishing boats from", "Visby and", None)
    assert not runs_on("=" * 40, "and closes at five.", 72)  # below an underline a paragraph starts
