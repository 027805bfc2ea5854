"""Fit the hybrid reranker's weights on the *fit* split of the SQuAD tune half.

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/fit_reranker.py [--squad PATH] [--cache DIR] [--write]

Every question of the fit split (articles at even positions; the odd ones stay held out
for ``citeqa eval``) is run through the product's candidate stage (``Ranker.gather``:
FAISS top-50 + BM25 top-50, with paragraph, neighbour and title evidence). A linear
model over :data:`citeqa.search.features.FEATURES` is fitted with a listwise softmax loss
(cross-entropy of the gold sentence among the query's candidates) and a small L2
penalty. ``--write`` stores the weights in ``src/citeqa/data/reranker.json`` (the
abstention thresholds already there are kept).

SQuAD questions mostly reuse the article's words, so a model fitted on SQuAD alone
leans on word overlap and under-uses the embedding for paraphrases and short news
documents. ``--gold-weight W`` (default 0: SQuAD only, the gold file stays fully held out) also fits on the *fit half* of the
gold file (cases at even positions: answerable questions and every turn of the
follow-ups, asked as the product asks them), each weighted W times a SQuAD question;
the odd half stays held out and is reported separately, next to the SQuAD held-out
split. A case whose answer string occurs in several sentences counts all of them as gold.
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

from citeqa import config  # noqa: E402
from citeqa.eval import datasets, harness, metrics  # noqa: E402
from citeqa import Index, default_index_path  # noqa: E402
from citeqa.question import clean_question, resolve_followup  # noqa: E402
from citeqa.search.features import FEATURES, feature_matrix
from citeqa.search.rerank import mlp_scores  # noqa: E402

WEIGHTS_FILE = REPO / "src" / "citeqa" / "data" / "reranker.json"
L2 = 1e-3
SEED = 0


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
        groups.append((feature_matrix(context), where, 1.0))
    return groups, missing


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


def top1(w: np.ndarray, groups, mlp=None) -> float:  # type: ignore[no-untyped-def]
    """Share of the groups whose best-scored candidate is a gold one."""
    if not groups:
        return 0.0
    return float(np.mean([np.argmax(x @ w + (0 if mlp is None else mlp_scores(x, mlp))) in set(g.tolist()) for x, g, _ in groups]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(config.default_squad_path()))
    parser.add_argument("--cache", default=str(config.eval_cache_dir()))
    parser.add_argument("--gold", default=None, help="gold JSONL file (default: the shipped article's)")
    parser.add_argument("--gold-weight", type=float, default=0.0, help="weight of one gold-file query relative to one SQuAD question (0: SQuAD only)")
    parser.add_argument("--hidden", type=int, default=4, help="hidden units of the non-linear part (0: linear reranker)")
    parser.add_argument("--l2-hidden", type=float, default=1e-2, help="L2 penalty of the hidden-layer fit")
    parser.add_argument("--write", action="store_true", help="store the weights in src/citeqa/data/reranker.json")
    args = parser.parse_args()

    index, questions, vectors = harness.squad_index(args.squad, args.cache, log=print)
    started = time.perf_counter()
    fit, fit_missing = collect(index, questions, vectors, lambda a: a % 2 == 0)
    held, held_missing = collect(index, questions, vectors, lambda a: a % 2 == 1)
    print(f"collected {len(fit)} fit / {len(held)} held-out queries ({fit_missing}/{held_missing} without the gold among candidates) in {time.perf_counter() - started:.0f}s")
    article = Index.load(default_index_path(), embedder=index.embedder)
    cases = datasets.load_gold(args.gold)
    gold_fit = collect_gold(article, cases, lambda p: p % 2 == 0, args.gold_weight)
    gold_held = collect_gold(article, cases, lambda p: p % 2 == 1, 1.0)
    print(f"gold file: {len(gold_fit)} fit / {len(gold_held)} held-out queries (weight {args.gold_weight:g})")
    squad_fit = fit
    if args.gold_weight > 0:
        fit = fit + gold_fit

    w0 = np.zeros(len(FEATURES))
    w0[FEATURES.index("rrf")] = 10.0
    def report(label: str, w: np.ndarray, mlp=None) -> None:  # type: ignore[no-untyped-def]
        print(
            f"{label}: SQuAD fit top-1 {top1(w, squad_fit, mlp):.3f}, SQuAD held-out top-1 {top1(w, held, mlp):.3f}, "
            f"gold fit-half top-1 {top1(w, gold_fit, mlp):.3f}, gold held-out-half top-1 {top1(w, gold_held, mlp):.3f}"
        )

    report("start (RRF only)", w0)
    if WEIGHTS_FILE.is_file():
        shipped_data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
        shipped = shipped_data["weights"]
        report("shipped weights", np.array([float(shipped.get(name, 0.0)) for name in FEATURES]), shipped_data.get("mlp"))
    result = minimize(loss_and_grad, w0, args=(fit,), jac=True, method="L-BFGS-B")
    w = result.x
    report(f"fitted linear (loss {result.fun:.4f})", w)
    mlp = None
    if args.hidden > 0:
        mlp, w, loss = fit_mlp(fit, w, args.hidden, args.l2_hidden)
        report(f"fitted linear + {args.hidden} hidden units (loss {loss:.4f})", w, mlp)
    for name, value in zip(FEATURES, w):
        print(f"  {name:<18} {value:+.3f}")
    if args.write:
        data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")) if WEIGHTS_FILE.is_file() else {}
        data["weights"] = {name: round(float(value), 6) for name, value in zip(FEATURES, w)}
        if mlp is None:
            data.pop("mlp", None)
        else:
            data["mlp"] = mlp
        data["fitted_on"] = (
            f"SQuAD v1.1 dev tune half, fit split (even-position articles): {len(squad_fit)} questions"
            + (
                f", plus the fit half of the gold file (even-position cases): {len(gold_fit)} queries weighted {args.gold_weight:g}"
                if args.gold_weight > 0
                else " (the gold file is not used: it stays fully held out)"
            )
            + "; listwise softmax loss, L2 1e-3"
            + (f"; hidden layer of {args.hidden} tanh units, L2 {args.l2_hidden:g}" if mlp is not None else "")
            + "; benchmarks/fit_reranker.py"
        )
        data.pop("note", None)
        WEIGHTS_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
