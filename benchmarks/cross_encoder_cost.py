"""What the cross-encoder stage costs per question: a whole ``Index.answer`` with the stage on and off, same run.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/cross_encoder_cost.py [--squad PATH] [--questions 200]

Two indexes: the shipped article (one document) and the SQuAD 1.1 tune file (24 articles,
~5,100 sentences, built once into ``citeqa eval``'s cache). For each, the same questions
(the gold file's / every n-th SQuAD question) are answered by two loaded copies of the
index, one with the cross-encoder (``cross_encoder=True``) and one without, alternating
question by question so machine load hits both alike. Prints p50/p95 of the whole answer
and the p50 difference (the issue's gate: <= 60 ms per question, 20 candidates); reports
``os.getloadavg()`` beside the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np

from citeqa.api import open_default_index
from citeqa.config import default_squad_path, eval_cache_dir
from citeqa.eval import corpora
from citeqa.eval.datasets import parse_gold
from citeqa.eval.observe import corpus_index
from citeqa.index import Index
from citeqa.search.cross import CROSS_CANDIDATES, read_manifest


def timed(index: Index, question: str) -> float:
    started = time.perf_counter()
    index.answer(question)
    return time.perf_counter() - started


def compare(name: str, path: Path, questions: list[str]) -> None:
    on = Index.load(path, cross_encoder=True, check_stale=False)
    off = Index.load(path, cross_encoder=False, check_stale=False, embedder=on.embedder)
    for index in (on, off):  # warm: model loads, first-call allocations
        index.answer(questions[0])
    with_stage, without = [], []
    for question in questions:
        with_stage.append(timed(on, question))
        without.append(timed(off, question))
    ms = lambda xs, q: float(np.percentile(np.asarray(xs) * 1000, q))
    diff = statistics.median((a - b) * 1000 for a, b in zip(with_stage, without))
    print(
        f"{name:<16} {len(questions):>5} q  answer p50 {ms(with_stage, 50):6.1f} ms (p95 {ms(with_stage, 95):6.1f}) with the cross-encoder; "
        f"{ms(without, 50):6.1f} ms (p95 {ms(without, 95):6.1f}) without; median added {diff:5.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(default_squad_path()))
    parser.add_argument("--questions", type=int, default=200, help="SQuAD questions to time")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    manifest = read_manifest()
    if manifest is None:
        print("no cross-encoder ships in this checkout (run benchmarks/train_cross_encoder.py --write)")
        return 1
    print(f"cross-encoder: {manifest.info.get('layers')} layers, int8, {CROSS_CANDIDATES} candidates per question, weight {manifest.weight}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    article = open_default_index()
    gold = [g.question for g in parse_gold(Path(REPO / "src" / "citeqa" / "data" / "eval" / "lachin-gold.jsonl").read_text(encoding="utf-8").splitlines()) if g.question]
    compare("shipped article", article.path.parent, gold)
    squad = corpora.load_squad(args.squad, "squad11")
    index = corpus_index(squad.documents, eval_cache_dir(), None, lambda m: print(m, file=sys.stderr))
    every = max(1, len(squad.cases) // args.questions)
    compare("SQuAD 1.1 tune", index.path.parent, [c.question for c in squad.cases[::every]][: args.questions])
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
