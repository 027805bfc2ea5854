"""The abstention policy: chosen on fit halves with a certified false-abstention bound, then gated on report halves.

A policy is "rules" (the hand rules of :mod:`citeqa.answer.abstain`), "model" (confidence
below a threshold) or "rules_or_model". :func:`choose_policy` picks one and its threshold
on the FIT halves only (:data:`POLICY_CRITERION`): each threshold is the highest whose
one-sided 95% Clopper-Pearson upper bound of false abstention is <= 5% on every fit half
(:func:`citeqa.eval.answerability.certified_threshold`), so it keeps a margin for the
documents it was not set on. The release :func:`gate` then checks the choice on the REPORT
halves (false abstention <= 5% on every one, the gold file included, and more negatives
abstained than the rules); :func:`ship` records both and ships the choice only if it passed,
the rules otherwise, so ``benchmarks/answerability.py --write`` needs no hand edit.

When the choice fails the gate, :func:`ship` tries one *cautious* policy before the rules
(:data:`CAUTIOUS_CRITERION`, also set on the fit halves only): "rules_or_model" with the
highest threshold at which the model adds at most :data:`CAUTIOUS_ADDED` (1 point) of false
abstention to the rules' on every fit half, certified the same way. It faces the same gate.
It was added after the fit-half choice had failed the gate on the gold file (December 2026);
its criterion was written down before its report-half figures were computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..answer.confidence import AnswerabilityModel
from . import answerability as ans
from . import corpora
from .observe import Obs

#: The largest share of answerable questions whose [1] is right that may be abstained on.
MAX_FALSE = 0.05
#: Confidence of the upper bound that must stay under :data:`MAX_FALSE` on every fit half.
LEVEL = 0.95
#: The cautious policy's budget: false abstention it may add to the rules' on each fit half.
CAUTIOUS_ADDED = 0.01
#: Negative kinds, in table order.
NEGATIVE_KINDS = ("off-topic", "near-topic", "impossible", "other-doc")


def matrix(model: AnswerabilityModel, rows: Sequence[Obs]) -> np.ndarray:
    """The feature columns ``model`` reads, for ``rows``."""
    columns = [ans.FEATURES.index(f) for f in model.features]
    return np.array([o.features for o in rows]).reshape(len(rows), -1)[:, columns]


def policy_decisions(rows: Sequence[Obs], policy: str, model: AnswerabilityModel, threshold: float | None = None) -> list[bool]:
    """What ``policy`` ("rules", "model", "rules_or_model") decides for ``rows`` with ``model`` (at ``threshold``)."""
    t = model.threshold if threshold is None else threshold
    unsure = list(model.confidence(matrix(model, rows)) < t) if rows else []
    if policy == "rules":
        return [o.baseline for o in rows]
    if policy == "model":
        return [bool(u) for u in unsure]
    return [bool(u) or o.baseline for u, o in zip(unsure, rows)]


def _positives(rows: Sequence[Obs], decided: Sequence[bool]) -> list[bool]:
    return [d for d, o in zip(decided, rows) if o.answerable and o.right1]


def _false_abstention(rows: Sequence[Obs], decided: Sequence[bool]) -> float:
    right = _positives(rows, decided)
    return sum(right) / len(right) if right else 0.0


def _negatives_abstained(rows: Sequence[Obs], decided: Sequence[bool]) -> float:
    negatives = [d for d, o in zip(decided, rows) if not o.answerable]
    return sum(negatives) / len(negatives) if negatives else 0.0


def policy_threshold(
    rows_by_dataset: dict[str, list[Obs]], policy: str, model: AnswerabilityModel, max_false: float = MAX_FALSE, *, certified: bool = True
) -> float:
    """The highest confidence threshold keeping ``policy``'s false abstention within ``max_false`` on every dataset.

    ``certified``: its upper bound (:func:`citeqa.eval.answerability.certified_threshold`);
    False: the rate seen (the rule until December 2026, which landed above 5% on the
    report halves). 0 for "rules", and when nothing above 0 qualifies.
    """
    if policy == "rules":
        return 0.0
    groups = {}
    for name, rows in rows_by_dataset.items():
        right = [o for o in rows if o.answerable and o.right1]
        if right:
            rules = [o.baseline if policy == "rules_or_model" else False for o in right]
            groups[name] = (model.confidence(matrix(model, right)), rules)
    if not groups:
        return 0.0
    return ans.certified_threshold(groups, max_false, LEVEL if certified else None)


#: The criterion, fixed before any report half was looked at.
POLICY_CRITERION = (
    "on FIT halves only: the highest mean share of negatives abstained over the fit datasets, among the policies "
    f"whose false abstention ([1]-right answerable questions abstained) has a one-sided {LEVEL:.0%} Clopper-Pearson "
    f"upper bound <= {MAX_FALSE:.0%} on every fit half (a half too small to bound even the policy at threshold 0 is held "
    "to its rate seen); thresholds of 'model' and 'rules_or_model' set as high as that allows"
)


def choose_policy(
    observations: Sequence[Obs], model: AnswerabilityModel, datasets: Sequence[str], *, certified: bool = True
) -> tuple[str, float, list[str]]:
    """Pick the abstention policy on the fit halves of ``datasets`` (:data:`POLICY_CRITERION`).

    ``certified`` False picks by the rate seen instead of its bound (the criterion until
    December 2026, kept for comparison). "rules" is always a candidate.

    Returns:
        The policy, its threshold, and the table of what every policy did on the fit halves
        under both criteria (with the bound of each false abstention).
    """
    by_dataset = {d: [o for o in observations if o.dataset == d and o.half == corpora.FIT] for d in datasets}
    by_dataset = {d: rows for d, rows in by_dataset.items() if rows}
    lines = [f"Abstention policy, chosen {POLICY_CRITERION}"]
    lines.append(f"{'policy':<22} {'thr':>5}" + "".join(f" {d + ' neg':>12} {d + ' FA':>10} {'bound':>6}" for d in by_dataset) + f" {'mean neg':>9}")
    best: tuple[float, str, float] | None = None
    for policy, bounded in (("rules", True), ("model", True), ("rules_or_model", True), ("model", False), ("rules_or_model", False)):
        t = policy_threshold(by_dataset, policy, model, certified=bounded)
        line = f"{policy if bounded else policy + ' (rate)':<22} {t:5.3f}"
        shares = []
        for rows in by_dataset.values():
            decided = policy_decisions(rows, policy, model, t)
            right = _positives(rows, decided)
            shares.append(_negatives_abstained(rows, decided))
            bound = ans.upper_bound(sum(right), len(right), LEVEL) if right else 0.0
            line += f" {shares[-1]:12.1%} {_false_abstention(rows, decided):10.1%} {bound:6.1%}"
        mean = float(np.mean(shares)) if shares else 0.0
        lines.append(line + f" {mean:9.1%}" + ("" if bounded else "  (rate seen, no bound: the criterion until December 2026)"))
        if (bounded == certified or policy == "rules") and (best is None or mean > best[0]):
            best = (mean, policy, t)
    chosen = best if best is not None else (0.0, "rules", 0.0)
    lines.append(f"chosen{'' if certified else ' by the rate seen'}: {chosen[1]} (threshold {chosen[2]:.3f})")
    return chosen[1], chosen[2], lines


#: The fallback's criterion (:func:`cautious_threshold`).
CAUTIOUS_CRITERION = (
    "on FIT halves only: 'rules_or_model' with the highest threshold at which the model adds at most "
    f"{CAUTIOUS_ADDED:.0%} false abstention to the rules' ([1]-right answerable questions the rules answer, abstained by "
    f"the model), its one-sided {LEVEL:.0%} Clopper-Pearson upper bound on every fit half (a half too small to bound "
    f"{CAUTIOUS_ADDED:.0%} at all is held to its rate seen, i.e. to adding none)"
)


def cautious_threshold(observations: Sequence[Obs], model: AnswerabilityModel, datasets: Sequence[str]) -> float:
    """The threshold of the cautious fallback (:data:`CAUTIOUS_CRITERION`), from the fit halves of ``datasets``."""
    groups = {}
    for d in datasets:
        right = [o for o in observations if o.dataset == d and o.half == corpora.FIT and o.answerable and o.right1 and not o.baseline]
        if right:
            groups[d] = (model.confidence(matrix(model, right)), [False] * len(right))
    return ans.certified_threshold(groups, CAUTIOUS_ADDED, LEVEL) if groups else 0.0


# ---------------------------------------------------------------------- the release gate, on report halves


@dataclass(frozen=True)
class Gate:
    """The release gate's outcome on the report halves.

    Attributes:
        passed: False abstention <= :data:`MAX_FALSE` on every report half, and more
            report-half negatives abstained than the rules.
        summary: What was measured, for the shipped JSON's ``info["policy_gate"]``.
        lines: The table printed.
    """

    passed: bool
    summary: dict[str, Any]
    lines: list[str]


def gate(observations: Sequence[Obs], policy: str, model: AnswerabilityModel, threshold: float, datasets: Sequence[str]) -> Gate:
    """Check ``policy`` at ``threshold`` on the report halves of ``datasets`` against the rules, same observations."""
    halves = {d: [o for o in observations if o.dataset == d and o.half == corpora.REPORT] for d in datasets}
    halves = {d: rows for d, rows in halves.items() if any(o.answerable and o.right1 for o in rows)}
    lines = [f"Release gate (REPORT halves): {policy} at {threshold:.3f} against the rules; false abstention <= {MAX_FALSE:.0%} on every half and more negatives abstained"]
    lines.append(f"{'dataset':<8} {'policy':<15} {'FA [1]right':>16}" + "".join(f" {k:>11}" for k in NEGATIVE_KINDS))
    false_rates: dict[str, float] = {}
    counts = {"rules": 0, policy: 0}
    total = 0
    for d, rows in halves.items():
        for name in dict.fromkeys(("rules", policy)):
            decided = policy_decisions(rows, name, model, threshold)
            right = _positives(rows, decided)
            line = f"{d:<8} {name:<15} {sum(right) / len(right):7.1%} ({sum(right)}/{len(right)})".ljust(41)
            for kind in NEGATIVE_KINDS:
                flags = [x for x, o in zip(decided, rows) if o.kind == kind]
                line += f" {sum(flags) / len(flags):11.1%}" if flags else f" {'-':>11}"
            lines.append(line)
            if name == policy:
                false_rates[d] = round(sum(right) / len(right), 4)
            counts[name] = counts[name] + sum(x for x, o in zip(decided, rows) if not o.answerable)
        total += sum(not o.answerable for o in rows)
    fa_ok = bool(halves) and all(rate <= MAX_FALSE for rate in false_rates.values())
    more = counts[policy] > counts["rules"]
    passed = policy != "rules" and fa_ok and more
    summary = {
        "passed": passed,
        "false_abstention": false_rates,
        "negatives_abstained": {policy: counts[policy], "rules": counts["rules"], "of": total},
    }
    verdict = "passed" if passed else "failed" if policy != "rules" else "nothing to gate (the rules were chosen)"
    lines.append(f"gate: {verdict} (false abstention <= {MAX_FALSE:.0%} everywhere: {'yes' if fa_ok else 'no'}; negatives {counts[policy]} vs rules {counts['rules']} of {total})")
    return Gate(passed, summary, lines)


def ship(observations: Sequence[Obs], model: AnswerabilityModel, fit_datasets: Sequence[str], report_datasets: Sequence[str]) -> tuple[AnswerabilityModel, list[str]]:
    """Choose on the fit halves, gate on the report halves, and return the model to ship with both recorded.

    The shipped ``info["policy"]`` (read by :func:`citeqa.answer.abstain.abstain_decision`)
    is the fit-half choice when it passed the gate; else the cautious fallback
    (:data:`CAUTIOUS_CRITERION`) when that passed the same gate; else "rules". The threshold
    is the shipped policy's (the fit-half choice's when the rules ship: the confidence is
    reported beside every answer either way).
    """
    policy, threshold, lines = choose_policy(observations, model, fit_datasets)
    checked = gate(observations, policy, model, threshold, report_datasets)
    shipped, shipped_threshold = (policy, threshold) if checked.passed else ("rules", threshold)
    info: dict[str, Any] = {
        "policy_rule": POLICY_CRITERION,
        "policy_fit_choice": policy,
        "policy_fit_threshold": round(threshold, 6),
        "policy_gate": {**checked.summary, "rule": f"report halves: false abstention <= {MAX_FALSE:.0%} on every half (gold file included) and more negatives abstained than the rules"},
    }
    lines = [*lines, "", *checked.lines]
    if not checked.passed and policy != "rules":
        careful = cautious_threshold(observations, model, fit_datasets)
        second = gate(observations, "rules_or_model", model, careful, report_datasets)
        info["policy_cautious"] = {"policy": "rules_or_model", "threshold": round(careful, 6), "rule": CAUTIOUS_CRITERION, "gate": second.summary}
        lines += ["", f"The fit-half choice failed the gate; the cautious fallback, {CAUTIOUS_CRITERION}: rules_or_model (threshold {careful:.3f})", *second.lines]
        if second.passed:
            shipped, shipped_threshold = "rules_or_model", careful
    info["policy"] = shipped
    info["threshold_rule"] = (
        f"the threshold of the fit-half choice {policy!r} (policy_rule)" if shipped == policy or shipped == "rules"
        else "the cautious fallback's threshold (policy_cautious)"
    )
    old_policy, old_threshold, old_lines = choose_policy(observations, model, fit_datasets, certified=False)
    old = gate(observations, old_policy, model, old_threshold, report_datasets)
    lines = [*lines, f"shipped policy: {shipped}" + (f" (threshold {shipped_threshold:.3f})" if shipped != "rules" else ""), "", f"For comparison, the rate-seen criterion's {old_lines[-1]}:", *old.lines[1:]]
    return model.with_threshold(shipped_threshold, **info), lines
