"""The reranker: scores candidates from their features with weights read from ``data/reranker.json``.

A linear model plus an optional small hidden layer, stored as plain JSON (fitted by
``benchmarks/fit_reranker.py`` on part of the SQuAD tune half); scores become
probabilities over the candidates with a softmax. Pure functions over arrays, plus the
loader of the weights.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from .features import (
    FEATURES,
    STRICT_FEATURES,
    TYPED_KINDS,
    CandidateContext,
    feature_matrix,
)
from .fusion import Ranking


@dataclass(frozen=True)
class RerankerModel:
    """The reranker's weights (linear, plus an optional hidden layer) and the abstention thresholds, read from JSON."""

    weights: dict[str, float]
    abstain: dict[str, float]
    info: dict[str, Any]
    mlp: dict[str, Any] | None = None

    @cached_property
    def layer(self) -> MlpLayer | None:
        """The hidden layer as arrays (:func:`mlp_layer`), read once: what a query scores with."""
        return None if self.mlp is None else mlp_layer(self.mlp)


def load_reranker(text: str | None = None) -> RerankerModel:
    """Read the reranker JSON (the packaged ``data/reranker.json`` by default)."""
    if text is None:
        text = resources.files("citeqa").joinpath("data", "reranker.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return RerankerModel(
        weights={k: float(v) for k, v in data["weights"].items()},
        abstain={k: float(v) for k, v in data.get("abstain", {}).items()},
        info={k: v for k, v in data.items() if k not in ("weights", "abstain", "mlp")},
        mlp=data.get("mlp"),
    )


def linear_scores(features: np.ndarray, weights: Mapping[str, float], bias: float = 0.0) -> np.ndarray:
    """Score rows of a feature matrix with named weights (unknown names are an error)."""
    return np.asarray(features, dtype=np.float64) @ _weight_vector(weights) + bias


def _weight_vector(weights: Mapping[str, float]) -> np.ndarray:
    unknown = set(weights) - set(FEATURES)
    if unknown:
        raise InvalidArgumentError(f"unknown reranker features: {sorted(unknown)}")
    return np.array([float(weights.get(name, 0.0)) for name in FEATURES])


@dataclass(frozen=True)
class MlpLayer:
    """A reranker hidden layer read once from its plain-JSON form (:func:`mlp_layer`), as arrays in FEATURES order."""

    shift: np.ndarray  # (features,) mean of each feature (0 where the layer does not name it)
    spread: np.ndarray  # (features,) scale of each feature (1 where the layer does not name it)
    matrix: np.ndarray  # (features, hidden)
    bias: np.ndarray  # (hidden,)
    output: np.ndarray  # (hidden,)


def mlp_layer(mlp: Mapping[str, object] | MlpLayer) -> MlpLayer:
    """The arrays of a plain-JSON hidden layer (see :func:`mlp_scores`), checked.

    Raises:
        InvalidArgumentError: unknown feature names, or sizes that do not fit together.
    """
    if isinstance(mlp, MlpLayer):
        return mlp
    hidden = mlp["hidden"]
    if not isinstance(hidden, Mapping):
        raise InvalidArgumentError("reranker mlp 'hidden' must map feature names to weight lists")
    unknown = set(hidden) - set(FEATURES)
    if unknown:
        raise InvalidArgumentError(f"unknown reranker features in mlp: {sorted(unknown)}")
    bias = np.asarray(mlp["hidden_bias"], dtype=np.float64)
    output = np.asarray(mlp["output"], dtype=np.float64)
    mean, scale = mlp["mean"], mlp["scale"]
    if not isinstance(mean, Mapping) or not isinstance(scale, Mapping):
        raise InvalidArgumentError("reranker mlp 'mean' and 'scale' must map feature names to numbers")
    matrix = np.zeros((len(FEATURES), bias.shape[0]))
    shift, spread = np.zeros(len(FEATURES)), np.ones(len(FEATURES))
    for name, row in hidden.items():
        j = FEATURES.index(name)
        values = np.asarray(row, dtype=np.float64).ravel()
        if values.shape[0] != bias.shape[0]:
            raise InvalidArgumentError(f"reranker mlp feature {name!r} has {values.shape[0]} hidden weights, expected {bias.shape[0]}")
        matrix[j] = values
        shift[j], spread[j] = float(mean[name]), float(scale[name])
    if matrix.shape[1] != output.shape[0]:
        raise InvalidArgumentError(f"reranker mlp has {matrix.shape[1]} hidden units but {output.shape[0]} output weights")
    return MlpLayer(shift, spread, matrix, bias, output)


