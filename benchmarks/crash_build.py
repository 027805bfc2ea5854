"""Crash-safety of rebuilds: SIGKILL ``citeqa build`` at random moments, check the index.

Each trial starts a real ``citeqa build`` subprocess over an index that already holds a
good version and kills it with SIGKILL either at a uniformly random moment of its life
or at a random moment of its write phase (from the first ``.tmp-*`` folder appearing).
After every kill the index must load (verified) and answer — the old version or the new
one, never a mix — and a final unkilled build must clean up every leftover and keep at
least two complete versions, each of which loads.

Usage::

    PYTHONPATH=src python benchmarks/crash_build.py [--kills 30] [--seed 1] [--index DIR]

Prints one line per kill and a summary; exits 1 if any check failed.
The default test suite runs a small variant (tests/test_crash.py).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTION = "When did the joint exercise take place?"


@dataclass(frozen=True)
class Trial:
    """What one kill left behind."""

    mode: str  # "random" or "write"
    delay: float  # seconds after the trigger (spawn or first .tmp-*)
    exited_first: bool  # the build finished before the kill landed
    live: str  # "old" or "new"
    leftovers: int  # .tmp-* entries left in the index folder
    orphans: int  # complete versions newer than the live one (renamed, pointer not switched)


def child_env() -> dict[str, str]:
    """Environment for citeqa subprocesses: this checkout's code, offline."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def leftovers(index_dir: Path) -> list[Path]:
    """Half-written entries (``.tmp-*``) in an index folder."""
    return sorted(index_dir.glob(".tmp-*"))


def current_name(index_dir: Path) -> str:
    """The version ``CURRENT`` names ('' when absent)."""
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def kill_during(
    command: Sequence[str],
    index_dir: Path,
    *,
    mode: str,
    delay: float,
    env: dict[str, str] | None = None,
    ready: Path | None = None,
) -> bool:
    """Start ``command`` and SIGKILL it ``delay`` s after spawn (mode "random") or after the
    first ``.tmp-*`` appears in ``index_dir`` (mode "write"). With ``ready``, the delay counts
    from when the command creates that file (its start-up done), so a slow, busy machine
    does not spend the whole delay importing. Returns True if it exited first."""
    earlier = set(leftovers(index_dir))  # a killed build's leftovers are not this one's
    if ready is not None:
        ready.unlink(missing_ok=True)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while ready is not None and proc.poll() is None and not ready.exists():
            time.sleep(0.0005)
        if mode == "write":
            while proc.poll() is None and not set(leftovers(index_dir)) - earlier:
                time.sleep(0.0005)
        deadline = time.monotonic() + delay
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        exited = proc.poll() is not None
        if not exited:
            proc.send_signal(signal.SIGKILL)
        return exited
    finally:
        proc.wait()


def check_loads_and_answers(index_dir: Path, embedder, question: str = QUESTION) -> str:  # type: ignore[no-untyped-def]
    """Load the live version (verified) and answer; returns its version name.

    Raises AssertionError (or a CiteqaError) when the index is not whole."""
    from citeqa import Index

    index = Index.load(index_dir, embedder=embedder)
    result = index.answer(question)
    assert result.citations, "no citation"
    texts = {d.doc_id: d.text for d in index.documents}
    for hit in result.citations:
        assert hit.text == texts[hit.doc_id][hit.start : hit.end], "citation offsets do not match"
    return index.path.name


def check_final_state(index_dir: Path, embedder) -> list[str]:  # type: ignore[no-untyped-def]
    """After a clean build: no leftovers, ≥ 2 versions, each loads. Returns the versions."""
    from citeqa import store as storage
    from citeqa import Index

    assert leftovers(index_dir) == [], f"leftovers after a clean build: {leftovers(index_dir)}"
    versions = storage.list_versions(index_dir)
    assert len(versions) >= 2, f"only {versions} kept"
    for name in versions:
        Index.load(index_dir / name, embedder=embedder).answer(QUESTION)
    return versions


