"""HTML and plain-text extraction (citeqa.ingest.extract / citeqa.ingest.html) on real files."""

from __future__ import annotations

import http.server
import os
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from citeqa.errors import InvalidArgumentError, SourceError
from citeqa.ingest.extract import Extracted, extract, page_of, sniff

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
NEWS = FORMATS / "news.html"

BOILERPLATE = [
    "cookie",
    "Accept all cookies",
    "Manage preferences",
    "News Sport",
    "Subscribe today",
    "Share on Facebook",
    "Share on X",
    "Email this story",
    "Coastal Courier",
    "All rights reserved",
    "Privacy policy",
    "Terms of use",
    "More from Environment",
    "Storm damage",
    "SCRIPT-MARKER",
    "STYLE-MARKER",
    "dataLayer",
    "track(",
    "onerror",
    "img-error",
    "font-family",
    "low tide",  # the image's alt text
]


class _Article(HTMLParser):
    """The <h1> and <p> texts inside <article> of the fixture, read independently."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.current: list[str] | None = None
        self.h1 = ""
        self.paragraphs: list[str] = []
        self.tag = ""

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag == "article":
            self.depth += 1
        elif self.depth and tag in ("p", "h1") and not dict(attrs).get("class"):
            self.current, self.tag = [], tag

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "article":
            self.depth -= 1
        elif self.current is not None and tag == self.tag:
            text = " ".join("".join(self.current).split())
            if tag == "h1":
                self.h1 = text
            else:
                self.paragraphs.append(text)
            self.current = None

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self.current is not None:
            self.current.append(data)


def _article() -> _Article:
    parser = _Article()
    parser.feed(NEWS.read_text(encoding="utf-8"))
    assert parser.h1 and len(parser.paragraphs) >= 10
    return parser


def test_html_boilerplate_never_in_extracted_text() -> None:
    extracted = extract(NEWS.read_bytes(), "news.html")
    assert extracted.extractor == "trafilatura"
    for marker in BOILERPLATE:
        assert marker.lower() not in extracted.text.lower(), marker
    assert "<" not in extracted.text and ">" not in extracted.text


def test_html_title_first_then_every_paragraph_on_its_own() -> None:
    article = _article()
    extracted = extract(NEWS.read_bytes(), "news.html")
    blocks = extracted.text.split("\n\n")
    assert blocks[0] == article.h1 == extracted.title
    assert blocks[1:] == article.paragraphs
    assert "\n\n\n" not in extracted.text and not extracted.text.startswith("\n")
    assert extracted.pages is None and extracted.page_of(10) is None


def test_html_source_line_breaks_inside_a_paragraph_are_spaces() -> None:
    # the page's source wraps its paragraphs (and one holds inline <code>): a browser shows
    # each as one paragraph, and so must the text, or sentences are cut at the line ends
    page = (FORMATS / "wrapped.html").read_bytes()
    blocks = extract(page, "wrapped.html").text.split("\n\n")
    source = page.decode("utf-8")
    first = source[source.index("<p>Every value") + 3 : source.index("</p>")]
    assert " ".join(first.replace("<code>", "").replace("</code>", "").split()) in blocks
    assert (
        "- When the owner leaves its scope, the value is released and its memory is returned to the allocator." in blocks
    )
    assert not any(block.endswith(("owner", "goes out of", "can put")) for block in blocks)


def test_html_code_block_is_one_paragraph_and_line_break_tags_keep_their_lines() -> None:
    blocks = extract((FORMATS / "wrapped.html").read_bytes(), "wrapped.html").text.split("\n\n")
    # a <pre> block: one paragraph, its lines joined by spaces (line by line, "moor(harbour);"
    # and "}" were sentences of their own)
    code = 'fn main() { let harbour = Quay::open("north"); // harbour is valid from here moor(harbour); } // harbour is released here'
    assert blocks[blocks.index(code) - 1].startswith("Here is a short program")
    assert blocks[blocks.index(code) + 1].startswith("- Each value has one owner")
    assert "moor(harbour);" not in blocks and "}" not in blocks
    # <br> is a line break the author wrote
    assert ["Quay Street 12", "Porthkennack"] == blocks[blocks.index("Quay Street 12") : blocks.index("Quay Street 12") + 2]


def test_line_break_tags_that_wrap_a_text_file_set_as_html_are_spaces() -> None:
    # DocBook's literallayout (Valgrind's AUTHORS): a text file filled to 72 columns, a <br> per line
    # and no-break spaces; each line was a paragraph ("Valgrind, created the dynamic ... wrote Memcheck,")
    text = """Julian Seward was the original founder, designer and author of
