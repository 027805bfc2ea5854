"""Answer confidence: the fitted probability that citation [1] answers the question.

Owns the answerability features of a ranked question (:func:`question_features`: cosines,
IDF coverage of the question's words by [1] and its paragraph, the question's names and
numbers found, the asked-for answer type present, a denial the question makes and [1] does
not, margins), the logistic model over them
(:class:`AnswerabilityModel`, plain JSON in ``data/answerability.json``) and
:func:`confidence` for one ranking. The model is *fitted* in :mod:`citeqa.eval`
(``citeqa eval`` / ``benchmarks/answerability.py``) on the fit halves of the evaluation
datasets; here it is only read and applied.

``Hit.score`` is the reranker's softmax share among the candidates: it says 0.99 for a
wrong answer when every candidate is poor. ``confidence`` is built only from signals
that mean the same on any corpus, and is calibrated on held-out documents.
No feature names a word of any particular question.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from ..config import read_package_text
from ..errors import InvalidArgumentError
from ..fsutil import atomic_write_text
from ..question import answer_spans, denies, negated, question_type
from ..search.cross import sigmoid
from ..search.features import idf_ceiling, loose_coverage, opens_by_referring_back
from ..search.fusion import Ranking
from ..text import tokenize, words
from .focus import Vocabulary, name_supported, question_names

#: Feature names, in column order.
FEATURES = (
    "best_dense",
    "dense1",
    "dense_margin",
    "prob1",
    "prob_margin",
    "coverage1",
    "loose_coverage1",
    "context_coverage1",
    "coverage_top3",
    "bm25_norm1",
    "unknown_share",
    "names_asked",
    "names_found",
    "numbers_found",
    "typed",
    "type_found1",
    "type_found3",
    "query_words",
    "missing_idf1",
    "missing_idf_context1",
    "names_in_context1",
    "cross1",
    "cross_margin",
    "denial_unmatched1",
    "carried_coverage1",
    "topic_lead1",
)
#: The feature that marks a [1] the "What is X?" rule chose under X's title: such answers get
#: :attr:`AnswerabilityModel.topic_lead`, the rate fitted for that rule, not the logistic's value.
TOPIC_LEAD = "topic_lead1"

#: BM25's k1 (bm25s, Lucene): one term contributes at most ``idf * (k1 + 1)``.
BM25_K1 = 1.2
_DIGITS = re.compile(r"\d[\d,.]*\d|\d")


class RankerLike(Protocol):
    """What :func:`question_features` reads of a :class:`citeqa.search.ranker.Ranker`."""

    @property
    def idf(self) -> Mapping[str, float]: ...

    def text(self, row: int) -> str: ...

    def paragraph_text(self, row: int) -> str: ...

    def title_text(self, row: int) -> str: ...

    def paragraph_rows(self, row: int) -> range: ...

    def topic_lead(self, question: str, ids: np.ndarray) -> range | None: ...


def _idf_weights(tokens: Sequence[str], idf: Mapping[str, float]) -> dict[str, float]:
    fallback = idf_ceiling(idf)
    return {t: float(idf.get(t, fallback)) for t in set(tokens)}


def _coverage(weights: Mapping[str, float], present: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total > 0 else 0.0


def question_features(
    question: str, query: str, ranking: Ranking, ranker: RankerLike, vocabulary: Vocabulary
) -> dict[str, float]:
    """The answerability features of one ranked question.

    Args:
        question: The question as asked (decides the answer type and its names).
        query: The text searched (the question, or a follow-up resolved against history).
        ranking: Its :class:`citeqa.search.fusion.Ranking` (``ids``, ``scores``, ``dense``, ``lexical``).
        ranker: The ranker that made it.
        vocabulary: The corpus vocabulary (``Index.vocabulary``), for the names and numbers.

    Returns:
        ``{name: value}`` for every name of :data:`FEATURES`. With an empty ranking the
        evidence of [1] is 0 (its missing words 1).

    ``missing_idf1`` / ``missing_idf_context1``: the IDF (over the corpus ceiling) of the
    rarest query word that [1] (or its paragraph and headline) lacks: a near-topic
    question usually shares the topic but misses one specific word. ``names_in_context1``:
    share of the question's names written in full in [1]'s paragraph or headline.
    ``carried_coverage1``: ``coverage1`` over [1] and the sentence before it in its paragraph
    when [1] opens by referring back (:func:`citeqa.search.features.opens_by_referring_back`:
    "Its length is ..." after "The Rhine rises ..."), else ``coverage1``.
    ``denial_unmatched1``: 1 when the question denies ("What is not contained in PSPACE?") and
    [1] denies nothing (:func:`citeqa.question.denies`): a sentence asserting what the question
    denies ("L is strictly contained in PSPACE.") does not answer it. ``topic_lead1``: 1 when
    [1] is in the first paragraph under the title the question asks about as a whole ("What is
    Warsaw?" and the text under "Warsaw": :meth:`citeqa.search.ranker.Ranker.topic_lead`).
    """
    out = {name: 0.0 for name in FEATURES}
    tokens = tokenize(query)
    idf = ranker.idf
    weights = _idf_weights(tokens, idf)
    out["query_words"] = math.log1p(len(weights))
    out["unknown_share"] = 1.0 - _coverage(weights, {t for t in weights if t in idf}) if weights else 0.0
    names = question_names(question)
    out["names_asked"] = 1.0 if names else 0.0
    out["names_found"] = (sum(name_supported(n, vocabulary) for n in names) / len(names)) if names else 1.0
    numbers = _DIGITS.findall(question)
    if numbers:
        vocabulary_words = vocabulary.words
        out["numbers_found"] = sum(all(w in vocabulary_words for w in words(n)) for n in numbers) / len(numbers)
    else:
        out["numbers_found"] = 1.0
    kind = question_type(question)
    out["typed"] = 1.0 if kind is not None else 0.0
    out["cross1"] = out["cross_margin"] = float("nan")
    ids = [int(i) for i in ranking.ids]
    if not ids:
        out["names_in_context1"] = 0.0 if names else 1.0
        out["missing_idf1"] = out["missing_idf_context1"] = 1.0 if weights else 0.0
        return out
    dense = np.asarray(ranking.dense, dtype=np.float64)
    scores = np.asarray(ranking.scores, dtype=np.float64)
    out["best_dense"] = float(dense.max())
    out["dense1"] = float(dense[0])
    out["dense_margin"] = float(dense[0] - dense[1]) if len(ids) > 1 else float(dense[0])
    out["prob1"] = float(scores[0])
    out["prob_margin"] = float(scores[0] - scores[1]) if len(ids) > 1 else float(scores[0])
    if ranking.cross is not None and not np.isnan(ranking.cross[0]):
        cross = np.asarray(ranking.cross, dtype=np.float64)
        others = cross[1:][~np.isnan(cross[1:])]
        out["cross1"] = float(cross[0])
        out["cross_margin"] = float(cross[0] - others.max()) if others.size else float(cross[0])
    texts = [ranker.text(r) for r in ids[:3]]
    first = set(tokenize(texts[0]))
    out["coverage1"] = _coverage(weights, first)
    row = ids[0]
    if row > 0 and opens_by_referring_back(texts[0]) and (row - 1) in ranker.paragraph_rows(row):
        out["carried_coverage1"] = _coverage(weights, first | set(tokenize(ranker.text(row - 1))))
    else:
        out["carried_coverage1"] = out["coverage1"]
    out["loose_coverage1"] = loose_coverage(tokens, list(first), idf) if tokens else 0.0
    context_text = ranker.paragraph_text(ids[0]) + " " + ranker.title_text(ids[0])
    context = set(tokenize(context_text))
    out["context_coverage1"] = _coverage(weights, context)
    ceiling_idf = max(float(getattr(idf, "ceiling", 0.0)), max(weights.values(), default=0.0), 1e-9)
    out["missing_idf1"] = max((w for t, w in weights.items() if t not in first), default=0.0) / ceiling_idf
    out["missing_idf_context1"] = max((w for t, w in weights.items() if t not in context), default=0.0) / ceiling_idf
    if names:
        context_words = set(words(context_text))
        out["names_in_context1"] = sum(all(w in context_words for w in words(" ".join(name))) for name in names) / len(names)
    else:
        out["names_in_context1"] = 1.0
    out["denial_unmatched1"] = 1.0 if negated(question) and not denies(texts[0]) else 0.0
    lead = ranker.topic_lead(question, np.asarray(ids))
    out["topic_lead1"] = 1.0 if lead is not None and ids[0] in lead else 0.0
    out["coverage_top3"] = _coverage(weights, {t for text in texts for t in tokenize(text)})
    ceiling = sum(weights.values()) * (BM25_K1 + 1.0)
    out["bm25_norm1"] = min(1.0, float(ranking.lexical[0]) / ceiling) if ceiling > 0 else 0.0
    if kind is not None:
        found = [bool(answer_spans(question, t)) for t in texts]
        out["type_found1"] = 1.0 if found[0] else 0.0
        out["type_found3"] = 1.0 if any(found) else 0.0
    return out


def feature_vector(values: Mapping[str, float], names: Sequence[str] = FEATURES) -> np.ndarray:
    """The features of ``values`` as an array in ``names`` order (a missing name is an error)."""
    missing = [n for n in names if n not in values]
    if missing:
        raise InvalidArgumentError(f"features missing: {missing}")
    return np.array([float(values[n]) for n in names], dtype=np.float64)


@dataclass(frozen=True)
class AnswerabilityModel:
    """A fitted answerability model: standardization, coefficients, threshold.

    Attributes:
        features: Feature names in column order.
        mean: Per-feature mean subtracted before scaling.
        scale: Per-feature divisor (1 where a feature did not vary).
        coef: Per-feature coefficient of the standardized feature.
        intercept: The bias.
        threshold: Abstain when ``confidence < threshold``.
        info: What it was fitted on, and how (kept in the JSON).
        topic_lead: The probability given to a [1] the "What is X?" rule chose (feature
            :data:`TOPIC_LEAD` 1) instead of the logistic's: the rate at which that rule's [1]
            was right on the fit halves (:mod:`citeqa.eval.topics`); None: the logistic's.
            The logistic cannot learn it: no fit-half question of the eval sets is of that kind.
    """

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.5
    info: dict[str, Any] = field(default_factory=dict)
    topic_lead: float | None = None

    def confidence(self, x: np.ndarray) -> np.ndarray:
        """P(citation [1] answers) for each row of ``x`` (or one feature vector).

        A NaN feature (the cross-encoder's, when it was switched off) counts as the fitted
        mean: it adds nothing, and the probability is less sharp than with it.
        """
        x = np.asarray(x, dtype=np.float64)
        single = x.ndim == 1
        rows = x.reshape(1, -1) if single else x
        if rows.shape[1] != len(self.features):
            raise InvalidArgumentError(f"expected {len(self.features)} features, got {rows.shape[1]}")
        standardized = np.nan_to_num((rows - self.mean) / self.scale, nan=0.0)
        p = sigmoid(standardized @ self.coef + self.intercept)
        if self.topic_lead is not None and TOPIC_LEAD in self.features:
            p = np.where(rows[:, self.features.index(TOPIC_LEAD)] == 1.0, self.topic_lead, p)
        return p[0] if single else p

    def with_threshold(self, threshold: float, **info: Any) -> AnswerabilityModel:
        """The same model abstaining below ``threshold`` (``info`` merged in)."""
        if not 0.0 <= threshold <= 1.0:
            raise InvalidArgumentError(f"threshold must be in [0, 1], got {threshold}")
        return replace(self, threshold=float(threshold), info={**self.info, **info})

    def with_topic_lead(self, probability: float | None, **info: Any) -> AnswerabilityModel:
        """The same model giving answers the "What is X?" rule chose ``probability`` (see :attr:`topic_lead`)."""
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise InvalidArgumentError(f"probability must be in [0, 1], got {probability}")
        return replace(self, topic_lead=probability, info={**self.info, **info})

    def to_json(self) -> str:
        """Plain JSON: feature names, means, scales, coefficients, intercept, threshold, info."""
        data = {
            "format": 1,
            "features": list(self.features),
            "mean": {n: round(float(v), 8) for n, v in zip(self.features, self.mean)},
            "scale": {n: round(float(v), 8) for n, v in zip(self.features, self.scale)},
            "coef": {n: round(float(v), 8) for n, v in zip(self.features, self.coef)},
            "intercept": round(float(self.intercept), 8),
            "threshold": round(float(self.threshold), 6),
            "info": self.info,
        }
        if self.topic_lead is not None:
            data["topic_lead"] = round(float(self.topic_lead), 6)
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> AnswerabilityModel:
        """Read :meth:`to_json` output.

        Raises:
            InvalidArgumentError: not that JSON, or a feature lacks a mean, scale or coefficient.
        """
        try:
            data = json.loads(text)
            names = tuple(str(n) for n in data["features"])
            mean = np.array([float(data["mean"][n]) for n in names])
            scale = np.array([float(data["scale"][n]) for n in names])
            coef = np.array([float(data["coef"][n]) for n in names])
            lead = data.get("topic_lead")
            return cls(
                names, mean, scale, coef, float(data["intercept"]), float(data["threshold"]), dict(data.get("info", {})),
                None if lead is None else float(lead),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidArgumentError(f"not an answerability model JSON ({exc!r}); refit it with benchmarks/answerability.py") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path`` atomically."""
        atomic_write_text(path, self.to_json())


#: The shipped model (package data), fitted by ``benchmarks/answerability.py --write``.
MODEL_FILE = "answerability.json"


@lru_cache(maxsize=1)
def shipped_model() -> AnswerabilityModel:
    """The shipped answerability model (read once)."""
    return AnswerabilityModel.from_json(read_package_text(MODEL_FILE))


def confidence(
    question: str,
    query: str,
    ranking: Ranking,
    ranker: RankerLike,
    vocabulary: Vocabulary,
    model: AnswerabilityModel | None = None,
) -> float:
    """P(citation [1] of ``ranking`` answers ``question``), from ``model`` (default: the shipped one); 0.0 for an empty ranking."""
    if not len(ranking):
        return 0.0
    model = shipped_model() if model is None else model
    values = question_features(question, query, ranking, ranker, vocabulary)
    return float(model.confidence(feature_vector(values, model.features)))


def confidence_words(value: float) -> str:
    """A word for a confidence a reader understands: "high" (>= 0.7), "medium" (>= 0.4) or "low"."""
    if not 0.0 <= value <= 1.0:
        raise InvalidArgumentError(f"confidence must be in [0, 1], got {value}")
    return "high" if value >= 0.7 else "medium" if value >= 0.4 else "low"


def describe_confidence(value: float) -> str:
    """The confidence as a reader sees it: ``"confidence: high (0.82)"``."""
    return f"confidence: {confidence_words(value)} ({value:.2f})"
