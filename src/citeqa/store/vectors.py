"""Choosing and building the FAISS index for a set of sentence vectors.

- ``flat``: exact inner-product search (``IndexFlatIP``); 1.5 kB per 384-d sentence and
  search time linear in the corpus (about 6 ms per query at 100k sentences here).
- ``ivf-sq8``: an inverted file over ``~4·sqrt(n)`` k-means lists with 8-bit scalar
  quantized vectors (a quarter of the flat size). ``nprobe`` (lists searched per query)
  is calibrated at build time: the smallest value whose recall@10 against exact search
  reaches :data:`RECALL_TARGETS` on sample queries, recorded in the manifest. (Asking
  recall@100 ≥ 0.95 too needed 40% of the lists at 100k sentences: no faster than exact
  search.) The sample
  queries are normalized midpoints of two random indexed vectors: on SQuAD questions
  their recall tracks that of real questions within about 0.01.
- ``hnsw-sq8``: an HNSW graph (M=16) over 8-bit scalar quantized vectors: ~530 bytes
  per 384-d sentence. The graph is linked over the vectors' first 64 principal components
  (L2 over 8-bit codes, efConstruction=40) and searched with the full vectors
  (:func:`_build_hnsw`): at a million composed SQuAD sentences that took 122 CPU s where
  linking the full vectors with efConstruction 80 took 276, and 200 SQuAD questions'
  recall@10 / @50 at efSearch 512 rose from 0.954 / 0.955 to 0.970 / 0.972 (0.961 / 0.963
  at efSearch 256; at 300k: 38 against 86 CPU s, 0.983 against 0.987). ``efSearch`` is
  calibrated like ``nprobe`` but for recall@10 *and* recall@50 (the reranker reads the
  top 50 dense candidates,
  :data:`citeqa.search.candidates.DENSE_CANDIDATES`): on the SQuAD eval, IVF lost
  0.006–0.02 MRR through candidates missed below rank 10, while the 8-bit quantization
  alone cost 0.0004. Its sample queries are question-like (:func:`near_data_queries`):
  midpoints were far harder than real questions on a large graph (at a million composed
  SQuAD sentences, recall@10 0.87 at efSearch 512 where 200 SQuAD questions reach 0.96),
  so the calibration picked the largest efSearch, 1,024, and searches took 2.4 ms.
- ``auto``: flat below :data:`APPROX_MIN_SENTENCES` sentences, ``hnsw-sq8`` from there
  (see ``benchmarks/speed.py`` for the measurements behind the threshold).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError

log = logging.getLogger("citeqa")

INDEX_TYPES = ("auto", "flat", "ivf-sq8", "hnsw-sq8")
#: From this many sentences on, "auto" picks the approximate index.
APPROX_MIN_SENTENCES = 100_000
#: nprobe is raised until recall@k against exact search reaches these on sample queries.
RECALL_TARGETS = {10: 0.97}
#: efSearch is raised until both are reached on :func:`near_data_queries` (candidates come
#: from below rank 10 too: the reranker reads 50). Those queries are a little harder than
#: real questions (at a million composed sentences, recall@10 0.959 at efSearch 384 against
#: 0.967 for 200 SQuAD questions; on the graph linked over the full vectors, 0.95 against
#: 0.96 at 768; within 0.01 at 300k), so meeting 0.95 on them keeps the questions'
#: recall@10 above 0.95.
HNSW_RECALL_TARGETS = {10: 0.95, 50: 0.95}
#: A found sentence scoring within this of the exact k-th best ties it (see :func:`recall_at`).
RECALL_TIE = 1e-5
#: Cosine between a :func:`near_data_queries` query and the indexed vector it is made from:
#: a question is about that far from its answer sentence (MiniLM, fit half of the SQuAD
#: tune file, 536 questions: median cosine 0.68 to the gold sentence, 0.71 to the nearest).
QUERY_COSINE = 0.7
NPROBE_STEPS = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
#: Finer between 512 and 768: at a million sentences the recall of the calibration queries was
#: nearly flat there (0.945-0.955 at 512-1,024, on the graph linked over the full vectors)
#: while each step costs ~0.4 ms per search.
EF_STEPS = (64, 96, 128, 192, 256, 384, 512, 576, 640, 768, 1024)
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 40
#: The HNSW graph is linked over this many principal components (see :func:`_build_hnsw`).
HNSW_GRAPH_DIM = 64
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
    return "hnsw-sq8" if n >= APPROX_MIN_SENTENCES else "flat"


def build_vector_index(vectors: np.ndarray, index_type: str = "auto", *, seed: int = 0) -> VectorIndex:
    """Build the FAISS index of unit ``vectors`` (inner product).

    Args:
        vectors: ``(n, dim)`` unit vectors (float32, or float16: read block by block).
        index_type: One of :data:`INDEX_TYPES`.
        seed: Seed of the training sample and the calibration queries.
    """
    import faiss

    n, dim = vectors.shape
    kind = choose_index_type(index_type, n)
    if kind == "flat" or n < 2:
        flat = faiss.IndexFlatIP(dim)
        add_blocks(flat, vectors)
        return VectorIndex(flat, {"type": "flat", "factory": "IndexFlatIP", "params": {}, "search": {}})
    rng = np.random.default_rng(seed)
    if kind == "hnsw-sq8":
        return _build_hnsw(vectors, rng)
    nlist = int(np.clip(round(4 * np.sqrt(n)), 1, max(1, n // 39)))
    train = np.asarray(vectors[np.sort(rng.choice(n, size=min(n, TRAIN_POINTS_PER_LIST * nlist), replace=False))], dtype=np.float32)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.train(train)
    train_points = int(train.shape[0])
    del train
    add_blocks(index, vectors)
    nprobe, recall = calibrate(index, "nprobe", NPROBE_STEPS, RECALL_TARGETS, vectors, rng)
    info = {
        "type": "ivf-sq8",
        "factory": f"IVF{nlist},SQ8",
        "params": {"nlist": nlist, "train_points": train_points},
        "search": {"nprobe": nprobe},
        "calibration": {
            "queries": CALIBRATION_QUERIES,
            **{f"recall_at_{k}": round(r, 4) for k, r in recall.items()},
            "targets": {f"recall_at_{k}": t for k, t in RECALL_TARGETS.items()},
        },
    }
    return VectorIndex(index, info)


#: Vectors converted to float32 and added at a time by :func:`add_blocks` (24 MB at 384-d).
ADD_BLOCK = 1 << 14


def add_blocks(index: Any, vectors: np.ndarray) -> None:
    """Add ``vectors`` (any float dtype, e.g. float16 or a memory map) to a FAISS index
    :data:`ADD_BLOCK` rows at a time: never a float32 copy of all of them at once."""
    for lo in range(0, vectors.shape[0], ADD_BLOCK):
        index.add(np.ascontiguousarray(vectors[lo : lo + ADD_BLOCK], dtype=np.float32))


def calibration_queries(vectors: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Sample queries near the data but not on it: normalized midpoints of random pairs."""
    n = vectors.shape[0]
    a = np.asarray(vectors[rng.integers(0, n, size=count)], dtype=np.float32)
    b = np.asarray(vectors[rng.integers(0, n, size=count)], dtype=np.float32)
    queries = a + b
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(queries / norms, dtype=np.float32)


