"""Chat turns that change the subject: stand-alone questions asked after another question.

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/topic_switch.py [--squad PATH] [--squad2 PATH] [--news DIR]
        [--cache DIR] [--skip NAME ...]

``citeqa eval`` asks every stand-alone question with no conversation before it; in the chat
most questions come after another one. Here each answerable question of a dataset is asked
after the question before it about the same document ("same-doc": the user goes on about
one article) and after a question about another document ("other-doc": the user changes
the subject), as the chat sends it (the earlier question as the history). A question that
:func:`citeqa.question.needs_context` takes for a follow-up is read against that history
(words carried, rankings fused); the others are ranked as alone. Printed per dataset and
half: how many were taken for follow-ups, and [1] right among those, alone and after. The
conversations' own second turns are in ``citeqa eval`` (follow-ups).
"""

from __future__ import annotations

import argparse
import collections
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
from citeqa.question import clean_question, resolve_followup  # noqa: E402


def switches(corpus: corpora.Corpus, half: str) -> list[tuple[str, corpora.Turn, str]]:
    """``(kind, turn, earlier question)``: each answerable question after the one before it
    about its document, and after one about the next document (in file-name order)."""
    by_doc: dict[str, list[corpora.Turn]] = collections.defaultdict(list)
    for case in corpus.cases_in(half):
        if case.kind in (corpora.ANSWERABLE, corpora.CONVERSATION):
            by_doc[case.turns[0].doc].append(case.turns[0])
    docs = sorted(by_doc)
    out = []
    for number, doc in enumerate(docs):
        turns, other = by_doc[doc], by_doc[docs[(number + 1) % len(docs)]]
        for k, turn in enumerate(turns):
            if k:
                out.append(("same-doc", turn, turns[k - 1].question))
            if len(docs) > 1:
                out.append(("other-doc", turn, other[k % len(other)].question))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.add_argument("--skip", nargs="*", default=[], choices=["squad11", "squad2", "news"], help="datasets to leave out")
    args = parser.parse_args(argv)
    embedder = get_embedder()
    print(f"{'dataset':<9}{'half':<8}{'before':<11}{'asked':>7}{'taken for follow-ups':>22}{'[1] alone':>11}{'[1] after':>11}")
    for corpus, _, _ in load_datasets(args, skip=[*args.skip, "gold"]):
        asker = observe.Asker(observe.corpus_index(corpus.documents, Path(args.cache), embedder, lambda m: None))
        for half in corpora.HALVES:
            counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
            for kind, turn, earlier in switches(corpus, half):
                try:
                    question, previous = clean_question(turn.question), clean_question(earlier)
                except CiteqaError:
                    continue
                history = [{"role": "user", "content": previous}, {"role": "assistant", "content": ""}]
                counts[kind]["asked"] += 1
                if resolve_followup(question, history) == question:
                    continue
                gold = asker.gold_rows(turn)
                counts[kind]["taken"] += 1
                counts[kind]["alone"] += int(asker.index.rank(question, 1).ids[0]) in gold
                counts[kind]["after"] += int(asker.index.rank_turn(question, history, 1)[1].ids[0]) in gold
            for kind in ("same-doc", "other-doc"):
                c = counts[kind]
                print(f"{corpus.name:<9}{half:<8}{kind:<11}{c['asked']:>7}{c['taken']:>22}{c['alone']:>11}{c['after']:>11}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