def mlp_scores(features: np.ndarray, mlp: Mapping[str, object] | MlpLayer) -> np.ndarray:
    """The non-linear part of the reranker: one tanh hidden layer over standardized features.

    Args:
        features: ``(m, len(FEATURES))`` matrix from :func:`feature_matrix`.
        mlp: Plain-JSON layer: ``mean`` and ``scale`` (per feature name), ``hidden`` (per
            feature name, one weight per hidden unit), ``hidden_bias`` and ``output``
            (one value per hidden unit). Features it does not name get no weight. Or the
            same layer already read by :func:`mlp_layer` (a query then skips reading it).

    Returns:
        ``output · tanh(((x - mean) / scale) @ hidden + hidden_bias)`` for every row.
    """
    layer = mlp_layer(mlp)
    standardized = (np.asarray(features, dtype=np.float64) - layer.shift) / layer.spread
    return np.tanh(standardized @ layer.matrix + layer.bias) @ layer.output


def reranker_scores(
    features: np.ndarray, weights: Mapping[str, float], mlp: Mapping[str, object] | MlpLayer | None = None
) -> np.ndarray:
    """Linear scores plus, when given, the hidden layer's (:func:`mlp_scores`)."""
    scores = linear_scores(features, weights)
    return scores if mlp is None else scores + mlp_scores(features, mlp)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax of a 1-D array (stable)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def best_of_each_text(raw: np.ndarray, group: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
    """``raw`` with every candidate but the best-scored of its same-text group set to -inf.

    ``group[i]`` names candidate ``i``'s group (:func:`citeqa.search.features.same_text_groups`).
    A sentence found twice (a chapter and the one-page copy of the whole book) is one piece
    of evidence: it takes one place in the ranking and one share of the softmax, so its
    probability is what it would be were the text in the index once. Of copies scored the
    same (two identical files), the one with the smallest sentence id (``ids``; default
    the position) stays: the copy that comes first in the index.
    """
    raw = np.asarray(raw, dtype=np.float64).copy()
    group = np.asarray(group, dtype=np.int64)
    ids = np.arange(raw.shape[0]) if ids is None else np.asarray(ids, dtype=np.int64)
    if raw.shape != group.shape or ids.shape != raw.shape:
        raise InvalidArgumentError(f"raw, group and ids must have one entry per candidate, got {raw.shape}, {group.shape} and {ids.shape}")
    best = np.full(int(group.max(initial=-1)) + 1, -np.inf)
    np.maximum.at(best, group, raw)
    winners = np.flatnonzero(raw == best[group])
    # of the winners, by group then id: the first of each group stays
    winners = winners[np.lexsort((ids[winners], group[winners]))]
    _, first = np.unique(group[winners], return_index=True)
    keep = np.zeros(raw.shape[0], dtype=bool)
    keep[winners[first]] = True
    raw[~keep] = -np.inf
    return raw


#: The feature columns an answer type sets, by question kind (see :func:`feature_matrix`).
_ANSWER_COLUMNS = {
    kind: [FEATURES.index("answer_type")] + ([FEATURES.index(f"answer_{kind}")] if kind in TYPED_KINDS else [])
    for kind in (*TYPED_KINDS, None)
}
#: The further column the stricter answer type (level 2) sets, by question kind.
_STRICT_COLUMNS = {kind: FEATURES.index(name) for kind, name in STRICT_FEATURES.items()}

#: Unchecked answer types may change the softmax's normalizer by at most this share (see :func:`lazy_answer_types`).
SOFTMAX_TOLERANCE = 0.05
#: Candidates whose answer type :func:`rerank` checks first, beyond ``top_k`` (then in steps of this many).
ANSWER_TYPE_STEP = 8


def rerank(
    ids: np.ndarray,
    context: CandidateContext,
    weights: Mapping[str, float],
    top_k: int,
    mlp: Mapping[str, object] | MlpLayer | None = None,
    answer_type_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Ranking:
    """Score candidates with the reranker and keep the best ``top_k``.

    Args:
        ids: Sentence rows of the candidates.
        context: Their evidence (same order as ``ids``).
        weights: Linear feature weights (see :data:`FEATURES`).
        top_k: How many to return.
        mlp: Optional hidden layer added to the linear score (:func:`mlp_scores`).
        answer_type_of: When given, ``context.answer_type`` is not known yet: this maps
            candidate positions to their answer-type values, and it is called only for the
            candidates that could still reach the top ``top_k`` (see
            :func:`lazy_answer_types`). The best ``top_k`` and their order are those of
            the full computation, their probabilities within 5% of it.

    Returns:
        A :class:`Ranking` whose scores are the reranker's softmax probabilities over the
        candidates (they sum to at most 1 and say how sure the ranking is). Candidates with
        the same text (``context.same_text``) count once: only the best-scored of them is
        ranked (:func:`best_of_each_text`).
    """
    if top_k <= 0:
        raise InvalidArgumentError(f"top_k must be > 0, got {top_k}")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.shape[0] == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Ranking(ids=ids, scores=empty, dense=empty, lexical=empty)
    group = context.same_text
    repeats = 0 if group is None else int(group.shape[0] - np.unique(group).shape[0])
    if answer_type_of is None or context.question_kind is None:
        raw = reranker_scores(feature_matrix(context), weights, mlp)
    else:  # each repeat may take a place of the best top_k: settle that many more
        raw = lazy_answer_types(context, weights, mlp, top_k + repeats, answer_type_of)
    if repeats:
        raw = best_of_each_text(raw, group, ids)  # type: ignore[arg-type]
    scores = softmax(raw)
    order = np.argsort(-raw, kind="stable")[: min(top_k, int(np.isfinite(raw).sum()))]
    return Ranking(
        ids=ids[order],
        scores=scores[order].astype(np.float32),
        dense=np.asarray(context.dense, dtype=np.float32)[order],
        lexical=np.asarray(context.lexical, dtype=np.float32)[order],
    )


def lazy_answer_types(
    context: CandidateContext,
    weights: Mapping[str, float],
    mlp: Mapping[str, object] | MlpLayer | None,
    top_k: int,
    answer_type_of: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Reranker scores with the answer type checked only where it can change the best ``top_k``.

    The answer type is the one feature read from each candidate's text with regular
    expressions (:func:`citeqa.question.answer_type_level`); every other feature is an
    array lookup. Each candidate is scored once per value the answer type can have (0
    and 1; 2 too for the kinds with a stricter type, :data:`STRICT_FEATURES`);
    candidates are checked in order of their largest score, until
    ``top_k`` checked ones score at least as high as the best score any unchecked one
    could reach, and the unchecked ones together cannot move the softmax's normalizer
    by more than :data:`SOFTMAX_TOLERANCE` of it. So the best ``top_k`` and their order
    equal those of checking every candidate, and each probability is within 5% (of
    itself) of it; an unchecked candidate keeps its score without an answer type. On the
    408 questions asking for a type among 1,000 SQuAD tune questions (``benchmarks/speed.py``'s
    seed-5 pick, the whole tune set indexed), 32.5% of the candidates are checked (27.8% with
    the weights before ``answer_place`` / ``answer_quantity``), every top 10 is unchanged and
    probabilities move by at most 0.036 (0.013 at the 95th percentile).

    Returns:
        The raw (pre-softmax) score of every candidate.
    """
    m = context.dense.shape[0]
    # every case in one matrix: the answer-type columns are the only ones that differ
    # (feature_matrix of answer_type all 0, then all 1 (and 2): the same values, made once)
    unset = context if not np.any(context.answer_type) else dataclasses.replace(context, answer_type=np.zeros(m))
    features = feature_matrix(unset)
    strict = _STRICT_COLUMNS.get(context.question_kind)  # type: ignore[arg-type]
    cases = np.concatenate([features] * (2 if strict is None else 3))
    cases[m:, _ANSWER_COLUMNS.get(context.question_kind, _ANSWER_COLUMNS[None])] = 1.0
    if strict is not None:
        cases[2 * m :, strict] = 1.0
    by_level = reranker_scores(cases, weights, mlp).reshape(-1, m)  # row k: every candidate at level k
    without = by_level[0]
    best_case = by_level.max(axis=0)
    order = np.argsort(-best_case, kind="stable")
    scores = without.copy()
    need = min(top_k, m)
    done = 0
    while done < m:
        step = order[done : done + (need + ANSWER_TYPE_STEP if done == 0 else ANSWER_TYPE_STEP)]
        values = np.asarray(answer_type_of(step), dtype=np.float64)
        level = np.minimum((values > 0).astype(np.int64) + (values >= 2), by_level.shape[0] - 1)
        scores[step] = by_level[level, step]
        done += step.shape[0]
        if done >= m:
            break
        kth = np.partition(scores[order[:done]], done - need)[done - need]
        if best_case[order[done]] >= kth:
            continue
        # the top k is settled; the probabilities too once the unchecked ones cannot move the
        # softmax's normalizer by more than SOFTMAX_TOLERANCE of it
        top = max(float(scores.max()), float(best_case[order[done]]))
        unchecked = order[done:]
        spread = np.abs(np.exp(by_level[:, unchecked] - top) - np.exp(without[unchecked] - top)).max(axis=0).sum()
        if spread <= SOFTMAX_TOLERANCE * np.exp(scores - top).sum():
            break
    return scores
