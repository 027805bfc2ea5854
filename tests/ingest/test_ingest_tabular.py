"""CSV and TSV extraction (citeqa.ingest.tabular): each row a paragraph naming its columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.errors import SourceError
from citeqa.ingest.extract import FORMATS, current_extractor_version, extract, sniff

BERTHS = Path(__file__).resolve().parents[1] / "data" / "formats" / "berths.csv"


def _text(data: str, name: str = "table.csv", content_type: str | None = None) -> str:
    return extract(data.encode("utf-8"), name, content_type).text


def test_each_row_reads_with_its_column_names_after_the_files_name() -> None:
    extracted = extract(BERTHS.read_bytes(), "harbour/berths.csv")
    assert (extracted.extractor, extracted.title) == ("csv", "berths.csv")
    assert extracted.extractor_version == current_extractor_version("csv")
    assert extracted.text.split("\n\n") == [
        "berths.csv",
        "Berth: North quay; Fee a night: 40 pounds; Longest boat: 25 m; Water depth: 4.5 m.",
        "Berth: South pontoon; Fee a night: 28 pounds; Longest boat: 12 m; Water depth: 2.1 m.",
        "Berth: Fuel dock (short stay); Longest boat: 8 m; Water depth: 3 m.",  # a quoted line break, an empty cell
        "Berth: St. Olav's slip; Fee a night: 15 pounds; Longest boat: 9 m; Water depth: 1.2 m.",
    ]


def test_the_delimiter_is_found_and_tsv_is_read_by_name_or_type() -> None:
    assert _text("Town;Ferries a day;\nNorrby;12;\nKelby;4;\n") == "table.csv\n\nTown: Norrby; Ferries a day: 12.\n\nTown: Kelby; Ferries a day: 4."
    assert _text("Town\tFerries\nNorrby\t12\n", "t.tsv") == "t.tsv\n\nTown: Norrby; Ferries: 12."
    assert _text("Town\tFerries\nNorrby\t12\n", "https://example.org/data/ferries", "text/tab-separated-values") == (
        "ferries\n\nTown: Norrby; Ferries: 12."
    )
    assert sniff(b"a,b\n1,2\n", "https://example.org/t", "text/csv") == "csv"


def test_a_title_and_notes_above_the_header_read_as_text() -> None:
    source = "Harbour fees 2025,,\nSet by the council,,in March\nBerth,Fee,Depth\nNorth quay,40,4.5\nSouth pontoon,28,2.1\n"
    assert _text(source).split("\n\n") == [
        "table.csv",
        "Harbour fees 2025",
        "| Set by the council | in March |",
        "Berth: North quay; Fee: 40; Depth: 4.5.",
        "Berth: South pontoon; Fee: 28; Depth: 2.1.",
    ]


def test_a_first_row_of_numbers_or_gaps_is_no_header() -> None:
    assert _text("2024,41\n2025,44\n") == "table.csv\n\n| 2024 | 41 |\n\n| 2025 | 44 |"
    assert _text("Town,,Ferries\nNorrby,x,12\n") == "table.csv\n\n| Town | Ferries |\n\n| Norrby | x | 12 |"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b",,\n\n", "this CSV file has no text in its cells"),
        (b'a,b\n"' + b"x" * 200_000 + b'",1\n', "cannot read this CSV file"),  # a cell past the csv module's limit
        (bytes(range(256)) * 8, "claims to be text but its content is binary"),
    ],
)
def test_what_is_not_a_readable_table_is_refused_with_what_to_do(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        extract(data, "broken.csv")


def test_csv_is_listed_among_the_formats() -> None:
    assert ".csv" in FORMATS
