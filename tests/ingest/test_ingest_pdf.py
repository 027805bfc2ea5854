"""PDF extraction (citeqa.ingest.pdf) on PDFs printed by Debian's chromium (make_fixtures.py)."""

from __future__ import annotations

import importlib.util
import io
import os
import re
from pathlib import Path

import pypdf
import pytest

from citeqa.errors import InvalidArgumentError, SourceError
from citeqa.ingest.extract import extract
from citeqa.ingest.pdf import extract_pdf

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
NEWS_PDF = FORMATS / "news.pdf"
REPORT_PDF = FORMATS / "report.pdf"
SCAN_PDF = FORMATS / "scan.pdf"
MANUAL_PDF = FORMATS / "manual.pdf"

_PRINT_DATE = re.compile(r"\d+/\d+/\d+, \d+:\d+ [AP]M")


def _fixtures_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_fixtures", FORMATS / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _raw_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def _report_paragraphs() -> dict[str, list[str]]:
    """The report's headings and paragraphs as written, hyphenation marks removed."""
    module = _fixtures_module()
    return {
        heading: [p.replace("|", "").replace("^", "") for p in paragraphs]
        for heading, paragraphs in module.REPORT
    }


def _news_paragraphs() -> list[str]:
    html = (FORMATS / "news.html").read_text(encoding="utf-8")
    article = html[html.index("<article>") : html.index("</article>")]
    return [
        " ".join(re.sub(r"<[^>]+>", "", p).split()).replace("&middot;", "·")
        for p in re.findall(r"<p>(.*?)</p>", article, flags=re.DOTALL)
    ]


def test_browser_print_header_and_footer_dropped() -> None:
    raw = "\n".join(_raw_pages(NEWS_PDF))
    # the fixture really has chromium's running header and footer on each page
    assert len(_PRINT_DATE.findall(raw)) == 2 and "le:///" in raw and "1/2" in raw and "2/2" in raw
    extracted = extract(NEWS_PDF.read_bytes(), "news.pdf")
    assert extracted.extractor == "pypdf"
    assert not _PRINT_DATE.search(extracted.text)
    assert "file:" not in extracted.text and "le:///" not in extracted.text
    assert not re.search(r"\b[12]/2\b", extracted.text)
    assert extracted.text.count("Harbour town switches on its tidal barrage") == 1  # the <h1> only
    assert extracted.title == "Harbour town switches on its tidal barrage | The Coastal Courier"


def test_printed_page_keeps_every_sentence_whole() -> None:
    extracted = extract(NEWS_PDF.read_bytes(), "news.pdf")
    paragraphs = _news_paragraphs()
    assert len(paragraphs) == 12
    for paragraph in paragraphs:
        assert paragraph in extracted.text, paragraph
    # the sentence that runs from page 1 onto page 2 is joined, not split by a page break
    assert "a smaller barrage on its own river." in extracted.text
    # headline, byline and every paragraph are paragraphs of their own (from the gaps
    # between lines: several paragraphs end with a full-width line)
    blocks = extracted.text.split("\n\n")
    assert "Harbour town switches on its tidal barrage" in blocks
    start = blocks.index(paragraphs[0])
    assert blocks[start - 1].startswith("By Morwenna Tregear")
    assert blocks[start : start + len(paragraphs)] == paragraphs


def test_report_hyphenated_words_rejoined_real_hyphens_kept() -> None:
    raw = "\n".join(_raw_pages(REPORT_PDF))
    for broken in ("environ-\nmental", "exer-\ncise", "commis-\nsioning", "Azerbaijani-\nTurkish", "co-\noperative"):
        assert broken in raw  # the text layer really breaks these words
    text = extract(REPORT_PDF.read_bytes(), "report.pdf").text
    for word in ("environmental", "throughout", "commissioning", "exercise", "comparable", "condition"):
        assert re.search(rf"\b{word}\b", text), word
    assert "exer-" not in text and "exer cise" not in text
    assert "an Azerbaijani-Turkish survey team" in text
    assert "The harbour co-operative paid" in text  # written with a hyphen elsewhere in the report
    assert "five-year average" in text and "low-head turbines" in text


def test_report_paragraphs_are_one_line_each_and_ligatures_spelled_out() -> None:
    extracted = extract(REPORT_PDF.read_bytes(), "report.pdf")
    blocks = extracted.text.split("\n\n")
    expected = ["Estuary Monitoring Report 2026"]
    for heading, paragraphs in _report_paragraphs().items():
        expected += [heading, *paragraphs]
    assert blocks == expected
    assert not re.search("[\ufb00-\ufb06]", extracted.text)
    assert "ﬁ" in "\n".join(_raw_pages(REPORT_PDF))  # the fixture does use ligatures


