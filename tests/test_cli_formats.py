"""`citeqa build page.html report.pdf http://127.0.0.1:PORT/article.html` then `citeqa ask`,
through real subprocesses: a real model, a real `python -m http.server` on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from citeqa import Index
from citeqa.errors import StaleIndexError
from citeqa.ingest.extract import extract
from citeqa.store import format as store_format
from conftest import REPO
from serving import free_port
from test_cli import run

FORMATS = REPO / "tests" / "data" / "formats"
ARTICLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lighthouse reopens | The Coastal Courier</title>
<script>window.track = () => {};</script><style>.cookie { position: fixed; }</style></head>
<body>
<div class="cookie" role="dialog">We use cookies for personalised advertising. <button>Accept all cookies</button></div>
<nav><a href="/">Home</a> <a href="/subscribe">Subscribe to our newsletter</a></nav>
<article>
<h1>Restored lighthouse reopens to visitors</h1>
<p>The lighthouse at Pendower Point reopened on Friday after a two-year restoration that replaced its lantern
and repaired the tower's granite blocks, which had been cracked by frost.</p>
<p>The restoration was carried out by a team of nineteen stonemasons from three counties, who cut the new blocks
from the same quarry that supplied the original tower in 1862.</p>
<p>Visitors can climb the one hundred and twelve steps to the gallery every weekend from May to September,
and school groups can book a guided visit on weekdays.</p>
</article>
<footer><p>Copyright 2026 The Coastal Courier. Terms of use. Privacy policy.</p></footer>
</body></html>
"""
BOILERPLATE = ("cookie", "Subscribe", "newsletter", "Copyright", "Accept all", "Terms of use", "Share on", "track(")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "article.html").write_text(ARTICLE, encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/article.html"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield {"url": url, "port": port, "proc": proc}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def built(tmp_path_factory, site) -> dict:
    work = tmp_path_factory.mktemp("formats-cli")
    shutil.copy(FORMATS / "news.html", work / "page.html")
    shutil.copy(FORMATS / "report.pdf", work / "report.pdf")
    started = time.perf_counter()
    result = run("build", "page.html", "report.pdf", site["url"], "--index", "tmp", "--quiet", cwd=work)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert "from 3 documents into tmp" in result.stdout
    print(f"build of page.html, report.pdf and a URL: {seconds:.1f} s (subprocess, model load included)")
    return {"work": work, "url": site["url"], "host": f"127.0.0.1:{site['port']}"}


def _ask(built: dict, question: str) -> dict:
    result = run("ask", question, "--index", "tmp", "--json", "-k", "2", cwd=built["work"])
    answer = json.loads(result.stdout)
    # exit 0 answered, 3 abstained (the JSON says which); anything else is an error
    assert result.returncode == (3 if answer["abstained"] else 0), result.stderr
    return answer


def _built(folder, fixture: str, name: str) -> str:
    """Copy a fixture into ``folder`` as ``name``, `citeqa build` it into idx; its extracted text."""
    shutil.copy(FORMATS / fixture, folder / name)
    result = run("build", name, "--index", "idx", "--quiet", cwd=folder)
    assert result.returncode == 0, result.stderr
    return extract((folder / name).read_bytes(), name).text


def _answered(folder, question: str) -> dict:
    """`citeqa ask QUESTION --index idx --json` in ``folder``, which must answer (exit 0, not abstained)."""
    result = run("ask", question, "--index", "idx", "--json", cwd=folder)
    answer = json.loads(result.stdout)
    assert result.returncode == 0 and answer["abstained"] is False, answer["text"]
    return answer


def _extracted(built: dict, doc_id: str) -> str:
    if doc_id == "page.html":
        return extract((built["work"] / "page.html").read_bytes(), "page.html").text
    if doc_id == "report.pdf":
        return extract((built["work"] / "report.pdf").read_bytes(), "report.pdf").text
    assert doc_id == f"{built['host']}/article.html"  # host + path, never a server path
    return extract(ARTICLE.encode("utf-8"), built["url"], "text/html").text


@pytest.mark.parametrize(
    ("question", "doc", "fragment", "page"),
    [
        ("How many salmon did the fish counter record?", "report.pdf", "1,214 salmon", 2),
        ("How many times did the operator release water?", "report.pdf", "four occasions", 3),
        ("How much did the tidal barrage cost?", "page.html", "41 million pounds", None),
        ("How many stonemasons restored the lighthouse?", "url", "nineteen stonemasons", None),
    ],
)
def test_ask_cites_exact_offsets_into_the_extracted_text_and_the_pdf_page(built, question, doc, fragment, page):
    data = _ask(built, question)
    assert data["abstained"] is False
    first = data["citations"][0]
    doc_id = f"{built['host']}/article.html" if doc == "url" else doc
    assert first["doc_id"] == doc_id and fragment in first["text"]
    assert first["page"] == page
    text = _extracted(built, doc_id)
    for hit in data["citations"]:
        assert _extracted(built, hit["doc_id"])[hit["start"] : hit["end"]] == hit["text"]
    assert text[first["start"] : first["end"]] == first["text"]


def test_text_output_shows_the_page(built):
    result = run("ask", "How many salmon did the fish counter record?", "--index", "tmp", "-k", "1", cwd=built["work"])
    assert result.returncode == 0, result.stderr
    assert "[1] report.pdf, p. 2 characters" in result.stdout


@pytest.mark.parametrize(
    "question",
    ["Do you accept all cookies?", "How do I subscribe to the newsletter?", "Who holds the copyright?",
     "Where can I share this article on Facebook?"],
)
def test_boilerplate_is_never_cited(built, question):
    data = _ask(built, question)
    for hit in data["citations"]:
        assert not any(word.lower() in hit["context"].lower() for word in BOILERPLATE), hit["context"]


def test_the_index_stores_no_boilerplate_and_records_extractors(built):
    index = Index.load(built["work"] / "tmp", check_stale=False)
    for document in index.documents:
        assert not any(word in document.text for word in BOILERPLATE), document.doc_id
    sources = {s["doc_id"]: s for s in index.manifest["sources"]}
    assert sources["report.pdf"]["extractor"] == "pypdf"
    assert sources["page.html"]["extractor"] == "trafilatura"
    url_source = sources[f"{built['host']}/article.html"]
    assert url_source["fetched"] is True and url_source["path"] == built["url"]
    assert "citeqa build fetches it again" in index.manifest["url_sources"]


def test_ask_does_not_go_online_and_a_new_extractor_makes_the_index_stale(built, site, tmp_path):
    site["proc"].terminate()  # the URL is gone: asking still works from the index alone
    site["proc"].wait(timeout=10)
    data = _ask(built, "How many stonemasons restored the lighthouse?")
    assert "nineteen stonemasons" in data["citations"][0]["text"]
    copy = tmp_path / "copy"
    shutil.copytree(built["work"] / "tmp", copy)
    version = next(copy.glob("v-*"))
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    pdf = next(s for s in manifest["sources"] if s["doc_id"] == "report.pdf")
    pdf["path"] = str(built["work"] / "report.pdf")
    pdf["extractor_version"] = "0.0.1+r0"  # as if built by an older pypdf
    manifest[store_format.MANIFEST_DIGEST] = store_format.manifest_digest(manifest)
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(StaleIndexError, match=r"extracted by pypdf 0\.0\.1\+r0 and this citeqa has pypdf .*citeqa build"):
        Index.load(copy)


def test_folder_build_skips_other_files_with_a_reason(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "notes.txt").write_text("The ferry to the island leaves at nine every morning.\n", encoding="utf-8")
    shutil.copy(FORMATS / "report.pdf", docs / "sub" / "report.pdf")
    (docs / "budget.numbers").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    shutil.copy(FORMATS / "scan.pdf", docs / "scan.pdf")
    result = run("build", "docs", "--index", "idx", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from 2 documents" in result.stdout
    assert "skipped docs/budget.numbers: not a .txt, .md, .rst, .html, .pdf, .docx, .odt, .pptx, .epub, .ipynb, .csv, .xlsx, .xls or .ods file" in result.stderr
    assert "skipped docs/scan.pdf: scan.pdf has no text layer (a scanned PDF?); run OCR first" in result.stderr


def test_a_websites_folder_sums_up_its_scripts_styles_and_images_and_names_each_with_vv(tmp_path):
    # a saved website (the Rust book: 185 such files among 466 pages) printed a line for each
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "page.html").write_bytes((FORMATS / "news.html").read_bytes())
    (site / "toc.html").write_text("<html><body><nav><a href='a.html'>A</a></nav></body></html>", encoding="utf-8")
    assets = ["book.js", "search.js", "clipboard.js", "css/general.css", "css/print.css", "logo.png", "font.woff2"]
    for name in assets:
        (site / name).write_bytes(b"\x00asset")
    result = run("build", "site", "--index", "idx", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if "skipped" in line] == [
        "citeqa: skipped site/toc.html: found no article text in this HTML page; save the article itself "
        "(not an index or log-in page), or copy its text into a .txt file",
        "citeqa: skipped 7 files that are not .txt, .md, .rst, .html, .pdf, .docx, .odt, .pptx, .epub, .ipynb, .csv, .xlsx, .xls or .ods files "
        "(3 .js, 2 .css, 1 .png, 1 .woff2); -vv names each",
    ]
    # -vv before or after the command names each of them
    for argv in (["-vv", "build", "site", "--index", "idx", "--quiet"], ["build", "site", "--index", "idx", "--quiet", "-vv"]):
        verbose = run(*argv, cwd=tmp_path)
        assert verbose.returncode == 0, verbose.stderr
        for name in assets:
            assert f"citeqa: skipped site/{name}: not a .txt" in verbose.stderr, (argv, name)


def test_a_build_says_which_document_repeats_others(tmp_path):
    # mdBook's print.html holds every chapter: answers cited a sentence from either
    docs = tmp_path / "book"
    docs.mkdir()
    chapters = {}
    for name in ("tides", "ferries"):
        chapters[name] = "\n\n".join(f"The {name} chapter explains point number {i} of the harbour rules." for i in range(12))
        (docs / f"{name}.txt").write_text(chapters[name] + "\n", encoding="utf-8")
    (docs / "print.txt").write_text("The Harbour Book\n\n" + "\n\n".join(chapters.values()) + "\n", encoding="utf-8")
    (docs / "notes.txt").write_text("The ferry to the island leaves at nine every morning.\n", encoding="utf-8")
    result = run("build", "book", "--index", "idx", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from 4 documents" in result.stdout  # warned, never left out
    assert result.stderr.splitlines() == [
        "citeqa: print.txt repeats 2 other documents (ferries.txt, tides.txt); answers may cite the same "
        "sentence from each: leave copies out of the sources"
    ]


def test_an_index_kept_among_the_documents_is_skipped_as_one_folder_not_file_by_file(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("The ferry to the island leaves at nine every morning.\n", encoding="utf-8")
    first = run("build", "docs", "--index", "docs/idx", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run("build", "docs", "--index", "docs/idx", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "from 1 document" in again.stdout
    skipped = [line for line in again.stderr.splitlines() if "skipped" in line]
    assert skipped == ["citeqa: skipped docs/idx: a citeqa index folder: its files are not documents"], again.stderr
    assert "1 unchanged document\n" in again.stderr


def test_a_page_whose_source_wraps_its_paragraphs_is_cited_a_whole_sentence_at_a_time(tmp_path):
    shutil.copy(FORMATS / "wrapped.html", tmp_path / "handbook.html")
    result = run("build", "handbook.html", "--index", "idx", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run("ask", "What happens when a variable goes out of scope?", "--index", "idx", "--json", "-k", "1", cwd=tmp_path)
    answer = json.loads(result.stdout)
    assert result.returncode == 0 and answer["abstained"] is False, answer["text"]
    first = answer["citations"][0]
    # the sentence runs over two lines of the page's source; it is cited whole, on one line
    assert first["text"] == "When a variable goes out of scope, the runtime calls a special function for us."
    text = extract((tmp_path / "handbook.html").read_bytes(), "handbook.html").text
    assert text[first["start"] : first["end"]] == first["text"]


def test_a_hard_wrapped_sentence_is_cited_whole_printed_on_one_line_and_kept_verbatim_in_json(tmp_path):
    notice = (
        "NORRBY HARBOUR NOTICE\n\n"
        "The harbour authority will reopen the north quay to fishing boats from\n"
        "Visby and Gotland on Monday 4 May, once the repairs to the sea wall are\n"
        "finished. Pleasure craft may moor at the south pontoon until then, free\n"
        "Of charge for the first week. Questions go to the harbour office.\n"
    )
    (tmp_path / "notice.txt").write_text(notice, encoding="utf-8")
    assert run("build", "notice.txt", "--index", "idx", "--quiet", cwd=tmp_path).returncode == 0
    question = "When will the north quay reopen to fishing boats?"
    printed = run("ask", question, "--index", "idx", "-k", "1", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines()[0] == (
        "The harbour authority will reopen the north quay to fishing boats from Visby and Gotland on "
        "Monday 4 May, once the repairs to the sea wall are finished. [1]"
    )
    first = json.loads(run("ask", question, "--index", "idx", "-k", "1", "--json", cwd=tmp_path).stdout)["citations"][0]
    assert "from\nVisby" in first["text"] and notice[first["start"] : first["end"]] == first["text"]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_a_text_file_saved_by_an_older_windows_editor_is_answered_in_its_own_characters(tmp_path, encoding):
    # Notepad's "ANSI" (Windows-1252) and "Unicode" (UTF-16 with a byte order mark): both were refused
    note = (
        "Norrby harbour café\n"
        "The café on Kyrkogatan opens at eight o’clock and serves smörgåsar until noon.\n"
        "Its owner, Åsa Lindqvist, bought it in 2019 – the year the harbour reopened.\n"
    )
    (tmp_path / "cafe.txt").write_bytes(note.encode(encoding))
    result = run("build", "cafe.txt", "--index", "idx", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first = _answered(tmp_path, "When does the café open?")["citations"][0]
    assert first["text"] == "The café on Kyrkogatan opens at eight o’clock and serves smörgåsar until noon."
    assert note[first["start"] : first["end"]] == first["text"]


def test_an_api_page_is_answered_from_its_prose_and_whole_code_blocks_not_single_code_lines(tmp_path):
    # an API reference page in Node.js's HTML (its examples as ES module and CommonJS in one <pre>):
    # line by line, "Beacon," "relay," and "import {" were sentences, and cited first
    text = _built(tmp_path, "apidoc.html", "beacons.html")
    for question, start in [
        ("What is a Beacon?", "A Beacon is an object that emits named signals"),
        # the example's first paragraph (a blank line parts it from the code using the import)
        ("How do I import Beacon?", "import { Beacon, relay, } from 'node:beacons';"),
    ]:
        answer = _answered(tmp_path, question)
        first = answer["citations"][0]
        assert first["text"].startswith(start) and text[first["start"] : first["end"]] == first["text"]
        assert not {"Beacon,", "relay,", "import {", "});"} & {hit["text"] for hit in answer["citations"]}


def test_a_markdown_file_is_answered_from_its_text_without_markup_and_an_index_of_it_as_raw_text_is_stale(tmp_path):
    # read as is, "The `calibrate()` function ..." was cited with its backticks, a heading with its
    # "##", every line of a code block was a sentence, and "[chart]: https://..." was one too
    text = _built(tmp_path, "guide.md", "guide.md")
    for question, start in [
        ("What does calibrate do?", "The calibrate() function shifts every later reading of a gauge by a fixed offset."),
        ("What is chart datum?", "Chart datum is the level below which the tide almost never falls"),  # inside <details>
        ("What is the accuracy of the PX-40?", "Sensor: PX-40; Range: 40 m; Accuracy: 4 cm."),  # a table row, with its heads
    ]:
        answer = _answered(tmp_path, question)
        first = answer["citations"][0]
        assert first["text"].startswith(start) and text[first["start"] : first["end"]] == first["text"]
        for hit in answer["citations"]:
            assert not any(mark in hit["context"] for mark in ("`", "**", "](", "##", "<!--", "https://")), hit["context"]
    # an index built before Markdown was read as Markdown recorded it as text: stale, with the command
    version = next((tmp_path / "idx").glob("v-*"))
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"][0]["extractor"] == "markdown-it"
    manifest["sources"][0].update(extractor="text", extractor_version="1")
    manifest[store_format.MANIFEST_DIGEST] = store_format.manifest_digest(manifest)
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = run("ask", "What does calibrate do?", "--index", "idx", cwd=tmp_path)
    assert result.returncode != 0 and "guide.md was extracted by text 1 and this citeqa has markdown-it" in result.stderr
    assert "citeqa build" in result.stderr and "Traceback" not in result.stderr


#: Per fixture: its extractor, questions with the sentence cited first, and text that must not be
#: in any answer's context (a tracked deletion, a hidden slide), or None.
FORMAT_CASES = {
    "minutes.docx": (
        "mammoth",
        [
            ("How much will dredging the north channel cost?", "- The north channel will be dredged before the summer season, at a cost of 180,000 pounds."),
            ("What is the fee a night at the fish dock?", "| Fish dock | 12 pounds | 18 m |"),
            # a tracked change, as accepted: the deleted "close the slipway in winter" is not in the text
            ("Will the slipway close in winter?", "The slipway stays open all year, the board decided after a vote of six to three."),
        ],
        "close the slipway",
    ),
    "notes.odt": (
        "odt",
        [
            ("Who chaired the meeting?", "Seven members attended; the chair was Ines Morrow."),
            ("What is the fee a night at the fish dock?", "Berth: Fish dock; Fee a night: 12 pounds; Longest boat: 18 m."),
            ("Will the slipway close in winter?", "The slipway stays open all year, the board decided after a vote of six to one."),
        ],
        "slipway will close",
    ),
    "budget.pptx": (
        "pptx",
        [
            ("How much will the pontoons cost?", "Item: Pontoons; Cost: 65,000 pounds."),
            ("When does the dredging work start?", "The dredging contract goes to tender in April, and work starts in September."),  # speaker notes
        ],
        "Closing the slipway",  # a hidden slide
    ),
    "book.epub": (
        "epub",
        [
            ("How long is the cliff path?", "Route: Cliff path; Length: 7 km; Time: 2 hours."),
            ("How tall is the lighthouse at Kelby Point?", "The lighthouse at Kelby Point was built in 1868 and is 31 metres tall."),
            ("Does the ferry run on public holidays?", "The ferry does not run on public holidays."),  # the notes, read last
        ],
        None,
    ),
    "myst.md": (
        "markdown-it",
        [
            ("How should I lift the gauge?", "Never lift the gauge by its cable; lift it by the frame."),  # a warning directive's
            ("Where should the gauge be stored in winter?", "Store the gauge in a dry shed above five degrees."),
            ("Which version added the low battery warning?", "New in version 3.2: Gauges warn by text message when their battery runs low."),
        ],
        "maxdepth",  # a directive's options are not text
    ),
    "levels.ipynb": (
        "notebook",
        [
            ("What was the highest water of 2025?", "The highest water of 2025 was 412 cm above chart datum, during the January storm."),
            ("How often does the gauge take a reading?", "The gauge samples every ten minutes, so a full year holds 52,560 readings."),
            ("Which readings are dropped?", "Readings taken while the gauge was being cleaned are dropped."),  # a MyST note in a cell
        ],
        "Figure size",  # a picture's placeholder text is not the notebook's
    ),
    "berths.csv": (
        "csv",
        [
            ("How much is a night at the south pontoon?", "Berth: South pontoon; Fee a night: 28 pounds; Longest boat: 12 m; Water depth: 2.1 m."),
            # one sentence, though "St." is an abbreviation
            ("How deep is the water at St. Olav's slip?", "Berth: St. Olav's slip; Fee a night: 15 pounds; Longest boat: 9 m; Water depth: 1.2 m."),
        ],
        None,
    ),
    "tides.xlsx": (
        "openpyxl",
        [
            ("How full is the north quay?", "Berth: North quay; Fee a night: 40; Occupancy: 87.5%; Depth (m): 4.5; Open: TRUE; Refitted: 2025-06-01."),
            ("When do divers inspect the pontoon chains?", "Divers inspect the pontoon chains in October."),
        ],
        "Draft figures",  # a hidden sheet
    ),
    "fees.ods": (
        "ods",
        [("What does a night at the south pontoon cost?", "Berth: South pontoon; Fee a night: £28.00; Occupancy: 50%; Refitted: 15 September 2024.")],
        "Draft figures",  # a hidden sheet
    ),
    "clippy.xls": (
        "xlrd",
        [("How much did Clippy weigh?", "name: Clippy; species: paperclip; death: 2007-01-01; weight: 0.9.")],  # the second sheet's row
        None,
    ),
    "handbook.rst": (
        "docutils",
        [
            ("Can tables be read from a URL?", "New in version 2.4: Tables can be read from a URL as well as from a file."),
            ("What happens to a table older than one year?", "A table older than one year is refused; download the new one from the port authority."),
            ("How do I read a tide table?", "Reads the tide table at path and returns a Table."),  # a definition list's
            # a table row with its column heads (as "| Norrby | 07:45 | 14:02 |" the header row came first, and was refused)
            ("When is high water at Norrby?", "Port: Norrby; High water: 07:45; Low water: 14:02."),
        ],
        None,
    ),
}


@pytest.mark.parametrize("fixture", list(FORMAT_CASES))
def test_each_document_format_is_answered_from_its_text_with_exact_offsets(tmp_path, fixture):
    extractor, cases, absent = FORMAT_CASES[fixture]
    text = _built(tmp_path, fixture, fixture)
    for question, sentence in cases:
        answer = _answered(tmp_path, question)
        first = answer["citations"][0]
        assert (first["doc_id"], first["text"]) == (fixture, sentence)
        assert text[first["start"] : first["end"]] == sentence
        assert absent is None or not any(absent in hit["context"] for hit in answer["citations"])
    version = next((tmp_path / "idx").glob("v-*"))
    source = json.loads((version / "manifest.json").read_text(encoding="utf-8"))["sources"][0]
    rules = {"markdown-it": "+r2", "docutils": "+r2", "notebook": "+r2+nb1", "csv": "py+r1", "openpyxl": "+r1", "ods": "+r1", "xlrd": "+r1"}.get(extractor, "+r1")  # each reader's RULES_VERSION
    assert source["extractor"] == extractor and source["extractor_version"].endswith(rules)


def test_a_damaged_book_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "locked.epub").write_bytes(b"PK\x03\x04" + bytes(200))
    result = run("build", "locked.epub", "--index", "idx", cwd=tmp_path)
    assert result.returncode == 1 and "locked.epub cannot be read: its zip is damaged; download or export the book again" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_manual_is_answered_from_its_text_not_its_contents_index_entries_or_headings(tmp_path):
    text = _built(tmp_path, "manual.pdf", "manual.pdf")
    for question, sentence, page in [
        # the index has "storm book . . . 4", the contents "2.2 Closing the gate in a storm . . . 4"
        ("Where is the storm book?", "The keeper logs the time of closing in the storm book.", 6),
        ("What happens to the gate after a storm?", "After a storm the gate stays closed until the harbour master allows it to open again.", 7),
        # the section heading "2.1 Opening the barrage gate" ranks first; the text under it is cited first
        ("How do I open the barrage gate?", "To open the barrage gate, the keeper turns the red key and holds the green button for ten seconds.", 5),
    ]:
        answer = _answered(tmp_path, question)
        first = answer["citations"][0]
        assert (first["text"], first["page"]) == (sentence, page)
        assert text[first["start"] : first["end"]] == sentence
        assert not any(". . ." in hit["context"] or "Chapter 2" in hit["context"] for hit in answer["citations"])
    # a follow-up fuses two rankings; the heading "2.2 Closing the gate in a storm" stays below text there
    # too, and an answer cites text only (a heading restates the question)
    result = run("ask", "and in a storm?", "--after", "How do I open the barrage gate?", "--index", "idx", "--json", cwd=tmp_path)
    answer = json.loads(result.stdout)
    assert result.returncode == 0 and answer["interpreted_as"] == "and in a storm? (open barrage gate)"
    cited = [hit["text"] for hit in answer["citations"]]
    assert "storm" in cited[0] and "2.2 Closing the gate in a storm" not in cited, cited
