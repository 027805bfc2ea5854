"""Text normalisation shared by every stage: folding, words, stop words, BM25 tokens.

Owns how text becomes words and tokens; holds no index and reads no index files (the
BM25 index itself is :mod:`citeqa.store.lexical`). Tokens are case- and accent-folded ("Erdoğan" and "Erdogan" match), stop words are
dropped and the rest stemmed (Snowball English via PyStemmer). A country's names and
demonym become one token ("Turkish", "Turkey", "Türkiye" → ``turkey``), and a capital
also yields its country's token ("Ankara" → ``ankara`` + ``turkey``), as news writing
uses capitals for governments; the table is ``data/countries.tsv`` (from
``countryinfo``, written by ``benchmarks/make_country_table.py``).

Long because :class:`Tokenizer` is the one implementation of those rules for a
question and for a whole corpus at build time (array operations): both ways live here,
on the same learnt words, so they cannot drift apart.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .config import read_package_text

#: Bump when tokenization changes: indexes record it.
TOKENIZER_VERSION = 2
#: The tokenizer's name in index manifests (kept from before the package was split up).
TOKENIZER_NAME = "citeqa.lexical"

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


_NON_ASCII = re.compile("([^\x00-\x7f]+)")


def fold(text: str) -> str:
    """Lowercase and strip accents: "Erdoğan" → "erdogan", "Altı" → "alti".

    Only the runs of non-ASCII characters go through Unicode normalization: each step
    (the table, NFKD, dropping combining marks, case folding) reads a character alone or
    reorders marks that follow a letter, and an ASCII character is neither changed by them
    nor a mark, so folding the runs one by one is folding the whole text.
    """
    if text.isascii():  # nothing to strip (the common case, and 10x faster)
        return text.lower()
    parts = _NON_ASCII.split(text)  # ASCII, non-ASCII, ASCII, ... (the first may be "")
    parts[::2] = [part.lower() for part in parts[::2]]
    parts[1::2] = [_fold_run(part) for part in parts[1::2]]
    return "".join(parts)


def _fold_run(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Folded words of ``text``, stop words included."""
    folded = fold(text)
    found = _WORD.findall(folded)
    return [w.replace("'", "") for w in found] if "'" in folded else found  # most texts have none


def stems(text: str) -> list[str]:
    """Stems of ``text``'s words, stop words left out; unlike :func:`tokenize`, no place merged
    ("Warsaw" is ["warsaw"], not also Poland's token): for comparing two names word by word."""
    return [str(s) for s in _stemmer().stemWords([w for w in words(text) if w not in STOPWORDS])]


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
    text = read_package_text("countries.tsv")
    table = place_table(text.splitlines())
    starts = frozenset(key[0] for key in table if len(key) > 1)
    return table, starts, max((len(key) for key in table), default=1)


def is_place(word: str) -> bool:
    """True when ``word`` alone names a country or capital, or is a demonym ("turkish", "Baku")."""
    folded = words(word)
    return len(folded) == 1 and (_stemmer().stemWord(folded[0]),) in _places()[0]


# ---------------------------------------------------------------------- list items

#: Bullet glyphs that open a list's item (word processors' and LaTeX's first and nested levels).
BULLETS = "•◦▪●‣⁃∙■➢➤"
#: An unordered list's marker and a space ("- ", "* ", "• ", "◦ ").
_BULLET_ITEM = rf"[-*+{BULLETS}]\s"
_BULLET_START = re.compile(_BULLET_ITEM)
#: A list item's opening marker ("- ", "* ", "• ", "◦ ", "1. ", "2) ", "(a) ", "A. "), at the start of a line or sentence.
LIST_ITEM = re.compile(rf"{_BULLET_ITEM}|\(?(?:\d{{1,3}}|[A-Za-z]|[ivxlcIVXLC]{{1,4}})[.)]\s")
#: A colon followed by a list's first item on the same line, as PDF extraction may leave it
#: ("Here is the list of types that the parser can manage: • INTEGER;"); a capital after the
#: colon is a sentence's start ("Note: A. Smith"), not an item's letter.
_ITEM_AFTER_COLON = re.compile(rf":\s+(?:{_BULLET_ITEM}|\(?(?:\d{{1,3}}|[a-z]|[ivx]{{1,4}})[.)]\s)")


