"""Segmentation: the shipped article (offsets, abbreviations, headline, caption) and hostile input in linear time."""

from __future__ import annotations

import threading
import time

import pysbd
import pytest

from citeqa.ingest import segment
from citeqa.schema import Document
from citeqa.ingest.segment import paragraph_spans, segment_document, sentence_spans
from citeqa.ingest.sources import read_documents


@pytest.fixture(scope="module")
def article() -> Document:
    return read_documents()[0]


@pytest.fixture(scope="module")
def sentences(article):
    return segment_document(article)


def test_every_sentence_is_an_exact_slice_of_the_document(article, sentences):
    assert sentences
    for sentence in sentences:
        assert article.text[sentence.start : sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip()


def test_sentences_are_in_order_and_do_not_overlap(sentences):
    for before, after in zip(sentences, sentences[1:]):
        assert before.end <= after.start


def test_abbreviated_dates_do_not_split_sentences(sentences):
    texts = [s.text for s in sentences]
    assert any("Sept. 7, 2021" in t for t in texts)
    assert any("truce on Nov. 10, Azerbaijan liberated" in t for t in texts)
    assert not any(t.endswith("Sept.") or t.endswith("Nov.") for t in texts)


def test_headline_and_caption_are_sentences_of_their_own(article, sentences):
    assert sentences[0].text == "Turkish, Azerbaijani militaries hold joint exercise in Lachin"
    caption = sentences[1].text
    assert caption.startswith("Turkish and Azerbaijani militaries participate")
    assert caption.endswith("(AA Photo)")
    assert sentences[0].paragraph_id != sentences[1].paragraph_id != sentences[2].paragraph_id


def test_the_article_has_the_expected_sentence_count(sentences):
    # 2 (headline, caption) + 16 body paragraphs, three of which hold two sentences.
    assert len(sentences) == 21


def test_paragraph_spans_cover_each_line_and_join_wrapped_lines():
    text = "Title\nFirst line of a paragraph\nwrapped here.\n\nSecond paragraph."
    spans = [text[s:e] for s, e in paragraph_spans(text)]
    assert spans == ["Title", "First line of a paragraph\nwrapped here.", "Second paragraph."]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_blank_line_ends_a_paragraph_even_before_a_lowercase_line(newline):
    text = newline.join(["Consider this code:", "", "fn main() {", "let x = 5;", "}", "", "then it runs."])
    spans = [text[s:e] for s, e in paragraph_spans(text)]
    # the code line after the blank line is no part of the prose above it; wrapped lines still join
    assert spans == ["Consider this code:", f"fn main() {{{newline}let x = 5;", "}", "then it runs."]


def test_a_web_pages_code_block_stays_out_of_the_sentence_that_introduces_it():
    from pathlib import Path

    from citeqa.ingest.extract import extract

    page = Path(__file__).resolve().parents[1] / "data" / "formats" / "wrapped.html"
    text = extract(page.read_bytes(), "wrapped.html").text
    sentences = segment_document(Document("wrapped.html", text, str(page), "0" * 64))
    introducing = [s.text for s in sentences if "released again:" in s.text]
    assert introducing == [
        "Here is a short program that shows where a variable is valid; the comments mark the points where the value is created and where it is released again:"
    ]
    # the block is one paragraph and here one sentence, apart from the prose before and after it
    assert [s.text for s in sentences if "harbour)" in s.text] == [
        'fn main() { let harbour = Quay::open("north"); // harbour is valid from here moor(harbour); } // harbour is released here'
    ]
    _check_exact_and_complete(text, sentences)


def test_a_question_or_exclamation_mark_inside_a_sentence_does_not_end_it():
    paragraph = "If an error occurs, the ? operator returns early. Then unwrap calls the panic! macro for us. Who knows? Nobody."
    texts = [paragraph[s:e] for s, e in sentence_spans(paragraph)]
    assert texts == [
        "If an error occurs, the ? operator returns early.",
        "Then unwrap calls the panic! macro for us.",
        "Who knows?",
        "Nobody.",
    ]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        # a code block of the Rust book, one paragraph: pysbd cut "#!" and "x !" off
        (
            '#![allow(unused)] fn main() { let x = 5; if x != 3 { println!("x is {x}"); } }',
            ['#![allow(unused)] fn main() { let x = 5; if x != 3 { println!("x is {x}"); } }'],
        ),
        ("Is it?Yes, it is. What?! No way.", ["Is it?Yes, it is.", "What?!", "No way."]),
        ('He shouted "Stop!" and left. Hello! World.', ['He shouted "Stop!" and left.', "Hello!", "World."]),
    ],
)
def test_a_question_or_exclamation_mark_with_no_space_after_it_ends_no_sentence(paragraph, expected):
    assert [paragraph[s:e] for s, e in sentence_spans(paragraph)] == expected


