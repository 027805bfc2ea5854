"""Answer confidence: the answerability features of a ranked question, the shipped model, Answer.confidence."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.answer import confidence as ans
from citeqa.errors import InvalidArgumentError
from citeqa.schema import Answer

from built import NORRBY

TINY = (
    "Rhine facts\n\n"
    "The Rhine rises in the Swiss Alps and flows to the North Sea. "
    "Its length is about 1,230 kilometres. "
    "Barges carry coal and grain on it.\n\n"
    "The river was a Roman frontier in 12 BC. "
    "Cologne and Basel stand on its banks.\n"
)


@pytest.fixture(scope="module")
def tiny_index(index_of):
    """A real index (real model, FAISS, BM25) of a hand-made two-paragraph document."""
    return index_of("rhine.txt", TINY)


def _features(index, question):
    ranking = index.rank(question, 10, question=question)
    return ranking, ans.question_features(question, question, ranking, index.ranker, index.vocabulary)


def test_features_of_an_answerable_question(tiny_index):
    ranking, f = _features(tiny_index, "How long is the Rhine?")
    assert set(f) == set(ans.FEATURES)
    assert f["typed"] == 1.0  # "how long" asks for a quantity
    top = tiny_index.ranker.text(int(ranking.ids[0]))
    assert f["type_found1"] == (1.0 if any(ch.isdigit() for ch in top) else 0.0)
    assert f["type_found3"] == 1.0  # the 1,230 km sentence is among the best three
    assert 0.0 < f["unknown_share"] < 1.0  # "rhine" occurs, "long" does not (the text says "length")
    assert _features(tiny_index, "What do barges carry?")[1]["unknown_share"] == 0.0
    assert f["names_asked"] == 1.0 and f["names_found"] == 1.0
    assert f["best_dense"] >= f["dense1"] - 1e-6
    assert f["dense1"] == pytest.approx(float(ranking.dense[0]))
    assert f["prob1"] == pytest.approx(float(ranking.scores[0]))
    assert 0.0 <= f["bm25_norm1"] <= 1.0
    assert f["context_coverage1"] >= f["coverage1"]  # the paragraph holds the sentence


def test_features_of_an_off_topic_question(tiny_index):
    _, off = _features(tiny_index, "Who won the Tour de France in 1998?")
    _, on = _features(tiny_index, "Which cities stand on the Rhine?")
    assert off["unknown_share"] > 0.5  # tour, franc, won, 1998: not in the document
    assert off["names_found"] < 1.0  # "Tour de France" is nowhere
    assert off["numbers_found"] == 0.0  # 1998 is nowhere
    assert on["numbers_found"] == 1.0  # no number asked
    assert off["best_dense"] < on["best_dense"]
    assert off["coverage_top3"] < on["coverage_top3"]


def test_a_first_sentence_that_refers_back_is_credited_with_the_sentence_before(tiny_index):
    ranking, f = _features(tiny_index, "How long is the Rhine?")
    top = tiny_index.ranker.text(int(ranking.ids[0]))
    assert top == "Its length is about 1,230 kilometres."  # "Its": the Rhine of the sentence before
    assert f["coverage1"] == 0.0 and f["carried_coverage1"] > 0.0
    ranking, g = _features(tiny_index, "When was the river a Roman frontier?")
    assert tiny_index.ranker.text(int(ranking.ids[0])).startswith("The river was a Roman frontier")
    # it opens with "The" but starts its paragraph: nothing before it to carry
    assert g["carried_coverage1"] == g["coverage1"]
    _, h = _features(tiny_index, "Where does the Rhine rise?")  # [1] opens its paragraph (and names the Rhine)
    assert h["carried_coverage1"] == h["coverage1"]


def test_empty_ranking_gives_zero_evidence(tiny_index):
    from citeqa.search.fusion import Ranking

    empty = Ranking(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))
    f = ans.question_features("What is coal?", "What is coal?", empty, tiny_index.ranker, tiny_index.vocabulary)
    assert f["best_dense"] == 0.0 and f["prob1"] == 0.0 and f["coverage1"] == 0.0
    assert f["unknown_share"] == 0.0  # coal occurs
    assert f["missing_idf1"] == 1.0 and f["missing_idf_context1"] == 1.0  # no [1]: everything is missing


def test_missing_words_and_names_around_the_first_sentence(tiny_index):
    ranking, f = _features(tiny_index, "When was the Rhine a Roman frontier?")
    assert tiny_index.ranker.text(int(ranking.ids[0])) == "The river was a Roman frontier in 12 BC."
    assert f["names_in_context1"] == 1.0  # Roman in the sentence, Rhine in the headline
    assert f["missing_idf_context1"] == 0.0  # every word is in the paragraph or the headline
    assert 0.0 < f["missing_idf1"] <= 1.0  # "rhine" is not in the sentence itself
    _, g = _features(tiny_index, "When was the Danube a Roman frontier?")
    assert g["names_in_context1"] == 0.5  # Danube is nowhere
    assert g["missing_idf_context1"] > 0.5  # and it is the rarest word asked


COMPLEXITY = (
    "Complexity classes\n\n"
    "The time hierarchy theorem tells us that P is strictly contained in EXPTIME. "
    "The space hierarchy theorem tells us that L is strictly contained in PSPACE. "
    "Many known complexity classes lie between P and PSPACE, such as RP, BPP and PP.\n\n"
    "The council refused to approve the funding plan for the new stadium in 2013.\n"
)


def test_a_denial_the_question_makes_and_the_first_sentence_does_not(index_of):
    index = index_of("complexity.txt", COMPLEXITY)
    asked = {q: _features(index, q)[1]["denial_unmatched1"] for q in (
        "What is strictly contained in PSPACE?",  # no denial asked
        "What is not strictly contained in PSPACE?",  # denied, and [1] asserts it
        "Which body did not approve the funding plan?",  # [1] denies too: "refused to approve"
        "Is P strictly contained in EXPTIME or not?",  # "or not" denies nothing
    )}
    assert list(asked.values()) == [0.0, 1.0, 0.0, 0.0], asked
    # through the shipped model: the sentence that asserts what the question denies is no answer
    plain, denied = index.answer("What is strictly contained in PSPACE?"), index.answer("What is not strictly contained in PSPACE?")
    assert plain.citations[0].text == denied.citations[0].text
    assert not plain.abstained and denied.abstained
    assert denied.confidence < plain.confidence / 4
    assert not index.answer("Which body did not approve the funding plan?").abstained


def test_the_shipped_model_reads_every_feature_and_names_its_policy():
    from citeqa.answer.abstain import POLICIES, shipped_policy

    model = ans.shipped_model()
    assert set(model.features) <= set(ans.FEATURES)
    assert 0.0 < model.threshold < 1.0
    assert model.info["policy"] in POLICIES and shipped_policy() == model.info["policy"]
    assert "fit halves" in model.info["fitted_on"]
    # the script records why: the fit-half choice, and the report-half gate it had to pass
    gate = model.info["policy_gate"]
    cautious = model.info.get("policy_cautious", {}).get("gate", {})
    assert (gate["passed"] or cautious.get("passed", False)) == (model.info["policy"] != "rules")
    assert model.info["policy_fit_choice"] in POLICIES
    assert set(gate["false_abstention"]) >= {"squad11", "squad2", "news", "gold"}


def test_the_policy_comes_from_the_model_it_ships_with():
    from citeqa.answer.abstain import POLICY, shipped_policy

    model = ans.shipped_model()
    assert shipped_policy(model.with_threshold(0.2, policy="model")) == "model"
    bare = ans.AnswerabilityModel(model.features, model.mean, model.scale, model.coef, model.intercept, 0.2, {})
    assert shipped_policy(bare) == POLICY == "rules"
    with pytest.raises(InvalidArgumentError, match="'always'"):
        shipped_policy(model.with_threshold(0.2, policy="always"))


def test_answer_carries_a_confidence_that_separates_on_from_off_topic(tiny_index):
    on = tiny_index.answer("Which cities stand on the Rhine?")
    off = tiny_index.answer("Who won the Tour de France in 1998?")
    assert 0.0 <= off.confidence < on.confidence <= 1.0
    assert on.to_dict()["confidence"] == pytest.approx(on.confidence, abs=1e-4)
    assert off.abstained


def test_confidence_words_and_range():
    assert ans.describe_confidence(0.82) == "confidence: high (0.82)"
    assert ans.confidence_words(0.5) == "medium" and ans.confidence_words(0.1) == "low"
    with pytest.raises(InvalidArgumentError, match="got 1.5"):
        ans.confidence_words(1.5)
    with pytest.raises(ValueError, match="got -0.1"):
        Answer(text="x", confidence=-0.1)
    assert Answer(text="x").to_dict()["confidence"] is None


def test_without_a_policy_the_decision_follows_the_one_its_model_ships_with(tiny_index):
    from citeqa.answer.abstain import abstain_decision

    question = "How long is the Rhine?"
    ranking = tiny_index.rank(question, 10, question=question)
    strict = ans.shipped_model().with_threshold(1.0, policy="model")  # every confidence is below 1: abstain
    decided = abstain_decision(question, ranking, tiny_index.ranker, tiny_index.vocabulary, question=question, model=strict)
    assert decided.abstain and not decided.rules_abstain
    relaxed = strict.with_threshold(1.0, policy="rules")
    assert not abstain_decision(question, ranking, tiny_index.ranker, tiny_index.vocabulary, question=question, model=relaxed).abstain


class _IdfWithCeiling(dict):
    """An IDF mapping like the store's: its largest value as ``ceiling``; reading all values is an error."""

    ceiling = 3.0

    def values(self):  # type: ignore[override]
        raise AssertionError("the weights must not read every IDF value per question")


