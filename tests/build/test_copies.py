"""Documents that repeat others (citeqa.build.copies): pure logic on hand-made sentences."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.build.copies import MAX_OWNERS, MIN_SENTENCES, copies_message, held_documents


def _sentences(prefix: str, n: int) -> list[str]:
    return [f"The {prefix} harbour report sentence number {i} says something." for i in range(n)]


def _rows(documents: list[list[str]]) -> tuple[np.ndarray, list[str]]:
    rows, texts = [], []
    for number, sentences in enumerate(documents):
        for i, text in enumerate(sentences):
            rows.append((number, i * 100, i * 100 + len(text), i))
            texts.append(text)
    return np.array(rows, dtype=np.int64).reshape(-1, 4), texts


def test_a_print_page_holding_every_chapter_is_said_once_with_the_chapters_it_repeats():
    one, two, three = _sentences("north", 12), _sentences("south", 15), _sentences("east", 11)
    printed = ["Harbour Book"] + one + two + three
    assert held_documents(*_rows([one, two, printed, three])) == {2: [0, 1, 3]}


def test_copies_of_one_text_are_said_once_under_the_first():
    text = _sentences("north", 12)
    other = _sentences("west", 12)
    assert held_documents(*_rows([other, text, list(text), list(text)])) == {1: [2, 3]}


def test_a_revised_version_holds_the_old_one_when_most_sentences_stay():
    old = _sentences("north", 20)
    new = old[:17] + _sentences("revised", 5)  # 17 of the old 20 kept: 85%
    assert held_documents(*_rows([old, new])) == {1: [0]}
    assert held_documents(*_rows([old, old[:15] + _sentences("revised", 5)])) == {}  # 75%: no copy


@pytest.mark.parametrize(
    "documents",
    [
        # a short note quoting another document is no copy
        [_sentences("north", 30), _sentences("north", MIN_SENTENCES - 1)],
        # sentences of fewer than 4 words are not compared ("fn main() {", headings)
        [["fn main() {", "Summary", "Next steps", "See also"] * 5, ["fn main() {", "Summary", "Next steps", "See also"] * 5],
        # a footer every page carries is boilerplate
        [_sentences(f"page{i}", 3) + _sentences("footer", 12) for i in range(MAX_OWNERS + 1)],
    ],
)
def test_no_copy_is_found_without_enough_shared_sentences(documents):
    assert held_documents(*_rows(documents)) == {}


def test_the_message_names_the_first_three_and_counts_the_rest():
    message = copies_message("print.html", ["ch01.html", "ch02.html", "ch03.html", "ch04.html", "ch05.html"])
    assert message == (
        "print.html repeats 5 other documents (ch01.html, ch02.html, ch03.html and 2 more); "
        "answers may cite the same sentence from each: leave copies out of the sources"
    )
    assert copies_message("GPL", ["GPL-3"]).startswith("GPL repeats another document (GPL-3); ")


def test_rows_and_texts_must_match():
    with pytest.raises(ValueError, match="same length, got 1 and 0"):
        held_documents(np.zeros((0, 4), dtype=np.int64), ["one"])
