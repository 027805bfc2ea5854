"""Fit the hybrid reranker's weights on fit halves (SQuAD 1.1 tune; optionally SQuAD 2.0 tune and news-dev).

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/fit_reranker.py [--cache DIR] [--squad2-weight W]
        [--news-weight W] [--squad-weight W] [--cv GRID] [--write | --out FILE]

Every answerable question of each dataset (conversations with their first turn; split by
document in :mod:`citeqa.eval.corpora`) is run once through the product's candidate
stage (``Ranker.gather``: FAISS top-50 + BM25 top-50, with paragraph, neighbour and
title evidence), its queries embedded in one batch as ``citeqa eval`` does; the
candidates are cached as .npz under ``--cache``. Only *fit-half* questions are fitted
on. A linear model over :data:`citeqa.search.features.FEATURES` is fitted with a
listwise softmax loss (cross-entropy of the gold sentences among the query's
candidates) and a small L2 penalty, then a hidden layer of ``--hidden`` tanh units
jointly with it. ``--write`` stores the weights in ``src/citeqa/data/reranker.json``
(the abstention thresholds already there are kept); ``--out`` writes the same JSON
elsewhere (to compare with ``benchmarks/rerank_report.py``).

Each dataset has a weight per question relative to one SQuAD 1.1 question: SQuAD 1.1
(``--squad-weight``, default 1), SQuAD 2.0 answerable (``--squad2-weight``, default 0)
and news-dev (``--news-weight``, default 0). SQuAD questions mostly reuse the article's
words, so a model fitted on SQuAD alone leans on word overlap; news questions are more
paraphrased. ``--cv GRID`` chooses these weights without the report halves: each fit
half's documents are cut in two parts (:func:`fit_parts`), every combination of GRID
is fitted on one part of every fit half and scored on the other, then swapped, and
the pooled [1] / top 3 / MRR@10 per dataset are printed (nothing is written).

``--gold-weight W`` (default 0) also fits on the gold file's even-position cases. The
gold file is one document, so :mod:`citeqa.eval.corpora` keeps all of it report-only:
leave it at 0 for any figure that ``citeqa eval`` reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from citeqa import Index, config, default_index_path  # noqa: E402
from citeqa.errors import CiteqaError  # noqa: E402
from citeqa.eval import corpora, datasets, metrics, observe  # noqa: E402
from citeqa.fsutil import atomic_write_text  # noqa: E402
from citeqa.question import clean_question, resolve_followup  # noqa: E402
from citeqa.search.features import FEATURES, feature_matrix  # noqa: E402
from citeqa.search.rerank import reranker_scores, softmax  # noqa: E402

WEIGHTS_FILE = REPO / "src" / "citeqa" / "data" / "reranker.json"
L2 = 1e-3
SEED = 0


DATASETS = ("squad11", "squad2", "news")


@dataclass
class Pool:
    """The candidates of every stand-alone answerable question of one corpus (both halves).

    Conversations count with their first turn (asked alone, as ``citeqa eval`` asks it).
    Question ``q`` owns candidate rows ``start[q]:start[q + 1]`` of ``x`` / ``ids`` / ``gold``.
    """

    name: str
    x: np.ndarray  # (candidates, len(FEATURES)) features, the product's gather order
    ids: np.ndarray  # (candidates,) sentence rows
    gold: np.ndarray  # (candidates,) a right sentence
    start: np.ndarray  # (questions + 1,) offsets
    half: np.ndarray  # (questions,) "fit" / "report"
    doc: np.ndarray  # (questions,) file name of the document that answers it

    def questions(self, keep) -> list[int]:  # type: ignore[no-untyped-def]
        """Question numbers whose ``(half, doc)`` ``keep`` accepts."""
        return [q for q in range(self.half.shape[0]) if keep(str(self.half[q]), str(self.doc[q]))]

    def groups(self, keep, weight: float):  # type: ignore[no-untyped-def]
        """Fit groups ``(features, gold positions, weight)`` of the accepted questions whose gold is a candidate."""
        out = []
        for q in self.questions(keep):
            a, b = self.start[q], self.start[q + 1]
            where = np.flatnonzero(self.gold[a:b])
            if where.size:
                out.append((self.x[a:b], where, weight))
        return out

    def ranks(self, keep, weights, mlp=None) -> list[int | None]:  # type: ignore[no-untyped-def]
        """1-based rank of the first right sentence in the top 10 under a model (None: not there).

        The product's order (``rerank``: softmax, stable sort); ``rerank``'s lazy answer
        types keep the same top 10, so this is the product's ranking.
        """
        out: list[int | None] = []
        for q in self.questions(keep):
            a, b = self.start[q], self.start[q + 1]
            if a == b:
                out.append(None)
                continue
            scores = softmax(reranker_scores(self.x[a:b], weights, mlp))
            order = np.argsort(-scores, kind="stable")[:10]
            out.append(metrics.first_hit_rank(order, np.flatnonzero(self.gold[a:b])))
        return out


def source_digest() -> str:
    """Digest of the sources that decide candidates and features (not the reranker weights)."""
    import citeqa.embed.wordpieces as wordpieces_module
    import citeqa.index as index_module
    import citeqa.question as question_module
    import citeqa.search as search_package
    import citeqa.text as text_module

    parts = [Path(str(m.__file__)).read_text(encoding="utf-8") for m in (question_module, text_module, index_module, wordpieces_module)]
    parts += [f.read_text(encoding="utf-8") for f in sorted(Path(str(search_package.__file__)).parent.glob("*.py"))]
    return corpora.digest("\0".join(parts))[:16]


def asked_questions(corpus: corpora.Corpus) -> list[tuple[str, str, corpora.Turn, str, str]]:
    """``(kind, half, first turn, cleaned question, query)`` of every case, as ``citeqa eval`` asks them alone.

    Every case, negatives too, in corpus order: ``citeqa eval`` embeds all of them in one
    batch, and the int8 embedder's vectors depend a little on the batch they are in.
    """
    out = []
    for case in corpus.cases:
        try:
            q = clean_question(case.question)
        except CiteqaError:
            continue
        out.append((case.kind, case.half, case.turns[0], q, resolve_followup(q, None)))
    return out


ASKED_KINDS = (corpora.ANSWERABLE, corpora.CONVERSATION)


def collect_pool(corpus: corpora.Corpus, cache: Path, log) -> Pool:  # type: ignore[no-untyped-def]
    """Gather the candidates of ``corpus``'s answerable questions through the product (cached as .npz by content and code)."""
    key = corpora.digest(repr((source_digest(), corpus.documents, corpus.cases, "batch of every case")))[:16]
    saved = cache / f"rerank-pool-{corpus.name}-{key}.npz"
    if saved.is_file():
        with np.load(saved, allow_pickle=False) as f:
            return Pool(corpus.name, f["x"], f["ids"], f["gold"], f["start"], f["half"], f["doc"])
    asker = observe.Asker(observe.corpus_index(corpus.documents, cache, None, log))
    asked = asked_questions(corpus)
    started = time.perf_counter()
    vectors = asker.index.embedder.encode([query for *_, query in asked])
    items = [(half, turn.doc, q, query, asker.gold_rows(turn), vector) for (kind, half, turn, q, query), vector in zip(asked, vectors) if kind in ASKED_KINDS]
    xs, ids, golds, sizes = [], [], [], []
    for _, _, q, query, gold, vector in items:
        cands, context = asker.ranker.gather(query, vector, question=q)
        xs.append(feature_matrix(context))
        ids.append(cands)
        golds.append(np.isin(cands, sorted(gold)))
        sizes.append(cands.shape[0])
    log(f"  {corpus.name}: gathered the candidates of {len(items)} questions in {time.perf_counter() - started:.0f}s")
    pool = Pool(
        corpus.name, np.vstack(xs), np.concatenate(ids), np.concatenate(golds), np.concatenate([[0], np.cumsum(sizes)]),
        np.array([i[0] for i in items]), np.array([i[1] for i in items]),
    )
    tmp = saved.with_name(saved.name + ".tmp.npz")
    np.savez(tmp, x=pool.x, ids=pool.ids, gold=pool.gold, start=pool.start, half=pool.half, doc=pool.doc)
    os.replace(tmp, saved)
    return pool


