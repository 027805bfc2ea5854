"""Question focus: do the documents hold what the question is *about*?

Near-topic questions share most of their words with the documents ("Who is Armenia's
prime minister?" asked of an article about Armenia), so similarity cannot tell them from
answerable ones. What gives them away is that the focus of the question, the thing it
asks about, is missing:

* a **name** the question uses (a capitalized word or an acronym: "NATO", "Iran",
  "United States") occurs nowhere in the documents;
* the **role** a "who is the X?" question asks for ("prime minister") occurs nowhere;
* the **counted thing** of a "how many X" question ("soldiers", "ships") is in none of
  the best sentences that hold a number (generic counts such as "times", "people" or
  units such as "tons" are not checked: answers rarely repeat them);
* a "when will ...?" question gets no best sentence holding a date said of the
  **future** ("will", "scheduled", "next").

"Occurs" is forgiving: accents and case are folded, words match by stem or within a
typo (:func:`max_typos`; a swap of two letters counts as one), hyphenated compounds also
match written as one word ("ceasefire" / "cease-fire"), and a name also matches a name
of the documents that starts with all its letters but the last two ("Turkey" /
"Turkish"), runs of capitalized words written together or as initials ("SAT" / "Su Altı
Taarruz"), and a longer name one of whose words the documents capitalize.

Measured with ``citeqa eval`` (see ``data/reranker.json``, ``abstain_calibration``).
Pure functions over strings and a :class:`Vocabulary`; no model, no files.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..question import DATE_PATTERN, NUMBER_PATTERN
from ..text import STOPWORDS, fold, is_place, tokenize, words

#: Words that start a question or command, not names even when capitalized.
_LEADING = frozenset(
    "how what when where which who whom whose why is are was were do does did can could will would "
    "should shall has have had may might tell list name give show explain describe find please "
    "i in on at for from to of by with about according the a an and or but".split()
)
#: Markers of a statement about the future.
_FUTURE = re.compile(
    r"\b(?:will|shall|'ll|scheduled|planned|plans?|upcoming|next|expected|due|set to|going to|"
    r"to be held|to take place|forthcoming|later this)\b",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"\b(?:[A-Z][^\W_]*|[^\W\d_]*[A-Z][^\W\d_]*[A-Z][^\W\d_]*)(?:['’][^\W_]+)?\b")
#: What "how many" questions count without naming it: the answer need not repeat these.
_GENERIC_COUNTED = frozenset(
    "times time ways types kinds sorts forms different other others people persons total separate "
    "individual additional more years months weeks days hours minutes seconds decades centuries "
    "tons tonnes pounds lbs kg kgs kilograms grams miles kilometers kilometres km meters metres feet "
    "inches acres hectares dollars euros percent degrees".split()
)
_HOW_MANY = re.compile(r"\bhow many\s+(?P<run>[^?.!,;]*)", re.IGNORECASE)
_NUMBER_OF = re.compile(r"\bwhat (?:is|was|are|were) the (?:total )?(?:number|amount) of\s+(?P<run>[^?.!,;]*)", re.IGNORECASE)
_ROLE = re.compile(
    r"^(?:who|whom) (?:is|was|are|were) (?:the |a |an |[^\W_]+['’]s )(?P<x>.+)"
    r"|\bwhat (?:is|was) the name of (?:the |a |an |[^\W_]+['’]s )(?P<y>.+)",
    re.IGNORECASE,
)
_PARTICIPLE = re.compile(r"(?:ed|en)$")
_FUTURE_WHEN = re.compile(r"\bwhen (?:will|shall)\b|\bwhen (?:is|are)\b.*\b(?:next|going to|planned|scheduled)\b", re.IGNORECASE)


_RAW_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# a compound starts where a run of letters and digits does (the lookbehind spares trying,
# at each letter of a long word, a match that fails: the matches are the same)
_COMPOUND = re.compile(r"(?<![^\W_])[^\W_]+(?:-[^\W_]+)+")
_CAPITALIZED_RUN = re.compile(r"[A-Z][^\W_]*(?:['’][^\W_]+)?(?:[ -]+[A-Z][^\W_]*(?:['’][^\W_]+)?)*")


@dataclass(frozen=True)
class WordList:
    """Sorted distinct words, also grouped by first letter and length (for typo look-ups).

    Attributes:
        sorted: The words, sorted (prefix look-ups by bisection).
        groups: ``(first letter, length) -> words``: a typo look-up compares a word only
            with words of its first letter and a length within the typos allowed (a typo
            in the first letter is not forgiven; that keeps it fast on large corpora).
    """

    sorted: tuple[str, ...]
    groups: Mapping[tuple[str, int], tuple[str, ...]]

    @classmethod
    def of(cls, items: Iterable[str]) -> WordList:
        """The word list of ``items`` (empty strings dropped)."""
        ordered = tuple(sorted({w for w in items if w}))
        groups: dict[tuple[str, int], list[str]] = {}
        for word in ordered:
            groups.setdefault((word[0], len(word)), []).append(word)
        return cls(ordered, MappingProxyType({k: tuple(v) for k, v in groups.items()}))

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        at = bisect.bisect_left(self.sorted, word)
        return at < len(self.sorted) and self.sorted[at] == word

    def __len__(self) -> int:
        return len(self.sorted)

    def has_prefix(self, prefix: str) -> bool:
        """True when some word starts with ``prefix``."""
        at = bisect.bisect_left(self.sorted, prefix)
        return at < len(self.sorted) and self.sorted[at].startswith(prefix)

    def _close_groups(self, word: str) -> Iterator[tuple[tuple[str, ...], int]]:
        """The groups a word within :func:`max_typos` edits of ``word`` can be in, with those typos."""
        typos = max_typos(word) if word else 0
        for length in range(len(word) - typos, len(word) + typos + 1) if typos else ():
            group = self.groups.get((word[0], length), ())
            if group:
                yield group, typos

    def within_typos(self, word: str) -> bool:
        """True when ``word`` is a word of the list or within :func:`max_typos` edits of one."""
        if word in self:
            return True
        return any(
            process.extractOne(word, group, scorer=OSA.distance, score_cutoff=typos) is not None
            for group, typos in self._close_groups(word)
        )

    def nearest(self, word: str) -> str | None:
        """The one word of the list fewest edits from ``word`` (within :func:`max_typos`, same
        first letter); None when none is that close or two are equally close."""
        found = sorted(
            (int(distance), match)
            for group, typos in self._close_groups(word)
            for match, distance, _ in process.extract(word, group, scorer=OSA.distance, score_cutoff=typos, limit=3)
        )
        if not found or (len(found) > 1 and found[1][0] == found[0][0]):
            return None
        return found[0][1]


@dataclass(frozen=True)
class Vocabulary:
    """The words of a corpus, for forgiving look-ups.

    Attributes:
        stems: BM25 tokens (folded, stemmed) of every sentence.
        words: Folded surface words (stop words included) plus hyphenated compounds
            written as one word.
        names: Folded capitalized words, plus every run of capitalized words written as
            one word and as its initials ("Su Altı Taarruz" -> "sualtitaarruz", "sat";
            an all-capitals word keeps all its letters: "World War II" -> "wwii").
    """

    stems: frozenset[str]
    words: WordList
    names: WordList

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], stems: Iterable[str] | None = None, *, word_texts: Iterable[str] | None = None
    ) -> Vocabulary:
        """Build the vocabulary of ``texts`` (``stems``: their BM25 tokens when already known).

        Distinct raw words and capitalized runs are collected first and folded once each
        (folding goes character by character: the slow part on a large corpus).
        ``word_texts``, when given, are read for the words and hyphenated compounds
        instead of ``texts`` (which still give the names): any texts holding the same ones,
        such as the build's distinct pieces of its plain ASCII sentences
        (:meth:`citeqa.text.Tokenizer.plain_pieces`) and its other sentences.
        """
        raw_words: set[str] = set()
        compounds: set[str] = set()
        runs: set[str] = set()
        token_set: set[str] = set(stems) if stems is not None else set()
        for text in texts:
            runs.update(_CAPITALIZED_RUN.findall(text))
            if word_texts is None:
                raw_words.update(_RAW_WORD.findall(text))
                compounds.update(_COMPOUND.findall(text))
            if stems is None:
                token_set.update(tokenize(text))
        for text in word_texts or ():
            raw_words.update(_RAW_WORD.findall(text))
            compounds.update(_COMPOUND.findall(text))
        surface = {w for raw in raw_words for w in words(raw)}
        surface.update(_plain(w).replace("-", "") for w in compounds)
        names: set[str] = set()
        for run in runs:
            parts = [p for p in re.split(r"[ -]+", run) if p]
            names.update(_plain(p) for p in parts)
            if len(parts) > 1:
                names.add(_plain("".join(parts)))
                names.add(_plain("".join(p if p.isupper() else p[0] for p in parts)))
        return cls(stems=frozenset(token_set), words=WordList.of(surface), names=WordList.of(names))

    def word_lists(self) -> dict[str, list[str]]:
        """The surface words and names as sorted lists (what an index stores; stems come from its BM25)."""
        return {"words": list(self.words.sorted), "names": list(self.names.sorted)}

    @classmethod
    def from_word_lists(cls, lists: Mapping[str, Sequence[str]], stems: Iterable[str]) -> Vocabulary:
        """Rebuild a vocabulary from :meth:`word_lists` and the corpus's BM25 tokens."""
        return cls(stems=frozenset(stems), words=WordList.of(lists["words"]), names=WordList.of(lists["names"]))


