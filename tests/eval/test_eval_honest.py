"""The honest report fits what its fit halves allow and says what it could not fit (synthetic observations)."""

from __future__ import annotations

import numpy as np

from citeqa.eval import answerability as ans
from citeqa.eval import honest
from citeqa.eval.observe import Obs


def _obs(half: str, right1: bool, kind: str = "answerable", score: float = 0.5) -> Obs:
    features = np.zeros(len(ans.FEATURES))
    features[ans.FEATURES.index("best_dense")] = score
    return Obs("squad11", half, kind, "q", "q", None, right1, right1, 1 if right1 else None, features, False)


def test_fit_halves_holding_only_right_answers_are_reported_not_fitted() -> None:
    # a small SQuAD file: every [1] of the fit half right, no negatives (no second fit document)
    rows = [_obs("fit", True, score=s) for s in np.linspace(0.3, 0.9, 20)]
    rows += [_obs("report", s > 0.5, score=s) for s in np.linspace(0.3, 0.9, 20)]
    assert honest.fit_labels(rows, ["squad11"]) == {True}
    lines, models = honest.report(rows, [], ablation=False)
    text = "\n".join(lines)
    assert "combined" not in models and "shipped" in models  # the tables show the shipped model
    assert "Not fitted: combined, squad-only" in text and "only one label" in text
    assert "The combined model is not fitted (no fit half holds both right and wrong answers)" in text


def test_fit_halves_with_both_labels_are_fitted() -> None:
    rows = [_obs("fit", s > 0.6, score=s) for s in np.linspace(0.3, 0.9, 40)]
    rows += [_obs("fit", False, kind="other-doc", score=s) for s in np.linspace(0.0, 0.4, 20)]
    rows += [_obs("report", s > 0.6, score=s) for s in np.linspace(0.3, 0.9, 20)]
    assert honest.fit_labels(rows, ["squad11"]) == {True, False}
    lines, models = honest.report(rows, [], ablation=False)
    assert {"combined", "squad-only", "shipped"} <= set(models)
    assert not any(line.startswith("Not fitted") for line in lines)
    # the fitted model ranks a higher cosine as likelier right
    model = models["combined"]
    low, high = (model.confidence(honest.matrix(model, [_obs("report", True, score=s)]))[0] for s in (0.3, 0.9))
    assert high > low


def test_pooled_calibration_counts_every_report_question_once_and_shows_each_datasets_error() -> None:
    def obs(dataset: str, right1: bool, score: float) -> Obs:
        row = _obs("report", right1, score=score)
        row.dataset = dataset
        return row

    rows = [_obs("fit", s > 0.6, score=s) for s in np.linspace(0.3, 0.9, 40)]
    rows += [_obs("fit", False, kind="other-doc", score=s) for s in np.linspace(0.0, 0.4, 20)]
    # two report halves the same model misjudges in opposite directions
    rows += [obs("squad11", True, s) for s in np.linspace(0.3, 0.9, 30)]
    rows += [obs("squad2", False, s) for s in np.linspace(0.3, 0.9, 10)]
    lines, models = honest.report(rows, [], ablation=False)
    model = models["combined"]
    line = next(x for x in lines if x.strip().startswith("combined") and "pooled" in x)
    p11 = model.confidence(honest.matrix(model, rows[60:90]))
    p2 = model.confidence(honest.matrix(model, rows[90:]))
    e11 = ans.expected_calibration_error(p11, np.ones(30))
    e2 = ans.expected_calibration_error(p2, np.zeros(10))
    pooled = ans.expected_calibration_error(np.concatenate([p11, p2]), np.r_[np.ones(30), np.zeros(10)])
    assert f"pooled {pooled:.3f}, mean {(e11 + e2) / 2:.3f}, range {min(e11, e2):.3f}-{max(e11, e2):.3f} (squad11, squad2)" in line
    assert pooled < max(e11, e2)  # errors of opposite sign partly cancel in the pool
    assert honest.pooled_calibration(rows[:60], models) == []  # no report half: no table
