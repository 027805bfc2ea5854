"""Shared fixtures: the real bundled model and a real index of the shipped article, a real
milvus-lite server on 127.0.0.1 (once per session, for the Milvus store tests),
plus a deterministic fake embedder for fast tests of pure logic."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parents[1]
ARTICLE = REPO / "src" / "citeqa" / "data" / "lachin-joint-exercise.txt"


@pytest.fixture(scope="session", autouse=True)
def own_workspace(tmp_path_factory):
    """The chat's workspace of uploaded documents for this test run, never the user's: a server
    started without ``--workspace`` answers from it too (documents uploaded on this machine
    were once answered from by every server test)."""
    saved = os.environ.get("CITEQA_WORKSPACE")
    os.environ["CITEQA_WORKSPACE"] = str(tmp_path_factory.mktemp("workspace"))
    yield Path(os.environ["CITEQA_WORKSPACE"])
    if saved is None:
        os.environ.pop("CITEQA_WORKSPACE", None)
    else:
        os.environ["CITEQA_WORKSPACE"] = saved


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


@pytest.fixture(scope="session")
def index_of(tmp_path_factory, embedder):
    """Build a real index (real model, FAISS, BM25) of one hand-made document: ``index_of("rhine.txt", TEXT)``."""
    from citeqa import build_index

    def build(name: str, text: str):
        stem = name.rsplit(".", 1)[0]
        folder = tmp_path_factory.mktemp(f"{stem}-docs")
        (folder / name).write_text(text, encoding="utf-8")
        return build_index([folder], tmp_path_factory.mktemp(f"{stem}-index"), embedder=embedder)

    return build


@pytest.fixture
def free_port() -> int:
    from serving import free_port as pick

    return pick()


# --------------------------------------------------------------------------- Milvus (tests/store)


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    return _free_loopback_port()


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory):
    """``HOST:PORT`` of a real ``milvus-lite server`` on 127.0.0.1 (an ephemeral port), for the whole session."""
    pytest.importorskip("pymilvus", reason="the Milvus store needs the extra: pip install 'citeqa[milvus]'")
    from citeqa.store.milvus import wait_for_server

    port = _free_loopback_port()
    data = tmp_path_factory.mktemp("milvus-data")
    log = open(data.parent / "milvus-server.log", "w")  # noqa: SIM115 - open for the whole session
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_server(f"milvus://127.0.0.1:{port}/probe", timeout=60)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
