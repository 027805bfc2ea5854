"""The Milvus store next to the local folder index on the SQuAD tune corpus, in one run, through the product's seam.

Usage (from the repository root, with ``pip install -e ".[milvus]"``)::

    PYTHONPATH=src python benchmarks/scale.py                  # all 24 articles, 1000 questions
    PYTHONPATH=src python benchmarks/scale.py --questions 0    # every question

What it does:

1. Builds (or reuses, cached) the local index of the SQuAD v1.1 tune articles
   (:func:`citeqa.eval.harness.squad_index`) and its question vectors.
2. Starts a real ``milvus-lite server`` on 127.0.0.1 (an ephemeral port; with
   ``OPENBLAS_NUM_THREADS=1`` unless ``--server-blas-threads`` says otherwise: on a shared
   machine OpenBLAS's threads made each of the server's vector products wait, ~80 vs ~55 ms
   a query at load 7) and writes the
   same documents, sentences and stored vectors into it with the build's last step
   (:func:`citeqa.build.write_index` with a ``milvus://`` address), then opens it with
   :meth:`citeqa.Index.load` like ``citeqa ask --store`` does.
3. Per question, on both indexes: :meth:`citeqa.Index.rank` (the product's hybrid ranking;
   every read through :class:`citeqa.store.seam.SentenceStore`) and the abstention decision.
4. Prints how often both rank the same sentence first, MRR@10 of both, how often they make
   the same abstention decision, the p50/p95 of a query (rank + abstention) on each, the
   Milvus calls (round trips) per query and the machine's load.
5. Then, for ``--cold`` of the questions, the Milvus query again with the store's caches
   emptied before each (what a query costs when nothing it needs was read before; the
   local store has no such caches).

The issue's targets: same [1] >= 95%, MRR within 0.01, abstention >= 97% equal, Milvus Lite
p50 <= 50 ms.

With ``--ray-build N`` (``pip install -e ".[ray]"``) it times the build instead: a folder of
about N sentences made from the SQuAD tune articles (repeated as often as needed: copies
cost what new text costs), built alternately by the local build and by the Ray build on a
local Ray with ``--ray-cpus`` CPUs (default 2; Ray's start-up and shutdown included, as a
user waits for them), ``--runs`` times each. It prints each run, the medians and their
ratio (the issue's target: Ray with 2 workers <= 1.3x local), the machine's load, and
checks that both builds made the same sentences and vectors (cosine >= 0.999).
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {1000 * statistics.median(ordered):7.1f} ms  p95 {1000 * p95:7.1f} ms"


class _CountingClient:
    """The store's pymilvus client, counting the calls made through it (round trips per query)."""

    def __init__(self, client: object) -> None:
        self.client, self.calls = client, collections.Counter()

    def __getattr__(self, name: str) -> object:
        self.calls[name] += 1
        return getattr(self.client, name)


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def ray_build_timing(squad: str, sentences: int, runs: int, cpus: int) -> int:
    """Local build vs the Ray build of ~``sentences`` SQuAD sentences; medians, ratio and load."""
    import json

    from citeqa import build as local_build
    from citeqa import build_ray
    from citeqa.embed import get_embedder
    from citeqa.store.read import load_version

    articles = json.loads(Path(squad).read_text(encoding="utf-8"))["data"]
    texts = [a["title"].replace("_", " ") + "\n\n" + "\n\n".join(p["context"] for p in a["paragraphs"]) for a in articles]
    embedder = get_embedder()
    with tempfile.TemporaryDirectory(prefix="citeqa-raybuild-") as tmp:
        corpus = Path(tmp) / "corpus"
        per_copy = None
        copies = 1
        while True:  # add copies of the articles until the corpus has about ``sentences``
            folder = corpus / f"copy{copies:03d}"
            folder.mkdir(parents=True)
            for a, text in zip(articles, texts):
                (folder / f"{a['title']}.txt").write_text(text, encoding="utf-8")
            if per_copy is None:
                from citeqa.ingest.segment import segment_documents
                from citeqa.ingest.sources import read_documents

                per_copy = len(segment_documents(read_documents([folder])))
            if copies * per_copy >= sentences:
                break
            copies += 1
        print(f"corpus: {copies} cop{'y' if copies == 1 else 'ies'} of the {len(articles)} SQuAD tune articles = {copies * per_copy} sentences")
        embedder.encode(["warm up"])
        timings: dict[str, list[float]] = {"local": [], "ray": []}
        for run in range(runs):
            for name in ("local", "ray"):
                out = Path(tmp) / f"{name}-{run}"
                before = _load()
                started = time.perf_counter()
                if name == "local":
                    local_build.build([corpus], out, embedder=embedder, incremental=False)
                else:
                    build_ray.build([corpus], out, embedder=embedder, num_cpus=cpus)
                timings[name].append(time.perf_counter() - started)
                print(f"run {run + 1} {name:5s} build {timings[name][-1]:7.1f} s   ({before} before, {_load()} after)")
        a, b = load_version(Path(tmp) / "local-0"), load_version(Path(tmp) / "ray-0")
        same_rows = np.array_equal(np.asarray(a.sentences), np.asarray(b.sentences))
        va, vb = a.embeddings(), b.embeddings()
        cosine = float(((va * vb).sum(axis=1) / (np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1))).min())
    local, ray = statistics.median(timings["local"]), statistics.median(timings["ray"])
    print(f"median local build {local:.1f} s   Ray build ({cpus} CPUs, {cpus} embedding actors) {ray:.1f} s")
    print(f"Ray / local = {ray / local:.2f}x  (target <= 1.3x)")
    print(f"same sentence rows: {same_rows}; min cosine Ray vs local vectors {cosine:.5f} (target >= 0.999)")
    return 0 if same_rows and cosine >= 0.999 else 1


