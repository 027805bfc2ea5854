"""Reranking features: pure functions from a :class:`CandidateContext` to a feature matrix.

Owns what the reranker looks at (:data:`FEATURES`) and the coverage measures; no model, no
files. Tests drive these functions with tiny hand-made arrays.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .fusion import RRF_K, ranks_of, reciprocal_rank_fusion

#: Feature names, in column order of :func:`feature_matrix`.
FEATURES = (
    "dense",
    "dense_gap",
    "lexical",
    "rrf",
    "paragraph_lexical",
    "paragraph_dense",
    "neighbour_dense",
    "document_dense",
    "title_dense",
    "coverage",
    "answer_type",
    "length",
    "title",
    "dense_rank",
    "dense_z",
    "answer_when",
    "answer_count",
    "answer_who",
    "answer_where",
    "loose_coverage",
    "window_coverage",
    "answer_place",
    "answer_quantity",
    "soft_coverage",
    "carried_coverage",
)

#: How many sentences before a candidate (in its document) :func:`window_presence` reads with it.
WINDOW_BEFORE = 3


#: Question kinds (:func:`citeqa.question.question_type`) whose answer-type match gets its own weight.
TYPED_KINDS = ("when", "count", "who", "where")

#: The feature of the stricter answer type (:func:`citeqa.question.answer_type_level` 2), by question kind.
STRICT_FEATURES = {"where": "answer_place", "count": "answer_quantity"}


@dataclass(frozen=True)
class CandidateContext:
    """Raw per-candidate evidence for one query (all arrays have one entry per candidate).

    Attributes:
        dense: Cosine of the sentence to the query.
        lexical: BM25 score of the sentence.
        paragraph_lexical: BM25 score of the sentence's paragraph (paragraphs as documents).
        paragraph_dense: Cosine of the paragraph centroid (mean of its sentence vectors).
        neighbour_dense: Best cosine of the sentences just before and after it in the
            same paragraph (the sentence's own cosine when it stands alone).
        document_dense: Cosine of the document centroid.
        title_dense: Cosine of the document's first sentence (the headline or title).
        coverage: IDF-weighted share of the query's words found in the sentence (0..1).
        answer_type: How well the sentence holds the kind of words the question asks
            for (:func:`citeqa.question.answer_type_level`): 0.0 not at all; 1.0 it
            holds some (a date for "when", a number for "how many", a name for "who" and
            "where"); 2.0 for "where" and "how many/much/long" questions, one that fits
            by the sentence's grammar too (a name standing as a place, a quantity of the
            asked thing), which also sets ``answer_place`` or ``answer_quantity``.
        length: Number of words in the sentence.
        title: 1.0 when the sentence is its document's first line (headline or title),
            else 0.0 (None: no candidate is a title).
        question_kind: The kind of answer the question asks for ("when", "count", "who",
            "where" or None); ``answer_type`` also enters as one feature per kind, since a
            date matters more to a "when" question than a name to a "who" question.
        loose_coverage: Like ``coverage`` but a query word also counts as found when it
            and a sentence word share a stem prefix (:func:`loose_coverage`; None: same
            as ``coverage``).
        window_coverage: Like ``coverage`` but over the sentence together with the
            :data:`WINDOW_BEFORE` sentences before it in its document
            (:func:`window_presence`): a sentence that goes on about what the previous one
            named ("It already has orders from ...", "The MEP said ...") is credited with
            the words it refers back to (None: same as ``coverage``).
        carried_coverage: Like ``coverage`` but over the sentence together with the one
            just before it, for a sentence that opens by referring back
            (:func:`opens_by_referring_back`: "He said ...", "The declaration focuses on
            ...") and so is about what that sentence named; other sentences get their
            ``coverage`` (None: same as ``coverage``).
        soft_coverage: Like ``coverage`` over the question's words, but a word also counts
            (in part) when the sentence holds a word the model holds alike
            (:func:`soft_coverages`; None: same as ``coverage``).
        same_text: For each candidate, the position of the first candidate whose text is the
            same (whitespace aside), its own position when none is (:func:`same_text_groups`;
            None: every text differs). The reranker keeps one of each group.
    """

    dense: np.ndarray
    lexical: np.ndarray
    paragraph_lexical: np.ndarray
    paragraph_dense: np.ndarray
    neighbour_dense: np.ndarray
    document_dense: np.ndarray
    title_dense: np.ndarray
    coverage: np.ndarray
    answer_type: np.ndarray
    length: np.ndarray
    title: np.ndarray | None = None
    question_kind: str | None = None
    loose_coverage: np.ndarray | None = None
    window_coverage: np.ndarray | None = None
    carried_coverage: np.ndarray | None = None
    soft_coverage: np.ndarray | None = None
    same_text: np.ndarray | None = None


def same_text_groups(
    lengths: np.ndarray, lexical: np.ndarray, texts_of: Callable[[np.ndarray], Sequence[str]], soft: np.ndarray | None = None
) -> np.ndarray | None:
    """For each candidate, the position of the first candidate with the same text (itself when
    none), or None when every text differs.

    Texts are compared with their whitespace collapsed. Only candidates that share a word
    count, a BM25 score and (when given) a soft coverage with another one, as two copies of
    one sentence in one index do, are read (``texts_of(positions)``), so a corpus without
    repeats reads few.
    """
    columns = [np.asarray(lengths, dtype=np.float64), np.asarray(lexical, dtype=np.float64)]
    if soft is not None:
        columns.append(np.asarray(soft, dtype=np.float64))
    keys = list(zip(*(column.tolist() for column in columns)))
    group = np.arange(len(keys), dtype=np.int64)
    seen = collections.Counter(keys)
    suspects = [position for position, key in enumerate(keys) if seen[key] > 1]
    first: dict[str, int] = {}
    for position, text in zip(suspects, texts_of(np.array(suspects, dtype=np.int64)) if suspects else ()):
        group[position] = first.setdefault(" ".join(text.split()), position)
    return group if len(first) < len(suspects) else None


def scale_by_max(values: np.ndarray) -> np.ndarray:
    """``values / max(values)`` when the max is positive, else zeros."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def idf_ceiling(idf: Mapping[str, float]) -> float:
    """The weight of a word ``idf`` lacks (rare words count most): the mapping's ``ceiling``
    when it has one (:class:`citeqa.store.lexical.Idf`, no pass over the vocabulary), else its max."""
    ceiling = getattr(idf, "ceiling", None)
    return float(ceiling) if ceiling is not None else float(max(idf.values(), default=1.0))


def weighted_coverage(query_tokens: Sequence[str], text_tokens: Sequence[str], idf: Mapping[str, float]) -> float:
    """IDF-weighted share of the distinct query tokens that occur in the text (0..1).

    Tokens missing from ``idf`` get the largest weight (rare words count most): the
    mapping's ``ceiling`` when it has one (:class:`citeqa.store.lexical.Idf`), else its max.
    """
    wanted = set(query_tokens)
    if not wanted:
        return 0.0
    fallback = idf_ceiling(idf)
    weights = {t: float(idf.get(t, fallback)) for t in wanted}
    total = sum(weights.values())
    present = set(text_tokens)
    return sum(w for t, w in weights.items() if t in present) / total if total > 0 else 0.0


def presence_coverages(tokens: Sequence[str], present: np.ndarray, idf: Mapping[str, float]) -> np.ndarray:
    """:func:`weighted_coverage` of many texts at once, from which of the query's tokens each holds.

    Args:
        tokens: The query's distinct tokens.
        present: bool ``(texts, len(tokens))``: text i holds token j (exactly, or by
            :func:`stems_match` for :func:`loose_coverages`).
        idf: Word weights, as for :func:`weighted_coverage`.
    """
    present = np.asarray(present, dtype=bool)
    if not tokens:
        return np.zeros(present.shape[0])
    fallback = idf_ceiling(idf)
    weights = np.array([float(idf.get(t, fallback)) for t in tokens])
    total = float(weights.sum())
    return present.astype(np.float64) @ weights / total if total > 0 else np.zeros(present.shape[0])


def window_presence(present: np.ndarray, before: Sequence[np.ndarray], same_document: Sequence[np.ndarray]) -> np.ndarray:
    """Which query words each candidate's window holds: the candidate or one of the sentences before it.

    Args:
        present: bool ``(candidates, tokens)``: the candidate holds the token.
        before: One bool ``(candidates, tokens)`` array per sentence before the candidate
            (the one just before first): that sentence holds the token.
        same_document: One bool ``(candidates,)`` array per entry of ``before``: that
            sentence exists and is in the candidate's document (other rows are ignored).

    Returns:
        bool ``(candidates, tokens)``, to weigh with :func:`presence_coverages`.
    """
    window = np.array(present, dtype=bool, copy=True)
    if len(before) != len(same_document):
        raise ValueError(f"window_presence: {len(before)} arrays of earlier sentences but {len(same_document)} document masks")
    for held, same in zip(before, same_document):
        window |= np.asarray(held, dtype=bool) & np.asarray(same, dtype=bool)[:, None]
    return window


#: A sentence's first word when it points back at what came before: a pronoun or a determiner.
_REFERRING_OPENING = re.compile(r"\W*(?:he|she|it|they|his|her|its|their|this|these|those|that|the|such)\b", re.IGNORECASE)


def opens_by_referring_back(text: str) -> bool:
    """Whether ``text`` opens with a pronoun or a determiner ("He ...", "Its ...", "The declaration ...").

    Such a sentence usually goes on about what the sentence before it named, so
    :attr:`CandidateContext.carried_coverage` credits it with that sentence's words. "The"
    counts too: "The declaration focuses on ..." after "... signed the Shusha Declaration."
    """
    return _REFERRING_OPENING.match(text) is not None


#: Shortest stem that may match a longer stem it starts (see :func:`loose_coverage`).
MIN_PREFIX = 5


def stems_match(a: str, b: str, min_prefix: int = MIN_PREFIX) -> bool:
    """True when two stems are equal or the shorter (at least ``min_prefix`` long) starts the longer.

    Catches derivations the Snowball stemmer keeps apart ("occupi" from "occupied" and
    "occup" from "occupation").
    """
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= min_prefix and long_.startswith(short)


def loose_coverage(query_tokens: Sequence[str], text_tokens: Sequence[str], idf: Mapping[str, float]) -> float:
    """:func:`weighted_coverage` where a query token counts as present when a text token matches it by :func:`stems_match`."""
    return float(loose_coverages(query_tokens, [text_tokens], idf)[0])


def loose_coverages(
    query_tokens: Sequence[str], texts_tokens: Sequence[Sequence[str]], idf: Mapping[str, float]
) -> np.ndarray:
    """:func:`loose_coverage` of many texts at once (each distinct token is compared once)."""
    wanted = set(query_tokens)
    vocabulary = {t for tokens in texts_tokens for t in tokens}
    matches = {q: {t for t in vocabulary if stems_match(q, t)} if len(q) >= MIN_PREFIX else {q} for q in wanted}
    out = np.zeros(len(texts_tokens))
    for i, tokens in enumerate(texts_tokens):
        present = set(tokens)
        found = [q for q, forms in matches.items() if not forms.isdisjoint(present)]
        out[i] = weighted_coverage(query_tokens, found, idf)
    return out


#: Soft matching: a word cosine at or below SOFT_FLOOR counts as no match, at or above SOFT_FULL
#: as the word itself, linearly between (unrelated words 0.02-0.17, war~conflict 0.38).
SOFT_FLOOR = 0.2
SOFT_FULL = 0.5


def soft_coverages(weights: np.ndarray, similarity: np.ndarray, owner: np.ndarray, m: int) -> np.ndarray:
    """Weighted share of the query's words that each of ``m`` texts holds, or holds a word like.

    Args:
        weights: ``(k,)`` weight of each query word (its IDF).
        similarity: ``(n, k)`` cosine of each of ``n`` (text, word) pairs' word to each query
            word (1.0 for the word itself; :meth:`citeqa.embed.wordpieces.WordPieces.similarity`).
        owner: ``(n,)`` which text (0..m-1) each row's word is in.
        m: Number of texts.

    Returns:
        ``(m,)`` values in 0..1: per text, each query word counts by its best match there
        (cosine mapped from SOFT_FLOOR..SOFT_FULL to 0..1), weighted by ``weights``.
    """
    weights = np.asarray(weights, dtype=np.float64)
    total = float(weights.sum())
    if m == 0 or weights.size == 0 or total <= 0:
        return np.zeros(m)
    match = np.clip((np.asarray(similarity, dtype=np.float64) - SOFT_FLOOR) / (SOFT_FULL - SOFT_FLOOR), 0.0, 1.0)
    best = np.zeros((m, weights.size))
    np.maximum.at(best, np.asarray(owner, dtype=np.int64), match)
    return best @ weights / total


#: Column of each feature in :func:`feature_matrix`.
_COLUMN = {name: number for number, name in enumerate(FEATURES)}


def _finite_or_zero(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values, nan=0.0)``, without its cost (~15 µs) when every value is finite (then ``values`` itself)."""
    return values if np.isfinite(values).all() else np.nan_to_num(values, nan=0.0)


def _mean_and_std(values: np.ndarray) -> tuple[float, float]:
    """``values.mean()`` and ``values.std()`` of a 1-D float64 array by the same operations
    NumPy's ``_mean`` and ``_var`` do (pairwise sums, a division, squares, a square root),
    so the same values, without their ~20 µs of Python per call."""
    count = values.shape[0]
    mean = np.add.reduce(values) / count
    centred = values - mean
    np.multiply(centred, centred, out=centred)
    return float(mean), float(np.sqrt(np.add.reduce(centred) / count))


def feature_matrix(context: CandidateContext) -> np.ndarray:
    """The ``(m, len(FEATURES))`` feature matrix of ``m`` candidates, columns as in FEATURES.

    Scores are made comparable across queries: BM25 values are divided by the query's
    best, dense values are also given as the gap to the query's best, ranks enter as
    reciprocal-rank-fusion scores, and the dense cosine also as its reciprocal rank and
    its z-score among the query's candidates (how far it stands out of the pool; this
    lets a paraphrase that only the embedding recognizes win over word overlap).

    Each column is written into one C-ordered matrix (the layout ``np.column_stack``
    gives, so the reranker's products see the same bytes).
    """
    dense = np.asarray(context.dense, dtype=np.float64)
    m = dense.shape[0]
    if m == 0:
        return np.zeros((0, len(FEATURES)))
    lexical = _finite_or_zero(np.asarray(context.lexical, dtype=np.float64))
    out = np.empty((m, len(FEATURES)))
    column = _COLUMN
    # a repeated text is one candidate: ranks and the pool's spread count each text once
    group = None if context.same_text is None else np.asarray(context.same_text, dtype=np.int64)
    dense_rank = distinct_ranks(dense, group)
    lexical_rank = np.where(lexical > 0, distinct_ranks(lexical, group), 0)
    mean, spread = _mean_and_std(dense if group is None else dense[np.unique(group)])
    out[:, column["dense"]] = dense
    out[:, column["dense_gap"]] = dense - dense.max()
    out[:, column["lexical"]] = _scale_by_max(lexical)
    out[:, column["rrf"]] = reciprocal_rank_fusion([dense_rank, lexical_rank]) * RRF_K / 2
    out[:, column["paragraph_lexical"]] = _scale_by_max(_finite_or_zero(np.asarray(context.paragraph_lexical, dtype=np.float64)))
    out[:, column["paragraph_dense"]] = context.paragraph_dense
    out[:, column["neighbour_dense"]] = context.neighbour_dense
    out[:, column["document_dense"]] = context.document_dense
    out[:, column["title_dense"]] = context.title_dense
    out[:, column["coverage"]] = context.coverage
    typed = np.asarray(context.answer_type, dtype=np.float64)
    found = np.minimum(typed, 1.0)
    out[:, column["answer_type"]] = found
    out[:, column["length"]] = np.log1p(np.asarray(context.length, dtype=np.float64)) / 4.0
    out[:, column["title"]] = 0.0 if context.title is None else context.title
    out[:, column["dense_rank"]] = 1.0 / dense_rank
    out[:, column["dense_z"]] = (dense - mean) / spread if spread > 1e-9 else 0.0
    out[:, column["loose_coverage"]] = context.coverage if context.loose_coverage is None else context.loose_coverage
    out[:, column["window_coverage"]] = context.coverage if context.window_coverage is None else context.window_coverage
    out[:, column["carried_coverage"]] = context.coverage if context.carried_coverage is None else context.carried_coverage
    out[:, column["soft_coverage"]] = context.coverage if context.soft_coverage is None else context.soft_coverage
    for kind in TYPED_KINDS:
        out[:, column[f"answer_{kind}"]] = found if context.question_kind == kind else 0.0
    for kind, name in STRICT_FEATURES.items():
        out[:, column[name]] = (typed >= 2.0) if context.question_kind == kind else 0.0
    return out


def distinct_ranks(scores: np.ndarray, group: np.ndarray | None) -> np.ndarray:
    """:func:`~citeqa.search.fusion.ranks_of` ``scores`` with each same-text group ranked once.

    ``group[i]`` is the position of the first candidate with ``i``'s text
    (:func:`same_text_groups`); every member takes its first member's rank among the
    groups' first members, so a sentence found twice pushes nothing down a place.
    """
    if group is None:
        return ranks_of(scores)
    firsts, inverse = np.unique(group, return_inverse=True)
    return ranks_of(np.asarray(scores)[firsts])[inverse.reshape(-1)]


def _scale_by_max(values: np.ndarray) -> np.ndarray:
    """:func:`scale_by_max` of finite float64 values."""
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else np.zeros_like(values)
