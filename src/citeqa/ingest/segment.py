"""Segmentation: documents → paragraphs → sentences, with exact character offsets.

Paragraphs are lines of text separated by line breaks (blank or not), except that a
line starting with a lowercase letter continues the paragraph above (wrapped text).
So a headline and a photo caption on lines of their own are paragraphs — and
sentences — of their own. Sentences inside a paragraph come from pysbd, a rule-based
segmenter that knows abbreviations such as "Sept. 7" and "Nov. 10". Offsets are
found by walking the paragraph, so ``document[start:end] == sentence`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import version
from typing import Any

import numpy as np

from ..schema import Document, Sentence

#: Bump when the rules below change: indexes record it and are rebuilt on mismatch.
RULES_VERSION = 1

_LINE = re.compile(r"[^\r\n]+")
_PARENTHETICAL = re.compile(r"^[\(\[][^\)\]]*[\)\]]\W*$")
_HAS_WORD = re.compile(r"\w")


def segmenter_info() -> dict[str, Any]:
    """Name, version and parameters of the segmenter, as recorded in manifests."""
    return {
        "name": "pysbd",
        "version": version("pysbd"),
        "params": {"language": "en", "clean": False, "rules_version": RULES_VERSION},
    }


@lru_cache(maxsize=1)
def _pysbd():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the paragraphs of ``text`` (trimmed of surrounding white space)."""
    spans: list[tuple[int, int]] = []
    for match in _LINE.finditer(text):
        line = match.group()
        stripped = line.strip()
        if not stripped:
            continue
        start = match.start() + (len(line) - len(line.lstrip()))
        end = start + len(stripped)
        if spans and stripped[0].islower():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """Spans of the sentences of one paragraph, relative to it.

    Fragments that are only a parenthetical credit ("(AA Photo)") or hold no word
    characters are joined to the sentence before them.
    """
    flat = paragraph.replace("\r", " ").replace("\n", " ")
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _pysbd().segment(flat):
        piece = piece.strip()
        if not piece:
            continue
        start = flat.find(piece, cursor)
        if start < 0:  # pysbd altered the text; fall back to the rest of the paragraph
            start = cursor
            piece = flat[cursor:].strip()
            if not piece:
                break
            start = flat.find(piece, cursor)
        end = start + len(piece)
        cursor = end
        if spans and (_PARENTHETICAL.match(piece) or not _HAS_WORD.search(piece)):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    tail = flat[cursor:].strip()
    if tail:  # anything pysbd dropped still belongs to the paragraph
        start = flat.find(tail, cursor)
        if spans:
            spans[-1] = (spans[-1][0], start + len(tail))
        else:
            spans.append((start, start + len(tail)))
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
