"""Markdown extraction (citeqa.ingest.markdown): the text a reader sees, one block per line."""

from __future__ import annotations

from pathlib import Path

import markdown_it
import pytest

from citeqa.errors import SourceError
from citeqa.ingest.extract import current_extractor, extract, sniff

GUIDE = Path(__file__).resolve().parents[1] / "data" / "formats" / "guide.md"


def _text(source: str, name: str = "notes.md") -> str:
    return extract(source.encode("utf-8"), name).text


def test_a_markdown_file_is_its_text_without_markup() -> None:
    extracted = extract(GUIDE.read_bytes(), "guide.md")
    paragraphs = extracted.text.split("\n\n")
    assert (extracted.extractor, extracted.title, paragraphs[0]) == ("markdown-it", "Tidegauge: a guide", "Tidegauge: a guide")
    assert extracted.extractor_version == markdown_it.__version__ + "+r2"
    # emphasis and code marks, link targets, reference definitions, images, comments: gone
    assert (
        "The tidegauge module reads the water level of a harbour from a pressure sensor on the sea bed. A Gauge is an "
        "object that samples the sensor every ten seconds and reports the level in centimetres above chart datum, as "
        "shown on the harbour chart."
    ) in paragraphs
    for markup in ("`", "**", "](", "[chart]", "example.org", "gauge.png", "<!--", "source_link", "##", "<br>", "<details>", "---", "tags:"):
        assert markup not in extracted.text, markup
    # headings are lines of their own; list items keep their shape, a table row has its column heads
    assert {"Installing", "calibrate(gauge, offset)", "- gauge {Gauge} The gauge to calibrate.", "Sensor: PX-40; Range: 40 m; Accuracy: 4 cm."} <= set(paragraphs)
    assert "Sensor" not in {p.split(":")[0] for p in paragraphs if p.startswith("|")}  # no header row of its own
    # the text inside an HTML block is kept; a <br> breaks the line
    assert "Chart datum is the level below which the tide almost never falls, so depths on a chart are never too deep." in paragraphs
    assert paragraphs[paragraphs.index("A reading outside the sensor's range is dropped") + 1] == "and logged as a fault."


def test_a_code_block_is_a_paragraph_per_part_between_blank_lines() -> None:
    paragraphs = extract(GUIDE.read_bytes(), "guide.md").text.split("\n\n")
    at = paragraphs.index("Install the package with npm, then import Gauge:")
    assert paragraphs[at + 1 : at + 3] == [
        "import { Gauge, calibrate, } from 'tidegauge';",
        "const gauge = new Gauge({ port: '/dev/ttyUSB0' }); gauge.on('level', (cm) => { console.log(cm); });",
    ]
    # an indented block too; a block of blank lines is nothing
    assert _text("Run it:\n\n    make\n    make install\n\n```\n\n```\n\nDone.") == "Run it:\n\nmake make install\n\nDone."


def test_wrapped_lines_join_and_entities_are_read() -> None:
    assert _text("A paragraph written\nover two lines &amp; an entity.\n") == "A paragraph written over two lines & an entity."
    assert _text("Line one  \nline two after a hard break.") == "Line one\n\nline two after a hard break."
    assert _text("1. Step one.\n2. Step two\n   - nested item\n") == "- Step one.\n\n- Step two\n\n- nested item"


def test_footnotes_come_last_without_markers_and_wiki_links_read_as_their_text() -> None:
    source = (
        "The tide rose fast[^1]. The gauge was moved[^gauge].\n\n[^1]: Measured at the north quay.\n"
        "[^gauge]: In March.\n\nSee [[Tide tables]] and [[Harbour plan|the plan]]; `[[code]]` stays.\n\n"
        "- [x] dredge the channel\n- [ ] paint the crane\n"
    )
    assert _text(source).split("\n\n") == [
        "The tide rose fast. The gauge was moved.",
        "See Tide tables and the plan; [[code]] stays.",
        "- [x] dredge the channel",  # a task's state is its text
        "- [ ] paint the crane",
        "Measured at the north quay.",
        "In March.",
    ]


def test_front_matter_gives_the_title_and_a_rule_is_not_front_matter() -> None:
    assert _text("---\ntitle: Harbour notes\ndate: 2026-01-02\n---\n\nThe ferry leaves at nine.\n") == "Harbour notes\n\nThe ferry leaves at nine."
    assert _text("---\nauthor: someone\n...\nThe ferry leaves at nine.\n") == "The ferry leaves at nine."
    # not a YAML mapping: a thematic break, then text
    assert _text("---\n\nThe ferry leaves at nine.\n\n---\n") == "The ferry leaves at nine."
    # a heading as the first block is the title
    assert extract(b"# Ferry times\n\nThe ferry leaves at nine.", "f.md").title == "Ferry times"
    assert extract(b"The ferry leaves at nine.\n\n# Later", "f.md").title is None


