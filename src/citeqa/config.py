"""Paths, environment variables and defaults: the one place citeqa decides where things live.

Every folder citeqa reads or writes by default is resolved here, from these variables:

==================  ==========================================================
``CITEQA_INDEX``    the default index folder (else ``index/`` of a source checkout,
                    else ``$XDG_DATA_HOME/citeqa/index``)
``CITEQA_WORKSPACE`` the chat's workspace (else ``$XDG_DATA_HOME/citeqa/workspace``)
``CITEQA_CACHE``    caches: ONNX exports, evaluation indexes (else ``$XDG_CACHE_HOME/citeqa``)
``CITEQA_BACKEND``  the embedding backend when none is given (see :mod:`citeqa.embed`)
==================  ==========================================================

Imports nothing of citeqa's; other modules ask here instead of reading the environment.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

#: Environment variable naming the embedding backend when none is given.
BACKEND_ENV = "CITEQA_BACKEND"
#: Environment variable that switches the cross-encoder stage on ("1", "on", "true", "yes") or off ("0", "off", "false", "no").
CROSS_ENCODER_ENV = "CITEQA_CROSS_ENCODER"
#: Whether rankings use the cross-encoder when nothing says otherwise: off, because it failed its release gate
#: (on report halves it lost 0.03 [1] on news and 0.005 MRR on SQuAD 1.1, and it adds 80-120 ms a
#: question here where the gate allows 60; README "The cross-encoder").
CROSS_ENCODER_DEFAULT = False
#: The article that ships inside the package (``data/``), and the prefix that marks
#: a source recorded as package data rather than a file path.
DEFAULT_ARTICLE = "lachin-joint-exercise.txt"
PACKAGE_PREFIX = "package:"
#: The shipped gold questions for the article (``data/eval/``).
GOLD_NAME = "lachin-gold.jsonl"


def _home_dir(variable: str, fallback: str) -> Path:
    """``$variable`` or ``~/fallback`` (the XDG base-directory rule)."""
    return Path(os.environ.get(variable) or Path.home() / fallback)


def data_home() -> Path:
    """``$XDG_DATA_HOME`` or ``~/.local/share``."""
    return _home_dir("XDG_DATA_HOME", ".local/share")


def checkout_root() -> Path | None:
    """The source checkout citeqa runs from (the folder holding ``pyproject.toml``), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def package_data(*parts: str) -> Path:
    """A file shipped in the package's ``data/`` folder."""
    return Path(str(resources.files("citeqa").joinpath("data", *parts)))


def read_package_text(*parts: str) -> str:
    """The UTF-8 text of a file shipped in ``data/``."""
    return resources.files("citeqa").joinpath("data", *parts).read_text(encoding="utf-8")


def default_index_path() -> Path:
    """Where the default index lives.

    ``$CITEQA_INDEX`` if set; else ``index/`` of the source checkout citeqa runs from;
    else ``$XDG_DATA_HOME/citeqa/index`` (built on first use).
    """
    env = os.environ.get("CITEQA_INDEX")
    if env:
        return Path(env)
    checkout = checkout_root()
    if checkout is not None and (checkout / "index").is_dir():
        return checkout / "index"
    return data_home() / "citeqa" / "index"


def default_workspace_path() -> Path:
    """``$CITEQA_WORKSPACE`` if set, else ``$XDG_DATA_HOME/citeqa/workspace``."""
    env = os.environ.get("CITEQA_WORKSPACE")
    return Path(env) if env else data_home() / "citeqa" / "workspace"


def cache_root() -> Path:
    """Root of citeqa's caches: ``$CITEQA_CACHE`` or ``$XDG_CACHE_HOME/citeqa``."""
    env = os.environ.get("CITEQA_CACHE")
    return Path(env) if env else _home_dir("XDG_CACHE_HOME", ".cache") / "citeqa"


def eval_cache_dir() -> Path:
    """Where ``citeqa eval`` caches the indexes it builds: ``<cache root>/eval``."""
    return cache_root() / "eval"


def shared_data_path(*parts: str) -> Path:
    """A file of the team's shared data (``../shared/data/...`` beside the checkout, or the cwd)."""
    base = checkout_root() or Path.cwd()
    return base.parent / "shared" / "data" / Path(*parts)


def default_squad_path() -> Path:
    """SQuAD 1.1 dev tune half: ``../shared/data/squad/dev-v1.1-tune.json``."""
    return shared_data_path("squad", "dev-v1.1-tune.json")


def default_squad2_path() -> Path:
    """SQuAD 2.0 dev tune half (with unanswerable questions): ``../shared/data/squad2/dev-v2.0-tune.json``."""
    return shared_data_path("squad2", "dev-v2.0-tune.json")


def default_news_path() -> Path:
    """News dev set (BBC articles and ``qa.jsonl``): ``../shared/data/news-dev``."""
    return shared_data_path("news-dev")


def default_docs_path() -> Path:
    """Licences and manuals with questions written as users ask them: ``eval-data/docs-dev`` of the checkout (or the cwd)."""
    return (checkout_root() or Path.cwd()) / "eval-data" / "docs-dev"


def default_gold_path() -> Path:
    """The shipped article's gold questions (``data/eval/lachin-gold.jsonl``)."""
    return package_data("eval", GOLD_NAME)


def backend_from_env() -> str | None:
    """The embedding backend named by ``$CITEQA_BACKEND``, if any."""
    return os.environ.get(BACKEND_ENV) or None


def cross_encoder_from_env() -> bool:
    """Whether rankings use the cross-encoder stage: ``$CITEQA_CROSS_ENCODER`` if set, else :data:`CROSS_ENCODER_DEFAULT`."""
    value = os.environ.get(CROSS_ENCODER_ENV, "").strip().lower()
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    return CROSS_ENCODER_DEFAULT
