"""The abstention policy is chosen on fit halves by the stated criterion (synthetic observations)."""

from __future__ import annotations

import numpy as np

from citeqa.eval import answerability as ans
from citeqa.eval import honest
from citeqa.eval.observe import Obs


def _obs(dataset: str, kind: str, right1: bool, score: float, rules: bool, half: str = "fit") -> Obs:
    features = np.zeros(len(ans.FEATURES))
    features[ans.FEATURES.index("best_dense")] = score
    return Obs(dataset, half, kind, "q", "q", None, right1, right1, 1 if right1 else None, features, rules)


def _model() -> ans.AnswerabilityModel:
    # confidence = sigmoid(4 * score): monotone in the one feature
    return ans.AnswerabilityModel(("best_dense",), np.zeros(1), np.ones(1), np.array([4.0]), 0.0, 0.5)


def _data(rules_on_negatives: bool) -> list[Obs]:
    rows = []
    for dataset in ("d1", "d2"):
        rows += [_obs(dataset, "answerable", True, s, False) for s in np.linspace(0.2, 2.0, 40)]
        rows += [_obs(dataset, "impossible", False, s, rules_on_negatives and s > 0.5) for s in np.linspace(-2.0, 1.0, 40)]
    return rows


def test_the_model_wins_when_the_rules_add_nothing():
    policy, threshold, lines = honest.choose_policy(_data(False), _model(), ["d1", "d2"])
    assert policy == "model"
    third = 1 / (1 + np.exp(-4 * np.linspace(0.2, 2.0, 40)[2]))
    assert threshold == np.float64(third).item() or abs(threshold - third) < 1e-6  # 2 of 40 abstained: 5%
    assert lines[-1].startswith("chosen: model") and any(line.startswith("rules ") for line in lines)


def test_rules_or_model_wins_when_the_rules_catch_negatives_the_model_misses():
    policy, _, _ = honest.choose_policy(_data(True), _model(), ["d1", "d2"])
    assert policy == "rules_or_model"


def test_false_abstention_bound_holds_on_every_dataset():
    rows = _data(False)
    by = {d: [o for o in rows if o.dataset == d] for d in ("d1", "d2")}
    t = honest.policy_threshold(by, "model", _model(), max_false=0.05)
    for d, group in by.items():
        decided = honest.policy_decisions(group, "model", _model(), t)
        right = [x for x, o in zip(decided, group) if o.answerable and o.right1]
        assert sum(right) <= 0.05 * len(right), d
    assert honest.policy_threshold(by, "rules", _model()) == 0.0
