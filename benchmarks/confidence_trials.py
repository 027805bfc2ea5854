"""Trials on the answerability model and ranking that were measured and not kept: fit mix, WordNet, soft matching.

Usage (from the repository root; the observations are the cached ones of
``benchmarks/answerability.py``, same options):
    PYTHONPATH=src python benchmarks/confidence_trials.py [--squad PATH] [--squad2 PATH]
        [--news DIR] [--gold FILE] [--cache DIR] [--wordnet DIR] [--sections N ...]

1. **Fit mix** (calibration): the shipped model weighs the fit halves of SQuAD 1.1, SQuAD 2.0
   and news the same. SQuAD 1.1 and 2.0 hold the same articles and nearly the same answerable
   questions; they differ in the share and kind of unanswerable ones (other documents' questions
   vs. human-written near misses). One probability cannot be calibrated for both: the table
   prints each report half's expected calibration error (10 bins, label "[1] right") for fits
   that leave one dataset out or weigh rows differently.
2. **WordNet synonyms** (issue #11, item 5): a question word counts as known to the corpus, or
   as present in citation [1], when a WordNet 3.0 synonym (any sense, one-word lemmas and their
   derivations) is. Needs ``nltk`` and the WordNet 3.0 files under ``DIR/corpora/wordnet``
   (Debian ``wordnet-base`` + ``wordnet-sense-index``, plus the 45-line ``lexnames`` file);
   skipped with a message otherwise.
3. **Soft word matching**: the same two features with a question word matched by the cosine of
   all-MiniLM-L6-v2's input word-piece embeddings (war~conflict 0.38, goal~aim 0.37, old~aged
   0.45; unrelated pairs 0.02-0.17): unknown when no corpus word reaches 0.35, and the IDF-weighted
   best cosine to [1]'s words (1 for the word itself).

4. **Soft matching in the ranking**: ``alpha x`` the soft coverage of each of the top 10 (cosine
   0.2 -> 0, 0.5 -> 1 per word, IDF-weighted) added to the log of its final score; [1] right and
   MRR@10 per half for each alpha (choose alpha on the fit halves).
5. **Soft coverage as a fitted reranker feature** (shipped since: the ``soft_coverage`` column of
   :mod:`citeqa.search.features`, fitted with the hidden layer; README figures): the candidate
   stage's features of every answerable question (``benchmarks/fit_reranker.py``'s pools, cached
   beside the observations); a *linear* listwise reranker fitted with and without that column on
   the fit halves (SQuAD 1.1 only, as shipped; and SQuAD 1.1 + news x 10), scored on every half.
   The shipped reranker adds a hidden layer, so only the difference is meaningful.

Each variant of 2 and 3 is fitted on the fit halves only; its threshold is the fit-half one
(<= 5% false abstention on each fit half).

Every figure is printed for the fit halves (where a choice may be made) and the report halves.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from answerability import (  # benchmarks/answerability.py, beside this script
    add_dataset_arguments,
    load_datasets,
)

from citeqa.answer.confidence import (
    _idf_weights as idf_weights,  # the confidence features' IDF weights
)
from citeqa.embed import get_embedder
from citeqa.eval import answerability as ans
from citeqa.eval import corpora, observe
from citeqa.text import tokenize, words

FITTED = ("squad11", "squad2", "news")
SHOWN = ("squad11", "squad2", "news", "gold")
NEGATIVE = ("off-topic", "near-topic", "impossible", "other-doc")


def weights_for(dataset: np.ndarray, fit: np.ndarray, y: np.ndarray, mix: str, used: Sequence[str]) -> np.ndarray:
    """Row weights of a fit mix: "dataset" (each dataset the same in total, as shipped), "rows" (1 each),
    "dataset x label" (each dataset's right and wrong rows the same in total); 0 outside ``used``'s fit halves."""
    w = np.zeros(len(y))
    rows = fit & np.isin(dataset, list(used))
    for d in used:
        if mix == "rows":
            w[rows & (dataset == d)] = 1.0
        elif mix == "dataset":
            w[rows & (dataset == d)] = 1.0 / max(1, int(np.sum(rows & (dataset == d))))
        else:
            for label in (0, 1):
                part = rows & (dataset == d) & (y == label)
                w[part] = 1.0 / max(1, int(part.sum()))
    return w * (rows.sum() / w.sum())


def fit_and_score(x: np.ndarray, y: np.ndarray, w: np.ndarray, meta: dict[str, np.ndarray], features: Sequence[str]) -> list[str]:
    rows = w > 0
    model = ans.fit_model(x[rows], y[rows], w[rows], features=tuple(features))
    p = model.confidence(x)
    dataset, half, kind = meta["dataset"], meta["half"], meta["kind"]
    groups = {d: p[rows & (dataset == d) & (kind == "answerable") & (y == 1)] for d in FITTED if np.any(rows & (dataset == d))}
    threshold = ans.pick_threshold(groups, 0.05)
    cells = [f"thr {threshold:.3f}"]
    for h in corpora.HALVES:
        for d in SHOWN:
            part = (dataset == d) & (half == h)
            if not part.any():
                continue
            right = part & (kind == "answerable") & (y == 1)
            negative = part & np.isin(kind, NEGATIVE)
            cells.append(
                f"{d}/{h}: negatives {np.mean(p[negative] < threshold):.1%}, FA {np.mean(p[right] < threshold):.1%}, "
                f"ECE {ans.expected_calibration_error(p[part], y[part]):.3f}"
            )
    return cells


def wordnet_lookup(root: str) -> Callable[[str], set[str]] | str:
    """A word -> its synonyms' tokens function, or why WordNet cannot be read."""
    if not (Path(root) / "corpora" / "wordnet" / "lexnames").is_file():
        return f"no WordNet 3.0 files (with lexnames) under {root}/corpora/wordnet"
    os.environ["NLTK_DATA"] = root
    try:
        from nltk.corpus import wordnet
        wordnet.ensure_loaded()
    except (ImportError, LookupError, OSError) as error:
        return f"cannot read WordNet through nltk: {error}"
    cache: dict[str, set[str]] = {}

    def synonyms(word: str) -> set[str]:
        if word not in cache:
            found: set[str] = set()
            for synset in wordnet.synsets(word):
                for lemma in synset.lemmas():
                    for form in (lemma, *lemma.derivationally_related_forms()):
                        if "_" not in form.name():
                            found.update(tokenize(form.name()))
            cache[word] = found
        return cache[word]

    return synonyms


def wordnet_features(observations: Sequence[observe.Obs], synonyms: Callable[[str], set[str]]) -> np.ndarray:
    """Per observation: unknown share, coverage of [1] and of its paragraph, each with synonyms counted."""
    out = np.zeros((len(observations), 3))
    for i, o in enumerate(observations):
        ranker = o.extra["ranker"]
        idf = ranker.idf
        forms: dict[str, set[str]] = {}
        for word in words(o.query):
            for token in tokenize(word):
                forms.setdefault(token, {token}).update(synonyms(word.lower()))
        weight = idf_weights(list(forms), idf)
        total = sum(weight.values())
        if not total:
            continue
        ids = list(o.ranking.ids[:1])
        first = set(tokenize(ranker.text(int(ids[0])))) if ids else set()
        context = set(tokenize(ranker.paragraph_text(int(ids[0])) + " " + ranker.title_text(int(ids[0])))) if ids else set()
        out[i] = (
            1.0 - sum(w for t, w in weight.items() if any(f in idf for f in forms[t])) / total,
            sum(w for t, w in weight.items() if not forms[t].isdisjoint(first)) / total,
            sum(w for t, w in weight.items() if not forms[t].isdisjoint(context)) / total,
        )
    return out


SOFT_KNOWN = 0.35
ALPHAS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0)