def _plain(word: str) -> str:
    """Folded, without apostrophes: "Qur'an" -> "quran"."""
    return fold(word).replace("'", "").replace("’", "")


def max_typos(word: str) -> int:
    """Edits allowed when matching ``word``: none under 4 letters, 1 up to 9, 2 from 10."""
    return 0 if len(word) < 4 else 1 if len(word) < 10 else 2


def word_supported(word: str, vocabulary: Vocabulary, *, name: bool = False) -> bool:
    """True when the corpus holds ``word`` or a close form of it.

    A word matches as written (folded), within :func:`max_typos` edits, or by stem. A
    ``name`` does not match by stem (the stemmer turns "United" into "unit") but also
    matches the corpus's names (:attr:`Vocabulary.names`: "SAT" finds "Su Altı Taarruz"),
    within a typo or by all its letters but the last two (at least 4: "Turkey" finds
    "Turkish", "Armenia" finds "Armenian").
    """
    word = _plain(word)
    if not word:
        return True
    if name:
        return (
            vocabulary.words.within_typos(word)
            or vocabulary.names.within_typos(word)
            or (len(word) >= 4 and vocabulary.names.has_prefix(word[: max(4, len(word) - 2)]))
        )
    return (
        word in vocabulary.stems
        or any(t in vocabulary.stems for t in tokenize(word))
        or vocabulary.words.within_typos(word)
    )


