"""The BM25 index (bm25s, Lucene IDF, always positive) over :func:`citeqa.text.tokenize` tokens.

Owns BM25 scoring and its files (a folder of .npy and JSON, no pickle); tokenization
itself is :mod:`citeqa.text`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..text import tokenize

#: Postings scored at a time by :meth:`BM25Index.from_token_ids` (float64 temporaries).
BUILD_BLOCK = 1 << 20
#: Texts whose tokens are numbered at a time by :func:`_postings` (~1 million tokens of
#: sentences; a block of 2^20 sentences was a second int64 copy of all their tokens).
TEXT_BLOCK = 1 << 16


class BM25Index:
    """A BM25 index over sentences, stored as a folder of .npy and JSON files."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        self._model = model

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """Index ``texts`` (one BM25 "document" per sentence)."""
        return cls.from_tokens([tokenize(t) for t in texts])

    def save(self, folder: Path, *, release: bool = False) -> None:
        """Write the index files into ``folder`` (npy + json, no pickle).

        With ``release``, the postings are read from the written files from then on
        (memory-mapped) instead of held in memory: the build writes its BM25 indexes while
        the vector index is still being built, and at a million sentences that gives back
        ~210 MB before its peak. The scores are the same (the same arrays, on disk).
        """
        self._model.save(str(folder), show_progress=False)
        if release:
            for key in ("data", "indices", "indptr"):
                self._model.scores[key] = np.load(Path(folder) / f"{key}.csc.index.npy", mmap_mode="r").view(np.ndarray)

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> BM25Index:
        """Load an index written by :meth:`save`."""
        import bm25s

        model = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
        # plain ndarrays over the same mapped pages: slicing an np.memmap goes through its
        # Python-level __getitem__ and __array_finalize__ (~2 us a slice; a query slices
        # each of its words' postings several times)
        for key in ("data", "indices", "indptr"):
            if isinstance(model.scores.get(key), np.memmap):
                model.scores[key] = model.scores[key].view(np.ndarray)
        return cls(model)

    @property
    def size(self) -> int:
        """Number of indexed sentences."""
        return int(self._model.scores["num_docs"])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every sentence for ``query`` (zeros when nothing matches)."""
        return self.scores_of_tokens(tokenize(query))

    @classmethod
    def from_tokens(cls, corpus_tokens: Sequence[Sequence[str]]) -> BM25Index:
        """Index already-tokenized texts (sentences, or whole paragraphs)."""
        import bm25s

        model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        # the texts' own lists when they are lists (bm25s only reads them): no second copy
        model.index([t if isinstance(t, list) else list(t) for t in corpus_tokens], show_progress=False)
        return cls(model)

    @classmethod
    def from_token_ids(cls, ids: np.ndarray, offsets: np.ndarray, vocabulary: Sequence[str]) -> BM25Index:
        """Index texts given as word numbers: text ``i`` is ``ids[offsets[i]:offsets[i + 1]]``,
        word ``j`` is ``vocabulary[j]`` (every word of ``vocabulary`` must occur).

        The arrays bm25s's ``index`` makes from the same texts' tokens (Lucene IDF by
        ``math.log`` per word, each posting's ``tf / (k1·(1 − b + b·len/avg) + tf)`` in
        float64 times the float32 IDF, stored float32, postings by word then text), made
        with a few array operations instead of a Python loop over every token (a million
        sentences hold ~10 million). Only the word numbering differs: bm25s numbers words
        in its set's (hash) order, this in ``vocabulary``'s.
        """
        offsets = np.asarray(offsets, dtype=np.int64)
        return cls._from_postings(*_postings(ids, offsets), np.diff(offsets), vocabulary)

    @classmethod
    def pair_from_token_ids(
        cls, ids: np.ndarray, offsets: np.ndarray, group_offsets: np.ndarray, vocabulary: Sequence[str]
    ) -> tuple[BM25Index, BM25Index]:
        """:meth:`from_token_ids` of the texts, and of groups of consecutive texts (group
        ``g`` is texts ``group_offsets[g]`` to ``group_offsets[g + 1]``: the paragraphs of
        sentences), the groups' postings summed from the texts' (one sort for both)."""
        offsets = np.asarray(offsets, dtype=np.int64)
        group_offsets = np.asarray(group_offsets, dtype=np.int64)
        word, text, tf = _postings(ids, offsets)
        texts = cls._from_postings(word, text, tf, np.diff(offsets), vocabulary)
        # a text's group grows with the text: the texts' postings, by word then text, are
        # by word then group, and a word's postings in one group are neighbours
        group_of = np.repeat(np.arange(group_offsets.shape[0] - 1, dtype=np.int32), np.diff(group_offsets))
        group = group_of[text]
        del text, group_of
        new = np.ones(word.shape[0], dtype=bool)
        np.not_equal(group[1:], group[:-1], out=new[1:])
        new[1:] |= word[1:] != word[:-1]
        # the groups' postings are made in the texts' arrays (each run's first posting
        # moved down, or its tfs' sum): no second set of arrays (a million sentences: 12.7
        # million group postings next to 14.5 million texts' ones made the build's peak)
        group_word = _compact(word, new)
        group_text = _compact(group, new)
        summed = _run_sums(tf, new)
        del word, group, tf, new
        groups = cls._from_postings(group_word, group_text, summed, np.diff(offsets[group_offsets]), vocabulary)
        return texts, groups

    @classmethod
    def _from_postings(
        cls, word: np.ndarray, text: np.ndarray, tf: np.ndarray, lengths: np.ndarray, vocabulary: Sequence[str]
    ) -> BM25Index:
        """The index of postings ``(word, text, tf)`` sorted by word then text (see :meth:`from_token_ids`)."""
        import math

        import bm25s

        model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        n_docs, n_vocab = lengths.shape[0], len(vocabulary)
        avg_doc_len = lengths.mean()  # what bm25s computes: numpy's mean of the int lengths
        df = np.bincount(word, minlength=n_vocab)
        idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) for d in df.tolist()], dtype=np.float32)
        k1, b = model.k1, model.b
        norm = k1 * ((1 - b) + b * lengths.astype(np.float64) / avg_doc_len)
        data = np.empty(word.shape[0], dtype=np.float32)
        for lo in range(0, word.shape[0], BUILD_BLOCK):  # float64 a block at a time, as bm25s
            hi = lo + BUILD_BLOCK
            count = tf[lo:hi].astype(np.float64)
            data[lo:hi] = idf[word[lo:hi]].astype(np.float64) * (count / (norm[text[lo:hi]] + count))
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        model.scores = {"data": data, "indices": text.astype(np.int32, copy=False), "indptr": indptr, "num_docs": n_docs}
        model.vocab_dict = {token: number for number, token in enumerate(vocabulary)}
        if "" not in model.vocab_dict:  # bm25s's placeholder for the empty token, numbered last
            model.vocab_dict[""] = n_vocab
        model.nonoccurrence_array = None
        model.unique_token_ids_set = set(model.vocab_dict.values())
        return cls(model)

    def scores_of_tokens(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every indexed text for already-tokenized query words.

        The same sums as bm25s's ``get_scores`` (a repeated word counts each time), added
        with one ``bincount`` over the words' postings instead of ``np.add.at`` per word:
        at a million sentences a common word has ~10^5 postings, and that is 20x faster.
        """
        vocab = self._model.vocab_dict
        matrix = self._model.scores
        indptr, indices, data = matrix["indptr"], matrix["indices"], matrix["data"]
        spans = [(int(indptr[i]), int(indptr[i + 1])) for i in (vocab.get(t) for t in tokens) if i is not None and i + 1 < len(indptr)]
        if not spans:
            return np.zeros(self.size, dtype=np.float32)
        rows = np.concatenate([indices[a:b] for a, b in spans])
        weights = np.concatenate([data[a:b] for a, b in spans])
        return np.bincount(rows, weights=weights, minlength=self.size).astype(np.float32)

    def postings(self, tokens: Sequence[str]) -> int:
        """How many postings a search for ``tokens`` reads (a repeated word counts each time)."""
        vocab, indptr = self._model.vocab_dict, self._model.scores["indptr"]
        numbers = [i for i in (vocab.get(t) for t in tokens) if i is not None and i + 1 < len(indptr)]
        return sum(int(indptr[i + 1]) - int(indptr[i]) for i in numbers)

    def term_id(self, token: str) -> int | None:
        """The postings number of ``token`` (None when no indexed text holds it)."""
        number = self._model.vocab_dict.get(token)
        return number if number is not None and number + 1 < len(self._model.scores["indptr"]) else None

    def holds(self, term: int, rows: np.ndarray) -> np.ndarray:
        """Which of the sorted, unique ``rows`` hold word number ``term`` (bool, one per row).

        A binary search of the word's postings (bm25s stores each word's texts in
        increasing order): no text is read or tokenized.
        """
        matrix = self._model.scores
        postings = matrix["indices"][int(matrix["indptr"][term]) : int(matrix["indptr"][term + 1])]
        if not postings.shape[0]:
            return np.zeros(rows.shape[0], dtype=bool)
        at = np.minimum(np.searchsorted(postings, rows), postings.shape[0] - 1)
        return np.asarray(postings[at] == rows)

    def prefix_terms(self, token: str, min_prefix: int) -> list[int]:
        """Word numbers of the indexed words that equal ``token``, start with it, or (at least
        ``min_prefix`` long) start it: the forms :func:`citeqa.search.features.stems_match`
        matches, found in the sorted vocabulary by bisection.

        A token shorter than ``min_prefix`` matches itself only.
        """
        if len(token) < min_prefix:
            found = self.term_id(token)
            return [] if found is None else [found]
        words, numbers = self._sorted_vocabulary()
        first = bisect.bisect_left(words, token)
        last = bisect.bisect_left(words, token + "\U0010ffff", first)  # past every word starting with it
        terms = [int(n) for n in numbers[first:last]]
        for length in range(min_prefix, len(token)):
            shorter = self.term_id(token[:length])
            if shorter is not None:
                terms.append(shorter)
        return terms

    def _sorted_vocabulary(self) -> tuple[list[str], np.ndarray]:
        """The indexed words sorted, and their word numbers (made on first use, then kept)."""
        cached = getattr(self, "_sorted", None)
        if cached is None:
            limit = len(self._model.scores["indptr"]) - 1
            pairs = sorted((w, i) for w, i in self._model.vocab_dict.items() if i < limit)
            cached = ([w for w, _ in pairs], np.array([i for _, i in pairs], dtype=np.int64))
            self._sorted = cached  # two threads may both make it: the same value either way
        return cached

    def presence(
        self, query_tokens: Sequence[str], rows: np.ndarray, min_prefix: int
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Which of the query's distinct words each of ``rows`` holds, exactly and by shared stem prefix.

        Args:
            query_tokens: The query's BM25 tokens.
            rows: Sorted, unique text numbers.
            min_prefix: Shortest stem that matches a longer one it starts (see :meth:`prefix_terms`).

        Returns:
            The distinct tokens in query order, and bool ``(rows, tokens)`` arrays: the text
            holds the token; it holds the token or a word sharing a stem prefix with it
            (:func:`citeqa.search.features.stems_match`).
        """
        rows = np.asarray(rows, dtype=np.int64)
        tokens = list(dict.fromkeys(query_tokens))
        exact = np.zeros((rows.shape[0], len(tokens)), dtype=bool)
        loose = np.zeros_like(exact)
        for j, token in enumerate(tokens):
            own = self.term_id(token)
            if own is not None:
                exact[:, j] = self.holds(own, rows)
            loose[:, j] = exact[:, j]
            for term in self.prefix_terms(token, min_prefix):
                if term != own:
                    loose[:, j] |= self.holds(term, rows)
        return tokens, exact, loose

    def sparse_scores(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The texts holding any of ``tokens`` and their BM25 scores: sorted int64 rows and float32 scores.

        The same values as :meth:`scores_of_tokens` at those rows (the same sums in the
        same order); every other text scores 0. When the words' postings are few next to
        the corpus (a query over a million sentences), only they are touched: no
        corpus-sized array is made, summed or searched.
        """
        vocab = self._model.vocab_dict
        matrix = self._model.scores
        indptr, indices, data = matrix["indptr"], matrix["indices"], matrix["data"]
        spans = [(int(indptr[i]), int(indptr[i + 1])) for i in (vocab.get(t) for t in tokens) if i is not None and i + 1 < len(indptr)]
        if not spans:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows = np.concatenate([indices[a:b] for a, b in spans])
        weights = np.concatenate([data[a:b] for a, b in spans])
        if rows.shape[0] * 4 >= self.size:  # dense enough: one pass over the corpus is cheaper than sorting
            scores = np.bincount(rows, weights=weights, minlength=self.size).astype(np.float32)
            held = np.flatnonzero(scores)
            return held.astype(np.int64), scores[held]
        # each word's postings are sorted, so a stable sort of their concatenation only merges
        # a few sorted runs (3x faster than np.unique's quicksort at 60k postings), and keeps
        # a text's weights in word order: bincount adds them in the same order as before
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        new = np.empty(ordered.shape[0], dtype=bool)
        new[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        slot = np.cumsum(new) - 1
        held = ordered[new].astype(np.int64)
        return held, np.bincount(slot, weights=weights[order], minlength=held.shape[0]).astype(np.float32)

    def scores_at(self, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """``scores_of_tokens(tokens)[rows]`` (float32), touching only the words' postings.

        Each word's postings are searched for ``rows`` (binary search): the cost grows with
        the number of rows asked for, not with how many texts hold the words. The weights
        are added in word order in float64, the sums of :meth:`scores_of_tokens`.
        """
        rows = np.asarray(rows, dtype=np.int64)
        vocab = self._model.vocab_dict
        matrix = self._model.scores
        indptr, indices, data = matrix["indptr"], matrix["indices"], matrix["data"]
        total = np.zeros(rows.shape, dtype=np.float64)
        for number in (vocab.get(t) for t in tokens):
            if number is None or number + 1 >= len(indptr):
                continue
            first, last = int(indptr[number]), int(indptr[number + 1])
            if last == first:
                continue
            postings = indices[first:last]
            at = np.minimum(np.searchsorted(postings, rows), last - first - 1)
            total += np.where(postings[at] == rows, data[first:last][at].astype(np.float64), 0.0)
        return total.astype(np.float32)

    def idf(self) -> Idf:
        """The Lucene IDF of every indexed word, read from the postings (always > 0)."""
        indptr = np.asarray(self._model.scores["indptr"])
        df = np.diff(indptr).astype(np.float64)  # texts holding each word id
        n = float(self.size)
        return Idf(self._model.vocab_dict, np.log1p((n - df + 0.5) / (df + 0.5)))


def score_lookup(held: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The score of each of ``rows`` from :meth:`BM25Index.sparse_scores`'s output (0 where not held)."""
    rows = np.asarray(rows, dtype=np.int64)
    if not held.shape[0]:
        return np.zeros(rows.shape, dtype=np.float32)
    at = np.minimum(np.searchsorted(held, rows), held.shape[0] - 1)
    return np.where(held[at] == rows, scores[at], np.float32(0.0)).astype(np.float32)


class Idf(Mapping[str, float]):
    """Word → Lucene IDF, ``log(1 + (n - df + 0.5) / (df + 0.5))``, over one BM25 index.

    Backed by the index's vocabulary and one float array, so a million-sentence index
    needs no per-word Python objects beyond the vocabulary bm25s already holds.
    """

    def __init__(self, vocab: Mapping[str, int], values: np.ndarray) -> None:
        self._vocab = vocab
        self._values = values
        #: The largest IDF (a word found in one text only); 1.0 for an empty index.
        self.ceiling = float(values.max()) if values.size else 1.0

    def __getitem__(self, token: str) -> float:
        number = self._vocab[token]
        if number >= self._values.shape[0]:  # bm25s's placeholder for the empty token
            raise KeyError(token)
        return float(self._values[number])

    def __iter__(self) -> Iterator[str]:
        return (t for t, i in self._vocab.items() if i < self._values.shape[0])

    def __len__(self) -> int:
        return int(sum(1 for i in self._vocab.values() if i < self._values.shape[0]))


def _compact(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``values[keep]``, moved down in place :data:`BUILD_BLOCK` at a time: a view of
    ``values``, which it overwrites."""
    at = 0
    for lo in range(0, values.shape[0], BUILD_BLOCK):
        part = values[lo : lo + BUILD_BLOCK][keep[lo : lo + BUILD_BLOCK]]
        values[at : at + part.shape[0]] = part
        at += part.shape[0]
    return values[:at]


def _run_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sum of each run of ``values`` (a run begins where ``starts`` is True; ``starts[0]``
    is), written in place :data:`BUILD_BLOCK` at a time: a view of ``values``, which it
    overwrites. ``np.add.reduceat`` at once would copy the runs' starts as int64."""
    at = 0
    for lo in range(0, values.shape[0], BUILD_BLOCK):
        block = values[lo : lo + BUILD_BLOCK]
        first = np.flatnonzero(starts[lo : lo + BUILD_BLOCK])
        carried = first[0] if first.shape[0] else block.shape[0]  # the end of the run from the block before
        if carried:
            values[at - 1] += block[:carried].sum(dtype=values.dtype)
        if first.shape[0]:
            sums = np.add.reduceat(block, first, dtype=values.dtype)
            values[at : at + sums.shape[0]] = sums
            at += sums.shape[0]
    return values[:at]


def _flat_positions(mask: np.ndarray) -> np.ndarray:
    """``np.flatnonzero(mask)`` as int32, found :data:`BUILD_BLOCK` at a time (no int64 copy)."""
    found = np.empty(int(np.count_nonzero(mask)), dtype=np.int32)
    at = 0
    for lo in range(0, mask.shape[0], BUILD_BLOCK):
        part = np.flatnonzero(mask[lo : lo + BUILD_BLOCK])
        found[at : at + part.shape[0]] = part + lo
        at += part.shape[0]
    return found


def _postings(ids: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The postings of texts of word numbers (text ``i`` is ``ids[offsets[i]:offsets[i + 1]]``):
    ``(word, text, tf)``, int32, sorted by word then text.

    One int64 key per token (word-major), sorted: equal keys are one posting and its tf.
    Made with few temporaries (the build holds the vectors meanwhile): the keys are filled
    and split :data:`BUILD_BLOCK` at a time.
    """
    n_docs = max(offsets.shape[0] - 1, 1)
    keys = np.asarray(ids).astype(np.int64)
    keys *= n_docs
    for lo in range(0, offsets.shape[0] - 1, TEXT_BLOCK):
        hi = min(lo + TEXT_BLOCK, offsets.shape[0] - 1)
        keys[offsets[lo] : offsets[hi]] += np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(offsets[lo : hi + 1]))
    keys.sort()
    new = np.ones(keys.shape[0], dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    first = _flat_positions(new)
    tf = np.empty(first.shape[0], dtype=np.int32)
    np.subtract(first[1:], first[:-1], out=tf[:-1], casting="unsafe")
    if tf.shape[0]:
        tf[-1] = keys.shape[0] - first[-1]
    del first
    keys = keys[new]  # the postings, in word then text order
    del new
    word = np.empty(keys.shape[0], dtype=np.int32)
    text = np.empty(keys.shape[0], dtype=np.int32)
    for lo in range(0, keys.shape[0], BUILD_BLOCK):
        word[lo : lo + BUILD_BLOCK], text[lo : lo + BUILD_BLOCK] = np.divmod(keys[lo : lo + BUILD_BLOCK], n_docs)
    return word, text, tf
