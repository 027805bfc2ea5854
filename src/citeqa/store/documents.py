"""The documents of a loaded local index: :class:`DocumentTable`, their metadata as columns and their texts decoded from the mapped file on access.

Owns reading sentence texts and word counts straight from ``texts.bin`` (ASCII documents by
byte offset, short non-ASCII ones decoded whole, the rest through a small cache); the files
themselves are opened and checked by :mod:`.read`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..schema import Document
from .seam import LazySequence

#: Non-ASCII documents up to this many bytes are decoded whole for each sentence read from them
#: (:meth:`DocumentTable.text_slice`); longer ones go through the cache of decoded documents.
SLICE_DECODE_BYTES = 16 << 10


#: The bytes ``str.split()`` treats as white space in ASCII text (tab to carriage return, the
#: four separators 0x1c-0x1f, space): a 256-entry lookup table for :meth:`DocumentTable.word_counts`.
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[c for c in range(128) if chr(c).isspace()]] = True


class DocumentTable(LazySequence[Document]):
    """The documents of a loaded index; each text is decoded from the mapped file on access.

    The rows of ``documents.jsonl`` are kept as columns of shared strings, not one dict per
    document: at 50,000 documents the dicts held 31 MiB of a server's memory, and the loaded
    index is 34 MiB smaller with the columns (their strings are the manifest's own, passed as
    ``shared``).
    """

    def __init__(
        self, meta: Sequence[Mapping[str, Any]], spans: np.ndarray, blob: np.ndarray, *, shared: Iterable[str] = ()
    ) -> None:
        pool = {text: text for text in shared}

        def column(key: str, default: str | None = None) -> list[str]:
            return [pool.setdefault(value, value) for value in (str(row.get(key, default)) for row in meta)]

        self._doc_ids = column("doc_id")
        self._paths = column("path")
        self._sha256 = column("sha256")
        self._extractors = column("extractor", "text")
        self._extractor_versions = column("extractor_version", "1")
        self._pages = {n: tuple(int(p) for p in row["pages"]) for n, row in enumerate(meta) if row.get("pages") is not None}
        self._spans = spans
        self._blob = blob
        self._decode = lru_cache(maxsize=256)(self._decode_uncached)

    def __len__(self) -> int:
        return len(self._doc_ids)

    def _decode_uncached(self, number: int) -> Document:
        start, end, _chars = (int(x) for x in self._spans[number])
        text = self._blob[start:end].tobytes().decode("utf-8")
        return Document(
            doc_id=self._doc_ids[number],
            text=text,
            path=self._paths[number],
            sha256=self._sha256[number],
            pages=self.pages(number),
            extractor=self._extractors[number],
            extractor_version=self._extractor_versions[number],
        )

    def pages(self, number: int) -> tuple[int, ...] | None:
        """Page start offsets of document ``number`` (None if it is not paged), without its text."""
        return self._pages.get(number)

    _position_name = "document number"

    def _item(self, number: int) -> Document:
        return self._decode(number)

    def text_slice(self, number: int, start: int, end: int) -> str:
        """``self[number].text[start:end]``, without decoding an ASCII document whole.

        A document whose UTF-8 size equals its length in characters is ASCII, so
        character offsets are byte offsets: the slice is read straight from the mapped
        file. A short non-ASCII one is decoded on the spot, without the cache. That keeps a query over a large corpus from decoding a whole document for
        each candidate sentence it looks at.
        """
        first, last, chars = (int(x) for x in self._spans[number])
        if last - first == chars and 0 <= start <= end <= chars:
            return self._blob[first + start : first + end].tobytes().decode("ascii")
        if last - first <= SLICE_DECODE_BYTES and 0 <= start <= end <= chars:
            # a short non-ASCII document: decoding its bytes costs less than building (and
            # caching) its Document, and a query's candidates come from ~100 documents
            return self._blob[first:last].tobytes().decode("utf-8")[start:end]
        return self[number].text[start:end]

    def _look_up(
        self, numbers: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The spans as int64 rows, their documents' byte spans, and which are valid slices of an ASCII document."""
        numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        ends = np.asarray(ends, dtype=np.int64).reshape(-1)
        spans = self._spans[numbers]
        first, chars = spans[:, 0], spans[:, 2]
        ascii_ok = (spans[:, 1] - first == chars) & (starts >= 0) & (starts <= ends) & (ends <= chars)
        return numbers, starts, ends, spans, ascii_ok

    def text_slices(self, numbers: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str]:
        """``[self.text_slice(n, s, e) for n, s, e in zip(numbers, starts, ends)]``, the spans looked up at once.

        A query reads ~100 candidate sentences: one array lookup for all their documents'
        byte spans instead of one per sentence.
        """
        numbers, starts, ends, spans, ascii_ok = self._look_up(numbers, starts, ends)
        first, chars = spans[:, 0], spans[:, 2]
        # short non-ASCII documents are decoded whole, each once per call
        short = ~ascii_ok & (spans[:, 1] - first <= SLICE_DECODE_BYTES) & (starts >= 0) & (starts <= ends) & (ends <= chars)
        blob = self._blob
        out = []
        decoded: dict[int, str] = {}
        rows = zip(
            (first + starts).tolist(), (first + ends).tolist(), ascii_ok.tolist(), short.tolist(),
            numbers.tolist(), starts.tolist(), ends.tolist(), first.tolist(), spans[:, 1].tolist(),
        )
        for a, b, ok, small, n, s, e, first_byte, last_byte in rows:
            if ok:
                out.append(blob[a:b].tobytes().decode("ascii"))
            elif small:
                text = decoded.get(n)
                if text is None:
                    text = decoded[n] = blob[first_byte:last_byte].tobytes().decode("utf-8")
                out.append(text[s:e])
            else:
                out.append(self.text_slice(n, s, e))
        return out

    def word_counts(self, numbers: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """``len(text.split())`` of each ``self.text_slice(n, s, e)`` (int64), without making the strings.

        A sentence of an ASCII document is counted on its mapped bytes: a word starts at
        each byte that is not white space (:data:`_ASCII_SPACE`, what ``str.split`` splits
        on in ASCII text) and follows white space or the start. One array pass for all of
        a query's ~100 candidates, where slicing and splitting each cost ~5 µs in Python.
        Sentences of other documents are sliced and split.
        """
        numbers, starts, ends, spans, ascii_ok = self._look_up(numbers, starts, ends)
        first = spans[:, 0]
        counts = np.zeros(numbers.shape[0], dtype=np.int64)
        rows = np.flatnonzero(ascii_ok)
        if rows.shape[0]:
            lengths = ends[rows] - starts[rows]
            offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            total = int(offsets[-1])
            # the byte positions of every sentence, one after the other
            at = np.repeat(first[rows] + starts[rows] - offsets[:-1], lengths) + np.arange(total, dtype=np.int64)
            space = _ASCII_SPACE[self._blob[at]]
            after_space = np.empty(total, dtype=bool)
            after_space[1:] = space[:-1]
            after_space[offsets[:-1][lengths > 0]] = True  # each sentence's first byte starts a word
            begins = np.zeros(total + 1, dtype=np.int64)
            np.cumsum(~space & after_space, out=begins[1:])
            counts[rows] = begins[offsets[1:]] - begins[offsets[:-1]]
        for row in np.flatnonzero(~ascii_ok).tolist():
            counts[row] = len(self.text_slice(int(numbers[row]), int(starts[row]), int(ends[row])).split())
        return counts

    def chars(self) -> np.ndarray:
        """Length in characters of every document (int64 array)."""
        return np.asarray(self._spans[:, 2])

    def keys(self) -> list[tuple[str, str, str]]:
        """``(doc_id, sha256, "extractor version")`` of every document, without decoding any text.

        Documents stored before extractors were recorded are plain text ("text 1").
        """
        return [
            (doc_id, sha256, f"{extractor} {version}")
            for doc_id, sha256, extractor, version in zip(self._doc_ids, self._sha256, self._extractors, self._extractor_versions)
        ]