Valgrind, created the dynamic translation frameworks, wrote Memcheck,
the 3.X versions of Helgrind, SGCheck, DHAT, and did lots of other
things.

Tom Hughes did a vast number of bug fixes, helped out with support for
more recent Linux/glibc versions, set up the present build system, and has
helped out with test and build machines.

Dirk Mueller contributed the malloc/free mismatch checking
and other bits and pieces, and acts as our KDE liaison."""
    layout = "<br>\n".join(line.replace(" ", "&#160;") for line in text.split("\n"))
    page = (
        "<html><head><meta charset='utf-8'><title>AUTHORS</title></head><body><div class='chapter'>"
        f"<h1>1. AUTHORS</h1><div class='literallayout'><p><br>\n{layout}<br>\n</p></div>"
        "<p>Poem of the harbour:<br>The tide comes in<br>The tide goes out<br>And the gulls cry<br>Over the quay</p>"
        "</div></body></html>"
    ).encode()
    blocks = extract(page, "authors.html").text.split("\n\n")
    assert [" ".join(paragraph.split()) for paragraph in text.split("\n\n")] == [b for b in blocks if b.startswith(("Julian", "Tom", "Dirk"))]
    # lines that agree on no fill width stay lines
    assert blocks[-4:] == ["The tide comes in", "The tide goes out", "And the gulls cry", "Over the quay"]


def test_a_table_laying_out_text_is_read_as_paragraphs_and_a_parameter_table_stays_rows() -> None:
    # DocBook's FAQ (Valgrind's): a row for the question, one for its answer's paragraphs; read as
    # rows, the answer came out as "| The "Val" as in ... Don't feel bad ... |"
    faq = (
        "<div class='qandaset'><table border='0'>"
        "<tr class='question'><td><p><b>1.1.</b></p></td><td><p>How do you pronounce the name of the barrage?</p></td></tr>"
        "<tr class='answer'><td></td><td><p>The first part rhymes with the word tide, and the second with the word mill.</p>"
        "<p>Do not feel bad if you get it wrong at first: almost every visitor does.</p>"
        "<ul><li>\"definitely closed\" means the gate is shut and locked: no boat may pass.</li>"
        "<li>\"possibly closed\" means the gate is moving: wait for the green light.</li></ul></td></tr></table></div>"
    )
    # gtk-doc: one paragraph per cell, however long, is a table of parameters
    parameters = (
        "<table><tr><td><p>gate</p></td><td><p>the gate to close, as numbered on the harbour office's chart of the barrage</p></td></tr>"
        "<tr><td><p>force</p></td><td><p>close it even when a boat is waiting in the lock chamber</p></td></tr></table>"
    )
    page = (
        "<html><head><meta charset='utf-8'><title>Barrage FAQ</title></head><body>"
        "<table><tr><td><ul><li><a href='index.html'>Contents</a></li><li><a href='tides.html'>Tide tables</a></li></ul></td>"
        "<td><main><h1>Barrage FAQ</h1>"
        f"{_PROSE_PARAGRAPHS}{faq}<p>The gate is closed with a single call:</p>{parameters}</main></td></tr></table></body></html>"
    ).encode()
    blocks = extract(page, "faq.html").text.split("\n\n")
    question = blocks.index("1.1. How do you pronounce the name of the barrage?")
    assert blocks[question + 1 : question + 3] == [
        "The first part rhymes with the word tide, and the second with the word mill.",
        "Do not feel bad if you get it wrong at first: almost every visitor does.",
    ]
    assert not any(block.startswith("|") and "rhymes" in block for block in blocks)
    assert "| gate | the gate to close, as numbered on the harbour office's chart of the barrage |" in blocks
    # a list in a table cell: trafilatura dropped it (libxslt's "Here are some key points about libxslt:")
    assert blocks[blocks.index("Do not feel bad if you get it wrong at first: almost every visitor does.") + 1 :][:2] == [
        "- \"definitely closed\" means the gate is shut and locked: no boat may pass.",
        "- \"possibly closed\" means the gate is moving: wait for the green light.",
    ]
    assert not any("Contents" in block or "Tide tables" in block for block in blocks)  # a menu's list is no text
    assert "| force | close it even when a boat is waiting in the lock chamber |" in blocks


def test_html_two_code_blocks_in_one_element_and_the_text_after_them_are_paragraphs_of_their_own() -> None:
    # Node.js's documentation: an example as an ES module and as CommonJS, two <code> in one
    # <pre>; the paragraph after it was glued to its last line ("}); fs.unlink() will not ...")
    page = b"""<html><head><title>File system</title></head><body><main>
        <h2>fs.unlink(path, callback)</h2>
        <p>Asynchronously removes a file or symbolic link. No arguments other than a possible
        exception are given to the completion callback of this function.</p>
        <pre><code class="language-js mjs">import { unlink } from 'node:fs';

