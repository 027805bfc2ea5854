"""Abstention: decide when the documents don't answer a question.

Owns the decision and its thresholds (:func:`should_abstain`, :data:`ABSTAIN_DEFAULTS`,
overridable from ``data/reranker.json``) and the evidence it looks at
(:class:`AbstainEvidence`): similarity, word coverage around the best sentence, the
answer type (:mod:`citeqa.question`) and the question's focus (:mod:`citeqa.answer.focus`).
Reads ranked sentences through the :class:`~citeqa.search.ranker.Ranker`; writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from ..question import answer_spans, question_type
from ..search.features import weighted_coverage
from ..search.fusion import Ranking
from ..search.ranker import Ranker
from ..text import tokenize
from .confidence import AnswerabilityModel, confidence, shipped_model
from .focus import Vocabulary, check_focus

#: Default abstention thresholds (``data/reranker.json`` may override them).
ABSTAIN_DEFAULTS = {"hard_floor": 0.05, "soft_floor": 0.30, "min_coverage": 0.10}

#: How the decision combines the hand rules and the fitted confidence:
#: "rules" (the hand rules of :func:`should_abstain` only), "model" (abstain when the
#: confidence is below the model's threshold) or "rules_or_model" (either abstains).
POLICIES = ("rules", "model", "rules_or_model")

#: The policy when the shipped model names none. ``benchmarks/answerability.py --write``
#: records the shipped one in ``data/answerability.json`` (``info["policy"]``): the choice
#: made on the fit halves if it passed the release gate on the report halves, else the
#: cautious fallback if it passed, else the rules (:mod:`citeqa.eval.policy`; README,
#: "Honest abstention").
POLICY = "rules"


def shipped_policy(model: AnswerabilityModel | None = None) -> str:
    """The policy ``model`` (default: the shipped one) was shipped with, :data:`POLICY` when it names none.

    Raises:
        InvalidArgumentError: it names a policy not in :data:`POLICIES`.
    """
    model = shipped_model() if model is None else model
    policy = str(model.info.get("policy", POLICY))
    if policy not in POLICIES:
        raise InvalidArgumentError(f"the answerability model names policy {policy!r}, not one of {', '.join(POLICIES)}; refit it with benchmarks/answerability.py --write")
    return policy


def should_abstain(
    best_dense: float,
    coverage: float,
    thresholds: Mapping[str, float],
    *,
    answer_type_found: bool = True,
    focus_found: bool = True,
) -> bool:
    """Abstain when nothing in the documents is close enough to the query.

    These are the *hand rules*, which decide under the policy "rules" (:func:`shipped_policy`); the
    fitted confidence (:mod:`citeqa.answer.confidence`) is reported beside them. Each rule here was kept
    because switching it off lowers the negatives abstained on the report halves of at
    least two datasets (``citeqa eval``, rule ablation). The floors were first set on the
    shipped article's gold file (``data/eval/lachin-gold.jsonl``): off-topic questions reach a best
    cosine of at most ~0.25 and none of their words occurs around the best sentence
    (coverage 0), while answerable ones either share words with the best sentence's
    paragraph/headline (coverage >= 0.24) or reach a cosine >= 0.39. So: below
    ``hard_floor`` (0.05) always abstain; between the floors abstain only when coverage is
    under ``min_coverage`` (0.10); at or above ``soft_floor`` (0.30) answer.

    Near-topic questions share the documents' words, so similarity cannot catch them;
    the *answer type* can: a "when" or "how many/much" question none of whose best
    sentences holds a date or a number ("How many soldiers took part?" asked of an
    article that gives no figure) is not answered (``answer_type_found`` False); and so
    can the question's *focus*: a name, role, counted thing or future date it
    asks about that the documents lack ("Did NATO comment?" asked of an article that
    never names NATO; :mod:`citeqa.answer.focus`) is not answered (``focus_found`` False).

    Args:
        best_dense: The best cosine between the query and any candidate sentence.
        coverage: IDF-weighted share of the query's words present around the best
            sentence (its paragraph and its document's headline), 0..1.
        thresholds: ``hard_floor`` (always abstain below this cosine), ``soft_floor``
            (never abstain above it on similarity alone), ``min_coverage`` (between the
            two floors, abstain when coverage is below this).
        answer_type_found: False when the question asks for a date or a number and none
            of the best sentences holds one.
        focus_found: False when the documents lack what the question is about (a name
            it uses, the role or counted thing it asks for; see :mod:`citeqa.answer.focus`).
    """
    t = {**ABSTAIN_DEFAULTS, **thresholds}
    if not answer_type_found or not focus_found:
        return True
    if best_dense < t["hard_floor"]:
        return True
    if best_dense >= t["soft_floor"]:
        return False
    return coverage < t["min_coverage"]


#: How many of the best-ranked sentences are checked for the asked-for answer type.
TYPE_CHECK_DEPTH = 3


#: Question kinds whose answer has a shape one can check for (a date, a number).
CHECKED_TYPES = ("when", "count")


#: How many of the best-ranked sentences the focus check reads (see :mod:`citeqa.answer.focus`).
FOCUS_CHECK_DEPTH = 3


@dataclass(frozen=True)
class AbstainEvidence:
    """What the abstention decision looks at, for the best-ranked sentence.

    Attributes:
        abstain: The decision.
        best_dense: Best cosine of any candidate sentence to the query.
        coverage: IDF-weighted share of the query's words found in the best sentence's
            paragraph and its document's headline (0..1).
        top_probability: The reranker's probability for the best sentence.
        answer_type_found: False when the question asks for a date or a number and
            none of the :data:`TYPE_CHECK_DEPTH` best sentences holds one.
        focus_missing: What the documents lack of the question's focus (a name, a role,
            the counted thing, a future date; see
            :mod:`citeqa.answer.focus`), empty when nothing is missing.
        confidence: The fitted probability that the best sentence answers the question
            (:mod:`citeqa.answer.confidence`).
        rules_abstain: What the hand rules alone decided.
    """

    abstain: bool
    best_dense: float
    coverage: float
    top_probability: float
    answer_type_found: bool = True
    focus_missing: str = ""
    confidence: float = 0.0
    rules_abstain: bool = False


def answer_type_found(question: str, texts: list[str]) -> bool:
    """False when ``question`` asks for a date or a number and none of ``texts`` holds one."""
    if question_type(question) not in CHECKED_TYPES:
        return True
    return any(answer_spans(question, text) for text in texts)


def abstain_decision(
    query: str,
    ranking: Ranking,
    ranker: Ranker,
    vocabulary: Vocabulary,
    thresholds: Mapping[str, float] | None = None,
    *,
    question: str | None = None,
    policy: str | None = None,
    model: AnswerabilityModel | None = None,
    with_confidence: bool = True,
) -> AbstainEvidence:
    """Decide whether the documents don't answer ``query`` (see :func:`should_abstain`).

    Args:
        query: The query searched (follow-ups resolved).
        ranking: Its ranking.
        ranker: The ranker that made it (texts, IDF).
        vocabulary: The corpus's words and names, for the focus check (``Index.vocabulary``).
        thresholds: Abstention thresholds (default: the reranker JSON's).
        question: The question as asked, whose question word gives the answer type
            (default: ``query``).
        policy: One of :data:`POLICIES` (default: the one ``model`` was shipped with,
            :func:`shipped_policy`).
        model: The answerability model (default: the shipped one).
        with_confidence: False skips the confidence (reported as 0.0) under policy
            "rules" (evaluation replays of the rules alone).
    """
    policy = shipped_policy(model) if policy is None else policy
    if policy not in POLICIES:
        raise InvalidArgumentError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    thresholds = ranker.model.abstain if thresholds is None else thresholds
    if not len(ranking):
        return AbstainEvidence(True, 0.0, 0.0, 0.0)
    best_dense = float(np.max(ranking.dense))
    top = int(ranking.ids[0])
    context = ranker.paragraph_text(top) + " " + ranker.title_text(top)
    coverage = weighted_coverage(tokenize(query), tokenize(context), ranker.idf)
    probability = float(ranking.scores[0])
    asked = question if question is not None else query
    best_texts = [ranker.text(int(r)) for r in ranking.ids[:FOCUS_CHECK_DEPTH]]
    typed = answer_type_found(asked, best_texts[:TYPE_CHECK_DEPTH])
    focus = check_focus(asked, best_texts, vocabulary, number_depth=TYPE_CHECK_DEPTH)
    rules = should_abstain(best_dense, coverage, thresholds, answer_type_found=typed, focus_found=focus.found)
    if policy == "rules" and not with_confidence:
        return AbstainEvidence(rules, best_dense, coverage, probability, typed, focus.missing, 0.0, rules)
    model = shipped_model() if model is None else model
    sure = confidence(asked, query, ranking, ranker, vocabulary, model)
    unsure = sure < model.threshold
    decision = rules if policy == "rules" else unsure if policy == "model" else rules or unsure
    return AbstainEvidence(decision, best_dense, coverage, probability, typed, focus.missing, sure, rules)