def load_corpus(name: str, args) -> corpora.Corpus:  # type: ignore[no-untyped-def]
    if name == "news":
        return corpora.load_news(args.news)
    return corpora.load_squad(args.squad if name == "squad11" else args.squad2, name)


def fit_parts(corpus: corpora.Corpus) -> tuple[set[str], set[str]]:
    """The fit half's documents in two parts for cross-validation (groups kept whole).

    SQuAD: fit articles sorted by title, alternating, so an article is in the same part in
    SQuAD 1.1 and 2.0 (the files number their articles differently). News: the similar
    pairs stay together (:func:`corpora.cross_document_groups`).
    """
    if corpus.name == "news":
        a, b = corpora.cross_document_groups(corpus, corpora.FIT)
        return set(a), set(b)
    names = sorted(corpus.documents_in(corpora.FIT), key=lambda n: n.split("-", 1)[1])
    return set(names[0::2]), set(names[1::2])


def gold_queries(cases):  # type: ignore[no-untyped-def]
    """(position, query, question, answers) of every answerable question and follow-up turn.

    Follow-up turns are resolved against the previous turn the way the product does
    (with a history whose answer is the first turn's gold answer string).
    """
    out = []
    for position, case in enumerate(cases):
        if case.kind == "answerable":
            q = clean_question(case.question)
            out.append((position, q, q, case.answers))
        elif case.kind == "followup":
            history: list[dict[str, str]] = []
            for question, answers in case.turns:
                q = clean_question(question)
                out.append((position, resolve_followup(q, history or None), q, answers))
                history = history + [{"role": "user", "content": question}, {"role": "assistant", "content": answers[0] if answers else ""}]
    return out


