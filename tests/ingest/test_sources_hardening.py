"""Document text is data: markup and terminal escape sequences in a source are indexed,
cited with exact offsets, and shown literally by the Python API and the CLI.
(The chat and the HTTP API are checked against a real server in test_server.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from citeqa import build_index

REPO = Path(__file__).resolve().parents[2]
HOSTILE = (
    "Mailbox findings\n\n"
    'The newsletter page contained <script>alert("pwned")</script> inside the harbour column.\n\n'
    "An image tag <img src=x onerror=alert(1)> was found in the ferry timetable.\n\n"
    "A footer link written as [click here](javascript:alert(document.cookie)) pointed nowhere.\n\n"
    "The terminal banner \x1b]0;owned\x07\x1b[2J\x1b[31mflashed red\x1b[0m in the ferry office.\n"
)


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory, embedder):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("hostile")
    source = root / "findings.txt"
    source.write_bytes(HOSTILE.encode("utf-8"))
    return build_index([source], root / "index", embedder=embedder)


@pytest.mark.parametrize(
    "question,fragment",
    [
        ("What did the newsletter page contain inside the harbour column?", '<script>alert("pwned")</script>'),
        ("What was found in the ferry timetable?", "<img src=x onerror=alert(1)>"),
        ("Where did the footer link point?", "[click here](javascript:alert(document.cookie))"),
        ("What flashed red in the ferry office?", "\x1b[2J\x1b[31mflashed red"),
    ],
)
def test_hostile_text_is_indexed_and_cited_verbatim(hostile_index, question, fragment):
    hits = hostile_index.retrieve(question, 3)
    assert any(fragment in hit.text for hit in hits), [hit.text for hit in hits]
    for hit in hits:
        assert hit.text == HOSTILE[hit.start : hit.end]


def _ask(index_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "citeqa", "ask", *args, "--index", str(index_dir), "-k", "5"],
        env=env, capture_output=True, timeout=180,
    )


def test_cli_prints_document_text_literally_without_terminal_escapes(hostile_index):
    index_dir = hostile_index.path.parent
    done = _ask(index_dir, "What flashed red in the ferry office, and what did the newsletter page contain?")
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode("utf-8")
    assert "\x1b" not in out and "\x07" not in out  # nothing for the terminal to run
    assert "\\x1b[2J\\x1b[31mflashed red" in out  # ...but the reader sees what is there
    done = _ask(index_dir, "What flashed red in the ferry office?", "--json")
    assert done.returncode == 0
    assert b"\x1b" not in done.stdout
    data = json.loads(done.stdout)
    assert any("\x1b[31mflashed red" in c["text"] for c in data["citations"])
    for citation in data["citations"]:
        assert citation["text"] == HOSTILE[citation["start"] : citation["end"]]
