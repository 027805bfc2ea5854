"""Evaluation observations: every question of a corpus asked through the product, with what the run saw.

Each dataset of :mod:`citeqa.eval.corpora` is one index (all its documents), built once
and cached by the documents' content. Every question goes through the product's ranking
(``Index.rank`` / ``Index.rank_turn``; second turns of conversations through
``Index.answer`` with the first turn as history), and the same ranking gives (a) the
rule-based abstention (:func:`citeqa.answer.abstain.abstain_decision` with the rules
only: the baseline of the same run) and (b) the answerability features
(:func:`citeqa.answer.confidence.question_features`). Observations are cached as JSON
keyed by the corpus and the sources that decide the rankings (:func:`code_version`);
features and the rule abstention are recomputed from the cached rankings on every load
(:func:`refresh`), so a later run only recomputes, refits and reprints.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..answer.abstain import abstain_decision
from ..api import build_index
from ..config import CROSS_ENCODER_ENV, cross_encoder_from_env
from ..embed.base import encode_alone
from ..errors import CiteqaError
from ..fsutil import atomic_write_text
from ..index import Index
from ..question import clean_question, resolve_followup, unwrap_request
from ..search.cross import read_manifest
from ..search.fusion import Ranking
from . import answerability as ans
from . import corpora

TOP_K = 10
OBS_FORMAT = 4  # bump when what an observation records changes



def code_version() -> str:
    """A digest of the sources that decide the rankings (part of the cache key).

    Features and the rule abstention are recomputed from the cached rankings on every
    load (:func:`refresh`), so editing a rule or a feature needs no re-asking.
    """
    import citeqa.embed.wordpieces as wordpieces_module
    import citeqa.index as index_module
    import citeqa.question as question_module
    import citeqa.search as search_package
    import citeqa.text as text_module

    # index.py turns a follow-up into its search, text.py makes the query's BM25 tokens,
    # wordpieces.py the soft-coverage feature's word similarities, this module asks the
    # questions (how they are embedded changes their vectors)
    modules = (question_module, text_module, index_module, wordpieces_module)
    sources = [Path(str(module.__file__)) for module in modules] + [Path(__file__)]
    parts = [source.read_text(encoding="utf-8") for source in sources]
    for source in sorted(Path(str(search_package.__file__)).parent.glob("*.py")):
        parts.append(source.read_text(encoding="utf-8"))
    parts.append(resources.files("citeqa").joinpath("data", "reranker.json").read_text(encoding="utf-8"))
    manifest = read_manifest() if cross_encoder_from_env() else None  # the cross-encoder reorders rankings when it is on
    parts.append(f"cross-encoder {manifest.digest if manifest else 'off'}")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def open_cached_index(index_dir: Path, embedder: Any) -> tuple[Index | None, str | None]:
    """A cached eval index ready to query, or ``(None, why)`` when it must be (re)built.

    The vectors' space is checked now, not at the first query, so a cache built with an
    older embedder export is rebuilt instead of refusing a question later.
    """
    if not index_dir.is_dir():
        return None, "not built yet"
    try:
        index = Index.load(index_dir, embedder=embedder)
        index.embedder  # noqa: B018 - loading the embedder checks the index's vector space
    except Exception as exc:  # noqa: BLE001 - any problem with a cache means: rebuild it
        return None, str(exc)
    return index, None


def corpus_index(documents: Sequence[tuple[str, str]], cache: Path, embedder: Any, log: Callable[[str], None]) -> Index:
    """The index of ``documents``, built once and cached under ``cache`` by their content (and rebuilt for another vector space)."""
    key = corpora.digest("\0".join(f"{n}\0{t}" for n, t in sorted(documents)))[:16]
    root = cache / f"idx-{key}"
    index_dir = root / "index"
    index, why = open_cached_index(index_dir, embedder)
    if index is not None:
        return index
    if index_dir.is_dir():
        log(f"  cached index {index_dir} unusable ({why}); rebuilding")
    started = time.perf_counter()
    docs = corpora.write_documents(documents, root / "docs")
    index = build_index([docs], index_dir, embedder=embedder)
    log(f"  built {len(documents)} documents, {len(index)} sentences in {time.perf_counter() - started:.0f}s ({index_dir})")
    return index


@contextlib.contextmanager
def cross_encoder_switched(on: bool) -> Iterator[None]:
    """Every index loaded inside uses the cross-encoder stage (``on``) or not (for the before/after table)."""
    old = os.environ.get(CROSS_ENCODER_ENV)
    os.environ[CROSS_ENCODER_ENV] = "1" if on else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(CROSS_ENCODER_ENV, None)
        else:
            os.environ[CROSS_ENCODER_ENV] = old


# ---------------------------------------------------------------------- observations


@dataclass
class Obs:
    """One asked question (or conversation turn) and what the run saw."""

    dataset: str
    half: str
    kind: str  # answerable, followup, near-topic, off-topic, impossible, other-doc
    question: str
    query: str
    ranking: Any
    right1: bool
    right3: bool
    rank: int | None
    features: np.ndarray
    baseline: bool  # today's abstention
    answered_ok: bool | None = None  # follow-ups: Index.answer cites a right sentence and does not abstain
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answerable(self) -> bool:
        return self.kind in ("answerable", "followup")


class Asker:
    """Asks questions of one index and records :class:`Obs`."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.ranker = index.ranker
        self.vocabulary = index.vocabulary
        spans = index.spans
        self.doc_number = {d.doc_id: i for i, d in enumerate(index.documents)}
        self.spans = spans
        self.texts = [self.ranker.text(r) for r in range(len(index))]

    def gold_rows(self, turn: corpora.Turn) -> set[int]:
        if not turn.answerable or turn.doc not in self.doc_number:
            return set()
        if turn.position is not None:
            doc = self.doc_number[turn.doc]
            rows = np.flatnonzero(self.spans[:, 0] == doc)
            for row in rows:
                if turn.position < self.spans[row, 2]:
                    return {int(row)}
            return set()
        return {r for r, t in enumerate(self.texts) if any(a in t for a in turn.answers)}

    def observe(self, dataset: str, half: str, kind: str, question: str, query: str, ranking: Any, gold: set[int]) -> Obs:
        ids = [int(i) for i in ranking.ids]
        rank = next((p for p, i in enumerate(ids, 1) if i in gold), None)
        features = ans.feature_vector(ans.question_features(question, query, ranking, self.ranker, self.vocabulary))
        baseline = abstain_decision(query, ranking, self.ranker, self.vocabulary, question=question, policy="rules", with_confidence=False).abstain
        return Obs(
            dataset, half, kind, question, query, ranking, rank == 1, rank is not None and rank <= 3, rank, features, baseline,
            extra={"ranker": self.ranker, "vocabulary": self.vocabulary, "index": str(self.index.path.parent)},
        )

    def ask_many(self, dataset: str, items: Sequence[tuple[str, str, str, set[int]]]) -> list[Obs]:
        """Ask stand-alone questions ``(half, kind, question, gold rows)``, each embedded alone as the product does."""
        cleaned = []
        for half, kind, question, gold in items:
            try:
                q = unwrap_request(clean_question(question))  # as Index.answer asks it
            except CiteqaError:
                continue
            cleaned.append((half, kind, q, gold))
        queries = [resolve_followup(q, None) for _, _, q, _ in cleaned]
        vectors = encode_alone(self.index.embedder, queries)
        out = []
        for (half, kind, q, gold), query, vector in zip(cleaned, queries, vectors):
            ranking = self.index.rank(query, TOP_K, vector=vector, question=q)
            out.append(self.observe(dataset, half, kind, q, query, ranking, gold))
        return out

    def ask_followup(self, dataset: str, half: str, first: corpora.Turn, second: corpora.Turn) -> Obs:
        q1 = clean_question(first.question)
        reply = self.index.answer(q1)
        history = [{"role": "user", "content": q1}, {"role": "assistant", "content": reply.text}]
        q2 = unwrap_request(clean_question(second.question))
        query, ranking = self.index.rank_turn(q2, history, TOP_K)
        gold = self.gold_rows(second)
        obs = self.observe(dataset, half, "followup", q2, query, ranking, gold)
        answer = self.index.answer(q2, history)
        cited_right = any(c.sentence_id in gold for c in answer.citations)
        obs.extra["cited_right"] = cited_right
        obs.answered_ok = not answer.abstained and cited_right
        return obs