def test_sentence_spans_keep_offsets_with_unicode_and_credits():
    paragraph = "Erdoğan spoke on Sept. 7, 2021. “It went well,” he said. (Reuters)"
    spans = sentence_spans(paragraph)
    texts = [paragraph[s:e] for s, e in spans]
    assert texts == ["Erdoğan spoke on Sept. 7, 2021.", "“It went well,” he said. (Reuters)"]


def test_crlf_documents_keep_exact_offsets():
    text = "Headline\r\n\r\nOne sentence here. Another one there.\r\n"
    doc = Document(doc_id="d", text=text, path="d", sha256="")
    sentences = segment_document(doc)
    assert [s.text for s in sentences] == ["Headline", "One sentence here.", "Another one there."]
    for s in sentences:
        assert text[s.start : s.end] == s.text


# --- linear time, exact offsets on hostile input (issue 16, F1) ---------------------------


def _check_exact_and_complete(text, sentences):
    """Offsets round-trip, spans are ordered and stripped, and no visible character is lost."""
    covered = 0
    previous_end = 0
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert s.text and s.text == s.text.strip()
        assert s.start >= previous_end
        covered += sum(not ch.isspace() for ch in s.text)
        previous_end = s.end
    assert covered == sum(not ch.isspace() for ch in text)


def _timed_segment(text):
    doc = Document(doc_id="big", text=text, path="big", sha256="")
    began = time.perf_counter()
    sentences = segment_document(doc)
    return sentences, time.perf_counter() - began


def test_a_megabyte_of_short_lowercase_lines_is_segmented_in_seconds():
    # every line continues the paragraph above, so this is one 1 MB paragraph of
    # 333,334 sentences: quadratic before (155 s at 96 kB), seconds now
    text = "a.\n" * 333_334
    sentences, seconds = _timed_segment(text)
    assert seconds < 20, f"took {seconds:.1f} s"
    assert len(sentences) == 333_334
    assert {s.text for s in sentences} == {"a."}
    _check_exact_and_complete(text, sentences)