unlink('path/file.txt', (err) => {
  if (err) throw err;
});</code><code class="language-js cjs">const { unlink } = require('node:fs');
unlink('path/file.txt', (err) => {
  if (err) throw err;
});</code></pre>
        <p><code>fs.unlink()</code> will not work on a directory, empty or otherwise. To remove a
        directory, use <code>fs.rmdir()</code> instead of this function.</p>
        </main></body></html>"""
    blocks = extract(page, "fs.html").text.split("\n\n")
    # a blank line inside a block parts it
    assert "import { unlink } from 'node:fs';" in blocks
    assert "unlink('path/file.txt', (err) => { if (err) throw err; });" in blocks
    assert "const { unlink } = require('node:fs'); unlink('path/file.txt', (err) => { if (err) throw err; });" in blocks
    assert "fs.unlink() will not work on a directory, empty or otherwise. To remove a directory, use fs.rmdir() instead of this function." in blocks


def test_html_records_extractor_version() -> None:
    import trafilatura

    extracted = extract(NEWS.read_bytes(), "news.html")
    assert extracted.extractor_version.startswith(trafilatura.__version__ + "+r")


def test_html_sniffed_by_content_not_name() -> None:
    data = NEWS.read_bytes()
    assert sniff(data, "saved-page.txt") == "html"
    assert extract(data, "saved-page.txt").extractor == "trafilatura"
    by_type = extract(data, "http://127.0.0.1/story", "text/html; charset=utf-8")
    assert by_type.text == extract(data, "news.html").text


def test_html_in_legacy_encoding_is_decoded() -> None:
    page = (
        '<!DOCTYPE html><html><head><meta charset="windows-1252"><title>Caf\xe9 reopens</title>'
        "</head><body><article><h1>Caf\xe9 reopens</h1><p>The caf\xe9 on the quay reopened on "
        "Monday after a winter of repairs, its owner said.</p></article></body></html>"
    ).encode("cp1252")
    extracted = extract(page, "cafe.html")
    assert extracted.text.startswith("Café reopens\n\n")
    assert "The café on the quay reopened on Monday" in extracted.text


def test_text_stays_byte_identical() -> None:
    # Markdown marks in a text file are its text (Markdown files: tests/ingest/test_ingest_markdown.py)
    source = "# Notes\r\n\r\nSome *text* with <b>inline</b> HTML.\r\n\u00e9t\u00e9 \ufb01n\n"
    for name, content_type in (("notes.txt", None), ("README", None), ("http://127.0.0.1/notes", "text/plain")):
        extracted = extract(source.encode("utf-8"), name, content_type)
        assert extracted == Extracted(source, None, "text", "1", None)


def test_binary_html_refused_with_clear_message() -> None:
    fake = b"\x89PNG\r\n\x1a\n" + os.urandom(4096)
    with pytest.raises(SourceError, match=r"page\.html claims to be HTML but its content is binary"):
        extract(fake, "page.html")
    with pytest.raises(SourceError, match="binary"):
        extract(b"PK\x03\x04" + bytes(range(256)) * 8, "http://127.0.0.1/a", "text/html")


def test_unsupported_and_empty_refused() -> None:
    with pytest.raises(SourceError, match=r"unsupported file type '\.odp'"):
        extract(b"just words", "slides.odp")
    with pytest.raises(SourceError, match="is empty"):
        extract(b"", "empty.html")
    with pytest.raises(SourceError, match="no HTML tags"):
        extract(b"plain words only", "page.html")
    with pytest.raises(SourceError, match="not UTF-8"):
        extract(b"menu " + bytes(range(128, 256)), "menu.txt")
    with pytest.raises(SourceError, match="no article text"):
        extract(b"<!DOCTYPE html><html><body><nav><a href='/'>Home</a></nav></body></html>", "x.html")


def test_oversize_html_refused_by_size() -> None:
    data = NEWS.read_bytes()
    with pytest.raises(SourceError, match=r"over the limit of 1,000 bytes"):
        extract(data, "news.html", max_bytes=1000)
    with pytest.raises(InvalidArgumentError, match="max_bytes must be > 0, got 0"):
        extract(data, "news.html", max_bytes=0)


def test_html_is_data_nothing_fetched_or_executed(tmp_path: Path) -> None:
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = f"""<!DOCTYPE html><html><head><title>Loader</title>
        <link rel="stylesheet" href="{base}/style.css"><script src="{base}/app.js"></script>
        <script>fetch("{base}/inline")</script></head><body><article><h1>Loader</h1>
        <p>The council approved the new ferry timetable on Tuesday after a short debate.</p>
        <img src="{base}/photo.jpg" onerror="fetch('{base}/onerror')">
        <iframe src="{base}/frame"></iframe>
        <p>Services will run every twenty minutes during the summer months, it said.</p>
        </article></body></html>""".encode()
        extracted = extract(page, f"{base}/page.html")
    finally:
        server.shutdown()
        server.server_close()
    assert requests == []
    assert "ferry timetable" in extracted.text and "fetch(" not in extracted.text


def test_page_of_maps_offsets_to_pages() -> None:
    pages = (0, 100, 100, 250)
    assert [page_of(pages, o) for o in (0, 99, 100, 249, 250, 10_000)] == [1, 1, 3, 3, 4, 4]
    assert page_of(None, 5) is None
    with pytest.raises(InvalidArgumentError, match="offset must be >= 0, got -1"):
        page_of(pages, -1)


_PROSE_PARAGRAPHS = (
    "<p>Every value in a Tidewater program belongs to exactly one variable, and the value is "
    "dropped when that variable goes out of scope at the end of its block.</p>"
    "<p>Moving a value to another variable makes the first one unusable, so the value is never "
    "dropped twice and no memory is freed while something still points at it.</p>"
)


def _doc_site_page(head: str = "<title>Scopes and cleanup - The Tidewater Handbook</title>", heading: bool = True) -> bytes:
    """A page laid out like an mdBook documentation site: the book's name in a menu-bar
    ``<h1>``, a help pop-up whose heading's class says "title", the chapter in ``<main>``
    (with its heading, or without one as trafilatura reads mdBook's link-only headings)."""
    chapter = "<h1 id='scopes'>Scopes and cleanup</h1>" if heading else ""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>"
        "<div id='help'><div class='help-popup'><h2 class='mdbook-help-title'>Keyboard shortcuts</h2>"
        "<p>Press the arrow keys to go to the previous or next chapter.</p></div></div>"
        "<div class='menu-bar'><h1 class='menu-title'>The Tidewater Handbook</h1></div>"
        f"<main>{chapter}{_PROSE_PARAGRAPHS}</main></body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("heading", "title"),
    [(True, "Scopes and cleanup"), (False, "Scopes and cleanup - The Tidewater Handbook")],
)
def test_html_title_of_a_documentation_page_is_its_title_element_not_the_menu_or_a_pop_up(heading, title) -> None:
    extracted = extract(_doc_site_page(heading=heading), "scopes.html")
    # the main text's heading when the <title> holds it, else the whole <title>
    assert extracted.title == title
    assert extracted.text.split("\n\n")[0] == title
    assert "Keyboard shortcuts" not in extracted.text and "Every value in a Tidewater program" in extracted.text


