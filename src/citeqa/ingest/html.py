"""Main-text extraction from HTML pages (trafilatura): the article, not the page around it.

Navigation, cookie banners, share buttons, related links, footers, scripts and styles
are left out; paragraphs are kept, one per line with a blank line between them, and
the title is the first line. A line break in the page's source inside a paragraph, list
item or table cell is white space, as a browser shows it ("...goes out of\nscope" is one
sentence); ``<br>`` keeps its line break, a code block's (``<pre>``) lines are joined by
spaces, a blank line in it ending a paragraph, and a table row under a header row carries its
column heads ("Port: Norrby; High water: 07:45."), a row that is one head cell and its values (an
infobox's) "Length: 1,230 km."; note markers ("[2]", "[citation needed]", "^") are left out, as they
read like citeqa's own [1]. HTML is treated as data: nothing in it is executed or
fetched (no scripts, no images, no links followed).

Limits: what counts as the main text is trafilatura's judgement (precision first):
comments, images and link lists are left out, and a page without prose (a
menu, a log-in page) is refused rather than indexed as boilerplate; text that only a
script would render is not there. A UTF-16 page (with its byte order mark) reaches this
module as UTF-8 (:mod:`citeqa.ingest.encoding`).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from ..errors import SourceError
from ..text import tokenize
from .extracted import Extracted
from .paragraphs import clean_lines, code_paragraphs, element_text, is_note_marker, paragraph_document, table_rows
from .wrapping import MIN_PAIRS, fill_width, line_pairs, runs_on

EXTRACTOR = "trafilatura"
#: Bump when the clean-up below changes: the extracted text of the same page changes.
#: 2: source line breaks inside paragraphs are spaces (:func:`_unwrap`).
#: 3: the title is the page's metadata title, else its ``<title>`` (:func:`page_title`).
#: 4: headings' permalink anchors ("¶", "#") are left out (:func:`_parse`).
#: 5: a code block's lines are joined by spaces, a blank line ending a paragraph (:func:`_code_paragraphs`).
#: 6: a table row under a header row carries its column heads (:func:`_table_paragraphs`).
#: 7: note markers ("[1]", "[citation needed]", "^") and MediaWiki's "[edit]" links are left out, and a
#:    table of headed rows (an infobox) reads "Length: 1,230 km." (:func:`_parse`).
#: 8: a heading whose words link to its own anchor (mdBook's) keeps them; mdBook's hidden example
#:    lines are left out (:func:`_parse`).
#: 9: the ``<br>`` that wrap hard-wrapped text are spaces (:func:`_wrapped_breaks`).
#: 10: a table that lays out text (DocBook's FAQ) is read as paragraphs (:func:`_laid_out_paragraphs`).
#: 11: a list of prose in a table cell is kept, as "- " paragraphs (:func:`_parse`).
RULES_VERSION = 11

_SENTENCE_END = re.compile(r"[.!?]['\"’”)\]]*$")
#: A line break of the page's source and the indentation around it.
_SOURCE_BREAK = re.compile(r"[ \t]*[\r\n]\s*")
#: trafilatura's elements that hold running text: a code block inside one is inline code.
_PROSE = frozenset({"p", "head", "item", "cell", "quote"})
#: The text of a heading's permalink anchor (Sphinx and MkDocs "¶", Node.js "#", "§", a link sign).
_PERMALINK_MARKS = frozenset({"¶", "#", "§", "\U0001f517", "\u2693"})


@functools.cache
def extractor_version() -> str:
    """trafilatura's version plus this module's rules version (the installed package's metadata
    is read once per process: opening an index checks every source's version, and reading it
    for each of the Rust book's 466 pages took 0.25 s)."""
    return f"{version('trafilatura')}+r{RULES_VERSION}"


def _is_code_block(element: Any) -> bool:
    """True for a code block: a ``code`` element (trafilatura's ``<pre>``) outside running text that holds no other code element.

    A page may put two blocks in one ``<pre>`` (Node.js's documentation gives an example as
    an ES module and as CommonJS), which trafilatura returns as two ``code`` elements in a
    third, or in a ``quote`` that holds nothing else.
    """
    if element.tag != "code" or any(node is not element for node in element.iter("code")):
        return False
    return not any(node.tag in _PROSE and not _holds_only_code(node) for node in element.iterancestors())


def _holds_only_code(element: Any) -> bool:
    """True when ``element``'s text is all inside its ``code`` children (a ``<pre>`` trafilatura calls a quote)."""
    return (
        element.tag == "quote"
        and not (element.text or "").strip()
        and all(child.tag == "code" and not (child.tail or "").strip() for child in element)
    )


def _become_paragraphs(element: Any, texts: list[str]) -> None:
    """Turn ``element`` into trafilatura paragraphs (``p``) holding ``texts`` (one, empty, if none); its tail stays after them."""
    texts = texts or [""]
    tail = element.tail
    for child in list(element):
        element.remove(child)
    element.attrib.clear()
    element.tag, element.text, element.tail = "p", texts[0], None
    last = element
    for text in texts[1:]:
        paragraph = element.makeelement("p", {})
        paragraph.text = text
        last.addnext(paragraph)
        last = paragraph
    last.tail = tail


def _code_paragraphs(body: Any) -> None:
    """Make each code block paragraphs of one line: its lines joined by spaces, a blank line ending one; in place.

    Kept line by line, every line of a code block was a paragraph and a sentence of its own
    ("EventEmitter," from a ``const { EventEmitter, ... } = require(...)``, "});"), cited
    before the prose that explains it; and the text after a block was glued to its last
    line ("}); fs.unlink() will not work on a directory"). As paragraphs (trafilatura's
    ``p``), a block starts and ends a line, like the prose around it; a blank line inside it
    (between an example's imports and its use, or the paragraphs of a message set in
    ``<pre>``) still parts it.
    """
    for element in [e for e in body.iter("code") if _is_code_block(e)]:
        for line_break in element.iter("lb"):  # a <br> in the block: its text has no line break of its own
            line_break.tail = "\n" + (line_break.tail or "")
        _become_paragraphs(element, code_paragraphs("".join(element.itertext())))


#: trafilatura's elements inside a table cell that start a line of their own.
_CELL_BLOCKS = frozenset({"p", "item", "list", "lb", "head", "quote", "code"})


def _cell_text(cell: Any) -> str:
    """A table cell's text, its paragraphs, items and line breaks parted by spaces."""
    return element_text(cell, breaks=frozenset(), spaced=_CELL_BLOCKS)


def _table_paragraphs(body: Any) -> None:
    """Make each table paragraphs, one per row, a row under a header row with its column heads; in place.

    trafilatura writes a row as "| Norrby | 07:45 |" and a "|---|" line under the header row;
    a question naming a column ("When is high water at Norrby?") found the header row first.
    As Markdown, reStructuredText and Word tables are read (:func:`citeqa.ingest.paragraphs.table_rows`),
    a row under a header row (its cells all ``<th>``) reads "Port: Norrby; High water: 07:45."
    A table that lays out text (:func:`_lays_out_text`) is read as its paragraphs, without "|".
    A table holding another table is left as trafilatura writes it.
    """
    for table in [t for t in body.iter("table") if not any(inner is not t for inner in t.iter("table"))]:
        rows = [[_cell_text(cell) for cell in row.iter("cell")] for row in table.iter("row")]
        first = next(table.iter("row"), None)
        headed = first is not None and len(first) > 0 and all(cell.get("role") == "head" for cell in first.iter("cell"))
        if not headed and _lays_out_text(table):
            _become_paragraphs(table, _laid_out_paragraphs(table))
            continue
        _become_paragraphs(table, table_rows(rows[0], rows[1:]) if headed else table_rows(None, rows))


#: trafilatura's block elements: a table cell holding two of them lays out text (:func:`_lays_out_text`).
_TEXT_BLOCKS = frozenset({"p", "list", "head", "quote", "code"})


def _blocks(cell: Any) -> list[Any]:
    """The block elements of a table cell (its paragraphs, lists, headings, quotes, code)."""
    return [child for child in cell if child.tag in _TEXT_BLOCKS]


def _lays_out_text(table: Any) -> bool:
    """True for a table that lays out text rather than data: a cell holds two blocks or more
    (DocBook's FAQ: a row for the question, one for its answer's paragraphs; a page laid out
    in one table). A parameter table's cells hold one paragraph each and stay a table."""
    return any(len(_blocks(cell)) >= 2 for cell in table.iter("cell"))


def _laid_out_paragraphs(table: Any) -> list[str]:
    """A layout table's text as paragraphs: a row whose cells hold one block at most on one line
    ("1.1. How do you pronounce "Valgrind"?"); in another row, its cells' own words on one line,
    then each block of its cells as a paragraph of its own."""
    out = []
    for row in table.iter("row"):
        cells = list(row.iter("cell"))
        if all(len(_blocks(cell)) <= 1 for cell in cells):
            out.append(" ".join(text for cell in cells if (text := " ".join(clean_lines(_cell_text(cell))))))
            continue
        inline = [" ".join(clean_lines(element_text(cell, skip=lambda child: child.tag in _TEXT_BLOCKS))) for cell in cells]
        out.append(" ".join(text for text in inline if text))
        blocks = (element_text(block, spaced=_CELL_BLOCKS | {"item"}) for cell in cells for block in _blocks(cell))  # a list's items apart
        out.extend(text for block in blocks if (text := " ".join(clean_lines(block))))
    return [text for text in out if text]


def _unwrap(body: Any) -> None:
    """Turn the line breaks the page's source wraps its text with into spaces, in place.

    trafilatura keeps them: a paragraph written over several lines of HTML came out as
    several lines, each taken for a paragraph of its own, so sentences were cut at the
    source's line ends. ``<br>`` is an element of its own (``lb``) and stays a line break.
    """
    for element in body.iter():
        if not isinstance(element.tag, str):  # comments, processing instructions
            continue
        if element.text:
            element.text = _SOURCE_BREAK.sub(" ", element.text)
        if element.tail:
            element.tail = _SOURCE_BREAK.sub(" ", element.tail)


def _wrapped_breaks(body: Any) -> None:
    """Turn the ``<br>`` that wrap hard-wrapped text into spaces, in place: those before a line
    whose first word would not have fitted on the line above (:mod:`citeqa.ingest.wrapping`).

    A text file set as HTML line by line (DocBook's ``literallayout``: Valgrind's AUTHORS and
    NEWS) ends each line with ``<br>``; kept, each line was a paragraph and a sentence of its
    own ("Valgrind, created the dynamic translation frameworks, wrote Memcheck,"). Only an
    element holding nothing but text and ``<br>`` is read, and only when its lines agree on a
    fill width (then a line starting in lowercase continues the one above too, as in plain
    text); a blank line (two ``<br>``) still parts paragraphs, and an address's or a
    poem's lines stay as they are.
    """
    from lxml import etree

    for element in list(body.iter()):
        breaks = list(element)
        if len(breaks) < MIN_PAIRS or any(child.tag != "lb" for child in breaks):
            continue
        lines = [(text or "").strip("\r\n") for text in [element.text, *(lb.tail for lb in breaks)]]
        seen = [line.replace("\xa0", " ") for line in lines]  # DocBook sets its spaces as no-break ones
        pairs = [i for i in range(1, len(seen)) if seen[i - 1].strip() and seen[i].strip()]
        width = fill_width(line_pairs([seen[i - 1] for i in pairs], [seen[i] for i in pairs]))
        # as in plain text (citeqa.ingest.segment); only in a text that has a fill width
        wraps = {i for i in pairs if width is not None and runs_on(seen[i - 1], seen[i], width)}
        if not wraps:
            continue
        groups = [lines[0]]
        for i in range(1, len(lines)):
            if i in wraps:
                groups[-1] = f"{groups[-1].rstrip()} {lines[i].lstrip()}"
            else:
                groups.append(lines[i])
        for line_break in breaks:
            element.remove(line_break)
        element.text = groups[0]
        for group in groups[1:]:
            etree.SubElement(element, "lb").tail = group


def _has_prose(text: str) -> bool:
    """True if some line of ``text`` reads like a sentence (8+ words, final punctuation)."""
    return any(
        len(line.split()) >= 8 and _SENTENCE_END.search(line) for line in clean_lines(text)
    )


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def _one_line(text: str) -> str:
    """``text``'s cleaned lines joined by spaces."""
    return " ".join(clean_lines(text))


def page_title(tree: Any, lines: Sequence[str] = ()) -> str | None:
    """The page's title: its metadata's (OpenGraph, Twitter card, JSON-LD), else its ``<title>``, else its heading.

    ``tree``: the page as :func:`_parse` reads it (None: no title). ``lines``: the main text's lines. A ``<title>`` names the page and often the site too
    ("Types - The Rust Reference", "Errors | Node.js Documentation"); when the main text's
    first line is the page's part of it (the article's own heading, "Harbour town ... | The
    Coastal Courier"), that line is the title. A ``<title>`` none of whose words is in the
    main text ("Untitled Document", "React App") gives way to the page's heading when some
    word of that is. Without metadata, trafilatura's own guess at the heading (a lone ``<h1>``, an
    element whose class says "title") takes documentation sites' menu bar or a help pop-up
    for it: the site's name on every page of the Rust book, Node.js and libxslt manuals,
    "Keyboard shortcuts" on every page of the Rust reference and the Cargo book; so that
    guess comes last.
    """
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title

    if tree is None:
        return None
    metadata = examine_meta(tree)
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception:  # noqa: BLE001 - as trafilatura itself: a page's broken JSON-LD only loses its title
        pass
    if metadata.title:
        return _one_line(metadata.title) or None
    elements = tree.xpath("//head/title") or tree.xpath("//title")
    page = _one_line(elements[0].text_content()) if elements else ""
    first = lines[0] if lines else ""
    if page and first and _folded(first) in _folded(page):
        return first
    guess = _one_line(extract_title(tree) or "")
    if page and (_in_text(tokenize(page), lines) or not _in_text(tokenize(guess), lines)):
        return page
    return guess or None


def _in_text(tokens: Sequence[str], lines: Sequence[str]) -> bool:
    """True when some line holds one of ``tokens`` (lines are read until one does)."""
    wanted = set(tokens)
    return bool(wanted) and any(wanted.intersection(tokenize(line)) for line in lines)


def _parse(data: bytes | str) -> tuple[Any, bool]:
    """The page parsed once, as trafilatura parses it (None if it cannot be), without its
    headings' permalink anchors; and whether it had any.

    A permalink anchor is a link to the page itself (``href="#..."``) whose whole text is
    one mark of :data:`_PERMALINK_MARKS`: Sphinx writes "Abstract¶", Node.js "os.cpus()#",
    and every heading ended in it. A "#" of the text ("C#") is not a link and stays.
    A heading whose words are such a link (mdBook's ``<h3><a class="header"
    href="#ownership-rules">Ownership Rules</a></h3>``, as in the Rust book) keeps its
    words as text: trafilatura's precision drops a heading that is all link, and every
    heading of such a page was lost. So do the lines mdBook hides in an example (``<span
    class="boring">``: "#![allow(unused)] fn main() {" around the code the reader sees),
    which its script shows only on request: each code block read as the page shows it. A list
    of prose in a table cell (not a menu's links) becomes the cell's paragraphs, "- " before each
    item: trafilatura drops a list there (libxslt's pages, Valgrind's FAQ).
    """
    from trafilatura.utils import load_html

    tree = load_html(data)
    if tree is None:
        return None, False
    anchors = [
        a
        for a in tree.iter("a")
        if (a.get("href") or "").startswith("#") and len(a) == 0 and (a.text or "").strip() in _PERMALINK_MARKS
    ]
    # note markers ("...North Sea.[2][citation needed]", a reference list's "^") and MediaWiki's "[edit]" links
    marks = [e for e in tree.iter("sup", "a") if is_note_marker(e)]  # one inside another goes with it
    edits = [e for e in tree.iter("span") if "mw-editsection" in (e.get("class") or "").split()]
    # mdBook's example lines its script hides ("#![allow(unused)]", "fn main() {" around the shown code)
    hidden = [e for e in tree.iter("span") if "boring" in (e.get("class") or "").split()]
    for element in dict.fromkeys(anchors + marks + edits + hidden):  # a "¶" permalink is also a note's mark: dropped once
        if element.getparent() is not None:
            element.drop_tree()  # its tail text stays
    self_links = [
        a
        for heading in tree.iter("h1", "h2", "h3", "h4", "h5", "h6")
        for a in heading.iter("a")
        if (a.get("href") or "").startswith("#") and (a.text_content() or "").strip()
    ]
    for a in self_links:
        a.drop_tag()  # its words (and any <code> in them) stay in the heading
    # a list in a table cell: trafilatura drops it ("Here are some key points about libxslt:" and
    # nothing after it); as the cell's paragraphs it is kept, each item marked as a list item is
    listed = [e for e in tree.iter("ul", "ol") if any(a.tag in ("td", "th") for a in e.iterancestors()) and _prose_list(e)]
    for element in listed:
        for item in element.findall("li"):
            item.tag, item.text = "p", "- " + (item.text or "").lstrip()
        element.drop_tag()
    headed = [t for t in tree.iter("table") if _rows_headed(t)]
    for table in headed:
        _become_fields(table)
    return tree, bool(anchors or marks or edits or hidden or self_links or listed or headed)


def _prose_list(element: Any) -> bool:
    """True for a list most of whose words are no link's (a menu's list is all links)."""
    words = len(element.text_content().split())
    linked = sum(len(a.text_content().split()) for a in element.iter("a"))
    return words > 0 and linked < 0.5 * words


def _rows_headed(table: Any) -> bool:
    """True for a table each of whose rows is one head cell and its values (an infobox: "Length | 1,230 km")."""
    rows = [[c for c in row if c.tag in ("th", "td")] for row in table.iter("tr")]
    rows = [row for row in rows if row]
    return (
        len(rows) >= 2
        and not any(inner is not table for inner in table.iter("table"))
        and all(len(row) >= 2 and row[0].tag == "th" and all(c.tag == "td" for c in row[1:]) for row in rows)
    )


def _become_fields(table: Any) -> None:
    """Replace a table of headed rows with one paragraph per row, "Length: 1,230 km.", in place.

    trafilatura keeps a ``<th>`` as a column head only in a table's first row; the rows of
    an infobox would read "| Length | 1,230 km |", cited as such.
    """
    from lxml import etree
    from lxml import html as lxml_html

    fields = lxml_html.Element("div")
    for row in table.iter("tr"):
        cells = [" ".join(clean_lines(element_text(c))) for c in row if c.tag in ("th", "td")]
        values = [value for value in cells[1:] if value]
        if cells and cells[0] and values:
            line = f"{cells[0].rstrip(':').rstrip()}: " + "; ".join(values)  # "Parameters:" as a head too
            etree.SubElement(fields, "p").text = line + ("" if _SENTENCE_END.search(line) else ".")
    fields.tail = table.tail
    table.getparent().replace(table, fields)


def extract_html(data: bytes | str, name: str) -> Extracted:
    """The main text of an HTML page: title first, then its paragraphs, blank-line separated.

    Raises:
        SourceError: the page cannot be parsed or has no main text.
    """
    import trafilatura

    options = {
        "with_metadata": False,  # the title is read below; trafilatura's metadata also dates the page (htmldate): 60% of its time
        "include_comments": False,
        "include_tables": True,
        "include_images": False,
        "include_links": False,
        "include_formatting": False,
        "deduplicate": False,
        "output_format": "python",
    }
    try:
        # precise main-text extraction first; trafilatura's fallback algorithms (which
        # also return menus of nav-only pages) only when it finds nothing, and then
        # only if they found prose
        tree, cleaned = _parse(data)
        # a page without permalinks is extracted from its bytes exactly as before; a cleaned
        # tree is handed over as a copy (trafilatura cleans the tree it is given; the title is read from it below)
        fresh = (lambda: copy.deepcopy(tree)) if cleaned else (lambda: data)
        document = trafilatura.bare_extraction(fresh(), favor_precision=True, fast=True, **options)
        if document is None or not (document.text or "").strip():
            document = trafilatura.bare_extraction(fresh(), favor_precision=True, **options)
            if document is not None and not _has_prose(document.text or ""):
                document = None
    except (ValueError, TypeError, LookupError) as exc:
        raise SourceError(f"{name}: cannot parse this HTML ({exc}); save the page again") from None
    text = ""
    if document is not None and document.body is not None:
        from trafilatura.xml import xmltotxt

        _code_paragraphs(document.body)
        _table_paragraphs(document.body)
        _wrapped_breaks(document.body)
        _unwrap(document.body)
        text = xmltotxt(document.body, include_formatting=False)
    elif document is not None:
        text = document.text or ""
    lines = clean_lines(text)
    if not lines:
        raise SourceError(
            f"{name}: found no article text in this HTML page; save the article itself "
            "(not an index or log-in page), or copy its text into a .txt file"
        )
    return paragraph_document(lines, page_title(tree, lines), EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "RULES_VERSION", "extract_html", "extractor_version"]
