"""The lines of a PDF's pages that are not its text: running heads and feet, side bars, contents.

Found across the pages, from the lines' text alone (:mod:`.pdf` reads the pages and leaves
these out):

- **running heads and feet**: a line among the first or last :data:`EDGE_LINES` of a page that
  repeats on (nearly) every page — the same, or differing only by the page number ("Page 3 of
  9"); on every other page (a book's or journal's left-hand and right-hand heads: "Trovato et
  al." on even pages, the short title on odd ones); or carrying the page number from three
  pages on (a chapter's "Chapter 4: Function reference 12"), or a page's first or last line
  that starts or ends with the page's printed number (a book's "12 CHAPTER 1. INTRODUCTION",
  "1.2. SCOPE 13": the section changes too often to repeat); a front matter's page number
  ("iii") at a page's edge;
- **side bars**: a line of eight letters or more repeated whole, anywhere on the page, on nearly every page of
  four or more (a publisher's "QUICK LINKS" box, a "Downloaded from ..." stamp);
- **contents and index entries**: a line ending in a dot leader ("2.1 Naming . . . . 2"), with
  the first line of an entry wrapped onto two ("7.34 How can I save the result of each
  iteration in" / "a loop into a separate file? . . . 38"), and a line of one letter (an index's
  letter headings).
"""

from __future__ import annotations

import collections
import math
import re

#: How many lines at each end of a page are candidates for running heads and feet.
EDGE_LINES = 3
#: A line longer than this is text, never a head or foot.
_LONGEST_HEAD = 200
#: Share of the pages (of one parity, for heads on every other page) a running line is on.
RUNNING_SHARE = 0.75

_DIGITS = re.compile(r"\d+")
# a contents or index entry's dot leader (five dots or more, spaced or not) at the line's end,
# with the page numbers if the line has them: "2.1 ASN.1 syntax. . . . . 2", "Index ........ xii",
# "anova . . . . . 58, 60"
_DOT_LEADER = re.compile(r"(?:\.\s?){5,}\s*(?:\d+(?:\s?[,\u2013-]\s?\d+)*|[ivxlc]+|[IVXLC]+)?$")
# a contents entry's number: "7.34 ", "A.2 ", "12 "
_ENTRY_NUMBER = re.compile(r"^(?:\d+|[A-Z])(?:\.\d+)*\.? \S")
# a line of one letter: an index's letter heading ("F"), a roman page number ("i"); a digit alone
# may be a table's cell, and is kept
_LONE_LETTER = re.compile(r"^[^\W\d_]$")
# a number a line starts or ends with: "300 is.finite", "is.finite 301", "12 CHAPTER 1. INTRODUCTION";
# a line that starts with one and ends like a sentence is a footnote ("2 for some clients ... work.")
_OUTER_NUMBER = re.compile(r"^(\d{1,5})(?=\s.*[^.!?:;,]$)|(?<=\s)(\d{1,5})$")
# a front matter's page number: "ii", "xiv"
_ROMAN = re.compile(r"^[ivxlc]{2,6}$")
# a side bar's line holds words of eight letters or more in all
_LETTERS = re.compile(r"[^\W\d_]")


def edge_key(line: str) -> str:
    """A head or foot's identity: page numbers and dates vary only by digits."""
    return _DIGITS.sub("#", line.lower())


def _numbers(line: str) -> set[int]:
    return {int(m) for m in _DIGITS.findall(line)[:8] if len(m) <= 6}


def follows_page(occurrences: list[tuple[int, str]]) -> bool:
    """Whether one number of each ``(page, line)`` is the page number plus one fixed offset."""
    offsets: set[int] | None = None
    for page, line in occurrences:
        here = {number - page for number in _numbers(line)}
        offsets = here if offsets is None else offsets & here
        if not offsets:
            return False
    return bool(offsets)


def is_running(occurrences: list[tuple[int, str]]) -> bool:
    """Whether lines of one :func:`edge_key` are a running head or foot.

    Identical lines are. Lines that differ only by digits are when one of their
    numbers follows the page number (page ``i`` shows ``i + c`` for a fixed ``c``):
    "3", "Page 3 of 9", "file:///… 3/9"; "Table 1" and "Table 2" at page ends are not.
    """
    if len({line for _, line in occurrences}) == 1:
        return True
    return follows_page(occurrences)


def edges(count: int) -> list[int]:
    """The indexes of a page's first and last :data:`EDGE_LINES` lines, of ``count``."""
    return sorted(set(range(min(EDGE_LINES, count))) | set(range(max(0, count - EDGE_LINES), count)))


def _need(pages: int) -> int:
    """On how many of ``pages`` pages a line must be to run (all of 2-3 pages)."""
    return pages if pages <= 3 else math.ceil(RUNNING_SHARE * pages)


