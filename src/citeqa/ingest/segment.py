"""Segmentation: documents → paragraphs → sentences, with exact character offsets.

Paragraphs are lines of text separated by line breaks (blank or not), except that a
line starting with a lowercase letter continues the paragraph right above it (wrapped
text), as does any line of hard-wrapped text whose first word would not have fitted on
the line above (:mod:`citeqa.ingest.wrapping`); after a blank line a line starts a
paragraph of its own (a code line after the prose that introduces it: "Consider this
code:", then "fn main() {"). So a headline and a photo caption on lines of their own
are paragraphs — and sentences — of their own. Sentences inside a paragraph come from pysbd, a rule-based
segmenter that knows abbreviations such as "Sept. 7" and "Nov. 10". Offsets are
found by walking the paragraph, so ``document[start:end] == sentence`` always holds,
and every non-blank character of a paragraph lands in exactly one sentence.

Work is linear in the input: pysbd sees at most ``_CHUNK`` characters per call (a
longer paragraph is read in overlapping windows that restart at the last sentence
found, and a run of ``_CHUNK // 2`` characters without any sentence end is cut at
white space), its quadratic steps are bypassed (see :class:`_AbbreviationReplacer`
and :func:`_pysbd_pieces`), and its regular expressions are compiled once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import version
from typing import Any

import numpy as np
from pysbd.lang.english import English
from pysbd.processor import Processor
from pysbd.utils import Text

from ..schema import Document, Sentence
from .wrapping import fill_width, line_pairs, runs_on

#: Bump when the rules below change: indexes record it and are rebuilt on mismatch.
#: 2: a blank line always ends a paragraph (before, a lowercase line continued one across it);
#: a lowercase fragment after a "?" or "!" continues the sentence.
#: 3: a line break of hard-wrapped text continues the paragraph whatever the next line starts
#: with (:mod:`citeqa.ingest.wrapping`); a line below one holding no word starts a paragraph;
#: a sentence does not end at the "." that starts a name ("the .gitignore file").
#: 4: nor at a "!" or "?" with no space after it ("#![allow(unused)]", "x != 3", "println!("); a fill
#: width is at least :data:`~citeqa.ingest.wrapping.MIN_WIDTH` (an address's lines are no wrapped text);
#: in wrapped text a line ending with a comma or "the", "of", "and" ... runs on below.
#: 5: nor is a line opening with any bullet glyph ("◦ ", "▪ ", not only "• ") wrapped onto (:data:`citeqa.text.BULLETS`).
#: 6: a paragraph that reads as a table's row ("Name: Braund, Mr. Owen Harris; Age: 22.") is one sentence.
RULES_VERSION = 6

#: Most characters handed to pysbd in one call. Paragraphs up to this size (all of
#: SQuAD's, the longest being 4,063) are segmented in one call, exactly as before;
#: longer ones in windows (pysbd's list and quote steps still grow faster than
#: linearly inside one call: 200 kB of "a. " took 1.0 s in 5,000-character windows,
#: 1.5 s in 10,000 and 2.0 s in 20,000).
_CHUNK = 5_000

_LINE = re.compile(r"[^\r\n]+")
#: Two line breaks with only spaces between ("\r\n" is one break, as is a lone "\r" or "\n").
_BLANK_LINE = re.compile(r"(?:\r\n|\r(?!\n)|\n)[^\S\r\n]*(?:\r\n|\r(?!\n)|\n)")
_PARENTHETICAL = re.compile(r"^[\(\[][^\)\]]*[\)\]]\W*$")
_HAS_WORD = re.compile(r"\w")
#: A table's row as the extractors write one (:func:`citeqa.ingest.paragraphs.table_rows`): two or
#: more "column: value" pairs parted by "; " (a value may hold ":" as a time does, not ";"; a
#: column's name ends no sentence and opens no parenthesis it does not close, "The Normans
#: (Norman: Nourmands; French: Normands) were ..." being prose; nor does the last value, after
#: which a sentence would go on: "... type: 'Example.Group.id'. Elements of ...").
_COLUMN = r"(?:[^:;.!?()\n]|[.!?](?=\S)|\([^():;\n]*\)){1,80}"
_TABLE_ROW = re.compile(rf"{_COLUMN}: [^;\n]*(?:; {_COLUMN}: [^;\n]*)*; {_COLUMN}: (?:[^;.!?\n]|[.!?](?!\s+\S))*")
#: A "." after one of these starts a name, not a sentence's end: " .gitignore", "/.md" (".txt/.md").
_NAME_DOTS = frozenset({" .", "\t.", "\n.", "/."})
_SPACE = re.compile(r"\s")

# pysbd marks protected characters with rare symbols and turns the marks back into
# punctuation at the end ("∯" → ".", "♭" → ":", "ȸ" → ""), so a document that itself
# contains one came back altered and could not be found again. pysbd sees each such
# character as a stand-in of the same kind (letter or symbol); offsets still point
# into the real text. Line breaks inside a paragraph become spaces, as before, and
# so do the separators U+001C–U+001F: white space to pysbd's regexes but not to
# int(), so "\x1c1. " crashed its list detection with a ValueError.
_LETTER_MARKS = "ȸȹƪᓰᓱᓳᓴᓷᓸ"
_SYMBOL_MARKS = "∯∮☏♝♟♨☝☉☇☈☄♬♭⎋✂⌬"
_FLAT = str.maketrans(
    {
        **dict.fromkeys("\r\n\x1c\x1d\x1e\x1f", " "),
        **dict.fromkeys(_LETTER_MARKS, "ʘ"),
        **dict.fromkeys(_SYMBOL_MARKS, "¤"),
    }
)


def segmenter_info() -> dict[str, Any]:
    """Name, version and parameters of the segmenter, as recorded in manifests."""
    return {
        "name": "pysbd",
        "version": version("pysbd"),
        "params": {"language": "en", "clean": False, "rules_version": RULES_VERSION},
    }


@lru_cache(maxsize=4096)
def _compiled(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


class _AbbreviationReplacer(English.AbbreviationReplacer):  # type: ignore[misc]
    """pysbd 0.3.4's abbreviation step with the same output in linear time.

    pysbd re-runs a whole-text substitution once per *occurrence* of an abbreviation
    (quadratic: 40 kB of "Mr. " took 12 s) and builds its patterns per call, which
    overflows ``re``'s cache and recompiles them for every paragraph. Each
    substitution only turns a "." into "∯", which can never create a new match for
    these patterns, so applying a given substitution again is a no-op: here each
    distinct one runs once, with compiled patterns cached.
    """

    def search_for_abbreviations_in_string(self, text: str) -> str:
        lowered = text.lower()
        applied: set[str] = set()
        # Most short abbreviations ("al", "is", "no") occur inside some word; in ASCII
        # text an exact cheaper test skips those never found after white space.
        starts = " " + _SPACE.sub(" ", lowered) if text.isascii() else ""
        for abbr in self.lang.Abbreviation.ABBREVIATIONS:
            stripped = abbr.strip()
            if stripped not in lowered:
                continue
            if starts and "." not in stripped and " " + stripped not in starts:
                continue
            matches = _compiled(rf"(?:^|\s|\r|\n){stripped}", re.IGNORECASE).findall(text)
            if not matches:
                continue
            # pysbd's own pattern: its braces are literal, so without a "{" it finds nothing
            chars = _compiled(r"(?<={" + str(re.escape(stripped)) + "} ).{1}").findall(text) if "{" in text else []
            for index, match in enumerate(matches):
                text = self._replace_once(text, match, index, chars, applied)
        return text

    def _replace_once(self, txt: str, am: str, ind: int, char_array: list[str], applied: set[str]) -> str:
        # mirrors AbbreviationReplacer.scan_for_replacements
        char = char_array[ind] if ind < len(char_array) else ""
        key = am.strip().lower()
        abbreviations = self.lang.Abbreviation
        if str(char).isupper() and key not in abbreviations.PREPOSITIVE_ABBREVIATIONS:
            return txt
        if key in abbreviations.PREPOSITIVE_ABBREVIATIONS:
            pattern = rf"(?<=\s{am.strip()})\.(?=(\s|:\d+))"
        elif key in abbreviations.NUMBER_ABBREVIATIONS:
            pattern = rf"(?<=\s{am.strip()})\.(?=(\s\d|\s+\())"
        else:
            abbr = re.escape(am.strip())
            pattern = rf"(?<=\s{abbr})\.(?=((\.|\:|-|\?|,)|(\s([a-z]|I\s|I'm|I'll|\d|\())))"
        if pattern in applied:
            return txt
        applied.add(pattern)
        # a space in front stands for the start of the string, as in pysbd
        return _compiled(pattern).sub("∯", " " + txt)[1:]


class _English(English):  # type: ignore[misc]
    AbbreviationReplacer = _AbbreviationReplacer


def _literal_rules(*rules: Any) -> tuple[tuple[str, str], ...]:
    """pysbd rules whose pattern and replacement are plain text, as ``str.replace`` pairs."""
    pairs = tuple((rule.pattern, rule.replacement) for rule in rules)
    for pattern, replacement in pairs:
        if re.search(r"[\\.^$*+?{}\[\]|()]", pattern) or "\\" in replacement:
            raise RuntimeError(f"pysbd rule {pattern!r} → {replacement!r} is not plain text; is pysbd 0.3.4 installed?")
    return pairs


_SUB_SYMBOLS = _literal_rules(*English.SubSymbolsRules.All)
_REINSERT_ELLIPSIS = _literal_rules(*English.ReinsertEllipsisRules.All)
_SUB_SINGLE_QUOTE = _literal_rules(English.SubSingleQuoteRule)
_MARKS = re.compile("[" + re.escape("".join({c for p, _ in _SUB_SYMBOLS + _REINSERT_ELLIPSIS + _SUB_SINGLE_QUOTE for c in p})) + "]")
_ALL_LETTERS = re.compile(r"\A[a-zA-Z]*\Z")
_QUOTE_END = re.compile(English.QUOTATION_AT_END_OF_SENTENCE_REGEX)
_QUOTE_SPLIT = re.compile(English.SPLIT_SPACE_QUOTATION_AT_END_OF_SENTENCE_REGEX)


def _replace_all(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    if not _MARKS.search(text):
        return text
    for pattern, replacement in pairs:
        text = text.replace(pattern, replacement)
    return text


class _Processor(Processor):  # type: ignore[misc]
    """pysbd 0.3.4's Processor with its per-sentence clean-up done as plain replaces.

    Per sentence pysbd runs 23 regex substitutions of literal text (its marks back
    to punctuation), the bulk of its time on text with many short sentences. The
    same replacements, in the same order, are made with ``str.replace`` and skipped
    when a sentence holds no mark; everything else is pysbd's own code.
    """

    def split_into_segments(self):  # type: ignore[no-untyped-def]
        self.check_for_parens_between_quotes()
        sents = self.rm_none_flatten(self.text.split("\r"))
        sents = [Text(s).apply(self.lang.SingleNewLineRule, *self.lang.EllipsisRules.All) for s in sents]
        sents = self.rm_none_flatten([self.check_for_punctuation(s) for s in sents])
        postprocessed_sents = []
        for sent in sents:
            post_process_sent = self.post_process_segments(_replace_all(sent, _SUB_SYMBOLS))
            if post_process_sent and isinstance(post_process_sent, str):
                postprocessed_sents.append(post_process_sent)
            elif isinstance(post_process_sent, list):
                postprocessed_sents.extend(post_process_sent)
        return [_replace_all(ns, _SUB_SINGLE_QUOTE) for ns in postprocessed_sents]

    def post_process_segments(self, txt):  # type: ignore[no-untyped-def]
        if len(txt) > 2 and _ALL_LETTERS.search(txt):
            return txt
        txt = _replace_all(txt, _REINSERT_ELLIPSIS)
        if _QUOTE_END.search(txt):
            return _QUOTE_SPLIT.split(txt)
        return txt.replace("\n", "").strip()


def _pysbd_pieces(flat: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences pysbd finds in ``flat[start:end]``, as stripped absolute spans.

    This is ``pysbd.Segmenter(language="en", clean=False).segment`` without its last
    step, which re-finds every sentence with a regex searched from the start of the
    text (quadratic, and compiled anew per sentence); ``char_span=True`` runs that
    same step, and its spans include trailing white space. The sentences are found
    here by walking forward instead. A Processor is made per call (as the Segmenter
    does), so nothing is shared between threads.
    """
    window = flat[start:end]
    spans: list[tuple[int, int]] = []
    if not window.strip():
        return spans
    cursor = 0
    for piece in _Processor(window, _English).process():
        piece = piece.strip()
        if not piece:
            continue
        found = window.find(piece, cursor)
        if found < 0:  # pysbd altered it; its text is picked up as a gap below
            continue
        cursor = found + len(piece)
        spans.append((start + found, start + cursor))
    return spans


