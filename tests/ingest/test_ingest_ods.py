"""OpenDocument spreadsheet extraction (citeqa.ingest.ods): shown sheets' rows naming their columns, cells as Calc shows them."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.errors import SourceError
from citeqa.ingest import spreadsheet
from citeqa.ingest.extract import FORMATS, current_extractor_version, extract, sniff

FEES = Path(__file__).resolve().parents[1] / "data" / "formats" / "fees.ods"


def test_each_shown_sheet_reads_as_rows_naming_their_columns_as_calc_shows_the_cells() -> None:
    extracted = extract(FEES.read_bytes(), "harbour/fees.ods")
    assert (extracted.extractor, extracted.title) == ("ods", "fees.ods")
    assert extracted.extractor_version == current_extractor_version("ods")
    assert extracted.text.split("\n\n") == [
        "fees.ods",
        "Fees",
        "Harbour fees 2025",  # a title above the header reads as text
        # the shown text ("£40.00", "87.5%", "1 June 2025"), an encoded space; the comment left out
        "Berth: North quay; Fee a night: £40.00; Occupancy: 87.5%; Refitted: 1 June 2025.",
        "Berth: South pontoon; Fee a night: £28.00; Occupancy: 50%; Refitted: 15 September 2024.",
        "Notes",  # 1,048,000 repeated empty rows and runs of empty cells cost nothing
        "Divers inspect the pontoon chains in October.",
    ]
    assert "Draft figures" not in extracted.text and "harbour master" not in extracted.text  # the hidden sheet, the comment


def test_a_spreadsheet_is_known_by_its_bytes_and_listed_among_the_formats() -> None:
    data = FEES.read_bytes()
    assert [sniff(data, name) for name in ("fees.ods", "download", "fees.odt")] == ["ods"] * 3
    assert ".ods" in FORMATS


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (FEES.read_bytes()[:300], "its zip is damaged; save it again from LibreOffice"),
        (b"Berth,Fee\n", r"fees\.ods is not an OpenDocument spreadsheet: an \.ods is a zip file"),
    ],
)
def test_what_is_not_a_readable_spreadsheet_is_refused_with_what_to_do(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        extract(data, "fees.ods")


def test_repeated_rows_count_against_the_cell_limit(monkeypatch) -> None:
    monkeypatch.setattr(spreadsheet, "MAX_CELLS", 5)
    with pytest.raises(SourceError, match="more than 5 cells; save the sheets you need as CSV files"):
        extract(FEES.read_bytes(), "fees.ods")