def test_html_in_markdown_is_data_scripts_and_styles_dropped() -> None:
    source = "Before.\n\n<div>\n<script>alert(1)</script><style>p{}</style>Kept <b>words</b>.\n</div>\n\nAfter <span onclick=x>inline</span> tags.\n"
    assert _text(source) == "Before.\n\nKept words.\n\nAfter inline tags."
    # a link markdown-it refuses to make (javascript:) is shown as written, as a renderer shows it
    assert _text("[click](javascript:alert(1)) here") == "[click](javascript:alert(1)) here"


def test_a_markdown_file_without_text_is_refused_with_what_to_do() -> None:
    with pytest.raises(SourceError, match=r"empty\.md: this Markdown file has no text, only markup, images or comments; add some text"):
        extract(b"<!-- nothing -->\n\n![logo](logo.png)\n\n---\n", "empty.md")


def test_markdown_is_chosen_by_name_or_served_type_and_text_stays_text() -> None:
    source = b"# Notes\n\nSome *text*."
    assert [sniff(source, name, media) for name, media in [
        ("notes.md", None), ("NOTES.MARKDOWN", None), ("http://127.0.0.1/readme", "text/markdown; charset=utf-8"),
        ("http://127.0.0.1/README.md", "text/plain; charset=utf-8"),  # as raw.githubusercontent.com serves it
        ("notes.txt", None), ("http://127.0.0.1/notes", "text/plain"), ("README", None),
    ]] == ["markdown", "markdown", "markdown", "markdown", "text", "text", "text"]
    assert extract(source, "notes.txt").text == source.decode()


def test_an_index_that_read_a_markdown_file_as_text_is_stale() -> None:
    # before December 2026 a .md file was indexed as is; its offsets point into the raw file
    assert current_extractor("text", "docs/notes.md") == ("markdown-it", markdown_it.__version__ + "+r2")
    assert current_extractor("text", "docs/notes.txt") == ("text", "1")
    assert current_extractor("markdown-it", "notes.md") == ("markdown-it", markdown_it.__version__ + "+r2")
    assert current_extractor("trafilatura", "page.md")[0] == "trafilatura"


MYST = Path(__file__).resolve().parents[1] / "data" / "formats" / "myst.md"


def test_myst_roles_and_directives_read_as_sphinx_renders_them() -> None:
    paragraphs = extract(MYST.read_bytes(), "myst.md").text.split("\n\n")
    assert paragraphs == [
        "Caring for a tide gauge",  # the "(gauge-care)=" target and the "%" comment are left out
        # a role's shown text, a "~" Python name as its last part
        "A tide gauge lasts for decades if it is looked after as the maintenance guide says; calibrate checks it after each cleaning.",
        "Never lift the gauge by its cable; lift it by the frame.",  # a warning's content, its option left out
        "New in version 3.2: Gauges warn by text message when their battery runs low.",  # as reST's versionadded reads
        "gauge.calibrate(offset=0)",  # code, its caption option left out
        # the toctree's document names are not text
        "Winter storage",  # a ":::" fence's title argument, then its content
        "Store the gauge in a dry shed above five degrees.",
        "Sensor",  # a definition list's term, then its definition
        "The pressure sensor is replaced every five years by the harbour engineer.",
    ]


def test_myst_directive_content_is_markdown_to_any_depth_and_eval_rst_is_restructuredtext() -> None:
    source = "```{note}\nA *note* with a list:\n- one item\n\n:::{tip}\nA tip inside it.\n:::\n```\n\n```{eval-rst}\n.. versionchanged:: 2.0\n   Uses :func:`~pkg.read`.\n```\n"
    assert _text(source) == "A note with a list:\n\n- one item\n\nA tip inside it.\n\nChanged in version 2.0: Uses read."
    # YAML options go too; an admonition's title is a line of its own
    assert _text("```{admonition} Tide tables\n---\nclass: tip\n---\nThey change every year.\n```\n") == "Tide tables\n\nThey change every year."


def test_other_markdown_keeps_percent_lines_targets_and_code_cells_as_before() -> None:
    # no MyST role or directive: "%" and "(x)=" lines are text, ":::" is a line of text
    plain = "% of the harbour dredged: 40.\n\n(see below)=\n\n::: {.note}\nA Pandoc div.\n:::\n"
    assert _text(plain) == "% of the harbour dredged: 40.\n\n(see below)=\n\n::: {.note} A Pandoc div. :::"
    # R Markdown's and Quarto's "```{r}" cells are code, and do not make the file MyST
    assert _text("% done: 40.\n\n```{r setup}\nx <- c(1, 2)\n```\n") == "% done: 40.\n\nx <- c(1, 2)"
    # in a MyST file too, a fence naming no directive known to be text is code
    assert _text("See {ref}`tides`.\n\n```{python}\nprint('low water')\n```\n") == "See tides.\n\nprint('low water')"
