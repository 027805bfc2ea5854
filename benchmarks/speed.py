"""Speed and scale of citeqa next to the naive pipeline, measured in the same run.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/speed.py            # 10k, 100k and 1M sentences
    PYTHONPATH=src python benchmarks/speed.py --sizes 10000 --embed-sample 1000   # smaller
    PYTHONPATH=src python benchmarks/speed.py --quick    # build targets only: a few minutes

The naive pipeline is sentence-transformers on torch + ``faiss.IndexFlatIP``.
Everything is made locally from SQuAD v1.1 dev (tune half), no downloads:

1. Cold start: wall time of ``citeqa ask`` in a fresh process (shipped article) next to
   ``python -c "import sentence_transformers"`` and the naive import + load model +
   encode one sentence (medians of ``--repeats`` runs).
2. Build throughput on the same real sentences: naive (torch encode + IndexFlatIP +
   write) vs citeqa's index build from sentences (ONNX fp32 / int8 embedding + BM25 +
   FAISS + atomic write), and citeqa's end-to-end build from files (with pysbd).
3. Retrieval quality, ReQA-style: every sentence of the SQuAD tune paragraphs is indexed
   with :func:`citeqa.build_index` (one file per paragraph); each question must retrieve
   the sentence holding its answer. MRR@10 for ONNX fp32 (flat), ONNX int8 (flat) and ONNX
   fp32 with the HNSW-SQ8 and IVF-SQ8 indexes forced (rebuilt incrementally: no
   re-embedding).
2b. End to end, the issue's build target: ``--e2e-sentences`` real SQuAD sentences written as
   one .txt file per paragraph, built from the folder by ``citeqa build``'s code
   (:func:`citeqa.build_index`, default ONNX int8) next to the naive pipeline (pysbd
   ``Segmenter`` + sentence-transformers + IndexFlatIP + write) in the same run; each in a
   fresh process whose start (imports, model load) is excluded; ``--e2e-repeats`` runs
   each, interleaved; medians, with the load average beside each run.
2c. OpenVINO (optional, when ``openvino`` and ``nncf`` are installed): the bundled model's
   ONNX export read by OpenVINO, int8 weight-only compression (no calibration data) with
   OpenVINO's dynamic int8 activations, run with citeqa's length-bucketed batching; its
   sentences/s next to ONNX Runtime int8/fp32 in the same process, cosine to fp32, and the
   dense-only ReQA MRR@10 of each (the pool's sentence vectors, questions embedded alone).
4. Scale (10k / 100k / 1M sentences): real sentence vectors are embedded once (the
   pool of step 3, cached under ``--out``) and composed: each corpus sentence is the
   normalized mix ``a·p_i + (1-a)·p_j`` (a ~ U(0.3, 0.7)) of two pool sentences, its text
   the first half of sentence i plus the second half of sentence j. Queries are real
   SQuAD questions embedded by the same model. The vectors are those of ``--scale-backend``
   (default ONNX int8, the space ``citeqa build`` makes, so ``retrieve`` embeds each question
   with int8 as the product does; ``onnx``: fp32, about 3x the query-embedding time on these
   cores). For each size: build time, index bytes,
   build peak RSS, serving RSS, vector-search and full ``retrieve`` p50/p95, recall@10
   against exact search — citeqa (auto index type) next to the naive flat index. Builds
   and servers run in fresh subprocesses so peak RSS is theirs alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SQUAD = REPO.parent / "shared" / "data" / "squad" / "dev-v1.1-tune.json"
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


# ----------------------------------------------------------------------------- helpers


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` size field in MiB (2**20 bytes), what this script prints as MB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MiB.

    Not ``getrusage``: Linux carries ``ru_maxrss`` over ``exec``, so a worker would
    report the benchmark parent's peak.
    """
    return _status_mb("VmHWM")


def current_rss_mb() -> float:
    """Resident set size now, in MiB."""
    return _status_mb("VmRSS")


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    values = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p95_ms": round(float(np.percentile(values, 95)), 3)}


def recall_at_10(found: np.ndarray, exact: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0].tolist()) & set(e.tolist())) for f, e in zip(found, exact))
    return round(hits / exact.size, 4)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_worker(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``kind`` in a fresh interpreter; returns its JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", kind, json.dumps(params)],
        capture_output=True, text=True, env=ENV, cwd=REPO,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def wall(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env or ENV, cwd=REPO)
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- data


def load_squad(path: Path) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Paragraphs as ``(doc_id, text)`` and questions with the answer's offset."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs: list[tuple[str, str]] = []
    questions: list[dict[str, Any]] = []
    for article in data["data"]:
        for number, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{article['title']}-{number:03d}.txt"
            paragraphs.append((doc_id, paragraph["context"]))
            for qa in paragraph["qas"]:
                questions.append({"doc_id": doc_id, "question": qa["question"], "answer_start": qa["answers"][0]["answer_start"]})
    return paragraphs, questions


def pool_sentences(paragraphs: list[tuple[str, str]]) -> list[str]:
    from citeqa.schema import Document
    from citeqa.ingest.segment import segment_documents

    documents = [Document(doc_id, text, doc_id, "") for doc_id, text in paragraphs]
    return [s.text for s in segment_documents(documents)]


def cached_vectors(out: Path, texts: list[str], backend: str) -> np.ndarray:
    """Vectors of ``texts`` by ``backend``, embedded once and cached under ``out``."""
    key = hashlib.sha256(("\n".join(texts) + backend).encode()).hexdigest()[:16]
    path = out / f"vectors-{backend}-{key}.npy"
    if path.is_file():
        return np.load(path)
    from citeqa.embed import get_embedder

    vectors = get_embedder(backend=backend).encode(texts)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)
    return vectors