def _raw_spans(flat: str) -> list[tuple[int, int]]:
    """pysbd's sentence spans over the whole of ``flat``, at most ``_CHUNK`` per call."""
    spans: list[tuple[int, int]] = []
    pos, size = 0, len(flat)
    while pos < size:
        end = min(size, pos + _CHUNK)
        found = _pysbd_pieces(flat, pos, end)
        if end == size:
            spans.extend(found)
            break
        # The window may end mid-sentence: keep all but its last sentence and read
        # on from there, if that moves at least half a window on.
        if len(found) >= 2 and found[-1][0] >= pos + _CHUNK // 2:
            spans.extend(found[:-1])
            pos = found[-1][0]
            continue
        # Half a window with no sentence end: cut at the last white space (or hard).
        cut = end
        for space in _SPACE.finditer(flat, pos + _CHUNK // 2, end):
            cut = space.start()
        for s, e in found:
            if s < cut:
                spans.append((s, min(e, cut)))
        pos = cut
    return spans


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the paragraphs of ``text`` (trimmed of surrounding white space).

    A line continues the paragraph of the line right above it (no blank line between) when
    it starts in lowercase or the break is a wrap of hard-wrapped text
    (:func:`citeqa.ingest.wrapping.is_wrap`), unless the line above holds no word (a rule,
    a heading's underline).
    """
    lines = [match for match in _LINE.finditer(text) if match.group().strip()]
    below = [i > 0 and not _BLANK_LINE.search(text, lines[i - 1].end(), lines[i].start()) for i in range(len(lines))]
    pairs = [i for i in range(1, len(lines)) if below[i]]
    width = fill_width(line_pairs([lines[i - 1].group() for i in pairs], [lines[i].group() for i in pairs]))
    spans: list[tuple[int, int]] = []
    for i, match in enumerate(lines):
        line = match.group()
        stripped = line.strip()
        start = match.start() + (len(line) - len(line.lstrip()))
        end = start + len(stripped)
        upper = lines[i - 1].group() if i else ""
        if below[i] and runs_on(upper, line, width):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` narrowed to exclude surrounding white space (may become empty)."""
    piece = text[start:end]
    stripped = piece.lstrip()
    start += len(piece) - len(stripped)
    return start, start + len(stripped.rstrip())


def sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """Spans of the sentences of one paragraph, relative to it.

    Fragments that are only a parenthetical credit ("(AA Photo)") or hold no word
    characters are joined to the sentence before them (unless it already holds
    ``_CHUNK`` characters); so is any text pysbd left out, and a fragment starting with a
    lowercase letter after one ending in "?" or "!": pysbd ends a sentence there, but a
    sentence does not start in lowercase ("the ? operator", "the panic! macro"), or right
    after the "?" or "!" with no space between (code: "#![allow(unused)]", "x != 3",
    "println!("x")"); and a fragment pysbd starts right after a "." that follows white space
    or "/", as a name starting with a dot does ("the .gitignore file", "bash .ci/run", ".txt/.md").
    A paragraph that reads as a table's row (two or more "column: value" pairs parted by "; ",
    as the extractors write rows) is one sentence, whatever abbreviations its cells hold.
    """
    if len(paragraph) <= _CHUNK and _TABLE_ROW.fullmatch(paragraph.strip()):  # a row's "Mr." or "St." ends nothing
        start, end = _trim(paragraph, 0, len(paragraph))
        return [(start, end)] if start < end else []
    flat = paragraph.translate(_FLAT)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for start, end in _raw_spans(flat):
        start, end = _trim(paragraph, start, end)
        if start >= end:
            continue
        gap_start, gap_end = _trim(paragraph, cursor, start)
        cursor = end
        if gap_start < gap_end:  # text pysbd left out: joins the sentence before it
            if spans:
                spans[-1] = (spans[-1][0], gap_end)
            else:
                start = gap_start
        piece = paragraph[start:end]
        joinable = spans and spans[-1][1] - spans[-1][0] < _CHUNK  # stops growing once that long
        if joinable and (
            _PARENTHETICAL.match(piece)
            or not _HAS_WORD.search(piece)
            or (piece[0].islower() and paragraph[spans[-1][1] - 1] in "?!")
            # a "!" or "?" with no space after it ends no sentence: code's "#![allow]", "x != 3", "println!("
            or (start == spans[-1][1] and paragraph[start - 1] in "?!")
            # a "." after white space or "/" starts a name ("the .gitignore file", ".txt/.md")
            or (start == spans[-1][1] and paragraph[start - 2 : start] in _NAME_DOTS and piece[0].isalnum())
        ):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    tail_start, tail_end = _trim(paragraph, cursor, len(paragraph))
    if tail_start < tail_end:  # anything pysbd dropped still belongs to the paragraph
        if spans:
            spans[-1] = (spans[-1][0], tail_end)
        else:
            spans.append((tail_start, tail_end))
    return spans


def segment_document(document: Document, first_paragraph_id: int = 0) -> list[Sentence]:
    """Split one document into sentences with exact offsets.

    Args:
        document: The document to split.
        first_paragraph_id: Id given to its first paragraph (ids are unique per index).

    Returns:
        Sentences in reading order; ``document.text[s.start:s.end] == s.text``.
    """
    text = document.text
    sentences: list[Sentence] = []
    for offset, (p_start, p_end) in enumerate(paragraph_spans(text)):
        paragraph = text[p_start:p_end]
        for s_start, s_end in sentence_spans(paragraph):
            start, end = p_start + s_start, p_start + s_end
            sentences.append(
                Sentence(
                    doc_id=document.doc_id,
                    start=start,
                    end=end,
                    text=text[start:end],
                    paragraph_id=first_paragraph_id + offset,
                    paragraph_start=p_start,
                    paragraph_end=p_end,
                )
            )
    return sentences


def segment_documents(documents: Iterable[Document]) -> list[Sentence]:
    """Segment several documents; paragraph ids run on across documents."""
    sentences: list[Sentence] = []
    next_paragraph = 0
    for document in documents:
        part = segment_document(document, next_paragraph)
        if part:
            next_paragraph = part[-1].paragraph_id + 1
        sentences.extend(part)
    return sentences


def paragraph_numbers(rows: np.ndarray) -> np.ndarray:
    """Number the paragraphs of a sentence table 0, 1, 2... in row order.

    Args:
        rows: int ``(n, >=4)`` rows of document number, start, end, paragraph id, with a
            document's sentences contiguous and in order (as every index stores them).

    Returns:
        int64 ``(n,)``: a new number starts wherever the paragraph id or the document
        changes, so paragraphs are contiguous runs of rows.
    """
    rows = np.asarray(rows)
    n = rows.shape[0]
    change = np.ones(n, dtype=bool)
    if n > 1:
        change[1:] = (rows[1:, 3] != rows[:-1, 3]) | (rows[1:, 0] != rows[:-1, 0])
    return np.cumsum(change, dtype=np.int64) - 1
