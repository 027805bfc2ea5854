"""Fitting answerability: the logistic regression, the JSON model, ECE and the threshold rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citeqa.errors import InvalidArgumentError
from citeqa.eval import answerability as ans


def test_fit_logistic_recovers_a_known_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
    coef, intercept = ans.fit_logistic(x, y, l2=0.01)
    assert coef[0] > 5 and coef[1] < -2  # the direction of the true boundary
    assert coef[0] / -coef[1] == pytest.approx(2.0, rel=0.25)
    assert abs(intercept) < 1.0
    p = 1 / (1 + np.exp(-(x @ coef + intercept)))
    assert np.mean((p > 0.5) == (y == 1)) > 0.97


def test_fit_logistic_is_calibrated_on_noisy_labels():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5000, 1))
    true_p = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 0.3)))
    y = (rng.random(5000) < true_p).astype(float)
    model = ans.fit_model(x, y, features=("a",), l2=0.0)
    p = model.confidence(x)
    assert np.max(np.abs(p - true_p)) < 0.06
    assert ans.expected_calibration_error(p, y) < 0.03


def test_fit_refuses_one_class_and_bad_labels():
    with pytest.raises(InvalidArgumentError, match="both classes"):
        ans.fit_logistic(np.zeros((3, 1)), np.ones(3))
    with pytest.raises(InvalidArgumentError, match="0 or 1"):
        ans.fit_logistic(np.zeros((2, 1)), np.array([0.0, 2.0]))


def test_weights_count_like_repeated_rows():
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    weighted = ans.fit_logistic(x, y, np.array([1.0, 3.0, 1.0, 1.0]), l2=0.1)
    repeated = ans.fit_logistic(np.vstack([x, x[[1]], x[[1]]]), np.r_[y, 1.0, 1.0], l2=0.1)
    assert np.allclose(weighted[0], repeated[0], atol=1e-6) and weighted[1] == pytest.approx(repeated[1], abs=1e-6)


def test_model_json_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(float)
    model = ans.fit_model(x, y, features=("a", "b", "c"), info={"fitted_on": "synthetic"}).with_threshold(0.3)
    path = tmp_path / "answerability.json"
    model.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["features"] == ["a", "b", "c"] and data["threshold"] == 0.3 and data["info"]["fitted_on"] == "synthetic"
    again = ans.AnswerabilityModel.from_json(path.read_text(encoding="utf-8"))
    assert np.allclose(again.confidence(x), model.confidence(x), atol=1e-6)
    with pytest.raises(InvalidArgumentError, match="refit"):
        ans.AnswerabilityModel.from_json('{"features": ["a"]}')


def test_ece_on_a_hand_example():
    # bin [0.1, 0.2): p 0.1, 0.1 with labels 0, 1 -> |0.1 - 0.5| = 0.4, weight 2/5
    # bin [0.9, 1.0]: p 0.9, 0.9, 1.0 with labels 1, 1, 1 -> |0.9333 - 1| = 0.0667, weight 3/5
    p = [0.1, 0.1, 0.9, 0.9, 1.0]
    y = [0, 1, 1, 1, 1]
    expected = 2 / 5 * 0.4 + 3 / 5 * (1 - (0.9 + 0.9 + 1.0) / 3)
    assert ans.expected_calibration_error(p, y) == pytest.approx(expected)
    assert ans.expected_calibration_error([0.25, 0.75], [0, 1], bins=1) == pytest.approx(0.0)
    assert ans.expected_calibration_error([0.0, 1.0], [1, 0]) == pytest.approx(1.0)
    with pytest.raises(InvalidArgumentError, match="in \\[0, 1\\]"):
        ans.expected_calibration_error([1.5], [1])
    with pytest.raises(InvalidArgumentError, match="2 probabilities for 1 labels"):
        ans.expected_calibration_error([0.5, 0.5], [1])


def test_threshold_keeps_false_abstention_at_most_the_rate():
    confidences = np.linspace(0.01, 1.0, 100)
    t = ans.threshold_for(confidences, 0.05)
    assert np.sum(confidences < t) == 5
    assert ans.threshold_for(confidences, 0.0) == pytest.approx(0.01)  # abstains on none
    # several datasets: the strictest wins, so each stays at or below the rate
    groups = {"a": confidences, "b": np.linspace(0.5, 1.0, 20)}
    t = ans.pick_threshold(groups, 0.05)
    for c in groups.values():
        assert np.mean(c < t) <= 0.05
    with pytest.raises(InvalidArgumentError, match="no confidences"):
        ans.threshold_for([], 0.05)
