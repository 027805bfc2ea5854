"""Documents that repeat each other: the same questions asked of a corpus and of it with its text twice.

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/duplicates.py [--squad PATH] [--squad2 PATH] [--news DIR]
        [--cache DIR] [--skip NAME ...] [--half fit|report]

Real document sets repeat themselves: a documentation site ships every chapter again in one
``print.html``, a folder holds two editions of a manual, a page is saved twice. A sentence
found twice is no more and no less an answer than when found once, so each answer should be
the same. Here every dataset's documents are indexed as they are ("alone") and with one more
document holding all of them again, one after the other ("with a print copy"), and each
question of one half is answered (``Index.answer``, the whole product path) of both indexes.
A citation is right when its sentence's text equals a gold sentence's (in either copy).
Printed per dataset and index: answerable questions with [1] right, with a right sentence in
the top 3 (``Index.retrieve``), answered with [1]
right, abstained on with [1] right (false abstention), the median confidence of [1]-right
answers, and the negatives (SQuAD 2.0 unanswerable, news near/off-topic) abstained on.
Nothing is fitted here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from answerability import add_dataset_arguments, load_datasets  # noqa: E402

from citeqa.embed import get_embedder  # noqa: E402
from citeqa.errors import CiteqaError  # noqa: E402
from citeqa.eval import corpora, observe  # noqa: E402


def with_print_copy(documents: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """``documents`` plus one more holding all of them again, blank line between (a ``print.html``)."""
    ordered = sorted(documents)
    return [*ordered, ("zz-print-copy.txt", "\n\n".join(text.strip() for _, text in ordered) + "\n")]


def measure(asker: observe.Asker, cases: Sequence[tuple[str, str, set[str]]]) -> dict[str, float]:
    """Answer each ``(kind, question, gold texts)`` and count what :func:`main` prints."""
    out = {"answerable": 0, "right1": 0, "top3": 0, "answered_right": 0, "false_abstention": 0, "negatives": 0, "neg_abstained": 0}
    confidences = []
    for kind, question, gold in cases:
        try:
            answer = asker.index.answer(question)
        except CiteqaError:
            continue
        first = answer.citations[0].text if answer.citations else None
        if kind == "answerable":
            out["answerable"] += 1
            right = first in gold
            out["right1"] += right
            out["top3"] += any(hit.text in gold for hit in asker.index.retrieve(question, 3))
            out["answered_right"] += right and not answer.abstained
            out["false_abstention"] += right and answer.abstained
            if right and answer.confidence is not None:
                confidences.append(answer.confidence)
        else:
            out["negatives"] += 1
            out["neg_abstained"] += answer.abstained
    out["median_confidence"] = statistics.median(confidences) if confidences else float("nan")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.add_argument("--skip", nargs="*", default=["gold"], choices=["squad11", "squad2", "news", "gold"])
    parser.add_argument("--half", default=corpora.REPORT, choices=list(corpora.HALVES))
    args = parser.parse_args(argv)
    embedder = get_embedder()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    print(f"{'dataset':<9}{'index':<18}{'answerable':>11}{'[1] right':>10}{'top 3':>8}{'answered':>10}{'FA':>6}{'conf p50':>10}{'negatives':>10}{'abstained':>10}")
    for corpus, _, _ in load_datasets(args, skip=args.skip):
        plain = observe.Asker(observe.corpus_index(corpus.documents, Path(args.cache), embedder, log))
        cases = []
        for case in corpus.cases_in(args.half):
            turn = case.turns[0]
            if case.kind in (corpora.ANSWERABLE, corpora.CONVERSATION):
                gold = {plain.texts[r] for r in plain.gold_rows(turn)}
                if gold:
                    cases.append(("answerable", turn.question, gold))
            elif case.kind in corpora.NEGATIVE_KINDS:
                cases.append((case.kind, turn.question, set()))
        doubled = observe.Asker(observe.corpus_index(with_print_copy(corpus.documents), Path(args.cache), embedder, log))
        for name, asker in (("alone", plain), ("with a print copy", doubled)):
            c = measure(asker, cases)
            n, neg = max(c["answerable"], 1), max(c["negatives"], 1)
            print(
                f"{corpus.name:<9}{name:<18}{c['answerable']:>11}{100 * c['right1'] / n:>9.1f}%{100 * c['top3'] / n:>7.1f}%{100 * c['answered_right'] / n:>9.1f}%"
                f"{100 * c['false_abstention'] / n:>5.1f}%{c['median_confidence']:>10.3f}{c['negatives']:>10}"
                f"{100 * c['neg_abstained'] / neg:>9.1f}%",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
