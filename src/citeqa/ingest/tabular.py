"""Text of CSV and TSV files (Python's csv): each row a paragraph that names its columns, as tables elsewhere read.

A row reads "Item: Pontoons; Cost: 65,000 pounds." (:func:`citeqa.ingest.paragraphs.table_rows`),
so a question naming a column finds the row without the header row beside it. The delimiter is
a tab for ``.tsv``, else the one :class:`csv.Sniffer` finds among comma, semicolon, tab and bar
(comma when it finds none); the header is the first row as wide as most rows whose cells are all
filled, distinct, and labels (not numbers, not sentences), as spreadsheet imports and pandas
take a first row (a title or notes above it read as text; without one every row reads
"| cell | cell |" without its empty cells, a one-cell row as its text); empty rows and cells (and a row's trailing delimiters) are left out, a quoted
cell's line breaks are spaces. The file's name is the first line (the title every row is read
with: a table holds no headline of its own, and its first row would be taken for one).

Limits: a header-less file whose first row is all words reads that row as the column names
(add a header row); formulas are text as written.
"""

from __future__ import annotations

import collections
import csv
import io
import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ..errors import SourceError
from .extracted import Extracted
from .paragraphs import clean_lines, paragraph_document, table_rows

EXTRACTOR = "csv"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1
#: Delimiters looked for when the name does not say (a tab for ".tsv").
DELIMITERS = ",;\t|"
#: Most words of a column's name ("Fee a night", "Depth at low water (m)").
HEADER_WORDS = 8
#: How much of the file the delimiter is sniffed from.
_SAMPLE = 64 * 1024
#: A cell that is a number ("1,250", "-3.5", "12%", "£40", "1e3"), not a column name.
_NUMBER = re.compile(r"^[-+(]?[$€£¥]?\s*\d[\d,. ]*(?:[eE][-+]?\d+)?\s*%?\)?$")


def extractor_version() -> str:
    """The rules version (Python's csv module does not change what it reads)."""
    return f"py+r{RULES_VERSION}"


def _dialect(text: str, tab: bool) -> type[csv.Dialect] | csv.Dialect:
    """The file's dialect: tab-separated when named so, else sniffed (comma when unsure)."""
    if tab:
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(text[:_SAMPLE], delimiters=DELIMITERS)
    except csv.Error:  # one column, or nothing consistent: commas
        return csv.excel


def trimmed(row: list[str]) -> list[str]:
    """``row`` without its trailing empty cells."""
    end = len(row)
    while end and not row[end - 1].strip():
        end -= 1
    return row[:end]


def is_header(row: list[str]) -> bool:
    """A first row of filled, distinct cells none of which is a number or a sentence (a label
    has at most :data:`HEADER_WORDS` words and no end mark)."""
    cells = [cell.strip() for cell in row]
    return (
        bool(cells) and all(cells) and len(set(cells)) == len(cells)
        and not any(_NUMBER.match(cell) or cell[-1] in ".!?" or len(cell.split()) > HEADER_WORDS for cell in cells)
    )


def extract_table(text: str, name: str, *, tab: bool = False) -> Extracted:
    """The rows of a CSV (or, with ``tab``, TSV) text, one paragraph each.

    Raises:
        SourceError: malformed beyond reading, or no cell holds text.
    """
    text = text.removeprefix("\ufeff")
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), _dialect(text, tab)) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise SourceError(f"{name}: cannot read this {'TSV' if tab else 'CSV'} file ({exc}); check its quotes") from None
    if not rows:
        raise SourceError(f"{name}: this {'TSV' if tab else 'CSV'} file has no text in its cells; add some or leave the file out")
    lines = row_paragraphs([trimmed(row) for row in rows])  # "Oslo;Norway;" as exported: no third column
    return paragraph_document(lines, file_name(name), EXTRACTOR, extractor_version())


def row_paragraphs(rows: list[list[str]]) -> list[str]:
    """A table's paragraphs: its header is the first row as wide as most rows that
    :func:`is_header` takes for one (a sheet's title and notes above it read as text), each row
    below it named by it; without one, rows read "| cell | cell |", a one-cell row as its text."""
    widths = collections.Counter(len(row) for row in rows)
    width = max(widths, key=lambda w: (widths[w], w))
    at = next((i for i, row in enumerate(rows[:-1]) if len(row) == width > 1 and is_header(row)), None)
    if at is None and len(rows) > 1 and is_header(rows[0]):
        at = 0  # a one-column table, or rows of many widths: the first row, as before
    above = [[cell for cell in row if cell.strip()] for row in (rows if at is None else rows[:at])]  # unnamed: gaps say nothing
    lines = [part for row in above if row for part in ([" ".join(row[0].split())] if len(row) == 1 else table_rows(None, [row]))]
    return lines if at is None else lines + table_rows(rows[at], rows[at + 1 :])


def sheets_document(sheets: list[tuple[str, list[list[str]]]], name: str, extractor: str, extractor_version: str, what: str) -> Extracted:
    """A workbook's text (``sheets``: each shown sheet's name and rows): the file's name, then each
    sheet that has rows, its name first when there are several, its rows as :func:`row_paragraphs`.

    Raises:
        SourceError: no sheet has text (``what`` names the file's kind in the message).
    """
    read = [(title, rows) for title, rows in sheets if rows]
    lines: list[str] = []
    for title, rows in read:
        if len(read) > 1 and title.strip():
            lines.append(" ".join(clean_lines(title)))
        lines.extend(row_paragraphs(rows))
    if not lines:
        raise SourceError(f"{name}: this {what} has no text in its shown sheets; add some or leave the file out")
    return paragraph_document(lines, file_name(name), extractor, extractor_version)


def file_name(name: str) -> str:
    """The file's name without its folders ("reports/berths.csv" -> "berths.csv"; a URL's last part)."""
    path = urlsplit(name).path if "://" in name else name
    return PurePosixPath(path.replace("\\", "/")).name or name


__all__ = ["DELIMITERS", "EXTRACTOR", "RULES_VERSION", "extract_table", "extractor_version", "file_name", "is_header", "row_paragraphs", "sheets_document", "trimmed"]
