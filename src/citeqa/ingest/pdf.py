"""Text extraction from PDFs (pypdf): per-page text cleaned for sentence splitting.

Each page's text layer is read with pypdf, then: typographic ligatures are spelled
out ("ﬁ" → "fi"); the lines that are not the document's text
(:mod:`.furniture`: running headers and footers, page numbers, a printing browser's
date/title/URL, side bars repeated on every page, table-of-contents and index entries,
an index's letter headings) are dropped; a line set larger than the body text is a heading, a paragraph of
its own; words hyphenated across a line break are rejoined ("exer-" + "cise" →
"exercise", while "Azerbaijani-" + "Turkish" keeps its hyphen); and the lines of a
paragraph are joined with spaces, one paragraph per line, a blank line between
paragraphs (a paragraph ends where the vertical gap to the next line is wider than
the page's line spacing, at a short line, or before a bulleted line). ``Extracted.pages`` records where each
page starts in that text.

Limits: no OCR (a scanned PDF is refused); reading order is pypdf's content-stream
order, which is right for ordinary and browser-printed multi-column pages but can
interleave complex layouts (side bars, tables, floating captions); tables come out as
lines of cells; a line-end hyphen between two lower-case parts is removed unless the
document writes that word with a hyphen elsewhere ("well-" + "known" once → "wellknown");
paragraphs separated only by indentation (no extra space) and ending in a full line are
merged; a PDF that pypdf can partly repair
(damaged cross-references) yields whatever text it could recover.
"""

from __future__ import annotations

import collections
import functools
import io
import itertools
import logging
import math
import re
import statistics
from dataclasses import dataclass
from importlib.metadata import version

from ..errors import InvalidArgumentError, SourceError
from ..text import BULLETS
from .extracted import DEFAULT_MAX_BYTES, Extracted
from .furniture import contents_lines, running_lines

EXTRACTOR = "pypdf"
#: Bump when the clean-up below changes: the extracted text of the same PDF changes.
#: 5: a line opening with a bullet ("• INTEGER;") starts a paragraph, even after a full line (:func:`_separator`).
RULES_VERSION = 5
#: PDFs with more pages than this are refused (a bound on time and memory: R's reference manual,
#: 2,415 pages, is read in 39 s and 0.3 GB).
DEFAULT_MAX_PAGES = 10_000
#: Fewer letters than this in the whole document means there is no text layer.
MIN_LETTERS = 20

_LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}
_LIGATURE = re.compile("[\ufb00-\ufb06]")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
# a word broken at a line end: "exer-", or a soft hyphen (chromium writes "environ ‐")
_HYPHEN_END = re.compile(r"([^\W\d_]+)(-|\u2010|\u2011| ?\u00ad| \u2010)$")
_DASH_END = re.compile(r"\S[-\u2010\u2011\u2013\u2014]$")
_WORD_START = re.compile(r"^([^\W\d_]+)")
#: A line opening with a bullet glyph: a list's item, a paragraph of its own.
_BULLET_START = re.compile(rf"^[{BULLETS}]\s")
#: A line shorter than this fraction of the page's typical line ends its paragraph.
_SHORT_LINE = 0.8
#: A gap to the next line wider than this many line spacings starts a new paragraph.
_PARAGRAPH_GAP = 1.4
#: A line set this many times larger than the body text (or more) is a heading: a paragraph of its own.
_HEADING_SIZE = 1.15
# a bold font's name (after a subset's "ABCDEF+"): "Helvetica-Bold", "Arial,Bold", "Calibri-Bold",
# "NimbusRomNo9L-Medi", "Roboto-Medium", "SemiBold", "Demi", "Black", "Heavy"; TeX's bold
# Computer Modern and EC fonts ("CMBX10", "CMB10", "SFBX1200")
_BOLD_FONT = re.compile(r"(?i)bold|black|heavy|demi|medi(?:um)?\b|-medi|^(?:cmbx|cmb\d|sfbx|sfb\d)")
# a heading's last character: not a sentence's or clause's end
_HEADING_END = re.compile(r"[^.,;]$")