def test_html_title_from_metadata_comes_first_and_a_page_without_title_element_keeps_its_heading() -> None:
    tagged = _doc_site_page("<title>Tidewater</title><meta property='og:title' content='Scopes and cleanup'>")
    assert extract(tagged, "scopes.html").title == "Scopes and cleanup"
    untitled = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><article><h1>Harbour barrage opens</h1>"
        f"{_PROSE_PARAGRAPHS}</article></body></html>"
    ).encode()
    assert extract(untitled, "barrage.html").title == "Harbour barrage opens"


def test_html_title_element_naming_nothing_in_the_page_gives_way_to_its_heading() -> None:
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Untitled Document</title></head><body>"
        f"<article><h1>Harbour barrage opens</h1>{_PROSE_PARAGRAPHS}</article></body></html>"
    ).encode()
    extracted = extract(page, "barrage.html")
    assert extracted.title == "Harbour barrage opens" and extracted.text.startswith("Harbour barrage opens\n\n")
    assert "Untitled" not in extracted.text


def test_html_headings_permalink_anchors_are_left_out_and_a_hash_of_the_text_stays() -> None:
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Harbour tools</title></head><body><article>"
        "<h1>Harbour tools<a class='headerlink' href='#harbour-tools' title='Permalink to this heading'>¶</a></h1>"
        f"{_PROSE_PARAGRAPHS}"
        # Sphinx and MkDocs: a pilcrow after the heading; Node.js: "#"; rustdoc: "§" before it
        "<h2>Writing the tide tables in C#<a class='headerlink' href='#csharp'>¶</a></h2>"
        "<p>The tide tables are written by a small program that the harbour office runs every night.</p>"
        "<h3>tides.next()<span><a class='mark' href='#tides-next' id='tides-next'>#</a></span></h3>"
        "<p>Returns the time of the next high tide at the barrage, in local time.</p>"
        "<h2 id='layout'><a href='#layout' class='anchor'>§</a>Layout</h2>"
        "<p>The tables list one tide per line, with its height above the chart datum in metres.</p>"
        "<p>See <a href='#top'>the top of this page</a> for the contents.</p>"
        "</article></body></html>"
    ).encode()
    lines = extract(page, "tools.html").text.split("\n\n")
    for heading in ("Harbour tools", "Writing the tide tables in C#", "tides.next()", "Layout"):
        assert heading in lines, lines
    assert not any(mark in line for line in lines for mark in "¶§")
    # a link to the page itself that says something is text
    assert "See the top of this page for the contents." in lines