class SoftMatcher:
    """Question words matched to a text's words by the cosine of MiniLM's input word-piece embeddings (the product's table)."""

    def __init__(self) -> None:
        from citeqa.embed.wordpieces import word_pieces
        from citeqa.text import STOPWORDS

        pieces = word_pieces()
        self.table, self.piece, self.stop = pieces.vectors, pieces.row, STOPWORDS

    def content(self, text: str) -> set[str]:
        return {w for w in words(text) if w not in self.stop and len(w) > 1}

    def best(self, asked: Sequence[str], present: set[str]) -> np.ndarray:
        """Per asked word: 1 when present, else its best cosine to a present word (0 outside the word-piece vocabulary)."""
        known = sorted(w for w in present if w in self.piece)
        matrix = self.table[[self.piece[w] for w in known]] if known else None
        return np.array([
            1.0 if w in present else float(np.max(matrix @ self.table[self.piece[w]])) if matrix is not None and w in self.piece else 0.0
            for w in asked
        ])

    def weights(self, asked: Sequence[str], idf: Any) -> np.ndarray:
        first = {w: tokenize(w)[:1] for w in asked}
        weight = idf_weights([t for tokens in first.values() for t in tokens], idf)
        return np.array([weight[first[w][0]] if first[w] else 0.0 for w in asked]) + 1e-9


