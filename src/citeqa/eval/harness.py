"""Evaluation harness: retrieval quality, follow-ups, abstention and latency, with baselines.

Two benchmarks, both run *through the product* (``build_index`` / ``Index.rank`` /
``Index.answer``) and always next to the BM25-only and dense-only baselines of the
same run:

* **Gold file** for the shipped article (``data/eval/lachin-gold.jsonl``): answerable
  questions worded as users ask them, unanswerable ones (off-topic and near-topic) and
  two-turn conversations. A retrieved sentence is correct when it contains one of the
  case's ``answers`` strings.
* **ReQA-style SQuAD** (Ahmad et al. 2019): every article of a SQuAD v1.1 file is one
  document (its title on the first line, then its paragraphs separated by blank lines),
  all in one index; the gold of a question is the sentence whose span holds the answer's
  ``answer_start``. Articles at even positions form the *fit* split (the reranker
  weights are fitted there, see ``benchmarks/fit_reranker.py``), odd ones the *held-out*
  split. The built index and the question vectors are cached, keyed by the file's sha256.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..answer.abstain import abstain_decision
from ..api import build_index, default_index
from ..config import default_squad_path, eval_cache_dir
from ..embed.base import encode_alone
from ..errors import InvalidArgumentError, SourceError
from ..fsutil import atomic_produce
from ..index import Index
from ..ingest.sources import sha256_file
from ..question import clean_question
from ..search.ranker import MODES
from .datasets import GoldCase, SquadQuestion, load_gold, squad_articles
from .metrics import first_hit_rank, ranking_metrics, rows_containing, sentence_at
from .observe import open_cached_index

# ---------------------------------------------------------------------- gold file


def _texts(index: Index) -> list[str]:
    return [index.hit(row, 0.0).text for row in range(len(index))]


def _history(question: str, reply: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]


def _median_ms(index: Index, questions: Sequence[str], modes: Sequence[str], repeats: int) -> dict[str, float]:
    """Median ms/query per mode, modes interleaved query by query so machine load hits both alike."""
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(repeats):
        for question in questions:
            for mode in modes:
                started = time.perf_counter()
                index.rank(question, 10, mode=mode)  # type: ignore[arg-type]
                times[mode].append((time.perf_counter() - started) * 1000)
    return {mode: statistics.median(values) for mode, values in times.items()}


def evaluate_gold(index: Index, cases: Sequence[GoldCase], *, latency_repeats: int = 3) -> dict[str, Any]:
    """Run the gold file against ``index`` in every mode (hybrid and the baselines).

    Returns:
        ``{"counts", "modes": {mode: {"answerable": metrics, "followup": metrics}},
        "followup_unresolved": metrics, "abstention": {...}, "latency_ms": {...}, "misses": [...]}``
    """
    texts = _texts(index)
    answerable = [c for c in cases if c.kind == "answerable"]
    unanswerable = [c for c in cases if c.kind == "unanswerable"]
    followups = [c for c in cases if c.kind == "followup"]
    for case in answerable + followups:
        for _, answers in case.turns or ((case.question, case.answers),):
            if not rows_containing(answers, texts):
                raise InvalidArgumentError(f"gold case {case.id}: no sentence contains any of {list(answers)}")

    # follow-up second turns, resolved the way the product resolves them
    second_turns = []
    for case in followups:
        (q1, _), (q2, answers) = case.turns[0], case.turns[1]
        first = index.answer(q1)
        history = _history(q1, first.text)
        second_turns.append((q2, answers, history))

    result: dict[str, Any] = {
        "counts": {"answerable": len(answerable), "unanswerable": len(unanswerable), "followups": len(followups)},
        "modes": {},
        "misses": [],
    }
    for mode in MODES:
        ranks = []
        for case in answerable:
            ranking = index.rank(clean_question(case.question), 10, mode=mode, question=case.question)
            rank = first_hit_rank(ranking.ids, rows_containing(case.answers, texts))
            ranks.append(rank)
            if mode == "hybrid" and rank != 1:
                result["misses"].append({"id": case.id, "question": case.question, "rank": rank})
        follow_ranks = []
        for q2, answers, history in second_turns:
            _, ranking = index.rank_turn(clean_question(q2), history, 10, mode=mode)  # type: ignore[arg-type]
            follow_ranks.append(first_hit_rank(ranking.ids, rows_containing(answers, texts)))
        result["modes"][mode] = {"answerable": ranking_metrics(ranks), "followup": ranking_metrics(follow_ranks)}
    unresolved = [
        first_hit_rank(index.rank(clean_question(q2), 10, question=q2).ids, rows_containing(answers, texts))
        for q2, answers, _ in second_turns
    ]
    result["followup_unresolved"] = ranking_metrics(unresolved)

    # abstention through the answer path
    false_abstain = [c.id for c in answerable if index.answer(c.question).abstained]
    false_abstain += [f"{c.id}/2" for c, (q2, _, history, _) in zip(followups, [(q, a, h, None) for q, a, h in second_turns]) if index.answer(q2, history).abstained]
    abstained = {c.id: index.answer(c.question).abstained for c in unanswerable}
    off = [c for c in unanswerable if c.topic != "near"]
    near = [c for c in unanswerable if c.topic == "near"]
    result["abstention"] = {
        "off_topic_abstained": sum(abstained[c.id] for c in off),
        "off_topic": len(off),
        "near_topic_abstained": sum(abstained[c.id] for c in near),
        "near_topic": len(near),
        "answerable_abstained": len(false_abstain),
        "answerable": len(answerable) + len(followups),
        "false_abstentions": false_abstain,
        "not_abstained": [c.id for c in unanswerable if not abstained[c.id]],
    }

    questions = [clean_question(c.question) for c in answerable]
    index.rank(questions[0], 10)  # warm up the model and the ranker
    medians = _median_ms(index, questions, ("hybrid", "dense"), latency_repeats)
    hybrid, dense = medians["hybrid"], medians["dense"]
    result["latency_ms"] = {"hybrid": hybrid, "dense": dense, "ratio": hybrid / dense if dense else float("nan"),
                            "queries": len(questions) * latency_repeats}
    return result


# ---------------------------------------------------------------------- SQuAD (ReQA)


def squad_index(
    path: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    limit: int | None = None,
    embedder: Any = None,
    log: Any = None,
) -> tuple[Index, list[SquadQuestion], np.ndarray]:
    """Build (or reuse from the cache) the index of a SQuAD file and the question vectors.

    The cache folder is keyed by the file's sha256 and ``limit``; a cached index is
    reused only if it still loads, verifies and holds the query embedder's vector space.

    Returns:
        The index, the questions with their gold rows, and the question vectors.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"SQuAD file not found: {path}; pass --squad PATH (e.g. ../shared/data/squad/dev-v1.1-tune.json)")
    key = f"squad-{sha256_file(path)[:16]}-{limit or 'all'}"
    root = Path(cache_dir) / key
    docs_dir, index_dir = root / "docs", root / "index"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read SQuAD file {path}: {exc}") from None
    articles = squad_articles(data, limit)
    index, _ = open_cached_index(index_dir, embedder)
    if index is None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        for name, text, _ in articles:
            (docs_dir / name).write_text(text, encoding="utf-8")
        if log:
            log(f"building the SQuAD index in {index_dir} (cached for later runs)")
        index = build_index([docs_dir], index_dir, embedder=embedder, show_progress=log is not None)
    names = [d.doc_id for d in index.documents]
    spans = index.spans
    questions = []
    for number, (name, _, qas) in enumerate(articles):
        doc = names.index(name)
        questions.extend(SquadQuestion(q, sentence_at(spans, doc, pos), number) for q, pos in qas)
    vectors_file = root / f"questions-alone-{index.embedder.space.replace('/', '_').replace('|', '_')}.npy"
    vectors = None
    if vectors_file.is_file():
        vectors = np.load(vectors_file, allow_pickle=False)
        if vectors.shape[0] != len(questions):
            vectors = None
    if vectors is None:
        vectors = encode_alone(index.embedder, [q.question for q in questions])
        atomic_produce(vectors_file, lambda tmp: np.save(tmp, vectors, allow_pickle=False))
    return index, questions, vectors