def _page_number_lines(numbered: list[tuple[int, list[str]]]) -> dict[int, set[int]]:
    """Per page, its first or last line when that starts or ends with the page's printed number.

    The printed number is the page's plus the offset most pages share (a book numbered from
    its first chapter, R's reference manual from its 32nd page): at least three pages and half
    of them must start or end that way, else none is taken; a footnote starts with its number
    and ends like a sentence, and is not taken. A book's heads name the section
    ("12 CHAPTER 1. INTRODUCTION", "1.2. SCOPE 13"; R's "300 is.finite") and change before
    three pages carry the same words.
    """
    votes: collections.Counter[int] = collections.Counter()
    marks: dict[int, dict[int, set[int]]] = {}
    for page, lines in numbered:
        here: dict[int, set[int]] = {}
        for i in {0, len(lines) - 1}:
            if len(lines[i]) <= _LONGEST_HEAD:
                for match in _OUTER_NUMBER.finditer(lines[i]):
                    here.setdefault(int(match.group(1) or match.group(2)) - page, set()).add(i)
        votes.update(here.keys())
        marks[page] = here
    if not votes:
        return {}
    offset, count = votes.most_common(1)[0]
    if count < max(3, len(numbered) / 2):
        return {}
    return {page: here[offset] for page, here in marks.items() if offset in here}


def _heads_by_parity(found: dict[str, dict[int, str]], pages: list[int]) -> dict[int, set[str]]:
    """The edge keys (of ``found``: key -> page -> line) running on the even (0) or odd (1) pages
    of ``pages`` from page 2 on: on :data:`RUNNING_SHARE` of that side's pages, two at least,
    and on at most the rest's share of the other side's."""
    by_parity: dict[int, set[str]] = {}
    for parity in (0, 1):
        these = [page for page in pages if page > 1 and page % 2 == parity]
        others = len(pages) - 1 - len(these)
        if len(these) < 2:
            continue
        by_parity[parity] = set()
        for key, by_page in found.items():
            on = sorted((page, line) for page, line in by_page.items() if page > 1 and page % 2 == parity)
            elsewhere = sum(1 for page in by_page if page > 1 and page % 2 != parity)
            # a left-hand head is on (nearly) no right-hand page: a slide shown on consecutive pages
            # (a deck's overlays) is on both
            if len(on) >= max(2, _need(len(these))) and elsewhere <= (1 - RUNNING_SHARE) * others and is_running(on):
                by_parity[parity].add(key)
    return by_parity


def running_lines(pages: list[list[str]]) -> list[set[int]]:
    """Per page, the indexes of its running heads and feet and its side bars' lines.

    A head or foot (by :func:`edge_key`, at a page's edge) runs when it is on all pages
    (2-3 pages) or on :data:`RUNNING_SHARE` of them, and :func:`is_running`; when it is so on
    the even or the odd pages from page 2 on and on few of the others (two pages of that parity
    at least; it is left out there only, as page 1 may show the same words as its title); or when it carries the
    page number on 3 pages or more. A page's first or last line that starts or ends with its
    printed page number is a head or foot too (:func:`_page_number_lines`). A line of eight letters or more
    repeated whole anywhere on :data:`RUNNING_SHARE` of 4 pages or more is a side bar's.
    """
    numbered = [(page, lines) for page, lines in enumerate(pages, start=1) if lines]
    if len(numbered) < 2:
        return [set() for _ in pages]
    found: dict[str, dict[int, str]] = {}
    anywhere: dict[str, set[int]] = {}
    for page, lines in numbered:
        for i in edges(len(lines)):
            if len(lines[i]) <= _LONGEST_HEAD:
                found.setdefault(edge_key(lines[i]), {}).setdefault(page, lines[i])
        for line in lines:
            anywhere.setdefault(line, set()).add(page)
    everywhere = {
        key
        for key, by_page in found.items()
        if (len(by_page) >= _need(len(numbered)) and is_running(sorted(by_page.items())))
        or (len(by_page) >= 3 and len(set(by_page.values())) == len(by_page) and follows_page(sorted(by_page.items())))
    }
    by_parity = _heads_by_parity(found, [page for page, _ in numbered])
    side_bar = set()
    if len(numbered) >= 4:
        side_bar = {
            line
            for line, on in anywhere.items()
            if len(on) >= _need(len(numbered)) and len(_LETTERS.findall(line)) >= 8
        }
    numbered_heads = _page_number_lines(numbered)
    dropped: list[set[int]] = []
    for page, lines in enumerate(pages, start=1):
        running = everywhere | (by_parity.get(page % 2, set()) if page > 1 else set())
        drop = {i for i in edges(len(lines)) if edge_key(lines[i]) in running or _ROMAN.match(lines[i])}
        drop |= numbered_heads.get(page, set())
        drop |= {i for i, line in enumerate(lines) if line in side_bar}
        dropped.append(drop)
    return dropped


def contents_lines(lines: list[str]) -> set[int]:
    """The indexes of a page's contents and index entries and its lines of one letter.

    A line ending in a dot leader is an entry; so is the line before one that starts with an
    entry's number or follows another entry (an entry's first line, wrapped). Headings before
    the contents ("Table of Contents") are text.
    """
    leaders = {i for i, line in enumerate(lines) if _DOT_LEADER.search(line)}
    wrapped = {
        i
        for i in range(len(lines) - 1)
        if i + 1 in leaders and i not in leaders and (_ENTRY_NUMBER.match(lines[i]) or i - 1 in leaders)
    }
    letters = {i for i, line in enumerate(lines) if _LONE_LETTER.match(line)}
    return leaders | wrapped | letters


__all__ = ["EDGE_LINES", "RUNNING_SHARE", "contents_lines", "edge_key", "edges", "follows_page", "is_running", "running_lines"]