def test_page_offsets_exact() -> None:
    extracted = extract(REPORT_PDF.read_bytes(), "report.pdf")
    text, pages = extracted.text, extracted.pages
    assert pages is not None and len(pages) == 3 and pages[0] == 0
    # each section starts a new page in the fixture (CSS break-before: page)
    for number, heading in enumerate(_report_paragraphs(), start=1):
        if number > 1:
            assert pages[number - 1] == text.index(heading)
        assert extracted.page_of(text.index(heading)) == number
    assert extracted.page_of(text.index("The fish counter at the head of the pass")) == 2
    assert extracted.page_of(text.index("The operator released water")) == 3
    assert extracted.page_of(text.index("Dissolved oxygen stayed")) == 1
    assert extracted.page_of(len(text) - 1) == 3

    news = extract(NEWS_PDF.read_bytes(), "news.pdf")
    raw = _raw_pages(NEWS_PDF)
    # checked against pypdf's own page 2, independently of the clean-up
    assert "The barrage will be opened to walkers" in raw[1]
    assert news.page_of(news.text.index("The barrage will be opened to walkers")) == 2
    assert news.page_of(news.text.index("Other coastal towns are watching")) == 1
    assert news.text[news.pages[1] :].startswith("own river.")


def test_image_only_pdf_refused() -> None:
    assert len(pypdf.PdfReader(SCAN_PDF).pages) == 1
    with pytest.raises(SourceError, match=r"scan\.pdf has no text layer \(a scanned PDF\?\); run OCR first"):
        extract(SCAN_PDF.read_bytes(), "scan.pdf")


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_truncated_pdf_refused(keep: float) -> None:
    data = REPORT_PDF.read_bytes()
    cut = data[: int(len(data) * keep)]
    with pytest.raises(SourceError, match=r"report\.pdf is truncated or damaged .*download or copy the PDF again"):
        extract(cut, "report.pdf")


def test_damaged_pdf_refused_not_empty() -> None:
    data = REPORT_PDF.read_bytes()
    # keeps the header and the end marker, loses everything between
    damaged = data[:200] + b"\n" + bytes(len(data) - 400) + data[-200:]
    with pytest.raises(SourceError, match="report.pdf"):
        extract(damaged, "report.pdf")


