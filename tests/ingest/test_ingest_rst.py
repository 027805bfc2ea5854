"""reStructuredText extraction (citeqa.ingest.rst, docutils): the text of the rendered page, Sphinx's markup included."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from citeqa.errors import SourceError
from citeqa.ingest.extract import current_extractor, extract, sniff

HANDBOOK = Path(__file__).resolve().parents[1] / "data" / "formats" / "handbook.rst"


def _text(source: str, name: str = "notes.rst") -> str:
    return extract(source.encode("utf-8"), name).text


def test_a_sphinx_page_is_its_text_without_markup() -> None:
    extracted = extract(HANDBOOK.read_bytes(), "handbook.rst")
    paragraphs = extracted.text.split("\n\n")
    assert (extracted.extractor, extracted.extractor_version) == ("docutils", version("docutils") + "+r2")
    assert extracted.title == paragraphs[0] == "Harbour handbook"
    # Sphinx's roles read as their text; wrapped lines are one paragraph
    assert paragraphs[1] == (
        "The harbour package keeps the tide tables of a port. Call load to read a table, and see the setup guide "
        "for the files it needs."
    )
    # Sphinx's directives keep their content; a code block's option does not lose it
    assert "New in version 2.4: Tables can be read from a URL as well as from a file." in paragraphs
    assert "A table older than one year is refused; download the new one from the port authority." in paragraphs
    assert paragraphs[paragraphs.index("Setting up") + 3 : paragraphs.index("Setting up") + 5] == [
        "from harbour.tables import load",
        'table = load("kelby-2026.csv")',
    ]
    # definition and field lists, a simple table, a footnote without its marker, a substitution
    assert paragraphs[paragraphs.index("load(path)") + 1] == "Reads the tide table at path and returns a Table."
    assert {"Maintainer: Ines Morrow", "Port: Kelby; High water: 06:12; Low water: 12:30.", "A table holds one year of tides.",
            "From 1 January to 31 December, in local time.", "The default port is the port of Kelby."} <= set(paragraphs)
    for markup in ("``", ":func:", ":ref:", "..", "===", "[#]", "|port|", "toctree", "maxdepth", "install", "sphinx-quickstart", ":caption:"):
        assert markup not in extracted.text, markup


def test_nothing_is_read_from_files_or_run() -> None:
    text = extract(HANDBOOK.read_bytes(), "handbook.rst").text
    # include, csv-table :file: and raw are off: no line of /etc/passwd, no script
    assert "root:" not in text and "alert" not in text and "<script>" not in text
    assert _text("Before.\n\n.. csv-table:: Remote\n   :url: http://127.0.0.1:9/data.csv\n\nAfter.\n") == "Before.\n\nRemote\n\nAfter."


def test_lists_nested_content_and_unknown_roles() -> None:
    source = (
        "* First item\n* Second item\n\n  with a second paragraph\n\n#. Numbered\n\n"
        ":command:`add_executable` builds :prop_tgt:`IMPORTED_LOCATION_<CONFIG>` and :doc:`the guide <guide>`.\n\n"
        ".. deprecated:: 3.0\n\n.. option:: --verbose\n\n   Print every step.\n"
    )
    assert _text(source).split("\n\n") == [
        "- First item", "- Second item", "with a second paragraph", "- Numbered",
        "add_executable builds IMPORTED_LOCATION_<CONFIG> and the guide.",
        "Deprecated since version 3.0.", "--verbose", "Print every step.",
    ]


def test_rst_is_chosen_by_name_or_served_type_and_an_index_of_it_as_text_is_stale() -> None:
    source = b"Title\n=====\n\nSome text."
    assert [sniff(source, n, m) for n, m in [("a.rst", None), ("A.REST", None), ("http://127.0.0.1/readme", "text/x-rst"),
                                              ("http://127.0.0.1/README.rst", "text/plain"), ("a.txt", None)]] == ["rst"] * 4 + ["text"]
    assert current_extractor("text", "docs/index.rst") == ("docutils", version("docutils") + "+r2")


def test_table_rows_carry_their_column_heads_when_the_table_has_a_header() -> None:
    grid = "+------+-------+\n| Gate | Width |\n+======+=======+\n| North| 12 m  |\n+------+-------+\n| South|       |\n+------+-------+\n"
    assert _text(grid).split("\n\n") == ["Gate: North; Width: 12 m.", "Gate: South."]
    headless = "+------+-------+\n| Chair| Ines  |\n+------+-------+\n"  # data, not a header
    assert _text(headless) == "| Chair | Ines |"


def test_a_file_without_text_is_refused_with_what_to_do() -> None:
    with pytest.raises(SourceError, match=r"empty\.rst: this reStructuredText file has no text"):
        extract(b".. a comment only\n\n.. image:: logo.png\n", "empty.rst")


def test_a_document_docutils_would_parse_for_minutes_is_refused_with_what_to_do() -> None:
    # unclosed backticks: docutils looks for each one's end to the end of the paragraph (150 kB: six minutes)
    pathological = "\n".join(["`" * 9990 + "x"] * 15)
    with pytest.raises(SourceError, match=r"too long and too full of markup characters .* split its long paragraphs, or save it as \.txt"):
        extract(pathological.encode(), "slow.rst")
    # the same characters in a file read as text are only text
    assert extract(pathological.encode(), "slow.txt").text == pathological
