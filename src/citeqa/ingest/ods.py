"""Text of OpenDocument spreadsheets (.ods, LibreOffice Calc's): each shown sheet's rows as paragraphs that name their columns.

An ``.ods`` is a zip whose ``content.xml`` holds every sheet. A cell reads as Calc shows it (the
file stores the shown text beside the value: "87.5%", "1 June 2025", "£40.00"); rows then read
as CSV and Excel rows do (:func:`citeqa.ingest.tabular.row_paragraphs`: "Berth: North quay; Fee
a night: £40.00."), the sheet's name before its rows when there are several, the file's name
first. Repeated rows and cells (how the format stores runs of equal or empty ones) count once
each up to :data:`citeqa.ingest.spreadsheet.MAX_CELLS` cells in all; hidden sheets, comments,
charts and pictures are left out. Nothing is run or fetched: the XML is parsed without entities
or network, the zip checked as every package is, a password-protected file refused.
"""

from __future__ import annotations

import functools
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from .archive import open_zip, xml_part
from .extracted import Extracted
from .odt import cell_text, refuse_encrypted
from .spreadsheet import CellBudget
from .tabular import sheets_document, trimmed

EXTRACTOR = "ods"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1
#: Largest content.xml read, in bytes.
MAX_CONTENT_BYTES = 100 * 1024 * 1024

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"


@functools.cache
def extractor_version() -> str:
    """lxml's version plus this module's rules version."""
    return f"{version('lxml')}+r{RULES_VERSION}"


def _hidden_styles(content: Any) -> frozenset[str]:
    """Names of the table styles that hide their sheet (``table:display="false"``)."""
    hidden = set()
    for style in content.iter(f"{{{_STYLE}}}style"):
        properties = style.find(f"{{{_STYLE}}}table-properties")
        if properties is not None and properties.get(f"{{{_TABLE}}}display") == "false":
            hidden.add(style.get(f"{{{_STYLE}}}name", ""))
    return frozenset(hidden)


def _repeat(element: Any, attribute: str) -> int:
    try:
        return max(1, int(element.get(f"{{{_TABLE}}}{attribute}", "1")))
    except ValueError:
        return 1


def _rows(sheet: Any, budget: CellBudget) -> list[list[str]]:
    """A sheet's rows of shown cells, runs expanded, empty rows and trailing empty cells left out."""
    rows: list[list[str]] = []
    for row in sheet.iter(f"{{{_TABLE}}}table-row"):
        cells: list[str] = []
        for cell in row:
            if cell.tag not in (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell"):
                continue
            text = cell_text(cell)
            times = _repeat(cell, "number-columns-repeated")
            if not text:  # a run of empty cells (often to the sheet's last column): one gap is enough
                times = 1
            budget.spend(times)
            cells.extend([text] * times)
        cells = trimmed(cells)
        if cells:
            times = _repeat(row, "number-rows-repeated")
            budget.spend(len(cells) * (times - 1))
            rows.extend([cells] * times)
    return rows


def extract_ods(data: bytes, name: str) -> Extracted:
    """The text of a spreadsheet: its name, then each shown sheet's rows, one paragraph each.

    Raises:
        SourceError: damaged, a zip bomb, password-protected, not a spreadsheet, too many cells, or no text.
    """
    archive = open_zip(data, name, damaged="save it again from LibreOffice", too_big="save the sheets you need as CSV files")
    refuse_encrypted(archive, name)
    content = xml_part(archive, "content.xml", MAX_CONTENT_BYTES)
    body = None if content is None else content.find(f"{{{_OFFICE}}}body/{{{_OFFICE}}}spreadsheet")
    if body is None:
        raise SourceError(f"{name} is a zip file but not an OpenDocument spreadsheet (no readable content.xml); save it again from LibreOffice")
    hidden = _hidden_styles(content)
    sheets = [sheet for sheet in body.iter(f"{{{_TABLE}}}table") if sheet.get(f"{{{_TABLE}}}style-name", "") not in hidden]
    budget = CellBudget(name)
    read = [(sheet.get(f"{{{_TABLE}}}name", ""), _rows(sheet, budget)) for sheet in sheets]
    return sheets_document(read, name, EXTRACTOR, extractor_version(), "spreadsheet")


__all__ = ["EXTRACTOR", "RULES_VERSION", "extract_ods", "extractor_version"]