def compose_corpus(pool_texts: list[str], pool_vectors: np.ndarray, n: int, seed: int = 7) -> tuple[list[str], np.ndarray]:
    """``n`` sentences mixed from pairs of pool sentences (texts and unit vectors)."""
    rng = np.random.default_rng(seed)
    m = len(pool_texts)
    i = rng.integers(0, m, n)
    j = (i + rng.integers(1, m, n)) % m
    a = rng.uniform(0.3, 0.7, n).astype(np.float32)[:, None]
    vectors = np.empty((n, pool_vectors.shape[1]), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        mix = a[lo:hi] * pool_vectors[i[lo:hi]] + (1 - a[lo:hi]) * pool_vectors[j[lo:hi]]
        vectors[lo:hi] = mix / np.linalg.norm(mix, axis=1, keepdims=True)
    halves = [t.split() for t in pool_texts]
    texts = []
    for x, y in zip(i.tolist(), j.tolist()):
        first, second = halves[x], halves[y]
        texts.append(" ".join(first[: max(1, len(first) // 2)] + second[len(second) // 2 :]))
    return texts, vectors


def corpus_documents(texts: list[str], per_document: int = 20):  # type: ignore[no-untyped-def]
    """Group sentences into documents (one paragraph each); returns documents and rows."""
    from citeqa.schema import Document

    documents, rows = [], np.zeros((len(texts), 4), dtype=np.int64)
    for number, first in enumerate(range(0, len(texts), per_document)):
        parts = texts[first : first + per_document]
        offset = 0
        for k, text in enumerate(parts):
            rows[first + k] = (number, offset, offset + len(text), number)
            offset += len(text) + 1
        documents.append(Document(f"doc-{number:06d}.txt", " ".join(parts), f"bench:doc-{number:06d}.txt", ""))
    return documents, rows


# ----------------------------------------------------------------------------- workers


def worker_naive_cold(params: dict[str, Any]) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    SentenceTransformer(params["model"], device="cpu").encode(["One sentence."])
    return {}


def _time_queries(search, full_query, queries, questions):  # type: ignore[no-untyped-def]
    """Time a FAISS-only top-10 search and a full query for each question.

    Returns:
        (search seconds, full-query seconds, the ids each search found).
    """
    search_s, full_s, found = [], [], []
    for q, text in zip(queries, questions):
        t0 = time.perf_counter()
        _, ids = search(q[None, :], 10)
        search_s.append(time.perf_counter() - t0)
        found.append(ids[0])
        t0 = time.perf_counter()
        full_query(text)
        full_s.append(time.perf_counter() - t0)
    return search_s, full_s, found

def worker_embed(params: dict[str, Any]) -> dict[str, Any]:
    """Throughput of one pipeline on the same sentences (fresh process, model loaded first)."""
    import faiss

    texts = json.loads(Path(params["texts"]).read_text(encoding="utf-8"))
    out = Path(params["out"])
    warm = texts[:64]
    if params["pipeline"] == "naive":
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(params["model"], device="cpu")
        model.encode(warm)
        start = time.perf_counter()
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        embed_s = time.perf_counter() - start
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        faiss.write_index(index, str(out / "naive.faiss"))
        total_s = time.perf_counter() - start
    else:
        from citeqa.embed import get_embedder
        from citeqa.build import write_index

        embedder = get_embedder(backend=params["pipeline"])
        embedder.encode(warm)
        start = time.perf_counter()
        vectors = embedder.encode(texts)  # the product's default batch size
        embed_s = time.perf_counter() - start
        documents, rows = corpus_documents(texts)
        write_index(out / f"idx-{params['pipeline']}", documents, rows, texts, vectors, embedder)
        total_s = time.perf_counter() - start
    n = len(texts)
    return {"embed_per_s": round(n / embed_s, 1), "build_per_s": round(n / total_s, 1), "peak_rss_mb": round(peak_rss_mb())}


def worker_build_files(params: dict[str, Any]) -> dict[str, Any]:
    """citeqa's end-to-end build from files (read, pysbd, embed, BM25, FAISS, write)."""
    from citeqa import build_index

    start = time.perf_counter()
    index = build_index([params["folder"]], params["index"], backend=params["backend"], incremental=False)
    seconds = time.perf_counter() - start
    return {"sentences": len(index), "per_s": round(len(index) / seconds, 1), "seconds": round(seconds, 2)}


def worker_e2e(params: dict[str, Any]) -> dict[str, Any]:
    """One end-to-end build from a folder of .txt files; the process start and model load are not timed."""
    import faiss

    folder, out = Path(params["folder"]), Path(params["out"])
    if params["pipeline"] == "naive":
        import pysbd
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(params["model"], device="cpu")
        model.encode(["warm up"])
        start = time.perf_counter()
        segmenter = pysbd.Segmenter(language="en", clean=False)
        texts: list[str] = []
        for path in sorted(folder.glob("*.txt")):
            for line in path.read_text(encoding="utf-8").splitlines():
                texts.extend(t.strip() for t in segmenter.segment(line) if t.strip())
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        out.mkdir(parents=True, exist_ok=True)
        faiss.write_index(index, str(out / "naive.faiss"))
        (out / "sentences.json").write_text(json.dumps(texts), encoding="utf-8")
        seconds, count = time.perf_counter() - start, len(texts)
    else:
        import bm25s  # noqa: F401 - imported before the clock starts, as in a warm process

        from citeqa import build_index
        from citeqa.embed import get_embedder
        from citeqa.ingest import segment  # noqa: F401

        embedder = get_embedder(backend=params["backend"])
        embedder.encode(["warm up"])
        profile = None
        if params.get("profile"):
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        cpu = time.process_time()
        start = time.perf_counter()
        built = build_index([folder], out, embedder=embedder, incremental=False)
        seconds, count = time.perf_counter() - start, len(built)
        cpu_s = time.process_time() - cpu
        if profile is not None:
            import io
            import pstats

            profile.disable()
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(25)
            Path(params["profile"]).write_text(text.getvalue(), encoding="utf-8")
        return {"sentences": count, "seconds": round(seconds, 3), "per_s": round(count / seconds, 1), "cpu_s": round(cpu_s, 3), "load": round(os.getloadavg()[0], 2)}
    return {"sentences": count, "seconds": round(seconds, 3), "per_s": round(count / seconds, 1), "load": round(os.getloadavg()[0], 2)}


#: Multiply-accumulates per token in all-MiniLM-L6-v2's linear layers: 6 layers of Q, K, V
#: and output projections (4 x 384 x 384) and the feed-forward pair (2 x 384 x 1536).
MINILM_MACS_PER_TOKEN = 6 * (4 * 384 * 384 + 2 * 384 * 1536)


def worker_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    """This machine's int8 ceiling for the embedder: ONNX Runtime's own int8 GEMM rate on one
    thread (one MatMulInteger the size of a batch's feed-forward layer, best of 5), and the
    sentences/s it allows on every core if the linear layers ran at that rate and nothing else
    (attention, layer norms, GELU, quantizing activations) cost anything."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer

    m, k, n = 2560, 384, 1536
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "W", "a0", "w0"], ["Y"])], "gemm",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [m, n])],
        initializer=[
            numpy_helper.from_array(rng.integers(-127, 127, (k, n), dtype=np.int8), "W"),
            numpy_helper.from_array(np.array(0, np.uint8), "a0"),
            numpy_helper.from_array(np.array(0, np.int8), "w0"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {"A": rng.integers(0, 255, (m, k), dtype=np.uint8)}
    session.run(None, feed)
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(20):
            session.run(None, feed)
        best = max(best, m * k * n * 20 / (time.perf_counter() - start))
    tokenizer = Tokenizer.from_file(str(Path(params["model"]) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(256)
    texts = json.loads(Path(params["texts"]).read_text(encoding="utf-8"))
    tokens = float(np.mean([len(e.ids) for e in tokenizer.encode_batch(texts)]))
    cores = os.cpu_count() or 1
    return {
        "gemm_gmac_per_s_one_thread": round(best / 1e9, 1),
        "tokens_per_sentence": round(tokens, 1),
        "cores": cores,
        "ceiling_per_s": round(cores * best / (MINILM_MACS_PER_TOKEN * tokens), 1),
        "load": round(os.getloadavg()[0], 2),
    }


class _OpenVinoSession:
    """An OpenVINO compiled model behind ONNX Runtime's ``run(None, feed)``, so citeqa's
    tokenization, length buckets and pooling run unchanged around it."""

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled
        self._request = compiled.create_infer_request()

    def run(self, names: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        result = self._request.infer(feed, share_inputs=True)
        return [np.asarray(result[self._compiled.output(0)])]


def openvino_int8(out: Path) -> Any:
    """The bundled model's ONNX export in OpenVINO with int8 weights (compressed once, cached in ``out``)."""
    import openvino as ov

    from citeqa.embed import default_model_path
    from citeqa.embed.onnx import ensure_export

    core = ov.Core()
    path = out / "openvino-int8w.xml"
    if not path.is_file():
        import nncf

        model = nncf.compress_weights(core.read_model(str(ensure_export(default_model_path(), "fp32"))),
                                      mode=nncf.CompressWeightsMode.INT8_SYM)
        ov.save_model(model, str(path), compress_to_fp16=False)
    config = {"INFERENCE_NUM_THREADS": os.cpu_count() or 1, "PERFORMANCE_HINT": "LATENCY",
              "DYNAMIC_QUANTIZATION_GROUP_SIZE": "32"}
    return _OpenVinoSession(core.compile_model(core.read_model(str(path)), "CPU", config))


def dense_mrr(vectors: np.ndarray, spans: list[tuple[str, int, int]], queries: np.ndarray, questions: list[dict[str, Any]]) -> float:
    """ReQA MRR@10 from sentence vectors alone: the answer's sentence among the 10 nearest."""
    total = 0.0
    top = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    for q, ranked in zip(questions, top):
        for rank, row in enumerate(ranked.tolist(), 1):
            doc_id, start, end = spans[row]
            if doc_id == q["doc_id"] and start <= q["answer_start"] < end:
                total += 1 / rank
                break
    return round(total / len(questions), 4)


def worker_openvino(params: dict[str, Any]) -> dict[str, Any]:
    """OpenVINO int8 next to ONNX Runtime int8 and fp32, in one process, on the same sentences."""
    from citeqa.embed import default_model_path, get_embedder
    from citeqa.embed.onnx import OnnxEmbedder
    from citeqa.ingest.segment import segment_documents
    from citeqa.schema import Document

    texts = json.loads(Path(params["texts"]).read_text(encoding="utf-8"))
    paragraphs, questions = load_squad(Path(params["squad"]))
    rng = np.random.default_rng(11)
    questions = [questions[int(i)] for i in rng.choice(len(questions), min(params["questions"], len(questions)), replace=False)]
    sentences = segment_documents([Document(d, t, d, "") for d, t in paragraphs])
    pool, spans = [s.text for s in sentences], [(s.doc_id, s.start, s.end) for s in sentences]
    start = time.perf_counter()
    ov_session = openvino_int8(Path(params["out"]))
    ov_embedder = OnnxEmbedder(default_model_path(), "openvino-int8w", "fp32")
    ov_embedder._session = ov_session  # citeqa's batching around OpenVINO's model
    ov_embedder._workers = 1  # one infer request, OpenVINO's own threads (the request is not re-entrant)
    setup_s = time.perf_counter() - start
    embedders = {"onnx-int8": get_embedder(backend="onnx-int8"), "onnx": get_embedder(backend="onnx"), "openvino-int8": ov_embedder}
    vectors = {name: e.encode(texts) for name, e in embedders.items()}
    times: dict[str, list[float]] = {name: [] for name in embedders}
    for _ in range(params["repeats"]):
        for name, e in embedders.items():
            start = time.perf_counter()
            e.encode(texts)
            times[name].append(time.perf_counter() - start)
    rows: dict[str, Any] = {"openvino_setup_s": round(setup_s, 1), "load": round(os.getloadavg()[0], 2)}
    for name, e in embedders.items():
        cosine = (vectors[name] * vectors["onnx"]).sum(axis=1)
        queries = np.stack([e.encode([q["question"]])[0] for q in questions])
        rows[name] = {
            "per_s": round(len(texts) / statistics.median(times[name]), 1),
            "cosine_to_fp32_median": round(float(np.median(cosine)), 4),
            "cosine_to_fp32_min": round(float(cosine.min()), 4),
            "dense_mrr": dense_mrr(e.encode(pool), spans, queries, questions),
        }
    rows["questions"], rows["pool_sentences"] = len(questions), len(pool)
    return rows


def npy_blocks(path: Path, rows: int = 65536):  # type: ignore[no-untyped-def]
    """The rows of a 2-D .npy file, block by block, read with plain reads (a memory map
    would count every page it touched in the worker's peak RSS)."""
    with open(path, "rb") as handle:
        major, _ = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(handle)
        for lo in range(0, shape[0], rows):
            count = min(rows, shape[0] - lo)
            yield np.fromfile(handle, dtype=dtype, count=count * shape[1]).reshape(count, shape[1])


def worker_scale_build(params: dict[str, Any]) -> dict[str, Any]:
    """Build one scale corpus from cached vectors (citeqa auto index, or naive flat)."""
    import faiss

    vectors = np.load(params["vectors"], mmap_mode="r")
    start = time.perf_counter()
    if params["pipeline"] == "naive":
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors))
        faiss.write_index(index, params["index"])
        seconds = time.perf_counter() - start
        return {"build_s": round(seconds, 2), "build_peak_rss_mb": round(peak_rss_mb()), "index_bytes": Path(params["index"]).stat().st_size}
    from citeqa import Index
    from citeqa.build import write_index
    from citeqa.embed import get_embedder
    from citeqa.store.vectors import APPROX_MIN_SENTENCES

    texts = json.loads(Path(params["texts"]).read_text(encoding="utf-8"))
    documents, rows = corpus_documents(texts)
    # the vectors as the build pipeline holds them (segment_and_embed keeps them as float16
    # from APPROX_MIN_SENTENCES on), read block by block from the cached float32 file
    dtype = np.float16 if vectors.shape[0] >= APPROX_MIN_SENTENCES and params.get("index_type", "auto") != "flat" else np.float32
    held = np.empty(vectors.shape, dtype=dtype)
    at = 0
    for block in npy_blocks(Path(params["vectors"])):
        held[at : at + block.shape[0]] = block
        at += block.shape[0]
    vectors = held
    loaded = time.perf_counter() - start
    embedder = get_embedder(backend=params.get("backend", "onnx-int8"))
    write_index(params["index"], documents, rows, texts, vectors, embedder, index_type=params.get("index_type", "auto"))
    index = Index.load(params["index"], embedder=embedder, check_stale=False)
    seconds = time.perf_counter() - start
    version = index.path
    return {
        "build_s": round(seconds - loaded, 2),
        "build_peak_rss_mb": round(peak_rss_mb()),
        "index_bytes": (version / "vectors.faiss").stat().st_size,
        "folder_bytes": folder_bytes(version),
        "faiss": index.manifest["faiss"],
    }


def worker_scale_serve(params: dict[str, Any]) -> dict[str, Any]:
    """Load an index in a fresh process and time queries (citeqa, or naive)."""
    queries = np.load(params["queries"])
    questions = json.loads(Path(params["questions"]).read_text(encoding="utf-8"))
    exact = np.load(params["exact"])
    start = time.perf_counter()
    if params["pipeline"] == "naive":
        import faiss
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(params["model"], device="cpu")
        index = faiss.read_index(params["index"])
        load_s = time.perf_counter() - start
        search, full, found = _time_queries(
            index.search, lambda text: index.search(model.encode([text], normalize_embeddings=True), 10),
            queries, questions,
        )
    else:
        from citeqa import Index

        index = Index.load(params["index"], check_stale=False)
        index.embedder  # load the query embedder as a server does at start
        load_s = time.perf_counter() - start
        search, full, found = _time_queries(
            index._stored.vectors.search, lambda text: index.retrieve(text, k=10), queries, questions
        )
    return {
        "load_s": round(load_s, 2),
        "search": percentiles_ms(search),
        "full_query": percentiles_ms(full),
        "recall_at_10": recall_at_10(np.array(found), exact),
        "rss_mb": round(current_rss_mb()),
        # of which pages of memory-mapped index files (reclaimable page cache) and private memory
        "rss_file_mb": round(_status_mb("RssFile")),
        "rss_anon_mb": round(_status_mb("RssAnon")),
        "serve_peak_rss_mb": round(peak_rss_mb()),
    }


WORKERS = {
    "ceiling": worker_ceiling,
    "naive_cold": worker_naive_cold,
    "embed": worker_embed,
    "build_files": worker_build_files,
    "e2e": worker_e2e,
    "openvino": worker_openvino,
    "scale_build": worker_scale_build,
    "scale_serve": worker_scale_serve,
}


# ----------------------------------------------------------------------------- stages


def stage_cold_start(repeats: int, model: str) -> dict[str, Any]:
    env = {k: v for k, v in ENV.items() if k != "CITEQA_BACKEND"}
    # warm the page cache and the ONNX export first: we measure a start, not a disk read
    wall([sys.executable, "-m", "citeqa", "ask", "When did the exercise start?"], env)
    wall([sys.executable, "-c", "import sentence_transformers"])
    ask = [wall([sys.executable, "-m", "citeqa", "ask", "When did the exercise start?"], env) for _ in range(repeats)]
    imp = [wall([sys.executable, "-c", "import sentence_transformers"]) for _ in range(repeats)]
    naive = [wall([sys.executable, __file__, "--worker", "naive_cold", json.dumps({"model": model})]) for _ in range(repeats)]
    result = {
        "citeqa_ask_s": round(statistics.median(ask), 3),
        "import_sentence_transformers_s": round(statistics.median(imp), 3),
        "naive_import_load_encode_s": round(statistics.median(naive), 3),
    }
    result["ratio_ask_vs_naive"] = round(result["citeqa_ask_s"] / result["naive_import_load_encode_s"], 3)
    return result


def stage_build(out: Path, sentences: list[str], model: str) -> dict[str, Any]:
    texts_path = out / "embed-sample.json"
    texts_path.write_text(json.dumps(sentences), encoding="utf-8")
    work = Path(tempfile.mkdtemp(dir=out))
    try:
        rows = {}
        for pipeline in ("naive", "onnx", "onnx-int8"):
            rows[pipeline] = run_worker("embed", {"pipeline": pipeline, "texts": str(texts_path), "out": str(work), "model": model})
        base = rows["naive"]["build_per_s"]
        for pipeline in ("onnx", "onnx-int8"):
            rows[pipeline]["ratio_vs_naive"] = round(rows[pipeline]["build_per_s"] / base, 2)
        return {"sentences": len(sentences), **rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def e2e_folder(out: Path, paragraphs: list[tuple[str, str]], sentences: int) -> Path:
    """SQuAD paragraphs, one .txt each, in order until they hold ``sentences`` sentences."""
    from citeqa.ingest.segment import sentence_spans

    folder = out / f"e2e-docs-{sentences}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = 0
    for doc_id, text in paragraphs:
        if count >= sentences:
            break
        (folder / doc_id).write_text(text, encoding="utf-8")
        count += len(sentence_spans(text))
    return folder


def stage_e2e(out: Path, paragraphs: list[tuple[str, str]], sentences: int, repeats: int, model: str) -> dict[str, Any]:
    folder = e2e_folder(out, paragraphs, sentences)
    work = Path(tempfile.mkdtemp(dir=out))
    try:
        runs: dict[str, list[dict[str, Any]]] = {"naive": [], "citeqa": []}
        for number in range(repeats):  # interleaved, so both see the same load
            runs["naive"].append(run_worker("e2e", {"pipeline": "naive", "folder": str(folder), "out": str(work / f"naive-{number}"), "model": model}))
            runs["citeqa"].append(run_worker("e2e", {"pipeline": "citeqa", "backend": "auto", "folder": str(folder), "out": str(work / f"citeqa-{number}")}))
        # the profiled build is one more, untimed: cProfile slows the Python parts
        run_worker("e2e", {"pipeline": "citeqa", "backend": "auto", "folder": str(folder), "out": str(work / "citeqa-profiled"), "profile": str(out / "e2e-build-profile.txt")})
        result: dict[str, Any] = {"files": len(list(folder.glob("*.txt"))), "runs": runs}
        for name, rows in runs.items():
            result[name] = {
                "sentences": rows[0]["sentences"],
                "median_s": round(statistics.median(r["seconds"] for r in rows), 3),
                "median_per_s": round(statistics.median(r["per_s"] for r in rows), 1),
                "loads": [r["load"] for r in rows],
            }
        result["ratio_vs_naive"] = round(result["citeqa"]["median_per_s"] / result["naive"]["median_per_s"], 2)
        result["citeqa"]["cpu_busy"] = round(statistics.median(r["cpu_s"] / r["seconds"] for r in runs["citeqa"]), 2)
        result["profile"] = str(out / "e2e-build-profile.txt")
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stage_openvino(out: Path, squad: Path, sentences: list[str], questions: int, repeats: int) -> dict[str, Any]:
    try:
        import nncf  # noqa: F401
        import openvino  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"{exc}; pip install openvino nncf to compare"}
    texts_path = out / "openvino-sample.json"
    texts_path.write_text(json.dumps(sentences), encoding="utf-8")
    return run_worker("openvino", {"texts": str(texts_path), "squad": str(squad), "out": str(out), "questions": questions, "repeats": repeats})


#: Paragraphs in the end-to-end build-from-files measurement (pysbd is its slow part).
E2E_PARAGRAPHS = 150


def mrr_of(index: Any, questions: list[dict[str, Any]]) -> float:
    total = 0.0
    for q in questions:
        for rank, hit in enumerate(index.retrieve(q["question"], k=10), 1):
            if hit.doc_id == q["doc_id"] and hit.start <= q["answer_start"] < hit.end:
                total += 1 / rank
                break
    return round(total / len(questions), 4)


def stage_quality(out: Path, paragraphs: list[tuple[str, str]], questions: list[dict[str, Any]], count: int) -> dict[str, Any]:
    from citeqa import build_index

    rng = np.random.default_rng(11)
    sample = [questions[int(i)] for i in rng.choice(len(questions), size=min(count, len(questions)), replace=False)]
    work = Path(tempfile.mkdtemp(dir=out))
    try:
        folder, subset = work / "docs", work / "subset"
        folder.mkdir()
        subset.mkdir()
        for number, (doc_id, text) in enumerate(paragraphs):
            (folder / doc_id).write_text(text, encoding="utf-8")
            if number < E2E_PARAGRAPHS:
                (subset / doc_id).write_text(text, encoding="utf-8")
        files = run_worker("build_files", {"folder": str(subset), "index": str(work / "e2e"), "backend": "onnx"})
        result: dict[str, Any] = {"questions": len(sample), "end_to_end_build_onnx": files}
        fp32 = build_index([folder], work / "fp32", backend="onnx")
        result["sentences"] = len(fp32)
        result["mrr_onnx_fp32_flat"] = mrr_of(fp32, sample)
        int8 = build_index([folder], work / "int8", backend="onnx-int8")
        result["mrr_onnx_int8_flat"] = mrr_of(int8, sample)
        result["delta_int8"] = round(result["mrr_onnx_int8_flat"] - result["mrr_onnx_fp32_flat"], 4)
        for kind in ("hnsw-sq8", "ivf-sq8"):  # rebuilt incrementally: every vector reused
            start = time.perf_counter()
            forced = build_index([folder], work / "fp32", backend="onnx", index_type=kind)
            result[f"incremental_rebuild_unchanged_{kind}_s"] = round(time.perf_counter() - start, 2)
            result[f"mrr_onnx_fp32_{kind}"] = mrr_of(forced, sample)
            result[f"faiss_{kind}"] = forced.manifest["faiss"]
            result[f"delta_{kind}"] = round(result[f"mrr_onnx_fp32_{kind}"] - result["mrr_onnx_fp32_flat"], 4)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stage_scale(out: Path, size: int, pool: list[str], pool_vectors: np.ndarray, queries: np.ndarray, question_texts: list[str], model: str, index_type: str, backend: str = "onnx-int8") -> dict[str, Any]:
    import faiss

    texts, vectors = compose_corpus(pool, pool_vectors, size)
    work = Path(tempfile.mkdtemp(dir=out))
    try:
        np.save(work / "vectors.npy", vectors)
        (work / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        exact_index = faiss.IndexFlatIP(vectors.shape[1])
        exact_index.add(vectors)
        _, exact = exact_index.search(queries, 10)
        del exact_index, vectors, texts
        np.save(work / "exact.npy", exact)
        np.save(work / "queries.npy", queries)
        (work / "questions.json").write_text(json.dumps(question_texts), encoding="utf-8")
        common = {"vectors": str(work / "vectors.npy"), "texts": str(work / "texts.json"), "model": model}
        serve = {"queries": str(work / "queries.npy"), "questions": str(work / "questions.json"), "exact": str(work / "exact.npy"), "model": model}
        naive_build = run_worker("scale_build", {**common, "pipeline": "naive", "index": str(work / "naive.faiss")})
        naive_serve = run_worker("scale_serve", {**serve, "pipeline": "naive", "index": str(work / "naive.faiss")})
        ours_build = run_worker("scale_build", {**common, "pipeline": "citeqa", "index": str(work / "idx"), "index_type": index_type, "backend": backend})
        ours_serve = run_worker("scale_serve", {**serve, "pipeline": "citeqa", "index": str(work / "idx")})
        return {"sentences": size, "backend": backend, "naive": {**naive_build, **naive_serve}, "citeqa": {**ours_build, **ours_serve}}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------- report


def print_report(results: dict[str, Any]) -> None:
    cold = results.get("cold_start")
    if cold:
        print("\n== Cold start (fresh process, median) ==")
        print(f"citeqa ask (shipped article)            {cold['citeqa_ask_s']:.3f} s")
        print(f"python -c 'import sentence_transformers' {cold['import_sentence_transformers_s']:.3f} s")
        print(f"naive import + load model + encode one  {cold['naive_import_load_encode_s']:.3f} s")
        print(f"ratio citeqa ask / naive                 {cold['ratio_ask_vs_naive']:.3f} (target <= 0.3)")
    build = results.get("build")
    if build:
        print(f"\n== Build throughput, same {build['sentences']} real sentences (sentences/s) ==")
        print(f"{'pipeline':<22}{'embed/s':>10}{'build/s':>10}{'x naive':>9}{'peak RSS MB':>13}")
        print("(build = embed + FAISS + write for naive; embed + BM25 + FAISS + manifest/atomic write for citeqa)")
        for name in ("naive", "onnx", "onnx-int8"):
            row = build[name]
            print(f"{name:<22}{row['embed_per_s']:>10}{row['build_per_s']:>10}{row.get('ratio_vs_naive', 1.0):>9}{row['peak_rss_mb']:>13}")
    e2e = results.get("e2e")
    if e2e:
        naive, ours = e2e["naive"], e2e["citeqa"]
        print(f"\n== End to end from {e2e['files']} .txt files of real SQuAD paragraphs (fresh process excluded; median of {len(e2e['runs']['naive'])}) ==")
        print(f"naive (pysbd + sentence-transformers + IndexFlatIP + write) {naive['median_s']:>7.2f} s {naive['median_per_s']:>8} sentences/s ({naive['sentences']} sentences; load {naive['loads']})")
        print(f"citeqa build (ONNX int8, pipelined)                         {ours['median_s']:>7.2f} s {ours['median_per_s']:>8} sentences/s ({ours['sentences']} sentences; load {ours['loads']})")
        print(f"ratio citeqa / naive                                        {e2e['ratio_vs_naive']:>7} (target >= 4)")
        print(f"citeqa build CPU time / wall time: {ours['cpu_busy']} of {os.cpu_count()} cores busy (median)")
        print(f"profile of one more (untimed) citeqa build: {e2e['profile']}")
    if build:
        print(f"embedding alone, ONNX int8: {build['onnx-int8']['embed_per_s']} sentences/s (target >= 1,000)")
    ceiling = results.get("ceiling")
    if ceiling:
        print(
            f"this machine's int8 ceiling: ONNX Runtime int8 GEMM {ceiling['gemm_gmac_per_s_one_thread']} GMAC/s on one thread; "
            f"at {ceiling['tokens_per_sentence']} tokens a sentence ({MINILM_MACS_PER_TOKEN / 1e6:.1f} M MAC a token in the linear layers) "
            f"that allows at most {ceiling['ceiling_per_s']:.0f} sentences/s on {ceiling['cores']} cores, with nothing else costing anything "
            f"(load {ceiling['load']})"
        )
    vino = results.get("openvino")
    if vino:
        print("\n== OpenVINO int8 (weight-only int8 + dynamic int8 activations) vs ONNX Runtime, same process ==")
        if "skipped" in vino:
            print(f"skipped: {vino['skipped']}")
        else:
            print(f"{'backend':<16}{'sentences/s':>12}{'cos fp32 med/min':>18}{'dense MRR@10':>14}   ({vino['questions']} questions over {vino['pool_sentences']} sentences; load {vino['load']})")
            for name in ("onnx", "onnx-int8", "openvino-int8"):
                row = vino[name]
                print(f"{name:<16}{row['per_s']:>12}{row['cosine_to_fp32_median']:>10}/{row['cosine_to_fp32_min']:<7}{row['dense_mrr']:>14}")
    quality = results.get("quality")
    if quality:
        print(f"\n== Retrieval quality, ReQA-style: {quality['questions']} SQuAD questions over {quality['sentences']} sentences ==")
        print(f"MRR@10 ONNX fp32 flat      {quality['mrr_onnx_fp32_flat']}")
        print(f"MRR@10 ONNX int8 flat      {quality['mrr_onnx_int8_flat']} (delta {quality['delta_int8']:+})")
        for kind in ("hnsw-sq8", "ivf-sq8"):
            search = quality[f"faiss_{kind}"]["search"]
            print(f"MRR@10 ONNX fp32 {kind:<9} {quality[f'mrr_onnx_fp32_{kind}']} (delta {quality[f'delta_{kind}']:+}; {search})")
        e2e = quality["end_to_end_build_onnx"]
        print(f"end-to-end build from files (pysbd + ONNX + BM25 + FAISS): {e2e['per_s']} sentences/s ({e2e['sentences']} sentences)")
        print(f"incremental rebuild with nothing changed (to hnsw-sq8): {quality['incremental_rebuild_unchanged_hnsw-sq8_s']} s")
    for scale in results.get("scale", []):
        print(f"\n== {scale['sentences']:,} sentences (composed {scale.get('backend', 'onnx')} vectors; {SCALE_NOTE}) ==")
        print(f"{'':<8}{'index':>9}{'build s':>9}{'index MB':>9}{'build peak':>11}{'serve RSS/peak':>15}{'search p50/p95 ms':>19}{'query p50/p95 ms':>18}{'recall@10':>10}")
        for name in ("naive", "citeqa"):
            row = scale[name]
            kind = row.get("faiss", {}).get("type", "flat")
            print(
                f"{name:<8}{kind:>9}{row['build_s']:>9}{row['index_bytes'] / 1e6:>9.1f}{row['build_peak_rss_mb']:>11}"
                f"{row['rss_mb']:>9}/{row['serve_peak_rss_mb']:<5}{row['search']['p50_ms']:>10.3f}/{row['search']['p95_ms']:<8.3f}"
                f"{row['full_query']['p50_ms']:>9.2f}/{row['full_query']['p95_ms']:<8.2f}{row['recall_at_10']:>10}"
            )
        if scale["sentences"] >= 1_000_000:
            print_scale_targets(scale["naive"], scale["citeqa"])


def _gb(mib: float) -> str:
    return f"{mib * 2**20 / 1e9:.2f} GB"


def print_scale_targets(naive: dict[str, Any], ours: dict[str, Any]) -> None:
    """Issue 12's 1M targets, each beside the naive pipeline of the same run (GB = 10**9 bytes)."""
    rows = [
        ("build (vectors given)", f"{ours['build_s']} s", f"{naive['build_s']} s", "<= 90 s", ours["build_s"] <= 90),
        ("build peak RSS", _gb(ours["build_peak_rss_mb"]), _gb(naive["build_peak_rss_mb"]), "<= 2.5 GB", ours["build_peak_rss_mb"] * 2**20 <= 2.5e9),
        ("retrieve p50", f"{ours['full_query']['p50_ms']:.2f} ms", f"{naive['full_query']['p50_ms']:.2f} ms", "<= 8 ms", ours["full_query"]["p50_ms"] <= 8),
        ("retrieve p95", f"{ours['full_query']['p95_ms']:.2f} ms", f"{naive['full_query']['p95_ms']:.2f} ms", "<= 12 ms", ours["full_query"]["p95_ms"] <= 12),
        ("recall@10 vs exact", f"{ours['recall_at_10']}", f"{naive['recall_at_10']}", ">= 0.95", ours["recall_at_10"] >= 0.95),
        ("serving RSS", _gb(ours["rss_mb"]), _gb(naive["rss_mb"]), "<= 1.3 GB", ours["rss_mb"] * 2**20 <= 1.3e9),
    ]
    print(f"{'1M target':<24}{'citeqa':>12}{'naive':>12}  {'target':<10}")
    for name, value, baseline, target, met in rows:
        print(f"{name:<24}{value:>12}{baseline:>12}  {target:<10}{'met' if met else 'NOT met'}")
    if "rss_file_mb" in ours:
        print(f"serving RSS = {ours['rss_anon_mb']} MiB private + {ours['rss_file_mb']} MiB pages of mapped index files (naive: {naive.get('rss_anon_mb')} + {naive.get('rss_file_mb')})")


SCALE_NOTE = "search = FAISS only, top 10; query = embed + search (+ BM25 + fusion + hits for citeqa); RSS and index in MB: RSS MiB, index 10**6 bytes"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="SQuAD v1.1 JSON (default: the tune half)")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="scale corpus sizes, comma-separated")
    parser.add_argument("--embed-sample", type=int, default=2000, help="sentences embedded by each pipeline for throughput")
    parser.add_argument("--mrr-questions", type=int, default=1000, help="questions in the ReQA-style quality check")
    parser.add_argument("--queries", type=int, default=200, help="queries timed per scale corpus")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cold-start measurement")
    parser.add_argument("--skip", default="", help="stages to skip: cold,build,e2e,openvino,quality,scale")
    parser.add_argument("--quick", action="store_true", help="only the build targets (build, e2e, openvino) on 1,000 sentences")
    parser.add_argument("--e2e-sentences", type=int, default=1200, help="real sentences in the end-to-end build (1,000-3,000)")
    parser.add_argument("--e2e-repeats", type=int, default=3, help="end-to-end builds per pipeline (medians)")
    parser.add_argument("--index-type", default="auto", help="citeqa index type in the scale stage")
    parser.add_argument(
        "--scale-backend", default="onnx-int8", choices=("onnx-int8", "onnx"),
        help="vector space of the scale corpora: onnx-int8 (default, what citeqa build makes) or onnx (fp32); "
        "the query embedder follows it",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](json.loads(rest[0]))))
        return 0
    from citeqa.embed import default_model_path

    model = default_model_path()
    args.out.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))
    if args.quick:
        skip |= {"cold", "quality", "scale"}
        args.embed_sample = min(args.embed_sample, 1000)
        args.mrr_questions = min(args.mrr_questions, 500)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}}
    paragraphs, questions = load_squad(args.squad)
    pool = pool_sentences(paragraphs)
    if "cold" not in skip:
        results["cold_start"] = run_stage("cold start", lambda: stage_cold_start(args.repeats, model))
    if "build" not in skip:
        sample = [pool[int(i)] for i in np.random.default_rng(3).choice(len(pool), min(args.embed_sample, len(pool)), replace=False)]
        results["build"] = run_stage("build throughput", lambda: stage_build(args.out, sample, model))
    if "build" not in skip:
        results["ceiling"] = run_stage("int8 ceiling", lambda: run_worker("ceiling", {"texts": str(args.out / "embed-sample.json"), "model": model}))
    if "e2e" not in skip:
        results["e2e"] = run_stage("end-to-end build", lambda: stage_e2e(args.out, paragraphs, args.e2e_sentences, args.e2e_repeats, model))
    if "openvino" not in skip:
        sample = [pool[int(i)] for i in np.random.default_rng(3).choice(len(pool), min(args.embed_sample, len(pool)), replace=False)]
        results["openvino"] = run_stage("openvino", lambda: stage_openvino(args.out, args.squad, sample, args.mrr_questions, 3))
    if "quality" not in skip:
        results["quality"] = run_stage("quality", lambda: stage_quality(args.out, paragraphs, questions, args.mrr_questions))
    if "scale" not in skip:
        pool_vectors = run_stage("pool vectors (cached)", lambda: cached_vectors(args.out, pool, args.scale_backend))
        rng = np.random.default_rng(5)
        picked = [questions[int(i)]["question"] for i in rng.choice(len(questions), args.queries, replace=False)]
        query_vectors = cached_vectors(args.out, picked, args.scale_backend)
        results["scale"] = []
        for size in (int(s) for s in args.sizes.split(",") if s):
            results["scale"].append(run_stage(f"scale {size}", lambda: stage_scale(args.out, size, pool, pool_vectors, query_vectors, picked, model, args.index_type, args.scale_backend)))
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    (args.out / "speed.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print_report(results)
    print(f"\n(raw figures: {args.out / 'speed.json'}; load average start {results['machine']['load_avg_at_start']}, end {results['machine']['load_avg_at_end']})")
    return 0


def run_stage(name: str, fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    print(f"[{time.strftime('%H:%M:%S')}] {name} ...", file=sys.stderr, flush=True)
    value = fn()
    print(f"[{time.strftime('%H:%M:%S')}] {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return value


if __name__ == "__main__":
    sys.exit(main())
