"""The cross-encoder stage: reads question and sentence together and rescores the reranker's top candidates.

The model (a 4-layer MiniLM cross-encoder trained here by
``benchmarks/train_cross_encoder.py`` on the fit halves of the evaluation datasets, ONNX
int8) ships in ``data/cross_encoder/`` with a manifest of its files' sha256; a file that
does not match is refused. :class:`CrossEncoder` runs it (ONNX Runtime + ``tokenizers``, no
torch); :func:`cross_rerank` is the pure array step that tests drive with hand-made numbers:
the final score of a candidate is ``log(p_reranker) + weight * cross_logit``, renormalised
over the candidates (``weight`` fitted on fit halves, stored in the manifest).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..config import package_data
from ..errors import CorruptIndexError, InvalidArgumentError
from .fusion import Ranking

#: How many of the reranker's best candidates the cross-encoder reads.
CROSS_CANDIDATES = 20


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, elementwise, stable for large |x| (also the answerability model's link)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def cross_rerank(ranking: Ranking, logits: np.ndarray, weight: float, top_k: int) -> Ranking:
    """Reorder the first ``len(logits)`` entries of ``ranking`` by reranker and cross-encoder together.

    Args:
        ranking: The reranker's ranking (scores are its softmax shares, descending).
        logits: Cross-encoder logits of its first ``len(logits)`` sentences, in order.
        weight: How much a logit counts against the reranker's log-probability (0: order unchanged).
        top_k: How many to return.

    Returns:
        A :class:`Ranking` whose scored head is reordered by ``log(score) + weight * logit``
        (scores renormalised to keep the head's share), followed by the unscored rest in
        their old order; ``cross`` holds each sentence's cross-encoder probability (NaN
        where not scored).
    """
    if top_k <= 0:
        raise InvalidArgumentError(f"top_k must be > 0, got {top_k}")
    logits = np.asarray(logits, dtype=np.float64).reshape(-1)
    m = logits.shape[0]
    if m > len(ranking):
        raise InvalidArgumentError(f"got {m} cross-encoder logits for a ranking of {len(ranking)}")
    head = np.asarray(ranking.scores[:m], dtype=np.float64)
    combined = np.log(np.maximum(head, 1e-12)) + weight * logits
    shares = np.exp(combined - combined.max()) if m else combined
    shares = shares / shares.sum() * head.sum() if m else shares
    order = np.concatenate([np.argsort(-combined, kind="stable"), np.arange(m, len(ranking))]).astype(np.int64)[:top_k]
    scores = np.concatenate([shares, np.asarray(ranking.scores[m:], dtype=np.float64)])
    cross = np.concatenate([sigmoid(logits), np.full(len(ranking) - m, np.nan)])
    return Ranking(
        ids=ranking.ids[order],
        scores=scores[order].astype(np.float32),
        dense=ranking.dense[order],
        lexical=ranking.lexical[order],
        cross=cross[order].astype(np.float32),
    )


@dataclass(frozen=True)
class CrossManifest:
    """What ``data/cross_encoder/manifest.json`` says: files and hashes, the fitted weight, the training record."""

    folder: Path
    max_length: int
    weight: float
    files: dict[str, str]
    info: dict[str, Any]

    @property
    def digest(self) -> str:
        """A short digest of the model files (part of ``citeqa eval``'s cache key)."""
        return hashlib.sha256(json.dumps(self.files, sort_keys=True).encode()).hexdigest()[:16]


def read_manifest(folder: Path | None = None) -> CrossManifest | None:
    """The shipped cross-encoder's manifest, or None when no model ships in ``folder``."""
    folder = folder or package_data("cross_encoder")
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return CrossManifest(
        folder=folder,
        max_length=int(data["max_length"]),
        weight=float(data.get("weight", 1.0)),
        files={name: str(entry["sha256"]) for name, entry in data["files"].items()},
        info={k: v for k, v in data.items() if k not in ("files",)},
    )


class CrossEncoder:
    """The shipped cross-encoder on ONNX Runtime (thread-safe: one run at a time)."""

    def __init__(self, manifest: CrossManifest) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        for name, expected in manifest.files.items():
            actual = hashlib.sha256((manifest.folder / name).read_bytes()).hexdigest()
            if actual != expected:
                raise CorruptIndexError(
                    f"cross-encoder file {manifest.folder / name} does not match its manifest (sha256 {actual[:12]}, "
                    f"expected {expected[:12]}); reinstall citeqa"
                )
        self.manifest = manifest
        tokenizer = Tokenizer.from_file(str(manifest.folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=manifest.max_length)
        pad_id = tokenizer.token_to_id("[PAD]")
        tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(manifest.folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()

    @property
    def weight(self) -> float:
        """The fitted weight of a logit against the reranker's log-probability."""
        return self.manifest.weight

    def logits(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """One logit per sentence: how strongly it answers ``question`` (sigmoid = probability)."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        encodings = self._tokenizer.encode_batch([(question, s) for s in sentences])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        with self._lock:
            (out,) = self._session.run(["logits"], {k: v for k, v in feed.items() if k in self._inputs})
        return np.asarray(out, dtype=np.float32).reshape(-1)


@lru_cache(maxsize=1)
def shipped_cross_encoder() -> CrossEncoder | None:
    """The packaged cross-encoder, loaded once per process (None when the package ships none)."""
    manifest = read_manifest()
    return CrossEncoder(manifest) if manifest is not None else None