def evaluate_squad(
    index: Index, questions: Sequence[SquadQuestion], vectors: np.ndarray, log: Any = None
) -> dict[str, Any]:
    """ReQA metrics per mode for the whole pool and the fit/held-out splits.

    Also counts how often the answer path would abstain on these (answerable) questions.
    ``log``, when given, is called with a line as each mode starts.
    """
    splits = {"pool": lambda a: True, "fit": lambda a: a % 2 == 0, "held_out": lambda a: a % 2 == 1}
    result: dict[str, Any] = {"sentences": len(index), "documents": len(index.documents), "questions": len(questions), "modes": {}}
    abstained = 0
    for number, mode in enumerate(MODES, 1):
        if log:
            log(f"SQuAD: ranking {len(questions):,} questions with {mode} ({number}/{len(MODES)})")
        ranks = []
        for q, vector in zip(questions, vectors):
            query = clean_question(q.question)
            ranking = index.rank(query, 10, mode=mode, vector=vector, question=q.question)  # type: ignore[arg-type]
            ranks.append(first_hit_rank(ranking.ids, [q.gold_row]))
            if mode == "hybrid":
                abstained += abstain_decision(query, ranking, index.ranker, index.vocabulary).abstain
        result["modes"][mode] = {
            split: ranking_metrics([r for r, q in zip(ranks, questions) if keep(q.article)])
            for split, keep in splits.items()
        }
    result["hybrid_abstained"] = abstained
    return result