def run_trial(
    command: Sequence[str],
    index_dir: Path,
    embedder,  # type: ignore[no-untyped-def]
    *,
    mode: str,
    delay: float,
    env: dict[str, str] | None = None,
    ready: Path | None = None,
) -> Trial:
    """Kill one build (see :func:`kill_during`) and check what it left."""
    from citeqa import store as storage

    before = current_name(index_dir)
    exited = kill_during(command, index_dir, mode=mode, delay=delay, env=env, ready=ready)
    live = check_loads_and_answers(index_dir, embedder)
    assert live in (before, *storage.list_versions(index_dir)), live
    orphans = [v for v in storage.list_versions(index_dir) if v > live]
    return Trial(
        mode=mode,
        delay=delay,
        exited_first=exited,
        live="old" if live == before else "new",
        leftovers=len(leftovers(index_dir)),
        orphans=len(orphans),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=30, help="number of SIGKILLed builds (default 30)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--index", type=Path, help="index folder to torture (default: a temp folder)")
    args = parser.parse_args(argv)
    if args.kills < 1:
        parser.error(f"--kills must be >= 1, got {args.kills}")

    sys.path.insert(0, str(REPO / "src"))
    from citeqa.embed import get_embedder

    rng = random.Random(args.seed)
    index_dir = args.index or Path(tempfile.mkdtemp(prefix="citeqa-crash-")) / "index"
    env = child_env()
    command = [sys.executable, "-m", "citeqa", "build", "--index", str(index_dir), "--quiet"]
    embedder = get_embedder()

    # Baseline: two clean builds, timing the whole run and its write phase.
    subprocess.run(command, env=env, check=True, capture_output=True)
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    write_start = switched = None
    pointer = current_name(index_dir)
    while proc.poll() is None:
        now = time.monotonic()
        if write_start is None and leftovers(index_dir):
            write_start = now
        if write_start is not None and switched is None and current_name(index_dir) != pointer:
            switched = now
        time.sleep(0.0005)
    total = time.monotonic() - started
    write = (switched - write_start) if write_start and switched else 0.05
    print(f"baseline build: {total:.2f} s in all; write phase (first .tmp-* to CURRENT switched) {write * 1000:.1f} ms")

    trials: list[Trial] = []
    failures = 0
    for number in range(1, args.kills + 1):
        mode = "write" if number % 2 else "random"
        delay = rng.uniform(0, write * 3) if mode == "write" else rng.uniform(0, total * 1.05)
        try:
            trial = run_trial(command, index_dir, embedder, mode=mode, delay=delay, env=env)
        except Exception as exc:  # noqa: BLE001 - count and report every failure
            failures += 1
            print(f"kill {number:2d} {mode:6s} +{delay * 1000:7.1f} ms  FAILED: {type(exc).__name__}: {exc}")
            continue
        trials.append(trial)
        print(
            f"kill {number:2d} {mode:6s} +{delay * 1000:7.1f} ms  live={trial.live} "
            f"leftovers={trial.leftovers} orphans={trial.orphans}{' (exited first)' if trial.exited_first else ''}"
        )

    subprocess.run(command, env=env, check=True, capture_output=True)
    try:
        versions = check_final_state(index_dir, embedder)
    except Exception as exc:  # noqa: BLE001
        failures += 1
        print(f"final state FAILED: {type(exc).__name__}: {exc}")
        versions = []

    killed = [t for t in trials if not t.exited_first]
    lives = Counter(t.live for t in killed)
    print(
        f"\n{len(killed)} builds killed ({sum(t.mode == 'write' for t in killed)} in the write phase), "
        f"{sum(t.exited_first for t in trials)} finished before the kill; "
        f"after the kill: old version live {lives['old']}, new version live {lives['new']}; "
        f"kills leaving .tmp-* {sum(t.leftovers > 0 for t in killed)}, "
        f"leaving an unswitched complete version {sum(t.orphans > 0 for t in killed)}; "
        f"failures {failures}; after a clean build: {len(versions)} versions, 0 leftovers"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