def test_an_mdbook_page_keeps_headings_that_link_to_themselves_and_shows_code_as_its_reader_sees_it() -> None:
    # mdBook (the Rust book): trafilatura's precision dropped every such heading as a link
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Harbour tools</title></head><body>"
        "<div id='content' class='content'><main>"
        "<h2 id='tools'><a class='header' href='#tools'>Harbour tools</a></h2>"
        f"{_PROSE_PARAGRAPHS}"
        "<h3 id='the-tide-type'><a class='header' href='#the-tide-type'>The <code>Tide</code> type</a></h3>"
        "<p>The tide tables are written by a small program that the harbour office runs every night.</p>"
        "<p>Here is the tide type:</p>"
        "<pre><code class='language-rust'><span class='boring'>#![allow(unused)]\n</span>"
        "<span class='boring'>fn main() {\n</span>enum Tide { High, Low }\n<span class='boring'>}</span></code></pre>"
        "<h3 id='more'><a href='other.html'>More harbour tools</a></h3>"
        "<p>Returns the time of the next high tide at the barrage, in local time.</p>"
        "</main></div></body></html>"
    ).encode()
    lines = extract(page, "tools.html").text.split("\n\n")
    assert "The Tide type" in lines and lines.index("The Tide type") < lines.index(
        "The tide tables are written by a small program that the harbour office runs every night."
    ), lines
    assert "More harbour tools" not in lines  # a heading that links elsewhere is a link, as before
    # the example's lines mdBook hides are left out: the code as the reader sees it
    assert lines[lines.index("Here is the tide type:") + 1] == "enum Tide { High, Low }"


def test_a_code_blocks_line_break_elements_part_its_words_and_a_blank_line_its_paragraphs() -> None:
    from lxml import etree

    from citeqa.ingest.html import _code_paragraphs

    # trafilatura's tree: a <br> inside a code block is an element (lb), not a line break of the text
    body = etree.fromstring("<body><p>Run these:</p><code>make build<lb/>make run<lb/><lb/>make clean</code>tail</body>")
    _code_paragraphs(body)
    assert [(e.tag, e.text) for e in body] == [("p", "Run these:"), ("p", "make build make run"), ("p", "make clean")]
    assert body[-1].tail == "tail"


def test_a_table_row_under_a_header_row_carries_its_column_heads() -> None:
    page = (
        "<html><head><title>Tide times</title></head><body><article><h1>Tide times</h1>"
        "<p>The harbour office publishes the times of high and low water for both ports every week.</p>"
        "<table><thead><tr><th>Port</th><th>High water</th><th>Low water</th></tr></thead><tbody>"
        "<tr><td>Kelby</td><td>06:12</td><td>12:30</td></tr><tr><td>Norrby <b>quay</b><br>north</td><td>07:45</td><td></td></tr>"
        "</tbody></table><table><tr><td>Chair</td><td>Ines Morrow</td></tr></table>"
        "<p>Times are local and assume no storm surge, so allow a margin when you plan a crossing.</p>"
        "</article></body></html>"
    )
    paragraphs = extract(page.encode(), "tides.html").text.split("\n\n")
    # trafilatura's "| Kelby | 06:12 | 12:30 |" and "|---|---|---|" rows: a question naming a column found the header row
    assert paragraphs[2:5] == [
        "Port: Kelby; High water: 06:12; Low water: 12:30.",
        "Port: Norrby quay north; High water: 07:45.",
        "| Chair | Ines Morrow |",  # no header row: its first row may be data
    ]
    assert not any(p.startswith("|---") or p.startswith("| Port") for p in paragraphs)


