"""Output hygiene (issue #16 F9): `ask --json` escapes C1 controls, DEL and bidi controls;
names show bidi controls visibly in the CLI and on the page."""

from __future__ import annotations

import json

import pytest

from citeqa.cli import main
from citeqa.schema import Hit
from citeqa.serve.render import plain_text, render_answer
from citeqa.text import escape_json_controls, visible_controls

NAME = "invoice\u202egnp.md"  # shows as "invoicemd.png" when the override is live
TEXT = "The harbour crane lifts forty tonnes \x9b31m and \x7f no more.\n"


@pytest.fixture(scope="module")
def tricky_index(tmp_path_factory, embedder):
    from citeqa import build_index

    root = tmp_path_factory.mktemp("tricky")
    (root / "docs").mkdir()
    (root / "docs" / NAME).write_text(TEXT, encoding="utf-8")
    return build_index([root / "docs"], root / "index", embedder=embedder)


def test_ask_json_escapes_c1_controls_del_and_bidi_controls(tricky_index, capsys):
    code = main(["ask", "How much does the harbour crane lift?", "--index", str(tricky_index.path.parent), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    assert not any(ch in out for ch in "\x9b\x7f\u202e"), "raw control characters reached the terminal"
    assert "\\u009b" in out and "\\u007f" in out and "\\u202e" in out
    data = json.loads(out)  # the same JSON value
    assert data["citations"][0]["doc_id"] == NAME and "\x9b31m" in data["citations"][0]["text"]


def test_ask_text_shows_bidi_controls_in_names(tricky_index, capsys):
    assert main(["ask", "How much does the harbour crane lift?", "--index", str(tricky_index.path.parent)]) == 0
    out = capsys.readouterr().out
    assert "invoice<U+202E>gnp.md" in out and "\u202e" not in out and "\x9b" not in out


def test_the_page_shows_bidi_controls_in_names():
    hit = Hit(text="The crane lifts forty tonnes.", score=1.0, doc_id=NAME, sentence_id=0, start=0, end=29,
              context="The crane lifts forty tonnes.")
    from citeqa.schema import Answer

    answer = Answer(text=hit.text, citations=[hit], abstained=False)
    html = render_answer(answer, answer_id="abc", question="How much?")
    assert "\u202e" not in html and "U+202E" in html
    assert "\u202e" not in plain_text(answer) and "invoice<U+202E>gnp.md" in plain_text(answer)


@pytest.mark.parametrize("ch", ["\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u202a", "\u202e", "\u2066", "\u2069", "\u200e", "\u200f"])
def test_each_control_is_visible_in_names_and_escaped_in_json(ch):
    assert ch not in visible_controls(f"a{ch}b") and f"<U+{ord(ch):04X}>" in visible_controls(f"a{ch}b")
    dumped = escape_json_controls(json.dumps({"k": f"a{ch}b"}, ensure_ascii=False))
    assert ch not in dumped and json.loads(dumped) == {"k": f"a{ch}b"}
