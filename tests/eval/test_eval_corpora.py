"""Evaluation corpora: the fit/report split is by document, deterministic and disjoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeqa.errors import InvalidArgumentError, SourceError
from citeqa.eval import corpora

REPO = Path(__file__).resolve().parents[2]
EXTRACT = REPO / "tests" / "data" / "squad-extract.json"


def _news_fixture() -> tuple[dict[str, str], list[str]]:
    """Six tiny articles (two of them a similar pair, as in news-dev) and their questions."""
    articles = {
        "business-224.txt": "Glazer bid\n\nThe bid values the club at 800m.\n",
        "sport-124.txt": "Ferdinand doubts Glazer\n\nThe defender spoke on Monday.\n",
        "tech-351.txt": "DS launch\n\nThe DS costs 99 pounds.\n",
        "tech-363.txt": "PSP launch\n\nThe PSP sold 500,000 units.\n",
        "business-069.txt": "Boeing jet\n\nThe 777 flies 11,664 miles.\n",
        "sport-405.txt": "Ireland win\n\nIreland won 19-13.\n",
    }
    lines = [
        json.dumps({"kind": "answerable", "doc": name, "question": f"What about {name}?", "answers": [text.split("\n\n")[1][:10]]})
        for name, text in articles.items()
    ]
    lines.append(json.dumps({"kind": "conversation", "turns": [
        {"doc": "tech-363.txt", "question": "How many PSPs sold?", "answers": ["500,000"]},
        {"doc": "tech-351.txt", "question": "what about the DS?", "answers": ["99 pounds"]}]}))
    for i in range(8):
        lines.append(json.dumps({"kind": "unanswerable", "why": "near-topic" if i < 6 else "off-topic", "question": f"Unanswerable {i}?"}))
    return articles, lines


def test_squad_split_is_by_article_and_matches_the_reranker_split():
    corpus = corpora.load_squad(EXTRACT)
    # Super_Bowl_50 is position 0 (fit, the reranker's training split), Warsaw position 1 (report)
    assert corpus.halves == {"000-Super-Bowl-50.txt": "fit", "001-Warsaw.txt": "report"}
    for case in corpus.cases:
        assert case.half == corpus.halves[case.turns[0].doc]
    assert {c.half for c in corpus.cases} == {"fit", "report"}
    texts = dict(corpus.documents)
    assert texts["001-Warsaw.txt"].startswith("Warsaw\n\n")  # the title is the headline line


def test_squad_positions_hold_the_answer_text():
    data = json.loads(EXTRACT.read_text(encoding="utf-8"))
    corpus = corpora.squad_corpus(data)
    texts = dict(corpus.documents)
    answers = [qa["answers"][0]["text"] for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]
    assert len(answers) == len(corpus.cases)
    for case, answer in zip(corpus.cases, answers):
        turn = case.turns[0]
        assert texts[turn.doc][turn.position : turn.position + len(answer)] == answer


def test_squad2_impossible_questions_are_negatives():
    data = {"data": [{"title": "Normans", "paragraphs": [{"context": "The Normans lived in Normandy.", "qas": [
        {"id": "a", "question": "Where did the Normans live?", "is_impossible": False, "answers": [{"text": "Normandy", "answer_start": 21}]},
        {"id": "b", "question": "Where did the Danes live?", "is_impossible": True, "answers": [], "plausible_answers": [{"text": "Normandy", "answer_start": 21}]},
    ]}]}]}
    corpus = corpora.squad_corpus(data, "squad2")
    kinds = {c.id: c.kind for c in corpus.cases}
    assert kinds == {"a": "answerable", "b": "impossible"}
    assert not corpus.cases[1].turns[0].answerable
    assert corpus.halves == {"000-Normans.txt": "fit"}  # Normans is at an even position of the tune file


def test_same_title_same_half_in_both_squad_files():
    for title in corpora.SQUAD_TUNE_TITLES:
        assert corpora.squad_half(title) == corpora.squad_half(title)
    assert [corpora.squad_half(t) for t in corpora.SQUAD_TUNE_TITLES[:4]] == ["fit", "report", "fit", "report"]
    # a title outside the tune file goes by its hash: stable, and both halves occur
    others = [corpora.squad_half(f"Other title {i}") for i in range(40)]
    assert others == [corpora.squad_half(f"Other title {i}") for i in range(40)]
    assert set(others) == {"fit", "report"}


def test_bad_squad_input_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(InvalidArgumentError, match="not a SQuAD file"):
        corpora.squad_corpus({"version": "1.1"})
    with pytest.raises(SourceError, match="not found"):
        corpora.load_squad(tmp_path / "missing.json")


def test_news_split_keeps_similar_pairs_together_and_is_deterministic():
    articles, lines = _news_fixture()
    corpus = corpora.news_corpus(articles, lines)
    again = corpora.news_corpus(dict(reversed(list(articles.items()))), list(lines))
    assert corpus.halves == again.halves
    assert [(c.id, c.half) for c in corpus.cases] == [(c.id, c.half) for c in again.cases]
    for a, b in corpora.NEWS_PAIRS:
        if a in articles:
            assert corpus.halves[a] == corpus.halves[b]
    # pairs alternate (business-224/sport-124 fit, tech pair report); singles alternate too
    assert corpus.halves["business-224.txt"] == "fit" and corpus.halves["tech-363.txt"] == "report"
    assert corpus.halves["business-069.txt"] == "fit" and corpus.halves["sport-405.txt"] == "report"
    fit, report = set(corpus.documents_in("fit")), set(corpus.documents_in("report"))
    assert fit and report and not fit & report and fit | report == set(articles)
    # every answerable case is in the half of its document; conversations follow their articles
    for case in corpus.cases:
        for turn in case.turns:
            if turn.doc:
                assert corpus.halves[turn.doc] == case.half


def test_news_unanswerable_questions_split_half_and_half_by_hash():
    articles, lines = _news_fixture()
    corpus = corpora.news_corpus(articles, lines)
    near = [c.half for c in corpus.cases if c.kind == "near-topic"]
    off = [c.half for c in corpus.cases if c.kind == "off-topic"]
    assert sorted(near) == ["fit"] * 3 + ["report"] * 3
    assert sorted(off) == ["fit", "report"]
    halves = corpora.alternate_by_hash(["b", "a", "c"])
    assert halves == corpora.alternate_by_hash(["b", "a", "c"])
    assert sorted(halves) == ["fit", "fit", "report"]


def test_news_conversation_across_halves_is_refused():
    articles, _ = _news_fixture()
    line = json.dumps({"kind": "conversation", "turns": [
        {"doc": "tech-363.txt", "question": "q1", "answers": ["PSP"]},
        {"doc": "business-224.txt", "question": "q2", "answers": ["bid"]}]})
    with pytest.raises(InvalidArgumentError, match="line 1 .*different halves"):
        corpora.news_corpus(articles, [line])
    with pytest.raises(InvalidArgumentError, match="unknown article"):
        corpora.news_corpus(articles, [json.dumps({"kind": "answerable", "doc": "nope.txt", "question": "q", "answers": ["a"]})])


def test_cross_document_parts_are_disjoint_and_keep_groups():
    articles, lines = _news_fixture()
    corpus = corpora.news_corpus(articles, lines)
    for half in corpora.HALVES:
        a, b = corpora.cross_document_groups(corpus, half)
        assert a and b and not set(a) & set(b)
        assert set(a) | set(b) == set(corpus.documents_in(half))
        for pair in corpora.NEWS_PAIRS:
            assert not (set(pair) & set(a) and set(pair) & set(b))


def test_gold_file_is_report_only():
    corpus = corpora.load_gold()
    assert corpus.documents_in("fit") == [] and corpus.cases_in("fit") == []
    assert len(corpus.documents) == 1 and corpus.documents_in("report") == [corpora.GOLD_DOCUMENT]
    kinds = {c.kind for c in corpus.cases}
    assert kinds == {"answerable", "near-topic", "off-topic", "conversation"}
    text = corpus.documents[0][1]
    for case in corpus.cases:
        for turn in case.turns:
            assert not turn.answers or any(a in text for a in turn.answers)


def test_write_documents_round_trips(tmp_path):
    folder = corpora.write_documents([("a.txt", "Title\n\nOne £ sentence.\n")], tmp_path / "docs")
    assert (folder / "a.txt").read_text(encoding="utf-8") == "Title\n\nOne £ sentence.\n"
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]


DOCS_DEV = REPO / "eval-data" / "docs-dev"


def test_a_negative_near_one_document_goes_with_that_documents_half():
    articles, lines = _news_fixture()
    lines = [line for line in lines if '"unanswerable"' not in line]
    lines.append(json.dumps({"kind": "unanswerable", "why": "near-topic", "doc": "tech-351.txt", "question": "Is the DS red?"}))
    lines.append(json.dumps({"kind": "unanswerable", "why": "near-topic", "doc": "business-224.txt", "question": "Who bid first?"}))
    corpus = corpora.qa_corpus("docs", articles, lines, corpora.NEWS_PAIRS)
    near = {c.question: c.half for c in corpus.cases if c.kind == "near-topic"}
    assert near == {"Is the DS red?": corpus.halves["tech-351.txt"], "Who bid first?": corpus.halves["business-224.txt"]}
    assert set(near.values()) == {"fit", "report"} and corpus.name == "docs"
    with pytest.raises(InvalidArgumentError, match="docs qa line 1 .*unknown article 'nope.txt'"):
        corpora.qa_corpus("docs", articles, [json.dumps({"kind": "unanswerable", "why": "near-topic", "doc": "nope.txt", "question": "q"})], ())


def test_docs_dev_split_is_by_licence_pair_and_manual_with_equal_halves():
    corpus = corpora.load_docs(DOCS_DEV)
    assert corpus.documents_in("fit") == ["Apache-2.0.txt", "MPL-2.0.txt", "libtasn1.txt"]
    assert corpus.documents_in("report") == ["GPL-3.txt", "LGPL-3.txt", "shared-mime-info.txt"]
    for half in corpora.HALVES:
        kinds = [c.kind for c in corpus.cases_in(half)]
        assert (kinds.count("answerable"), kinds.count("conversation"), kinds.count("near-topic"), kinds.count("off-topic")) == (47, 10, 10, 6)


def test_every_docs_dev_answer_lies_within_one_sentence_of_its_documents(tmp_path):
    """A gold answer that spans two sentences (or none) would make its question unanswerable by construction.

    The documents are read as the eval's index reads them (written out, then read and segmented)."""
    from citeqa.ingest.segment import segment_documents
    from citeqa.ingest.sources import read_documents

    corpus = corpora.load_docs(DOCS_DEV)
    sentences = [s.text for s in segment_documents(read_documents([corpus.write(tmp_path / "docs")]))]
    assert len(sentences) > 1000
    turns = [turn for case in corpus.cases if case.kind in ("answerable", "conversation") for turn in case.turns]
    assert len(turns) == 94 + 2 * 20
    for turn in turns:
        assert any(a in s for a in turn.answers for s in sentences), turn.question


def test_missing_docs_dev_folder_says_what_to_pass(tmp_path):
    with pytest.raises(SourceError, match="docs-dev articles not found: .*pass the docs-dev folder"):
        corpora.load_docs(tmp_path)
    (tmp_path / "articles").mkdir()
    with pytest.raises(SourceError, match="cannot read .*qa.jsonl"):
        corpora.load_docs(tmp_path)


def test_docs_dev_groups_that_are_not_lists_of_names_are_refused_in_words(tmp_path):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text("A\n\nText.\n", encoding="utf-8")
    (tmp_path / "qa.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "groups.json").write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match="groups.json must be a JSON list of file-name lists"):
        corpora.load_docs(tmp_path)
    (tmp_path / "groups.json").write_text("[[", encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match="groups.json must be a JSON list"):
        corpora.load_docs(tmp_path)
    (tmp_path / "groups.json").write_text('[["a.txt"]]', encoding="utf-8")
    assert corpora.load_docs(tmp_path).halves == {"a.txt": "fit"}
