"""Time ``Index.retrieve`` (or, with ``--answer``, a whole ``Index.answer``) on one built index under several source trees, runs interleaved.

Usage (from the repository root)::

    python benchmarks/retrieve_timing.py INDEX --src /work/main/src --src src --rounds 3 --ef 512

Each round loads INDEX in a fresh process per source tree (``PYTHONPATH=<src>``), in turn,
and times ``retrieve(question, k=10)`` (``--answer``: ``answer(question)``, ranking, confidence
and the cited answer) once for each of ``--questions`` real SQuAD questions
(the same seed-5 pick as ``benchmarks/speed.py``'s scale stage) after 20 warm-up queries.
Prints, per run: wall and CPU (the calling thread's) p50/p95 in ms, RSS, recall@10 of the
vector search against exact search when the folder beside INDEX holds ``queries.npy`` and
``exact.npy`` (as ``speed.py`` writes them), and the load average. A same-run baseline is
the point: on 2 shared cores wall times swing with the neighbours' load, so compare runs
of one invocation only. ``--ef`` overrides the HNSW efSearch recorded in the manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SQUAD = REPO.parent / "shared" / "data" / "squad" / "dev-v1.1-tune.json"


def squad_questions(path: Path, count: int) -> list[str]:
    """``count`` questions of the SQuAD file, picked as ``speed.py`` picks its scale queries."""
    data = json.loads(path.read_text(encoding="utf-8"))
    questions = [qa["question"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
    rng = np.random.default_rng(5)
    return [questions[int(i)] for i in rng.choice(len(questions), count, replace=False)]


def worker(index_path: str, questions: list[str], ef: int | None, whole_answer: bool = False) -> dict[str, Any]:
    """Load the index in this process and time every question once (``retrieve``, or ``answer`` when ``whole_answer``)."""
    import citeqa
    from citeqa import Index

    start = time.perf_counter()
    index = Index.load(index_path, check_stale=False)
    index.embedder  # noqa: B018 - load the query embedder as a server does at start
    searcher = index._stored.vectors
    if ef is not None and hasattr(searcher.index, "hnsw"):
        searcher.index.hnsw.efSearch = ef
    load_s = time.perf_counter() - start
    ask = index.answer if whole_answer else (lambda question: index.retrieve(question, k=10))
    for question in questions[:20]:
        ask(question)
    wall, cpu = [], []
    for question in questions:
        t, c = time.perf_counter(), time.thread_time()
        ask(question)
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    result: dict[str, Any] = {"src": str(Path(citeqa.__file__).parents[1]), "timed": "answer" if whole_answer else "retrieve", "load_s": round(load_s, 2)}
    for name, values in (("wall", wall), ("cpu", cpu)):
        result[f"{name}_p50_ms"] = round(1e3 * float(np.percentile(values, 50)), 2)
        result[f"{name}_p95_ms"] = round(1e3 * float(np.percentile(values, 95)), 2)
    folder = Path(index_path).parent
    if (folder / "queries.npy").is_file() and (folder / "exact.npy").is_file():
        queries, exact = np.load(folder / "queries.npy"), np.load(folder / "exact.npy")
        found = [searcher.search(q[None, :], 10)[1][0] for q in queries]
        result["recall_at_10"] = round(float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)])), 3)
    with open("/proc/self/status", encoding="ascii") as status:
        rss = next((line.split()[1] for line in status if line.startswith("VmRSS")), "0")
    result["rss_mb"] = round(int(rss) / 1024)
    result["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", help="an index folder (e.g. one speed.py's scale stage built, kept)")
    parser.add_argument("--src", action="append", help="a source tree to time (repeat; default: this checkout's src)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per source tree, interleaved")
    parser.add_argument("--ef", type=int, default=None, help="HNSW efSearch for the runs (default: the manifest's)")
    parser.add_argument("--questions", type=int, default=200, help="SQuAD questions timed per run")
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    parser.add_argument("--answer", action="store_true", help="time a whole Index.answer (ranking, confidence, the cited answer) instead of retrieve")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    questions = squad_questions(args.squad, args.questions)
    if args.worker:
        print(json.dumps(worker(args.index, questions, args.ef, args.answer)))
        return 0
    sources = args.src or [str(REPO / "src")]
    extra = (["--ef", str(args.ef)] if args.ef is not None else []) + (["--answer"] if args.answer else [])
    for number in range(args.rounds):
        for src in sources:
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
            command = [sys.executable, __file__, args.index, "--worker", "1", "--questions", str(args.questions), "--squad", str(args.squad), *extra]
            done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
            if done.returncode != 0:
                raise SystemExit(f"run under {src} failed:\n{done.stderr[-3000:]}")
            print(f"round {number + 1} {json.loads(done.stdout.strip().splitlines()[-1])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
