"""The fit/report-half run of ``citeqa eval`` and ``benchmarks/answerability.py``: which datasets, observed how, tabled.

One list of the datasets (:data:`READERS`: how each is read and whether its questions are
also asked of the other documents as cross-document negatives), :func:`load_found` to read
those present, and :func:`tables` for everything ``citeqa eval`` prints after its gold/SQuAD
report: the honest tables of :mod:`citeqa.eval.honest`, the title table of
:mod:`citeqa.eval.topics` and the cross-encoder's before/after table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import corpora

#: name -> (reader of its path, ask its questions of other documents too, every Nth question so).
READERS: dict[str, tuple[Callable[[Path], corpora.Corpus], bool, int]] = {
    "squad11": (lambda path: corpora.load_squad(path, "squad11"), True, 2),
    "squad2": (lambda path: corpora.load_squad(path, "squad2"), False, 1),
    "news": (corpora.load_news, True, 1),
    "docs": (corpora.load_docs, True, 1),
}

Loaded = list[tuple[corpora.Corpus, bool, int]]


def load_found(paths: Mapping[str, Path], log: Callable[[str], None], *, squad_every: int | None = None) -> Loaded:
    """Read the datasets of ``paths`` (name -> path, in :data:`READERS` order) that exist;
    say which are skipped. ``squad_every`` overrides SQuAD 1.1's every-Nth cross-document question."""
    loaded = []
    for name, (read, cross, every) in READERS.items():
        if name not in paths:
            continue
        path = Path(paths[name])
        if not path.exists():
            log(f"{name} not found at {path}; its fit/report tables are skipped (pass its path, see citeqa eval --help)")
            continue
        loaded.append((read(path), cross, squad_every if name == "squad11" and squad_every else every))
    return loaded


def tables(loaded: Loaded, cache: Path, log: Callable[[str], None], *, ablation: bool = True, cross_compare: bool = True) -> list[str]:
    """Observe every question of ``loaded`` through the product, fit on fit halves and table the report halves."""
    from ..config import cross_encoder_from_env
    from ..embed import get_embedder
    from ..search.cross import read_manifest
    from . import honest, observe, topics

    if not loaded:
        return []
    fitted_on = honest.FAMILIES["combined"][0]
    if not any(c.name in fitted_on for c, _, _ in loaded):
        log(f"no dataset the model is fitted on was found ({', '.join(fitted_on)}): the others are tabled with the shipped model; nothing is fitted")
    observations = observe.collect(loaded, cache, get_embedder(), log)
    titled, topic = topics.title_report([c for c, _, _ in loaded], cache, get_embedder(), log)
    lines, _ = honest.report(observations, [c for c, _, _ in loaded], ablation=ablation, log=log, topic_lead=topic)
    lines += ["", *titled]
    if cross_compare and read_manifest() is not None:
        product = cross_encoder_from_env()
        log(f"asking everything again with the cross-encoder {'off' if product else 'on'} (the before/after table; --no-cross-compare skips it)")
        with observe.cross_encoder_switched(not product):
            other = observe.collect(loaded, cache, get_embedder(), log)
        off, on = (other, observations) if product else (observations, other)
        lines += ["", *honest.cross_encoder_table(off, on)]
    return lines


def cli_tables(args: Any, with_squad: bool, log: Callable[[str], None]) -> list[str]:
    """:func:`tables` for ``citeqa eval``'s options (``--squad``, ``--no-news``, ``--docs``...): the gold
    file always, the shared datasets and docs-dev where found."""
    from ..config import default_docs_path, default_news_path, default_squad2_path, default_squad_path, eval_cache_dir

    wanted = {
        "squad11": (args.squad, default_squad_path, with_squad),
        "squad2": (args.squad2, default_squad2_path, with_squad),
        "news": (args.news, default_news_path, not args.no_news),
        "docs": (args.docs, default_docs_path, not args.no_docs),
    }
    paths = {name: Path(given) if given else default() for name, (given, default, enabled) in wanted.items() if enabled}
    loaded = load_found(paths, log)
    if not args.no_gold:
        loaded.append((corpora.load_gold(args.gold), False, 1))
    cache = (Path(args.cache) if args.cache else eval_cache_dir()) / "answerability"
    return tables(loaded, cache, log, ablation=not args.no_ablation, cross_compare=not args.no_cross_compare)