@dataclass(frozen=True)
class _Line:
    """One line of a page: its cleaned text, its baseline height, its font size (the size
    most of its characters are set in; None if unknown) and whether all of it is set in bold."""

    text: str
    y: float | None = None
    size: float | None = None
    bold: bool = False


@functools.cache
def extractor_version() -> str:
    """pypdf's version plus this module's rules version (the installed package's metadata is
    read once per process: opening an index checks every source's version, see :mod:`.html`)."""
    return f"{version('pypdf')}+r{RULES_VERSION}"


def _clean_line(line: str) -> str:
    """A line with ligatures spelled out, controls removed and spaces collapsed."""
    line = _LIGATURE.sub(lambda m: _LIGATURES[m.group()], line)
    return _SPACES.sub(" ", _CONTROL.sub("", line)).strip()


def _page_lines(raw: str) -> list[_Line]:
    """Non-empty, cleaned lines of one page's raw text (no positions)."""
    lines = (_clean_line(x) for x in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return [_Line(line) for line in lines if line]


@functools.lru_cache(maxsize=512)
def _is_bold(font_name: str) -> bool:
    """Whether a font's name says bold: "NimbusRomNo9L-Medi", "Arial-BoldMT", TeX's "CMBX10"."""
    return bool(_BOLD_FONT.search(font_name.rpartition("+")[2]))


def _read_page(page: object) -> list[_Line]:
    """A page's lines with their baselines, sizes and weights, from pypdf's text and its visitor callback."""
    fragments: list[tuple[str, float, float, bool]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        # the size as drawn: the font size scaled by the text and current matrices
        drawn = size * math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        name = font.get("/BaseFont") if isinstance(font, dict) else None
        fragments.append((text, tm[4] * cm[1] + tm[5] * cm[3] + cm[5], round(drawn, 1), _is_bold(str(name or ""))))

    raw = page.extract_text(visitor_text=visit) or ""  # type: ignore[attr-defined]
    if "".join(text for text, _, _, _ in fragments) != raw:
        return _page_lines(raw)  # positions do not line up with the text: go without
    lines: list[_Line] = []
    current: list[str] = []
    y: float | None = None
    sizes: collections.Counter[float] = collections.Counter()
    weights = [0, 0]  # characters set in bold, in all

    def flush() -> None:
        line = _clean_line("".join(current).replace("\r", ""))
        if line:
            lines.append(_Line(line, y, sizes.most_common(1)[0][0] if sizes else None, weights[0] == weights[1]))

    for text, at, drawn, bold in fragments:
        for k, piece in enumerate(text.split("\n")):
            if k:
                flush()
                current, y = [], None
                sizes.clear()
                weights[:] = [0, 0]
            current.append(piece)
            if piece.strip():
                sizes[drawn] += len(piece.strip())
                weights[0] += len(piece.strip()) if bold else 0
                weights[1] += len(piece.strip())
            if y is None and piece.strip():
                y = at
    flush()
    return lines


def _drop_running_lines(pages: list[list[_Line]]) -> list[list[_Line]]:
    """The pages without their running heads and feet and side bars (:func:`.furniture.running_lines`)."""
    dropped = running_lines([[line.text for line in lines] for lines in pages])
    return [[line for i, line in enumerate(lines) if i not in drop] for lines, drop in zip(pages, dropped, strict=True)]


def _typical_length(lines: list[_Line]) -> float:
    """Length of a full line: the 80th percentile of line lengths."""
    lengths = sorted(len(line.text) for line in lines)
    return float(lengths[min(len(lengths) - 1, int(0.8 * len(lengths)))]) if lengths else 0.0


def _line_spacing(lines: list[_Line]) -> float | None:
    """The page's usual distance between consecutive baselines (None if unknown)."""
    gaps = [
        a.y - b.y
        for a, b in itertools.pairwise(lines)
        if a.y is not None and b.y is not None and a.y - b.y > 0
    ]
    return statistics.median(gaps) if len(gaps) >= 3 else None


def _separator(
    left: str, right: str, full: float, hyphenated: set[str], gap: float | None = None
) -> tuple[int, str]:
    """How to join line ``left`` to the next line ``right``.

    ``gap`` is the vertical distance between the two lines in line spacings, None
    when unknown (another column or page, or no positions).

    Returns ``(cut, sep)``: drop ``cut`` characters from the end of ``left``, then add
    ``sep`` ("" to rejoin a word, " " within a paragraph, "\\n\\n" between paragraphs).
    """
    hyphen = _HYPHEN_END.search(left)
    start = _WORD_START.match(right)
    if hyphen and start:
        head, mark, tail = hyphen.group(1), hyphen.group(2), start.group(1)
        if "\u00ad" in mark or mark.startswith(" "):
            return len(mark), ""  # a soft hyphen is only ever a hyphenation point
        if head[-1].islower() and tail[0].islower():
            if f"{head}-{tail}".lower() in hyphenated:
                return 0, ""  # "co-" + "operative": the text writes it with a hyphen elsewhere
            return len(mark), ""  # "exer-" + "cise"
        return 0, ""  # "Azerbaijani-" + "Turkish": a real hyphen
    if _DASH_END.search(left) and right[:1].isalnum():
        return 0, ""  # "2010-" + "2020", "word—" + "word": a dash inside a line
    if _BULLET_START.match(right):
        return 0, "\n\n"  # a list's item, even after a full line ("... can manage:" / "• INTEGER;")
    if right[:1].islower():
        return 0, " "  # the sentence goes on
    if gap is not None and gap > _PARAGRAPH_GAP:
        return 0, "\n\n"  # extra space between the lines: a new paragraph
    if len(left) < _SHORT_LINE * full:
        return 0, "\n\n"  # a short line ends its paragraph (or is a heading)
    return 0, " "  # a full line wraps, even before a new sentence


def _assemble(pages: list[list[_Line]]) -> tuple[str, tuple[int, ...]]:
    """Join the pages' lines into one text; return it and each page's start offset.

    Contents and index entries and lines of one letter (:func:`.furniture.contents_lines`) are left
    out, each ending the paragraph before it; they still count in the page's line length and
    spacing. A heading is a paragraph of its own, never joined to the lines around it: a line
    set in a font :data:`_HEADING_SIZE` times the body's or larger (the size most of the
    document's characters are set in), or a short line all in bold (when the body is not) that
    starts with a capital or a digit and does not end like a sentence or clause (".", ",",
    ";": the end of a paragraph set in bold is text): R's reference manual's "Description"
    before "lapply returns a list ...", which a line in lower case would have continued.
    """
    everything = [line for lines in pages for line in lines]
    joined_text = " ".join(line.text for line in everything)
    hyphenated = {m.group().lower() for m in re.finditer(r"[^\W\d_]+-[^\W\d_]+", joined_text)}
    fallback = _typical_length(everything)
    weights: collections.Counter[float] = collections.Counter()
    for line in everything:
        if line.size is not None:
            weights[line.size] += len(line.text)
    body = weights.most_common(1)[0][0] if weights else None

    bold_body = 2 * sum(len(line.text) for line in everything if line.bold) > len(joined_text)

    def heading(line: _Line, full: float) -> bool:
        if body is not None and line.size is not None and line.size >= _HEADING_SIZE * body:
            return True
        return (
            line.bold and not bold_body and len(line.text) < _SHORT_LINE * full
            and (line.text[0].isupper() or line.text[0].isdigit()) and bool(_HEADING_END.search(line.text))
        )
    parts: list[str] = []
    length = 0
    starts: list[int] = []
    previous: _Line | None = None
    previous_head = False
    left_out = False
    for lines in pages:
        full = _typical_length(lines) if len(lines) >= 8 else fallback
        spacing = _line_spacing(lines)
        page_start: int | None = None
        entries = contents_lines([line.text for line in lines])
        for i, line in enumerate(lines):
            if i in entries:
                left_out = True
                continue
            # a bold heading wrapped onto a second line goes on in lower case ("Person-" / "months")
            head = heading(line, full) or (previous_head and line.bold and line.text[:1].islower())
            if previous is not None and (left_out or previous_head != head):
                parts.append("\n\n")
                length += 2
            elif previous is not None:
                gap = None
                if page_start is not None and spacing and previous.y is not None and line.y is not None:
                    drop = previous.y - line.y
                    gap = drop / spacing if drop > 0 else None  # None: next column
                cut, sep = _separator(previous.text, line.text, full, hyphenated, gap)
                if cut:
                    parts[-1] = parts[-1][:-cut]
                    length -= cut
                parts.append(sep)
                length += len(sep)
            if page_start is None:
                page_start = length
            parts.append(line.text)
            length += len(line.text)
            previous, previous_head, left_out = line, head, False
        starts.append(length if page_start is None else page_start)
    return "".join(parts), tuple(starts)


def _count_images(page: object) -> int:
    """How many images a page draws (0 if its resources cannot be read)."""
    try:
        return len(list(page.images.keys()))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - only a hint for the error message
        return 0


def extract_pdf(
    data: bytes,
    name: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Extracted:
    """Extract a PDF's text layer, page by page, cleaned for sentence splitting.

    Raises:
        SourceError: too large, truncated, damaged, password-protected, too many pages,
            or without a text layer (a scanned PDF).
        InvalidArgumentError: a limit is not positive.
    """
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    if max_bytes <= 0:
        raise InvalidArgumentError(f"max_bytes must be > 0, got {max_bytes}")
    if max_pages <= 0:
        raise InvalidArgumentError(f"max_pages must be > 0, got {max_pages}")
    if len(data) > max_bytes:
        raise SourceError(
            f"{name} is {len(data):,} bytes, over the PDF limit of {max_bytes:,} bytes; "
            "split it or raise the limit"
        )
    if b"%PDF-" not in data[:1024]:
        raise SourceError(f"{name} is not a PDF (no %PDF- header); check the file")
    if b"%%EOF" not in data[-2048:]:
        raise SourceError(
            f"{name} is truncated or damaged (no %%EOF end marker); "
            "download or copy the PDF again"
        )
    # pypdf logs recoverable defects as warnings; they are not the user's business here
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise FileNotDecryptedError("a password is needed")
            except (FileNotDecryptedError, PyPdfError, NotImplementedError):
                raise SourceError(
                    f"{name} is password-protected; save an unprotected copy and build again"
                ) from None
        count = len(reader.pages)
        if count > max_pages:
            raise SourceError(
                f"{name} has {count:,} pages, over the limit of {max_pages:,}; split it"
            )
        raw_pages = []
        for number, page in enumerate(reader.pages, start=1):
            try:
                raw_pages.append(_read_page(page))
            except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise SourceError(
                    f"{name}: page {number} cannot be read ({type(exc).__name__}: {exc}); "
                    "the PDF is damaged — export or download it again"
                ) from None
        title = None
        try:
            metadata = reader.metadata
            if metadata is not None and metadata.title:
                title = " ".join(str(metadata.title).split()) or None
        except (PyPdfError, ValueError, KeyError, TypeError):
            title = None
    except SourceError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise SourceError(
            f"{name} cannot be read as a PDF ({type(exc).__name__}: {exc}); "
            "it may be truncated or damaged — download or export it again"
        ) from None
    finally:
        pypdf_log.setLevel(level)
    if count == 0:
        raise SourceError(f"{name} has no pages; export the PDF again")
    pages = _drop_running_lines(raw_pages)
    text, starts = _assemble(pages)
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        # only now (it is slow): pages that draw images but hold no text were scanned
        pypdf_log.setLevel(logging.ERROR)
        try:
            images = sum(_count_images(page) for page in reader.pages)
        finally:
            pypdf_log.setLevel(level)
        if images:
            raise SourceError(
                f"{name} has no text layer (a scanned PDF?); run OCR first "
                "(e.g. `ocrmypdf in.pdf out.pdf`) and build from the OCR'd copy"
            )
        raise SourceError(
            f"{name} has no text to index: its pages are empty, or the PDF is damaged "
            "(truncated or cut?); download or export it again"
        )
    return Extracted(
        text=text,
        pages=starts,
        extractor=EXTRACTOR,
        extractor_version=extractor_version(),
        title=title,
    )


__all__ = ["DEFAULT_MAX_PAGES", "EXTRACTOR", "RULES_VERSION", "extract_pdf", "extractor_version"]
