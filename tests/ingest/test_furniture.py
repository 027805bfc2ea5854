"""Lines of a PDF that are not its text: pure rules on lines, then through a real PDF (pypdf)."""

from __future__ import annotations

from pdfwriter import write_pdf

from citeqa.ingest.furniture import contents_lines, running_lines
from citeqa.ingest.pdf import extract_pdf


def _kept(pages: list[list[str]]) -> list[list[str]]:
    dropped = running_lines(pages)
    return [[line for i, line in enumerate(lines) if i not in drop] for lines, drop in zip(pages, dropped, strict=True)]


_WORDS = ["harbour", "ferry", "tide", "gate", "salmon", "river", "bridge", "quay", "lock", "weir"]


def _body(page: int) -> list[str]:
    """Four lines of text of their own: a page's words differ from another's."""
    w = _WORDS[page:] + _WORDS[:page]
    return [f"The {w[0]} is near the {w[1]}.", f"A {w[2]} and a {w[3]} meet there.", f"So the {w[4]} goes on.", f"Then the {w[5]} ends."]


def test_heads_on_every_other_page_are_left_out_there_only() -> None:
    even, odd = "Conference 2018, Woodstock, NY Trovato et al.", "The Name of the Title Is Hope"
    pages = [[odd, *_body(1)]] + [[even if page % 2 == 0 else odd, *_body(page)] for page in range(2, 7)]
    kept = _kept(pages)
    # page 1 shows the short title as its title: it stays
    assert kept[0] == [odd, *_body(1)]
    assert kept[1:] == [_body(page) for page in range(2, 7)]
    # a line atop two even pages of five (pages 2 and 4) runs; atop one of two even pages it may be text
    assert _kept([_body(1), ["Step one", *_body(2)], _body(3), ["Step one", *_body(4)], _body(5)])[1] == _body(2)
    assert _kept([_body(1), ["Step one", *_body(2)], _body(3), _body(4), _body(5)])[1] == ["Step one", *_body(2)]


def test_a_slide_shown_on_consecutive_pages_is_no_head() -> None:
    # a deck's overlays: pages 3, 4 and 5 show one slide, so its lines are on odd and even pages
    slide = ["Results", "The salmon count rose."]
    pages = [_body(1), _body(2), slide, [*slide, "A third more than last year."], [*slide, "Most of them in May."], _body(6)]
    assert _kept(pages) == pages


def test_heads_on_three_pages_of_three_still_need_every_page() -> None:
    # page 2 is the only even page: a line atop it alone is text
    pages = [_body(1), ["Results", *_body(2)], _body(3)]
    assert _kept(pages) == pages


def test_a_side_bar_repeated_mid_page_on_nearly_every_page_is_left_out() -> None:
    bar = ["QUICK LINKS", "Introduction Installation", "document"]
    pages = [[*_body(page), *bar, *_body(page + 5)] for page in range(1, 5)]
    assert _kept(pages) == [[*_body(page), *_body(page + 5)] for page in range(1, 5)]
    # on half the pages it may be text; short lines ("}", code) are never a side bar
    pages = [[*_body(page), "}", *(bar if page % 2 else []), *_body(page + 5)] for page in range(1, 5)]
    assert _kept(pages) == pages
    # three pages are too few to tell a side bar from a refrain
    pages = [[*_body(page), *bar, *_body(page + 5)] for page in range(1, 4)]
    assert _kept(pages) == pages


def test_a_front_matters_page_number_at_a_page_edge_is_left_out() -> None:
    assert _kept([["Preface", "Text.", "ii"], ["iii", "More text."]]) == [["Preface", "Text."], ["More text."]]
    # in the middle of a page it is left alone
    assert _kept([["a", "ii", "b", "c", "d", "e", "f"]]) == [["a", "ii", "b", "c", "d", "e", "f"]]


def test_contents_entries_wrapped_onto_two_lines_are_left_out() -> None:
    lines = [
        "Table of Contents",
        "7.33 Why are powers of negative numbers wrong? . . . . . . . 38",
        "7.34 How can I save the result of each iteration in",
        "a loop into a separate file? . . . . . . . . . . . . . . 38",
        "Chapter 8",
        "I fit a linear model with no intercept? . . . . . . . . . . 41",
        "anova . . . . . . . . . . . . . 58, 60",
        "F",
        "The text starts here.",
    ]
    # an entry's wrapped first line goes with it, as does a line between two entries
    assert contents_lines(lines) == {1, 2, 3, 4, 5, 6, 7}
    # a sentence before a leader that neither follows an entry nor is numbered stays
    assert contents_lines(["We went on.", "x . . . . . . 2"]) == {1}


def test_a_papers_furniture_is_left_out_of_a_real_pdf() -> None:
    def page(number: int) -> list[tuple[float, float, str]]:
        head = [] if number == 1 else [(760, 9, "Trovato et al." if number % 2 == 0 else "The Name of the Title Is Hope")]
        bar = [(600, 9, "QUICK LINKS"), (588, 9, "Introduction and Usage")]
        body = [(700 - 14 * k, 10, f"The {_WORDS[(number + k) % 10]} is text that a reader reads, {'one two three'[: 4 * k]}.") for k in range(6)]
        return head + body[:3] + bar + body[3:] + [(40, 9, str(number))]

    text = extract_pdf(write_pdf([page(n) for n in range(1, 7)]), "paper.pdf").text
    assert "Trovato" not in text and "Title Is Hope" not in text and "QUICK" not in text and "Usage" not in text
    for number in range(1, 7):
        for k in range(6):
            assert f"The {_WORDS[(number + k) % 10]} is text that a reader reads, {'one two three'[: 4 * k]}." in text


def test_a_head_with_the_printed_page_number_is_left_out_though_its_words_change() -> None:
    # R's reference manual: each help page's name heads one or two pages, numbered from page 4 on
    topics = ["is.finite", "is.finite", "is.function", "is.language", "is.language", "is.na"]
    pages = []
    for page, topic in enumerate(topics, start=4):
        head = f"{page + 296} {topic}" if page % 2 == 0 else f"{topic} {page + 296}"
        pages.append([head, *_body(page % 10)])
    cover = [_body(k) for k in range(1, 4)]
    assert _kept(cover + pages) == cover + [_body(page % 10) for page in range(4, 10)]
    # a number that is not the page's ("Table 4" ends a page) stays, as does a footnote numbered as the page is
    pages[2] = [*pages[2], "Table 4"]
    pages[3] = [*pages[3], "303 for some clients it may appear to work."]
    assert _kept(cover + pages)[5][-1] == "Table 4"
    assert _kept(cover + pages)[6][-1] == "303 for some clients it may appear to work."
    # with only two pages so numbered, a heading such as "3 Results" may be text
    few = [[f"{k} Results", *_body(k)] if k in (3, 5) else _body(k) for k in range(1, 9)]
    assert _kept(few) == few
