"""Compare reranker weight files on the report halves, in one run (the figures a refit is judged by).

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/rerank_report.py [--cache DIR] [LABEL=WEIGHTS.json ...]

Every stand-alone answerable question of the report halves of SQuAD 1.1, SQuAD 2.0 and
news-dev, and of the gold file (report-only), goes through the product's candidate
stage once (``Ranker.gather``, cached by ``fit_reranker.collect_pool``); each weight file
then ranks the same candidates as ``rerank`` does (softmax, stable sort; its lazy answer
types keep the same top 10). The packaged ``src/citeqa/data/reranker.json`` is always the
first row ("shipped"). ``--check`` also asks the news and gold questions through
``Ranker.rank`` with each weight file (the query vectors embedded in one batch, as
``citeqa eval`` does) and counts rankings that differ (expected: 0).
Prints [1] right, top 3 and MRR@10 per dataset and weight file (conversations count with
their first turn, as in ``citeqa eval``'s ranking line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_reranker import (  # noqa: E402
    ASKED_KINDS,
    DATASETS,
    WEIGHTS_FILE,
    Pool,
    asked_questions,
    collect_pool,
    load_corpus,
)

from citeqa import config  # noqa: E402
from citeqa.eval import corpora, metrics, observe  # noqa: E402
from citeqa.search.ranker import Ranker  # noqa: E402
from citeqa.search.rerank import RerankerModel, load_reranker, reranker_scores, softmax  # noqa: E402


def check(corpus: corpora.Corpus, pool: Pool, model: RerankerModel, cache: Path) -> int:
    """Report-half questions whose top 10 through ``Ranker.rank`` (with ``model``) differ from the pool's ranking."""
    index = observe.corpus_index(corpus.documents, cache, None, print)
    ranker = Ranker(index.ranker.store, model)
    asked = asked_questions(corpus)
    vectors = index.embedder.encode([query for *_, query in asked])  # one batch, as the pool and ``citeqa eval`` embed them
    differ = 0
    number = -1
    for (kind, half, _, q, query), vector in zip(asked, vectors):
        if kind not in ASKED_KINDS:
            continue
        number += 1
        if half != corpora.REPORT:
            continue
        ranking = ranker.rank(query, vector, 10, question=q)
        a, b = pool.start[number], pool.start[number + 1]
        order = np.argsort(-softmax(reranker_scores(pool.x[a:b], model.weights, model.layer)), kind="stable")[:10]
        differ += int(not np.array_equal(pool.ids[a:b][order], ranking.ids))
    return differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="*", help="LABEL=PATH of a reranker JSON file to compare with the shipped one")
    parser.add_argument("--squad", default=str(config.default_squad_path()))
    parser.add_argument("--squad2", default=str(config.default_squad2_path()))
    parser.add_argument("--news", default=str(config.default_news_path()))
    parser.add_argument("--cache", default=str(config.eval_cache_dir()))
    parser.add_argument("--check", action="store_true", help="also rank news and gold questions through Index.rank and count differences")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    models = {"shipped": load_reranker(WEIGHTS_FILE.read_text(encoding="utf-8"))}
    for item in args.weights:
        label, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"expected LABEL=PATH, got {item!r}")
        models[label] = load_reranker(Path(path).read_text(encoding="utf-8"))
    corpus_of = {name: load_corpus(name, args) for name in DATASETS}
    corpus_of["gold"] = corpora.load_gold()
    pools = {name: collect_pool(corpus, cache, print) for name, corpus in corpus_of.items()}
    print(f"{'weights':<14} {'dataset':<8} {'n':>5} {'[1] right':>9} {'top 3':>7} {'MRR@10':>7}")
    for label, model in models.items():
        for name, pool in pools.items():
            m = metrics.ranking_metrics(pool.ranks(lambda h, d: h == corpora.REPORT, model.weights, model.layer))
            print(f"{label:<14} {name:<8} {int(m['n']):>5} {m['r@1']:>9.3f} {m['r@3']:>7.3f} {m['mrr@10']:>7.3f}")
        if args.check:
            for name in ("news", "gold"):
                print(f"  check {label} {name}: {check(corpus_of[name], pools[name], model, cache)} rankings differ from Index.rank's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