def test_note_markers_and_edit_links_are_left_out_and_text_links_and_superscripts_stay() -> None:
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Rhine - Wikipedia</title></head><body>"
        "<div id='content'><h1>Rhine</h1><div class='mw-parser-output'>"
        # MediaWiki: bracketed references, a "[citation needed]", an "[edit]" link, "^" back links
        "<p>The Rhine is one of the major European rivers.<sup id='cite_ref-1' class='reference'><a href='#cite_note-1'>[1]</a></sup>"
        " It rises in the Swiss Alps and flows into the North Sea.<sup class='reference'><a href='#cite_note-2'>[2]</a></sup>"
        "<sup class='noprint Template-Fact'><i>[<a href='/wiki/Wikipedia:Citation_needed'>citation needed</a>]</i></sup>"
        " Its basin covers 185,000 km<sup>2</sup> in nine countries.</p>"
        "<h2><span class='mw-headline'>Name</span><span class='mw-editsection'><span>[</span>"
        "<a href='/w/index.php?title=Rhine&amp;action=edit&amp;section=1'>edit</a><span>]</span></span></h2>"
        "<p>The name derives from the Gaulish name Renos, which was adapted in Roman geography as Rhenus.<sup><a href='#n3'>3</a></sup>"
        " Barges use the Rust and <a href='#c-repr'>C</a> canals, which step <a href='#s2'>2</a> of the plan widened.</p>"
        "<ol class='references'><li id='cite_note-1'><a href='#cite_ref-1'>^</a> Smith, J. (2001). Rivers of Europe.</li>"
        "<li id='fn2'>Jones, A. (2004). The Rhine. <a href='#fnref2' class='footnote-backref'>↩︎</a></li></ol>"
        "</div></div></body></html>"
    ).encode()
    text = extract(page, "rhine.html").text
    lines = text.split("\n\n")
    assert "The Rhine is one of the major European rivers. It rises in the Swiss Alps and flows into the North Sea." in text
    assert "Its basin covers 185,000 km2 in nine countries." in text  # a superscript that is no link stays
    assert "Name" in lines  # the heading without its "[edit]"
    assert "Barges use the Rust and C canals, which step 2 of the plan widened." in text  # links that read as text stay
    assert "- Smith, J. (2001). Rivers of Europe." in lines and "- Jones, A. (2004). The Rhine." in lines
    for mark in ("[1]", "[2]", "citation needed", "edit]", "Rhenus.3", "^", "↩"):
        assert mark not in text, mark


def test_a_table_of_headed_rows_reads_as_fields_and_a_table_with_a_header_row_as_before() -> None:
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Rhine</title></head><body><article><h1>Rhine</h1>"
        "<table class='infobox'><tr><th>Length</th><td>1,230 km</td></tr><tr><th>Source:</th><td>Lake Toma</td><td>Swiss Alps</td></tr></table>"
        f"{_PROSE_PARAGRAPHS}"
        "<table><tr><th>Port</th><th>High water</th></tr><tr><td>Norrby</td><td>07:45</td></tr></table>"
        "</article></body></html>"
    ).encode()
    lines = extract(page, "rhine.html").text.split("\n\n")
    # trafilatura keeps a <th> as a head in a table's first row only: "| Length | 1,230 km |" before
    assert "Length: 1,230 km." in lines and "Source: Lake Toma; Swiss Alps." in lines
    assert "Port: Norrby; High water: 07:45." in lines


def test_binary_text_file_is_told_to_be_saved_as_plain_text_not_as_html() -> None:
    """A renamed binary named .txt/.md: the advice is the text's, not a web page's."""
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
    for name in ("notes.txt", "notes.md"):
        with pytest.raises(SourceError, match=r"claims to be text but its content is binary .*\); save it again as plain text \(UTF-8\), or give the file its real type$"):
            extract(png, name)
