"""`citeqa ask` shows the answer's confidence; `citeqa eval` tables the report halves and degrades without shared data."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "citeqa", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def harbor(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("cli-confidence")
    (work / "docs").mkdir()
    (work / "docs" / "harbor.txt").write_text(
        "Harbor news\nThe new harbor opened on March 3, 2024 in Tromsø. It can berth twelve ships.\n", encoding="utf-8"
    )
    assert run("build", "docs", "--index", "idx", "--quiet", cwd=work).returncode == 0
    return work


def test_ask_shows_confidence_in_words_and_in_json(harbor):
    text = run("ask", "When did the harbor open?", "--index", "idx", cwd=harbor)
    assert text.returncode == 0, text.stderr
    shown = re.search(r"confidence: (high|medium|low) \((\d\.\d\d)\) that \[1\] answers the question", text.stdout)
    assert shown, text.stdout
    data = json.loads(run("ask", "When did the harbor open?", "--index", "idx", "--json", cwd=harbor).stdout)
    assert 0.0 <= data["confidence"] <= 1.0
    assert f"{data['confidence']:.2f}" == shown.group(2)


def test_eval_without_shared_data_tables_the_gold_file_and_says_what_is_missing(tmp_path):
    result = run(
        "eval", "--no-squad", "--news", str(tmp_path / "no-news"), "--cache", str(tmp_path / "cache"), "--no-ablation", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "news not found at" in result.stderr and "nothing is fitted" in result.stderr
    assert "== gold: report half (" in result.stdout
    assert re.search(r"^(?:fit choice|shipped)\s+100\.0%", result.stdout, re.MULTILINE)  # off-topic: all abstained (the shipped model at its fit-half threshold)
