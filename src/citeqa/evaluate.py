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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidArgumentError, SourceError
from .index import Index, build_index
from .query import clean_question
from .ranker import MODES, abstain_decision
from .sources import sha256_file

CUTOFFS = (1, 3, 5, 10)
GOLD_NAME = "lachin-gold.jsonl"


# ---------------------------------------------------------------------- pure metrics


def first_hit_rank(ranked: Sequence[int], gold: Iterable[int], limit: int = 10) -> int | None:
    """1-based rank of the first gold item among the first ``limit`` ranked ones (None if absent)."""
    wanted = set(int(g) for g in gold)
    for position, item in enumerate(list(ranked)[:limit], 1):
        if int(item) in wanted:
            return position
    return None


def ranking_metrics(ranks: Sequence[int | None], cutoffs: Sequence[int] = CUTOFFS) -> dict[str, float]:
    """MRR@10 and recall@k of per-question first-hit ranks (None = not in the top 10).

    Returns:
        ``{"n", "mrr@10", "r@1", "r@3", ...}``; zeros for an empty list.
    """
    n = len(ranks)
    out: dict[str, float] = {"n": float(n)}
    out["mrr@10"] = sum(1.0 / r for r in ranks if r is not None and r <= 10) / n if n else 0.0
    for k in cutoffs:
        out[f"r@{k}"] = sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0
    return out


def rows_containing(answers: Sequence[str], texts: Sequence[str]) -> set[int]:
    """Rows of ``texts`` that contain at least one of ``answers``."""
    return {row for row, text in enumerate(texts) if any(a in text for a in answers)}


def sentence_at(spans: np.ndarray, doc: int, position: int) -> int:
    """Row of the sentence of document ``doc`` that holds character ``position``.

    A position between sentences (white space) belongs to the next sentence.

    Args:
        spans: ``(n, >=3)`` rows of document number, start, end.
        doc: Document number.
        position: Character offset in that document.

    Raises:
        InvalidArgumentError: the position lies after the document's last sentence.
    """
    rows = np.flatnonzero(spans[:, 0] == doc)
    for row in rows:
        if position < spans[row, 2]:
            return int(row)
    raise InvalidArgumentError(f"position {position} lies after the last sentence of document {doc}")


# ---------------------------------------------------------------------- gold file


@dataclass(frozen=True)
class GoldCase:
    """One case of the gold file.

    Attributes:
        id: Case id ("a01", "u03", "f02").
        kind: "answerable", "unanswerable" or "followup".
        question: The question (first turn for follow-ups).
        answers: Substrings of the gold sentence(s); empty when unanswerable.
        topic: For unanswerable cases, "off" (off-topic) or "near" (near the article's topic).
        turns: For follow-ups, ``((question, answers), ...)`` in order.
    """

    id: str
    kind: str
    question: str
    answers: tuple[str, ...] = ()
    topic: str = ""
    turns: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


def default_gold_path() -> Path:
    """The packaged gold file of the shipped article."""
    return Path(str(resources.files("citeqa").joinpath("data", "eval", GOLD_NAME)))


def parse_gold(lines: Iterable[str]) -> list[GoldCase]:
    """Parse gold JSONL lines (blank lines skipped).

    Raises:
        InvalidArgumentError: a line is not valid JSON or lacks a field, with its number.
    """
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind = row["kind"]
            if kind == "followup":
                turns = tuple((t["question"], tuple(t["answers"])) for t in row["turns"])
                cases.append(GoldCase(row["id"], kind, turns[0][0], turns[0][1], turns=turns))
            elif kind in ("answerable", "unanswerable"):
                cases.append(GoldCase(row["id"], kind, row["question"], tuple(row.get("answers", ())), row.get("topic", "")))
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise InvalidArgumentError(f"gold file line {number} is invalid ({exc}); fix or remove it") from None
    return cases


