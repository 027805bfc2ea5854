"""Segmentation of the shipped article: offsets, abbreviations, headline and caption."""

from __future__ import annotations

import pytest

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
