"""The citeqa command through real subprocesses in temporary folders."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from serving import free_port


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


def test_ask_prints_a_list_the_answer_introduces_one_item_a_line_and_k_caps_it(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tools.md").write_text(
        "# Norrby harbour office\n\nThe harbour office lends these tools to visiting boats:\n\n"
        "- a hose for fresh water\n- a trolley for luggage\n- a ladder for the north quay\n- a set of fenders\n\n"
        "The office opens at nine every morning and closes at six.\n",
        encoding="utf-8",
    )
    assert run("build", "docs", "--index", "idx", "--quiet", cwd=tmp_path).returncode == 0
    result = run("ask", "What tools does the harbour office lend?", "--index", "idx", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "The harbour office lends these tools to visiting boats: [1]\n- a hose for fresh water [2]\n- a trolley for luggage [3]\n"
        "- a ladder for the north quay [4]\n- a set of fenders [5]\n"
    )
    capped = run("ask", "What tools does the harbour office lend?", "--index", "idx", "-k", "2", "--json", cwd=tmp_path)
    assert [c["text"] for c in json.loads(capped.stdout)["citations"]] == [
        "The harbour office lends these tools to visiting boats:", "- a hose for fresh water"
    ]


def test_ask_doc_answers_only_from_the_documents_named_and_refuses_a_name_not_indexed(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbor.txt").write_text("Harbor news\n\nThe new harbor can berth twelve ships.\n", encoding="utf-8")
    (docs / "marina.txt").write_text("Marina news\n\nThe marina can berth forty boats.\n", encoding="utf-8")
    assert run("build", "docs", "--index", "idx", "--quiet", cwd=tmp_path).returncode == 0
    asked = ("ask", "How many boats can it berth?", "--index", "idx", "--json")
    assert json.loads(run(*asked, cwd=tmp_path).stdout)["citations"][0]["doc_id"] == "marina.txt"
    held = run(*asked, "--doc", "harbor.txt", cwd=tmp_path)
    assert held.returncode in (0, 3), held.stderr
    assert {c["doc_id"] for c in json.loads(held.stdout)["citations"]} == {"harbor.txt"}
    both = run(*asked, "--doc", "harbor.txt", "--doc", "marina.txt", cwd=tmp_path)
    assert json.loads(both.stdout)["citations"][0]["doc_id"] == "marina.txt"
    shown = run("ask", "How many ships can it berth?", "--index", "idx", "--doc", "harbor.txt", cwd=tmp_path)
    assert shown.stdout.startswith("Interpreted as: How many ships can it berth? (only in harbor.txt)\n")
    wrong = run(*asked, "--doc", "harbour.txt", cwd=tmp_path)
    assert wrong.returncode == 1 and not wrong.stdout
    assert "no document named 'harbour.txt' in this index; its documents are 'harbor.txt', 'marina.txt'" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_a_follow_up_is_read_against_the_earlier_questions_given_with_after(built_dir):
    result = run("ask", "How many ships can it berth?", "--after", "When did the new harbor open?", "--index", "idx", "--json", cwd=built_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["interpreted_as"].startswith("How many ships can it berth? (") and "harbor" in data["interpreted_as"]
    assert data["citations"][0]["text"] == "It can berth twelve ships."
    plain = run("ask", "How many ships can it berth?", "--after", "When did the new harbor open?", "--index", "idx", cwd=built_dir)
    assert plain.stdout.startswith(f"Interpreted as: {data['interpreted_as']}\n")
    # a question that stands alone is not reinterpreted, and says nothing about it
    alone = run("ask", "When did the harbor open?", "--after", "How many ships can it berth?", "--index", "idx", cwd=built_dir)
    assert alone.returncode == 0 and "Interpreted as" not in alone.stdout


def test_asking_what_the_document_is_about_prints_its_opening_with_no_confidence(built_dir):
    result = run("ask", "Summarize the document", "--index", "idx", "--json", cwd=built_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["abstained"] is False and data["confidence"] is None
    assert data["interpreted_as"] == "an overview: the first 3 sentences of harbor.txt"
    assert [c["text"] for c in data["citations"]] == ["Harbor news", "The new harbor opened on March 3, 2024 in Tromsø.", "It can berth twelve ships."]
    plain = run("ask", "What is this document about?", "--index", "idx", "-k", "1", cwd=built_dir)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("Interpreted as: an overview: the first sentence of harbor.txt\n")
    assert "Harbor news [1]" in plain.stdout and "confidence" not in plain.stdout


def test_an_abstention_offers_the_question_spelled_as_the_documents_spell_its_words(built_dir):
    result = run("ask", "Who built the harbr?", "--index", "idx", cwd=built_dir)
    assert result.returncode == 3, result.stderr
    assert result.stdout.splitlines()[0] == "The documents don't seem to answer this question. Did you mean: Who built the harbor?"
    data = json.loads(run("ask", "Who built the harbr?", "--index", "idx", "--json", cwd=built_dir).stdout)
    assert data["abstained"] is True and "Did you mean: Who built the harbor?" in data["text"]
    # asked as offered after the misspelt question, it stands alone: "harbr" is not carried
    # (one content word: it would otherwise be read as a follow-up, "Is there a harbor? (harbr)")
    offered = run("ask", "Is there a harbr?", "--index", "idx", cwd=built_dir)
    assert offered.stdout.splitlines()[0].endswith("Did you mean: Is there a harbor?"), offered.stdout
    again = run("ask", "Is there a harbor?", "--after", "Is there a harbr?", "--index", "idx", "--json", cwd=built_dir)
    assert json.loads(again.stdout)["interpreted_as"] == "Is there a harbor?", again.stdout


def test_a_blank_earlier_question_is_an_error_naming_which(built_dir):
    result = run("ask", "How many ships?", "--after", "When did the harbor open?", "--after", "  ", "--index", "idx", cwd=built_dir)
    assert result.returncode == 1
    assert "--after question 2: question is blank" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_blank_question_is_an_error_without_traceback(built_dir):
    result = run("ask", "   ", "--index", "idx", cwd=built_dir)
    assert result.returncode == 1
    assert result.stderr.strip() == "citeqa: error: question is blank; type a question about the documents"
    assert "Traceback" not in result.stderr


def test_missing_index_is_an_error_naming_the_path(built_dir):
    result = run("ask", "anything?", "--index", "nope", cwd=built_dir)
    assert result.returncode == 1
    assert result.stderr.strip() == "citeqa: error: no index at nope; build one with: citeqa build SOURCES --index nope"


def test_an_index_given_as_a_file_is_refused_in_words_and_the_file_is_kept(tmp_path):
    (tmp_path / "a.txt").write_text("Apples are red.\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("my notes\n", encoding="utf-8")
    into_file = run("build", "a.txt", "--index", "notes.txt", "--quiet", cwd=tmp_path)
    assert into_file.returncode == 1
    assert into_file.stderr.strip() == (
        "citeqa: error: index folder notes.txt is a file; give the index a folder of its own (it is made if missing)"
    )
    under_file = run("build", "a.txt", "--index", str(Path("notes.txt", "idx")), "--quiet", cwd=tmp_path)
    assert under_file.returncode == 1
    assert "is inside notes.txt, which is a file" in under_file.stderr and "Traceback" not in under_file.stderr
    asked = run("ask", "What colour are apples?", "--index", "notes.txt", cwd=tmp_path)
    assert asked.returncode == 1
    assert asked.stderr.strip() == (
        "citeqa: error: notes.txt is a file, not an index folder; give the index's folder, or build one with: "
        "citeqa build SOURCES --index FOLDER"
    )
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "my notes\n"


def test_serve_on_a_port_in_use_is_refused_in_words(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("serve", "--port", str(port), "--read-only", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"citeqa: error: port {port} on 127.0.0.1 is in use; stop what serves there or choose another port with --port"
    )
    assert "Traceback" not in result.stderr


def test_serve_with_a_file_for_its_workspace_is_refused_in_words(tmp_path):
    (tmp_path / "ws").write_text("not a folder\n", encoding="utf-8")
    result = run("serve", "--workspace", "ws", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "citeqa: error: workspace ws is a file; give the uploaded documents a folder of their own (it is made if missing)"
    )
    assert (tmp_path / "ws").read_text(encoding="utf-8") == "not a folder\n"


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


@pytest.mark.parametrize(("argv", "command"), [(["build", "notes.txt", "-o", "idx"], "build"), (["ask", "When?", "--bogus"], "ask")])
def test_an_unknown_option_is_reported_with_its_commands_usage(tmp_path, argv, command):
    # the top-level usage named no option: "-o idx" did not say that build takes --index DIR
    result = run(*argv, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"usage: citeqa {command} ") and "--index DIR" in result.stderr
    assert result.stderr.strip().endswith(f"citeqa {command}: error: unrecognized arguments: {' '.join(argv[-2:] if command == 'build' else argv[-1:])}")
    assert not (tmp_path / "idx").exists()


# --------------------------------------------------------------------------- habits (issue 17)


def test_version_prints_name_and_version(tmp_path):
    from citeqa import __version__

    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"citeqa {__version__}"


def test_help_documents_the_exit_codes(tmp_path):
    for args in (("--help",), ("ask", "--help")):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 0
        assert "exit codes:" in result.stdout and "3    ask: abstained" in result.stdout


def _run_stdin(stdin: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-m", "citeqa", *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def test_ask_dash_reads_the_question_from_stdin(built_dir):
    result = _run_stdin("How many ships can the harbor take?\n", "ask", "-", "--index", "idx", "--json", cwd=built_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["citations"][0]["text"] == "It can berth twelve ships."
    blank = _run_stdin("  \n", "ask", "-", "--index", "idx", cwd=built_dir)
    assert blank.returncode == 1 and "question is blank" in blank.stderr


ABSTAIN_QUESTION = "Who won the football world cup final in 1998?"


def test_abstention_exits_3_and_prints_closest_passages_with_offsets(built_dir):
    result = run("ask", ABSTAIN_QUESTION, "--index", "idx", cwd=built_dir)
    assert result.returncode == 3, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert lines[0] == "The documents don't seem to answer this question."
    assert lines[1] == "Closest passages (not an answer):"
    source = (built_dir / "docs" / "harbor.txt").read_text(encoding="utf-8")
    located = [line.split() for line in lines if line.strip().startswith("harbor.txt characters")]
    assert located, result.stdout
    for _, _, span in located:  # each passage's offsets point at the sentence printed above it
        start, end = map(int, span.split("-"))
        assert f"] {source[start:end]}" in result.stdout


def test_abstention_json_carries_the_decision_and_the_same_exit_code(built_dir):
    result = run("ask", ABSTAIN_QUESTION, "--index", "idx", "--json", cwd=built_dir)
    assert result.returncode == 3
    data = json.loads(result.stdout)
    assert data["abstained"] is True and data["citations"]
    assert all({"doc_id", "start", "end"} <= set(c) for c in data["citations"])


def test_library_logs_are_quiet_by_default_and_verbose_shows_them(built_dir):
    library_debug = re.compile(r"^DEBUG:(?!citeqa)[\w.]+:", re.M)  # e.g. "DEBUG:filelock: ..."
    quiet = run("build", "docs", "--index", "idx2", "--quiet", "--full", cwd=built_dir)
    assert quiet.returncode == 0 and "DEBUG" not in quiet.stderr and "faiss.loader" not in quiet.stderr, quiet.stderr
    loud = run("build", "docs", "--index", "idx2", "--quiet", "--full", "-vv", cwd=built_dir)
    assert loud.returncode == 0 and library_debug.search(loud.stderr), loud.stderr


def test_a_page_without_article_text_is_refused_in_one_line_without_the_extractor_s_warning(tmp_path):
    (tmp_path / "menu.html").write_text("<html><body><nav>Home | News</nav></body></html>", encoding="utf-8")
    quiet = run("build", "menu.html", "--index", "idx", "--quiet", cwd=tmp_path)
    assert quiet.returncode == 1
    assert quiet.stderr.strip().splitlines() == [
        f"citeqa: error: {tmp_path / 'menu.html'}: found no article text in this HTML page; save the article itself "
        "(not an index or log-in page), or copy its text into a .txt file"
    ]
    verbose = run("build", "menu.html", "--index", "idx", "--quiet", "-v", cwd=tmp_path)
    assert verbose.returncode == 1 and "trafilatura" in verbose.stderr  # -v shows the libraries' own lines


def test_eval_reports_progress_per_stage_on_stderr(built_dir):
    gold = built_dir / "gold.jsonl"
    gold.write_text(
        json.dumps({"id": "a01", "kind": "answerable", "question": "How many ships can the harbor berth?",
                    "answers": ["twelve ships"]}) + "\n"
        + json.dumps({"id": "u01", "kind": "unanswerable", "question": ABSTAIN_QUESTION, "topic": "off"}) + "\n",
        encoding="utf-8",
    )
    result = run("eval", "--gold", "gold.jsonl", "--index", "idx", "--no-squad", "--no-honest", "--json", cwd=built_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["gold"]  # stdout stays pure JSON
    progress = [line for line in result.stderr.splitlines() if line.startswith("citeqa: gold:")]
    assert [p.split(":", 2)[2].split()[0] for p in progress] == ["loading", "asking", "done"], result.stderr
    assert "asking 2 questions of 1 documents" in result.stderr
    silent = run("eval", "--gold", "gold.jsonl", "--index", "idx", "--no-squad", "--no-honest", "--json", "--quiet", cwd=built_dir)
    assert silent.returncode == 0 and "gold:" not in silent.stderr


def test_eval_with_a_file_for_its_cache_is_refused_in_words(tmp_path):
    (tmp_path / "cache").write_text("not a folder\n", encoding="utf-8")
    result = run("eval", "--cache", "cache", "--no-gold", "--no-news", "--no-honest", "--limit", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "citeqa: error: cache folder cache is a file; pass --cache a folder"
    assert (tmp_path / "cache").read_text(encoding="utf-8") == "not a folder\n"
