"""Questions asked as requests: "Can you tell me ...", "Tell me about X", with and without unwrapping.

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/wrapped_questions.py [--squad PATH] [--squad2 PATH] [--news DIR]
        [--cache DIR] [--every N] [--skip NAME ...]

The eval sets ask every question plainly; in a chat people also write "Can you tell me who
hosted the Oscars?" or "Tell me about Warsaw". Each question of a dataset's half is asked
through :meth:`citeqa.Index.answer` as written and wrapped in each request below, with
:func:`citeqa.question.unwrap_request` on (the product) and off (the request's words
searched too: the same-run baseline). Only questions that open with a question word or an
auxiliary are wrapped (most of them). Printed per dataset and half: answerable questions
answered with a right [1] (cited and not abstained), and unanswerable ones abstained. A
last table asks "What is T?" and "Tell me about T" for the title T of each document
whose first line is a title (SQuAD's): its first sentence answered at [1].
Nothing here is fitted; both halves are printed, the report half is the one to quote.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from answerability import add_dataset_arguments, load_datasets  # noqa: E402

import citeqa.index as index_module  # noqa: E402
from citeqa.embed import get_embedder  # noqa: E402
from citeqa.errors import CiteqaError  # noqa: E402
from citeqa.eval import corpora, observe, topics  # noqa: E402
from citeqa.question import QUESTION_OPENING  # noqa: E402

#: How a chat user wraps a question ({q}: the question, its first word lower-cased).
WRAPS = ("Can you tell me {q}", "Please tell me {q}", "Do you know {q}", "I'd like to know {q}")
#: Only a question that opens as one (``citeqa.question.QUESTION_OPENING``: a question word,
#: after a preposition or not, or an auxiliary) is wrapped: "Can you tell me the Normans were
#: from where?" is no request anyone writes.


def wrapped(question: str, form: str) -> str | None:
    """``question`` inside the request ``form`` ("Who won?" -> "Can you tell me who won?"); None
    for a question that does not open as one (:data:`citeqa.question.QUESTION_OPENING`)."""
    q = question.strip()
    if not QUESTION_OPENING.match(q):
        return None
    return form.format(q=q[:1].lower() + q[1:])


@contextlib.contextmanager
def unwrapping(on: bool) -> Iterator[None]:
    """Index.answer unwraps requests (``on``, the product) or searches them as written."""
    saved = index_module.unwrap_request
    if not on:
        index_module.unwrap_request = lambda question: question
    try:
        yield
    finally:
        index_module.unwrap_request = saved


def right_answer(index: index_module.Index, question: str, gold: set[int]) -> bool:
    """True when ``index.answer(question)`` cites a gold sentence at [1] and does not abstain."""
    answer = index.answer(question)
    return not answer.abstained and bool(answer.citations) and answer.citations[0].sentence_id in gold


def abstains(index: index_module.Index, question: str) -> bool:
    return index.answer(question).abstained


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.add_argument("--every", type=int, default=3, help="ask every Nth question of SQuAD 1.1 (its 5,000 would take long)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["squad11", "squad2", "news", "gold"], help="datasets to leave out")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error(f"--every must be >= 1, got {args.every}")
    embedder = get_embedder()
    header = f"{'dataset':<9}{'half':<8}{'kind':<13}{'asked':>6}{'plain':>8}" + "".join(f"{'wrap ' + str(n + 1) + ' off/on':>18}" for n in range(len(WRAPS)))
    print("\n".join(f"wrap {n + 1}: {form!r}" for n, form in enumerate(WRAPS)))
    print(header)
    for corpus, _, _ in load_datasets(args, skip=args.skip):
        asker = observe.Asker(observe.corpus_index(corpus.documents, Path(args.cache), embedder, lambda m: None))
        index = asker.index
        every = args.every if corpus.name == "squad11" else 1
        for half in corpora.HALVES:
            counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
            for case in corpus.cases_in(half)[::every]:
                turn = case.turns[0]
                answerable = case.kind in (corpora.ANSWERABLE, corpora.CONVERSATION)
                kind = "answerable" if answerable else "unanswerable"
                gold = asker.gold_rows(turn) if answerable else set()
                if (answerable and not gold) or wrapped(turn.question, WRAPS[0]) is None:
                    continue
                try:
                    score = (lambda q: right_answer(index, q, gold)) if answerable else (lambda q: abstains(index, q))
                    c = counts[kind]
                    c["asked"] += 1
                    c["plain"] += score(turn.question)
                    for n, form in enumerate(WRAPS):
                        for on in (False, True):
                            with unwrapping(on):
                                c[f"{n}{on}"] += score(str(wrapped(turn.question, form)))
                except CiteqaError:
                    continue
            for kind, c in sorted(counts.items()):
                cells = "".join(f"{c[f'{n}False']:>9}/{c[f'{n}True']:<8}" for n in range(len(WRAPS)))
                print(f"{corpus.name:<9}{half:<8}{kind + ' ok':<13}{c['asked']:>6}{c['plain']:>8}   {cells}", flush=True)
    print("\ntitles (SQuAD documents' first lines): first sentence answered at [1]")
    print(f"{'dataset':<9}{'half':<8}{'titles':>7}{'What is T?':>12}{'Tell me about T off/on':>24}")
    for corpus, _, _ in load_datasets(args, skip=[*args.skip, "news", "gold"]):
        index = observe.corpus_index(corpus.documents, Path(args.cache), embedder, lambda m: None)
        for half in corpora.HALVES:
            c = collections.Counter()
            for title, opening in topics.titles(index, corpus, half):
                c["titles"] += 1
                c["what"] += right_answer(index, f"What is {title}?", {opening})
                for on in (False, True):
                    with unwrapping(on):
                        c[f"tell{on}"] += right_answer(index, f"Tell me about {title}", {opening})
            print(f"{corpus.name:<9}{half:<8}{c['titles']:>7}{c['what']:>12}{c['tellFalse']:>15}/{c['tellTrue']:<8}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
