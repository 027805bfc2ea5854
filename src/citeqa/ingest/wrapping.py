"""Hard-wrapped plain text: the width a text's lines were filled to, and which line breaks are wraps.

Plain text is often filled to a fixed width (licences, RFCs, e-mail, Project Gutenberg books,
READMEs: 70-80 columns), so a sentence runs on over line breaks that may fall before any word,
a capitalised one included ("... TO THE EXTENT PERMITTED BY" / "APPLICABLE LAW."). A break
between two lines is a wrap when the lower line's first word would not have fitted at the end of
the upper one within the fill width, which is how every fill algorithm (Emacs, Vim, ``fmt``,
Python's ``textwrap``) breaks lines. A text's fill width is the one that the most of its pairs of
adjacent lines agree with, and a text has one only when at least :data:`WRAPPED_SHARE` of them
(and :data:`MIN_PAIRS` or more) do: a text of one paragraph per line, a headline over its
article, a list of short items have none, and their lines stay as they were.
"""

from __future__ import annotations

import re

import numpy as np

from ..text import is_list_item

#: Widest fill width looked for, in characters (wrapped text is filled to 60-80).
MAX_WIDTH = 100

#: Narrowest fill width taken for one: lines of an address, a poem's short lines or a list of
#: names agree with a width of 15-30 as well as filled text agrees with its own.
MIN_WIDTH = 40

#: Fewest pairs of adjacent lines a text needs before a fill width is read off it.
MIN_PAIRS = 3

#: Share of a text's pairs of adjacent lines that must be wraps at its fill width.
WRAPPED_SHARE = 0.6

_WORD = re.compile(r"\w")
#: A line ending in a comma or a word that never ends a sentence nor a heading (an article, a
#: preposition, a conjunction): the author broke it short, the sentence goes on below.
_OPEN_END = re.compile(
    r"(?:,|(?<![\w'’-])(?:a|an|the|of|to|in|on|at|by|for|from|with|into|onto|and|or|nor|but|that|than|as|its|their|his|her|our|your|this|these|those|which|whose))$"
)
#: Words set apart by three spaces or a tab: a table's aligned columns, not filled prose.
_ALIGNED = re.compile(r"\S(?: {3,}|\t)\S")


def fill_width(pairs: np.ndarray) -> int | None:
    """The fill width that pairs of adjacent lines agree with, or None when they don't.

    Args:
        pairs: int ``(n, 2)``: per pair of adjacent lines, the upper line's length and the
            lower line's first word's length.

    Returns:
        The width ``w`` (:data:`MIN_WIDTH` to :data:`MAX_WIDTH`) for which the most pairs have
        ``length <= w < length + 1 + word``, the smallest such on a tie; None when fewer than
        :data:`MIN_PAIRS` pairs are given or fewer than :data:`WRAPPED_SHARE` of them agree.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) < MIN_PAIRS:
        return None
    length, word = pairs[:, 0], pairs[:, 1]
    usable = length <= MAX_WIDTH
    # each pair agrees with the widths length .. length + word: count them with a difference array
    counts = np.zeros(MAX_WIDTH + 2, dtype=np.int64)
    np.add.at(counts, length[usable], 1)
    np.add.at(counts, np.minimum(length[usable] + word[usable] + 1, MAX_WIDTH + 1), -1)
    agreeing = np.cumsum(counts)[: MAX_WIDTH + 1]
    agreeing[:MIN_WIDTH] = 0
    width = int(np.argmax(agreeing))
    if agreeing[width] < WRAPPED_SHARE * len(pairs):
        return None
    return width


def is_wrap(upper: str, lower: str, width: int | None) -> bool:
    """Whether the break between two adjacent lines of a text filled to ``width`` is a wrap.

    ``upper`` and ``lower`` are whole lines (indentation kept, line break left out). A line
    holding no word (a rule, a heading's underline) neither wraps nor is wrapped onto, nor
    is a line starting a list item, nor a table's row (words aligned in columns, set apart by
    three spaces or a tab: its rows may all be as long as one another). A line the author broke
    short is a wrap too when it ends with a comma or a word no sentence or heading ends with
    (:data:`_OPEN_END`: "... or (2) access to copy the" / "Corresponding Source ...").
    """
    if width is None:
        return False
    upper, lower_text = upper.rstrip(), lower.strip()
    if not _WORD.search(upper) or not _WORD.search(lower_text) or is_list_item(lower_text):
        return False
    if _ALIGNED.search(upper.strip()) or _ALIGNED.search(lower_text):
        return False
    return len(upper) + 1 + len(lower_text.split(None, 1)[0]) > width or _OPEN_END.search(upper) is not None


def runs_on(upper: str, lower: str, width: int | None) -> bool:
    """Whether ``lower`` continues the paragraph of the line right above it: the upper line holds a
    word and the lower one starts in lowercase, or the break is a wrap (:func:`is_wrap`)."""
    return _WORD.search(upper) is not None and (lower.lstrip()[:1].islower() or is_wrap(upper, lower, width))


def line_pairs(uppers: list[str], lowers: list[str]) -> np.ndarray:
    """int ``(n, 2)`` of :func:`fill_width`'s pairs: ``lowers[i]`` stands right below ``uppers[i]``."""
    pairs = [(len(upper.rstrip()), len(lower.split(None, 1)[0])) for upper, lower in zip(uppers, lowers, strict=True)]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


__all__ = ["MAX_WIDTH", "MIN_PAIRS", "MIN_WIDTH", "WRAPPED_SHARE", "fill_width", "is_wrap", "line_pairs", "runs_on"]
