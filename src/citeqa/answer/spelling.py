"""Spelling hints: beside an abstention, the question with its typos written as the documents write those words.

A word of the question that the documents never write (not even by its BM25 stem), that is
no English word (pyspellchecker's English word list, read at the first look-up), and that
lies within :func:`~citeqa.answer.focus.max_typos` edits of exactly one nearest word the
documents do write (same first letter) is taken for a typo of it: "who is turky's presdent"
-> "who is turkey's president". The hint is only offered, never searched instead of the
question: a name the documents lack is how a question about something they do not cover
shows ("Carpathia" is not "Carpathian"): of SQuAD 2.0's 23 unanswerable report-half questions
with such a word, 13 are abstained on as asked and 4 when corrected.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..text import fold, tokenize
from .focus import Vocabulary, WordList, max_typos

_WORD = re.compile(r"[^\W_]+")
_english: list[Callable[[str], bool]] = []
_english_lock = threading.Lock()


def english_word(word: str) -> bool:
    """True when ``word`` (folded) is in pyspellchecker's English word list (about 160,000 words;
    read at the first call: 0.12 s and 36 MB on the machine of 2026-12-06)."""
    if not _english:
        with _english_lock:
            if not _english:
                from spellchecker import SpellChecker

                known = SpellChecker(language="en", distance=1).word_frequency
                _english.append(known.__contains__)
    return _english[0](word)


def nearest_word(word: str, words: WordList) -> str | None:
    """The one word of ``words`` fewest edits from ``word`` (within :func:`max_typos`, same
    first letter); None when none is that close or two are equally close."""
    typos = max_typos(word)
    if not typos or not word:
        return None
    found: list[tuple[int, str]] = []
    for length in range(len(word) - typos, len(word) + typos + 1):
        group = words.groups.get((word[0], length), ())
        found.extend((int(distance), match) for match, distance, _ in process.extract(word, group, scorer=OSA.distance, score_cutoff=typos, limit=3))
    found.sort()
    if not found or (len(found) > 1 and found[1][0] == found[0][0]):
        return None
    return found[0][1]


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
        nearest = nearest_word(word, vocabulary.words)
        if nearest is None or is_word(word):  # the word list is read only when a typo is likely
            continue
        if raw[:1].isupper():
            nearest = nearest[:1].upper() + nearest[1:]
        fixed = fixed[: match.start()] + nearest + fixed[match.end() :]
        changed = True
    return fixed if changed else None
