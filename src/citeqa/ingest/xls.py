"""Text of Excel 97-2003 workbooks (.xls, xlrd): each shown sheet's rows as paragraphs that name their columns, as .xlsx rows read.

The binary workbooks Excel wrote before 2007, still common in archives and exports. Read with
xlrd (its one remaining format) into the same rows as :mod:`citeqa.ingest.spreadsheet`: a date as
"2007-01-01" (with its time when it has one), a number without float noise, TRUE/FALSE, a
formula as the value it had when saved, error cells empty; hidden sheets left out; at most
:data:`citeqa.ingest.spreadsheet.MAX_CELLS` cells. Nothing is run: macros are never read.

Limits: number formats are not applied (a percentage reads 0.875); a password-protected
workbook is refused with what to do.
"""

from __future__ import annotations

import functools
import io
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from .extracted import Extracted
from .spreadsheet import CellBudget, shown_value
from .tabular import sheets_document, trimmed

EXTRACTOR = "xlrd"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1


@functools.cache
def extractor_version() -> str:
    """xlrd's version plus this module's rules version."""
    return f"{version('xlrd')}+r{RULES_VERSION}"


def _value(cell: Any, datemode: int) -> str:
    """A cell as Excel shows it, near enough (xlrd's cell types: empty, text, number, date, boolean, error, blank)."""
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return shown_value(xlrd.xldate.xldate_as_datetime(cell.value, datemode), "")
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return shown_value(cell.value, "")
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return shown_value(bool(cell.value), "")
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    return shown_value(cell.value, "")


def extract_xls(data: bytes, name: str) -> Extracted:
    """The text of an .xls workbook: its name, then each shown sheet's rows, one paragraph each.

    Raises:
        SourceError: damaged, password-protected, not a workbook, too many cells, or no text in it.
    """
    import xlrd

    try:
        # xlrd prints its warnings on stdout unless given a log: keep them out of `citeqa ask --json`
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
    except xlrd.biffh.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise SourceError(f"{name} is password-protected; open it in Excel or LibreOffice and save it without a password as .xlsx") from None
        raise SourceError(f"{name} cannot be read as an Excel 97-2003 workbook ({exc}); save it again from Excel or LibreOffice as .xlsx") from None
    except Exception as exc:  # noqa: BLE001 - xlrd raises many kinds (struct.error, IndexError, AssertionError...) on damaged files
        raise SourceError(f"{name} cannot be read as an Excel 97-2003 workbook ({type(exc).__name__}); save it again from Excel or LibreOffice as .xlsx") from None
    try:
        budget = CellBudget(name)
        read: list[tuple[str, list[list[str]]]] = []
        for number in range(book.nsheets):
            try:
                sheet = book.sheet_by_index(number)
            except Exception as exc:  # noqa: BLE001 - a damaged sheet record, whatever xlrd raises for it
                raise SourceError(f"{name}: a sheet cannot be read ({type(exc).__name__}); save it again from Excel or LibreOffice as .xlsx") from None
            if sheet.visibility != 0:  # hidden, or "very hidden"
                continue
            budget.spend(sheet.nrows * sheet.ncols)
            rows = [trimmed([_value(cell, book.datemode) for cell in sheet.row(r)]) for r in range(sheet.nrows)]
            read.append((sheet.name, [row for row in rows if row]))
    finally:
        book.release_resources()
    return sheets_document(read, name, EXTRACTOR, extractor_version(), "workbook")


__all__ = ["EXTRACTOR", "RULES_VERSION", "extract_xls", "extractor_version"]