def load_gold(path: str | os.PathLike[str] | None = None) -> list[GoldCase]:
    """Read a gold file (the packaged one by default)."""
    path = Path(path) if path is not None else default_gold_path()
    try:
        return parse_gold(path.read_text(encoding="utf-8").splitlines())
    except OSError as exc:
        raise SourceError(f"cannot read gold file {path}: {exc.strerror or exc}; pass an existing --gold FILE") from None


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


@dataclass(frozen=True)
class SquadQuestion:
    """One SQuAD question with the sentence row that holds its answer."""

    question: str
    gold_row: int
    article: int


def squad_articles(data: Mapping[str, Any], limit: int | None = None) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """Turn SQuAD JSON into documents.

    Returns:
        ``(file name, text, [(question, answer position in text), ...])`` per article:
        the title (underscores as spaces) on the first line, then the paragraphs
        separated by blank lines.
    """
    articles = data.get("data")
    if not isinstance(articles, list):
        raise InvalidArgumentError("not a SQuAD file: no 'data' list at the top level")
    out = []
    for number, article in enumerate(articles[:limit] if limit else articles):
        title = str(article.get("title", f"article {number}")).replace("_", " ")
        text = title
        questions = []
        for paragraph in article["paragraphs"]:
            text += "\n\n"
            offset = len(text)
            context = paragraph["context"]
            text += context
            for qa in paragraph["qas"]:
                if qa.get("answers"):
                    questions.append((qa["question"], offset + int(qa["answers"][0]["answer_start"])))
        safe = "".join(ch if ch.isalnum() else "-" for ch in title)[:60]
        out.append((f"{number:03d}-{safe}.txt", text + "\n", questions))
    return out


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
    reused only if it still loads and verifies.

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
    index = None
    if index_dir.is_dir():
        try:
            index = Index.load(index_dir, embedder=embedder)
        except Exception:  # noqa: BLE001 - any problem with the cache means: rebuild it
            index = None
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
    vectors_file = root / f"questions-{index.embedder.space.replace('/', '_').replace('|', '_')}.npy"
    vectors = None
    if vectors_file.is_file():
        vectors = np.load(vectors_file, allow_pickle=False)
        if vectors.shape[0] != len(questions):
            vectors = None
    if vectors is None:
        vectors = index.embedder.encode([q.question for q in questions], show_progress=log is not None)
        tmp = vectors_file.with_suffix(".tmp.npy")
        np.save(tmp, vectors, allow_pickle=False)
        os.replace(tmp, vectors_file)
    return index, questions, vectors


def evaluate_squad(index: Index, questions: Sequence[SquadQuestion], vectors: np.ndarray) -> dict[str, Any]:
    """ReQA metrics per mode for the whole pool and the fit/held-out splits.

    Also counts how often the answer path would abstain on these (answerable) questions.
    """
    splits = {"pool": lambda a: True, "fit": lambda a: a % 2 == 0, "held_out": lambda a: a % 2 == 1}
    result: dict[str, Any] = {"sentences": len(index), "documents": len(index.documents), "questions": len(questions), "modes": {}}
    abstained = 0
    for mode in MODES:
        ranks = []
        for q, vector in zip(questions, vectors):
            query = clean_question(q.question)
            ranking = index.rank(query, 10, mode=mode, vector=vector, question=q.question)  # type: ignore[arg-type]
            ranks.append(first_hit_rank(ranking.ids, [q.gold_row]))
            if mode == "hybrid":
                abstained += abstain_decision(query, ranking, index.ranker).abstain
        result["modes"][mode] = {
            split: ranking_metrics([r for r, q in zip(ranks, questions) if keep(q.article)])
            for split, keep in splits.items()
        }
    result["hybrid_abstained"] = abstained
    return result


# ---------------------------------------------------------------------- report