def main() -> int:
    from citeqa.answer.abstain import abstain_decision
    from citeqa.build import write_index
    from citeqa.config import default_squad_path, eval_cache_dir
    from citeqa.eval.harness import squad_index
    from citeqa.eval.metrics import first_hit_rank
    from citeqa.index import Index
    from citeqa.question import clean_question
    from citeqa.store.milvus import wait_for_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(default_squad_path()))
    parser.add_argument("--cache", default=str(eval_cache_dir()))
    parser.add_argument("--questions", type=int, default=1000, help="questions to compare and time (0: all)")
    parser.add_argument("--cold", type=int, default=100, help="questions timed again with the Milvus caches emptied (default 100)")
    parser.add_argument(
        "--server-blas-threads", default="1",
        help="OPENBLAS_NUM_THREADS of the milvus-lite server (default 1; 'default': leave OpenBLAS's own choice)",
    )  # fmt: skip
    parser.add_argument("--ray-build", type=int, metavar="N", help="instead: time the local vs the Ray build of ~N sentences")
    parser.add_argument("--runs", type=int, default=3, help="builds of each kind with --ray-build (default 3)")
    parser.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray with --ray-build (default 2)")
    args = parser.parse_args()
    if args.ray_build:
        return ray_build_timing(args.squad, args.ray_build, args.runs, args.ray_cpus)

    local, questions, qvectors = squad_index(args.squad, args.cache, log=print)
    stored = local._stored
    vectors = stored.embeddings()
    if vectors is None:
        raise SystemExit("the cached SQuAD index has no stored vectors; delete the cache and run again")
    n = len(local)
    picked = list(range(len(questions)))
    if args.questions and args.questions < len(picked):
        picked = sorted(np.random.default_rng(0).choice(len(picked), args.questions, replace=False).tolist())
    print(f"corpus: {len(local.documents)} articles, {n} sentences; {len(picked)} of {len(questions)} questions")

    with tempfile.TemporaryDirectory(prefix="citeqa-scale-") as tmp:
        port = _free_port()
        env = dict(os.environ)
        if args.server_blas_threads != "default":
            env["OPENBLAS_NUM_THREADS"] = args.server_blas_threads
        print(f"milvus-lite server OPENBLAS_NUM_THREADS={env.get('OPENBLAS_NUM_THREADS', '(unset)')}")
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", f"{tmp}/milvus",
             "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            address = f"milvus://127.0.0.1:{port}/squad"
            wait_for_server(address, timeout=60)
            started = time.perf_counter()
            texts = local.store.texts(np.arange(n))
            write_index(address, list(local.documents), np.asarray(stored.sentences), texts, vectors, local.embedder)
            print(f"Milvus write (loopback milvus-lite server): {time.perf_counter() - started:.1f} s")
            remote = Index.load(address, embedder=local.embedder)
            counting = remote.store._calls.client = _CountingClient(remote.store._calls.client)
            timings: dict[str, list[float]] = {"local": [], "milvus": []}
            same_first = same_abstain = 0
            ranks: dict[str, list[int | None]] = {"local": [], "milvus": []}
            for q in picked:
                case, vector = questions[q], qvectors[q]
                query = clean_question(case.question)
                decided = {}
                for name, index in (("local", local), ("milvus", remote)):
                    t = time.perf_counter()
                    ranking = index.rank(query, 10, vector=vector, question=case.question)
                    abstain = abstain_decision(query, ranking, index.ranker, index.vocabulary).abstain
                    timings[name].append(time.perf_counter() - t)
                    decided[name] = (ranking, abstain)
                    ranks[name].append(first_hit_rank(ranking.ids, [case.gold_row]))
                a, b = decided["local"][0], decided["milvus"][0]
                same_first += int(len(a.ids) > 0 and len(b.ids) > 0 and a.ids[0] == b.ids[0])
                same_abstain += int(decided["local"][1] == decided["milvus"][1])
            calls = dict(counting.calls)
            cold: list[float] = []
            for q in picked[: max(0, args.cold)]:
                remote.store._init_caches()  # nothing read before
                query = clean_question(questions[q].question)
                t = time.perf_counter()
                ranking = remote.rank(query, 10, vector=qvectors[q], question=questions[q].question)
                abstain_decision(query, ranking, remote.ranker, remote.vocabulary)
                cold.append(time.perf_counter() - t)
        finally:
            server.terminate()
            server.wait(timeout=30)

    mrr = lambda found: sum(1.0 / r for r in found if r) / len(found)
    total = len(picked)
    print(f"same [1]: {same_first}/{total} = {same_first / total:.1%}  (target >= 95%)")
    print(f"MRR@10 local {mrr(ranks['local']):.4f}  Milvus {mrr(ranks['milvus']):.4f}  (target: within 0.01)")
    print(f"same abstention decision: {same_abstain}/{total} = {same_abstain / total:.1%}  (target >= 97%)")
    print(f"query (rank + abstention), local folder store      {_ms(timings['local'])}")
    print(f"query (rank + abstention), Milvus Lite on loopback {_ms(timings['milvus'])}  (target p50 <= 50 ms)")
    print("Milvus calls per query: " + ", ".join(f"{name} {count / total:.2f}" for name, count in sorted(calls.items())))
    if cold:
        print(f"query on Milvus Lite, caches emptied before each ({len(cold)} questions) {_ms(cold)}")
    print(_load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
