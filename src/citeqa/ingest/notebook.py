"""Text of Jupyter notebooks (.ipynb, nbformat 3 and 4): the cells in order, as the notebook shows them.

A Markdown cell is read as a Markdown file is (:mod:`citeqa.ingest.markdown`; MyST when the
notebook's Markdown uses its roles or directives, as Jupyter Book's do), each block a paragraph of
one line; a code cell's source and its text outputs (what it printed, and a result's
"text/plain" form, terminal colour codes left out) as code: lines joined by spaces, a blank line
ending a paragraph. Error tracebacks, pictures (with the placeholder text beside them), HTML and
widget outputs, raw cells and metadata are left out; a first Markdown cell opening with a heading gives the title. The file is data:
nothing in it is run, rendered or fetched.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ..errors import SourceError
from . import markdown
from .extracted import Extracted
from .paragraphs import clean_lines, code_paragraphs, paragraph_document

EXTRACTOR = "notebook"
#: Bump when the rules below change: the extracted text of the same file changes.
RULES_VERSION = 1
#: Terminal colour and cursor codes in printed output ("\x1b[31m").
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
#: Output kinds whose text a reader sees: printed streams and results (nbformat 4 and 3's names).
_TEXT_OUTPUTS = ("stream", "execute_result", "display_data", "pyout")


@functools.cache
def extractor_version() -> str:
    """The Markdown reader's version plus this module's rules version."""
    return f"{markdown.extractor_version()}+nb{RULES_VERSION}"


def _text(value: Any) -> str:
    """A notebook string: one string, or a list of lines (how nbformat stores multi-line text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    return ""


def _cells(notebook: Any, name: str) -> list[dict[str, Any]]:
    """The notebook's cells in order (nbformat 4's ``cells``, or 3's worksheets')."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if cells is None and isinstance(notebook, dict) and isinstance(notebook.get("worksheets"), list):
        cells = [cell for sheet in notebook["worksheets"] if isinstance(sheet, dict) for cell in sheet.get("cells") or []]
    if not isinstance(cells, list) or "nbformat" not in notebook:
        raise SourceError(f"{name} is not a Jupyter notebook: its JSON has no cells or nbformat; save it again from Jupyter")
    return [cell for cell in cells if isinstance(cell, dict)]


def _outputs(cell: dict[str, Any]) -> list[str]:
    """The paragraphs of a code cell's text outputs (printed, or a result's plain text)."""
    out: list[str] = []
    for output in cell.get("outputs") or ():
        if not isinstance(output, dict) or output.get("output_type") not in _TEXT_OUTPUTS:
            continue  # an error's traceback, or something unknown
        if output["output_type"] == "stream":
            text = _text(output.get("text"))
        else:  # nbformat 4 keeps a result's forms under "data", 3 beside its other fields
            forms = output.get("data") if isinstance(output.get("data"), dict) else output
            if any(str(form).startswith("image/") or form in ("png", "jpeg", "svg") for form in forms):
                continue  # a picture: its plain form is a placeholder ("<Figure size 640x480 with 1 Axes>")
            text = _text(forms.get("text/plain", forms.get("text")))
        out.extend(code_paragraphs(_ANSI.sub("", text)))
    return out


def extract_notebook(text: str, name: str) -> Extracted:
    """The text of a notebook: its cells' blocks one per line, blank-line separated.

    Raises:
        SourceError: not JSON, not a notebook, or no text in any cell.
    """
    if text.lstrip().startswith("<"):
        raise SourceError(f"{name} is a web page, not a notebook's JSON (saved from a site's page?); download the raw .ipynb file")
    try:
        notebook = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise SourceError(f"{name} is not a Jupyter notebook: not valid JSON{where}; save it again from Jupyter") from None
    cells = _cells(notebook, name)
    sources = [(cell.get("cell_type"), _text(cell.get("source", cell.get("input")))) for cell in cells]
    myst = markdown.is_myst("\n\n".join(source for kind, source in sources if kind == "markdown"))
    blocks: list[str] = []
    titled = False
    for (kind, source), cell in zip(sources, cells):
        if kind == "markdown" or kind == "heading":  # nbformat 3 kept headings in cells of their own
            read, headed = markdown.markdown_blocks(source if kind == "markdown" else "# " + source, myst)
            titled = titled or (headed and not blocks and bool(read))
            blocks.extend(read)
        elif kind == "code":
            blocks.extend(code_paragraphs(source))
            blocks.extend(_outputs(cell))
    lines = clean_lines("\n".join(blocks))
    if not lines:
        raise SourceError(f"{name}: this notebook has no text in its cells; add some or leave the file out")
    return paragraph_document(lines, lines[0] if titled else None, EXTRACTOR, extractor_version())


__all__ = ["EXTRACTOR", "RULES_VERSION", "extract_notebook", "extractor_version"]
