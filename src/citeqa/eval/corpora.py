"""Evaluation corpora with a deterministic split by document into a fit half and a report half.

Every dataset is read into a :class:`Corpus`: its documents (as the text files an index
is built from) and its questions (:class:`Case`), each labelled ``"fit"`` or
``"report"``. Anything fitted (answerability weights, thresholds) may only look at the
fit half; figures are reported on the report half. The split is by *document*, so a
report question is never asked of a document whose other questions were fitted on.

Split rules (deterministic, no randomness):

* **SQuAD 1.1 and 2.0** (one document per article, title on the first line): an article
  whose title is in :data:`SQUAD_TUNE_TITLES` (the SQuAD 1.1 dev tune file, in its
  order) is in the report half when its position there is odd, the fit half when even:
  the same split the shipped reranker was fitted on (``benchmarks/fit_reranker.py`` uses
  the even positions), so the reranker is never scored on its own training articles.
  Both SQuAD files hold the same titles, so an article is in the same half in both. Any
  other title goes by the parity of the first byte of ``sha256(title)``.
* **news-dev** (10 BBC articles, all in one index): split by article *group*. The four
  pairs of similar articles of its README (:data:`NEWS_PAIRS`) stay together; a group is
  a pair or a single article. Groups are sorted by their first file name; pairs
  alternate fit, report, fit, ... and single articles alternate the same way on their
  own. A conversation goes with the group of its turns' articles. Unanswerable questions
  have no document: within each reason ("near-topic", "off-topic") they are sorted by
  ``sha256(question)`` and alternate fit, report, so each half gets exactly half of them
  (rounded up for fit).
* **docs-dev** (``eval-data/docs-dev``: software licences and manuals, questions written as a
  user would ask them): the news-dev rule, with the pairs of its ``groups.json``; an
  unanswerable question written near one document goes with that document's half.
* **gold file** (``data/eval/lachin-gold.jsonl``): one document, so it cannot be split by
  document. All of it is ``"report"``: it is never fitted on.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError, SourceError
from .datasets import parse_gold

FIT = "fit"
REPORT = "report"
HALVES = (FIT, REPORT)

#: Titles of the SQuAD v1.1 dev tune file, in file order; odd positions are the report half.
SQUAD_TUNE_TITLES = (
    "Super_Bowl_50", "Warsaw", "Normans", "Nikola_Tesla", "Computational_complexity_theory",
    "Teacher", "Martin_Luther", "Southern_California", "Sky_(United_Kingdom)",
    "Victoria_(Australia)", "Huguenot", "Steam_engine", "Oxygen", "1973_oil_crisis",
    "Apollo_program", "European_Union_law", "Amazon_rainforest", "Ctenophora",
    "Fresno,_California", "Packet_switching", "Black_Death", "Geology",
    "Newcastle_upon_Tyne", "Victoria_and_Albert_Museum",
)  # fmt: skip

#: Pairs of similar news-dev articles (its README, "Similar articles"): always in the same half.
NEWS_PAIRS = (
    ("business-224.txt", "sport-124.txt"),
    ("politics-157.txt", "politics-281.txt"),
    ("entertainment-357.txt", "entertainment-372.txt"),
    ("tech-351.txt", "tech-363.txt"),
)

#: Question kinds: answerable ones have a gold sentence; the others should be abstained on.
ANSWERABLE = "answerable"
CONVERSATION = "conversation"
NEGATIVE_KINDS = ("near-topic", "off-topic", "impossible")


@dataclass(frozen=True)
class Turn:
    """One question and what answers it.

    Attributes:
        question: The question as asked.
        doc: File name of the document that answers it ("" when nothing does).
        answers: Substrings of which a correct sentence holds one (news, gold file).
        position: Character offset of the answer in ``doc`` (SQuAD): the gold sentence is
            the one holding it. None when ``answers`` decide.
    """

    question: str
    doc: str = ""
    answers: tuple[str, ...] = ()
    position: int | None = None

    @property
    def answerable(self) -> bool:
        """True when some sentence answers this turn."""
        return bool(self.answers) or self.position is not None


@dataclass(frozen=True)
class Case:
    """One evaluation case: a question, or a conversation of several turns.

    Attributes:
        id: Unique within its corpus.
        kind: :data:`ANSWERABLE`, :data:`CONVERSATION` or one of :data:`NEGATIVE_KINDS`.
        half: :data:`FIT` or :data:`REPORT`.
        turns: The turns in order (one for a plain question).
    """

    id: str
    kind: str
    half: str
    turns: tuple[Turn, ...]

    @property
    def question(self) -> str:
        """The first (or only) question."""
        return self.turns[0].question


@dataclass(frozen=True)
class Corpus:
    """A dataset ready to index and ask.

    Attributes:
        name: "squad11", "squad2", "news" or "gold".
        documents: ``(file name, text)`` pairs; all go into one index.
        cases: The questions.
        halves: Half of each document (file name -> "fit" / "report").
        groups: Documents that must stay in the same half (pairs of similar articles),
            each a tuple of file names; every document is in exactly one group.
        note: How the split was made, for the report.
    """

    name: str
    documents: tuple[tuple[str, str], ...]
    cases: tuple[Case, ...]
    halves: Mapping[str, str]
    groups: tuple[tuple[str, ...], ...] = field(default=())
    note: str = ""

    def cases_in(self, half: str) -> list[Case]:
        """The cases of one half."""
        _check_half(half)
        return [c for c in self.cases if c.half == half]

    def documents_in(self, half: str) -> list[str]:
        """File names of the documents of one half, sorted."""
        _check_half(half)
        return sorted(name for name, h in self.halves.items() if h == half)

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write the documents as UTF-8 files into ``folder`` (created) and return it."""
        return write_documents(self.documents, folder)


