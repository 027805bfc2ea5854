"""Honest evaluation tables: answerability fitted on fit halves, every dataset reported on its report half.

Models (:data:`FAMILIES`): fitted on all fit halves (combined), on SQuAD only (1.1 + 2.0)
and on news only (the cross-domain table), a one-feature cosine reference, and the
combined features with the label "the question is answerable" for comparison. Each
abstains below the threshold that keeps false abstention (answerable questions whose [1]
is right) at or below 5% on each of its fit datasets. The abstention *policy* (rules,
model, rules or model) is chosen on fit halves only and gated on report halves
(:mod:`citeqa.eval.policy`), and the hand rules are ablated one by one on the report
halves (:func:`ablation_table`).
Observations come from :mod:`citeqa.eval.observe`.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..answer import abstain as abstain_module
from ..answer import focus as focus_module
from ..answer.abstain import abstain_decision
from ..answer.confidence import AnswerabilityModel, shipped_model
from . import answerability as ans
from . import corpora
from .observe import Obs
from .policy import MAX_FALSE, matrix, policy_decisions, ship

DATASETS = ("squad11", "squad2", "news", "docs", "gold")


#: name -> (fit datasets, features, label). "cosine-only" is the one-feature reference
#: (Platt-scaled best cosine); "no-cross" the combined features without the cross-encoder's; "comb-answ" is the combined model fitted with label 1 = "the
#: question is answerable" instead of "[1] is right", for comparison only.
FAMILIES = {
    "combined": (("squad11", "squad2", "news"), ans.FEATURES, "right1"),
    "squad-only": (("squad11", "squad2"), ans.FEATURES, "right1"),
    "news-only": (("news",), ans.FEATURES, "right1"),
    "no-cross": (("squad11", "squad2", "news"), tuple(f for f in ans.FEATURES if not f.startswith("cross")), "right1"),
    "cosine-only": (("squad11", "squad2", "news"), ("best_dense",), "right1"),
    "comb-answ": (("squad11", "squad2", "news"), ans.FEATURES, "answerable"),
}


def _label(o: Obs, label: str) -> bool:
    return o.right1 if label == "right1" else o.answerable


def fit_labels(observations: Sequence[Obs], datasets: Sequence[str], label: str = "right1") -> set[bool]:
    """The labels present among the fit-half rows of ``datasets`` (a model needs both)."""
    return {_label(o, label) for o in observations if o.half == corpora.FIT and o.dataset in datasets}


def fit_model(
    observations: Sequence[Obs], datasets: Sequence[str], name: str, features: Sequence[str] = ans.FEATURES, label: str = "right1"
) -> AnswerabilityModel:
    """Fit on the fit halves of ``datasets``: each dataset weighs the same in total."""
    rows = [o for o in observations if o.half == corpora.FIT and o.dataset in datasets]
    x = np.array([o.features for o in rows])[:, [ans.FEATURES.index(f) for f in features]]
    y = np.array([1.0 if _label(o, label) else 0.0 for o in rows])
    counts = {d: sum(o.dataset == d for o in rows) for d in datasets}
    weights = np.array([len(rows) / (len(datasets) * counts[o.dataset]) for o in rows])
    kinds = {d: {k: sum(o.dataset == d and o.kind == k for o in rows) for k in sorted({o.kind for o in rows if o.dataset == d})} for d in datasets}
    model = ans.fit_model(
        x, y, weights, features=tuple(features),
        info={
            "name": name,
            "fitted_on": f"fit halves of {', '.join(datasets)} (split by document, citeqa.eval.corpora); "
            + ("label 1 = citation [1] is a correct sentence" if label == "right1" else "label 1 = the question is answerable")
            + "; every dataset weighs the same in total",
            "counts": kinds,
            "l2": 1.0,
            "script": "citeqa eval (citeqa.eval.honest) / benchmarks/answerability.py --write",
        },
    )
    confidences = model.confidence(x)
    groups = {d: confidences[[o.dataset == d and o.answerable and o.right1 for o in rows]] for d in datasets}
    threshold = ans.pick_threshold(groups, MAX_FALSE)
    return model.with_threshold(
        threshold,
        threshold_rule=f"highest threshold with <= {MAX_FALSE:.0%} false abstention (answerable, [1] right) on each fit dataset",
        fit_ece={d: round(ans.expected_calibration_error(confidences[[o.dataset == d for o in rows]], y[[o.dataset == d for o in rows]]), 4) for d in datasets},
    )


# ---------------------------------------------------------------------- tables


def share(flags: Sequence[bool]) -> str:
    n = len(flags)
    return f"{sum(flags) / n:6.1%} ({sum(flags)}/{n})" if n else "     -"


def pct(flags: Sequence[bool]) -> str:
    return f"{sum(flags) / len(flags):6.1%}" if flags else "     -"


def decisions(rows: Sequence[Obs], method: str, models: dict[str, AnswerabilityModel]) -> list[bool]:
    if method == "baseline":
        return [o.baseline for o in rows]
    if method == "shipped":  # the shipped policy; the fit-half choice at its own threshold when the rules ship
        model = models["shipped"]
        _, policy, threshold = shown_policy(model)
        return policy_decisions(rows, policy, model, threshold)
    model = models[method]
    return list(model.confidence(matrix(model, rows)) < model.threshold) if rows else []


def shown_policy(model: AnswerabilityModel) -> tuple[str, str, float]:
    """Label, policy and threshold of the tables' last row: the shipped policy ("shipped"), or the
    fit-half choice at its own threshold when the rules ship ("fit choice": the rules have their own row)."""
    shipped = str(model.info.get("policy", abstain_module.POLICY))
    if shipped != "rules":
        return "shipped", shipped, model.threshold
    return "fit choice", str(model.info.get("policy_fit_choice", shipped)), float(model.info.get("policy_fit_threshold", model.threshold))


def dataset_table(observations: Sequence[Obs], dataset: str, models: dict[str, AnswerabilityModel]) -> list[str]:
    rows = [o for o in observations if o.dataset == dataset and o.half == corpora.REPORT]
    if not rows:
        return []
    answerable = [o for o in rows if o.kind == "answerable"]
    follow = [o for o in rows if o.kind == "followup"]
    lines = [f"== {dataset}: report half ({len(rows)} asked) =="]
    ranks = [o.rank for o in answerable]
    mrr = sum(1 / r for r in ranks if r) / len(ranks) if ranks else 0.0
    lines.append(
        f"ranking: [1] right {share([o.right1 for o in answerable])}, top-3 {share([o.right3 for o in answerable])}, "
        f"MRR@10 {mrr:.3f}" + (f"; follow-ups [1] right {share([o.right1 for o in follow])}" if follow else "")
    )
    negative_kinds = [k for k in ("off-topic", "near-topic", "impossible", "other-doc") if any(o.kind == k for o in rows)]
    header = f"{'method':<11}" + "".join(f" {k + ' abst':>15}" for k in negative_kinds)
    header += f" {'FA [1]right':>11} {'FA all':>7} {'follow-up ok':>12} {'ECE':>6} {'thr':>5}"
    lines.append(header)
    methods = ["baseline", *models]
    for method in methods:
        decided = dict(zip(map(id, rows), decisions(rows, method, models)))
        line = f"{method if method != 'shipped' else shown_policy(models['shipped'])[0]:<11}"
        for k in negative_kinds:
            line += f" {pct([decided[id(o)] for o in rows if o.kind == k]):>15}"
        turns = answerable + follow
        line += f" {pct([decided[id(o)] for o in turns if o.right1]):>11} {pct([decided[id(o)] for o in turns]):>7}"
        if follow:
            ok = [bool(o.extra["cited_right"]) and not decided[id(o)] for o in follow]
            line += f" {pct(ok):>12}"
        else:
            line += f" {'-':>12}"
        if method not in models:
            line += f" {'-':>6} {'-':>5}"
        else:
            model = models[method]
            p = model.confidence(matrix(model, rows))
            y = np.array([o.right1 for o in rows], dtype=float)
            line += f" {ans.expected_calibration_error(p, y):6.3f} {model.threshold:5.2f}"
        lines.append(line)
    return lines


def tradeoff_table(observations: Sequence[Obs], dataset: str, models: dict[str, AnswerabilityModel]) -> list[str]:
    """Negatives abstained when the threshold is set on this report half for a given false-abstention rate (an oracle curve)."""
    rows = [o for o in observations if o.dataset == dataset and o.half == corpora.REPORT]
    answerable = [o for o in rows if o.answerable]
    negatives = [o for o in rows if not o.answerable and o.kind != "other-doc"]
    if not answerable or not negatives:
        return []
    lines = [f"{dataset}: unanswerable abstained at a given false abstention (all answerable), threshold set on the report half itself"]
    base_fa = pct([o.baseline for o in answerable])
    lines.append(f"  baseline: {pct([o.baseline for o in negatives])} at FA {base_fa}")
    for name, model in models.items():
        a = model.confidence(matrix(model, answerable))
        n = model.confidence(matrix(model, negatives))
        points = []
        for rate in (0.02, 0.05, 0.08, 0.10, 0.20):
            t = ans.threshold_for(a, rate)
            points.append(f"FA {rate:.0%}: {np.mean(n < t):.1%}")
        lines.append(f"  {name:<10} " + ", ".join(points))
    return lines


# ---------------------------------------------------------------------- rule ablation


def _never() -> re.Pattern[str]:
    return re.compile(r"(?!x)x")


def rule_switches() -> dict[str, Callable[[], contextlib.AbstractContextManager[Any]]]:
    """Context managers that switch one hand rule of today's abstention off (by monkeypatching)."""
    ranker, focus = abstain_module, focus_module

    def patch(module: Any, name: str, value: Any) -> Callable[[], contextlib.AbstractContextManager[Any]]:
        @contextlib.contextmanager
        def switch() -> Iterator[None]:
            old = getattr(module, name)
            setattr(module, name, value)
            try:
                yield
            finally:
                setattr(module, name, old)

        return switch

    return {
        "names": patch(focus, "name_supported", lambda name, vocabulary: True),
        "role": patch(focus, "role_word", lambda question: None),
        "counted words": patch(focus, "counted_words", lambda question: []),
        "future date": patch(focus, "_FUTURE_WHEN", _never()),
        "answer type": patch(ranker, "answer_type_found", lambda question, texts: True),
    }


