"""Fitting and checking answerability: logistic regression, calibration error, thresholds.

The features and the model as the product applies them live in
:mod:`citeqa.answer.confidence`; this module fits that model on the fit halves of the
evaluation datasets (:mod:`citeqa.eval.corpora`) and checks it:

* :func:`fit_logistic` fits an L2-regularised logistic regression (Newton's method,
  plain numpy) on standardized features; :func:`fit_model` wraps it into an
  :class:`~citeqa.answer.confidence.AnswerabilityModel`.
* :func:`expected_calibration_error` and :func:`pick_threshold` check and use it;
  :func:`upper_bound` (Clopper-Pearson) and :func:`certified_threshold` pick a threshold
  whose false abstention holds on documents it was not set on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..answer.confidence import (
    FEATURES,
    AnswerabilityModel,
    feature_vector,
    question_features,
)
from ..errors import InvalidArgumentError
from ..search.cross import sigmoid

__all__ = [
    "FEATURES",
    "AnswerabilityModel",
    "certified_threshold",
    "expected_calibration_error",
    "feature_vector",
    "fit_logistic",
    "fit_model",
    "pick_threshold",
    "question_features",
    "threshold_for",
    "upper_bound",
]




def fit_logistic(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, *, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (the intercept is not penalised).

    Args:
        x: ``(n, d)`` features (standardize them first).
        y: ``(n,)`` labels, 0 or 1.
        weights: Per-row weights (default 1); the loss is their weighted sum.
        l2: Penalty ``l2 / 2 * |coef|^2``.
        iterations: At most this many Newton steps (stops when the step is tiny).

    Returns:
        ``(coef, intercept)``.

    Raises:
        InvalidArgumentError: shapes disagree, labels are not 0/1, or only one class is present.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise InvalidArgumentError(f"x must be (n, d) with n = len(y) = {y.shape[0]}, got {x.shape}")
    if not np.all((y == 0) | (y == 1)):
        raise InvalidArgumentError("labels must be 0 or 1")
    if y.min() == y.max():
        raise InvalidArgumentError(f"both classes are needed to fit, got only label {int(y[0]) if y.size else 'none'}")
    if l2 < 0:
        raise InvalidArgumentError(f"l2 must be >= 0, got {l2}")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    design = np.column_stack([x, np.ones(x.shape[0])])
    penalty = np.full(design.shape[1], float(l2))
    penalty[-1] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = sigmoid(design @ beta)
        gradient = design.T @ (w * (p - y)) + penalty * beta
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(design.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def fit_model(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    features: Sequence[str] = FEATURES,
    l2: float = 1.0,
    info: Mapping[str, Any] | None = None,
) -> AnswerabilityModel:
    """Standardize ``x`` (weighted mean and deviation) and fit :func:`fit_logistic`; threshold 0.5 until one is picked."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(features):
        raise InvalidArgumentError(f"x must have {len(features)} columns ({', '.join(features)}), got shape {x.shape}")
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    present = ~np.isnan(x)  # a missing feature (no cross-encoder ran) counts as the mean, as in confidence()
    mean = np.array([np.average(x[present[:, j], j], weights=w[present[:, j]]) if present[:, j].any() else 0.0 for j in range(x.shape[1])])
    x = np.where(present, x, mean)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w))
    scale[scale < 1e-9] = 1.0
    coef, intercept = fit_logistic((x - mean) / scale, y, w, l2=l2)
    return AnswerabilityModel(tuple(features), mean, scale, coef, intercept, 0.5, dict(info or {}))


# ---------------------------------------------------------------------- calibration and thresholds


def expected_calibration_error(probabilities: Sequence[float], labels: Sequence[float], bins: int = 10) -> float:
    """Expected calibration error with ``bins`` equal-width bins over [0, 1].

    ``sum_b (n_b / n) * |mean(p in b) - mean(label in b)|``; a probability of exactly 1
    falls in the last bin.

    Raises:
        InvalidArgumentError: lengths differ, no data, ``bins`` < 1 or a probability outside [0, 1].
    """
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if p.shape != y.shape:
        raise InvalidArgumentError(f"got {p.shape[0]} probabilities for {y.shape[0]} labels")
    if p.size == 0:
        raise InvalidArgumentError("no probabilities to check")
    if bins < 1:
        raise InvalidArgumentError(f"bins must be >= 1, got {bins}")
    if np.any((p < 0) | (p > 1)):
        raise InvalidArgumentError(f"probabilities must be in [0, 1], got min {p.min()} max {p.max()}")
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() / p.size * abs(p[inside].mean() - y[inside].mean())
    return float(total)