def _check_half(half: str) -> None:
    if half not in HALVES:
        raise InvalidArgumentError(f"half must be one of {', '.join(HALVES)}, got {half!r}")


def write_documents(documents: Iterable[tuple[str, str]], folder: str | os.PathLike[str]) -> Path:
    """Write ``(file name, text)`` pairs into ``folder`` (atomically per file) and return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in documents:
        target = folder / name
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, target)
    return folder


def digest(text: str) -> str:
    """Hex sha256 of ``text`` (UTF-8): the deterministic key the splits sort and hash by."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def squad_half(title: str) -> str:
    """The half of a SQuAD article (see the module docstring)."""
    if title in SQUAD_TUNE_TITLES:
        return REPORT if SQUAD_TUNE_TITLES.index(title) % 2 else FIT
    return REPORT if int(digest(title)[:2], 16) % 2 else FIT


def _read_json(path: str | os.PathLike[str], what: str, hint: str) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{what} not found: {path}; {hint}") from None
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read {what} {path}: {exc}; {hint}") from None


def squad_document_name(number: int, title: str) -> str:
    """File name of a SQuAD article's document: ``"003-Nikola-Tesla.txt"``."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in title.replace("_", " "))[:60]
    return f"{number:03d}-{safe}.txt"


def squad_corpus(data: Mapping[str, Any], name: str = "squad11") -> Corpus:
    """A SQuAD 1.1 or 2.0 file (parsed JSON) as a corpus.

    Each article is one document: its title (underscores as spaces) on the first line,
    then its paragraphs separated by blank lines. An answerable question's gold sentence
    is the one holding its first answer's ``answer_start``; a question with
    ``is_impossible`` (SQuAD 2.0) is a negative of kind "impossible".

    Raises:
        InvalidArgumentError: not a SQuAD file, or an answer position outside its paragraph.
    """
    articles = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(articles, list):
        raise InvalidArgumentError("not a SQuAD file: no 'data' list at the top level")
    documents, cases, halves = [], [], {}
    for number, article in enumerate(articles):
        title = str(article.get("title", f"article {number}"))
        doc = squad_document_name(number, title)
        half = squad_half(title)
        halves[doc] = half
        text = title.replace("_", " ")
        for paragraph in article.get("paragraphs", []):
            text += "\n\n"
            offset = len(text)
            context = str(paragraph["context"])
            text += context
            for qa in paragraph.get("qas", []):
                question = str(qa["question"])
                qid = str(qa.get("id") or f"{doc}:{len(cases)}")
                if qa.get("is_impossible"):
                    cases.append(Case(qid, "impossible", half, (Turn(question),)))
                    continue
                answers = qa.get("answers") or []
                if not answers:
                    continue
                start = int(answers[0]["answer_start"])
                if not 0 <= start < len(context):
                    raise InvalidArgumentError(f"SQuAD question {qid}: answer_start {start} outside its paragraph")
                cases.append(Case(qid, ANSWERABLE, half, (Turn(question, doc, position=offset + start),)))
        documents.append((doc, text + "\n"))
    note = (
        "by article: titles at odd positions of the SQuAD 1.1 dev tune file are the report half "
        "(the reranker was fitted on the even ones); other titles by sha256(title) parity"
    )
    return Corpus(name, tuple(documents), tuple(cases), halves, tuple((d,) for d, _ in documents), note)


def load_squad(path: str | os.PathLike[str], name: str = "squad11") -> Corpus:
    """Read a SQuAD 1.1 or 2.0 JSON file as a corpus (see :func:`squad_corpus`)."""
    data = _read_json(path, "SQuAD file", "pass the path of a SQuAD JSON file (e.g. ../shared/data/squad/dev-v1.1-tune.json)")
    return squad_corpus(data, name)


def group_halves(groups: Sequence[Sequence[str]]) -> dict[str, str]:
    """Halves of documents grouped so each group stays whole (the news-dev rule).

    Groups are sorted by their first (sorted) member; groups of two or more alternate
    fit, report, ...; single documents alternate the same way on their own.
    """
    ordered = sorted((tuple(sorted(g)) for g in groups), key=lambda g: g[0])
    halves: dict[str, str] = {}
    turn = {True: 0, False: 0}
    for group in ordered:
        paired = len(group) > 1
        half = HALVES[turn[paired] % 2]
        turn[paired] += 1
        for name in group:
            if name in halves:
                raise InvalidArgumentError(f"document {name!r} is in two groups")
            halves[name] = half
    return halves


def alternate_by_hash(texts: Sequence[str]) -> list[str]:
    """Half of each text: sorted by :func:`digest`, then fit, report, fit, ... (ties by text)."""
    order = sorted(range(len(texts)), key=lambda i: (digest(texts[i]), texts[i]))
    halves = [FIT] * len(texts)
    for rank, i in enumerate(order):
        halves[i] = HALVES[rank % 2]
    return halves


def news_corpus(articles: Mapping[str, str], lines: Iterable[str], pairs: Sequence[Sequence[str]] = NEWS_PAIRS) -> Corpus:
    """The news-dev articles and ``qa.jsonl`` lines as a corpus (split rule in the module docstring)."""
    return qa_corpus("news", articles, lines, pairs)


def qa_corpus(name: str, articles: Mapping[str, str], lines: Iterable[str], pairs: Sequence[Sequence[str]]) -> Corpus:
    """Articles and ``qa.jsonl`` lines in the news-dev format as a corpus named ``name``.

    Groups are ``pairs`` (kept in one half) and every other article alone. An unanswerable
    line that names the ``doc`` it is near goes with that document's half; one that names
    none is split by hash within its reason (the news-dev rule).

    Raises:
        InvalidArgumentError: a line is not valid JSON, lacks a field, names an unknown
            article, or a conversation spans two halves (with the line number).
    """
    names = set(articles)
    grouped = {n for pair in pairs for n in pair if n in names}
    groups = [tuple(n for n in pair if n in names) for pair in pairs]
    groups = [g for g in groups if g] + [(n,) for n in sorted(names - grouped)]
    halves = group_halves(groups)
    cases: list[Case] = []
    negatives: list[tuple[str, str, int]] = []  # (why, question, line number)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind = row["kind"]
            if kind == "answerable":
                turn = _news_turn(row, names)
                cases.append(Case(f"n{number:03d}", ANSWERABLE, halves[turn.doc], (turn,)))
            elif kind == "conversation":
                turns = tuple(_news_turn(t, names) for t in row["turns"])
                if len({halves[t.doc] for t in turns}) != 1:
                    raise ValueError("its turns' articles are in different halves; put them in one group")
                cases.append(Case(f"n{number:03d}", CONVERSATION, halves[turns[0].doc], turns))
            elif kind == "unanswerable":
                why = row["why"]
                if why not in ("near-topic", "off-topic"):
                    raise ValueError(f"unknown reason {why!r}")
                if "doc" in row:  # near one document: it goes with that document's half
                    doc = str(row["doc"])
                    if doc not in names:
                        raise ValueError(f"unknown article {doc!r}")
                    cases.append(Case(f"n{number:03d}", why, halves[doc], (Turn(str(row["question"])),)))
                else:
                    negatives.append((why, str(row["question"]), number))
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidArgumentError(f"{name} qa line {number} is invalid ({exc}); fix or remove it") from None
    for why in ("near-topic", "off-topic"):
        picked = [(q, n) for w, q, n in negatives if w == why]
        for (question, number), half in zip(picked, alternate_by_hash([q for q, _ in picked])):
            cases.append(Case(f"n{number:03d}", why, half, (Turn(question),)))
    cases.sort(key=lambda c: c.id)
    note = (
        "by article group (similar pairs kept together; pairs and single articles alternate "
        "fit/report in file-name order); unanswerable questions near one article with its group, "
        "the others by sha256(question), alternating within each reason"
    )
    documents = tuple(sorted(articles.items()))
    return Corpus(name, documents, tuple(cases), halves, tuple(tuple(sorted(g)) for g in groups), note)


def _news_turn(row: Mapping[str, Any], names: set[str]) -> Turn:
    doc = str(row["doc"])
    if doc not in names:
        raise ValueError(f"unknown article {doc!r}")
    answers = tuple(str(a) for a in row["answers"])
    if not answers:
        raise ValueError("empty answers")
    return Turn(str(row["question"]), doc, answers)


def _read_qa_folder(folder: Path, name: str, hint: str, *extra: str) -> tuple[dict[str, str], list[str], list[str]]:
    """``articles/*.txt`` (file name -> text), the lines of ``qa.jsonl`` and the texts of the
    ``extra`` files of a news-dev-format folder; a missing part is named with ``hint``."""
    article_dir = folder / "articles"
    if not article_dir.is_dir():
        raise SourceError(f"{name} articles not found: {article_dir}; {hint}")
    articles = {p.name: p.read_text(encoding="utf-8") for p in sorted(article_dir.glob("*.txt"))}
    try:
        lines = (folder / "qa.jsonl").read_text(encoding="utf-8").splitlines()
        texts = [(folder / file).read_text(encoding="utf-8") for file in extra]
    except OSError as exc:
        raise SourceError(f"cannot read {exc.filename}: {exc.strerror or exc}; {hint}") from None
    return articles, lines, texts


def load_news(folder: str | os.PathLike[str]) -> Corpus:
    """Read news-dev (``articles/*.txt`` and ``qa.jsonl``) from ``folder``."""
    articles, lines, _ = _read_qa_folder(Path(folder), "news-dev", "pass the news-dev folder (e.g. ../shared/data/news-dev)")
    return news_corpus(articles, lines)


def load_docs(folder: str | os.PathLike[str]) -> Corpus:
    """Read docs-dev (``articles/*.txt``, ``qa.jsonl`` and ``groups.json``, a list of the
    file-name lists kept in one half) from ``folder``: the news-dev format and split rule."""
    hint = "pass the docs-dev folder (eval-data/docs-dev in the repository)"
    articles, lines, (groups_text,) = _read_qa_folder(Path(folder), "docs-dev", hint, "groups.json")
    try:
        groups = json.loads(groups_text)
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise ValueError("not a list of lists")
    except ValueError as exc:
        raise InvalidArgumentError(f"{Path(folder) / 'groups.json'} must be a JSON list of file-name lists ({exc}); fix it") from None
    return qa_corpus("docs", articles, lines, [tuple(str(n) for n in g) for g in groups])


GOLD_DOCUMENT = "lachin-joint-exercise.txt"


def gold_corpus(article: str, lines: Iterable[str], doc: str = GOLD_DOCUMENT) -> Corpus:
    """The gold file of the shipped article: report half only (one document; never fitted on).

    Raises:
        InvalidArgumentError: a line is not valid JSON or lacks a field, with its number.
    """
    cases = []
    for gold in parse_gold(lines):  # the one parser of the gold file (citeqa.eval.datasets)
        if gold.kind == "answerable":
            cases.append(Case(gold.id, ANSWERABLE, REPORT, (Turn(gold.question, doc, gold.answers),)))
        elif gold.kind == "unanswerable":
            why = "near-topic" if gold.topic == "near" else "off-topic"
            cases.append(Case(gold.id, why, REPORT, (Turn(gold.question),)))
        else:
            turns = tuple(Turn(question, doc, answers) for question, answers in gold.turns)
            cases.append(Case(gold.id, CONVERSATION, REPORT, turns))
    note = "one document: cannot be split by document, so all of it is report-only and never fitted on"
    return Corpus("gold", ((doc, article),), tuple(cases), {doc: REPORT}, ((doc,),), note)


def load_gold(path: str | os.PathLike[str] | None = None) -> Corpus:
    """Read the gold file (the packaged one by default) with the shipped article."""
    package = resources.files("citeqa").joinpath("data")
    article = package.joinpath(GOLD_DOCUMENT).read_text(encoding="utf-8")
    target = Path(path) if path is not None else Path(str(package.joinpath("eval", "lachin-gold.jsonl")))
    try:
        lines = target.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SourceError(f"cannot read gold file {target}: {exc.strerror or exc}; pass an existing gold JSONL file") from None
    return gold_corpus(article, lines)


def cross_document_groups(corpus: Corpus, half: str) -> tuple[list[str], list[str]]:
    """Split one half's documents in two parts (groups kept whole, alternating in name order).

    Questions of one part asked of an index of the other part are *cross-document
    negatives*: real questions the indexed documents do not answer.
    """
    _check_half(half)
    groups = sorted((g for g in corpus.groups if corpus.halves[g[0]] == half), key=lambda g: g[0])
    parts: tuple[list[str], list[str]] = ([], [])
    for number, group in enumerate(groups):
        parts[number % 2].extend(group)
    return sorted(parts[0]), sorted(parts[1])
