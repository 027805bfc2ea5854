"""Choosing and building the FAISS index for a set of sentence vectors.

- ``flat``: exact inner-product search (``IndexFlatIP``); 1.5 kB per 384-d sentence and
  search time linear in the corpus (about 6 ms per query at 100k sentences here).
- ``ivf-sq8``: an inverted file over ``~4·sqrt(n)`` k-means lists with 8-bit scalar
  quantized vectors (a quarter of the flat size). ``nprobe`` (lists searched per query)
  is calibrated at build time: the smallest value whose recall@10 against exact search
  reaches :data:`RECALL_TARGETS` on sample queries, recorded in the manifest. (Asking
  recall@100 ≥ 0.95 too, the depth retrieval fuses, needed 40% of the lists at 100k
  sentences: no faster than exact search.) The sample
  queries are normalized midpoints of two random indexed vectors: on SQuAD questions
  their recall tracks that of real questions within about 0.01.
- ``auto``: flat below :data:`APPROX_MIN_SENTENCES` sentences, ``ivf-sq8`` from there
  (see ``benchmarks/speed.py`` for the measurements behind the threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidArgumentError

INDEX_TYPES = ("auto", "flat", "ivf-sq8")
#: From this many sentences on, "auto" picks the approximate index.
APPROX_MIN_SENTENCES = 100_000
#: nprobe is raised until recall@k against exact search reaches these on sample queries.
RECALL_TARGETS = {10: 0.97}
NPROBE_STEPS = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
CALIBRATION_QUERIES = 300
TRAIN_POINTS_PER_LIST = 40


#: Searches of fewer queries than this run on the calling thread alone (see VectorSearcher).
PARALLEL_MIN_QUERIES = 20


class VectorSearcher:
    """A loaded FAISS index whose searches of a few queries run single-threaded.

    FAISS parallelizes even one query with OpenMP; on 2 shared cores that made a
    10k-sentence flat search 0.3 ms single-threaded but 4–10 ms parallel (threads
    waiting on each other and on ONNX Runtime). ``omp_set_num_threads`` only changes the
    calling thread's setting, so concurrent searches and builds don't affect each other.
    Everything else (``ntotal``, ``d``, ``nprobe``, ``reconstruct_n``...) is the index's.
    """

    def __init__(self, index: Any) -> None:
        self.index = index

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of the ``k`` nearest vectors of each query row."""
        import faiss

        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[0] >= PARALLEL_MIN_QUERIES:
            return self.index.search(queries, k)
        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self.index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(previous)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)


@dataclass(frozen=True)
class VectorIndex:
    """A built FAISS index and the manifest fields describing it."""

    index: Any  # faiss.Index
    info: dict[str, Any]


def check_index_type(index_type: str) -> str:
    """Validate an index type name (see :data:`INDEX_TYPES`)."""
    if index_type not in INDEX_TYPES:
        raise InvalidArgumentError(f"index type must be one of {', '.join(INDEX_TYPES)}, got {index_type!r}")
    return index_type


def choose_index_type(index_type: str, n: int) -> str:
    """The concrete index type for ``n`` sentences ("auto" resolved by size)."""
    check_index_type(index_type)
    if index_type != "auto":
        return index_type
    return "ivf-sq8" if n >= APPROX_MIN_SENTENCES else "flat"


def build_vector_index(vectors: np.ndarray, index_type: str = "auto", *, seed: int = 0) -> VectorIndex:
    """Build the FAISS index of unit ``vectors`` (inner product).

    Args:
        vectors: float32 ``(n, dim)`` unit vectors.
        index_type: One of :data:`INDEX_TYPES`.
        seed: Seed of the training sample and calibration queries (builds are reproducible).
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = choose_index_type(index_type, n)
    if kind == "flat" or n < 2:
        flat = faiss.IndexFlatIP(dim)
        flat.add(vectors)
        return VectorIndex(flat, {"type": "flat", "factory": "IndexFlatIP", "params": {}, "search": {}})
    nlist = int(np.clip(round(4 * np.sqrt(n)), 1, max(1, n // 39)))
    rng = np.random.default_rng(seed)
    train = vectors[np.sort(rng.choice(n, size=min(n, TRAIN_POINTS_PER_LIST * nlist), replace=False))]
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.train(train)
    index.add(vectors)
    nprobe, recall = calibrate_nprobe(index, vectors, rng)
    info = {
        "type": "ivf-sq8",
        "factory": f"IVF{nlist},SQ8",
        "params": {"nlist": nlist, "train_points": int(train.shape[0])},
        "search": {"nprobe": nprobe},
        "calibration": {
            "queries": CALIBRATION_QUERIES,
            **{f"recall_at_{k}": round(r, 4) for k, r in recall.items()},
            "targets": {f"recall_at_{k}": t for k, t in RECALL_TARGETS.items()},
        },
    }
    return VectorIndex(index, info)


def calibration_queries(vectors: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Sample queries near the data but not on it: normalized midpoints of random pairs."""
    n = vectors.shape[0]
    a = vectors[rng.integers(0, n, size=count)]
    b = vectors[rng.integers(0, n, size=count)]
    queries = a + b
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(queries / norms, dtype=np.float32)


def recall_at(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact top-k ids found (ids of -1 never count)."""
    k = exact.shape[1]
    hits = sum(len(set(f[f >= 0].tolist()) & set(e.tolist())) for f, e in zip(found, exact))
    return hits / (k * exact.shape[0]) if exact.size else 1.0


def calibrate_nprobe(index: Any, vectors: np.ndarray, rng: np.random.Generator) -> tuple[int, dict[int, float]]:
    """Set ``index.nprobe`` to the smallest step meeting :data:`RECALL_TARGETS`.

    Returns:
        The chosen nprobe and the recall reached at each depth.
    """
    import faiss

    n = vectors.shape[0]
    depths = {k: min(k, n) for k in RECALL_TARGETS}
    deepest = max(depths.values())
    queries = calibration_queries(vectors, rng, CALIBRATION_QUERIES)
    exact_index = faiss.IndexFlatIP(vectors.shape[1])
    exact_index.add(vectors)
    _, exact = exact_index.search(queries, deepest)
    del exact_index
    recall: dict[int, float] = {}
    for step in NPROBE_STEPS:
        index.nprobe = min(step, index.nlist)
        _, found = index.search(queries, deepest)
        recall = {k: recall_at(found[:, :d], exact[:, :d]) for k, d in depths.items()}
        if all(recall[k] >= RECALL_TARGETS[k] for k in depths) or index.nprobe >= index.nlist:
            break
    return int(index.nprobe), recall