def test_idf_weights_give_unknown_words_the_ceiling_without_a_pass_over_the_vocabulary():
    weights = ans._idf_weights(["lachin", "unseen", "lachin"], _IdfWithCeiling(lachin=1.5, army=0.5))
    assert weights == {"lachin": 1.5, "unseen": 3.0}
    assert ans._idf_weights(["unseen"], {"lachin": 1.5, "army": 0.5}) == {"unseen": 1.5}  # a plain mapping: its largest



def test_a_first_sentence_the_what_is_x_rule_chose_is_marked(index_of):
    index = index_of("norrby.txt", NORRBY)
    assert _features(index, "What is Norrby?")[1]["topic_lead1"] == 1.0  # the lead, under the title "Norrby"
    assert _features(index, "How many schools does Norrby have?")[1]["topic_lead1"] == 0.0  # no topic question
    assert _features(index, "What is a fish market?")[1]["topic_lead1"] == 0.0  # no heading names it


def test_the_rules_answers_get_the_fitted_topic_probability_and_nothing_else_does():
    lead = ans.FEATURES.index("topic_lead1")
    model = ans.AnswerabilityModel(("best_dense", "topic_lead1"), np.zeros(2), np.ones(2), np.array([4.0, 0.0]), -2.0, 0.3)
    rows = np.array([[0.1, 1.0], [0.1, 0.0], [0.9, 1.0], [0.9, 0.0]])
    logistic = model.confidence(rows)
    assert logistic[0] == logistic[1] and logistic[2] == logistic[3]  # without a fitted rate the marker changes nothing
    fitted = model.with_topic_lead(0.69, topic_lead_counts="8 of 11")
    assert list(fitted.confidence(rows)) == [0.69, logistic[1], 0.69, logistic[3]]
    assert fitted.info["topic_lead_counts"] == "8 of 11" and fitted.with_threshold(0.2).topic_lead == 0.69
    again = ans.AnswerabilityModel.from_json(fitted.to_json())
    assert again.topic_lead == 0.69 and list(again.confidence(rows)) == list(fitted.confidence(rows))
    assert ans.AnswerabilityModel.from_json(model.to_json()).topic_lead is None
    with pytest.raises(InvalidArgumentError, match="got 1.5"):
        model.with_topic_lead(1.5)
    assert lead == len(ans.FEATURES) - 1


def test_the_shipped_model_answers_what_is_x_under_xs_title_with_the_rules_rate(index_of):
    model = ans.shipped_model()
    assert model.topic_lead is not None and "topic_lead1" in model.features
    assert 0.5 < model.topic_lead < 0.9  # the fit halves' titles: (right + 1) / (chosen + 2)
    index = index_of("norrby.txt", NORRBY)
    answer = index.answer("Tell me about Norrby")
    assert answer.citations[0].text.startswith("Norrby (Swedish") and not answer.abstained
    assert answer.confidence == pytest.approx(model.topic_lead)
    assert index.answer("How many schools does Norrby have?").confidence != pytest.approx(model.topic_lead)
