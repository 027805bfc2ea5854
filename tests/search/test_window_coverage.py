"""Window and carried coverage on a real index: a sentence is credited with the question's words that the sentences just before it in its document hold."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa import build_index
from citeqa.search.features import WINDOW_BEFORE

RHINE = (
    "The Rhine is one of the major rivers of Europe.\n"
    "The Rhine rises in the Swiss Alps and flows into the North Sea.\n"
    "Its length is about 1,230 kilometres.\n"
)
# a document whose last sentence names the Rhine, followed (in file order) by one that starts without it
BARGES = "Barges carry coal along the Rhine to Rotterdam.\n"
HARBOUR = "Its length is about four kilometres, the longest quay in the port.\n"
DECLARATION = (
    "Turkey and Azerbaijan signed the Shusha Declaration.\n"
    "The declaration focuses on defense cooperation and new transportation routes.\n"
    "Defense cooperation between the armies began in 1992.\n"
)


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("window-docs")
    (folder / "a-rhine.txt").write_text(RHINE, encoding="utf-8")
    (folder / "b-barges.txt").write_text(BARGES, encoding="utf-8")
    (folder / "c-harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (folder / "d-declaration.txt").write_text(DECLARATION, encoding="utf-8")
    return build_index([folder], tmp_path_factory.mktemp("window-index"), embedder=embedder)


def _by_text(index, embedder, question: str, column: str = "window_coverage") -> dict[str, tuple[float, float]]:
    vector = embedder.encode([question])[0]
    ids, context = index.ranker.gather(question, vector)
    return {index.ranker.text(int(r)): (c, w) for r, c, w in zip(ids, context.coverage, getattr(context, column))}


def test_a_sentence_opening_with_the_is_carried_the_name_just_before_it(index, embedder) -> None:
    found = _by_text(index, embedder, "What does the Shusha Declaration focus on?", "carried_coverage")
    coverage, carried = found["The declaration focuses on defense cooperation and new transportation routes."]
    signed, signed_carried = found["Turkey and Azerbaijan signed the Shusha Declaration."]
    assert coverage < 1.0 and signed < 1.0  # alone it lacks "shusha", and the other "focus"
    assert carried == pytest.approx(1.0)  # "shusha" and "declaration" from the sentence before it
    assert signed_carried == signed  # opens with a name: nothing carried
    # opens with neither pronoun nor determiner: the declaration two sentences up is not its subject
    plain, plain_carried = found["Defense cooperation between the armies began in 1992."]
    assert plain_carried == plain


def test_nothing_is_carried_across_a_document_start(index, embedder) -> None:
    found = _by_text(index, embedder, "How long is the Rhine quay?", "carried_coverage")
    coverage, carried = found["Its length is about four kilometres, the longest quay in the port."]
    assert 0.0 < coverage == carried  # "quay" is its own; the Rhine sentence before it is another document's


def test_a_pronoun_sentence_is_credited_with_the_name_before_it(index, embedder) -> None:
    found = _by_text(index, embedder, "How long is the Rhine?")
    coverage, window = found["Its length is about 1,230 kilometres."]
    assert coverage == 0.0  # "long" is not "length", and the Rhine is only named before it
    before, before_window = found["The Rhine rises in the Swiss Alps and flows into the North Sea."]
    # the sentences before hold "rhine" (not "long"): the window has exactly that share of the words
    assert 0.0 < before == before_window < 1.0
    assert window == pytest.approx(before)


def test_the_window_stops_at_the_start_of_the_document(index, embedder) -> None:
    assert WINDOW_BEFORE >= 1
    found = _by_text(index, embedder, "How long is the Rhine?")
    # the harbour sentence comes right after the barges sentence in the index, but in another document
    assert found.get("Its length is about four kilometres, the longest quay in the port.", (0.0, 0.0)) == (0.0, 0.0)


class _NoWordIndex:
    """The same store without a word index (as Milvus): the ranker tokenizes the texts instead."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store = store

    def token_presence(self, query_tokens, ids, min_prefix):  # type: ignore[no-untyped-def]
        return None

    def __len__(self) -> int:
        return len(self._store)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)


def test_window_coverage_from_texts_equals_the_word_index_one(index, embedder) -> None:
    from citeqa.search.candidates import CandidateRetriever

    question = "How long is the Rhine and where does the Rhine rise?"
    vector = embedder.encode([question])[0]
    ids, context = index.ranker.gather(question, vector)
    other_ids, other = CandidateRetriever(_NoWordIndex(index.ranker.store)).gather(question, vector)
    assert np.array_equal(ids, other_ids)
    np.testing.assert_allclose(other.window_coverage, context.window_coverage)
    np.testing.assert_allclose(other.carried_coverage, context.carried_coverage)
    np.testing.assert_allclose(other.coverage, context.coverage)
    assert context.window_coverage.max() > context.coverage.min()
