"""The citeqa command through real subprocesses in temporary folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def run(*args: str, cwd: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "citeqa", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def built_dir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("cli")
    docs = work / "docs"
    docs.mkdir()
    (docs / "harbor.txt").write_text(
        "Harbor news\nThe new harbor opened on March 3, 2024 in Tromsø. It can berth twelve ships.\n",
        encoding="utf-8",
    )
    result = run("build", "docs", "--index", "idx", "--quiet", cwd=work)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Indexed 3 sentences from 1 document into idx")
    return work


def test_ask_json_prints_the_answer_contract(built_dir):
    result = run("ask", "How many ships can the harbor take?", "--index", "idx", "--json", cwd=built_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"text", "abstained", "citations"}
    assert data["abstained"] is False
    first = data["citations"][0]
    assert set(first) >= {"text", "score", "doc_id", "sentence_id", "start", "end", "context"}
    assert first["text"] == "It can berth twelve ships."
    source = (built_dir / "docs" / "harbor.txt").read_text(encoding="utf-8")
    assert source[first["start"] : first["end"]] == first["text"]


def test_ask_prints_answer_then_sources(built_dir):
    result = run("ask", "When did the harbor open?", "--index", "idx", "-k", "1", cwd=built_dir)
    assert result.returncode == 0, result.stderr
    assert "The new harbor opened on March 3, 2024 in Tromsø. [1]" in result.stdout
    assert "[1] harbor.txt characters" in result.stdout
    assert "[2]" not in result.stdout


def test_blank_question_is_an_error_without_traceback(built_dir):
    result = run("ask", "   ", "--index", "idx", cwd=built_dir)
    assert result.returncode == 1
    assert result.stderr.strip() == "citeqa: error: question is blank; type a question about the documents"
    assert "Traceback" not in result.stderr


def test_missing_index_is_an_error_naming_the_path(built_dir):
    result = run("ask", "anything?", "--index", "nope", cwd=built_dir)
    assert result.returncode == 1
    assert result.stderr.strip() == "citeqa: error: no index at nope; build one with: citeqa build SOURCES --index nope"


def test_stale_index_is_rejected_until_rebuilt(tmp_path):
    (tmp_path / "a.txt").write_text("Apples are red. Pears are green.\n", encoding="utf-8")
    assert run("build", "a.txt", "--index", "idx", "--quiet", cwd=tmp_path).returncode == 0
    (tmp_path / "a.txt").write_text("Apples are blue now.\n", encoding="utf-8")
    stale = run("ask", "What color are apples?", "--index", "idx", cwd=tmp_path)
    assert stale.returncode == 1
    assert "is stale: source" in stale.stderr and "citeqa build" in stale.stderr
    assert len(stale.stderr.strip().splitlines()) == 1
    assert run("build", "a.txt", "--index", "idx", "--quiet", cwd=tmp_path).returncode == 0
    fresh = run("ask", "What color are apples?", "--index", "idx", "--json", cwd=tmp_path)
    assert json.loads(fresh.stdout)["citations"][0]["text"] == "Apples are blue now."


def test_build_of_missing_source_fails_and_keeps_the_old_index(built_dir):
    before = (built_dir / "idx" / "CURRENT").read_text()
    result = run("build", "missing.txt", "--index", "idx", cwd=built_dir)
    assert result.returncode == 1
    assert result.stderr.strip() == "citeqa: error: missing.txt: no such file or folder"
    assert (built_dir / "idx" / "CURRENT").read_text() == before


def test_bad_k_and_unknown_command_exit_nonzero(built_dir):
    bad_k = run("ask", "When?", "--index", "idx", "-k", "0", cwd=built_dir)
    assert bad_k.returncode == 1 and "k must be between 1 and 100, got 0" in bad_k.stderr
    unknown = run("frobnicate", cwd=built_dir)
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