def ablation_table(observations: Sequence[Obs], log: Callable[[str], None]) -> list[str]:
    """Rule x dataset: negatives abstained and false abstention with each rule switched off.

    Negatives per dataset: SQuAD 1.1 has only cross-document ones ("xdoc"); SQuAD 2.0 its
    impossible questions; news and the gold file their near- and off-topic questions,
    news also its cross-document ones. FA: answerable questions and follow-up turns abstained.
    """
    report = [o for o in observations if o.half == corpora.REPORT and o.extra.get("ranker") is not None]
    columns = [
        ("squad11 xdoc", "squad11", ("other-doc",)),
        ("squad2 imposs", "squad2", ("impossible",)),
        ("news near+off", "news", ("near-topic", "off-topic")),
        ("news xdoc", "news", ("other-doc",)),
        ("docs near+off", "docs", ("near-topic", "off-topic")),
        ("gold near+off", "gold", ("near-topic", "off-topic")),
    ]
    columns = [c for c in columns if any(o.dataset == c[1] and o.kind in c[2] for o in report)]
    datasets = [d for d in DATASETS if any(o.dataset == d and o.answerable for o in report)]
    lines = ["Rule ablation on report halves (today's abstention with one rule off): share of negatives abstained, false abstention (FA, all answerable)"]
    lines.append(f"{'rule off':<18}" + "".join(f" {name:>13}" for name, _, _ in columns) + "".join(f" {d + ' FA':>10}" for d in datasets))

    def row(label: str, decide: Callable[[Obs], bool]) -> str:
        decided = {id(o): decide(o) for o in report}
        line = f"{label:<18}"
        for _, dataset, kinds in columns:
            line += f" {pct([decided[id(o)] for o in report if o.dataset == dataset and o.kind in kinds]):>13}"
        for d in datasets:
            line += f" {pct([decided[id(o)] for o in report if o.dataset == d and o.answerable]):>10}"
        return line

    lines.append(row("(none: today)", lambda o: o.baseline))
    for name, switch in rule_switches().items():
        started = time.perf_counter()
        with switch():
            lines.append(row(name, lambda o: abstain_decision(o.query, o.ranking, o.extra["ranker"], o.extra["vocabulary"], question=o.question, policy="rules", with_confidence=False).abstain))
        log(f"  ablation {name}: {time.perf_counter() - started:.0f}s")
    # the similarity floors (hard_floor, soft_floor, min_coverage) are thresholds, not code: pass ones that never fire
    off = {"hard_floor": -2.0, "soft_floor": -2.0, "min_coverage": 0.0}
    lines.append(row("similarity floors", lambda o: abstain_decision(o.query, o.ranking, o.extra["ranker"], o.extra["vocabulary"], off, question=o.question, policy="rules", with_confidence=False).abstain))
    return lines




