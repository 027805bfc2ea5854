"""Shared fixtures: the real bundled model and a real index of the shipped article,
plus a deterministic fake embedder for fast tests of pure logic."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parents[1]
ARTICLE = REPO / "src" / "citeqa" / "data" / "lachin-joint-exercise.txt"


class FakeEmbedder:
    """Bag-of-words hashing embedder: deterministic, instant, no model."""

    model_name = "fake-hash-embedder"
    backend = "fake"
    dim = 64

    @property
    def space(self) -> str:
        return f"{self.model_name}|{self.dim}|fp32"

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        from citeqa.text import tokenize

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text):
                slot = int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim
                out[row, slot] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def embedder():
    """The real bundled all-MiniLM-L6-v2, loaded once."""
    from citeqa.embed import get_embedder

    return get_embedder()


@pytest.fixture(scope="session")
def article_index(tmp_path_factory, embedder):
    """A real index (real model, FAISS, BM25) of the shipped article, built once."""
    from citeqa import build_index

    return build_index(None, tmp_path_factory.mktemp("article-index"), embedder=embedder)


@pytest.fixture
def free_port() -> int:
    from serving import free_port as pick

    return pick()
