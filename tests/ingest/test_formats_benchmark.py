"""benchmarks/formats.py on the committed fixtures: each read, and damaged copies of the zipped ones refused or read, never a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_fixtures_are_read_and_their_damaged_copies_never_crash() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "formats.py"), str(REPO / "tests" / "data" / "formats"), "--fuzz", "80", "--seed", "3"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for suffix, files in ((".docx", 1), (".odt", 1), (".pptx", 1), (".epub", 1), (".md", 2), (".rst", 1), (".ipynb", 1), (".csv", 1), (".xlsx", 1), (".ods", 1), (".xls", 1)):  # .md: guide.md, myst.md
        assert any(line.startswith(f"== {suffix}: {files} files, {{'read': {files}}}") for line in lines), (suffix, lines)
    fuzz = next(line for line in lines if line.startswith("== fuzz: 80 damaged copies of 6 files"))
    assert "crashed" not in fuzz and "CRASH" not in result.stdout
