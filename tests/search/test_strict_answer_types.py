"""The stricter answer types (a place for "where", a quantity of the asked thing for "how many"),
through the product's candidate stage with the real model, FAISS and BM25.

Sentences of the SQuAD 1.1 fit half (Super Bowl 50) and of the news-dev fit half (the Oscars
article); both documents name many things, so only the stricter type tells the sentence that
answers apart (:func:`citeqa.question.answer_type_level`).
"""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.search.features import FEATURES, feature_matrix

SUPER_BOWL = """Super Bowl 50

The American Football Conference (AFC) champion Denver Broncos defeated the National Football Conference (NFC) champion Carolina Panthers 24–10 to earn their third Super Bowl title.

The Panthers used the San Jose State practice facility and stayed at the San Jose Marriott. The Broncos practiced at Stanford University and stayed at the Santa Clara Marriott.
"""
OSCARS = """Eastwood's Million Dollar Baby wins Oscars

Clint Eastwood's Million Dollar Baby beat Martin Scorsese's The Aviator to the top awards at the Oscars on Sunday.

"It was a wonderful adventure," Eastwood said. "To make a picture in 37 days, it takes a well oiled machine."

Million Dollar Baby's success was the night's biggest surprise after The Aviator seemed to have the advantage until the end of the ceremony.
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    from citeqa import build_index

    folder = tmp_path_factory.mktemp("strict-type-docs")
    (folder / "super-bowl.txt").write_text(SUPER_BOWL, encoding="utf-8")
    (folder / "oscars.txt").write_text(OSCARS, encoding="utf-8")
    return build_index([folder], tmp_path_factory.mktemp("strict-type-index"), embedder=embedder)


def _columns(index, question: str, name: str) -> dict[str, float]:
    """The feature ``name`` of every candidate of ``question``, by the candidate's text."""
    vector = index.embedder.encode([question])[0]
    ids, context = index.ranker.gather(question, vector, question=question)
    column = feature_matrix(context)[:, FEATURES.index(name)]
    return {index.ranker.text(int(i)): float(v) for i, v in zip(ids, column)}


def test_a_where_question_marks_the_sentence_naming_a_place(index) -> None:
    question = "Where did the Broncos practice for the Super Bowl?"
    place = _columns(index, question, "answer_place")
    assert place["The Broncos practiced at Stanford University and stayed at the Santa Clara Marriott."] == 1.0
    names_only = next(text for text in place if text.startswith("The American Football Conference"))
    assert place[names_only] == 0.0  # names (Denver Broncos, Carolina Panthers), none standing as a place
    assert _columns(index, question, "answer_where")[names_only] == 1.0  # which the looser type cannot tell
    assert not any(_columns(index, question, "answer_quantity").values())
    assert index.retrieve(question, 1)[0].text.startswith("The Broncos practiced at Stanford")


def test_a_how_many_question_marks_the_sentence_counting_the_asked_thing(index) -> None:
    question = "How many days did it take to make Million Dollar Baby?"
    quantity = _columns(index, question, "answer_quantity")
    days = next(text for text in quantity if "37 days" in text)
    assert quantity[days] == 1.0
    assert all(v == 0.0 for text, v in quantity.items() if "37 days" not in text)
    assert not any(_columns(index, question, "answer_place").values())
    assert "37 days" in index.retrieve(question, 1)[0].text


def test_the_lazy_ranking_reads_the_stricter_type_as_the_full_one(index) -> None:
    from citeqa.search.rerank import rerank

    for question in ("Where did the Panthers practice?", "How many days did it take to make Million Dollar Baby?"):
        vector = index.embedder.encode([question])[0]
        ids, context = index.ranker.gather(question, vector, question=question)
        assert np.any(context.answer_type == 2.0)
        model = index.ranker.model
        full = rerank(ids, context, model.weights, 5, mlp=model.layer)
        assert index.ranker.rank(question, vector, 5, question=question).ids.tolist() == full.ids.tolist()