def soft_features(observations: Sequence[observe.Obs], soft: SoftMatcher) -> np.ndarray:
    """Per observation: soft unknown share and soft coverage of [1]."""
    corpus_words: dict[int, set[str]] = {}
    out = np.zeros((len(observations), 2))
    for i, o in enumerate(observations):
        ranker = o.extra["ranker"]
        if id(ranker) not in corpus_words:
            corpus_words[id(ranker)] = set().union(*(soft.content(ranker.text(row)) for row in range(len(ranker))))
        asked = sorted(soft.content(o.query))
        if not asked:
            continue
        weight = soft.weights(asked, ranker.idf)
        ids = list(o.ranking.ids[:1])
        first = soft.best(asked, soft.content(ranker.text(int(ids[0])))) if ids else np.zeros(len(asked))
        out[i] = (weight @ (soft.best(asked, corpus_words[id(ranker)]) < SOFT_KNOWN) / weight.sum(), weight @ first / weight.sum())
    return out


def soft_rescoring(observations: Sequence[observe.Obs], soft: SoftMatcher) -> None:
    """[1] right and MRR@10 when ``alpha x`` soft coverage (cosine 0.2 -> 0, 0.5 -> 1) is added to the log of the final score of the top 10."""
    results: dict[tuple[str, str, str], list[list[float]]] = {}
    for o in observations:
        if o.kind not in ("answerable", "followup"):
            continue
        ranker = o.extra["ranker"]
        asked = sorted(soft.content(o.query))
        ids = [int(i) for i in o.ranking.ids[:10]]
        if not asked or not ids:
            continue
        weight = soft.weights(asked, ranker.idf)
        coverage = np.array([weight @ np.clip((soft.best(asked, soft.content(ranker.text(i))) - 0.2) / 0.3, 0, 1) / weight.sum() for i in ids])
        base = np.log(np.maximum(np.asarray(o.ranking.scores[: len(ids)], dtype=np.float64), 1e-9))
        row = []
        for alpha in ALPHAS:
            order = list(np.argsort(-(base + alpha * coverage), kind="stable"))
            row.append(1.0 / (order.index(o.rank - 1) + 1) if o.rank and o.rank <= len(ids) else 0.0)
        results.setdefault((o.dataset, o.half, o.kind), []).append(row)
    print("alpha: " + " ".join(f"{a:>13}" for a in ALPHAS) + "   ([1] right / MRR@10)")
    for (dataset, half, kind), rows in sorted(results.items()):
        values = np.array(rows)
        cells = " ".join(f"{np.mean(values[:, j] == 1):6.1%}/{values[:, j].mean():.3f}" for j in range(len(ALPHAS)))
        print(f"{dataset}/{half}{' follow-ups' if kind == 'followup' else ''} (n={len(rows)}): {cells}")


def soft_reranker_trial(cache: Path, args: argparse.Namespace) -> None:
    """Section 5: a linear listwise reranker with and without the soft-coverage column."""
    import fit_reranker  # benchmarks/fit_reranker.py, beside this script
    from scipy.optimize import minimize

    from citeqa.eval import metrics
    from citeqa.search.features import FEATURES as CANDIDATE_FEATURES

    soft_column = CANDIDATE_FEATURES.index("soft_coverage")
    pools = {
        name: fit_reranker.collect_pool(corpus, cache, print)
        for name, corpus in (("squad11", corpora.load_squad(args.squad, "squad11")), ("squad2", corpora.load_squad(args.squad2, "squad2")), ("news", corpora.load_news(args.news)))
    }

    def matrix(name: str, with_soft: bool) -> np.ndarray:
        x = pools[name].x
        return x if with_soft else np.delete(x, soft_column, axis=1)

    for label, weights in (("SQuAD 1.1 fit half (as shipped)", {"squad11": 1.0}), ("SQuAD 1.1 + news x 10", {"squad11": 1.0, "news": 10.0})):
        for with_soft in (False, True):
            groups = []
            for name, weight in weights.items():
                pool, x = pools[name], matrix(name, with_soft)
                for q in pool.questions(lambda h, d: h == corpora.FIT):
                    a, b = pool.start[q], pool.start[q + 1]
                    gold = np.flatnonzero(pool.gold[a:b])
                    if gold.size:
                        groups.append((x[a:b], gold, weight))
            start = np.zeros(len(CANDIDATE_FEATURES) - 1 + int(with_soft))
            start[CANDIDATE_FEATURES.index("rrf")] = 10.0  # (before the soft column)
            w = minimize(fit_reranker.loss_and_grad, start, args=(groups,), jac=True, method="L-BFGS-B").x
            print(f"{label}, {'with soft coverage (weight ' + format(w[soft_column], '+.2f') + ')' if with_soft else 'without'}:")
            for name, pool in pools.items():
                x = matrix(name, with_soft)
                for half in corpora.HALVES:
                    ranks = []
                    for q in pool.questions(lambda h, d, half=half: h == half):
                        a, b = pool.start[q], pool.start[q + 1]
                        order = np.argsort(-(x[a:b] @ w), kind="stable")[:10]
                        ranks.append(metrics.first_hit_rank(order, np.flatnonzero(pool.gold[a:b])) if b > a else None)
                    print(f"  {name}/{half}: {fit_reranker.summary(ranks)}")


