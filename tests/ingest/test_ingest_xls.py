"""Excel 97-2003 workbook extraction (citeqa.ingest.xls): shown sheets' rows naming their columns, as .xlsx rows read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from citeqa.errors import SourceError
from citeqa.ingest import spreadsheet
from citeqa.ingest.extract import FORMATS, current_extractor_version, extract, sniff

#: From R's readxl examples (MIT; Debian's r-cran-readxl, extdata/clippy.xls): two sheets, a date, a decimal.
CLIPPY = Path(__file__).resolve().parents[1] / "data" / "formats" / "clippy.xls"


def test_each_sheet_reads_as_rows_naming_their_columns_with_dates_as_dates() -> None:
    extracted = extract(CLIPPY.read_bytes(), "office/clippy.xls")
    assert (extracted.extractor, extracted.title) == ("xlrd", "clippy.xls")
    assert extracted.extractor_version == current_extractor_version("xlrd")
    assert extracted.text.split("\n\n") == [
        "clippy.xls",
        "list-column",
        "name: Name; value: Clippy.",
        "name: Species; value: paperclip.",
        "name: Approx date of death; value: 2007-01-01.",  # Excel's day number 39083, shown as the date it is
        "name: Weight in grams; value: 0.9.",
        "two-row-header",
        "name: (at birth); species: (office supply type); death: (date is approximate); weight: (in grams).",
        "name: Clippy; species: paperclip; death: 2007-01-01; weight: 0.9.",
    ]


def test_an_xls_is_known_by_its_name_or_type_and_other_old_office_files_are_still_refused() -> None:
    data = CLIPPY.read_bytes()
    assert sniff(data, "clippy.xls") == sniff(data, "https://example.org/f", "application/vnd.ms-excel") == "xls"
    assert ".xls" in FORMATS
    with pytest.raises(SourceError, match=r"old Office file .* save it as an unprotected \.docx"):
        sniff(data, "letter.doc")
    with pytest.raises(SourceError, match=r"notes\.xls is not an Excel 97-2003 workbook: .* save it again from Excel or LibreOffice as \.xlsx"):
        extract(b"Berth,Fee\nNorth quay,40\n", "notes.xls")
    with pytest.raises(SourceError, match=r"cut\.xls cannot be read as an Excel 97-2003 workbook"):
        extract(data[:600], "cut.xls")


def test_a_damaged_workbook_prints_nothing_on_stdout() -> None:
    # xlrd writes its warnings to stdout unless given a log; `citeqa ask --json` prints JSON there
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; from citeqa.ingest.extract import extract\n"
        "from citeqa.errors import SourceError\n"
        "data = Path(sys.argv[2]).read_bytes()\n"
        "try:\n    extract(data[:20000] + bytes(7), 'cut.xls')\nexcept SourceError:\n    pass\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    result = subprocess.run([sys.executable, "-c", code, src, str(CLIPPY)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and result.stdout == "", result.stdout


def test_a_workbook_past_the_cell_limit_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(spreadsheet, "MAX_CELLS", 5)
    with pytest.raises(SourceError, match="more than 5 cells; save the sheets you need as CSV files"):
        extract(CLIPPY.read_bytes(), "clippy.xls")
