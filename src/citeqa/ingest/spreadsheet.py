"""Text of Excel workbooks (.xlsx, openpyxl): each shown sheet's rows as paragraphs that name their columns, as CSV rows read.

A row reads "Item: Pontoons; Cost: 65000." (:func:`citeqa.ingest.paragraphs.table_rows`, the
first row the header by the CSV reader's rule, :func:`citeqa.ingest.tabular.row_paragraphs`); a
workbook of several shown sheets has each sheet's name as a line before its rows, and the file's
name is the first line. A cell reads as Excel shows its value: a date as "2025-06-01" (with its
time when it has one), a percentage as "12.5%", a number without float noise ("0.3", not
"0.30000000000000004"), TRUE/FALSE; a formula as the value it had when last saved. Hidden sheets,
charts, pictures and comments are left out. The zip is checked as every package is
(:func:`citeqa.ingest.archive.open_zip`) and its XML parsed with defusedxml; nothing is run.

Limits: a formula's value is there only if the program that saved the file computed it (Excel
and LibreOffice do; a file written by a script may hold none); currency and other number formats
read as plain numbers; at most :data:`MAX_CELLS` cells are read.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from .archive import open_zip
from .extracted import Extracted
from .paragraphs import clean_lines
from .tabular import sheets_document, trimmed

EXTRACTOR = "openpyxl"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1
#: Most cells read from one workbook (about a minute of reading): past it, the file is refused.
MAX_CELLS = 2_000_000


class CellBudget:
    """The cells a workbook may still hold (:data:`MAX_CELLS` in all): each table reader spends
    what it reads, and a file past the limit is refused with what to do."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.limit = self.left = MAX_CELLS

    def spend(self, cells: int) -> None:
        """Count ``cells`` more; refuse the file once past the limit."""
        self.left -= cells
        if self.left < 0:
            raise SourceError(f"{self.name} has more than {self.limit:,} cells; save the sheets you need as CSV files, or split the file")


@functools.cache
def extractor_version() -> str:
    """openpyxl's version plus this module's rules version."""
    return f"{version('openpyxl')}+r{RULES_VERSION}"


def shown_value(value: Any, number_format: str) -> str:
    """A cell's value as Excel shows it, near enough (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        if "%" in (number_format or ""):
            return f"{value * 100:.15g}%"
        return f"{value:.15g}"
    return " ".join(clean_lines(str(value)))


def _sheet_rows(sheet: Any, budget: CellBudget) -> list[list[str]]:
    """A sheet's rows of shown cells, empty rows and trailing empty cells left out."""
    rows: list[list[str]] = []
    if hasattr(sheet, "reset_dimensions"):  # a writer's <dimension> may say "A1" alone: read to the real end
        sheet.reset_dimensions()
    for row in sheet.iter_rows():
        budget.spend(len(row))
        cells = trimmed([shown_value(getattr(cell, "value", None), getattr(cell, "number_format", "")) for cell in row])
        if cells:
            rows.append(cells)
    return rows


def extract_xlsx(data: bytes, name: str) -> Extracted:
    """The text of a workbook: its name, then each shown sheet's rows, one paragraph each.

    Raises:
        SourceError: damaged, a zip bomb, not a workbook, too many cells, or no text in it.
    """
    open_zip(data, name, damaged="save it again from Excel or LibreOffice", too_big="save the sheets you need as CSV files")
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds (KeyError, InvalidFileException, ValueError...) on bad parts
        raise SourceError(f"{name} cannot be read as an Excel workbook ({type(exc).__name__}); save it again from Excel or LibreOffice") from None
    try:
        shown = [sheet for sheet in book.worksheets if getattr(sheet, "sheet_state", "visible") == "visible"]
        budget = CellBudget(name)
        read: list[tuple[str, list[list[str]]]] = []
        for sheet in shown:
            try:
                read.append((sheet.title, _sheet_rows(sheet, budget)))
            except SourceError:
                raise
            except Exception as exc:  # noqa: BLE001 - a damaged sheet part, whatever openpyxl raises for it
                raise SourceError(f"{name}: the sheet {sheet.title!r} cannot be read ({type(exc).__name__}); save it again from Excel or LibreOffice") from None
    finally:
        book.close()
    return sheets_document(read, name, EXTRACTOR, extractor_version(), "workbook")


__all__ = ["EXTRACTOR", "MAX_CELLS", "RULES_VERSION", "CellBudget", "extract_xlsx", "extractor_version", "shown_value"]