# ---------------------------------------------------------------------- everything


def pooled_calibration(observations: Sequence[Obs], models: dict[str, AnswerabilityModel]) -> list[str]:
    """Each model's calibration error over all report halves at once, next to its per-dataset range.

    Pooled, every question counts once (SQuAD 1.1 holds most of them); each dataset weighed
    the same, the mean of the per-dataset errors. The per-dataset figures are the tables' own:
    a probability right on the mix can be wrong within one dataset (SQuAD 1.1 and 2.0 pull
    the same feature values opposite ways).
    """
    reported = [d for d in DATASETS if any(o.dataset == d and o.half == corpora.REPORT for o in observations)]
    if not reported:
        return []
    out = ["Calibration over the report halves (ECE, 10 bins, label [1] right): pooled (every question once), "
           "mean of the datasets' (each weighs the same), and the datasets' range"]
    for name, model in models.items():
        if name == "shipped":
            continue
        errors, p_all, y_all = [], [], []
        for dataset in reported:
            rows = [o for o in observations if o.dataset == dataset and o.half == corpora.REPORT]
            p = model.confidence(matrix(model, rows))
            y = np.array([o.right1 for o in rows], dtype=float)
            errors.append(ans.expected_calibration_error(p, y))
            p_all.append(p)
            y_all.append(y)
        pooled = ans.expected_calibration_error(np.concatenate(p_all), np.concatenate(y_all))
        out.append(f"  {name:<11} pooled {pooled:.3f}, mean {np.mean(errors):.3f}, range {min(errors):.3f}-{max(errors):.3f} ({', '.join(reported)})")
    out.append("")
    return out


