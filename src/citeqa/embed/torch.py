"""The sentence-transformers (torch) embedding backend: the reference the other backends are checked against.

torch is imported only when this backend is constructed, never by ``import citeqa``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from ..errors import CiteqaError, InvalidArgumentError
from .base import DEFAULT_MODEL, default_model_path, normalize_rows


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