def compare(x: np.ndarray, y: np.ndarray, meta: dict[str, np.ndarray], extra: np.ndarray, names: tuple[str, str]) -> None:
    """The shipped features against the unknown share replaced, the coverage added, and both."""
    unknown = ans.FEATURES.index("unknown_share")
    replaced = x.copy()
    replaced[:, unknown] = extra[:, 0]
    variants = {
        "shipped features": (x, ans.FEATURES),
        f"unknown share {names[0]}": (replaced, ans.FEATURES),
        f"plus coverage {names[1]}": (np.column_stack([x, extra[:, 1:]]), (*ans.FEATURES, *(f"extra{j}" for j in range(1, extra.shape[1])))),
        "both": (np.column_stack([replaced, extra[:, 1:]]), (*ans.FEATURES, *(f"extra{j}" for j in range(1, extra.shape[1])))),
    }
    w = weights_for(meta["dataset"], meta["half"] == corpora.FIT, y, "dataset", FITTED)
    for label, (matrix, features) in variants.items():
        print(f"{label}:\n  " + "\n  ".join(fit_and_score(matrix, y, w, meta, features)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.add_argument("--wordnet", default=os.environ.get("NLTK_DATA", str(Path.home() / "nltk_data")), help="nltk data root holding corpora/wordnet")
    parser.add_argument("--sections", type=int, nargs="+", choices=range(1, 6), default=list(range(1, 6)), help="which trials to run (default: all)")
    args = parser.parse_args(argv)
    soft = SoftMatcher() if {3, 4} & set(args.sections) else None
    if {1, 2, 3, 4} & set(args.sections):
        observation_trials(args, soft)
    if 5 in args.sections:
        print("\n== 5. soft coverage as a feature of a fitted (linear) reranker ==")
        soft_reranker_trial(Path(args.cache), args)
    return 0


def observation_trials(args: argparse.Namespace, soft: SoftMatcher | None) -> None:
    """Sections 1-4, on the cached observations of ``benchmarks/answerability.py``."""

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    observations = observe.collect(load_datasets(args), Path(args.cache), get_embedder(), log)
    x = np.array([o.features for o in observations], dtype=np.float64)
    y = np.array([1.0 if o.right1 else 0.0 for o in observations])
    meta = {
        "dataset": np.array([o.dataset for o in observations]),
        "half": np.array([o.half for o in observations]),
        "kind": np.array([o.kind for o in observations]),
    }
    fit = meta["half"] == corpora.FIT
    if 1 in args.sections:
        print("== 1. fit mix: who the model is fitted on, and each half's calibration ==")
        trials = [("dataset", FITTED, "shipped: each dataset the same")]
        trials += [("dataset", tuple(d for d in FITTED if d != left), f"without {left}") for left in FITTED]
        trials += [("rows", FITTED, "every row the same"), ("dataset x label", FITTED, "each dataset's right and wrong the same")]
        for mix, used, label in trials:
            print(f"{label}:\n  " + "\n  ".join(fit_and_score(x, y, weights_for(meta["dataset"], fit, y, mix, used), meta, ans.FEATURES)))
    if 2 in args.sections:
        print("\n== 2. WordNet synonyms in the unknown share and the coverage of [1] ==")
        synonyms = wordnet_lookup(args.wordnet)
        if isinstance(synonyms, str):
            print(f"skipped: {synonyms}")
        else:
            compare(x, y, meta, wordnet_features(observations, synonyms), ("with synonyms", "with synonyms of [1] and its paragraph"))
    if soft is not None and 3 in args.sections:
        print("\n== 3. soft word matching (MiniLM word-piece embeddings) ==")
        compare(x, y, meta, soft_features(observations, soft), ("soft", "soft of [1]"))
    if soft is not None and 4 in args.sections:
        print("\n== 4. soft coverage added to the final ranking score of the top 10 ==")
        soft_rescoring(observations, soft)

if __name__ == "__main__":
    raise SystemExit(main())