#: How :attr:`AnswerabilityModel.topic_lead` was fitted (kept in the model's info).
TOPIC_LEAD_FROM = 'citeqa.eval.topics: each fit-half SQuAD title T asked as "What is T?"; (right + 1) / (chosen + 2)'


def report(
    observations: Sequence[Obs],
    corpora_used: Sequence[corpora.Corpus],
    *,
    ablation: bool = True,
    log: Callable[[str], None] = lambda _: None,
    topic_lead: float | None = None,
) -> tuple[list[str], dict[str, AnswerabilityModel]]:
    """Fit every family on the fit halves, choose the policy, and print every table (report halves).

    ``topic_lead``: the probability every model gives a [1] the "What is X?" rule chose
    (:mod:`citeqa.eval.topics`, fitted on the fit halves' titles); None: the logistic's.

    Returns:
        The lines, and the models; ``models["shipped"]`` is the combined model with the
        fit-half choice's threshold, ``info["policy"]`` the choice if it passed the report-half
        gate and "rules" otherwise (what ``--write`` ships; :func:`citeqa.eval.policy.ship`).
    """
    present = {o.dataset for o in observations if o.half == corpora.FIT}
    models, unfitted = {}, []
    for name, (datasets, features, label) in FAMILIES.items():
        used = [d for d in datasets if d in present]
        if not used:
            continue
        if len(fit_labels(observations, used, label)) < 2:
            unfitted.append(name)
            continue
        model = fit_model(observations, used, name, features, label)
        models[name] = model if topic_lead is None else model.with_topic_lead(topic_lead, topic_lead_from=TOPIC_LEAD_FROM)
    out: list[str] = ["Splits: " + "; ".join(f"{c.name}: {c.note}" for c in corpora_used)]
    out += [f"  {c.name}: report documents {c.documents_in('report')}" for c in corpora_used]
    if unfitted:
        out.append(
            f"Not fitted: {', '.join(unfitted)}: their fit halves hold only one label (no wrong [1] and no negative question); "
            "give more documents, or SQuAD 2.0 / news, whose unanswerable questions are negatives"
        )
    out.append("")
    fitted_on = sorted(d for d in FAMILIES["combined"][0] if d in present)  # the policy is chosen where the model is fitted
    if "combined" in models:
        reported = [d for d in DATASETS if any(o.dataset == d and o.half == corpora.REPORT for o in observations)]
        models["shipped"], lines = ship(observations, models["combined"], fitted_on, reported)
        out += lines + [""]
    else:
        models["shipped"] = shipped_model()
        why = (
            "no fit half holds both right and wrong answers" if fitted_on
            else f"no fit half of {', '.join(FAMILIES['combined'][0])} present; docs and the gold file are reported, not fitted on"
        )
        out += [f"The combined model is not fitted ({why}): tables show the shipped model.", ""]
    for dataset in DATASETS:
        out += dataset_table(observations, dataset, models)
        out += tradeoff_table(observations, dataset, {k: v for k, v in models.items() if k != "shipped"})
        out.append("")
    out.append("Cross-domain (report halves): fitted on SQuAD only -> news; fitted on news only -> SQuAD; in-domain and combined for comparison")
    out.append(f"{'model':<11} {'on':<8} {'neg abst':>9} {'FA [1]right':>11} {'FA all':>7} {'ECE':>6}")
    for name, model in models.items():
        if name == "shipped":
            continue
        for dataset in DATASETS:
            rows = [o for o in observations if o.dataset == dataset and o.half == corpora.REPORT]
            if not rows:
                continue
            p = model.confidence(matrix(model, rows))
            abstain = p < model.threshold
            neg = [a for a, o in zip(abstain, rows) if not o.answerable]
            fa_right = [a for a, o in zip(abstain, rows) if o.answerable and o.right1]
            fa = [a for a, o in zip(abstain, rows) if o.answerable]
            y = np.array([o.right1 for o in rows], dtype=float)
            out.append(f"{name:<11} {dataset:<8} {pct(neg):>9} {pct(fa_right):>11} {pct(fa):>7} {ans.expected_calibration_error(p, y):6.3f}")
    out.append("")
    out += pooled_calibration(observations, models)
    for name, model in models.items():
        out.append(f"model {name}: threshold {model.threshold:.3f}, intercept {model.intercept:+.3f}, fit ECE {model.info.get('fit_ece')}")
        out.append("  " + ", ".join(f"{f} {c:+.2f}" for f, c in zip(model.features, model.coef)))
    if ablation:
        out.append("")
        out += ablation_table(observations, log)
    return out, models