@pytest.mark.parametrize(
    "unit",
    ["a", "a.", "word ", "Mr. Smith e.g. "],
    ids=["no-spaces-no-periods", "periods-no-spaces", "spaces-no-periods", "spaces-and-abbreviations"],
)
def test_a_megabyte_on_one_line_is_segmented_in_seconds(unit):
    text = unit * (1_000_000 // len(unit))
    sentences, seconds = _timed_segment(text)
    assert seconds < 20, f"took {seconds:.1f} s"
    _check_exact_and_complete(text, sentences)
    # a run without any sentence end is cut into pieces no longer than one window
    assert max(len(s.text) for s in sentences) <= segment._CHUNK


def test_long_paragraphs_read_in_windows_split_as_in_one_call(article, monkeypatch):
    # the article's lines as one 3 kB paragraph: small windows give the same sentences
    paragraph = " ".join(line.strip() for line in article.text.splitlines() if line.strip())
    whole = sentence_spans(paragraph)
    monkeypatch.setattr(segment, "_CHUNK", 1_000)
    assert sentence_spans(paragraph) == whole
    assert len(whole) > 10


def test_sentences_are_pysbd_sentences(article):
    # the fast path (no quadratic re-finding, literal replaces) keeps pysbd's output
    reference = pysbd.Segmenter(language="en", clean=False)
    for p_start, p_end in paragraph_spans(article.text):
        paragraph = article.text[p_start:p_end].replace("\n", " ")
        expected = [piece.strip() for piece in reference.segment(paragraph) if piece.strip()]
        pieces = segment._pysbd_pieces(paragraph, 0, len(paragraph))
        assert [paragraph[s:e] for s, e in pieces] == expected


def test_pysbd_marks_in_a_document_no_longer_lose_text():
    # pysbd turns "∯" into "." and "♭" into ":" on the way out; these sentences used
    # to vanish (no longer found in the document)
    paragraph = "The rate ♭ 3 is high. Then it fell ∯ again. Price: 5∯ each. Done."
    texts = [paragraph[s:e] for s, e in sentence_spans(paragraph)]
    assert texts == ["The rate ♭ 3 is high.", "Then it fell ∯ again.", "Price: 5∯ each.", "Done."]


def test_segmentation_is_thread_safe(article):
    expected = [(s.start, s.end) for s in segment_document(article)]
    results = []

    def work():  # a thread that raises adds fewer results
        for _ in range(5):
            results.append([(s.start, s.end) for s in segment_document(article)])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20 and all(r == expected for r in results)


def test_information_separators_before_a_list_number_do_not_crash_pysbd():
    # "\x1c" is white space to pysbd's list regex but not to int(): ValueError before
    text = "Items:\x1c1. first one\x1f2. second one"
    sentences = segment_document(Document(doc_id="d", text=text, path="d", sha256=""))
    _check_exact_and_complete(text, sentences)


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("Run bash .ci/run now. Then wait.", ["Run bash .ci/run now.", "Then wait."]),
        ("See the .gitignore file for details.", ["See the .gitignore file for details."]),
        ("Add .txt/.md/.rst files in the Documents panel. Then ask.", ["Add .txt/.md/.rst files in the Documents panel.", "Then ask."]),
        ("It runs on .NET and Mono. Then go.", ["It runs on .NET and Mono.", "Then go."]),
        ("Wait . Then go.", ["Wait .", "Then go."]),  # a "." before white space still ends one
    ],
)
def test_a_name_starting_with_a_dot_does_not_end_a_sentence(paragraph, expected):
    # pysbd cut "See the ." from "gitignore file for details."
    assert [paragraph[s:e] for s, e in sentence_spans(paragraph)] == expected


@pytest.mark.parametrize(
    "row",
    [
        "PassengerId: 44; Name: Laroche, Miss. Simonne Marie Anne Andree; Sex: female; Age: 3.",  # "Miss." ends nothing
        "Berth: St. Olav's slip; Fee a night: 15 pounds; Longest boat: 9 m.",
        "Fee (pounds): 40; Opens: 07:45.",  # a closed parenthesis in a column's name, a time's ":" in a value
    ],
)
def test_a_table_row_is_one_sentence(row):
    assert sentence_spans(row) == [(0, len(row))]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        # Wikipedia's opening: the first "column" opens a parenthesis it does not close
        ("The Normans (Norman: Nourmands; French: Normands) were a people. They gave their name to Normandy.",
         ["The Normans (Norman: Nourmands; French: Normands) were a people.", "They gave their name to Normandy."]),
        # the last value goes on as prose
        ("Item: Pontoons; Note: Ordered in May. Delivery is late.", ["Item: Pontoons; Note: Ordered in May.", "Delivery is late."]),
        # a sentence before the pairs
        ("The ferry leaves at nine. Tickets: 40 kronor; children: free.", ["The ferry leaves at nine.", "Tickets: 40 kronor; children: free."]),
    ],
)
def test_prose_with_colons_and_semicolons_is_not_a_row(paragraph, expected):
    assert [paragraph[s:e] for s, e in sentence_spans(paragraph)] == expected
