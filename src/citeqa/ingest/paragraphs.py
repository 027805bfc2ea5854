"""Lines of extracted text as the HTML and Markdown extractors clean them, and code blocks as one-line paragraphs.

Both extractors give segmentation one paragraph per line: white space collapsed,
invisible characters removed, and a code block's lines joined by spaces, a blank line
inside it ending a paragraph (so a line of code such as ``EventEmitter,`` or ``});`` is
no sentence of its own).
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
#: A blank line (white space between two line breaks).
BLANK_LINES = re.compile(r"\n[ \t\f\v\r]*\n\s*")


def clean_lines(text: str) -> list[str]:
    """Lines of ``text`` with runs of spaces collapsed and invisible characters removed (blank lines dropped)."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _SPACES.sub(" ", _INVISIBLE.sub("", line)).strip()
        if line:
            lines.append(line)
    return lines


def code_paragraphs(code: str) -> list[str]:
    """A code block's paragraphs: its lines joined by spaces, a blank line ending one (none if it is blank)."""
    parts = (" ".join(clean_lines(part)) for part in BLANK_LINES.split(code))
    return [part for part in parts if part]


__all__ = ["BLANK_LINES", "clean_lines", "code_paragraphs"]
