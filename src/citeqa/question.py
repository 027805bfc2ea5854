"""Question analysis: check a question, find its kind and answer types, resolve follow-ups.

Used by search (answer-type features) and answer (abstention, composition) alike, so it
sits below both and imports neither. Pure functions over strings; no model, no files.

Long because it is the one place for question analysis (the style's rule): the answer-type
expressions sit beside the kinds they serve, with the cheap pre-checks that keep them off
the 1M query path where they cannot match.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from .errors import InvalidArgumentError, InvalidQuestionError
from .text import STOPWORDS, fold, stems, tokenize, words

MAX_QUESTION_CHARS = 1000
#: Longest text read as a question before cleaning (which may shorten it to the limit): anything
#: longer is refused without being cleaned.
MAX_RAW_QUESTION_CHARS = 4 * MAX_QUESTION_CHARS

# Words that may point back at something said earlier in the conversation: pronouns, which
# point back unless the question names something before them ("How has Glazer changed ...
# his latest move?"), and words that also determine or place ("this year's", "there was"),
# which point back only at the question's end or in a question that names nothing.
_PRONOUNS = frozenset("it its he him his she her hers they them their theirs".split())
_POINTING = frozenset("this that these those there then one ones former latter same".split())
_ANAPHORA = _PRONOUNS | _POINTING
# A turn opening with one of these continues the conversation ("And who won it at the Oscars?").
_CONTINUING = (("and",), ("or",), ("but",), ("also",), ("what", "about"), ("how", "about"))
# Auxiliaries: a question of one content word with one is whole ("What is SAT?"), without one
# it is elliptical ("and SAS?", "Where?").
_AUXILIARIES = frozenset("is are was were be been do does did has have had can could will would shall should may might must".split())


#: What :func:`clean_question` does to the ASCII control characters (category Cc): white
#: space becomes a space, the others go.
_ASCII_CONTROLS = {code: (" " if chr(code) in "\t\n\r\v\f" else None) for code in (*range(32), 127)}


def clean_question(question: object) -> str:
    """Validate and normalize a question.

    Control and format characters (zero-width, direction marks) and lone surrogates
    are removed, white space is collapsed.

    Raises:
        InvalidQuestionError: not a string, blank, or longer than 1,000 characters.
    """
    if not isinstance(question, str):
        raise InvalidQuestionError(f"question must be text, got {type(question).__name__}")
    if len(question) > MAX_RAW_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"question is too long ({len(question):,} characters); keep it under "
            f"{MAX_QUESTION_CHARS:,} characters"
        )
    if question.isascii():  # the only such characters in ASCII are the controls: one translate
        cleaned = question.translate(_ASCII_CONTROLS)
    else:
        kept = []
        for ch in question:
            category = unicodedata.category(ch)
            if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
                kept.append(" " if ch in "\t\n\r\v\f" else "")
            else:
                kept.append(ch)
        cleaned = "".join(kept)
    text = re.sub(r"\s+", " ", cleaned).strip()
    if not text:
        raise InvalidQuestionError("question is blank; type a question about the documents")
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuestionError(
            "question has no letters or digits to search for; type a question about the documents"
        )
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"question is too long ({len(text):,} characters); keep it under "
            f"{MAX_QUESTION_CHARS:,} characters"
        )
    return text


def user_turns(history: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """The user's earlier questions from Gradio-style messages, oldest first.

    Raises:
        InvalidArgumentError: ``history`` is not a list of ``{"role", "content"}`` dicts.
    """
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise InvalidArgumentError(
            f"history must be a list of {{'role', 'content'}} messages, got {type(history).__name__}"
        )
    turns = []
    for number, message in enumerate(history):
        if not isinstance(message, Mapping) or "role" not in message:
            raise InvalidArgumentError(
                f"history[{number}] must be a {{'role', 'content'}} message, got {message!r:.80}"
            )
        content = message.get("content")
        if message["role"] == "user" and isinstance(content, str) and content.strip():
            turns.append(content)
    return turns


def last_turn(history: Sequence[Mapping[str, Any]] | None) -> tuple[str, list[Mapping[str, Any]]] | None:
    """The user's last question in ``history`` and the messages before it; None when there is none.

    Raises:
        InvalidArgumentError: ``history`` is not a list of ``{"role", "content"}`` dicts.
    """
    turns = user_turns(history)
    if not turns:
        return None
    messages = list(history or [])
    at = max(k for k, m in enumerate(messages) if m["role"] == "user" and m.get("content") == turns[-1])
    return turns[-1], messages[:at]


def content_words(text: str) -> list[str]:
    """Folded words of ``text`` without stop words or pointing words."""
    return [w for w in words(text) if w not in STOPWORDS and w not in _ANAPHORA]


def needs_context(question: str) -> bool:
    """True when a question leans on earlier turns.

    It does when it opens with "and", "or", "what about"...; when a pronoun ("it", "he",
    "their"...) comes before any name it could stand for ("What did he do straight after
    England's try?", but not "Why do United investors hang on to their shares?"); when
    "that", "this", "there"... ends it ("What did the DTI say to that?") or it names nothing
    ("Is that possible?", but not "Who was this season's NFL MVP?"); or when it has at most
    one content word and no verb to make it whole ("and SAS?", "Where?", but not "What does
    unwrap do?"). "What does the declaration focus on?" names its own subject and stands alone.
    """
    spans = _word_spans(question)
    folded = [w for _, _, w in spans]
    if _opens_continuing(folded):
        return True
    named = _name_flags(question, spans)
    for at, word in enumerate(folded):
        if word in _PRONOUNS and not any(named[:at]):
            return True
        if word in _POINTING and (at == len(folded) - 1 or not any(named)):
            return True
    return len(content_words(question)) <= 1 and not set(folded) & _AUXILIARIES


#: How many earlier user turns :func:`resolve_followup` looks back for one that names something.
MAX_CARRY_TURNS = 5


def resolve_followup(question: str, history: Sequence[Mapping[str, Any]] | None) -> str:
    """The query to search for ``question`` given the conversation so far.

    A question that stands on its own is searched as asked. One that leans on the
    conversation (it points back with "it", "he", "they"... or has at most one content
    word, like "and SAS?") gets the content words of the previous question appended
    (its names and topic words; of the last of the previous :data:`MAX_CARRY_TURNS` that has
    any the question lacks, when the previous one was itself a bare "What do they do?"),
    so the search knows what "it" is. A question that opens with "and", "what about"...
    and names something the earlier question did not sets it against an earlier name, which
    is then not carried: each new name takes the place of one earlier name, the first ones
    ("what about the DS?" after "How many games are available for the PSP?": "what about the
    DS? (many games available)"; "What about Aliyev?" after "How many times has Erdogan
    visited Azerbaijan?": "(many times visited azerbaijan)"). The index ranks
    both the question as asked and this resolved query and fuses the two rankings
    (see :meth:`citeqa.Index.answer`), so carrying a wrong word costs little.

    Returns:
        The query; ``"question (carried words)"`` when something was carried, which is
        also what :attr:`Answer.interpreted_as` shows.
    """
    turns = user_turns(history)
    if not turns or not needs_context(question):
        return question
    own = set(content_words(question))
    spans = _word_spans(question)
    # "and / what about ..." with a name of its own sets that name against an earlier one
    # ("And who won it at the Oscars?" after "... at the Baftas?"): that one stays behind
    names = _names_in_order(question, spans) if _opens_continuing([w for _, _, w in spans]) else []
    carried: list[str] = []
    # the last turn that names something this one does not ("What do they do?" names nothing:
    # a third turn "and SAS?" carries the words of the question before it); only a question's
    # worth of each turn is read, and at most MAX_CARRY_TURNS turns: history comes from the client, unbounded
    for at in range(len(turns) - 1, max(len(turns) - MAX_CARRY_TURNS, 0) - 1, -1):
        turn = unwrap_request(turns[at][:MAX_RAW_QUESTION_CHARS])  # "Can you tell me ..." carries no "tell"
        if _overview_scope(turn, opens=at == 0) is not None:
            continue  # "What is this article about?" names nothing "it" could stand for
        replaced = _set_against(names, _names_in_order(turn, _word_spans(turn)))
        for word in content_words(turn):
            if word not in own and word not in carried and word not in replaced:
                carried.append(word)
        if carried:
            break
    if not carried:
        return question
    return f"{question} ({' '.join(carried)})"


def keeps_subject(question: str, previous: str) -> bool:
    """True when ``question`` can only be about what ``previous`` asked about.

    It leans on the conversation (:func:`needs_context`), names nothing ``previous`` does
    not, and is too short to bring a topic of its own: it opens with "and", "what
    about"... or has at most one content word ("Had he done it before?" after "Who hosted
    the Oscars?", "What does that mean?", "And after that?"). A longer question with a
    pronoun ("How far did he run to score it?") may be a question of its own that a
    reader would take as it stands, and one that names something new ("What about at the
    Baftas?") may have moved on.
    """
    if not needs_context(question):
        return False
    spans = _word_spans(question)
    if len(content_words(question)) > 1 and not _opens_continuing([w for _, _, w in spans]):
        return False
    earlier = {w for _, _, w in _word_spans(previous[:MAX_RAW_QUESTION_CHARS])}
    return all(word in earlier for name in _names_in_order(question, spans) for word in name)


# ---------------------------------------------------------------- overviews

#: Words that name the documents themselves ("What is this article about?").
DOCUMENT_NOUNS = frozenset(
    """article articles document documents doc docs text texts story stories page pages file files
    report reports paper papers piece post pdf pdfs book chapter essay memo letter email upload
    uploads""".split()
)
_PLURAL_DOCUMENT_NOUNS = frozenset("articles documents docs texts stories pages files reports papers pdfs uploads".split())
#: Words that ask for the whole of a text rather than a fact in it.
_OVERVIEW_WORDS = frozenset("summary summaries summarize summarise overview gist synopsis tldr".split())
_MAIN = frozenset("main key central".split())
_POINTS = frozenset("point points idea ideas topic topics theme themes message takeaway takeaways".split())
#: With a document noun these ask about the whole too ("What does the report say?", "Which
#: documents do you have?").
_ABOUT_VERBS = frozenset("about say says cover covers discuss discusses describe describes tell tells have there list".split())
#: Words an overview question may hold beside those: politeness and framing.
_OVERVIEW_FILLER = frozenset("give please short brief briefly quick quickly sum tl dr whats read loaded uploaded available".split())
#: Words that ask for a document's first line ("What is the headline?").
_TITLE_WORDS = frozenset("title titles headline headlines".split())
#: Every word an overview question may hold (anything else names something in the documents).
_OVERVIEW_FRAMING = DOCUMENT_NOUNS | _OVERVIEW_WORDS | _MAIN | _POINTS | _ABOUT_VERBS | _OVERVIEW_FILLER | _TITLE_WORDS
_TLDR = re.compile(r"\btl\s*;?\s*dr\b", re.IGNORECASE)


def overview_scope(question: str, history: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """"document", "title" or "collection" when ``question`` asks about the documents as a whole; else None.

    It asks for a summary, an overview, the gist or the main points ("Summarize the
    document", "What are the key points?", "tl;dr"), or it names the documents and asks
    what they are about, say or hold ("What is this article about?", "What does the report
    say?", "Which documents do you have?"), and it names nothing else: "What is the main
    point of the declaration?" and "What is Psalm 67 about?" ask about something in them.
    Without a document noun, "What is this about?" is an overview only when it opens the
    conversation; later, "it" and "this" are what the turn before was about (a follow-up).
    A plural document noun asks about the collection ("What are these documents about?"),
    anything else about one document; "title" asks for one document's first line ("What is
    the headline?", "What is the title of the article?"; "What was the title of Beyonce's
    album?" names something in them).
    """
    return _overview_scope(question, opens=not user_turns(history))


def _overview_scope(question: str, *, opens: bool) -> str | None:
    """:func:`overview_scope` of a question that ``opens`` the conversation or not."""
    folded = words(question)
    said = set(folded)
    names_documents = bool(said & DOCUMENT_NOUNS)
    titled = bool(said & _TITLE_WORDS)
    asked = titled or bool(said & _OVERVIEW_WORDS) or bool(_TLDR.search(question)) or (bool(said & _MAIN) and bool(said & _POINTS))
    if not asked and not (said & _ABOUT_VERBS and (names_documents or "about" in said)):
        return None
    if any(word not in _OVERVIEW_FRAMING for word in content_words(question)):
        return None
    if not (names_documents or asked or opens):
        return None
    if said & (_PLURAL_DOCUMENT_NOUNS | {"titles", "headlines"}):
        return "collection"
    return "title" if titled else "document"


#: "Tell me more", "go on", "what else?": asks for what follows the last answer (folded, punctuation
#: and "please" aside; a question that names anything, "What else did Ankara do?", does not).
_READ_ON = re.compile(
    r"(?:and )?(?:(?:can|could) you )?(?:tell me more|tell me more about (?:it|this|that)|more|more details?|"
    r"go on|continue|keep going|read on|say more|what else|anything else|elaborate|give me more|show me more)"
)


def asks_to_read_on(question: str) -> bool:
    """True when ``question`` asks for more of what the last answer said ("Tell me more", "Go
    on", "What else?", "Anything else?"), not for a fact of its own."""
    folded = " ".join(w for w in words(question) if w != "please")
    return _READ_ON.fullmatch(folded) is not None


# ---------------------------------------------------------------- requests

_YOU = r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?"
#: What wraps a question in a request: a greeting, "please", then "(can you) tell me", "explain",
#: "do you know", "I'd like to know", "what do you know" (the wrapped part is ``rest``).
_REQUEST = re.compile(
    r"(?:(?:hi|hello|hey)\b[\s,!.]*)?(?:please\s+)?(?:"
    rf"{_YOU}(?:tell|show)\s+me|{_YOU}let\s+me\s+know|{_YOU}(?:explain|describe)(?:\s+to\s+me)?"
    r"|(?:do|does)\s+(?:you|anyone|anybody)\s+know|any\s+idea"
    r"|i\s*(?:(?:would|['’]d)\s+like|want|need)\s+to\s+(?:know|find\s+out|understand|learn)"
    r"|i\s*(?:wonder|was\s+wondering|am\s+wondering|['’]m\s+wondering)"
    r"|what\s+(?:(?:can|could)\s+you\s+tell\s+me|do\s+you\s+know)"
    r")\s+(?P<rest>.*\w.*)",
    re.IGNORECASE,
)
_ASKS_AROUND = re.compile(r"(?:(?:anything|something|more|a\s+bit|a\s+little)\s+)?about\s+", re.IGNORECASE)
_THANKS = re.compile(r"[\s,]*(?:please|thanks|thank\s+you)?[\s.!?]*$", re.IGNORECASE)
#: How a question opens: a question word, after a preposition or not ("who won", "in what year"),
#: or an auxiliary ("is it open"); inside a request it is an embedded question's opening.
QUESTION_OPENING = re.compile(
    r"(?:(?:in|on|at|for|from|to|by|with|of|during|after|before|since|until)\s+)?(?:what|which|who|whom|whose|where|when|why|how)\b"
    r"|(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\s",
    re.IGNORECASE,
)
_IF = re.compile(r"(?:if|whether)\s+", re.IGNORECASE)


def unwrap_request(question: str) -> str:
    """The question inside a request, searched and answered instead of the request's words.

    "Can you tell me who hosted the Oscars?" -> "Who hosted the Oscars?"; "I'd like to know
    if it rained, please" -> "It rained?"; a thing asked about as a whole is asked as "What is
    X?" ("Tell me about Warsaw", "Describe the Normans", "What do you know about SAT?" -> "What
    is Warsaw?", "What are the Normans?"), the form :func:`asked_topic` reads. "Tell me",
    "me" and "about" would otherwise be searched for: over SQuAD 2.0's documents "Tell me
    about Warsaw" cited "Let me just write about it.". Any other question comes back as it is.
    "Tell me more" and "Tell me about the report" are read on and overviews, decided before this.
    """
    match = _REQUEST.fullmatch(question.strip())
    if match is None or asks_to_read_on(question):
        return question
    rest = _THANKS.sub("", match.group("rest"))
    if not any(ch.isalnum() for ch in rest):
        return question
    around = _ASKS_AROUND.match(rest)
    topic = rest[around.end():] if around is not None else rest
    if QUESTION_OPENING.match(topic) or (around is None and _IF.match(rest)):
        asked = _IF.sub("", topic, count=1) if around is None else topic
        return asked[:1].upper() + asked[1:] + "?"
    last = topic.split()[-1]
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is", "ics")) and (
        last.islower() or re.match(r"(?:the|these|those)\s", topic, re.IGNORECASE) is not None
    )
    return f"What {'are' if plural else 'is'} {topic}?"


#: "What is X?", "Who were the X?": a question about a thing as a whole (X up to 6 words).
_TOPIC = re.compile(r"(?:what|who)\s+(?:is|are|was|were)\s+(?:(?:a|an|the)\s+)?(?P<topic>[^?]+?)\s*\?*", re.IGNORECASE)
_TOPIC_WORDS = 6


def asked_topic(question: str) -> tuple[str, ...] | None:
    """What a "What is X?" / "Who were X?" question asks about as a whole, as X's word stems
    ("Who were the Normans?" -> ("norman",), "What is a data frame?" -> ("data", "frame"));
    None for any other question. A document or section headed X answers it first
    (:meth:`citeqa.search.ranker.Ranker.topic_lead`); "What is the capital of Poland?" has the
    topic ("capit", "poland"), which only a heading "Capital of Poland" is."""
    match = _TOPIC.fullmatch(question.strip())
    if match is None or len(match.group("topic").split()) > _TOPIC_WORDS:
        return None
    return tuple(stems(match.group("topic"))) or None


# ---------------------------------------------------------------- answer types

_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundreds?|thousands?|millions?|billions?|dozens?|half)"
)
_QUALIFIER = r"(?:(?:nearly|almost|about|around|over|under|some|roughly|approximately|more than|less than|fewer than|at least|up to)\s+)?"
# A month name alone is a date only when capitalised: "may" and "march" are also verbs. A
# weekday is one only after "last", "next", "every"... or in the plural ("closed on Sundays"):
# alone ("said on Monday") it is in news mostly the day something was said, and taking it cost
# near-topic abstentions on news.
# Times of day count as dates: a clock time ("07:45", "9 a.m."), noon or midnight, "nine
# o'clock", "at dawn", "this morning", "tonight"; so do deep time ("2.5 billion years ago")
# and "c1600". Every alternative starts with a digit or one of the letters of the lookahead:
# positions that start none fail there at once instead of in each alternative (2x faster on
# SQuAD-like sentences, the same spans: :func:`has_answer_type` reads this for every kind of
# question).
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DAY_PART = r"(?:morning|afternoon|evening|night)"
_HOUR_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_DATE = re.compile(
    r"(?=[\dabcdefijlmnostuwy])(?:"
    rf"\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b"
    rf"|\b{_MONTH}\.?,?\s+\d{{4}}\b"
    rf"|\b(?-i:{_MONTH})\b"
    rf"|\b\d{{1,2}}\s+{_MONTH}\.?(?:,?\s+\d{{4}})?\b"
    r"|\b(?:c\.\s?|c)?(?:1[0-9]|20)\d\d(?:s|-\d\d)?\b"
    r"|\b\d{1,2}:\d\d(?:\s*[ap]\.?m\b\.?)?|\b\d{1,2}\s*[ap]\.?m\b\.?|\b\d{4}\s+(?:GMT|BST|UTC)\b"
    rf"|\bat\s+{_HOUR_WORD}\s+(?:(?:every|each|this|that|tomorrow|in\s+the)\s+)?{_DAY_PART}\b"
    rf"|\b(?:{_HOUR_WORD}|\d{{1,2}})\s+o['’]clock\b|\b(?:noon|midday|midnight|tonight|overnight)\b"
    rf"|\b(?:at|before|after|until|by)\s+(?:dawn|dusk|daybreak|sunrise|sunset|night)\b|\b(?:in|during)\s+the\s+{_DAY_PART}\b"
    rf"|\b(?:last|next|this|that|earlier this|later this)\s+(?:year|month|week|weekend|{_DAY_PART}|spring|summer|autumn|fall|winter|"
    rf"(?-i:{_MONTH})|(?-i:{_WEEKDAY}))\b|\b(?:every|each)\s+(?:{_DAY_PART}|(?-i:{_WEEKDAY}))\b|\b(?-i:{_WEEKDAY})s\b"
    rf"|\b(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d[\d.,]*(?:[-–]\d[\d.,]*)?)(?:\s+(?:thousand|million|billion))?"
    r"\s+(?:years?|months?|weeks?|days?|decades?|centur(?:y|ies))\s+ago\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)\s+century\b|\b(?:yesterday|today|tomorrow)\b)",
    re.IGNORECASE,
)
# (the lookahead: the first letters of the qualifiers and number words, as for _DATE)
_NUMBER = re.compile(
    r"(?=[\dabdefhlmnorstu])"
    rf"\b{_QUALIFIER}(?:\d[\d,.]*|{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})*)\b(?:%|-[a-z]+\b)?(?:\s+(?!(?:and|or|of|the|to|in|on|at|for|by|with|from)\b)[a-z]+\b)?",
    re.IGNORECASE,
)
#: Dates and numbers as :func:`answer_spans` finds them (also used by :mod:`citeqa.answer.focus`).
DATE_PATTERN = _DATE
NUMBER_PATTERN = _NUMBER
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:(?:of|de|da|von|van|bin|al|the)\s+)?[A-Z][\w'’.-]*)*")

_WHEN = re.compile(r"\bwhen\b|\bwhat (?:year|date|day|month|time|century|decade)\b|\bwhich (?:year|date|day|month|century)\b|\bsince when\b|\bhow long ago\b", re.IGNORECASE)
_COUNT = re.compile(
    r"\bhow (?:many|much|long|often|old|far|big|large)\b"
    r"|\bwhat (?:(?:is|was|are|were) )?(?:the )?(?:number|percentage|amount|cost|price)\b",
    re.IGNORECASE,
)
_WHO = re.compile(r"\bwho(?:m|se)?\b|\bwhich (?:person|people|man|woman|group|company|organi[sz]ation|country|countries|ministry)\b", re.IGNORECASE)
_WHERE = re.compile(r"\bwhere\b|\bwhat (?:region|city|country|place|town|area)\b|\bwhich (?:region|city|place|town|area)\b|\bin what (?:region|city|country|place)\b", re.IGNORECASE)


_TIME_UNIT = r"(?:seconds?|minutes?|hours?|days?|nights?|weeks?|fortnights?|months?|years?|decades?|centur(?:y|ies)|millenni(?:um|a))"
_LENGTH_UNIT = (
    r"(?:(?:kilo|centi|milli)?met(?:re|er)s?|km|cm|mm|m|miles?|mi|feet|foot|ft|inch(?:es)?|yards?|yd|"
    r"light[- ]years?|nautical miles?)"
)
_AMOUNT = rf"(?:\d[\d,.]*|{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})*)(?:\s+(?:and\s+a\s+half|million|billion|thousand|hundred))?"
#: Currency names as amounts are written with them ("40 kronor", "5 million dollars"): the one
#: list the money expression, the money unit words and :data:`_CURRENCY` come from. Names that
#: are also common words ("won", "rand", "real", "dong") are left out.
CURRENCY_NAMES = (
    "dollar dollars euro euros pound pounds pence penny cent cents yen yuan renminbi rupee rupees franc francs "
    "mark marks peso pesos rouble roubles ruble rubles lira liras lire dinar dinars manat manats dram drams "
    "krona kronor krone kroner zloty zlotys forint forints koruna korunas baht ringgit ringgits rupiah rupiahs "
    "riyal riyals rial rials dirham dirhams shekel shekels naira nairas cedi cedis shilling shillings hryvnia hryvnias tenge"
).split()
#: ISO 4217 codes, read only in capitals ("TRY" and "CAD" are words in lower case).
CURRENCY_CODES = "USD EUR GBP JPY CNY INR CHF SEK NOK DKK PLN CZK HUF AUD CAD NZD HKD SGD ZAR BRL MXN RUB KRW TRY AZN".split()
_CURRENCY_NAME = "(?:" + "|".join(sorted(CURRENCY_NAMES, key=len, reverse=True)) + ")"
_CURRENCY_CODE = "(?-i:" + "|".join(CURRENCY_CODES) + ")"
#: Currency signs written before an amount ("$150", "₺150").
_CURRENCY_SIGN = "[$£€¥₺₼]"
_MONEY = re.compile(
    rf"{_CURRENCY_SIGN}\s?\d(?:[\d,.]*\d)?(?:\s*(?:million|billion|trillion|bn|m|k)\b)?"  # "$150." ends before its full stop
    rf"|\b{_CURRENCY_CODE}\s?\d(?:[\d,.]*\d)?(?:\s*(?:million|billion|trillion|bn|m|k)\b)?"
    rf"|\b{_QUALIFIER}{_AMOUNT}(?:\s+(?:million|billion|trillion))?\s+(?:{_CURRENCY_NAME}|{_CURRENCY_CODE})\b",
    re.IGNORECASE,
)
_MEASURES = {
    "duration_or_length": re.compile(
        rf"\b{_QUALIFIER}{_AMOUNT}(?:\s*-\s*|\s+)(?:{_TIME_UNIT}|{_LENGTH_UNIT})\b(?!\s+ago\b)"
        r"|\b(?:from|between)\s+(?:1[0-9]|20)\d\d\s+(?:to|and|until|till)\s+(?:1[0-9]|20)\d\d\b",
        re.IGNORECASE,
    ),
    "length": re.compile(rf"\b{_QUALIFIER}{_AMOUNT}(?:\s*-\s*|\s+)(?:{_LENGTH_UNIT})\b", re.IGNORECASE),
    "age": re.compile(rf"\b{_QUALIFIER}{_AMOUNT}(?:\s*-\s*|\s+)years?(?:\s*-\s*|\s+)old\b|\baged?\s+\d+\b|\b{_AMOUNT}(?:\s*-\s*|\s+){_TIME_UNIT}\b", re.IGNORECASE),
}
_MEASURE_ASKED = (
    (re.compile(r"\bhow long\b(?!\s+ago)", re.IGNORECASE), "duration_or_length"),
    (re.compile(r"\bhow (?:far|tall|high|wide|deep|big|large)\b", re.IGNORECASE), "length"),
    (re.compile(r"\bhow old\b", re.IGNORECASE), "age"),
)


def measure_kind(question: str) -> str | None:
    """What a "how long / far / old" question measures: "duration_or_length", "length", "age", or None.

    "How long" asks for a duration ("44-day", "six weeks") *or* a length ("1,230
    kilometres"); "how far/tall/high/wide/deep/big/large" for a length or size; "how old"
    for an age. Other count questions ("how many", "how much") take any number.
    """
    for pattern, kind in _MEASURE_ASKED:
        if pattern.search(question):
            return kind
    return None


def measure_spans(question: str, text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that answer a count question: a number with the measured unit, or any number.

    With :func:`measure_kind` None: every number with its unit word, except that a "how
    much" question also takes money ("$5 million", "30 euros"). With a measure: only
    numbers carrying one of its units (a duration, a length, an age).
    """
    kind = measure_kind(question)
    if kind is None:
        return [m.span() for m in _NUMBER.finditer(text)] + [m.span() for m in _MONEY.finditer(text)]
    return [m.span() for m in _MEASURES[kind].finditer(text)]


#: Question words; a bare "when" after one of them joins a clause ("What happens when ...?").
_WH_WORD = re.compile(r"\b(?:what|which|who|whom|whose|where|why|how)\b", re.IGNORECASE)


def _asks_when(question: str) -> bool:
    """True when the question asks for a time: "when" as its question word, "what year",
    "since when"... A bare "when" after another question word only joins a clause ("How
    many seconds were left when ...?", "Who led the troops when ...?") and asks nothing."""
    opener = _WH_WORD.search(question)
    for match in _WHEN.finditer(question):
        if opener is None or match.group().lower() != "when" or match.start() < opener.start():
            return True
    return False


#: A word that denies: "not", "never", "no", "cannot", "didn't" ... ("whether or not" denies nothing).
_NEGATION = re.compile(r"\b(?<!or )(?:not|never|no|none|nor|neither|nobody|nothing|nowhere|cannot|without)\b|n['’]t\b", re.IGNORECASE)
#: What also denies in a statement: verbs and adjectives of denial, refusal and absence, and "non-" words
#: ("refused to approve", "denied them a chance", "non-stop", "it was unknown how many").
_DENYING = re.compile(
    r"\b(?:refus|den(?:y|ie)|declin|fail|reject|oppos|disagre|lack|exclu|prevent|prohibit|forb[ia]d|unable|unknown|absen)\w*"
    r"|\bnon-\w",
    re.IGNORECASE,
)


def negated(text: str) -> bool:
    """Whether ``text`` holds a word that denies ("What is not contained in PSPACE?", "It never ...")."""
    return _NEGATION.search(text) is not None


def denies(text: str) -> bool:
    """Whether a statement denies something: :func:`negated`, or a word of denial or absence ("refused", "non-stop")."""
    return negated(text) or _DENYING.search(text) is not None


def question_type(question: str) -> str | None:
    """The kind of answer a question asks for: "when", "count", "who", "where" or None."""
    if _asks_when(question):
        return "when"
    for name, pattern in (("count", _COUNT), ("who", _WHO), ("where", _WHERE)):
        if pattern.search(question):
            return name
    return None


def _names(text: str) -> list[tuple[int, int]]:
    return list(_iter_names(text))


def _iter_names(text: str, name: re.Pattern[str] = _NAME) -> Iterator[tuple[int, int]]:
    for match in name.finditer(text):
        start, end = match.span()
        token = match.group()
        # a capitalized stop word that only starts the sentence ("The", "During") is no name
        first = fold(token.split()[0])
        if first in STOPWORDS or first in {"meanwhile", "moreover", "however", "while", "during", "also"}:
            rest = token.split(maxsplit=1)
            if len(rest) == 1:
                continue
            start = start + token.index(rest[1])
        yield start, end


def answer_spans(question: str, text: str) -> tuple[tuple[int, int], ...]:
    """Spans of ``text`` holding the kind of words ``question`` asks for.

    Dates for "when" questions, numbers (with their unit word) for "how many/much/long",
    capitalized names for "who" and "where". Spans made only of words the question
    already uses are left out (they restate the question, they don't answer it).

    Returns:
        Sorted, non-overlapping ``(start, end)`` character spans relative to ``text``.
    """
    kind = question_type(question)
    if kind is None:
        return ()
    dates = [m.span() for m in _DATE.finditer(text)]
    if kind == "when":
        found = dates
    else:
        # numbers and names that are part of a date ("Nov. 10") answer "when", not this
        found = measure_spans(question, text) if kind == "count" else _names(text)
        blocking = _blocking(text, dates)
        found = [(s, e) for s, e in found if not any(s < de and ds < e for ds, de in blocking)]
    asked = set(words(question))
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found):
        own = [w for w in words(text[start:end]) if w not in STOPWORDS]
        if not own or all(w in asked for w in own):
            continue
        if spans and start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return tuple(spans)


#: Lower-case strings of which an ASCII text must hold one for :data:`_DATE` to match in it:
#: a digit, a month's first three letters, or a word of the relative forms ("last week",
#: "two years ago", "yesterday"); each alternative of the expression needs one of them.
_DATE_HINTS = (
    *"0123456789", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    "ago", "day", "tomorrow", "year", "month", "week", "spring", "summer", "autumn", "fall", "winter", "century",
    "noon", "night", "morning", "evening", "clock", "dawn", "dusk", "sunrise", "sunset",
)


def _may_hold_date(text: str) -> bool:
    """False only when :data:`_DATE` cannot match ``text``: an ASCII text holding none of
    :data:`_DATE_HINTS` (a few substring searches, ~10x cheaper than the expression; about
    half of SQuAD-like sentences). Non-ASCII text always goes to the expression, whose
    case-insensitive matching and digits reach beyond ASCII."""
    if not text.isascii():
        return True
    low = text.lower()
    return any(hint in low for hint in _DATE_HINTS)


def _date_spans(text: str, date: re.Pattern[str] = _DATE) -> list[tuple[int, int]]:
    return [m.span() for m in date.finditer(text)] if _may_hold_date(text) else []


#: A date that is also an age: deep time ("525 million years ago" answers "How old are the
#: fossils?" too; "two years ago" does not answer "How old is he?").
_DEEP_TIME = re.compile(r"(?:thousand|million|billion)\s+years\s+ago$", re.IGNORECASE)


def _blocking(text: str, dates: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The dates whose numbers and names answer "when" only: all but :data:`_DEEP_TIME`."""
    return [(start, end) for start, end in dates if not _DEEP_TIME.search(text, start, end)]


def _ascii_twin(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` compiled with ``re.ASCII``: the same matches in a text :func:`_plain` accepts, 1.3-1.7x faster.

    In such a text, Unicode and ASCII matching agree: ``\\w``, ``\\d`` and ``\\b`` see
    the same ASCII characters, case-insensitive matching folds the same letters (the
    non-ASCII ones Unicode folding adds, such as the Kelvin sign, cannot occur), and
    ``\\s`` differs only on the four separators :func:`_plain` refuses. Checked on
    273,000 plain sentences (SQuAD and sentences made of SQuAD's): every span of every
    expression below the same, and :func:`has_answer_type` unchanged on 351,000 pairs.
    """
    return re.compile(pattern.pattern, (pattern.flags & ~re.UNICODE) | re.ASCII)


#: ASCII characters that Unicode matching counts as white space (``\\s``) and ASCII matching does not.
_UNICODE_ONLY_SPACE = ("\x1c", "\x1d", "\x1e", "\x1f")


def _plain(text: str) -> bool:
    """True when the ``re.ASCII`` twins of the answer-type expressions match ``text`` as the expressions do."""
    return text.isascii() and not any(map(text.__contains__, _UNICODE_ONLY_SPACE))


#: The answer-type expressions (for :func:`has_answer_type`) and their ASCII twins, by plain text or not.
_EXPRESSIONS = {
    plain: {
        "date": twin(_DATE),
        "name": twin(_NAME),
        "number": twin(_NUMBER),
        "money": twin(_MONEY),
        **{kind: twin(pattern) for kind, pattern in _MEASURES.items()},
    }
    for plain, twin in ((False, lambda pattern: pattern), (True, _ascii_twin))
}


@lru_cache(maxsize=64)
def _asking(question: str) -> tuple[str | None, str | None, frozenset[str]]:
    """What :func:`has_answer_type` needs of a question: its kind, its measure and its words (parsed once)."""
    return question_type(question), measure_kind(question), frozenset(words(question))


def has_answer_type(question: str, text: str) -> bool:
    """``bool(answer_spans(question, text))``, stopping at the first span that counts.

    The reranker's answer-type feature only asks whether a span exists; this skips
    sorting and merging the spans and stops reading names or numbers at the first one
    that does not merely restate the question (what ``answer_spans`` keeps).
    """
    return next(_typed_spans(question, text), None) is not None


def _typed_spans(question: str, text: str) -> Iterator[tuple[int, int]]:
    """The spans :func:`answer_spans` keeps, found lazily, unsorted and unmerged (ASCII
    twins on plain text; dates read only once a name or number needs them)."""
    kind, measure, asked = _asking(question)
    if kind is None:
        return
    expression = _EXPRESSIONS[_plain(text)]
    # the dates a name or number must not be part of: found at the first name or number
    # (the date expression is the costliest one; many texts have no number at all)
    dates: list[tuple[int, int]] | None = None
    if kind == "when":
        if not _may_hold_date(text):
            return
        found: Iterable[tuple[int, int]] = (m.span() for m in expression["date"].finditer(text))
        dates = []
    elif kind != "count":
        found = _iter_names(text, expression["name"])
    elif measure is None:
        found = itertools.chain(
            (m.span() for m in expression["number"].finditer(text)), (m.span() for m in expression["money"].finditer(text))
        )
    else:
        found = (m.span() for m in expression[measure].finditer(text))
    for start, end in found:
        if dates is None:
            dates = _blocking(text, _date_spans(text, expression["date"]))
        if any(start < de and ds < end for ds, de in dates):
            continue
        own = [w for w in words(text[start:end]) if w not in STOPWORDS]
        if own and not all(w in asked for w in own):
            yield start, end


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans, overlapping ones joined (as :func:`answer_spans` returns them)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


#: Question kinds whose answer type has a stricter reading (:func:`answer_type_level` 2):
#: a place for "where", a quantity of the asked thing or unit for "how many/much/long".
STRICT_KINDS = ("where", "count")


def answer_type_level(question: str, text: str) -> int:
    """How well ``text`` holds the kind of words ``question`` asks for: 0, 1 or 2.

    0: nothing of the asked kind (or the question asks for none); 1: a span of it
    (:func:`has_answer_type`: any new name for "where", any number for "how many");
    2: for the :data:`STRICT_KINDS` only, a span that also fits by the sentence's
    grammar (``bool(shown_answer_spans(...))``: a name standing as a place, "in Lachin"; a
    quantity of the asked thing, or with a unit of the asked measure). A capitalized name
    or a number is in most sentences, so level 1 alone barely tells the right one apart.
    Reads the spans once, and for "where" stops at the first place (a place in
    apposition, "in Lachin, Azerbaijan", always follows one after a preposition).
    """
    spans = _typed_spans(question, text)
    first = next(spans, None)
    if first is None:
        return 0
    kind = _asking(question)[0]
    if kind == "where":
        return 2 if any(_after_locative(text, start) for start, _ in itertools.chain([first], spans)) else 1
    if kind == "count":
        return 2 if _count_spans(question, text, _merged(itertools.chain([first], spans))) else 1
    return 1


# ---------------------------------------------------------------- spans shown to the reader
#
# :func:`answer_spans` is lenient on purpose: the reranker uses "does this sentence hold
# something of the asked type" as a feature (search.candidates), and its weights were fitted
# on it. What the chat *underlines* must be stricter: a span the reader takes for the answer.
# :func:`shown_answer_spans` keeps only spans that fit the asked type by the sentence's own
# grammar, and returns nothing when unsure.

#: Prepositions that put a name in the role of a place ("in Lachin", "near the river Tees").
_LOCATIVE = frozenset(
    "in at near from to into across outside inside throughout within towards toward via off "
    "around beside opposite along through".split()
)
#: Unit words by what a count question measures when it names no thing ("How long ...?").
_UNITS = {
    "time": "second seconds minute minutes hour hours day days week weeks month months year years decade decades century centuries",
    "distance": "mm cm m km metre metres meter meters kilometre kilometres kilometer kilometers mile miles foot feet yard yards inch inches",
    "mass": "g kg mg gram grams kilogram kilograms tonne tonnes ton tons pound pounds lb lbs ounce ounces oz",
    "volume": "ml l litre litres liter liters cup cups gallon gallons pint pints tablespoon tablespoons teaspoon teaspoons",
    "money": " ".join(CURRENCY_NAMES) + " million billion",
    "area": "hectare hectares acre acres square",
    "frequency": "times once twice",
}
_UNIT_KINDS = {
    "long": ("time", "distance"),
    "old": ("time",),
    "often": ("frequency",),
    "far": ("distance",),
    "big": ("area", "distance", "volume"),
    "large": ("area", "distance", "volume"),
    "much": ("mass", "volume", "money", "area"),
    "cost": ("money",),
    "price": ("money",),
}
_HOW = re.compile(r"\bhow (many|much|long|often|old|far|big|large)\b\s*(.*)", re.IGNORECASE)
_CURRENCY = re.compile(rf"{_CURRENCY_SIGN}|\b{_CURRENCY_CODE}\b")
#: How many words after a number the asked thing may stand ("500 g of sifted flour").
_THING_WINDOW = 4


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def _opens_continuing(folded: Sequence[str]) -> bool:
    """True when the folded words open with "and", "or", "what about"... (:data:`_CONTINUING`)."""
    return any(list(folded[: len(opener)]) == list(opener) for opener in _CONTINUING)


def _name_flags(text: str, spans: Sequence[tuple[int, int, str]]) -> list[bool]:
    """For each word of :func:`_word_spans`, whether it is a name: capitalized and not first ("I" is none)."""
    return [k > 0 and text[s].isupper() and text[s:e] != "I" for k, (s, e, _) in enumerate(spans)]


def _names_in_order(text: str, spans: Sequence[tuple[int, int, str]]) -> list[tuple[str, ...]]:
    """The names of ``text`` in order, each the folded words of a run of name words (see
    :func:`_name_flags`): "Who did Hilary Swank beat at the Oscars?" -> [("hilary", "swank"), ("oscars",)]."""
    names: list[list[str]] = []
    previous = False
    for (_, _, word), named in zip(spans, _name_flags(text, spans)):
        if named:
            if previous:
                names[-1].append(word)
            else:
                names.append([word])
        previous = named
    return [tuple(name) for name in names]


def _set_against(names: Sequence[tuple[str, ...]], earlier: Sequence[tuple[str, ...]]) -> set[str]:
    """The words of the earlier names that ``names`` take the place of: as many as ``names``
    has names the earlier turn lacks, the earlier turn's first ones ("What about Aliyev?" after
    "How many times has Erdogan visited Azerbaijan?": Erdogan, not Azerbaijan)."""
    new = [name for name in names if name not in earlier]
    return {word for name in earlier[: len(new)] for word in name}


def _word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded word) for each word of ``text`` (ASCII text: folding is lower-casing,
    done once for the whole text; the offsets are the same)."""
    if text.isascii():
        return [(m.start(), m.end(), m.group().replace("'", "")) for m in _WORD.finditer(text.lower())]
    return [(m.start(), m.end(), fold(m.group()).replace("'", "")) for m in _WORD.finditer(text)]


@lru_cache(maxsize=64)
def _asked_thing(question: str) -> tuple[frozenset[str], str]:
    """What a count question counts: the stems of the nouns after "how many/much" ("flour"),
    and the measure word ("much", "long", "cost"...); parsed once per question (the
    reranker asks it of many sentences)."""
    match = _HOW.search(question)
    if match is None:
        measure = next((w for w in ("cost", "price") if w in words(question)), "")
        return frozenset(), measure
    measure = match.group(1).lower()
    thing: list[str] = []
    for word in words(match.group(2)):
        if word in STOPWORDS:
            break
        thing.append(word)
    return frozenset(tokenize(" ".join(thing))), measure


def _count_spans(question: str, text: str, found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The quantities of ``text`` that count the asked thing, or carry the asked kind of unit."""
    thing, measure = _asked_thing(question)
    units = {u for kind in _UNIT_KINDS.get(measure, ()) for u in _UNITS[kind].split()}
    text_words = _word_spans(text)
    numbers = [start for start, _ in found]
    kept = []
    for start, end in found:
        inside = [w for s, e, w in text_words if s >= start and e <= end]
        if thing:
            following = []
            for s, _, w in text_words:
                if s < end:
                    continue
                if s in numbers or len(following) == _THING_WINDOW:  # another quantity: its own thing
                    break
                following.append(w)
            before = [w for _, e, w in text_words if e <= start][-1:]
            near = set(tokenize(" ".join(inside + following + before)))
            if near & thing:
                kept.append((start, end))
        elif units and (set(inside) & units or (measure in ("cost", "price", "much") and _CURRENCY.search(text[max(0, start - 2) : end]))):
            kept.append((start, end))
    return kept


def _place_spans(text: str, names: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The names that stand as places: after a locative preposition ("in Lachin"), or
    in apposition to such a place ("in Lachin, Azerbaijan")."""
    kept: list[tuple[int, int]] = []
    for start, end in names:
        after_place = bool(kept) and text[kept[-1][1] : start].strip() == ","
        if after_place or _after_locative(text, start):
            kept.append((start, end))
    return kept


def _after_locative(text: str, start: int) -> bool:
    """True when the word before ``start`` (skipping a "the") is a locative preposition ("in", "at", "near" ...)."""
    before = words(text[max(0, start - 40) : start])
    if before and before[-1] == "the":
        before = before[:-1]
    return bool(before) and before[-1] in _LOCATIVE


def shown_answer_spans(question: str, text: str) -> tuple[tuple[int, int], ...]:
    """The spans of ``text`` worth underlining as the answer to ``question``; empty when unsure.

    Stricter than :func:`answer_spans` (which feeds the reranker): for "where", only names
    standing as places (after "in", "at", "near"... or in apposition to such a place), so a
    credit like "(AA Photo)" is not one; for "how many/much X", only quantities of X (X
    among the quantity's words, within a few words after it, or right before it), and when
    the question names no X, only quantities with a unit of the asked measure (time for
    "how long", money for "cost"...). "When" and "who" keep :func:`answer_spans`' rules.
    """
    spans = answer_spans(question, text)
    kind = question_type(question)
    if kind == "where":
        return tuple(_place_spans(text, list(spans)))
    if kind == "count":
        return tuple(_count_spans(question, text, list(spans)))
    return spans
