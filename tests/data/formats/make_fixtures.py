"""Regenerate the committed PDF fixtures with Debian's chromium (``apt-get install chromium``).

    python tests/data/formats/make_fixtures.py                # all of them
    python tests/data/formats/make_fixtures.py minutes.docx   # only the Word document
    python tests/data/formats/make_fixtures.py book.epub      # only the EPUB book
    python tests/data/formats/make_fixtures.py notes.odt      # only the OpenDocument text
    python tests/data/formats/make_fixtures.py budget.pptx    # only the PowerPoint deck
    python tests/data/formats/make_fixtures.py tides.xlsx     # only the Excel workbook
    python tests/data/formats/make_fixtures.py fees.ods       # only the OpenDocument spreadsheet

- news.pdf: news.html printed as is (chromium's default print header and footer —
  date, title, URL, "page x/y" — repeat on every page; the extractor must drop them).
- report.pdf: a three-page, two-column report typeset with fixed line breaks, so the
  text layer has words hyphenated across lines ("exer-" / "cise"), a real hyphen at a
  line end ("Azerbaijani-" / "Turkish") and ligatures (DejaVu Serif), like a typeset PDF.
  Each section starts on a new page: section N is on page N.
- scan.pdf: one page holding only a PNG picture of text (no text layer), printed
  without header and footer — what a scanner produces.
- manual.pdf: a manual laid out like a texinfo/LaTeX book, printed without chromium's
  header and footer: a contents page and an index of dot-leader entries ("2.1 Opening
  the gate . . . . 3"; the index's letters head their own lines, "S"), each chapter's
  first page headed by its page number alone, its other pages by a running header
  "Chapter 2: Operation 4" (chapter 2 has three pages, chapter 1 two). Printed page n
  shows n - 2; paragraphs are typeset as in report.pdf, headings set larger, one of them
  in lower case like texinfo's ("reporting damage").

- minutes.docx: board minutes written with python-docx (``pip install python-docx``; a
  tool of this script only): document properties titled, a Title-styled first line,
  headings, a bulleted and a numbered list (one item nested), a table with a header row,
  a manual line break and a picture; then one paragraph's words are marked as a tracked
  deletion and another as a tracked insertion, as Word writes them, in its XML.

- book.epub: a walker's guide as an EPUB 3 book, written here with zipfile alone
  (:func:`book_parts`, :func:`zip_bytes`; the EPUB tests build their variants from them):
  a cover page holding only a picture, the navigation document, two chapters (headings,
  paragraphs, a note marker, nested lists, a table with a header row, a preformatted
  timetable, a quotation, text directly in a ``<div>``, a definition list, an aside) and a
  notes page the spine marks ``linear="no"`` (listed between the chapters, read last), a
  style sheet and an obfuscated font listed in ``META-INF/encryption.xml``, as books carry.

- notes.odt: LibreOffice-style meeting notes written here with zipfile alone
  (:func:`odt_parts`, :func:`zip_bytes`): a Title-styled first paragraph (an automatic
  style derived from Title, as LibreOffice writes it), a table of contents, headings,
  encoded spaces and tabs, a line break, a link, a footnote, a comment, a picture frame,
  a soft page break, nested lists, a table with a header row, and a tracked deletion.

- budget.pptx: a four-slide PowerPoint deck written here with zipfile alone
  (:func:`pptx_parts`): a title slide with a subtitle and a slide number, a slide of
  bullets, a grouped text box and a table with a header row, with speaker notes; a hidden
  slide; a slide with a line break; "PowerPoint Presentation" as the properties' title.

- tides.xlsx: an Excel workbook written with openpyxl (:func:`tides_xlsx`): a sheet of berths
  with a header row, a date, a percentage, a float that binary cannot hold exactly (0.1 + 0.2)
  and a TRUE; a sheet of notes without a header; a hidden sheet.

- fees.ods: an OpenDocument spreadsheet written here with zipfile alone (:func:`ods_parts`), as
  LibreOffice Calc stores one: each cell's shown text beside its value ("87.5%", "£40.00", a
  date as "1 June 2025"), encoded spaces, a comment, runs of repeated cells and rows (a run of
  empty cells to the sheet's last column, 1,048,000 empty rows), a title row above the header, a
  second sheet, and a hidden one.

- clippy.xls: not made here; copied from R's readxl examples (MIT; Debian's r-cran-readxl,
  ``extdata/clippy.xls``): an Excel 97-2003 workbook, which nothing installable here writes.

Truncated, oversize and binary-as-HTML inputs are made by the tests themselves.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTH = 46  # characters per typeset line

# "|" marks a hyphenation point where the line must break ("exer|cise" → "exer-" / "cise");
# "^" after a real hyphen forces the line to break there ("Azerbaijani-^Turkish").
REPORT_TITLE = "Estuary Monitoring Report 2026"
REPORT = [
    (
        "1. Summary",
        [
            (
                "This report sets out the first year of environ|mental monitoring on the "
                "Porthkennack estuary after the construction of the tidal barrage. It covers "
                "water quality, sediment, migratory fish and wading birds, and it compares "
                "each measure with the baseline recorded before the sluice gates were installed."
            ),
            (
                "The monitoring programme was designed with the harbour users and an "
                "Azerbaijani-^Turkish survey team that had worked on similar schemes elsewhere. "
                "Its measurements were taken at fixed stations every fortnight, and the raw data "
                "are published alongside this report under an open licence."
            ),
            (
                "Dissolved oxygen stayed within the expected range through|out the year. "
                "Turbidity rose for six weeks after the gates first closed, then fell back to "
                "the baseline level, which the team attributes to the disturbance of fine "
                "sediment during commis|sioning rather than to the operation of the barrage."
            ),
            (
                "The exer|cise of closing the gates for a full tidal cycle, carried out in "
                "October, showed that the fish pass remains usable at every stage of the tide. "
                "Observers counted sea trout passing upstream within an hour of the gates "
                "reopening."
            ),
        ],
    ),
    (
        "2. Migratory fish",
        [
            (
                "The fish counter at the head of the pass recorded 1,214 salmon and 3,870 sea "
                "trout moving upstream between April and November. Both figures are lower than "
                "the five-year average from the old weir, but the counter was not calibrated "
                "until late May, so the early part of the run is uncertain."
            ),
            (
                "Acoustic tags were fitted to forty adult salmon below the barrage. Thirty-one "
                "of them passed through the fish pass, six were last detected in the outer "
                "estuary and three were not detected again. The median delay at the barrage was "
                "nineteen hours, well within the limit set in the licence."
            ),
            (
                "The survival rate of juvenile fish through the turbines was estimated at "
                "ninety-six per cent, which is compar|able with the best low-head turbines in "
                "service elsewhere. The harbour co-^operative paid for the tagging programme, "
                "and the co-operative's members voted to fund four more years of it."
            ),
        ],
    ),
    (
        "3. Wading birds and mud flats",
        [
            (
                "The area of mud flat exposed at low water fell by three per cent compared with "
                "the baseline survey. The loss is concentrated on the northern shore, where the "
                "channel has moved closer to the bank since the barrage was built."
            ),
            (
                "Monthly counts of wading birds showed no significant change in the number of "
                "curlew, redshank or dunlin feeding on the flats. Oystercatcher numbers rose, "
                "which the team links to a good year for cockles rather than to the barrage."
            ),
            (
                "The operator released water on four occasions under the licence condi|tion "
                "that protects the flats from drying out. Each release was logged and reported "
                "to the environment agency within the required twenty-four hours."
            ),
        ],
    ),
]


def typeset(paragraph: str, width: int = WIDTH) -> list[str]:
    """Greedy line breaking that honours the forced breaks marked with "|" and "^"."""
    lines: list[str] = []
    line = ""
    for word in paragraph.split(" "):
        pieces = [word]
        if "|" in word:
            head, tail = word.split("|")
            pieces = [head + "-\n", tail]
        elif "^" in word:
            head, tail = word.split("^")
            pieces = [head + "\n", tail]
        for piece in pieces:
            forced = piece.endswith("\n")
            piece = piece.rstrip("\n")
            candidate = f"{line} {piece}" if line else piece
            if len(candidate) > width and line:
                lines.append(line)
                candidate = piece
            line = candidate
            if forced:
                lines.append(line)
                line = ""
    if line:
        lines.append(line)
    return lines


def report_html() -> str:
    sections = []
    for heading, paragraphs in REPORT:
        body = "".join(
            "<p>" + "".join(f"<span>{html.escape(x)}</span>" for x in typeset(p)) + "</p>"
            for p in paragraphs
        )
        sections.append(f"<section><h2>{html.escape(heading)}</h2><div class=cols>{body}</div></section>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{REPORT_TITLE}</title>
<style>
  body {{ font-family: "DejaVu Serif", serif; font-size: 8.5pt; line-height: 1.35; }}
  section + section {{ break-before: page; }}
  .cols {{ column-count: 2; column-gap: 2em; }}
  p {{ margin: 0 0 1em 0; }}
  p span {{ display: block; white-space: pre; }}
</style></head>
<body><h1>{REPORT_TITLE}</h1>{"".join(sections)}</body></html>
"""