def threshold_for(confidences: Sequence[float], max_false: float) -> float:
    """The highest threshold abstaining (``confidence < threshold``) on at most ``max_false`` of ``confidences``.

    Meant for the confidences of answerable questions whose [1] is right: abstaining
    on them is a false abstention.
    """
    c = np.sort(np.asarray(confidences, dtype=np.float64).ravel())
    if c.size == 0:
        raise InvalidArgumentError("no confidences to pick a threshold from")
    if not 0.0 <= max_false < 1.0:
        raise InvalidArgumentError(f"max_false must be in [0, 1), got {max_false}")
    allowed = math.floor(max_false * c.size + 1e-9)
    return float(c[allowed])  # values below c[allowed]: at most `allowed` of them


def pick_threshold(groups: Mapping[str, Sequence[float]], max_false: float = 0.05) -> float:
    """The threshold that keeps every group's false abstention at or below ``max_false``.

    Args:
        groups: Per dataset, the confidences of its answerable questions whose [1] is right.
        max_false: The largest share of them that may be abstained on.
    """
    if not groups:
        raise InvalidArgumentError("no groups to pick a threshold from")
    return min(threshold_for(c, max_false) for c in groups.values())


# ---------------------------------------------------------------------- a threshold that holds on new documents


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space (exact for the n of a fit half)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def upper_bound(k: int, n: int, level: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper confidence bound of a rate seen as ``k`` of ``n``.

    The rate ``u`` at which seeing ``k`` or fewer has probability ``1 - level``: with
    ``level`` 0.95, 0 of 60 gives 0.049 and 1 of 60 gives 0.077.

    Raises:
        InvalidArgumentError: ``n`` < 1, ``k`` outside ``0..n`` or ``level`` outside (0, 1).
    """
    if n < 1 or not 0 <= k <= n:
        raise InvalidArgumentError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level must be in (0, 1), got {level}")
    if k == n:
        return 1.0
    low, high = k / n, 1.0
    for _ in range(60):  # P(X <= k) falls as the rate grows: bisect for 1 - level
        middle = (low + high) / 2
        if _binomial_cdf(k, n, middle) > 1.0 - level:
            low = middle
        else:
            high = middle
    return high


def certified_threshold(
    groups: Mapping[str, tuple[Sequence[float], Sequence[bool]]], max_false: float = 0.05, level: float | None = 0.95
) -> float:
    """The highest threshold whose false abstention is certified on every group.

    Args:
        groups: Per dataset, for its answerable questions whose [1] is right: their
            confidences and whether the rules already abstain on them (a policy "rules or
            confidence < t" abstains on ``rules | (confidence < t)``; pass all False for
            the model alone).
        max_false: The false-abstention rate to certify.
        level: Confidence of the one-sided :func:`upper_bound`; None holds every group
            to its rate seen ``k / n`` <= ``max_false`` instead (no margin).

    Certified: the upper bound of ``k`` abstained of ``n`` is <= ``max_false``. A group too
    small to certify even the rules alone (their bound is above ``max_false``: 1 of 60 gives
    0.077) cannot certify anything; it is held to its rate ``k / n`` <= ``max_false``
    instead. Returns 0.0 when no threshold above 0 qualifies. A threshold set at exactly
    ``max_false`` on the data lands above it on new documents about half the time; the
    bound keeps a margin that shrinks as the groups grow.
    """
    if not groups:
        raise InvalidArgumentError("no groups to pick a threshold from")
    checks = []
    for name, (confidences, rules) in groups.items():
        c = np.asarray(confidences, dtype=np.float64).ravel()
        r = np.asarray(rules, dtype=bool).ravel()
        if c.shape != r.shape or c.size == 0:
            raise InvalidArgumentError(f"group {name!r}: need as many rule flags as confidences, at least one; got {c.size} and {r.size}")
        certify = level is not None and upper_bound(int(r.sum()), c.size, level) <= max_false
        checks.append((c, r, certify))

    def holds(t: float) -> bool:
        for c, r, certify in checks:
            k = int(np.sum(r | (c < t)))
            if (upper_bound(k, c.size, level) if certify and level is not None else k / c.size) > max_false:
                return False
        return True

    candidates = sorted({0.0, *(float(v) for c, _, _ in checks for v in c)})
    best, low, high = 0.0, 0, len(candidates) - 1
    while low <= high:  # false abstention grows with the threshold
        middle = (low + high) // 2
        if holds(candidates[middle]):
            best, low = candidates[middle], middle + 1
        else:
            high = middle - 1
    return best