def collect_gold(index, cases, keep, weight):  # type: ignore[no-untyped-def]
    """Feature matrices of the gold-file queries whose case position ``keep`` accepts."""
    texts = [index.ranker.text(i) for i in range(len(index.ranker))]
    groups = []
    for position, query, question, answers in gold_queries(cases):
        if not keep(position):
            continue
        gold = metrics.rows_containing(answers, texts)
        vector = index.embedder.encode([query])[0]
        ids, context = index.ranker.gather(query, vector, question=question)
        where = np.flatnonzero(np.isin(ids, sorted(gold)))
        if where.size:
            groups.append((feature_matrix(context), where, weight))
    return groups


def loss_and_grad(w: np.ndarray, groups) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    total, grad = 0.0, np.zeros_like(w)
    n = 0.0
    for x, gold, weight in groups:
        s = x @ w
        s = s - s.max()
        p = np.exp(s)
        p /= p.sum()
        p_gold = p[gold].sum()
        total -= weight * np.log(p_gold + 1e-12)
        # d(-log sum_g p_g)/dw = E_p[x] - E_{p restricted to gold}[x]
        grad -= weight * ((p[gold] / max(p_gold, 1e-12)) @ x[gold] - p @ x)
        n += weight
    return total / n + L2 * float(w @ w), grad / n + 2 * L2 * w


def pack(groups):  # type: ignore[no-untyped-def]
    """Stack the groups into one matrix with per-row query ids, gold flags and query weights."""
    x = np.vstack([g[0] for g in groups])
    sizes = np.array([g[0].shape[0] for g in groups])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gold = np.zeros(x.shape[0], dtype=bool)
    for start, (_, where, _) in zip(starts, groups):
        gold[start + where] = True
    return x, gold, np.repeat(np.arange(len(groups)), sizes), np.array([g[2] for g in groups], dtype=np.float64)


def unpack_mlp(theta: np.ndarray, d: int, hidden: int):  # type: ignore[no-untyped-def]
    """(hidden weights d×H, hidden bias H, output H, linear d) from the flat parameter vector."""
    cut = np.cumsum([d * hidden, hidden, hidden])
    w1, b1, w2, v = np.split(theta, cut)
    return w1.reshape(d, hidden), b1, w2, v


def mlp_forward(theta: np.ndarray, x: np.ndarray, hidden: int):  # type: ignore[no-untyped-def]
    w1, b1, w2, v = unpack_mlp(theta, x.shape[1], hidden)
    h = np.tanh(x @ w1 + b1)
    return h @ w2 + x @ v, h


def mlp_loss_and_grad(theta: np.ndarray, packed, hidden: int, l2: float):  # type: ignore[no-untyped-def]
    """Listwise softmax loss of the linear + hidden-layer model over standardized features."""
    x, gold, qid, qw = packed
    nq = qw.shape[0]
    s, h = mlp_forward(theta, x, hidden)
    top = np.full(nq, -np.inf)
    np.maximum.at(top, qid, s)
    e = np.exp(s - top[qid])
    z, z_gold = np.bincount(qid, e, nq), np.bincount(qid, e * gold, nq)
    loss = -float((qw * np.log(z_gold / z + 1e-12)).sum() / qw.sum())
    ds = qw[qid] * (e / z[qid] - np.where(gold, e / np.maximum(z_gold[qid], 1e-300), 0.0)) / qw.sum()
    _, _, w2, _ = unpack_mlp(theta, x.shape[1], hidden)
    dh = np.outer(ds, w2) * (1 - h * h)
    grad = np.concatenate([(x.T @ dh).ravel(), dh.sum(0), h.T @ ds, x.T @ ds])
    return loss + l2 * float(theta @ theta), grad + 2 * l2 * theta