def format_report(gold: Mapping[str, Any] | None, squad: Mapping[str, Any] | None) -> str:
    """The evaluation as plain-text tables."""
    lines: list[str] = []
    if gold is not None:
        c = gold["counts"]
        lines.append(
            f"Gold file: {c['answerable']} answerable, {c['unanswerable']} unanswerable, {c['followups']} two-turn follow-ups"
        )
        lines.append(f"{'mode':<8} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7}   {'follow-up hit@1':>15} {'hit@3':>6}")
        for mode, m in gold["modes"].items():
            a, f = m["answerable"], m["followup"]
            lines.append(f"{mode:<8} {a['r@1']:6.3f} {a['r@3']:6.3f} {a['mrr@10']:7.3f}   {f['r@1']:15.3f} {f['r@3']:6.3f}")
        u = gold["followup_unresolved"]
        lines.append(f"(follow-ups without resolving against history, hybrid: hit@1 {u['r@1']:.3f}, hit@3 {u['r@3']:.3f})")
        ab = gold["abstention"]
        lines.append(
            f"Abstention (answer path): off-topic abstained {ab['off_topic_abstained']}/{ab['off_topic']}, "
            f"near-topic {ab['near_topic_abstained']}/{ab['near_topic']}, "
            f"false abstention {ab['answerable_abstained']}/{ab['answerable']} answerable turns"
        )
        if ab["false_abstentions"] or ab["not_abstained"]:
            lines.append(f"  false abstentions: {ab['false_abstentions']}; unanswerable answered: {ab['not_abstained']}")
        lat = gold["latency_ms"]
        lines.append(
            f"Latency on the article, median ms/query incl. query embedding ({lat['queries']} queries): "
            f"hybrid {lat['hybrid']:.2f}, dense-only {lat['dense']:.2f}, ratio {lat['ratio']:.2f}x"
        )
        if gold["misses"]:
            lines.append("Hybrid misses at rank 1: " + "; ".join(f"{m['id']} {m['question']!r} rank {m['rank']}" for m in gold["misses"]))
    if squad is not None:
        if lines:
            lines.append("")
        lines.append(
            f"SQuAD ReQA: {squad['documents']} articles, {squad['sentences']} sentences, {squad['questions']} questions "
            "(fit = even articles, held-out = odd)"
        )
        header = f"{'mode':<8}"
        for split in ("pool", "held_out", "fit"):
            header += f" | {split + ' MRR':>13} {'R@1':>6} {'R@5':>6} {'R@10':>6}"
        lines.append(header)
        for mode, splits in squad["modes"].items():
            row = f"{mode:<8}"
            for split in ("pool", "held_out", "fit"):
                m = splits[split]
                row += f" | {m['mrr@10']:13.3f} {m['r@1']:6.3f} {m['r@5']:6.3f} {m['r@10']:6.3f}"
            lines.append(row)
        lines.append(f"Answer path would abstain on {squad['hybrid_abstained']}/{squad['questions']} SQuAD questions (all answerable)")
    return "\n".join(lines)


def default_squad_path() -> Path:
    """``../shared/data/squad/dev-v1.1-tune.json`` relative to the repository root (or the cwd)."""
    checkout = Path(__file__).resolve().parents[2]
    base = checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()
    return base / ".." / "shared" / "data" / "squad" / "dev-v1.1-tune.json"


def default_cache_dir() -> Path:
    """Where built evaluation indexes are cached: ``$XDG_CACHE_HOME/citeqa/eval``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "citeqa" / "eval"


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
        squad: SQuAD v1.1 file (default: :func:`default_squad_path`).
        limit: Use only the first ``limit`` SQuAD articles.
        cache_dir: Cache folder for the SQuAD index (default: :func:`default_cache_dir`).
        with_gold: Run the gold-file evaluation.
        with_squad: Run the SQuAD evaluation.
        log: Called with progress messages (e.g. ``print``), or None.
    """
    if limit is not None and limit <= 0:
        raise InvalidArgumentError(f"limit must be > 0, got {limit}")
    out: dict[str, Any] = {"gold": None, "squad": None}
    if with_gold:
        from .index import default_index

        out["gold"] = evaluate_gold(index or default_index(), load_gold(gold))
    if with_squad:
        squad_index_, questions, vectors = squad_index(
            squad or default_squad_path(), cache_dir or default_cache_dir(), limit=limit, log=log
        )
        out["squad"] = evaluate_squad(squad_index_, questions, vectors)
    return out
