"""Opening a store for querying: the local folder or Milvus by address, checked against this citeqa's pipeline.

An index whose BM25 tokens, sentences or sentence vectors were made by other rules (or
by another embedding model than the query's) is refused with the command that rebuilds it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..embed import Embedder
from ..embed.passage import EMBEDDING_TEXT
from ..errors import IncompatibleIndexError
from ..ingest.segment import RULES_VERSION
from ..text import TOKENIZER_VERSION
from .format import rebuild_hint
from .local import LocalStore
from .milvus import MilvusStore, is_milvus_address
from .seam import SentenceStore


def open_store(address: str | os.PathLike[str], *, check_stale: bool = True) -> SentenceStore:
    """The store at ``address``: a Milvus address opens the Milvus store, anything else the index folder.

    Raises:
        IndexNotFoundError, CorruptIndexError, StaleIndexError, IncompatibleIndexError;
        MilvusStoreError: the milvus extra is missing or Milvus is unreachable.
    """
    if is_milvus_address(address):
        return MilvusStore.open(str(address), check_stale=check_stale)
    return LocalStore.open(Path(address), check_stale=check_stale)


def check_pipeline(manifest: Mapping[str, Any], where: Path | str, *, local: bool = False) -> None:
    """Refuse an index whose BM25 tokens, sentences or sentence vectors were made by other rules.

    ``where`` is a local index's version folder (``local``; the message then names the
    whole rebuild command, sources included) or a store's address.
    """
    tokenizer = manifest.get("tokenizer", {}).get("version")
    rules = manifest.get("segmenter", {}).get("params", {}).get("rules_version")
    if tokenizer != TOKENIZER_VERSION or rules != RULES_VERSION:
        command = rebuild_hint(dict(manifest), Path(where).parent) if local else "citeqa build"
        raise IncompatibleIndexError(
            f"index at {where} was built with tokenizer v{tokenizer} and segmentation rules "
            f"v{rules}; this citeqa uses v{TOKENIZER_VERSION} and v{RULES_VERSION}; rebuild it with: {command}"
        )
    embedded = manifest.get("embedding_text")
    if embedded != EMBEDDING_TEXT:
        # the reranker was fitted on vectors of each sentence read after its headline
        raise IncompatibleIndexError(
            f"index at {where} holds sentence vectors of "
            f"{'each sentence alone' if embedded is None else repr(embedded)}; this citeqa embeds "
            f"{EMBEDDING_TEXT!r} (citeqa.embed.passage); rebuild it with citeqa build"
        )


def check_space(embedder: Embedder, manifest: Mapping[str, Any], where: Path | str) -> None:
    expected = manifest.get("vector_space")
    if embedder.space != expected:
        raise IncompatibleIndexError(
            f"index at {where} holds vectors of {expected!r} but the query embedder makes "
            f"{embedder.space!r}; rebuild the index with this model or use the one it was built with"
        )
