"""Lexical retrieval: BM25 (bm25s, Lucene IDF, always positive) over normalized tokens.

Tokens are case- and accent-folded ("Erdoğan" and "Erdogan" match), stop words are
dropped and the rest stemmed (Snowball English via PyStemmer). A country's names and
demonym become one token ("Turkish", "Turkey", "Türkiye" → ``turkey``), and a capital
also yields its country's token ("Ankara" → ``ankara`` + ``turkey``), as news writing
uses capitals for governments; the table is ``data/countries.tsv`` (from
``countryinfo``, written by ``benchmarks/make_country_table.py``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

#: Bump when tokenization changes: indexes record it.
TOKENIZER_VERSION = 2

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Letters that do not decompose under NFKD but are read as plain Latin ones.
_FOLD = str.maketrans({"ı": "i", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "æ": "ae", "œ": "oe", "ß": "ss", "’": "'"})

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t don""".split()
)


def fold(text: str) -> str:
    """Lowercase and strip accents: "Erdoğan" → "erdogan", "Altı" → "alti"."""
    if text.isascii():  # nothing to strip (the common case, and 10x faster)
        return text.lower()
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Folded words of ``text``, stop words included."""
    return [w.replace("'", "") for w in _WORD.findall(fold(text))]


def country_token(country: str) -> str:
    """The one token standing for a country: its stem for a one-word name, else its words joined by "_"."""
    parts = words(country)
    return _stemmer().stemWord(parts[0]) if len(parts) == 1 else "_".join(parts)


def place_table(lines: Sequence[str]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Map stemmed word sequences of country names, demonyms and capitals to their tokens.

    Args:
        lines: ``country<TAB>kind<TAB>name`` rows, kind ``name``, ``demonym`` or ``capital``.

    Returns:
        ``{stems of the name: tokens}``: a name or demonym gives the country's token, a
        capital its own stems followed by the country's token (a name wins over a capital).
    """
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for line in lines:
        if not line.strip():
            continue
        country, kind, name = line.rstrip("\n").split("\t")
        key = tuple(_stemmer().stemWords(words(name)))
        if not key:
            continue
        token = country_token(country)
        if kind == "capital":
            table.setdefault(key, (*key, token))
        else:
            table[key] = (token,)
    return table


@lru_cache(maxsize=1)
def _places() -> tuple[dict[tuple[str, ...], tuple[str, ...]], frozenset[str], int]:
    text = resources.files("citeqa").joinpath("data", "countries.tsv").read_text(encoding="utf-8")
    table = place_table(text.splitlines())
    starts = frozenset(key[0] for key in table if len(key) > 1)
    return table, starts, max((len(key) for key in table), default=1)


def merge_places(
    folded: Sequence[str], stems: Sequence[str], table: Mapping[tuple[str, ...], tuple[str, ...]], starts: frozenset[str], longest: int
) -> list[str]:
    """Tokens of a text from its folded words and their stems: places merged, stop words dropped.

    The longest name of ``table`` starting at each word wins ("South Korean" before "Korean").
    """
    out: list[str] = []
    i, n = 0, len(stems)
    while i < n:
        span = min(longest, n - i) if stems[i] in starts else 1
        for length in range(span, 0, -1):
            tokens = table.get(tuple(stems[i : i + length]))
            if tokens is not None:
                out.extend(tokens)
                i += length
                break
        else:
            if folded[i] not in STOPWORDS:
                out.append(stems[i])
            i += 1
    return out


def is_place(word: str) -> bool:
    """True when ``word`` alone names a country or capital, or is a demonym ("turkish", "Baku")."""
    folded = words(word)
    return len(folded) == 1 and (_stemmer().stemWord(folded[0]),) in _places()[0]


def tokenize(text: str) -> list[str]:
    """BM25 tokens: folded, stop words removed, stemmed, country names/demonyms/capitals merged."""
    folded = words(text)
    table, starts, longest = _places()
    return merge_places(folded, _stemmer().stemWords(folded), table, starts, longest)


class BM25Index:
    """A BM25 index over sentences, stored as a folder of .npy and JSON files."""

    def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
        self._model = model

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """Index ``texts`` (one BM25 "document" per sentence)."""
        return cls.from_tokens([tokenize(t) for t in texts])

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder`` (npy + json, no pickle)."""
        self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> BM25Index:
        """Load an index written by :meth:`save`."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False))

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
        model.index([list(t) for t in corpus_tokens], show_progress=False)
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

    def idf(self) -> Idf:
        """The Lucene IDF of every indexed word, read from the postings (always > 0)."""
        indptr = np.asarray(self._model.scores["indptr"])
        df = np.diff(indptr).astype(np.float64)  # texts holding each word id
        n = float(self.size)
        return Idf(self._model.vocab_dict, np.log1p((n - df + 0.5) / (df + 0.5)))


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
