"""Text normalisation shared by every stage: folding, words, stop words, BM25 tokens.

Owns how text becomes words and tokens; holds no index and reads no index files (the
BM25 index itself is :mod:`citeqa.store.lexical`). Tokens are case- and accent-folded ("Erdoğan" and "Erdogan" match), stop words are
dropped and the rest stemmed (Snowball English via PyStemmer). A country's names and
demonym become one token ("Turkish", "Turkey", "Türkiye" → ``turkey``), and a capital
also yields its country's token ("Ankara" → ``ankara`` + ``turkey``), as news writing
uses capitals for governments; the table is ``data/countries.tsv`` (from
``countryinfo``, written by ``benchmarks/make_country_table.py``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache

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
    text = read_package_text("countries.tsv")
    table = place_table(text.splitlines())
    starts = frozenset(key[0] for key in table if len(key) > 1)
    return table, starts, max((len(key) for key in table), default=1)


_SINGLE: dict[int, tuple[Mapping[tuple[str, ...], tuple[str, ...]], dict[str, tuple[str, ...]]]] = {}


def _single_words(table: Mapping[tuple[str, ...], tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The one-word names of ``table`` keyed by their stem (kept per table: made once)."""
    kept = _SINGLE.get(id(table))
    if kept is None or kept[0] is not table:
        kept = (table, {key[0]: tokens for key, tokens in table.items() if len(key) == 1})
        _SINGLE[id(table)] = kept
    return kept[1]


def merge_places(
    folded: Sequence[str], stems: Sequence[str], table: Mapping[tuple[str, ...], tuple[str, ...]], starts: frozenset[str], longest: int
) -> list[str]:
    """Tokens of a text from its folded words and their stems: places merged, stop words dropped.

    The longest name of ``table`` starting at each word wins ("South Korean" before "Korean").
    """
    single = _single_words(table)
    out: list[str] = []
    i, n = 0, len(stems)
    while i < n:
        stem = stems[i]
        if stem not in starts:  # no multi-word name starts here: one look-up
            tokens = single.get(stem)
            if tokens is not None:
                out.extend(tokens)
            elif folded[i] not in STOPWORDS:
                out.append(stem)
            i += 1
            continue
        for length in range(min(longest, n - i), 0, -1):
            tokens = table.get(tuple(stems[i : i + length]))
            if tokens is not None:
                out.extend(tokens)
                i += length
                break
        else:
            if folded[i] not in STOPWORDS:
                out.append(stem)
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
