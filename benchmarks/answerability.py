"""Fit the answerability model on fit halves and print every table on report halves (``citeqa eval`` prints the same).

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/answerability.py [--squad PATH] [--squad2 PATH]
        [--news DIR] [--docs DIR] [--gold FILE] [--cache DIR] [--write] [--no-ablation] [--skip NAME ...]

Observations (every question asked through the product, cached): :mod:`citeqa.eval.observe`.
Models and the tables: :mod:`citeqa.eval.honest`; the policy, chosen on the fit halves and
gated on the report halves: :mod:`citeqa.eval.policy`. ``--write`` saves the combined model to
``src/citeqa/data/answerability.json`` with the fit-half choice's threshold, the gate's figures
and ``info["policy"]``: the choice if it passed the gate, else the cautious fallback if that
passed the same gate (``info["policy_cautious"]``), "rules" otherwise (no hand edit).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from citeqa.config import default_docs_path, eval_cache_dir, shared_data_path
from citeqa.embed import get_embedder
from citeqa.eval import corpora, honest, observe, run, topics

MODEL_FILE = REPO / "src" / "citeqa" / "data" / "answerability.json"


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """The datasets' paths and the observation cache (this script's and ``confidence_trials.py``'s)."""
    parser.add_argument("--squad", default=str(shared_data_path("squad", "dev-v1.1-tune.json")))
    parser.add_argument("--squad2", default=str(shared_data_path("squad2", "dev-v2.0-tune.json")))
    parser.add_argument("--news", default=str(shared_data_path("news-dev")))
    parser.add_argument("--docs", default=str(default_docs_path()))
    parser.add_argument("--gold", default=None, help="gold JSONL (default: the packaged one)")
    parser.add_argument("--cache", default=str(eval_cache_dir() / "answerability"))


def load_datasets(args: argparse.Namespace, cross_every: int = 2, skip: Sequence[str] = ()) -> list[tuple[corpora.Corpus, bool, int]]:
    """The corpora to observe, as :func:`citeqa.eval.observe.collect` takes them (corpus, cross-document negatives, every)."""
    paths = {name: Path(getattr(args, name if name != "squad11" else "squad")) for name in run.READERS if name not in skip}
    loaded = run.load_found(paths, lambda message: print(message, file=sys.stderr, flush=True), squad_every=cross_every)
    if "gold" not in skip:
        loaded.append((corpora.load_gold(args.gold), False, 1))
    return loaded


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_arguments(parser)
    parser.add_argument("--cross-every", type=int, default=2, help="ask every Nth question as a cross-document negative (SQuAD 1.1)")
    parser.add_argument("--write", action="store_true", help=f"save the shipped model to {MODEL_FILE}")
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[], choices=list(honest.DATASETS), help="datasets to leave out")
    args = parser.parse_args(argv)
    if args.cross_every < 1:
        parser.error(f"--cross-every must be >= 1, got {args.cross_every}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    loaded = load_datasets(args, args.cross_every, args.skip)
    observations = observe.collect(loaded, Path(args.cache), get_embedder(), log)
    log(f"all asked in {time.perf_counter() - started:.0f}s")
    titled, topic = topics.title_report([c for c, _, _ in loaded], Path(args.cache), get_embedder(), log)
    lines, models = honest.report(observations, [c for c, _, _ in loaded], ablation=not args.no_ablation, log=log, topic_lead=topic)
    print("\n".join([*lines, "", *titled]))
    if args.write:
        if "combined" not in models:
            parser.error("nothing fitted (no fit half with both right and wrong answers); cannot --write")
        models["shipped"].save(MODEL_FILE)
        log(f"wrote {MODEL_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
