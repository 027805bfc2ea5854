"""Odd questions through the Python API and the CLI: a clear message or an answer,
in bounded time, never a traceback; plus the embedder's safety under concurrent use."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from citeqa import answer, retrieve
from citeqa.errors import InvalidArgumentError, InvalidQuestionError
from citeqa.question import MAX_QUESTION_CHARS, clean_question

REPO = Path(__file__).resolve().parents[1]
# Generous guard against hangs, not a speed target (those live in benchmarks/).
HANG_GUARD_S = 30.0

REFUSED = {
    "empty": "",
    "blank": " \t\n\r ",
    "control_only": "\x00\x01\x02\x1b\x7f\x9f",
    "zero_width_only": "\u200b\u200c\u200d\u2060\ufeff",
    "rtl_marks_only": "\u202e\u200f\u202b\u2067",
    "lone_surrogates_only": "\ud800\udfff\udc80",
    "emoji_only": "😀🔥🙂👍🏽",
    "punctuation_only": "?!...",
    "one_megabyte": "a" * 1_000_000,
    "one_megabyte_of_words": "where was it " * 80_000,
    "over_the_limit_after_cleaning": "word " * (MAX_QUESTION_CHARS // 5 + 50),
}
# A question the shipped article answers (its [1] holds the count), dressed in odd characters.
# (It was "When did the joint exercise take place?" until its wrong [1], an undated sentence, came
# to be abstained on by the shipped policy: the test is about cleaning, not about that question.)
ANSWERED = {
    "control_chars": "How many\x00 times has\x1b[2J Erdogan\x07 visited Azerbaijan?",
    "lone_surrogates": "How many \ud800times has Erdogan visited Azerbaijan?\udfff",
    "rtl_marks": "\u202eHow many times has Erdogan visited Azerbaijan?\u200f",
    "zero_width_inside_words": "How many ti\u200bmes has Erdo\u200dgan visited Azerbaijan?",
    "emoji": "How many times has Erdogan visited Azerbaijan? 🇹🇷🇦🇿",
    "non_latin_script": "Сколько раз Эрдоган посещал Азербайджан? How many times has Erdogan visited Azerbaijan?",
    "at_the_limit": ("How many times has Erdogan visited Azerbaijan? " * 40)[:MAX_QUESTION_CHARS],
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unusable_question_is_refused_with_a_clear_message(article_index, name):
    started = time.monotonic()
    for call in (lambda q: article_index.answer(q), lambda q: article_index.retrieve(q, 3)):
        with pytest.raises(InvalidQuestionError) as caught:
            call(REFUSED[name])
        message = str(caught.value)
        assert "question" in message
        assert "type a question" in message or "keep it under" in message
    assert time.monotonic() - started < HANG_GUARD_S


@pytest.mark.parametrize("name", sorted(ANSWERED))
def test_odd_question_is_cleaned_and_answered(article_index, name):
    started = time.monotonic()
    result = article_index.answer(ANSWERED[name])
    assert time.monotonic() - started < HANG_GUARD_S
    # at the limit the question is itself 21 times over, which the confidence reads as a poor match:
    # it may abstain, but it is taken (not refused) and its closest passage is still the right one
    assert name == "at_the_limit" or not result.abstained, result.text
    assert "more than 20 times" in result.citations[0].text
    document = article_index.documents[0].text
    for hit in result.citations:
        assert hit.text == document[hit.start : hit.end]
    cleaned = result.interpreted_as
    assert cleaned.isprintable() and "\u200b" not in cleaned and "\u202e" not in cleaned
    assert all(not 0xD800 <= ord(ch) <= 0xDFFF for ch in cleaned)


def test_question_full_of_markup_gets_an_answer_or_an_abstention(article_index):
    result = article_index.answer("<script>alert(1)</script><img src=x onerror=y()> When was the exercise?")
    assert result.citations and result.text
    document = article_index.documents[0].text
    assert all(hit.text == document[hit.start : hit.end] for hit in result.citations)


def test_non_text_questions_are_refused(article_index):
    for value in (None, 42, b"when?", ["when?"], {"q": "when?"}):
        with pytest.raises(InvalidQuestionError, match="question must be text"):
            article_index.answer(value)  # type: ignore[arg-type]


def test_module_level_api_cleans_questions_too(article_index):
    assert retrieve("\u202eWhen did the joint exercise take place?\u200b", k=2, index=article_index)
    with pytest.raises(InvalidQuestionError):
        answer("\u200b\u200b", index=article_index)


@pytest.mark.parametrize("history", ["What is it?", [1, 2], [{"content": "x"}]], ids=["string", "numbers", "no-role"])
def test_a_history_that_is_no_list_of_messages_is_refused_in_words(article_index, history):
    with pytest.raises(InvalidArgumentError, match=r"history(\[0\])? must be a"):
        article_index.answer("What does it focus on?", history)


def test_huge_history_turn_is_bounded(article_index):
    history = [{"role": "user", "content": "Shusha Declaration " * 200_000}, {"role": "assistant", "content": "x"}]
    started = time.monotonic()
    result = article_index.answer("What does it focus on?", history)
    assert time.monotonic() - started < HANG_GUARD_S
    assert len(result.interpreted_as) <= 2 * MAX_QUESTION_CHARS * 4


def test_clean_question_keeps_words_and_drops_invisible_characters():
    assert clean_question("\u202eWh\u200bere\x00 is\u00a0it?\u200f\ud800") == "Where is it?"
    assert clean_question("Ça va? 🙂") == "Ça va? 🙂"


def test_clean_question_handles_ascii_controls_as_the_unicode_path_does():
    # ASCII questions take a translate; the others the per-character loop: the same rules
    assert clean_question("Who\tled\x1cthe\x7f\nfleet?\x00") == "Who ledthe fleet?"
    assert clean_question("Who\tled\x1cthe\x7f\nfleet?\x00é") == "Who ledthe fleet?é"


# --------------------------------------------------------------------------- CLI


def _cli(*args: str | bytes, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "citeqa", *args], env=env, capture_output=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "question",
    [
        "   ",
        "\x1b\x07\x7f",
        "\u200b\u200f\u202e",
        "😀🔥",
        b"\xff\xfe\xed\xa0\x80",  # not UTF-8: arrives as lone surrogates
        "a" * 120_000,  # close to Linux's 128 KiB limit for one argument
    ],
    ids=["blank", "control", "invisible", "emoji", "invalid_utf8", "120k"],
)
def test_cli_refuses_unusable_questions_in_one_line(article_index, question):
    done = _cli("ask", question, "--index", str(article_index.path.parent))
    assert done.returncode == 1
    err = done.stderr.decode("utf-8", "replace")
    assert err.startswith("citeqa: error: question")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert done.stdout == b""


def test_cli_answers_questions_with_odd_characters(article_index):
    question = "\u202eHow many\x1b[2J ti\u200bmes has Erdogan visited Azerbaijan?\u200f 🪖"
    done = _cli("ask", question.encode("utf-8") + b"\xff", "--index", str(article_index.path.parent), "--json")
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr
    import json

    data = json.loads(done.stdout)
    assert not data["abstained"] and data["citations"]
    document = article_index.documents[0].text
    for citation in data["citations"]:
        assert citation["text"] == document[citation["start"] : citation["end"]]


# --------------------------------------------------------------------------- concurrency


def test_concurrent_encodes_give_the_same_vectors_as_sequential(embedder):
    rng = np.random.default_rng(7)
    words = "joint exercise Lachin Azerbaijan Turkey naval drill statement ministry army boats".split()
    texts = [
        " ".join(rng.choice(words, size=int(n)))
        for n in rng.choice([3, 12, 40, 300], size=64)  # some past the 256-token limit
    ]
    sequential = [embedder.encode([t]) for t in texts]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(offset, len(texts), 8):
                results[i] = embedder.encode([texts[i]], batch_size=max(1, i % 5))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    differing = [i for i in range(len(texts)) if not np.array_equal(results[i], sequential[i])]
    assert differing == []


def _innermost_call(embedder) -> tuple[object, str]:  # type: ignore[no-untyped-def]
    """The object and method every encode ends in, for each backend."""
    from citeqa.embed.torch import SentenceTransformerEmbedder
    from citeqa.embed.onnx import OnnxEmbedder

    if isinstance(embedder, OnnxEmbedder):
        return embedder._session, "run"  # ONNX Runtime session (tokenized just before)
    if isinstance(embedder, SentenceTransformerEmbedder):
        return embedder._model, "encode"  # sentence-transformers reconfigures its tokenizer here
    raise AssertionError(f"unknown embedder {type(embedder).__name__}")


@pytest.mark.parametrize("backend", ["default", "torch"])
def test_model_is_never_entered_by_two_threads_at_once(embedder, backend, monkeypatch):
    """Tokenizing and running the model are serialized: no two threads are inside at once."""
    from citeqa.embed import get_embedder

    if backend == "torch":
        embedder = get_embedder(backend="torch")
    target, name = _innermost_call(embedder)
    real_call = getattr(target, name)
    inside = 0
    most = 0
    calls = 0
    guard = threading.Lock()

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal inside, most, calls
        with guard:
            inside += 1
            calls += 1
            most = max(most, inside)
        try:
            time.sleep(0.01)  # widen the window two unserialized calls would share
            return real_call(*args, **kwargs)
        finally:
            with guard:
                inside -= 1

    monkeypatch.setattr(target, name, spy)
    threads = [
        threading.Thread(target=lambda: [embedder.encode([f"question {j}"]) for j in range(4)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == 32
    assert most == 1
