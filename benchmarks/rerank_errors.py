"""Print the reranker's misses on a fit half, with the chosen [1], the right sentence, its neighbours and their features.

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/rerank_errors.py [news|squad11|squad2] [--half fit]
        [--weights FILE] [--limit N] [--cache DIR]

For error analysis before designing a feature: every stand-alone answerable question of
the chosen half (``fit`` by default; look at report-half errors only to report them)
whose right sentence is not ranked first by the weights (the packaged reranker by
default), from the candidates ``benchmarks/fit_reranker.py`` gathers and caches. For
each: the question, the answer strings, [1] and the first right candidate with a few of
their features and reranker probabilities, and the sentences just before and after the
right one. Nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_reranker import (
    ASKED_KINDS,
    DATASETS,
    WEIGHTS_FILE,
    asked_questions,
    collect_pool,
    load_corpus,
)

from citeqa import config
from citeqa.eval import corpora, observe
from citeqa.search.features import FEATURES
from citeqa.search.rerank import load_reranker, reranker_scores, softmax

#: The features printed for [1] and the right sentence.
SHOWN = ("dense", "lexical", "coverage", "loose_coverage", "window_coverage", "paragraph_lexical", "neighbour_dense", "title")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default="news", choices=DATASETS)
    parser.add_argument("--half", default=corpora.FIT, choices=corpora.HALVES)
    parser.add_argument("--weights", default=str(WEIGHTS_FILE), help="reranker JSON file (default: the packaged one)")
    parser.add_argument("--limit", type=int, default=30, help="print at most this many misses")
    parser.add_argument("--squad", default=str(config.default_squad_path()))
    parser.add_argument("--squad2", default=str(config.default_squad2_path()))
    parser.add_argument("--news", default=str(config.default_news_path()))
    parser.add_argument("--cache", default=str(config.eval_cache_dir()))
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus(args.dataset, args)
    pool = collect_pool(corpus, cache, print)
    store = observe.corpus_index(corpus.documents, cache, None, print).ranker.store
    model = load_reranker(Path(args.weights).read_text(encoding="utf-8"))
    asked = [item for item in asked_questions(corpus) if item[0] in ASKED_KINDS]
    columns = [FEATURES.index(name) for name in SHOWN]

    def line(row: int) -> str:
        doc, _, _, paragraph = (int(v) for v in store.rows(np.array([row]))[0])
        return f"[row {row} doc {doc} par {paragraph}] {store.texts(np.array([row]))[0]}"

    def features(at: int, p: float) -> str:
        return "      " + " ".join(f"{name} {pool.x[at, c]:.2f}" for name, c in zip(SHOWN, columns)) + f" | p {p:.2f}"

    misses = asked_in_half = 0
    for q, (_, half, turn, question, _) in enumerate(asked):
        if half != args.half:
            continue
        asked_in_half += 1
        a, b = pool.start[q], pool.start[q + 1]
        if a == b:
            continue
        p = softmax(reranker_scores(pool.x[a:b], model.weights, model.layer))
        order = np.argsort(-p, kind="stable")
        gold = pool.gold[a:b]
        rank = next((k + 1 for k, i in enumerate(order) if gold[i]), None)
        if rank == 1:
            continue
        misses += 1
        if misses > args.limit:
            continue
        top, right = int(order[0]), np.flatnonzero(gold)
        print("=" * 100)
        print(f"rank {rank}: {question} | answers {list(turn.answers) if turn.answers else '(SQuAD span)'}")
        print(f"  [1]   {line(int(pool.ids[a + top]))}\n{features(a + top, p[top])}")
        if right.size:
            at = int(right[0])
            row = int(pool.ids[a + at])
            print(f"  right {line(row)}\n{features(a + at, p[at])}")
            for other in (row - 1, row + 1):
                if 0 <= other < len(store):
                    print(f"    next to it {line(other)}")
        else:
            print("  right sentence not among the candidates")
    print(f"{misses} of {asked_in_half} {args.half}-half questions miss [1] ({args.dataset}, {args.weights})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