def is_list_item(text: str) -> bool:
    """True when ``text`` (a line or a sentence) opens with a list item's marker ("• INTEGER;", "2. Run it.")."""
    return LIST_ITEM.match(text.lstrip()) is not None


def is_bullet_item(text: str) -> bool:
    """True when ``text`` opens with an unordered list's marker ("- fast", "• INTEGER;"): a list's
    item, never a heading (a numbered one may be either: "2. Scope")."""
    return _BULLET_START.match(text.lstrip()) is not None


def opens_list(text: str) -> bool:
    """True when ``text`` introduces what follows it: it ends with ":", or a list's first item
    follows its colon ("... can manage: • INTEGER;")."""
    stripped = text.rstrip()
    return stripped.endswith(":") or _ITEM_AFTER_COLON.search(stripped) is not None


# ---------------------------------------------------------------------- BM25 tokens

#: Joins the texts tokenized together; a text holding it is not :func:`is_plain`.
_SEPARATOR = "\x00"
_WORD_OR_SEPARATOR = re.compile(_SEPARATOR + "|" + _WORD.pattern)
#: Bytes of plain ASCII text kept by :meth:`Tokenizer.token_ids`, lowercased: letters, digits,
#: apostrophes, hyphens and the separator; every other byte becomes a space.
_PLAIN_BYTES = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c in b"'-\x00") else 32 for c in range(256)
)
#: Texts tokenized together by :meth:`Tokenizer.token_ids`.
TOKEN_CHUNK = 8192
#: Words a :func:`tokenize` keeps learnt before it starts afresh (a server sees new words forever).
_KEPT_WORDS = 200_000


def is_plain(text: str) -> bool:
    """True when ``text`` is ASCII without the separator: folding it is lowercasing it."""
    return text.isascii() and _SEPARATOR not in text


@dataclass(frozen=True)
class TokenIds:
    """Every text's BM25 tokens as word numbers: text ``i``'s are ``ids[offsets[i]:offsets[i + 1]]``.

    Attributes:
        ids: int32 word numbers, all texts' tokens one after another.
        offsets: int64 ``(texts + 1,)`` where each text's tokens start (the last: the end).
        vocabulary: The word of each number (each occurs at least once).
    """

    ids: np.ndarray
    offsets: np.ndarray
    vocabulary: list[str]

    def texts(self) -> list[list[str]]:
        """Each text's tokens as strings (for tests and small corpora)."""
        words = self.vocabulary
        return [[words[j] for j in self.ids[a:b].tolist()] for a, b in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist())]


class _Grown:
    """A list of ints only appended to, and the same as an int64 array (new items converted once)."""

    def __init__(self, items: Sequence[int]) -> None:
        self.items = list(items)
        self._array = np.asarray(self.items, dtype=np.int64)

    def array(self) -> np.ndarray:
        if self._array.shape[0] < len(self.items):
            self._array = np.concatenate([self._array, np.asarray(self.items[self._array.shape[0] :], dtype=np.int64)])
        return self._array


class _Codes(dict):  # type: ignore[type-arg]
    """``key -> code`` that learns a key it does not hold (``learn(key)`` gives its code)."""

    def __init__(self, learn: Callable[[Any], int]) -> None:
        super().__init__()
        self.learn = learn

    def __missing__(self, key: Any) -> int:
        return self.learn(key)


