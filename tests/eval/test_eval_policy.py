"""The abstention policy is chosen on fit halves by the stated criterion and gated on report halves (synthetic observations)."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.errors import InvalidArgumentError
from citeqa.eval import answerability as ans
from citeqa.eval import policy
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
    chosen, threshold, lines = policy.choose_policy(_data(False), _model(), ["d1", "d2"])
    assert chosen == "model"
    third = 1 / (1 + np.exp(-4 * np.linspace(0.2, 2.0, 40)[2]))
    # 40 right answers cannot bound 5% (0 of 40 gives 7.2%), so each half is held to its rate: 2 of 40
    assert abs(threshold - third) < 1e-6
    assert lines[-1].startswith("chosen: model") and any(line.startswith("rules ") for line in lines)


def test_rules_or_model_wins_when_the_rules_catch_negatives_the_model_misses():
    chosen, _, _ = policy.choose_policy(_data(True), _model(), ["d1", "d2"])
    assert chosen == "rules_or_model"


def test_false_abstention_bound_holds_on_every_dataset():
    rows = _data(False)
    by = {d: [o for o in rows if o.dataset == d] for d in ("d1", "d2")}
    t = policy.policy_threshold(by, "model", _model(), max_false=0.05)
    for d, group in by.items():
        decided = policy.policy_decisions(group, "model", _model(), t)
        right = [x for x, o in zip(decided, group) if o.answerable and o.right1]
        assert sum(right) <= 0.05 * len(right), d
    assert policy.policy_threshold(by, "rules", _model()) == 0.0


def _big(n: int, rules_on_negatives: bool = False) -> list[Obs]:
    """Two fit halves of ``n`` right answers and ``n`` negatives each, and two report halves like them."""
    rows = []
    for half in ("fit", "report"):
        for dataset in ("d1", "d2"):
            rows += [_obs(dataset, "answerable", True, s, False, half) for s in np.linspace(0.2, 2.0, n)]
            rows += [_obs(dataset, "impossible", False, s, rules_on_negatives and s > 0.5, half) for s in np.linspace(-2.0, 1.0, n)]
    return rows


def test_with_enough_right_answers_the_threshold_keeps_a_margin_under_the_rate_seen():
    rows = [o for o in _big(400) if o.half == "fit"]
    by = {d: [o for o in rows if o.dataset == d] for d in ("d1", "d2")}
    bounded = policy.policy_threshold(by, "model", _model())
    seen = policy.policy_threshold(by, "model", _model(), certified=False)
    scores = np.linspace(0.2, 2.0, 400)
    abstained = int(np.sum(1 / (1 + np.exp(-4 * scores)) < bounded))
    assert ans.upper_bound(abstained, 400) <= 0.05 < ans.upper_bound(abstained + 1, 400)
    assert abstained == 12  # 3.0% seen, bound 4.9%; the rate seen allows 20 (5.0%)
    assert int(np.sum(1 / (1 + np.exp(-4 * scores)) < seen)) == 20 and bounded < seen
    chosen, threshold, lines = policy.choose_policy(rows, _model(), ["d1", "d2"])
    assert (chosen, threshold) == ("model", bounded)
    old, old_threshold, _ = policy.choose_policy(rows, _model(), ["d1", "d2"], certified=False)
    assert (old, old_threshold) == ("model", seen)
    assert any("(rate)" in line for line in lines)


def test_the_gate_ships_the_fit_choice_only_when_every_report_half_holds():
    rows = _big(400)
    model, lines = policy.ship(rows, _model(), ["d1", "d2"], ["d1", "d2"])
    assert model.info["policy"] == "model" == model.info["policy_fit_choice"]
    assert model.info["policy_gate"]["passed"] is True
    assert model.info["policy_gate"]["false_abstention"] == {"d1": 0.03, "d2": 0.03}
    assert model.threshold == pytest.approx(model.info["policy_fit_threshold"], abs=1e-6)
    assert any(line.startswith("gate: passed") for line in lines)
    # a report half whose right answers sit lower than the fit halves': 30 of 400 abstained there
    shifted = [o for o in rows if not (o.half == "report" and o.dataset == "d2" and o.answerable)]
    shifted += [_obs("d2", "answerable", True, s, False, "report") for s in np.linspace(0.05, 1.85, 400)]
    model, lines = policy.ship(shifted, _model(), ["d1", "d2"], ["d1", "d2"])
    assert model.info["policy"] == "rules" and model.info["policy_fit_choice"] == "model"
    gate = model.info["policy_gate"]
    assert gate["passed"] is False and gate["false_abstention"]["d2"] > 0.05
    assert any(line == "shipped policy: rules" for line in lines)


def test_the_cautious_fallback_adds_no_false_abstention_a_fit_half_cannot_bound():
    rows = [o for o in _big(400) if o.half == "fit"]
    t = policy.cautious_threshold(rows, _model(), ["d1", "d2"])
    lowest = 1 / (1 + np.exp(-4 * 0.2))  # 0 of 400 added is bounded at 0.75% <= 1%; 1 of 400 at 1.2% is not
    assert t == pytest.approx(lowest)
    # right answers the rules already abstain on are not the model's to add: they are left out
    ruled = [_obs(d, "answerable", True, -1.0, True) for d in ("d1", "d2")]
    assert policy.cautious_threshold(rows + ruled, _model(), ["d1", "d2"]) == pytest.approx(lowest)
    # 3,000 right answers a half: 20 added (0.67%) has a bound under 1%
    many = [_obs(d, "answerable", True, s, False) for d in ("d1", "d2") for s in np.linspace(0.2, 2.0, 3000)]
    t = policy.cautious_threshold(many, _model(), ["d1", "d2"])
    added = int(np.sum(1 / (1 + np.exp(-4 * np.linspace(0.2, 2.0, 3000))) < t))
    assert ans.upper_bound(added, 3000) <= 0.01 < ans.upper_bound(added + 1, 3000)


def test_when_the_fit_choice_fails_the_gate_the_cautious_fallback_faces_the_same_gate():
    rows = _big(400)
    # d2's report-half right answers sit a little lower than the fit halves': the fit choice (3% of fit
    # answers abstained) abstains on 5.8% there, the cautious threshold (none added on a fit half) on 2.8%
    shifted = [o for o in rows if not (o.half == "report" and o.dataset == "d2" and o.answerable)]
    shifted += [_obs("d2", "answerable", True, s, False, "report") for s in np.linspace(0.15, 1.95, 400)]
    model, lines = policy.ship(shifted, _model(), ["d1", "d2"], ["d1", "d2"])
    assert model.info["policy_fit_choice"] == "model" and model.info["policy_gate"]["passed"] is False
    cautious = model.info["policy_cautious"]
    assert cautious["gate"]["passed"] is True and cautious["gate"]["false_abstention"]["d2"] <= 0.05
    assert model.info["policy"] == "rules_or_model" and model.threshold == pytest.approx(cautious["threshold"], abs=1e-6)
    assert model.threshold < model.info["policy_fit_threshold"]
    assert any(line.startswith("shipped policy: rules_or_model") for line in lines)
    # shifted further, the fallback fails too and the rules ship
    worse = [o for o in rows if not (o.half == "report" and o.dataset == "d2" and o.answerable)]
    worse += [_obs("d2", "answerable", True, s, False, "report") for s in np.linspace(0.05, 1.85, 400)]
    model, lines = policy.ship(worse, _model(), ["d1", "d2"], ["d1", "d2"])
    assert model.info["policy"] == "rules" and model.info["policy_cautious"]["gate"]["passed"] is False
    assert any(line == "shipped policy: rules" for line in lines)


def test_the_gate_wants_more_negatives_than_the_rules():
    rows = _big(400)
    checked = policy.gate(rows, "model", _model(), 0.0, ["d1", "d2"])
    assert not checked.passed  # threshold 0: no false abstention, but no negative abstained either
    assert checked.summary["negatives_abstained"] == {"model": 0, "rules": 0, "of": 800}
    assert not policy.gate(rows, "rules", _model(), 0.0, ["d1", "d2"]).passed


def test_certified_threshold_on_hand_made_arrays():
    c = np.arange(1, 101) / 100  # 100 right answers at 0.01 .. 1.00
    none = [False] * 100
    assert ans.certified_threshold({"a": (c, none)}, 0.05) == 0.02  # 1 of 100 abstained: bound 4.7%; 2 would be 6.2%
    assert ans.certified_threshold({"a": (c, none)}, 0.05, None) == 0.06  # the rate seen: 5 of 100
    # every group must hold: the smaller one decides
    assert ans.certified_threshold({"a": (c, none), "b": (c - 0.005, none)}, 0.05) == 0.015  # b: 0.005 and 0.015 below 0.02
    # rules abstaining on 1 of 60: the bound (7.7%) is out of reach, so the half is held to its rate (3 of 60)
    c60 = np.arange(1, 61) / 60
    assert ans.certified_threshold({"n": (c60, [True] + [False] * 59)}, 0.05) == c60[3]
    # nothing abstained yet: 0 of 60 is bounded at 4.9%, and no abstention may be added
    assert ans.certified_threshold({"n": (c60, [False] * 60)}, 0.05) == c60[0]


def test_certified_threshold_never_exceeds_the_rate_seen():
    rng = np.random.default_rng(3)
    for _ in range(20):
        groups = {g: (rng.random(int(rng.integers(100, 900))), np.zeros(0, dtype=bool)) for g in "ab"}
        groups = {g: (c, rng.random(c.size) < 0.01) for g, (c, _) in groups.items()}
        assert ans.certified_threshold(groups, 0.05) <= ans.certified_threshold(groups, 0.05, None)


def test_upper_bound_is_clopper_pearson():
    # scipy.stats.beta.ppf(0.95, k + 1, n - k)
    assert abs(ans.upper_bound(0, 60) - 0.0487029) < 1e-6
    assert abs(ans.upper_bound(1, 60) - 0.0766400) < 1e-6
    assert abs(ans.upper_bound(10, 338) - 0.0496673) < 1e-6
    assert abs(ans.upper_bound(5, 86) - 0.1183592) < 1e-6
    assert ans.upper_bound(3, 3) == 1.0 and abs(ans.upper_bound(0, 1) - 0.95) < 1e-9
    with pytest.raises(InvalidArgumentError, match="k=4, n=3"):
        ans.upper_bound(4, 3)
    with pytest.raises(InvalidArgumentError, match="level"):
        ans.upper_bound(1, 3, 1.0)
