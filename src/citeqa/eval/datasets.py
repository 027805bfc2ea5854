"""Evaluation datasets: the shipped gold file and SQuAD, parsed into cases.

Reads files only; builds no index (:mod:`citeqa.eval.harness` does).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import default_gold_path
from ..errors import InvalidArgumentError, SourceError


@dataclass(frozen=True)
class GoldCase:
    """One case of the gold file.

    Attributes:
        id: Case id ("a01", "u03", "f02").
        kind: "answerable", "unanswerable" or "followup".
        question: The question (first turn for follow-ups).
        answers: Substrings of the gold sentence(s); empty when unanswerable.
        topic: For unanswerable cases, "off" (off-topic) or "near" (near the article's topic).
        turns: For follow-ups, ``((question, answers), ...)`` in order.
    """

    id: str
    kind: str
    question: str
    answers: tuple[str, ...] = ()
    topic: str = ""
    turns: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


def parse_gold(lines: Iterable[str]) -> list[GoldCase]:
    """Parse gold JSONL lines (blank lines skipped).

    Raises:
        InvalidArgumentError: a line is not valid JSON or lacks a field, with its number.
    """
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind = row["kind"]
            if kind == "followup":
                turns = tuple((t["question"], tuple(t["answers"])) for t in row["turns"])
                cases.append(GoldCase(row["id"], kind, turns[0][0], turns[0][1], turns=turns))
            elif kind in ("answerable", "unanswerable"):
                cases.append(GoldCase(row["id"], kind, row["question"], tuple(row.get("answers", ())), row.get("topic", "")))
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise InvalidArgumentError(f"gold file line {number} is invalid ({exc}); fix or remove it") from None
    return cases


def load_gold(path: str | os.PathLike[str] | None = None) -> list[GoldCase]:
    """Read a gold file (the packaged one by default)."""
    path = Path(path) if path is not None else default_gold_path()
    try:
        return parse_gold(path.read_text(encoding="utf-8").splitlines())
    except OSError as exc:
        raise SourceError(f"cannot read gold file {path}: {exc.strerror or exc}; pass an existing --gold FILE") from None


@dataclass(frozen=True)
class SquadQuestion:
    """One SQuAD question with the sentence row that holds its answer."""

    question: str
    gold_row: int
    article: int


def squad_articles(data: Mapping[str, Any], limit: int | None = None) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """Turn SQuAD JSON into documents.

    Returns:
        ``(file name, text, [(question, answer position in text), ...])`` per article:
        the title (underscores as spaces) on the first line, then the paragraphs
        separated by blank lines.
    """
    articles = data.get("data")
    if not isinstance(articles, list):
        raise InvalidArgumentError("not a SQuAD file: no 'data' list at the top level")
    out = []
    for number, article in enumerate(articles[:limit] if limit else articles):
        title = str(article.get("title", f"article {number}")).replace("_", " ")
        text = title
        questions = []
        for paragraph in article["paragraphs"]:
            text += "\n\n"
            offset = len(text)
            context = paragraph["context"]
            text += context
            for qa in paragraph["qas"]:
                if qa.get("answers"):
                    questions.append((qa["question"], offset + int(qa["answers"][0]["answer_start"])))
        safe = "".join(ch if ch.isalnum() else "-" for ch in title)[:60]
        out.append((f"{number:03d}-{safe}.txt", text + "\n", questions))
    return out