MANUAL_TITLE = "Barrage Gate Manual"
MANUAL_CONTENTS = [
    "1 Introduction . . . . . . . . . . . . . . . 1",
    "2 Operation . . . . . . . . . . . . . . . . . 3",
    "2.1 Opening the barrage gate . . . . . . . 3",
    "2.2 Closing the gate in a storm . . . . . 4",
    "Index . . . . . . . . . . . . . . . . . . . . 6",
]
# (page header, headings and paragraphs): printed page n (from 1) shows n - 2; a chapter's
# first page is headed by its number alone, its other pages by the chapter's running header
MANUAL_PAGES = [
    (None, [MANUAL_TITLE, "Written for the harbour board's lock keepers, who work the gate in every weather."]),
    (None, ["Table of Contents", *MANUAL_CONTENTS]),
    ("1", ["1 Introduction", "The barrage holds the tide out of the inner harbour, so that boats can stay afloat at low water.",
           "Two keepers work each shift, and one of them always stays in the control room."]),
    ("Chapter 1: Introduction 2", ["The control room overlooks the gate, the fish pass and the lock.",
                                   "Every keeper is trained on the gate for a month before working a shift alone."]),
    ("3", ["2 Operation", "2.1 Opening the barrage gate",
           "To open the barrage gate, the keeper turns the red key and holds the green button for ten seconds.",
           "The gate rises slowly, and a horn sounds until it is fully open."]),
    ("Chapter 2: Operation 4", ["2.2 Closing the gate in a storm",
                                "In a storm the gate is closed from the control room, never from the quay.",
                                "The keeper logs the time of closing in the storm book."]),
    ("Chapter 2: Operation 5", ["After a storm the gate stays closed until the harbour master allows it to open again.",
                                "The keeper then inspects the rubber seals for damage."]),
    ("Chapter 2: Operation 6", ["reporting damage",
                                "Damaged seals are reported to the engineer on duty, who decides whether the gate may be used."]),
    ("7", ["Index", "C", "control room . . . . . . . . . . . . . . 2",
           "R", "red key . . . . . . . . . . . . . . . . . . 3",
           "S", "storm book . . . . . . . . . . . . . . . . 4"]),
]


