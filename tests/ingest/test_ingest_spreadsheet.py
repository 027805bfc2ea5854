"""Excel workbook extraction (citeqa.ingest.spreadsheet): shown sheets' rows naming their columns, cells as Excel shows them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from citeqa.errors import SourceError
from citeqa.ingest import spreadsheet
from citeqa.ingest.extract import FORMATS, current_extractor_version, extract, sniff

TIDES = Path(__file__).resolve().parents[1] / "data" / "formats" / "tides.xlsx"


def test_each_shown_sheet_reads_as_rows_naming_their_columns() -> None:
    extracted = extract(TIDES.read_bytes(), "harbour/tides.xlsx")
    assert (extracted.extractor, extracted.title) == ("openpyxl", "tides.xlsx")
    assert extracted.extractor_version == current_extractor_version("openpyxl")
    assert extracted.text.split("\n\n") == [
        "tides.xlsx",
        "Berths",  # two shown sheets: each one's name before its rows
        # a percentage, a float binary cannot hold (0.1 + 0.2), TRUE, a date, as Excel shows them
        "Berth: North quay; Fee a night: 40; Occupancy: 87.5%; Depth (m): 4.5; Open: TRUE; Refitted: 2025-06-01.",
        "Berth: South pontoon; Fee a night: 28; Occupancy: 50%; Depth (m): 0.3; Open: FALSE; Refitted: 2024-09-15.",
        "Notes",
        "The harbour master checks every berth each spring.",  # a sentence is no column name; a one-cell row is its text
        "Divers inspect the pontoon chains in October.",
    ]
    assert "Draft figures" not in extracted.text  # the hidden sheet


def test_a_workbook_is_known_by_its_content_or_name_and_listed_among_the_formats() -> None:
    data = TIDES.read_bytes()
    assert [sniff(data, name) for name in ("tides.xlsx", "tides.bin")] == ["xlsx", "xlsx"]
    assert ".xlsx" in FORMATS


def _zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("cut.xlsx", TIDES.read_bytes()[:900], "its zip is damaged; save it again from Excel or LibreOffice"),
        ("fake.xlsx", b"Item,Cost\nPontoons,65000\n", r"is not an Excel workbook: an \.xlsx is a zip file .* save it again from Excel"),
        ("other.xlsx", _zipped({"notes.txt": b"hello"}), "cannot be read as an Excel workbook"),
        # an OLE file named .xls is read as Excel 97-2003's (citeqa.ingest.xls); this one is no workbook
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), r"cannot be read as an Excel 97-2003 workbook .* save it again from Excel or LibreOffice as \.xlsx"),
        ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), r"old Office file .* open it in Excel or LibreOffice and save it as an unprotected \.xlsx"),
    ],
)
def test_what_is_not_a_readable_workbook_is_refused_with_what_to_do(name: str, data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        extract(data, name)


def test_a_workbook_past_the_cell_limit_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(spreadsheet, "MAX_CELLS", 10)
    with pytest.raises(SourceError, match="more than 10 cells; save the sheets you need as CSV files"):
        extract(TIDES.read_bytes(), "tides.xlsx")
