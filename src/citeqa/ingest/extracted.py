"""The record every extractor returns: the extracted text (what offsets point into) and its page starts."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidArgumentError

#: Default limit on a document's size in bytes (any format).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Extracted:
    """A document's extracted text and where it came from.

    Attributes:
        text: the text the index stores; every offset refers to it.
        pages: for paged formats (PDF), ``pages[i]`` is the offset in ``text`` where
            page ``i + 1`` starts (``pages[0] == 0``); None for other formats.
        extractor: name of the extractor ("text", "markdown-it", "trafilatura", "pypdf", "mammoth").
        extractor_version: its version plus citeqa's own rules version, so an index
            built with another extractor can be recognised as stale.
        title: the document's title if it has one (HTML: also the first line of text).
    """

    text: str
    pages: tuple[int, ...] | None
    extractor: str
    extractor_version: str
    title: str | None = None

    def page_of(self, offset: int) -> int | None:
        """1-based page holding character ``offset`` of :attr:`text` (None if not paged)."""
        return page_of(self.pages, offset)


def page_of(pages: Sequence[int] | None, offset: int) -> int | None:
    """1-based page of character ``offset``, given the pages' start offsets (None if unpaged).

    Raises:
        InvalidArgumentError: ``offset`` is negative.
    """
    if pages is None:
        return None
    if offset < 0:
        raise InvalidArgumentError(f"offset must be >= 0, got {offset}")
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, offset))