def name_supported(name: Sequence[str], vocabulary: Vocabulary) -> bool:
    """True when the corpus holds the name made of ``name``'s words (see :func:`word_supported`).

    A one-word name must match (by stem too, unless it is an acronym); a longer one
    matches written as one word
    ("Superbowl" / "Super Bowl"), or when all its words match, or when one of its words
    of 3+ letters matches a word the corpus capitalizes ("Parisien Protestants" finds
    "Protestants"; "United States" does not find lower-case "states").
    """
    if len(name) == 1:
        word = name[0]
        # a lone capitalized word may be a common word capitalized for emphasis ("the
        # Attacks"): it also matches by stem; an acronym or a longer name does not
        return word_supported(word, vocabulary, name=True) or (
            not word.isupper() and word_supported(word, vocabulary)
        )
    if word_supported("".join(name), vocabulary, name=True):
        return True
    if all(word_supported(w, vocabulary, name=True) for w in name):
        return True
    return any(len(w) >= 3 and vocabulary.names.within_typos(_plain(w)) for w in name)


def question_names(question: str) -> list[list[str]]:
    """Names in ``question``: runs of capitalized words or acronyms ("NATO", "United States").

    Words joined by a space or a hyphen form one name ("Nagorno-Karabakh"). The first
    word counts only as an acronym ("NATO said what?"); question words, stop words and
    "I" never count. A question written in title case ("Who Is The President") has no
    names: its capitals say nothing.

    Returns:
        One list of words per name, in order.
    """
    text = re.sub(r"['’]s\b", "", question)
    names: list[list[str]] = []
    last_end = -1
    leading = len(text) - len(text.lstrip())
    for match in _NAME_WORD.finditer(text):
        word = match.group()
        folded = fold(word)
        if folded in _LEADING or folded in STOPWORDS or word == "I":
            continue
        if match.start() == leading and not (word.isupper() and len(word) > 1):
            continue
        if names and re.fullmatch(r"[ -]", text[last_end : match.start()]):
            names[-1].append(word)
        else:
            names.append([word])
        last_end = match.end()
    return [] if _title_case(text) else names


