"""The memory of recent turns: what each was answered from, the oldest forgotten first."""

from __future__ import annotations

import pytest

from citeqa.answer.turns import TurnMemory, turn_key


def _history(*questions: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for question in questions:
        out += [{"role": "user", "content": question}, {"role": "assistant", "content": "An answer. [1]"}]
    return out


def test_a_turn_is_recalled_as_remembered_and_the_oldest_is_forgotten_first():
    memory = TurnMemory(size=2)
    memory.remember("a", 3, [7, 8])
    memory.remember("b", None)
    assert memory.recall("a") == (3, (7, 8)) and memory.recall("b") == (None, ())
    memory.remember("a", 4, [9])  # asked again: kept, and now the newest
    memory.remember("c", 1, [1])
    assert memory.recall("b") is None and memory.recall("a") == (4, (9,)) and len(memory) == 2
    with pytest.raises(ValueError, match="size must be > 0, got 0"):
        TurnMemory(size=0)


def test_a_turn_is_keyed_by_its_question_and_the_users_turns_before_it():
    assert turn_key("Where?", _history("What is SAT?")) == turn_key("Where?", _history("What is SAT?"))
    assert turn_key("Where?", _history("What is SAT?")) != turn_key("Where?", _history("What is SAS?"))
    assert turn_key("Where?", None) == turn_key("Where?", [])
    assert turn_key("Where?", None) != turn_key("Where is it?", None)
