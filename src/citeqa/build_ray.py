"""The Ray build: sources extracted, segmented and embedded by Ray Data workers, then written by the build's last step.

``citeqa build DOCS --ray [ADDRESS]`` (``pip install "citeqa[ray]"``). The driver lists
and reads the sources' bytes (so the workers need no shared file system; URLs are fetched
once, here), then two Ray Data stages run on the cluster:

1. **extract + segment** (tasks): each document's bytes become its text
   (:func:`citeqa.ingest.sources.document_from_raw`) and its sentence spans
   (:func:`citeqa.ingest.segment.segment_document`);
2. **embed** (``map_batches`` over an actor pool, one actor per cluster CPU, each with
   one ONNX Runtime thread): the sentences in exactly the calls and batches the local
   build uses (in order, :data:`citeqa.build.pipeline.EMBED_CHUNK` per call, each call
   sorted by token count and cut every ``batch_size``), so the
   vectors equal the local build's even for the int8 model, whose vectors depend a
   little on their batch neighbours (:mod:`citeqa.embed.onnx`).

The driver then numbers documents and paragraphs as :func:`citeqa.build.build` does and
hands everything to :func:`citeqa.build.write_index`, which writes either store (a local
folder, atomically; or Milvus, through an alias switch). Ray is imported only here, and
only when a Ray build runs: ``import citeqa`` never imports it. Rows travel between
stages as Arrow columns (strings, bytes of int64/float32 arrays, JSON), never pickles of
citeqa objects. A Ray build embeds every sentence (no reuse of an earlier build's vectors).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .build import check_options, write_index
from .build.copies import log_copies
from .build.pipeline import EMBED_CHUNK
from .embed import Embedder, new_embedder
from .embed.passage import embedding_texts
from .errors import CiteqaError, SourceError
from .ingest.extract import FORMATS_OR
from .ingest.segment import segment_document
from .ingest.sources import (
    RawSource,
    Skipped,
    document_from_raw,
    iter_raw_sources,
    log_skipped,
    skipped_raw,
)
from .schema import Document
from .store.format import is_index_folder
from .store.milvus import is_milvus_address

log = logging.getLogger("citeqa")

#: Embedding batches (of ``batch_size`` sentences) per Ray ``map_batches`` call.
GROUPS_PER_CALL = 32
#: Documents per extract + segment call.
DOCUMENTS_PER_CALL = 4


class RayUnavailableError(CiteqaError):
    """Ray is not installed, or the Ray cluster cannot be reached."""


def import_ray() -> Any:
    """The ``ray`` module (with Ray Data), or a :class:`RayUnavailableError` saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise RayUnavailableError(
            f"the Ray build needs Ray Data ({exc}): pip install 'citeqa[ray]', or build without --ray"
        ) from None
    return ray


