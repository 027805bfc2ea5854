"""The chat reply shows the answer's confidence in short words and the number."""

from __future__ import annotations

from html import unescape

from citeqa.schema import Answer, Hit
from citeqa.serve.render import render_answer


def _hit() -> Hit:
    return Hit(text="It opened in 2024.", score=0.9, doc_id="d.txt", sentence_id=0, start=0, end=18, context="It opened in 2024.")


def test_reply_shows_confidence_words_and_number():
    reply = unescape(render_answer(Answer(text="It opened in 2024. [1]", citations=[_hit()], confidence=0.82), answer_id="a"))
    assert '<p class="cq-confidence"' in reply and "confidence: high (0.82)" in reply
    low = unescape(render_answer(Answer(text="No.", citations=[_hit()], abstained=True, confidence=0.05), answer_id="b"))
    assert "confidence: low (0.05)" in low


def test_reply_without_confidence_shows_none():
    assert "cq-confidence" not in render_answer(Answer(text="x", citations=[_hit()]), answer_id="c")
