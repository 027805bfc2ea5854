"""Fit the hybrid reranker's weights on the *fit* split of the SQuAD tune half.

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/fit_reranker.py [--squad PATH] [--cache DIR] [--write]

Every question of the fit split (articles at even positions; the odd ones stay held out
for ``citeqa eval``) is run through the product's candidate stage (``Ranker.gather``:
FAISS top-50 + BM25 top-50, with paragraph, neighbour and title evidence). A linear
model over :data:`citeqa.retrieval.FEATURES` is fitted with a listwise softmax loss
(cross-entropy of the gold sentence among the query's candidates) and a small L2
penalty. ``--write`` stores the weights in ``src/citeqa/data/reranker.json`` (the
abstention thresholds already there are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from citeqa import evaluate  # noqa: E402
from citeqa.query import clean_question  # noqa: E402
from citeqa.retrieval import FEATURES, feature_matrix  # noqa: E402

WEIGHTS_FILE = REPO / "src" / "citeqa" / "data" / "reranker.json"
L2 = 1e-3


def collect(index, questions, vectors, keep):  # type: ignore[no-untyped-def]
    """Feature matrices and gold positions of the questions ``keep`` accepts."""
    groups = []
    missing = 0
    for q, vector in zip(questions, vectors):
        if not keep(q.article):
            continue
        ids, context = index.ranker.gather(clean_question(q.question), vector, question=q.question)
        where = np.flatnonzero(ids == q.gold_row)
        if where.size == 0:
            missing += 1
            continue
        groups.append((feature_matrix(context), int(where[0])))
    return groups, missing


def loss_and_grad(w: np.ndarray, groups) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    total, grad = 0.0, np.zeros_like(w)
    for x, gold in groups:
        s = x @ w
        s = s - s.max()
        p = np.exp(s)
        p /= p.sum()
        total -= np.log(p[gold] + 1e-12)
        grad -= x[gold] - p @ x
    n = len(groups)
    return total / n + L2 * float(w @ w), grad / n + 2 * L2 * w


def top1(w: np.ndarray, groups) -> float:  # type: ignore[no-untyped-def]
    return float(np.mean([np.argmax(x @ w) == g for x, g in groups]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(evaluate.default_squad_path()))
    parser.add_argument("--cache", default=str(evaluate.default_cache_dir()))
    parser.add_argument("--write", action="store_true", help="store the weights in src/citeqa/data/reranker.json")
    args = parser.parse_args()

    index, questions, vectors = evaluate.squad_index(args.squad, args.cache, log=print)
    started = time.perf_counter()
    fit, fit_missing = collect(index, questions, vectors, lambda a: a % 2 == 0)
    held, held_missing = collect(index, questions, vectors, lambda a: a % 2 == 1)
    print(f"collected {len(fit)} fit / {len(held)} held-out queries ({fit_missing}/{held_missing} without the gold among candidates) in {time.perf_counter() - started:.0f}s")

    w0 = np.zeros(len(FEATURES))
    w0[FEATURES.index("rrf")] = 10.0
    print(f"start (RRF only): fit top-1 {top1(w0, fit):.3f}, held-out top-1 {top1(w0, held):.3f}")
    result = minimize(loss_and_grad, w0, args=(fit,), jac=True, method="L-BFGS-B")
    w = result.x
    print(f"fitted: fit top-1 {top1(w, fit):.3f}, held-out top-1 {top1(w, held):.3f} (loss {result.fun:.4f})")
    for name, value in zip(FEATURES, w):
        print(f"  {name:<18} {value:+.3f}")
    if args.write:
        data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")) if WEIGHTS_FILE.is_file() else {}
        data["weights"] = {name: round(float(value), 4) for name, value in zip(FEATURES, w)}
        data["fitted_on"] = (
            f"SQuAD v1.1 dev tune half, fit split (even-position articles): {len(fit)} questions; "
            "listwise softmax loss, L2 1e-3; benchmarks/fit_reranker.py"
        )
        data.pop("note", None)
        WEIGHTS_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