def _title_case(text: str) -> bool:
    """True when capitals mark the style, not names: "Who Is The President Of X",
    "Were Boats Used?", "WHO IS THE PRESIDENT" (all in capitals, two capitalized stop
    words, or at least two and three quarters of the other words after the first,
    acronyms aside)."""
    every = re.findall(r"[^\W\d_]+", text)
    if len(every) >= 3 and sum(w.isupper() for w in every) >= 0.75 * len(every):
        return True  # written in capitals
    later = re.findall(r"(?<=\s)[^\W\d_]+", text)
    capital_small = [w for w in later if fold(w) in STOPWORDS and w[:1].isupper() and not w.isupper()]
    content = [w for w in later if len(w) >= 3 and fold(w) not in STOPWORDS and not w.isupper()]
    capital = [w for w in content if w[:1].isupper()]
    return len(capital_small) >= 2 or (len(capital) >= 2 and len(capital) >= 0.75 * len(content))


def _content(run: str) -> list[str]:
    """Folded content words of ``run``, stopping at its first stop word."""
    out = []
    for word in re.findall(r"[^\W_]+(?:['’][^\W_]+)*", run):
        folded = fold(word).replace("'", "").replace("’", "")
        if folded in STOPWORDS:
            if out:
                break
            continue
        out.append(folded)
    return out


def counted_words(question: str) -> list[str]:
    """What a counting question counts: "how many soldiers took part" -> ["soldiers", "took", "part"].

    The words after "how many" (or "what is the number of") up to the next stop word,
    names and places left out, capitalized or not ("how many Turkish soldiers", "how
    many turkish soldiers" -> ["soldiers"]); the answer should
    hold one of them. Empty when the question counts nothing named ("How many were
    there?") or counts in generic words and units ("how many times", "how many people
    died", "how many tons"): the answer need not repeat those.
    """
    match = _HOW_MANY.search(question) or _NUMBER_OF.search(question)
    if match is None:
        return []
    names = {fold(w) for name in question_names(question) for w in name}
    run = _content(match.group("run"))
    if any(w in _GENERIC_COUNTED for w in run):
        return []
    return [w for w in run if w not in names and not is_place(w)]


def role_word(question: str) -> str | None:
    """The role a "who is the X?" question asks about: the last word of X that is not a name.

    X follows "the", "a", "an" or a possessive ("Who is Armenia's prime minister?" ->
    "minister", "what is the name of the book written by ..." -> "book") and ends at the
    first stop word or participle. None for "Who is Erdogan?" or "Who was considered ...?".
    """
    match = _ROLE.search(question.strip())
    if match is None:
        return None
    phrase = match.group("x") or match.group("y") or ""
    names = {fold(w) for name in question_names(f"x {phrase}") for w in name}
    run = _content(phrase)
    for at, word in enumerate(run[1:], 1):
        if _PARTICIPLE.search(word):
            run = run[:at]
            break
    kept = [w for w in run if w not in names]
    return kept[-1] if kept else None


def _in_text(wanted: Sequence[str], text: str) -> bool:
    """True when every word of ``wanted`` occurs in ``text`` (by stem or within a typo)."""
    return all(word_supported(w, Vocabulary.from_texts([text])) for w in wanted)


@dataclass(frozen=True)
class FocusCheck:
    """The outcome of :func:`check_focus`.

    Attributes:
        found: False when the documents miss what the question is about.
        missing: Why, for a person reading logs ("name 'NATO'", "counted 'people'").
    """

    found: bool
    missing: str = ""


def check_focus(question: str, best_texts: Sequence[str], vocabulary: Vocabulary, *, number_depth: int = 3) -> FocusCheck:
    """Check that the documents hold the focus of ``question`` (see the module docstring).

    Args:
        question: The question (as asked, or resolved against the conversation).
        best_texts: The best-ranked sentences, best first.
        vocabulary: The corpus vocabulary.
        number_depth: How many of the best sentences may hold a counted number or a future date.
    """
    for name in question_names(question):
        if not name_supported(name, vocabulary):
            return FocusCheck(False, f"name {' '.join(name)!r}")
    role = role_word(question)
    if role is not None and not word_supported(role, vocabulary):
        return FocusCheck(False, f"role {role!r}")
    numbered = [t for t in best_texts[:number_depth] if NUMBER_PATTERN.search(t)]
    counted = counted_words(question)
    if counted and not any(_in_text([w], t) for w in counted for t in numbered):
        return FocusCheck(False, f"counted {' '.join(counted)!r}")
    if _FUTURE_WHEN.search(question) and not any(
        DATE_PATTERN.search(t) and _FUTURE.search(t) for t in best_texts[:number_depth]
    ):
        return FocusCheck(False, "future date")
    return FocusCheck(True)