def test_pdf_with_broken_cross_references_refused_not_empty() -> None:
    data = REPORT_PDF.read_bytes()
    # the first half and the end: pypdf rebuilds a table of objects but finds no text
    spliced = data[: len(data) // 2] + data[-2000:]
    with pytest.raises(SourceError, match=r"r\.pdf has no text to index: .*the PDF is damaged"):
        extract(spliced, "r.pdf")


def test_pdf_named_pdf_that_is_not_one_refused() -> None:
    with pytest.raises(SourceError, match=r"fake\.pdf is not a PDF: it has no %PDF- header"):
        extract((FORMATS / "news.html").read_bytes(), "fake.pdf")


def test_50_mb_pdf_refused_by_size(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=REPORT_PDF)
    writer.add_attachment("blob.bin", os.urandom(50 * 1024 * 1024))
    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:
        writer.write(handle)
    data = big.read_bytes()
    big.unlink()  # pytest keeps tmp folders of recent runs; not 50 MB of them
    assert len(data) > 50 * 1024 * 1024 and data.startswith(b"%PDF-")
    with pytest.raises(SourceError, match=r"big\.pdf is [\d,]+ bytes, over the limit of 20,971,520 bytes"):
        extract(data, "big.pdf")
    with pytest.raises(SourceError, match=r"over the PDF limit of 1,000 bytes"):
        extract_pdf(REPORT_PDF.read_bytes(), "report.pdf", max_bytes=1000)
    # under a raised limit the same real PDF reads fine
    assert "Estuary Monitoring Report" in extract(data, "big.pdf", max_bytes=len(data)).text


def test_password_protected_pdf_refused() -> None:
    writer = pypdf.PdfWriter(clone_from=REPORT_PDF)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(SourceError, match=r"locked\.pdf is password-protected"):
        extract(buffer.getvalue(), "locked.pdf")


def test_pdf_limits_validated_and_version_recorded() -> None:
    with pytest.raises(InvalidArgumentError, match="max_pages must be > 0, got 0"):
        extract_pdf(REPORT_PDF.read_bytes(), "report.pdf", max_pages=0)
    with pytest.raises(SourceError, match=r"report\.pdf has 3 pages, over the limit of 2"):
        extract_pdf(REPORT_PDF.read_bytes(), "report.pdf", max_pages=2)
    assert extract(REPORT_PDF.read_bytes(), "report.pdf").extractor_version.startswith(pypdf.__version__ + "+r")


def test_running_lines_vary_only_by_page_number() -> None:
    from citeqa.ingest.pdf import _drop_running_lines, _Line

    pages = [
        ["Annual report", "First page text.", "Table 4", "Page 1 of 3"],
        ["Annual report", "Second page text.", "Table 9", "Page 2 of 3"],
        ["Annual report", "Third page text.", "Table 12", "Page 3 of 3"],
    ]
    def drop(pages: list[list[str]]) -> list[list[str]]:
        kept = _drop_running_lines([[_Line(text) for text in lines] for lines in pages])
        return [[line.text for line in lines] for lines in kept]

    assert drop(pages) == [
        ["First page text.", "Table 4"],
        ["Second page text.", "Table 9"],
        ["Third page text.", "Table 12"],
    ]
    # numbered from a cover page: page i shows i - 1
    assert drop([["x", "- 0 -"], ["y", "- 1 -"]]) == [["x"], ["y"]]
    # one page: nothing repeats
    assert drop([["Page 1 of 1", "Only text."]]) == [["Page 1 of 1", "Only text."]]


def test_a_chapters_running_header_with_the_page_number_is_dropped_from_three_pages_on() -> None:
    from citeqa.ingest.pdf import _drop_running_lines, _Line

    def drop(pages: list[list[str]]) -> list[list[str]]:
        kept = _drop_running_lines([[_Line(text) for text in lines] for lines in pages])
        return [[line.text for line in lines] for lines in kept]

    chapter = [["Chapter 2: Operation 4", "Text a."], ["Chapter 2: Operation 5", "Text b."], ["Chapter 2: Operation 6", "Text c."]]
    cover = [["Title page."], ["Contents."], ["Preface."], ["More preface."], ["Even more."]]
    assert drop(cover + chapter) == cover + [["Text a."], ["Text b."], ["Text c."]]
    # on two pages only, or with numbers that do not follow the pages, it may be text
    assert drop(cover + chapter[:2]) == cover + chapter[:2]
    steps = [["Step 1", "Text a."], ["Step 7", "Text b."], ["Step 3", "Text c."]]
    assert drop(cover + steps) == cover + steps


def test_a_manuals_contents_index_and_running_headers_are_left_out() -> None:
    module = _fixtures_module()
    text = extract_pdf(MANUAL_PDF.read_bytes(), "manual.pdf").text
    paragraphs = text.split("\n\n")
    assert ". . ." not in text and "Chapter 2: Operation" not in text
    # headings stay, each a paragraph of its own; the page numbers alone on chapters' first pages go
    for heading in ("Table of Contents", "1 Introduction", "2.1 Opening the barrage gate", "Index"):
        assert heading in paragraphs
    # a heading in lower case is told by its larger font, not joined to the text before it
    assert "reporting damage" in paragraphs
    assert not {"1", "3", "7"} & set(paragraphs)
    # so do the index's letters, each alone on its line
    assert not {"C", "R", "S"} & set(paragraphs)
    # every sentence of the body is there, whole
    for _, blocks in module.MANUAL_PAGES:
        for block in blocks:
            if block.endswith("."):
                assert block in text, block
    # a chapter's header seen on one page only stays (it could be text)
    assert "Chapter 1: Introduction 2" in paragraphs


def test_a_line_set_larger_than_the_body_is_a_paragraph_of_its_own() -> None:
    from citeqa.ingest.pdf import _assemble, _Line

    body = "a line of body text that is long enough to be full"
    page = [_Line(body, 700.0, 10.0), _Line("ends here.", 688.0, 10.0), _Line("asn1 create element", 670.0, 13.1),
            _Line("creates a structure, and the text goes on", 652.0, 10.0), _Line(body, 640.0, 10.0)]
    text, _ = _assemble([page])
    assert text.split("\n\n") == [f"{body} ends here.", "asn1 create element", f"creates a structure, and the text goes on {body}"]
    # without sizes (no positions read) the lower-case lines join as before
    text, _ = _assemble([[_Line(line.text, line.y) for line in page]])
    assert "\n\n" not in text


def test_a_line_of_one_letter_is_left_out_and_one_digit_kept() -> None:
    from citeqa.ingest.pdf import _assemble, _Line

    # an index's letter heading goes; a digit alone may be a table's cell
    text, _ = _assemble([[_Line("Sites open"), _Line("5"), _Line("F"), _Line("The end.")]])
    assert text.split("\n\n") == ["Sites open 5", "The end."]


def test_line_joins() -> None:
    from citeqa.ingest.pdf import _separator

    cases = {
        ("environ \u2010", "mental monitoring"): (2, ""),  # chromium's soft hyphen
        ("the exer-", "cise of"): (1, ""),
        ("an X-", "ray of"): (0, ""),
        ("from 2010-", "2020 the"): (0, ""),
        ("a word\u2014", "another"): (0, ""),
        ("a spaced dash -", "another"): (0, " "),
        ("a short heading", "The text"): (0, "\n\n"),
        ("a line that is long enough to be a full line of text here.", "The next"): (0, " "),
        ("short.", "and lower case goes on"): (0, " "),
        # a bulleted line is a list's item, after a full line too; its own wrapped line goes on
        ("a line that is long enough to be a full line of text here:", "• INTEGER;"): (0, "\n\n"),
        ("• a list item long enough to be a full line of text here", "and goes on"): (0, " "),
        ("a line that is long enough to be a full line of text here", "◦ a nested item"): (0, "\n\n"),
    }
    for (left, right), expected in cases.items():
        assert _separator(left, right, 50.0, set()) == expected, (left, right)
    assert _separator("the co-", "operative", 50.0, {"co-operative"}) == (0, "")
    # a full line followed by extra space ends its paragraph; normal spacing does not
    full = "a line that is long enough to be a full line of text here."
    assert _separator(full, "The next", 50.0, set(), gap=1.7) == (0, "\n\n")
    assert _separator(full, "The next", 50.0, set(), gap=1.0) == (0, " ")
    assert _separator(full, "and more", 50.0, set(), gap=1.7) == (0, " ")


def test_a_bulleted_list_after_a_full_line_keeps_each_item_a_paragraph_of_its_own() -> None:
    from pdfwriter import write_pdf

    lines = [
        (700, 10, "The parser reads a whole module from one file and builds its tree; here is"),
        (686, 10, "the list of types that the parser can manage in this version of the library:"),
        (672, 10, "• INTEGER;"),
        (658, 10, "• ENUMERATED, with the names of its values written out in full as they are"),
        (644, 10, "declared in the module;"),
        (630, 10, "• BOOLEAN."),
        (616, 10, "Other types are refused with an error that names the line of the module."),
    ]
    text = extract_pdf(write_pdf([lines]), "manual.pdf").text
    paragraphs = text.split("\n\n")
    assert paragraphs[1:4] == [
        "• INTEGER;",
        "• ENUMERATED, with the names of its values written out in full as they are declared in the module;",
        "• BOOLEAN.",
    ]
    assert paragraphs[0].endswith("in this version of the library:")


def test_a_short_line_all_in_bold_is_a_heading_of_its_own() -> None:
    from pdfwriter import write_pdf

    from citeqa.ingest.pdf import _is_bold

    full = "lapply returns a list of the same length as X, each element of which is"
    lines = [
        (700, 10, "Description", True),
        (686, 10, full),
        (672, 10, "the result of applying FUN to the corresponding element of X."),
        (650, 10, "Usage", True),
        (636, 10, "lapply(X, FUN, ...) applies it and the text goes on for a while"),
        (622, 10, "and ends with a phrase set in bold as the paragraph last line,"),
        (608, 10, "such as this one.", True),
        (594, 10, "Another paragraph starts here and it runs on for a full line"),
        (580, 10, "of text until its end."),
        (560, 10, "Person-", True),
        (546, 10, "months", True),
        (532, 10, "Twelve of them were spent on the survey and the rest on writing."),
    ]
    text = extract_pdf(write_pdf([lines]), "refman.pdf").text
    # a bold heading goes on in lower case, one paragraph (the line-end hyphen as in test_line_joins)
    assert [p for p in text.split("\n\n") if "Person" in p or "months" in p] == ["Personmonths"]
    assert text.split("\n\n")[:4] == [
        "Description",
        f"{full} the result of applying FUN to the corresponding element of X.",
        "Usage",
        "lapply(X, FUN, ...) applies it and the text goes on for a while and ends with a phrase set in bold as the paragraph last line, such as this one.",
    ]
    # in lower case, a bold line goes on the paragraph ("such as this one." above), as does any without weights
    for name in ("ABCDEF+NimbusRomNo9L-Medi", "Arial-BoldMT", "Arial,Bold", "CMBX10", "Roboto-Medium", "SourceSansPro-Semibold"):
        assert _is_bold(name), name
    for name in ("NimbusRomNo9L-Regu", "CMR10", "Helvetica", "MediaevalSans", "ArialMT"):
        assert not _is_bold(name), name