def run(
    *,
    gold: str | os.PathLike[str] | None = None,
    index: Index | None = None,
    squad: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    with_gold: bool = True,
    with_squad: bool = True,
    log: Any = None,
) -> dict[str, Any]:
    """Run the evaluations and return ``{"gold": ..., "squad": ...}`` (None for those skipped).

    Args:
        gold: Gold file (default: the packaged one for the shipped article).
        index: Index the gold file is asked against (default: the shipped article's).
        squad: SQuAD v1.1 file (default: :func:`citeqa.config.default_squad_path`).
        limit: Use only the first ``limit`` SQuAD articles.
        cache_dir: Cache folder for the SQuAD index (default: :func:`citeqa.config.eval_cache_dir`).
        with_gold: Run the gold-file evaluation.
        with_squad: Run the SQuAD evaluation.
        log: Called with progress messages (e.g. ``print``), or None.
    """
    if limit is not None and limit <= 0:
        raise InvalidArgumentError(f"limit must be > 0, got {limit}")
    say = log or (lambda message: None)
    out: dict[str, Any] = {"gold": None, "squad": None}
    if with_gold:
        started = time.perf_counter()
        say("gold: loading the index and the gold questions")
        gold_index, cases = index or default_index(), load_gold(gold)
        say(f"gold: asking {len(cases):,} questions of {len(gold_index.documents):,} documents")
        out["gold"] = evaluate_gold(gold_index, cases)
        say(f"gold: done in {time.perf_counter() - started:.1f} s")
    if with_squad:
        started = time.perf_counter()
        say("SQuAD: loading the index (built once, then cached) and the question vectors")
        squad_index_, questions, vectors = squad_index(
            squad or default_squad_path(), cache_dir or eval_cache_dir(), limit=limit, log=log
        )
        out["squad"] = evaluate_squad(squad_index_, questions, vectors, log=log)
        say(f"SQuAD: done in {time.perf_counter() - started:.1f} s")
    return out