def near_data_queries(vectors: np.ndarray, rng: np.random.Generator, count: int, cosine: float = QUERY_COSINE) -> np.ndarray:
    """Sample queries as far from the data as questions are from their answers: random
    indexed vectors each turned towards a random orthogonal direction until its cosine
    to the vector is ``cosine``."""
    n = vectors.shape[0]
    start = np.asarray(vectors[rng.integers(0, n, size=count)], dtype=np.float32)
    start /= np.maximum(np.linalg.norm(start, axis=1, keepdims=True), 1e-12)
    turn = rng.standard_normal(start.shape).astype(np.float32)
    turn -= np.einsum("ij,ij->i", turn, start)[:, None] * start
    turn /= np.maximum(np.linalg.norm(turn, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(cosine * start + np.sqrt(1.0 - cosine * cosine) * turn, dtype=np.float32)


#: Rows per block of the exact search (:func:`exact_search`): 16k rows of 384-d float32 =
#: 24 MB, and 300 queries' scores of them 20 MB (64k-row blocks held ~700 MB of scores, ids
#: and their partition at once: the peak of a million-sentence build).
EXACT_BLOCK = 1 << 14


#: Queries scored against a block at a time by :func:`exact_search` (each query's row is
#: ranked alone, so the ids are the same for any value): 100 queries' scores of a block,
#: their partition and its ids are ~30 MB, where all 300 queries' held ~100 MB on top of
#: the finished index (the peak of a million-sentence build).
EXACT_QUERIES = 100


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids of the ``k`` best inner products of each query over ``vectors``, best first.

    Block by block, so no copy of all the vectors is made (a flat FAISS index would hold
    a second float32 copy: 1.5 GB at a million 384-d sentences). Ties keep the lower id.
    """
    n = vectors.shape[0]
    k = min(k, n)
    best_scores = np.full((queries.shape[0], 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((queries.shape[0], 0), dtype=np.int64)
    for lo in range(0, n, EXACT_BLOCK):
        block = np.asarray(vectors[lo : lo + EXACT_BLOCK], dtype=np.float32)
        parts = [
            _block_best(queries[q : q + EXACT_QUERIES], block, lo, k, best_scores[q : q + EXACT_QUERIES], best_ids[q : q + EXACT_QUERIES])
            for q in range(0, queries.shape[0], EXACT_QUERIES)
        ]
        best_scores = np.concatenate([p[0] for p in parts]) if parts else best_scores
        best_ids = np.concatenate([p[1] for p in parts]) if parts else best_ids
    order = np.lexsort((best_ids, -best_scores), axis=1)
    return np.take_along_axis(best_ids, order, axis=1)


def _block_best(
    queries: np.ndarray, block: np.ndarray, lo: int, k: int, best_scores: np.ndarray, best_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of each query's best so far and its scores over ``block`` (rows from ``lo``)."""
    scores = queries @ block.T
    if scores.shape[1] > k:  # the block's own best k first: only they meet the best so far
        keep = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        scores, ids = np.take_along_axis(scores, keep, axis=1), keep + lo
    else:
        ids = np.broadcast_to(np.arange(lo, lo + block.shape[0]), scores.shape)
    scores = np.concatenate([best_scores, scores], axis=1)
    ids = np.concatenate([best_ids, ids], axis=1)
    keep = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, keep, axis=1), np.take_along_axis(ids, keep, axis=1)


def recall_at(
    found: np.ndarray, exact: np.ndarray, vectors: np.ndarray | None = None, queries: np.ndarray | None = None
) -> float:
    """Mean share of the exact top-k found (ids of -1 never count).

    Given the ``vectors`` and the ``queries``, a found id whose inner product with its query
    ties the exact k-th best's (within :data:`RECALL_TIE`) counts too: which of several
    identical sentences make the top k is arbitrary ("Examples" heads each of R's 2,415
    reference pages), and counting ids alone scored a search that found other copies as missing.
    """
    k = exact.shape[1]
    if not exact.size:
        return 1.0
    if vectors is None or queries is None:
        hits = sum(len(set(f[f >= 0].tolist()) & set(e.tolist())) for f, e in zip(found, exact))
        return hits / (k * exact.shape[0])
    queries = np.asarray(queries, dtype=np.float32)
    kth = np.einsum("qd,qd->q", queries, np.asarray(vectors[exact[:, -1]], dtype=np.float32))
    valid = found >= 0
    rows = np.asarray(vectors[np.where(valid, found, 0).ravel()], dtype=np.float32).reshape(*found.shape, -1)
    scores = np.einsum("qd,qkd->qk", queries, rows)
    hits = np.minimum(((scores >= kth[:, None] - RECALL_TIE) & valid).sum(axis=1), k)
    return float(hits.sum()) / (k * exact.shape[0])


def principal_axes(sample: np.ndarray, count: int) -> np.ndarray:
    """``(dim, count)`` float32 unit axes of the largest variance of ``sample`` (PCA, as
    columns, largest first). Computed in float32 (a float64 centered copy of 100k 384-d
    rows would add 300 MB to the build's peak); the ``dim x dim`` eigenproblem in float64."""
    centered = sample - sample.mean(axis=0, dtype=np.float64).astype(np.float32)
    covariance = (centered.T @ centered).astype(np.float64)
    del centered
    _, axes = np.linalg.eigh(covariance)  # ascending eigenvalues
    return np.ascontiguousarray(axes[:, ::-1][:, :count], dtype=np.float32)


def _build_hnsw(vectors: np.ndarray, rng: np.random.Generator) -> VectorIndex:
    """HNSW-SQ8 over the full vectors, whose graph is built over their PCA projection.

    The graph is linked in :data:`HNSW_GRAPH_DIM` dimensions (L2 over 8-bit codes: a
    sixth of the distance cost) and then given, as it is, to the index searched with
    the full 8-bit vectors (inner product). Neighbours chosen in the projection keep the
    graph navigable: see the module docstring for the recall and CPU figures.
    """
    import faiss

    n, dim = vectors.shape
    sample = np.asarray(vectors[np.sort(rng.choice(n, size=min(n, 100_000), replace=False))], dtype=np.float32)
    index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.train(sample)
    axes = principal_axes(sample, min(HNSW_GRAPH_DIM, dim))
    graph = faiss.IndexHNSWSQ(axes.shape[1], faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_L2)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    graph.train(sample @ axes)
    del sample
    for lo in range(0, n, ADD_BLOCK):
        graph.add(np.ascontiguousarray(np.asarray(vectors[lo : lo + ADD_BLOCK], dtype=np.float32) @ axes))
    index.hnsw = graph.hnsw  # a copy of the links, levels and entry point
    index.hnsw.is_similarity = True  # the searched index ranks by inner product (the graph by L2)
    del graph
    add_blocks(faiss.downcast_index(index.storage), vectors)
    index.ntotal = n
    ef, recall = calibrate(
        index.hnsw, "efSearch", EF_STEPS, HNSW_RECALL_TARGETS, vectors, rng, searcher=index, queries=near_data_queries
    )
    info = {
        "type": "hnsw-sq8",
        "factory": f"HNSW{HNSW_M},SQ8",
        "params": {
            "M": HNSW_M,
            "efConstruction": HNSW_EF_CONSTRUCTION,
            "graph": f"PCA{axes.shape[1]},SQ8,L2",
        },
        "search": {"efSearch": ef},
        "calibration": {
            "queries": CALIBRATION_QUERIES,
            "query_cosine": QUERY_COSINE,
            **{f"recall_at_{k}": round(r, 4) for k, r in recall.items()},
            "targets": {f"recall_at_{k}": t for k, t in HNSW_RECALL_TARGETS.items()},
        },
    }
    return VectorIndex(index, info)


def apply_search_params(index: Any, search: dict[str, Any]) -> None:
    """Set the recorded search parameters (``nprobe``, ``efSearch``) on a loaded index."""
    if "nprobe" in search and hasattr(index, "nprobe"):
        index.nprobe = int(search["nprobe"])
    if "efSearch" in search and hasattr(index, "hnsw"):
        index.hnsw.efSearch = int(search["efSearch"])


def calibrate(
    holder: Any,
    knob: str,
    steps: tuple[int, ...],
    targets: dict[int, float],
    vectors: np.ndarray,
    rng: np.random.Generator,
    *,
    searcher: Any = None,
    queries: Callable[[np.ndarray, np.random.Generator, int], np.ndarray] | None = None,
) -> tuple[int, dict[int, float]]:
    """Set ``holder.<knob>`` to the smallest step whose recall meets ``targets``.

    Args:
        holder: The object carrying the knob (the IVF index, or an HNSW graph).
        knob: "nprobe" or "efSearch".
        steps: Increasing values to try (the last one is kept if none suffices).
        targets: Required recall per depth, e.g. ``{10: 0.97}``.
        vectors: The indexed vectors (exact search over them is the truth).
        rng: Source of the sample queries.
        searcher: The index to search (default: ``holder``).
        queries: Makes the sample queries from the vectors (default: :func:`calibration_queries`).

    Returns:
        The chosen value and the recall reached at each depth.
    """
    searcher = searcher if searcher is not None else holder
    n = vectors.shape[0]
    depths = {k: min(k, n) for k in targets}
    deepest = max(depths.values())
    sample = (queries or calibration_queries)(vectors, rng, CALIBRATION_QUERIES)
    exact = exact_search(vectors, sample, deepest)
    limit = getattr(holder, "nlist", None)
    recall: dict[int, float] = {}
    value = steps[0]
    for step in steps:
        value = min(step, limit) if limit else step
        setattr(holder, knob, value)
        _, found = searcher.search(sample, deepest)
        recall = {k: recall_at(found[:, :d], exact[:, :d], vectors, sample) for k, d in depths.items()}
        if all(recall[k] >= targets[k] for k in depths) or (limit and value >= limit):
            break
    if not all(recall[k] >= targets[k] for k in depths):
        log.warning(
            "the approximate index reaches recall %s at %s=%d (targets %s); "
            "build with --index-type flat for exact search",
            {k: round(r, 3) for k, r in recall.items()}, knob, value, targets,
        )
    return int(value), recall