def run_corpus(corpus: corpora.Corpus, cache: Path, embedder: Any, log: Callable[[str], None], *, cross: bool, every: int) -> list[Obs]:
    """Ask every case of ``corpus`` of its own index, plus cross-document negatives when ``cross``."""
    log(f"{corpus.name}: {len(corpus.documents)} documents, {len(corpus.cases)} cases")
    asker = Asker(corpus_index(corpus.documents, cache, embedder, log))
    items = []
    for case in corpus.cases:
        first = case.turns[0]
        kind = "answerable" if case.kind in (corpora.ANSWERABLE, corpora.CONVERSATION) else case.kind
        items.append((case.half, kind, first.question, asker.gold_rows(first)))
    started = time.perf_counter()
    observations = asker.ask_many(corpus.name, items)
    for case in corpus.cases:
        if case.kind == corpora.CONVERSATION:
            for first, second in zip(case.turns, case.turns[1:]):
                observations.append(asker.ask_followup(corpus.name, case.half, first, second))
    log(f"  asked {len(observations)} in {time.perf_counter() - started:.0f}s")
    if cross:
        texts = dict(corpus.documents)
        for half in corpora.HALVES:
            parts = corpora.cross_document_groups(corpus, half)
            for asked_part, indexed_part in ((parts[0], parts[1]), (parts[1], parts[0])):
                if not asked_part or not indexed_part:
                    continue
                other = Asker(corpus_index([(n, texts[n]) for n in indexed_part], cache, embedder, log))
                wanted = set(asked_part)
                questions = [c.question for c in corpus.cases_in(half) if c.turns[0].doc in wanted][::every]
                observations += other.ask_many(corpus.name, [(half, "other-doc", q, set()) for q in questions])
        log(f"  with cross-document negatives: {len(observations)} observations")
    return observations


