"""Crash-safe rebuilds: SIGKILL builds (real subprocesses) at random moments; the index
always loads and answers — old version or new — and the next build cleans up.

The long run (30+ kills of ``citeqa build`` with the real model) is
``benchmarks/crash_build.py``; these are its bounded variants for the default suite.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import crash_build  # noqa: E402

LOOPING_BUILDER = """
import sys
sys.path[:0] = [{tests!r}]
from conftest import FakeEmbedder
from citeqa import build_index
while True:
    build_index([{docs!r}], {out!r}, embedder=FakeEmbedder())
    open({ready!r}, "w").close()  # warmed up (imports, segmenter): the kill's delay counts from here
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    text = (REPO / "src" / "citeqa" / "data" / "lachin-joint-exercise.txt").read_text(encoding="utf-8")
    (folder / "article.txt").write_text(text, encoding="utf-8")
    (folder / "extra.md").write_text("The joint exercise took place in September.\n" * 30, encoding="utf-8")
    return folder


def test_builds_killed_at_random_moments_leave_a_whole_index(tmp_path, docs, fake_embedder):
    """24 SIGKILLs of a subprocess that rebuilds in a loop (fake embedder: every moment
    of its life after start-up is inside some build, most of it writing). The delay counts
    from the end of its first build: on a busy machine (load 7) start-up alone took the
    whole 0.5-1.2 s the delay once counted from the spawn, and no kill landed in a write."""
    from citeqa import build_index

    out = tmp_path / "index"
    build_index([docs], out, embedder=fake_embedder)
    ready = tmp_path / "started"
    code = LOOPING_BUILDER.format(tests=str(REPO / "tests"), docs=str(docs), out=str(out), ready=str(ready))
    command = [sys.executable, "-c", code]
    env = crash_build.child_env()
    rng = random.Random(4)
    trials = [
        crash_build.run_trial(command, out, fake_embedder, mode="random", delay=rng.uniform(0.05, 0.7), env=env, ready=ready)
        for _ in range(24)
    ]
    assert not any(t.exited_first for t in trials)
    assert sum(t.leftovers > 0 for t in trials) >= 1, "no kill landed while a version was being written"
    build_index([docs], out, embedder=fake_embedder)
    assert len(crash_build.check_final_state(out, fake_embedder)) >= 2


def test_citeqa_build_killed_during_write_or_at_random_leaves_a_whole_index(tmp_path, embedder):
    """The real command with the real model: killed in its write phase and at random moments."""
    from citeqa import build_index

    out = tmp_path / "index"
    command = [sys.executable, "-m", "citeqa", "build", "--index", str(out), "--quiet"]
    env = crash_build.child_env()
    build_index(None, out, embedder=embedder)
    rng = random.Random(7)
    plan = [("write", rng.uniform(0, 0.004)), ("write", rng.uniform(0.004, 0.02)), ("random", rng.uniform(0.5, 6.0))]
    trials = [crash_build.run_trial(command, out, embedder, mode=m, delay=d, env=env) for m, d in plan]
    assert sum(not t.exited_first for t in trials) >= 2
    build_index(None, out, embedder=embedder)  # the next build cleans up
    versions = crash_build.check_final_state(out, embedder)
    assert len(versions) >= 2
