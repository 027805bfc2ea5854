"""The typed JSON contracts (serve.contracts) match what Hit.to_dict and Answer.to_dict produce,
so gradio_client's view_api() and the MCP output schemas describe the real replies."""

from __future__ import annotations

from citeqa.schema import Answer, Hit
from citeqa.serve.contracts import AnswerJSON, HitJSON, RetrieveJSON


def _hit() -> Hit:
    return Hit(text="B.", score=0.5, doc_id="d.txt", sentence_id=1, start=3, end=5, context="A. B.", answer_spans=((0, 1),))


def test_hit_and_answer_dicts_have_exactly_the_contract_keys():
    hit = _hit().to_dict()
    assert HitJSON.__required_keys__ <= set(hit) <= HitJSON.__required_keys__ | HitJSON.__optional_keys__
    answer = Answer(text="B. [1]", citations=[_hit()]).to_dict()
    assert set(answer) == AnswerJSON.__required_keys__
    assert RetrieveJSON.__required_keys__ == {"question", "hits"}


def test_pydantic_validates_a_real_answer_against_the_contract():
    from pydantic import TypeAdapter

    data = Answer(text="B. [1]", citations=[_hit()]).to_dict()
    assert TypeAdapter(AnswerJSON).validate_python(data) == data