#: Seconds a local Ray's start may wait for its GCS server (Ray's default is 30).
LOCAL_START_WAIT_S = 120


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect to the Ray cluster at ``address`` (else ``$RAY_ADDRESS``), or start Ray on this machine.

    A Ray started here is shut down on exit; an already initialised Ray (the caller's)
    is used as it is and left running.

    Args:
        address: A Ray address (``HOST:PORT`` of a head node, ``ray://HOST:PORT`` or
            ``auto``); None or "" means ``$RAY_ADDRESS``, and without it a local Ray.
        num_cpus: CPUs of a local Ray (default: all of this machine's); ignored on a cluster.
    """
    ray = import_ray()
    for name in ("ray", "ray.data"):  # Ray Data logs every dataset's plan at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    if ray.is_initialized():
        yield ray
        return
    target = address or os.environ.get("RAY_ADDRESS") or None
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if target:
            ray.init(address=target, **quiet)
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            # Ray waits 30 s for its GCS server to write its port; on a busy machine (load
            # above ~5 on 2 cores) the server took longer and the build failed to start
            os.environ.setdefault("RAY_gcs_server_port_wait_time_s", str(LOCAL_START_WAIT_S))
            # "local": always a new Ray of our own, never a cluster left over in /tmp/ray
            _init_local(ray, num_cpus, quiet)
    except (ConnectionError, RuntimeError, ValueError, _StartTimeout) as exc:
        where = f"the Ray cluster at {target}" if target else "a local Ray"
        hint = (
            "check the address (ray status on the head node prints it) and that this machine's Ray version matches"
            if target
            else "see the Ray logs under /tmp/ray"
        )
        raise RayUnavailableError(f"cannot start or reach {where} ({exc}); {hint}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


class _StartTimeout(Exception):
    """A local Ray that timed out during startup, twice."""


#: Tries at starting a local Ray whose raylet times out (Ray waits a fixed 30 s for it to
#: register; on a busy machine the first start can miss that and a second one succeed).
LOCAL_START_TRIES = 2
#: What Ray's startup timeouts say (lower case): the node did not register, or the GCS server
#: wrote no port file (seen once in a test run starting its third Ray in 20 s: the server left
#: no log at all, and the run's later starts worked).
_STARTUP_TIMEOUTS = ("timed out during startup", "timed out waiting for file")


def _init_local(ray: Any, num_cpus: int | None, quiet: dict[str, Any]) -> None:
    """Start a local Ray, again once if it timed out during startup (:data:`_STARTUP_TIMEOUTS`;
    Ray raises a bare ``Exception`` or a ``RuntimeError`` for that; any other error goes to
    the caller at once)."""
    for attempt in range(1, LOCAL_START_TRIES + 1):
        try:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, **quiet)
            return
        except Exception as exc:  # Ray's bare Exception; only its startup timeout is retried
            if not any(words in str(exc).lower() for words in _STARTUP_TIMEOUTS):
                raise
            ray.shutdown()
            if attempt == LOCAL_START_TRIES:
                raise _StartTimeout(f"{exc} (tried {LOCAL_START_TRIES} times; the machine may be busy)") from None
            log.info("a local Ray timed out during startup; starting it again")


def _document_json(document: Document) -> str:
    fields = dataclasses.asdict(document)
    fields["pages"] = list(document.pages) if document.pages is not None else None
    return json.dumps(fields, ensure_ascii=False)


def _document_from_json(text: str) -> Document:
    fields = json.loads(text)
    if fields["pages"] is not None:
        fields["pages"] = tuple(fields["pages"])
    return Document(**fields)


def extract_and_segment(batch: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Ray stage 1: raw sources (or documents already read) → documents and their sentence spans.

    Input columns: ``number``, ``doc_id``, ``spec``, ``data`` (bytes), ``content_type``
    ("" for files), ``document`` (JSON of a document already read, else ""). Output:
    ``number``, ``document`` (JSON), ``spans`` (int64 bytes of ``(start, end, paragraph
    offset)`` rows) and ``error`` (the :class:`SourceError` message, else "").
    """
    out: dict[str, list[Any]] = {"number": [], "document": [], "spans": [], "error": []}
    for i in range(len(batch["number"])):
        out["number"].append(int(batch["number"][i]))
        try:
            given = str(batch["document"][i])
            if given:
                document = _document_from_json(given)
            else:
                content_type = str(batch["content_type"][i]) or None
                raw = RawSource(str(batch["doc_id"][i]), str(batch["spec"][i]), bytes(batch["data"][i]), content_type, False, "")
                document = document_from_raw(raw)
        except SourceError as exc:
            out["document"].append("")
            out["spans"].append(b"")
            out["error"].append(str(exc))
            continue
        spans = np.array([[s.start, s.end, s.paragraph_id] for s in segment_document(document)], dtype=np.int64)
        out["document"].append(_document_json(document))
        out["spans"].append(spans.reshape(-1, 3).tobytes())
        out["error"].append("")
    return out


class EmbedActor:
    """Ray stage 2: one embedder per actor; embeds each batch of sentences exactly as given."""

    def __init__(self, model: str, backend: str, space: str, threads: int, batch_size: int) -> None:
        self.embedder = new_embedder(model, backend, threads=threads)
        self.batch_size = batch_size
        if self.embedder.space != space:
            raise CiteqaError(
                f"a Ray worker's embedder makes vectors in {self.embedder.space!r}, not {space!r}: "
                "install the same citeqa, model and onnxruntime on every node"
            )

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        ids: list[np.ndarray] = []
        vectors: list[np.ndarray] = []
        for packed, texts in zip(batch["ids"], batch["texts"]):
            group = json.loads(str(texts))
            ids.append(np.frombuffer(bytes(packed), dtype=np.int64))
            # one call per group, as in the local build: the same batches, so the same int8 vectors
            vectors.append(self.embedder.encode(group, batch_size=self.batch_size))
        return {"id": np.concatenate(ids), "vector": np.concatenate(vectors).astype(np.float32)}


def _default_batch_size(embedder: Embedder) -> int:
    default = inspect.signature(embedder.encode).parameters["batch_size"].default
    return int(default) if isinstance(default, int) else 32


@dataclasses.dataclass(frozen=True)
class _Origin:
    spec: str
    in_folder: bool
    shown: str


def _assemble(
    results: list[dict[str, Any]], origins: Sequence[_Origin], skipped: list[Skipped]
) -> tuple[list[Document], np.ndarray, list[str]]:
    """Documents in order, their sentence rows (document, start, end, paragraph id) and texts, as the local build numbers them."""
    documents: list[Document] = []
    rows: list[np.ndarray] = []
    texts: list[str] = []
    next_paragraph = 0
    for result in sorted(results, key=lambda r: r["number"]):
        if result["error"]:
            origin = origins[result["number"]]
            error = SourceError(result["error"])
            if not origin.in_folder:
                raise error
            skipped.append(skipped_raw(RawSource("", origin.spec, b"", None, True, origin.shown), error))
            continue
        document = _document_from_json(result["document"])
        spans = np.frombuffer(result["spans"], dtype=np.int64).reshape(-1, 3)
        part = np.column_stack([np.full(len(spans), len(documents), dtype=np.int64), spans[:, :2], spans[:, 2] + next_paragraph])
        if len(part):
            next_paragraph = int(part[:, 3].max()) + 1
        texts.extend(document.text[int(s) : int(e)] for s, e in part[:, 1:3])
        documents.append(document)
        rows.append(part)
    log_skipped(skipped)
    if not documents:  # as citeqa.ingest.sources.read_sources says it
        raise SourceError(
            "none of the sources could be read (see the skipped files above); "
            f"citeqa reads {FORMATS_OR} files and http(s) URLs"
        )
    names = [d.doc_id for d in documents]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise SourceError(f"two sources are both named {twice[0]!r}; give each a distinct name")
    joined = np.concatenate(rows) if rows else np.zeros((0, 4), dtype=np.int64)
    log_copies(documents, joined, texts)  # as the local build says it
    return documents, joined, texts


def _groups(texts: Sequence[str], chunk: int = EMBED_CHUNK) -> list[dict[str, Any]]:
    """The local build's calls to the embedder: the sentences in order, ``chunk`` at a time
    (:mod:`citeqa.build.pipeline`); each call sorts its own sentences by token count and
    cuts them every ``batch_size``, here as there."""
    return [
        {"ids": np.arange(first, min(first + chunk, len(texts)), dtype=np.int64).tobytes(), "texts": json.dumps(list(texts[first : first + chunk]))}
        for first in range(0, len(texts), chunk)
    ]


def build(
    sources: Iterable[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    *,
    embedder: Embedder,
    address: str | None = None,
    num_cpus: int | None = None,
    index_type: str = "auto",
    batch_size: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    documents: Sequence[Document] = (),
    doc_ids: Mapping[str, str] | None = None,
) -> Path | str:
    """Build an index with Ray Data and make it the live version of ``out`` (see the module docstring).

    Args:
        sources, out, index_type, batch_size, progress, documents, doc_ids: As in
            :func:`citeqa.build.build` (``progress`` reports "reading", "segmenting",
            "embedding" (0 and then all sentences) and "indexing").
        embedder: The driver's embedder: recorded in the index; every Ray worker makes its
            own with the same model and backend and must land in the same vector space.
        address: The Ray cluster (see :func:`ray_session`); None: ``$RAY_ADDRESS`` or a local Ray.
        num_cpus: CPUs of a local Ray (default: all).

    Returns:
        The index folder or the store address.

    Raises:
        RayUnavailableError: Ray is not installed or the cluster cannot be reached.
        SourceError, InvalidArgumentError: as :func:`citeqa.build.build`.
    """
    check_options(index_type, batch_size, out)
    report = progress or (lambda stage, done, total: None)
    sources = list(sources) if sources is not None else []
    given = list(documents)
    report("reading", 0, len(sources) + len(given))
    skipped: list[Skipped] = []
    items: list[dict[str, Any]] = []
    origins: list[_Origin] = []
    raws = iter_raw_sources(sources, skipped, skip_folder=is_index_folder) if sources or not given else iter(())
    for raw in raws:
        doc_id = (doc_ids or {}).get(raw.spec, raw.doc_id)
        items.append({"doc_id": doc_id, "spec": raw.spec, "data": raw.data, "content_type": raw.content_type or "", "document": ""})
        origins.append(_Origin(raw.spec, raw.in_folder, raw.shown))
    for document in given:
        items.append({"doc_id": document.doc_id, "spec": document.path, "data": b"", "content_type": "", "document": _document_json(document)})
        origins.append(_Origin(document.path, False, ""))
    for number, item in enumerate(items):
        item["number"] = number
    if not items:
        raise SourceError("none of the sources could be read; citeqa reads .txt, .md, .html and .pdf files and http(s) URLs")
    space, size = embedder.space, batch_size or _default_batch_size(embedder)
    backend = "torch" if embedder.backend == "sentence-transformers" else embedder.backend
    clock = {"start": time.perf_counter()}
    with ray_session(address, num_cpus) as ray:
        clock["ray"] = time.perf_counter()
        try:
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            report("segmenting", 0, len(items))
            stage = ray.data.from_items(items, override_num_blocks=min(len(items), 4 * cpus))
            del items  # the object store holds the bytes now
            results = stage.map_batches(extract_and_segment, batch_size=DOCUMENTS_PER_CALL, num_cpus=1).take_all()
            found, rows, texts = _assemble(results, origins, skipped)
            del results
            clock["segmented"] = time.perf_counter()
            if not texts:
                raise SourceError("the sources hold no text to index; add some sentences and build again")
            report("embedding", 0, len(texts))
            groups = _groups(embedding_texts(texts, rows))
            embedded = ray.data.from_items(groups, override_num_blocks=min(len(groups), 8 * cpus)).map_batches(
                EmbedActor,
                fn_constructor_kwargs={"model": embedder.model_name, "backend": backend, "space": space, "threads": 1, "batch_size": size},
                batch_size=GROUPS_PER_CALL,
                compute=ray.data.ActorPoolStrategy(size=cpus),
                num_cpus=1,
            )
            vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
            done = np.zeros(len(texts), dtype=bool)
            for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
                ids = np.asarray(batch["id"], dtype=np.int64)
                vectors[ids] = np.asarray(batch["vector"], dtype=np.float32)
                done[ids] = True
            clock["embedded"] = time.perf_counter()
        except ray.exceptions.RayError as exc:
            raise CiteqaError(f"the Ray build failed on the cluster: {exc}") from None
    if not done.all():
        raise CiteqaError(f"the Ray build lost {int((~done).sum())} of {len(texts)} sentence vectors; build again")
    report("embedding", len(texts), len(texts))
    report("indexing", 0, len(texts))
    clock["shutdown"] = time.perf_counter()
    write_index(out, found, rows, texts, vectors, embedder, index_type=index_type)
    log.info(
        "Ray build of %d sentences on %d CPUs: Ray start %.1f s, extract + segment %.1f s, embed %.1f s, "
        "Ray shutdown %.1f s, write %.1f s",
        len(texts), cpus, clock["ray"] - clock["start"], clock["segmented"] - clock["ray"],
        clock["embedded"] - clock["segmented"], clock["shutdown"] - clock["embedded"], time.perf_counter() - clock["shutdown"],
    )  # fmt: skip
    return str(out) if is_milvus_address(out) else Path(out)