def fit_mlp(groups, linear: np.ndarray, hidden: int, l2: float):  # type: ignore[no-untyped-def]
    """Fit the hidden layer jointly with the linear part; returns (mlp JSON dict, raw-feature linear weights)."""
    x, gold, qid, qw = pack(groups)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    d = x.shape[1]
    rng = np.random.default_rng(SEED)
    theta0 = np.concatenate([rng.normal(0, 0.1, d * hidden), np.zeros(hidden), rng.normal(0, 0.1, hidden), linear * scale])
    packed = ((x - mean) / scale, gold, qid, qw)
    result = minimize(mlp_loss_and_grad, theta0, args=(packed, hidden, l2), jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    w1, b1, w2, v = unpack_mlp(result.x, d, hidden)
    mlp = {
        "mean": {name: round(float(m), 6) for name, m in zip(FEATURES, mean)},
        "scale": {name: round(float(s), 6) for name, s in zip(FEATURES, scale)},
        "hidden": {name: [round(float(a), 6) for a in row] for name, row in zip(FEATURES, w1)},
        "hidden_bias": [round(float(a), 6) for a in b1],
        "output": [round(float(a), 6) for a in w2],
    }
    return mlp, v / scale, float(result.fun)


def fit(groups, hidden: int, l2_hidden: float):  # type: ignore[no-untyped-def]
    """Fit the linear model from RRF alone, then (``hidden`` > 0) the hidden layer with it; returns (weights dict, mlp or None, loss)."""
    w0 = np.zeros(len(FEATURES))
    w0[FEATURES.index("rrf")] = 10.0
    result = minimize(loss_and_grad, w0, args=(groups,), jac=True, method="L-BFGS-B")
    w, mlp, loss = result.x, None, float(result.fun)
    if hidden > 0:
        mlp, w, loss = fit_mlp(groups, w, hidden, l2_hidden)
    return {name: float(value) for name, value in zip(FEATURES, w)}, mlp, loss


def summary(ranks) -> str:  # type: ignore[no-untyped-def]
    m = metrics.ranking_metrics(ranks)
    return f"n {int(m['n']):>4} [1] {m['r@1']:.3f} top3 {m['r@3']:.3f} MRR@10 {m['mrr@10']:.3f}"


def training_groups(pools, weights, keep_doc):  # type: ignore[no-untyped-def]
    """Fit groups of every pool with a weight > 0: fit-half questions whose document ``keep_doc(pool, doc)`` accepts."""
    groups = []
    for name, pool in pools.items():
        if weights.get(name, 0.0) > 0:
            groups += pool.groups(lambda h, d, n=name: h == corpora.FIT and keep_doc(n, d), weights[name])
    return groups


def parse_grid(text: str) -> list[dict[str, float]]:
    """``"news=0,10;squad2=0,1"`` -> every combination (SQuAD 1.1 weight 1 unless named)."""
    axes: dict[str, list[float]] = {"squad11": [1.0]}
    for part in filter(None, text.split(";")):
        name, _, values = part.partition("=")
        if name.strip() not in DATASETS:
            raise SystemExit(f"--cv: unknown dataset {name.strip()!r} (expected one of {', '.join(DATASETS)})")
        axes[name.strip()] = [float(v) for v in values.split(",")]
    combos: list[dict[str, float]] = [{}]
    for name, values in axes.items():
        combos = [{**c, name: v} for c in combos for v in values]
    return combos


def cross_validate(pools, corpora_by_name, grid, hidden: int, l2_hidden: float, log) -> list:  # type: ignore[no-untyped-def]
    """Two folds within the fit halves: fit on one part of every fit half's documents, score the other part, swap.

    Prints each dataset's pooled figures for every weight combination of ``grid``; report
    halves are never looked at.
    """
    parts = {name: fit_parts(corpora_by_name[name]) for name in pools}
    for name in pools:
        log(f"  {name} fit-half parts: {sorted(parts[name][0])} | {sorted(parts[name][1])}")
    results = []
    for combo in grid:
        ranks: dict[str, list[int | None]] = {name: [] for name in pools}
        started = time.perf_counter()
        for fold in (0, 1):
            groups = training_groups(pools, combo, lambda n, d, f=fold: d in parts[n][f])
            weights, mlp, _ = fit(groups, hidden, l2_hidden)
            for name, pool in pools.items():
                ranks[name] += pool.ranks(lambda h, d, n=name, f=fold: h == corpora.FIT and d in parts[n][1 - f], weights, mlp)
        label = ", ".join(f"{k} {v:g}" for k, v in combo.items())
        log(f"cv [{label}] ({time.perf_counter() - started:.0f}s)")
        for name in pools:
            log(f"    {name:<8} {summary(ranks[name])}")
        results.append((combo, {name: metrics.ranking_metrics(r) for name, r in ranks.items()}))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(config.default_squad_path()))
    parser.add_argument("--squad2", default=str(config.default_squad2_path()))
    parser.add_argument("--news", default=str(config.default_news_path()))
    parser.add_argument("--cache", default=str(config.eval_cache_dir()))
    parser.add_argument("--squad-weight", type=float, default=1.0, help="weight of one SQuAD 1.1 fit-half question (0: not used, e.g. to fit on news only)")
    parser.add_argument("--news-weight", type=float, default=0.0, help="weight of one news fit-half question relative to one SQuAD 1.1 question (0: not used)")
    parser.add_argument("--squad2-weight", type=float, default=0.0, help="weight of one SQuAD 2.0 fit-half answerable question (0: not used)")
    parser.add_argument("--cv", default=None, metavar="GRID", help='cross-validate weights within the fit halves, e.g. "news=0,10,30;squad2=0,1" (fits nothing to ship)')
    parser.add_argument("--gold", default=None, help="gold JSONL file (default: the shipped article's)")
    parser.add_argument("--gold-weight", type=float, default=0.0, help="weight of one gold-file query relative to one SQuAD question (0: SQuAD only)")
    parser.add_argument("--hidden", type=int, default=4, help="hidden units of the non-linear part (0: linear reranker)")
    parser.add_argument("--l2-hidden", type=float, default=1e-2, help="L2 penalty of the hidden-layer fit")
    parser.add_argument("--write", action="store_true", help="store the weights in src/citeqa/data/reranker.json")
    parser.add_argument("--out", default=None, help="write the weights JSON here instead (with --write's content)")
    args = parser.parse_args()

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    corpora_by_name = {name: load_corpus(name, args) for name in DATASETS}
    pools = {name: collect_pool(corpora_by_name[name], cache, print) for name in DATASETS}
    for name, pool in pools.items():
        fit_q = pool.questions(lambda h, d: h == corpora.FIT)
        print(f"{name}: {len(fit_q)} fit-half questions, {len(pool.groups(lambda h, d: h == corpora.FIT, 1.0))} with a right sentence among the candidates")
    if args.cv:
        cross_validate(pools, corpora_by_name, parse_grid(args.cv), args.hidden, args.l2_hidden, print)
        return 0

    weights_by_name = {"squad11": args.squad_weight, "squad2": args.squad2_weight, "news": args.news_weight}
    groups = training_groups(pools, weights_by_name, lambda n, d: True)
    gold_fit: list = []
    if args.gold_weight > 0:
        article = Index.load(default_index_path())
        gold_fit = collect_gold(article, datasets.load_gold(args.gold), lambda p: p % 2 == 0, args.gold_weight)
        groups += gold_fit
    started = time.perf_counter()
    weights, mlp, loss = fit(groups, args.hidden, args.l2_hidden)
    print(f"fitted on {len(groups)} queries in {time.perf_counter() - started:.0f}s (loss {loss:.4f}); fit halves (training figures):")
    for name, pool in pools.items():
        print(f"  {name:<8} {summary(pool.ranks(lambda h, d: h == corpora.FIT, weights, mlp))}")
    for name, value in weights.items():
        print(f"  {name:<18} {value:+.3f}")
    if args.write or args.out:
        target = Path(args.out) if args.out else WEIGHTS_FILE
        data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")) if WEIGHTS_FILE.is_file() else {}
        data["weights"] = {name: round(value, 6) for name, value in weights.items()}
        if mlp is None:
            data.pop("mlp", None)
        else:
            data["mlp"] = mlp
        used = [
            f"{label} fit half ({corpora.FIT} documents of src/citeqa/eval/corpora.py): {len(pools[name].groups(lambda h, d: h == corpora.FIT, 1.0))} answerable questions weighted {weights_by_name[name]:g}"
            for name, label in (("squad11", "SQuAD v1.1 dev tune"), ("squad2", "SQuAD v2.0 dev tune"), ("news", "news-dev"))
            if weights_by_name[name] > 0
        ]
        if gold_fit:
            used.append(f"the gold file's even-position cases: {len(gold_fit)} queries weighted {args.gold_weight:g}")
        data["fitted_on"] = (
            "; ".join(used) + " (report halves never fitted on)"
            + "; listwise softmax loss, L2 1e-3"
            + (f"; hidden layer of {args.hidden} tanh units, L2 {args.l2_hidden:g}" if mlp is not None else "")
            + "; benchmarks/fit_reranker.py"
        )
        data.pop("note", None)
        atomic_write_text(target, json.dumps(data, indent=2) + "\n")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
