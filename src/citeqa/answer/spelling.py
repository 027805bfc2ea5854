"""Spelling hints: beside an abstention, the question with its typos written as the documents write those words.

A word of the question that the documents never write (not even by its BM25 stem), that is
no English word (pyspellchecker's English word list, read at the first look-up), and that
lies within :func:`~citeqa.answer.focus.max_typos` edits of exactly one nearest word the
documents do write (same first letter, :meth:`~citeqa.answer.focus.WordList.nearest`) is taken for a typo of it: "who is turky's presdent"
-> "who is turkey's president". The hint is only offered, never searched instead of the
question: a name the documents lack is how a question about something they do not cover
shows ("Carpathia" is not "Carpathian"): of SQuAD 2.0's 23 unanswerable report-half questions
with such a word, 13 are abstained on as asked and 4 when corrected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ..text import fold, tokenize
from .focus import Vocabulary

_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1)
def _english_words() -> Callable[[str], bool]:
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1).word_frequency.__contains__


def english_word(word: str) -> bool:
    """True when ``word`` (folded) is in pyspellchecker's English word list (about 160,000 words;
    read at the first call: 0.12 s and 36 MB on the machine of 2026-12-06)."""
    return _english_words()(word)


def spelling_fix(question: str, vocabulary: Vocabulary, is_word: Callable[[str], bool] = english_word) -> str | None:
    """``question`` with each word taken for a typo replaced by the documents' word; None when none is.

    A replaced word keeps a capital first letter ("Turky" -> "Turkey"); the rest of the
    question is kept as typed.
    """
    fixed = question
    changed = False
    for match in reversed(list(_WORD.finditer(question))):
        raw = match.group()
        word = fold(raw)
        if any(ch.isdigit() for ch in word) or word in vocabulary.words:
            continue
        if all(token in vocabulary.stems for token in tokenize(word)):
            continue
        nearest = vocabulary.words.nearest(word)
        if nearest is None or is_word(word):  # the word list is read only when a typo is likely
            continue
        if raw[:1].isupper():
            nearest = nearest[:1].upper() + nearest[1:]
        fixed = fixed[: match.start()] + nearest + fixed[match.end() :]
        changed = True
    return fixed if changed else None
