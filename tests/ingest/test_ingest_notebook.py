"""Jupyter notebook extraction (citeqa.ingest.notebook): the cells' text in order, outputs as printed, nothing run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeqa.errors import SourceError
from citeqa.ingest.extract import FORMATS, current_extractor_version, extract, sniff

LEVELS = Path(__file__).resolve().parents[1] / "data" / "formats" / "levels.ipynb"


def _notebook(cells: list[dict], nbformat: int = 4) -> bytes:
    return json.dumps({"nbformat": nbformat, "nbformat_minor": 5, "metadata": {}, "cells": cells}).encode("utf-8")


def test_a_notebook_is_its_cells_text_in_order_with_printed_outputs() -> None:
    extracted = extract(LEVELS.read_bytes(), "levels.ipynb")
    assert (extracted.extractor, extracted.title) == ("notebook", "Norrby harbour water levels")
    assert extracted.extractor_version == current_extractor_version("notebook") and extracted.extractor_version.endswith("+nb1")
    assert extracted.text.split("\n\n") == [
        "Norrby harbour water levels",  # the first Markdown cell's heading is the title
        "This notebook reads a year of readings from the Norrby tide gauge and finds the highest water of the year.",
        'import pandas as pd levels = pd.read_csv("norrby-2025.csv", parse_dates=["time"])',  # code, as code blocks read
        'print(len(levels), "readings")',
        "52560 readings",  # what the cell printed
        "The gauge samples every ten minutes, so a full year holds 52,560 readings.",
        "Readings taken while the gauge was being cleaned are dropped.",  # a MyST note's content
        "levels.level_cm.max()",
        "412",  # a result's plain text, not its HTML
        "The highest water of 2025 was 412 cm above chart datum, during the January storm.",
        "levels.plot()",  # the picture, its "<Figure ...>" placeholder, the error's traceback and the raw cell: gone
    ]


def test_colour_codes_go_and_nbformat_3_notebooks_are_read() -> None:
    coloured = _notebook([{"cell_type": "code", "source": "run()", "outputs": [
        {"output_type": "stream", "name": "stderr", "text": "\x1b[1;31mWARNING\x1b[0m: tide table is old\n"}]}])
    assert extract(coloured, "run.ipynb").text == "run()\n\nWARNING: tide table is old"
    old = json.dumps({"nbformat": 3, "worksheets": [{"cells": [
        {"cell_type": "heading", "level": 1, "source": ["Ferry times"]},
        {"cell_type": "markdown", "source": ["The ferry leaves at *nine*."]},
        {"cell_type": "code", "input": ["times()"], "outputs": [{"output_type": "pyout", "text": ["['09:00']"]}]},
    ]}]}).encode("utf-8")
    extracted = extract(old, "ferry.ipynb")
    assert (extracted.title, extracted.text) == ("Ferry times", "Ferry times\n\nThe ferry leaves at nine.\n\ntimes()\n\n['09:00']")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"cells": [', "not a Jupyter notebook: not valid JSON at line 1; save it again from Jupyter"),
        (b'{"name": "package.json"}', "not a Jupyter notebook: its JSON has no cells or nbformat"),
        (b"[1, 2, 3]", "its JSON has no cells or nbformat"),
        (_notebook([{"cell_type": "code", "source": "", "outputs": []}]), "this notebook has no text in its cells"),
        (bytes(range(256)) * 8, "claims to be a Jupyter notebook but its content is binary"),
    ],
)
def test_what_is_not_a_readable_notebook_is_refused_with_what_to_do(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        extract(data, "broken.ipynb")


def test_a_notebook_is_known_by_its_name_or_its_content_type_and_listed_among_the_formats() -> None:
    data = LEVELS.read_bytes()
    assert sniff(data, "levels.ipynb") == "notebook"
    assert sniff(data, "https://example.org/nb", "application/x-ipynb+json") == "notebook"
    assert sniff(data, "https://raw.example.org/levels.ipynb", "text/plain") == "notebook"  # as raw GitHub serves it
    assert ".ipynb" in FORMATS
    with pytest.raises(SourceError, match=r"unsupported file type '\.json'; citeqa reads .*\.ipynb"):
        sniff(data, "levels.json")  # other JSON is not read as a notebook