def save_observations(observations: Sequence[Obs], path: Path) -> None:
    """Write observations as JSON (rankings as lists), atomically: later runs skip the asking."""
    rows = []
    for o in observations:
        r = o.ranking
        rows.append({
            "dataset": o.dataset, "half": o.half, "kind": o.kind, "question": o.question, "query": o.query,
            "ids": [int(i) for i in r.ids], "scores": [float(v) for v in r.scores],
            "dense": [float(v) for v in r.dense], "lexical": [float(v) for v in r.lexical],
            "cross": None if r.cross is None else [None if np.isnan(v) else float(v) for v in r.cross],
            "right1": o.right1, "right3": o.right3, "rank": o.rank, "features": [float(v) for v in o.features],
            "baseline": bool(o.baseline), "answered_ok": o.answered_ok, "cited_right": o.extra.get("cited_right"),
            "index": o.extra.get("index", ""),
        })
    atomic_write_text(path, json.dumps(rows))


def load_observations(path: Path, embedder: Any) -> list[Obs]:
    """Read :func:`save_observations` output, with the ranker of the index each was asked of (for the rule ablation)."""
    out = []
    rankers: dict[str, Any] = {}
    vocabularies: dict[str, Any] = {}
    for row in json.loads(path.read_text(encoding="utf-8")):
        where = row.get("index", "")
        if where and where not in rankers:
            loaded = Index.load(where, embedder=embedder)
            rankers[where], vocabularies[where] = loaded.ranker, loaded.vocabulary
        ranking = Ranking(
            np.array(row["ids"], dtype=np.int64), np.array(row["scores"], dtype=np.float32),
            np.array(row["dense"], dtype=np.float32), np.array(row["lexical"], dtype=np.float32),
            None if row.get("cross") is None else np.array([np.nan if v is None else v for v in row["cross"]], dtype=np.float32),
        )
        out.append(Obs(
            row["dataset"], row["half"], row["kind"], row["question"], row["query"], ranking, row["right1"], row["right3"],
            row["rank"], np.array(row["features"]), row["baseline"], row["answered_ok"],
            extra={"ranker": rankers.get(where), "vocabulary": vocabularies.get(where), "index": where, "cited_right": row["cited_right"]},
        ))
    return out


def refresh(observations: Sequence[Obs]) -> None:
    """Recompute each observation's features and rule abstention from its cached ranking (with today's code)."""
    for o in observations:
        ranker, vocabulary = o.extra.get("ranker"), o.extra.get("vocabulary")
        if ranker is None:
            continue
        o.features = ans.feature_vector(ans.question_features(o.question, o.query, o.ranking, ranker, vocabulary))
        o.baseline = abstain_decision(o.query, o.ranking, ranker, vocabulary, question=o.question, policy="rules", with_confidence=False).abstain


def collect(
    loaded: Sequence[tuple[corpora.Corpus, bool, int]], cache: Path, embedder: Any, log: Callable[[str], None]
) -> list[Obs]:
    """Observations of every ``(corpus, cross-document negatives?, every Nth question)``, from the cache when it has them."""
    cache.mkdir(parents=True, exist_ok=True)
    observations: list[Obs] = []
    version = code_version()
    for corpus, cross, every in loaded:
        key = corpora.digest(repr((OBS_FORMAT, version, ans.FEATURES, corpus.documents, corpus.cases, cross, every, TOP_K)))[:16]
        saved = cache / f"obs-{corpus.name}-{key}.json"
        if saved.is_file():
            started = time.perf_counter()
            found = load_observations(saved, embedder)
            refresh(found)
            log(f"{corpus.name}: {len(found)} observations from {saved}, features and rules recomputed in {time.perf_counter() - started:.0f}s")
        else:
            found = run_corpus(corpus, cache, embedder, log, cross=cross, every=every)
            save_observations(found, saved)
        observations += found
    return observations
