"""Unit tests of the lexical normalizations and reranker features added for paraphrases."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.errors import InvalidArgumentError
from citeqa.search.features import (
    FEATURES,
    CandidateContext,
    feature_matrix,
    loose_coverage,
    loose_coverages,
    opens_by_referring_back,
    stems_match,
)
from citeqa.search.rerank import mlp_scores, reranker_scores
from citeqa.text import Tokenizer, place_table, tokenize

TABLE_LINES = [
    "Turkey\tname\tturkey",
    "Turkey\tdemonym\tturkish",
    "Turkey\tcapital\tankara",
    "South Korea\tname\tsouth korea",
    "South Korea\tdemonym\tsouth korean",
    "Singapore\tname\tsingapore",
    "Singapore\tcapital\tsingapore",
]


def _tokens(text: str) -> list[str]:
    return Tokenizer(place_table(TABLE_LINES)).tokens(text)


def test_demonym_and_country_name_become_one_token() -> None:
    assert _tokens("Turkish troops") == ["turkey", "troop"]
    assert _tokens("troops of Turkey") == ["troop", "turkey"]


def test_capital_keeps_its_own_token_and_adds_its_country() -> None:
    assert _tokens("Ankara said") == ["ankara", "turkey", "said"]


def test_longest_multiword_name_wins_and_a_name_beats_a_capital() -> None:
    assert _tokens("the South Korean navy") == ["south_korea", "navi"]
    assert _tokens("south korea") == ["south_korea"]
    assert _tokens("Singapore") == ["singapor"]


def test_shipped_table_links_demonyms_capitals_and_names() -> None:
    assert set(tokenize("Turkish and Azerbaijani militaries")) >= {"turkey", "azerbaijan"}
    assert set(tokenize("Ankara threw its support behind Baku")) >= {"turkey", "azerbaijan", "ankara", "baku"}
    assert tokenize("Americans") == tokenize("the United States")
    # ordinary words that happen to be place names elsewhere are left alone
    assert tokenize("polish the floor") == ["polish", "floor"]


def test_stems_match_needs_a_long_enough_shared_prefix() -> None:
    assert stems_match("occupi", "occup")
    assert stems_match("train", "train")
    assert not stems_match("art", "artist")
    assert not stems_match("navi", "naval")


def test_loose_coverage_counts_derived_forms_that_exact_coverage_misses() -> None:
    idf = {"occupi": 2.0, "lachin": 2.0}
    assert loose_coverage(["occupi", "lachin"], ["occup", "lachin"], idf) == pytest.approx(1.0)
    assert loose_coverage(["occupi", "lachin"], ["lachin"], idf) == pytest.approx(0.5)
    assert loose_coverage([], ["lachin"], idf) == 0.0


def test_answer_type_gets_a_column_for_the_question_kind_only() -> None:
    zeros = np.zeros(2)
    ctx = CandidateContext(
        dense=np.array([0.5, 0.4]), lexical=zeros, paragraph_lexical=zeros, paragraph_dense=zeros,
        neighbour_dense=zeros, document_dense=zeros, title_dense=zeros, coverage=np.array([0.3, 0.1]),
        answer_type=np.array([0.0, 1.0]), length=zeros, question_kind="when",
    )
    x = feature_matrix(ctx)
    assert x[:, FEATURES.index("answer_when")].tolist() == [0.0, 1.0]
    assert x[:, FEATURES.index("answer_who")].tolist() == [0.0, 0.0]
    # without a loose coverage the exact one stands in
    assert x[:, FEATURES.index("loose_coverage")].tolist() == [0.3, 0.1]


@pytest.mark.parametrize(("kind", "strict"), [("where", "answer_place"), ("count", "answer_quantity"), ("who", None), ("when", None)])
def test_the_stricter_answer_type_sets_its_own_column_for_its_kind_only(kind, strict) -> None:
    zeros = np.zeros(3)
    ctx = CandidateContext(
        dense=np.array([0.5, 0.4, 0.3]), lexical=zeros, paragraph_lexical=zeros, paragraph_dense=zeros,
        neighbour_dense=zeros, document_dense=zeros, title_dense=zeros, coverage=zeros,
        answer_type=np.array([0.0, 1.0, 2.0]), length=zeros, question_kind=kind,
    )
    x = feature_matrix(ctx)
    # levels 1 and 2 both hold the asked type: the old columns read 1 for both
    assert x[:, FEATURES.index("answer_type")].tolist() == [0.0, 1.0, 1.0]
    assert x[:, FEATURES.index(f"answer_{kind}")].tolist() == [0.0, 1.0, 1.0]
    for name in ("answer_place", "answer_quantity"):
        assert x[:, FEATURES.index(name)].tolist() == ([0.0, 0.0, 1.0] if name == strict else [0.0, 0.0, 0.0])


def _mlp(hidden: dict[str, list[float]], output: list[float], bias: list[float] | None = None) -> dict:
    names = list(hidden)
    return {
        "mean": {n: 0.0 for n in names},
        "scale": {n: 1.0 for n in names},
        "hidden": hidden,
        "hidden_bias": bias or [0.0] * len(output),
        "output": output,
    }


def test_mlp_scores_are_a_tanh_layer_over_standardized_features() -> None:
    x = np.zeros((2, len(FEATURES)))
    x[:, FEATURES.index("dense")] = [0.0, 1.0]
    x[:, FEATURES.index("lexical")] = [1.0, 1.0]
    mlp = _mlp({"dense": [2.0], "lexical": [0.0]}, [3.0])
    assert mlp_scores(x, mlp).tolist() == pytest.approx([0.0, 3.0 * np.tanh(2.0)])
    mlp["mean"]["dense"] = 1.0
    assert mlp_scores(x, mlp).tolist() == pytest.approx([3.0 * np.tanh(-2.0), 0.0])


def test_mlp_with_unknown_feature_or_mismatched_units_is_refused() -> None:
    x = np.zeros((1, len(FEATURES)))
    with pytest.raises(InvalidArgumentError, match="unknown reranker features"):
        mlp_scores(x, _mlp({"nonsense": [1.0]}, [1.0]))
    with pytest.raises(InvalidArgumentError, match="2 hidden units but 1 output"):
        mlp_scores(x, _mlp({"dense": [1.0, 1.0]}, [1.0], bias=[0.0, 0.0]))
    with pytest.raises(InvalidArgumentError, match="'dense' has 1 hidden weights, expected 2"):
        mlp_scores(x, _mlp({"dense": [1.0]}, [1.0, 1.0], bias=[0.0, 0.0]))


def test_reranker_scores_add_the_hidden_layer_to_the_linear_part() -> None:
    x = np.zeros((2, len(FEATURES)))
    x[:, FEATURES.index("dense")] = [0.0, 1.0]
    linear = reranker_scores(x, {"dense": 1.0})
    both = reranker_scores(x, {"dense": 1.0}, _mlp({"dense": [1.0]}, [-5.0]))
    assert linear.tolist() == pytest.approx([0.0, 1.0])
    assert both.tolist() == pytest.approx([0.0, 1.0 - 5.0 * np.tanh(1.0)])
    assert np.argmax(both) == 0



def test_shipped_reranker_hidden_layer_covers_every_feature() -> None:
    from citeqa.search.rerank import load_reranker

    model = load_reranker()
    assert model.mlp is not None and set(model.mlp["hidden"]) == set(FEATURES)
    assert set(model.weights) == set(FEATURES)
    scores = reranker_scores(np.zeros((3, len(FEATURES))), model.weights, model.mlp)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_loose_coverages_of_many_texts_match_one_at_a_time() -> None:
    idf = {"occupi": 2.0, "lachin": 1.0, "naval": 1.5}
    query = ["occupi", "lachin", "naval"]
    texts = [["occup", "lachin"], ["naval"], [], ["lachin", "occupi", "navi"]]
    batch = loose_coverages(query, texts, idf)
    assert batch.tolist() == pytest.approx([loose_coverage(query, t, idf) for t in texts])
    assert batch.tolist() == pytest.approx([3.0 / 4.5, 1.5 / 4.5, 0.0, 3.0 / 4.5])


def test_fold_of_plain_ascii_only_lowercases() -> None:
    from citeqa.text import fold

    assert fold("Lachin ARMY") == "lachin army"
    assert fold("Erdoğan Altı") == "erdogan alti"


def test_window_presence_adds_earlier_sentences_of_the_same_document_only() -> None:
    from citeqa.search.features import presence_coverages, window_presence

    present = np.array([[False, True], [False, False], [False, False]])
    just_before = np.array([[True, False], [True, True], [True, False]])
    two_before = np.array([[False, False], [False, False], [False, True]])
    # candidate 1's previous sentence is in another document; candidate 2's two are in its own
    same_just_before = np.array([True, False, True])
    same_two_before = np.array([True, True, True])
    window = window_presence(present, [just_before, two_before], [same_just_before, same_two_before])
    assert window.tolist() == [[True, True], [False, False], [True, True]]
    assert present.tolist() == [[False, True], [False, False], [False, False]]  # not changed in place
    idf = {"rhine": 3.0, "length": 1.0}
    assert presence_coverages(["rhine", "length"], window, idf).tolist() == pytest.approx([1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="2 arrays of earlier sentences but 1 document masks"):
        window_presence(present, [just_before, two_before], [same_just_before])


@pytest.mark.parametrize("name", ["window_coverage", "carried_coverage", "soft_coverage"])
def test_a_coverage_column_left_unset_defaults_to_the_sentence_coverage(name) -> None:
    zeros = np.zeros(2)
    fields = {
        "dense": np.array([0.5, 0.4]), "lexical": zeros, "paragraph_lexical": zeros, "paragraph_dense": zeros,
        "neighbour_dense": zeros, "document_dense": zeros, "title_dense": zeros, "coverage": np.array([0.3, 0.1]),
        "answer_type": zeros, "length": zeros,
    }
    column = FEATURES.index(name)
    assert feature_matrix(CandidateContext(**fields))[:, column].tolist() == [0.3, 0.1]
    assert feature_matrix(CandidateContext(**fields, **{name: np.array([0.3, 0.9])}))[:, column].tolist() == [0.3, 0.9]


@pytest.mark.parametrize(
    ("text", "refers"),
    [
        ("He said on Friday he hoped to be elected before Christmas.", True),
        ("The declaration focuses on defense cooperation.", True),
        ('"It was nice knowing him," she said.', True),
        ("Its length is about 1,230 kilometres.", True),
        ("These figures exclude exports.", True),
        ("Theodore Roosevelt visited in 1905.", False),  # a word that only starts like one
        ("Turkey and Azerbaijan signed the Shusha Declaration.", False),
        ("Hence the delay.", False),
        ("", False),
    ],
)
def test_a_sentence_opening_with_a_pronoun_or_determiner_refers_back(text, refers) -> None:
    assert opens_by_referring_back(text) is refers