class Tokenizer:
    """BM25 tokens (:func:`tokenize`) of one text, or of many at once as word numbers.

    The rules: a text is folded (:func:`fold`) and split into words; each word gives its
    stem, or nothing for a stop word, or, when it alone names a place of the table
    (:func:`place_table`), the place's tokens; and where a name of several words starts,
    the longest one found there replaces the words it spans (left to right: "South Korean"
    before "Korean").

    What a word gives alone depends on the word only, so each distinct word is learnt once
    (stemmed, looked up) and kept as a number, its "code"; a text becomes its words' codes
    and only the words that can start a name of several words ("New", "South"...) are
    looked at in context. Many texts (:meth:`token_ids`) are tokenized a chunk at a time
    with array operations: plain ASCII ones (:func:`is_plain`, most of them) are
    lowercased and cut into pieces (runs of letters, digits, apostrophes and hyphens) by
    ``bytes`` methods, each distinct piece split into words once; the others are folded
    and split into words by one regular expression per chunk. Learning is thread-safe;
    :meth:`token_ids` is for one thread at a time.
    """

    SEPARATOR = 0  # the code between texts
    SILENT = 1  # the code of a word that gives nothing (inside a name found before it)

    def __init__(self, table: Mapping[tuple[str, ...], tuple[str, ...]] | None = None) -> None:
        if table is None:
            table, starts, longest = _places()
        else:
            starts = frozenset(key[0] for key in table if len(key) > 1)
            longest = max((len(key) for key in table), default=1)
        self.table, self.starts, self.longest = table, starts, longest
        self.single = {key[0]: tokens for key, tokens in table.items() if len(key) == 1}
        self.follows: dict[str, set[str]] = {}
        for key in table:
            if len(key) > 1:
                self.follows.setdefault(key[0], set()).add(key[1])
        seconds = {key[1] for key in table if len(key) > 1}
        self._lock = threading.Lock()
        self.code = _Codes(self._learn)  # folded word -> code
        self.code[_SEPARATOR] = self.SEPARATOR
        self.stem: list[str] = [_SEPARATOR, _SEPARATOR]
        self.tokens_of: list[tuple[str, ...]] = [(), ()]  # what a code gives, as strings
        self.whole = _Grown([0, 0])  # 1: the code's word can start a name of several words
        self.second = _Grown([0, 0])  # 1: the code's word can be a name's second word
        self._seconds = seconds
        # numbers for token_ids: a code gives emitted[start[code]:start[code + 1]]
        self.number: dict[str, int] = {}
        self.vocabulary: list[str] = []
        self.emitted = _Grown([])
        self.start = _Grown([0, 0, 0])
        self.resolved: dict[tuple[str, ...], int] = {}  # a name's tokens -> its code
        # plain ASCII pieces -> piece number; a piece gives the codes words[first[p]:first[p + 1]]
        self.pieces = _Codes(self._learn_piece)
        self.pieces[_SEPARATOR.encode()] = 0
        self.piece_words = _Grown([self.SEPARATOR])
        self.piece_first = _Grown([0, 1])

    # -- learning (each distinct word and piece once)

    def _add(self, stem: str, tokens: tuple[str, ...], whole: bool, second: bool) -> int:
        """A new code giving ``tokens`` (call with the lock held)."""
        for token in tokens:
            if token not in self.number:
                self.number[token] = len(self.vocabulary)
                self.vocabulary.append(token)
        self.emitted.items.extend(self.number[t] for t in tokens)
        self.stem.append(stem)
        self.tokens_of.append(tokens)
        self.whole.items.append(int(whole))
        self.second.items.append(int(second))
        self.start.items.append(len(self.emitted.items))
        return len(self.stem) - 1

    def _learn(self, word: str) -> int:
        with self._lock:
            if word in self.code:  # learnt by another thread meanwhile
                return dict.__getitem__(self.code, word)
            plain = word.replace("'", "")
            stem = _stemmer().stemWord(plain)
            tokens = self.single.get(stem)
            if tokens is None:
                tokens = () if plain in STOPWORDS else (stem,)
            # a name's first word gives what it does alone when no name starts there
            code = self._add(stem, tuple(tokens), stem in self.starts, stem in self._seconds)
            self.code[word] = code
            return code

    def _learn_piece(self, piece: bytes) -> int:
        codes = [self.code[w] for w in _WORD.findall(piece.decode("ascii"))]
        with self._lock:
            if piece in self.pieces:
                return dict.__getitem__(self.pieces, piece)
            self.piece_words.items.extend(codes)
            self.piece_first.items.append(len(self.piece_words.items))
            number = self.pieces[piece] = len(self.pieces)
            return number

    def _name_code(self, tokens: tuple[str, ...]) -> int:
        code = self.resolved.get(tokens)
        if code is None:
            with self._lock:
                code = self.resolved[tokens] = self._add(_SEPARATOR, tokens, False, False)
        return code

    # -- names of several words (the one rule that reads a word's neighbours)

    def _names(self, codes: Sequence[int], starts: Iterable[int]) -> list[tuple[int, int, tuple[str, ...]]]:
        """The names of several words in ``codes``, looked for from ``starts`` (the positions
        whose word can start one) left to right: ``(position, words, tokens)``, the longest
        name found at a position winning and the positions inside it skipped."""
        stem, follows, table = self.stem, self.follows, self.table
        n, end = len(codes), -1
        found = []
        for i in starts:
            # inside the name found before, or the next word can't continue a name
            if i < end or stem[codes[i + 1]] not in follows[stem[codes[i]]]:
                continue
            for length in range(min(self.longest, n - i), 1, -1):
                tokens = table.get(tuple(stem[c] for c in codes[i : i + length]))
                if tokens is not None:
                    found.append((i, length, tuple(tokens)))
                    end = i + length
                    break
        return found

    # -- one text

    def tokens(self, text: str) -> list[str]:
        """The BM25 tokens of ``text``."""
        codes = list(map(self.code.__getitem__, _WORD.findall(fold(text))))
        whole = self.whole.items
        names = self._names(codes, [i for i in range(len(codes) - 1) if whole[codes[i]]])
        tokens_of = self.tokens_of
        if not names:
            return [t for c in codes for t in tokens_of[c]]
        out: list[str] = []
        i = 0
        for at, length, tokens in names:
            out.extend(t for c in codes[i:at] for t in tokens_of[c])
            out.extend(tokens)
            i = at + length
        out.extend(t for c in codes[i:] for t in tokens_of[c])
        return out

    # -- many texts

    def _plain_codes(self, texts: Sequence[str]) -> np.ndarray:
        """The codes of plain ASCII ``texts``' words, the texts separated by :attr:`SEPARATOR`."""
        pieces = (" " + _SEPARATOR + " ").join(texts).encode("ascii").translate(_PLAIN_BYTES).split()
        numbers = np.fromiter(map(self.pieces.__getitem__, pieces), dtype=np.int64, count=len(pieces))
        return _gather(self.piece_words.array(), self.piece_first.array(), numbers)[0]

    def _folded_codes(self, texts: Sequence[str]) -> np.ndarray:
        """The codes of any ``texts``' words, the texts separated by :attr:`SEPARATOR`."""
        joined = _SEPARATOR.join(fold(text) for text in texts)  # fold keeps the separator
        if joined.count(_SEPARATOR) == len(texts) - 1:
            found = _WORD_OR_SEPARATOR.findall(joined)
        else:  # a text holds the separator: find each text's words alone
            found = []
            for text in texts:
                found.extend(_WORD.findall(fold(text)))
                found.append(_SEPARATOR)
            found.pop()
        return np.fromiter(map(self.code.__getitem__, found), dtype=np.int64, count=len(found))

    def _numbers(self, codes: np.ndarray, texts: int) -> tuple[np.ndarray, np.ndarray]:
        """Token numbers of the words ``codes`` of ``texts`` texts, and each text's count."""
        if codes.shape[0] > 1:
            maybe = self.whole.array()[codes[:-1]] & self.second.array()[codes[1:]]
            starts = np.flatnonzero(maybe).tolist()
            for at, length, tokens in self._names(codes, starts):
                codes[at] = self._name_code(tokens)
                codes[at + 1 : at + length] = self.SILENT
        ids, counts = _gather(self.emitted.array(), self.start.array(), codes)
        text_of = np.cumsum(codes == self.SEPARATOR)  # the text each word belongs to
        return ids.astype(np.int32), np.bincount(text_of, weights=counts, minlength=texts).astype(np.int64)

    def chunk(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token numbers (:attr:`vocabulary`) of ``texts``, all in a row, and each text's count."""
        plain = [is_plain(text) for text in texts]
        if all(plain) or not any(plain):
            codes = self._plain_codes(texts) if all(plain) else self._folded_codes(texts)
            return self._numbers(codes, len(texts))
        mask = np.array(plain, dtype=bool)
        parts = []
        for which, group in ((mask, self._plain_codes), (~mask, self._folded_codes)):
            picked = np.flatnonzero(which)
            ids, counts = self._numbers(group([texts[i] for i in picked.tolist()]), picked.shape[0])
            parts.append((picked, ids, counts))
        # back in the texts' order: text i's numbers are read from where its group put them
        counts = np.zeros(len(texts), dtype=np.int64)
        source = np.zeros(len(texts), dtype=np.int64)
        base = 0
        for picked, ids, part in parts:
            counts[picked] = part
            source[picked] = base + np.cumsum(part) - part
            base += ids.shape[0]
        every = np.concatenate([ids for _, ids, _ in parts])
        return _gather(every, source, np.arange(len(texts)), counts)[0], counts

    def token_ids(self, texts: Sequence[str]) -> TokenIds:
        """Every text's tokens (exactly :meth:`tokens`'s) as word numbers, :data:`TOKEN_CHUNK` texts at a time."""
        parts, counts = [], []
        for lo in range(0, len(texts), TOKEN_CHUNK):
            ids, per_text = self.chunk(texts[lo : lo + TOKEN_CHUNK])
            parts.append(ids)
            counts.append(per_text)
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        if counts:
            np.cumsum(np.concatenate(counts), out=offsets[1:])
        # the chunks' numbers in one array, each chunk's released once copied
        ids = np.empty(int(offsets[-1]), dtype=np.int32)
        for number, part in enumerate(parts):
            ids[offsets[number * TOKEN_CHUNK] : offsets[min((number + 1) * TOKEN_CHUNK, len(texts))]] = part
            parts[number] = part[:0]
        # keep only the words that occur (a word's own token can be swallowed by a name),
        # numbered in sorted order (the same numbers whatever order they were learnt in)
        used = np.flatnonzero(np.bincount(ids, minlength=len(self.vocabulary)))
        vocabulary = [self.vocabulary[i] for i in used.tolist()]
        order = sorted(range(len(vocabulary)), key=vocabulary.__getitem__)
        renumber = np.zeros(len(self.vocabulary), dtype=np.int32)
        renumber[used[order]] = np.arange(len(order), dtype=np.int32)
        for lo in range(0, ids.shape[0], 1 << 20):  # in place, a block at a time
            ids[lo : lo + (1 << 20)] = renumber[ids[lo : lo + (1 << 20)]]
        return TokenIds(ids, offsets, [vocabulary[i] for i in order])

    def plain_pieces(self) -> list[str]:
        """The distinct pieces of the plain ASCII texts tokenized so far (lowercased runs of
        letters, digits, apostrophes and hyphens: every word lies inside one)."""
        return [piece.decode("ascii") for piece in self.pieces if piece != b"\x00"]


def _gather(values: np.ndarray, first: np.ndarray, keys: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``values[first[k]:first[k + 1]]`` for each ``k`` of ``keys``, one after another (or
    ``counts[i]`` values from ``first[keys[i]]`` when given), and how many each gave."""
    if counts is None:
        counts = first[keys + 1] - first[keys]
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=values.dtype), counts
    at = np.repeat(first[keys] - (np.cumsum(counts) - counts), counts)
    at += np.arange(total)
    return values[at], counts


_TOKENIZER: list[Tokenizer] = []


def tokenize(text: str) -> list[str]:
    """BM25 tokens: folded, stop words removed, stemmed, country names/demonyms/capitals merged (:class:`Tokenizer`)."""
    if not _TOKENIZER or len(_TOKENIZER[-1].stem) > _KEPT_WORDS:
        _TOKENIZER.append(Tokenizer())  # first use, or start afresh: memory stays bounded
        del _TOKENIZER[:-1]
    return _TOKENIZER[-1].tokens(text)


# ---------------------------------------------------------------------- showing text safely

#: Bidirectional formatting controls: they reorder what follows them on screen
#: ("evil\u202Efdp.md" shows as "evilmd.pdf"), so names show them as ``<U+202E>``.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What json.dumps(ensure_ascii=False) leaves raw in strings (it escapes C0 itself; the
# indentation's newlines stay): DEL, C1 controls, U+2028/9 and the bidi controls.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029" + "".join(sorted(BIDI_CONTROLS)) + "]")


def visible_controls(name: str) -> str:
    """``name`` with control and bidi formatting characters shown as ``<U+XXXX>``.

    For names shown to a person (document names in the CLI and on the page): nothing
    in a name may move the cursor, change the terminal or reorder the text around it.
    """
    return "".join(
        f"<U+{ord(ch):04X}>" if ch in BIDI_CONTROLS or unicodedata.category(ch) == "Cc" else ch for ch in name
    )


def escape_json_controls(text: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with DEL, C1 controls (U+009B
    is a terminal's CSI), U+2028/9 and bidi controls written as ``\\uXXXX`` escapes (C0 ones
    already are): the same JSON value, inert on a terminal. Such characters only occur
    inside JSON strings, where the escape means the same.
    """
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
