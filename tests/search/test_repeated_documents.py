"""A sentence the index holds twice (a document and its copy) is ranked once, with the share and confidence it has alone."""

from __future__ import annotations

import pytest

from citeqa.config import DEFAULT_ARTICLE, read_package_text

QUESTIONS = ("How many times has Erdogan visited Azerbaijan?", "What is the Shusha Declaration?")


@pytest.fixture(scope="module")
def doubled_index(tmp_path_factory, embedder):
    from citeqa import build_index

    folder = tmp_path_factory.mktemp("two-copies")
    text = read_package_text(DEFAULT_ARTICLE)
    (folder / "article.txt").write_text(text, encoding="utf-8")
    (folder / "article-print.txt").write_text(text, encoding="utf-8")
    return build_index([folder], tmp_path_factory.mktemp("two-copies-index"), embedder=embedder)


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_repeated_sentence_takes_one_place_with_the_share_it_has_alone(article_index, doubled_index, question):
    alone, twice = article_index.retrieve(question, 4), doubled_index.retrieve(question, 4)
    assert len({hit.text for hit in twice}) == 4
    assert [hit.text for hit in twice] == [hit.text for hit in alone]
    assert [hit.score for hit in twice] == pytest.approx([hit.score for hit in alone], abs=0.02)


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_repeated_document_leaves_the_confidence_as_it_is(article_index, doubled_index, question):
    alone, twice = article_index.answer(question), doubled_index.answer(question)
    assert not twice.abstained
    assert twice.citations[0].text == alone.citations[0].text
    assert twice.confidence == pytest.approx(alone.confidence, abs=0.02)