def manual_html() -> str:
    pages = []
    for header, blocks in MANUAL_PAGES:
        rows = [f"<p>{html.escape(header)}</p>"] if header else []
        for block in blocks:
            if block.endswith("."):
                rows.append("<p>" + "".join(f"<span>{html.escape(x)}</span>" for x in typeset(block)) + "</p>")
            elif ". ." in block:  # a contents or index entry
                rows.append(f"<p>{html.escape(block)}</p>")
            else:  # a title or heading, set larger
                rows.append(f"<p class=h>{html.escape(block)}</p>")
        pages.append("<div class=page>" + "".join(rows) + "</div>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{MANUAL_TITLE}</title>
<style>
  body {{ font-family: "DejaVu Serif", serif; font-size: 10pt; }}
  .page + .page {{ break-before: page; }}
  p {{ margin: 0 0 0.8em 0; }}
  p span {{ display: block; white-space: pre; }}
  p.h {{ font-size: 13pt; font-weight: bold; }}
</style></head>
<body>{"".join(pages)}</body></html>
"""


def scan_png(path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1100, 700), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 34)
    for row, text in enumerate(
        [
            "Minutes of the harbour board, 3 March 2026.",
            "The board agreed to open the barrage footpath",
            "to walkers in April. This page was scanned",
            "and has no text layer.",
        ]
    ):
        draw.text((60, 80 + row * 70), text, fill=0, font=font)
    image.save(path, optimize=True)


def print_pdf(source: Path, target: Path, *, header_footer: bool = True) -> None:
    chromium = shutil.which("chromium") or sys.exit("chromium not found: apt-get install -y chromium")
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={target}"]
    if not header_footer:
        args.append("--no-pdf-header-footer")
    subprocess.run([*args, source.as_uri()], check=True, capture_output=True, timeout=120)


def manual(work: Path) -> None:
    (work / "manual.html").write_text(manual_html(), encoding="utf-8")
    print_pdf(work / "manual.html", HERE / "manual.pdf", header_footer=False)


MINUTES = [
    ("Title", "Harbour board minutes, 3 March 2026"),
    (None, "The harbour board met on 3 March in the old customs house. Nine of the eleven members attended, and the chair, Ines Morrow, opened the meeting at seven."),
    ("Heading 1", "Decisions"),
    ("List Bullet", "The north channel will be dredged before the summer season, at a cost of 180,000 pounds."),
    ("List Bullet", "Mooring fees rise by four percent from 1 May."),
    ("List Bullet 2", "Fishing boats registered in the town are exempt from the rise."),
    ("List Number", "Ask three firms for dredging quotes."),
    ("List Number", "Publish the new fees on the harbour office door."),
    ("Heading 1", "Berths"),
    (None, "The board agreed a fee for each berth, shown below."),
    ("TABLE", [("Berth", "Fee a night", "Longest boat"), ("North quay", "40 pounds", "30 m"), ("Fish dock", "12 pounds", "18 m")]),
    ("BREAK", ("The next meeting is on 7 April", "in the same room.")),
    ("DELETED", "The board also voted to close the slipway in winter."),
    ("INSERTED", "The slipway stays open all year, the board decided after a vote of six to three."),
]


def minutes_docx(target: Path) -> None:
    import io
    import re
    import zipfile

    import docx
    from PIL import Image

    document = docx.Document()
    document.core_properties.title = "Harbour board minutes"
    for style, content in MINUTES:
        if style == "TABLE":
            table = document.add_table(rows=len(content), cols=len(content[0]))
            for r, row in enumerate(content):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        elif style == "BREAK":
            paragraph = document.add_paragraph(content[0])
            paragraph.add_run().add_break()
            paragraph.add_run(content[1])
        elif style in ("DELETED", "INSERTED"):
            document.add_paragraph(f"{style}:{content}")
        else:
            document.add_paragraph(content, style=style)
    picture = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(picture, format="PNG")
    document.add_picture(picture)
    raw = io.BytesIO()
    document.save(raw)
    # tracked changes as Word writes them: <w:del> around runs whose text is <w:delText>, <w:ins> around runs
    stamp = 'w:author="Clerk" w:date="2026-03-04T10:00:00Z"'
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                xml = data.decode("utf-8")
                xml = re.sub(r"<w:r>(<w:t[^>]*>)DELETED:([^<]*)</w:t></w:r>",
                             lambda m: f'<w:del w:id="1" {stamp}><w:r><w:delText xml:space="preserve">{m.group(2)}</w:delText></w:r></w:del>', xml)
                xml = re.sub(r"<w:r>(<w:t[^>]*>)INSERTED:([^<]*)</w:t></w:r>",
                             lambda m: f'<w:ins w:id="2" {stamp}><w:r><w:t xml:space="preserve">{m.group(2)}</w:t></w:r></w:ins>', xml)
                assert "DELETED:" not in xml and "INSERTED:" not in xml
                data = xml.encode("utf-8")
            out.writestr(info, data)


_XHTML = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
    '<head><title>{title}</title><link rel="stylesheet" href="style.css"/></head><body>{body}</body></html>'
)


def book_parts() -> dict[str, str | bytes]:
    """The parts of book.epub by archive path (``mimetype`` first, as the format wants it)."""
    chapter1 = (
        '<section epub:type="chapter"><h1>Chapter 1: The Harbour</h1>'
        "<p>Norrby harbour lies at the end of the coast road. The ferry to the island leaves at nine every "
        'morning.<a epub:type="noteref" href="notes.xhtml#n1">1</a></p>'
        "<p>Walkers should bring:</p><ul><li>boots with a good grip</li><li>water<ul><li>at least two litres "
        "in summer</li></ul></li><li>a windproof jacket</li></ul>"
        "<table><tr><th>Route</th><th>Length</th><th>Time</th></tr>"
        "<tr><td>Cliff path</td><td>7 km</td><td>2 hours</td></tr>"
        "<tr><td>Lighthouse loop</td><td>12 km</td><td>4 hours</td></tr></table>"
        "<pre>Harbour office\n  Mon-Fri 08:00-16:00\n  Sat 09:00-12:00</pre>"
        "<blockquote><p>The sea here changes faster than the sky.</p></blockquote>"
        "<div>The harbour master keeps a tide table at the office door.</div>"
        '<img src="cover.png" alt="A picture of the harbour"/></section>'
    )
    chapter2 = (
        "<h1>Chapter 2: The Lighthouse</h1>"
        "<p>The lighthouse at Kelby Point was built in 1868 and is 31 metres tall.<sup>"
        '<a href="#fn2" id="r2">2</a></sup> Its lamp can be seen from 40 kilometres away.</p>'
        "<dl><dt>Keeper's cottage</dt><dd>Open to visitors from May to September.</dd></dl>"
        '<aside epub:type="footnote" id="fn2"><p>The tower was raised by four metres in 1902.</p></aside>'
        "<script>document.write('not text')</script>"
    )
    nav = (
        '<nav epub:type="toc"><h1>Contents</h1><ol><li><a href="chapter1.xhtml">Chapter 1: The Harbour</a></li>'
        '<li><a href="chapter2.xhtml">Chapter 2: The Lighthouse</a></li></ol></nav>'
    )
    notes = '<h1>Notes</h1><p id="n1">The ferry does not run on public holidays.</p>'
    opf = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:uuid:norrby-coast</dc:identifier>'
        "<dc:title>The Norrby Coast: A Walker's Guide</dc:title><dc:language>en</dc:language></metadata>"
        "<manifest>"
        '<item id="cover" href="cover.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        '<item id="c1" href="chapter1.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="notes" href="notes.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="c2" href="chapter2.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="css" href="style.css" media-type="text/css"/>'
        '<item id="img" href="cover.png" media-type="image/png"/>'
        '<item id="font" href="fonts/serif.otf" media-type="font/otf"/>'
        "</manifest>"
        '<spine><itemref idref="cover"/><itemref idref="nav"/><itemref idref="c1"/>'
        '<itemref idref="notes" linear="no"/><itemref idref="c2"/></spine></package>'
    )
    encryption = (
        '<?xml version="1.0"?><encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        '<enc:EncryptionMethod Algorithm="http://www.idpf.org/2008/embedding"/>'
        '<enc:CipherData><enc:CipherReference URI="OEBPS/fonts/serif.otf"/></enc:CipherData>'
        "</enc:EncryptedData></encryption>"
    )
    return {
        "mimetype": "application/epub+zip",
        "META-INF/container.xml": (
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>"
        ),
        "META-INF/encryption.xml": encryption,
        "OEBPS/content.opf": opf,
        "OEBPS/cover.xhtml": _XHTML.format(title="Cover", body='<div><img src="cover.png" alt="cover"/></div>'),
        "OEBPS/nav.xhtml": _XHTML.format(title="Contents", body=nav),
        "OEBPS/chapter1.xhtml": _XHTML.format(title="The Harbour", body=chapter1),
        "OEBPS/notes.xhtml": _XHTML.format(title="Notes", body=notes),
        "OEBPS/chapter2.xhtml": _XHTML.format(title="The Lighthouse", body=chapter2),
        "OEBPS/style.css": "body { font-family: serif; }",
        "OEBPS/cover.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "OEBPS/fonts/serif.otf": bytes(range(256)),
    }


def zip_bytes(parts: dict[str, str | bytes], changed: dict[str, str | bytes | None] | None = None) -> bytes:
    """An EPUB or OpenDocument zip of ``parts``: ``mimetype`` first and stored (uncompressed), the rest deflated, fixed dates.

    ``changed`` replaces parts by archive path, or leaves them out (None): the tests' variants.
    """
    import io

    parts = dict(parts)
    for path, data in (changed or {}).items():
        if data is None:
            parts.pop(path, None)
        else:
            parts[path] = data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in parts.items():
            info = zipfile.ZipInfo(path, date_time=(2026, 12, 5, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if path == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" office:version="1.3"'
)


def odt_parts(mimetype: str = "application/vnd.oasis.opendocument.text") -> dict[str, str | bytes]:
    """The parts of notes.odt by archive path (``mimetype`` first)."""
    body = (
        '<text:tracked-changes><text:changed-region text:id="ct1"><text:deletion><office:change-info>'
        "<dc:creator>Ines Morrow</dc:creator></office:change-info>"
        "<text:p>The slipway will close in winter.</text:p></text:deletion></text:changed-region></text:tracked-changes>"
        '<text:p text:style-name="P1">Harbour Board: Notes of the March Meeting</text:p>'
        '<text:table-of-content text:name="Contents"><text:index-body>'
        '<text:index-title><text:p>Contents</text:p></text:index-title>'
        "<text:p>Attendance<text:tab/>1</text:p><text:p>Decisions<text:tab/>1</text:p></text:index-body></text:table-of-content>"
        '<text:h text:outline-level="1">Attendance</text:h>'
        "<text:p>Seven<text:s/>members attended;<text:s text:c=\"3\"/>the chair was Ines Morrow."
        '<office:annotation><dc:creator>Sam</dc:creator><text:p>Check the count.</text:p></office:annotation></text:p>'
        '<text:p>The meeting opened at 18:00<text:line-break/>in the harbour office.'
        '<text:note text:id="ftn1" text:note-class="footnote"><text:note-citation>1</text:note-citation>'
        "<text:note-body><text:p>The office moved to the north quay in 2024.</text:p></text:note-body></text:note></text:p>"
        '<text:h text:outline-level="1">Decisions</text:h>'
        "<text:p><text:change text:change-id=\"ct1\"/>The slipway stays open all year, the board decided after a vote of six to one.</text:p>"
        '<text:list><text:list-item><text:p>Dredge the north channel before summer</text:p>'
        "<text:list><text:list-item><text:p>at a cost of 180,000 pounds</text:p></text:list-item></text:list></text:list-item>"
        '<text:list-item><text:p>Publish the tide tables on the <text:a xlink:href="https://example.org/tides">board\'s website</text:a></text:p></text:list-item></text:list>'
        '<text:soft-page-break/>'
        '<table:table table:name="Fees"><table:table-column table:number-columns-repeated="3"/>'
        "<table:table-header-rows><table:table-row><table:table-cell><text:p>Berth</text:p></table:table-cell>"
        "<table:table-cell><text:p>Fee a night</text:p></table:table-cell><table:table-cell><text:p>Longest boat</text:p></table:table-cell></table:table-row></table:table-header-rows>"
        "<table:table-row><table:table-cell><text:p>North quay</text:p></table:table-cell><table:table-cell><text:p>40 pounds</text:p></table:table-cell>"
        "<table:table-cell><text:p>25 m</text:p></table:table-cell></table:table-row>"
        "<table:table-row><table:table-cell><text:p>Fish dock</text:p></table:table-cell><table:table-cell><text:p>12 pounds</text:p></table:table-cell>"
        "<table:table-cell><text:p>18 m</text:p></table:table-cell></table:table-row></table:table>"
        '<text:p><draw:frame draw:name="Harbour"><draw:image xlink:href="Pictures/harbour.png"/></draw:frame>The next meeting is on 7 April.</text:p>'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
        '<office:automatic-styles><style:style style:name="P1" style:family="paragraph" style:parent-style-name="Title"/>'
        "</office:automatic-styles>"
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    meta = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {_ODF_NS}><office:meta>'
        "<dc:title>Untitled 1</dc:title></office:meta></office:document-meta>"
    )
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest {_ODF_NS}>'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    return {
        "mimetype": mimetype,
        "content.xml": content,
        "meta.xml": meta,
        "META-INF/manifest.xml": manifest,
        "Pictures/harbour.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
    }


_PML = (
    'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _shape(text: str | list[str], placeholder: str | None = None) -> str:
    """A text shape: ``placeholder`` its type ("title", "body"...; None for a text box), one paragraph per item."""
    ph = "" if placeholder is None else (f'<p:ph type="{placeholder}"/>' if placeholder != "body" else '<p:ph idx="1"/>')
    paragraphs = "".join(
        "<a:p>" + "<a:br/>".join(f"<a:r><a:t>{html.escape(part)}</a:t></a:r>" for part in line.split("\n")) + "</a:p>"
        for line in ([text] if isinstance(text, str) else text)
    )
    return f'<p:sp><p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/><p:nvPr>{ph}</p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/>{paragraphs}</p:txBody></p:sp>'


def _slide_xml(shapes: str, hidden: bool = False, root: str = "p:sld") -> str:
    show = ' show="0"' if hidden else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} {_PML}{show}><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>{shapes}</p:spTree></p:cSld></{root}>'


def pptx_parts() -> dict[str, str | bytes]:
    """The parts of budget.pptx by archive path."""
    table = (
        '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="5" name="t"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm/>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/table"><a:tbl><a:tblPr firstRow="1"/>'
        + "".join(
            "<a:tr>" + "".join(f"<a:tc><a:txBody><a:bodyPr/><a:p><a:r><a:t>{cell}</a:t></a:r></a:p></a:txBody></a:tc>" for cell in row) + "</a:tr>"
            for row in (("Item", "Cost"), ("Dredging", "180,000 pounds"), ("Pontoons", "65,000 pounds"))
        )
        + "</a:tbl></a:graphicData></a:graphic></p:graphicFrame>"
    )
    slides = [
        _slide_xml(_shape("Harbour Budget 2027", "ctrTitle") + _shape("Board meeting, 3 March", "subTitle") + _shape("1", "sldNum")),
        _slide_xml(
            _shape("Where the money goes", "title")
            + _shape(["Dredging the north channel", "New pontoons at the fish dock"], "body")
            + '<p:grpSp><p:nvGrpSpPr><p:cNvPr id="4" name="g"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>'
            + _shape("Approved by the board on 3 March.")
            + "</p:grpSp>"
            + table
            + _shape("2", "sldNum")
        ),
        _slide_xml(_shape("Draft: options we dropped", "title") + _shape(["Closing the slipway in winter"], "body"), hidden=True),
        _slide_xml(_shape("Questions", "title") + _shape(["Contact the harbour office\nMonday to Friday, 8:00 to 16:00"], "body")),
    ]
    notes = _slide_xml(
        _shape("", "sldImg") + _shape(["The dredging contract goes to tender in April, and work starts in September."], "body") + _shape("2", "sldNum"),
        root="p:notes",
    )
    ids = "".join(f'<p:sldId id="{256 + i}" r:id="rId{i + 2}"/>' for i in range(len(slides)))
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "ppt/presentation.xml": f'<?xml version="1.0" encoding="UTF-8"?><p:presentation {_PML}><p:sldIdLst>{ids}</p:sldIdLst></p:presentation>',
        "ppt/_rels/presentation.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + '<Relationship Id="rId1" Type="' + _REL + '/theme" Target="theme/theme1.xml"/>'
        + "".join(f'<Relationship Id="rId{i + 2}" Type="{_REL}/slide" Target="slides/slide{i + 1}.xml"/>' for i in range(len(slides)))
        + "</Relationships>",
        "docProps/core.xml": '<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>PowerPoint Presentation</dc:title></cp:coreProperties>',
        "ppt/slides/_rels/slide2.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId2" Type="{_REL}/notesSlide" Target="../notesSlides/notesSlide1.xml"/></Relationships>',
        "ppt/notesSlides/notesSlide1.xml": notes,
    }
    for i, slide in enumerate(slides):
        parts[f"ppt/slides/slide{i + 1}.xml"] = slide
    return parts


def _ods_cell(shown: str, value: str | None = None, kind: str = "string", repeated: int = 1) -> str:
    attributes = f' office:value-type="{kind}"' + (f' office:value="{value}"' if value else "")
    if repeated > 1:
        attributes += f' table:number-columns-repeated="{repeated}"'
    return f"<table:table-cell{attributes}><text:p>{shown}</text:p></table:table-cell>"


def ods_parts() -> dict[str, str | bytes]:
    """The parts of fees.ods by archive path (``mimetype`` first)."""
    empty_to_the_end = '<table:table-cell table:number-columns-repeated="1018"/>'
    fees = (
        '<table:table table:name="Fees" table:style-name="ta1">'
        f"<table:table-row>{_ods_cell('Harbour fees 2025')}{empty_to_the_end}</table:table-row>"
        '<table:table-row><table:table-cell table:number-columns-repeated="3"/></table:table-row>'
        "<table:table-row>" + "".join(_ods_cell(h) for h in ("Berth", "Fee a night", "Occupancy", "Refitted")) + f"{empty_to_the_end}</table:table-row>"
        "<table:table-row>" + _ods_cell("North<text:s/>quay") + _ods_cell("£40.00", "40", "currency")
        + _ods_cell("87.5%", "0.875", "percentage")
        + '<table:table-cell office:value-type="date" office:date-value="2025-06-01"><text:p>1 June 2025</text:p>'
        "<office:annotation><text:p>Checked by the harbour master</text:p></office:annotation></table:table-cell>"
        f"{empty_to_the_end}</table:table-row>"
        "<table:table-row>" + _ods_cell("South pontoon") + _ods_cell("£28.00", "28", "currency") + _ods_cell("50%", "0.5", "percentage")
        + _ods_cell("15 September 2024", kind="string") + f"{empty_to_the_end}</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
        "</table:table>"
    )
    notes = (
        '<table:table table:name="Notes" table:style-name="ta1">'
        f"<table:table-row>{_ods_cell('Divers inspect the pontoon chains in October.')}</table:table-row>"
        "</table:table>"
    )
    hidden = (
        '<table:table table:name="Working" table:style-name="ta2">'
        f"<table:table-row>{_ods_cell('Draft figures nobody should cite')}</table:table-row>"
        "</table:table>"
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
        "<office:automatic-styles>"
        '<style:style style:name="ta1" style:family="table"><style:table-properties table:display="true"/></style:style>'
        '<style:style style:name="ta2" style:family="table"><style:table-properties table:display="false"/></style:style>'
        "</office:automatic-styles>"
        f"<office:body><office:spreadsheet>{fees}{notes}{hidden}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest {_ODF_NS}>'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    return {"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": content, "META-INF/manifest.xml": manifest}


def tides_xlsx(target: Path) -> None:
    """Write tides.xlsx (see the module docstring) with openpyxl."""
    import datetime

    import openpyxl

    book = openpyxl.Workbook()
    berths = book.active
    berths.title = "Berths"
    berths.append(["Berth", "Fee a night", "Occupancy", "Depth (m)", "Open", "Refitted"])
    berths.append(["North quay", 40, 0.875, 4.5, True, datetime.date(2025, 6, 1)])
    berths.append(["South pontoon", 28, 0.5, 0.1 + 0.2, False, datetime.date(2024, 9, 15)])
    for row in (2, 3):
        berths.cell(row=row, column=3).number_format = "0.0%"
        berths.cell(row=row, column=6).number_format = "yyyy-mm-dd"
    notes = book.create_sheet("Notes")
    notes.append(["The harbour master checks every berth each spring."])
    notes.append([None])
    notes.append(["Divers inspect the pontoon chains in October."])
    hidden = book.create_sheet("Working")
    hidden.append(["Draft figures nobody should cite"])
    hidden.sheet_state = "hidden"
    book.save(target)


def main() -> None:
    if sys.argv[1:] == ["fees.ods"]:  # zipfile alone
        (HERE / "fees.ods").write_bytes(zip_bytes(ods_parts()))
        print("fees.ods", (HERE / "fees.ods").stat().st_size, "bytes")
        return
    if sys.argv[1:] == ["tides.xlsx"]:  # needs only openpyxl
        tides_xlsx(HERE / "tides.xlsx")
        print("tides.xlsx", (HERE / "tides.xlsx").stat().st_size, "bytes")
        return
    if sys.argv[1:] == ["budget.pptx"]:  # zipfile alone
        (HERE / "budget.pptx").write_bytes(zip_bytes(pptx_parts()))
        print("budget.pptx", (HERE / "budget.pptx").stat().st_size, "bytes")
        return
    if sys.argv[1:] == ["notes.odt"]:  # zipfile alone
        (HERE / "notes.odt").write_bytes(zip_bytes(odt_parts()))
        print("notes.odt", (HERE / "notes.odt").stat().st_size, "bytes")
        return
    if sys.argv[1:] == ["book.epub"]:  # zipfile alone
        (HERE / "book.epub").write_bytes(zip_bytes(book_parts()))
        print("book.epub", (HERE / "book.epub").stat().st_size, "bytes")
        return
    if sys.argv[1:] == ["minutes.docx"]:  # needs only python-docx and Pillow, no chromium
        minutes_docx(HERE / "minutes.docx")
        print("minutes.docx", (HERE / "minutes.docx").stat().st_size, "bytes")
        return
    minutes_docx(HERE / "minutes.docx")
    (HERE / "book.epub").write_bytes(zip_bytes(book_parts()))
    (HERE / "notes.odt").write_bytes(zip_bytes(odt_parts()))
    (HERE / "budget.pptx").write_bytes(zip_bytes(pptx_parts()))
    tides_xlsx(HERE / "tides.xlsx")
    (HERE / "fees.ods").write_bytes(zip_bytes(ods_parts()))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(HERE / "news.html", work / "news.html")
        print_pdf(work / "news.html", HERE / "news.pdf")
        (work / "report.html").write_text(report_html(), encoding="utf-8")
        print_pdf(work / "report.html", HERE / "report.pdf")
        scan_png(work / "scan.png")
        (work / "scan.html").write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title></title></head>'
            '<body style="margin:0"><img src="scan.png" style="width:100%"></body></html>',
            encoding="utf-8",
        )
        print_pdf(work / "scan.html", HERE / "scan.pdf", header_footer=False)
        manual(work)
    for name in ("news.pdf", "report.pdf", "scan.pdf", "manual.pdf"):
        print(name, (HERE / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
