"""Title questions ("What is T?" for each SQuAD title) and the rate fitted for the "What is X?" rule (real model and index)."""

from __future__ import annotations

from built import NORRBY
from citeqa import build_index
from citeqa.eval import corpora, topics

TOWN = NORRBY.strip().split("\n\n")[1:]  # its paragraphs, under a SQuAD title
HARBOUR = ["1 Ferries", "Ferries leave the harbour every hour in summer and twice a day in winter."]


def _corpus_and_index(tmp_path, embedder, title, paragraphs):
    data = {"version": "1.1", "data": [{"title": title, "paragraphs": [{"context": p, "qas": []} for p in paragraphs]}]}
    corpus = corpora.squad_corpus(data)
    folder = corpora.write_documents(corpus.documents, tmp_path / title / "docs")
    return corpus, build_index([folder], tmp_path / title / "idx", embedder=embedder)


def test_a_title_whose_opening_the_rule_cites_first_counts_as_right(tmp_path, embedder):
    corpus, index = _corpus_and_index(tmp_path, embedder, "Norrby", TOWN)
    half = corpus.halves[corpus.documents[0][0]]
    assert topics.title_counts(index, corpus, half) == topics.TopicCounts(asked=1, fired=1, right=1)
    other = corpora.REPORT if half == corpora.FIT else corpora.FIT
    assert topics.title_counts(index, corpus, other) == topics.TopicCounts()  # the other half holds no document


def test_a_title_with_a_heading_under_it_is_asked_but_not_answered_by_the_rule(tmp_path, embedder):
    corpus, index = _corpus_and_index(tmp_path, embedder, "Harbour notes", HARBOUR)
    half = corpus.halves[corpus.documents[0][0]]
    assert topics.title_counts(index, corpus, half) == topics.TopicCounts(asked=1, fired=0, right=0)


def test_the_rate_is_add_one_smoothed_and_none_without_answers():
    assert topics.topic_lead_probability([topics.TopicCounts(11, 11, 8)]) == 9 / 13
    assert topics.topic_lead_probability([topics.TopicCounts(5, 3, 3), topics.TopicCounts(6, 8, 5)]) == 9 / 13
    assert topics.topic_lead_probability([topics.TopicCounts(4, 0, 0)]) is None
    assert topics.topic_lead_probability([]) is None
    assert topics.rate(topics.TopicCounts(10, 10, 7)) == "7 of 10 (70%)" and topics.rate(topics.TopicCounts(3, 0, 0)) == "none"