# ---------------------------------------------------------------------- the cross-encoder, before and after


def _ranking_line(rows: Sequence[Obs]) -> tuple[list[bool], list[bool], float]:
    answerable = [o for o in rows if o.kind == "answerable"]
    mrr = sum(1 / o.rank for o in answerable if o.rank) / len(answerable) if answerable else 0.0
    return [o.right1 for o in answerable], [o.right3 for o in answerable], mrr


def cross_encoder_table(before: Sequence[Obs], after: Sequence[Obs]) -> list[str]:
    """Report halves with the cross-encoder stage off ("before") and on ("after"), each with its own fitted models.

    Ranking: [1] right, top-3 and MRR@10 of the answerable questions. Answerability: the
    combined model and the cross-domain ones (fitted on SQuAD only / news only) fitted in
    each run on its fit halves: negatives abstained and false abstention at its fit-half
    threshold, and the expected calibration error.
    """
    runs = {}
    for label, observations in (("before", before), ("after", after)):
        present = {o.dataset for o in observations if o.half == corpora.FIT}
        runs[label] = (observations, {
            name: fit_model(observations, [d for d in datasets if d in present], name, tuple(f for f in features if label == "after" or not f.startswith("cross")), lab)
            for name, (datasets, features, lab) in FAMILIES.items()
            if name in ("combined", "squad-only", "news-only") and any(d in present for d in datasets)
        })
    lines = ["Cross-encoder stage off (before) and on (after), report halves; models refitted on fit halves in each run"]
    lines.append(f"{'dataset':<8} {'run':<7} {'[1] right':>16} {'top-3':>8} {'MRR@10':>7} {'model':<11} {'neg abst':>9} {'FA [1]right':>11} {'ECE':>6}")
    for dataset in DATASETS:
        for label, (observations, models) in runs.items():
            rows = [o for o in observations if o.dataset == dataset and o.half == corpora.REPORT]
            if not rows:
                continue
            right1, right3, mrr = _ranking_line(rows)
            for number, (name, model) in enumerate(models.items()):
                p = model.confidence(matrix(model, rows))
                abstain = p < model.threshold
                neg = [bool(a) for a, o in zip(abstain, rows) if not o.answerable]
                fa = [bool(a) for a, o in zip(abstain, rows) if o.answerable and o.right1]
                y = np.array([o.right1 for o in rows], dtype=float)
                head = f"{dataset:<8} {label:<7} {share(right1):>16} {pct(right3):>8} {mrr:7.3f}" if number == 0 else " " * 50
                lines.append(f"{head} {name:<11} {pct(neg):>9} {pct(fa):>11} {ans.expected_calibration_error(p, y):6.3f}")
    return lines
