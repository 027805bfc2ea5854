"""Milvus addresses, connections, collection names and the helpers the writer and the reader share.

pymilvus is imported only when a connection is made (:func:`connect`), never by ``import citeqa``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import CiteqaError, InvalidArgumentError

log = logging.getLogger("citeqa")

FORMAT = "citeqa-milvus"
#: 2: documents keep every field of :class:`citeqa.schema.Document` (pages, extractor and
#: its version). 3: a paragraph row holds its mean vector and its sentences' vectors as
#: float32 bytes (:func:`encode_vectors`) and ``_meta`` holds every paragraph's first
#: row, so a query's evidence is read per paragraph and cached. An older
#: store is refused with a rebuild hint, not read with defaults.
FORMAT_VERSION = 3
SCHEME = "milvus://"
LITE_SCHEME = "milvus-lite:"
DEFAULT_COLLECTION = "citeqa"
#: Characters of document text per VARCHAR row (4 bytes a character at most: < 65,535 bytes).
TEXT_CHUNK = 16_000
#: Milvus's VARCHAR limit, in bytes.
VARCHAR_MAX = 65_535
#: Rows per insert call.
INSERT_BATCH = 1_000
#: BM25 parameters of the local index (:class:`citeqa.lexical.BM25Index`), used for Milvus too.
BM25_K1 = 1.2
BM25_B = 0.75
#: Dense index of the sentences when none is given: exact (Milvus Lite's HNSW recall under
#: filters is wrong; real clusters may pass ``{"index_type": "HNSW", ...}``).
DEFAULT_DENSE_INDEX: dict[str, Any] = {"index_type": "FLAT", "metric_type": "IP", "params": {}}
#: Versions kept per alias: the live one and the one before.
KEEP_VERSIONS = 2
#: How long to wait for a server to answer when connecting, in seconds.
CONNECT_TIMEOUT = 10.0
MANIFEST_DIGEST = "manifest_sha256"
#: Collection names Milvus accepts (letters, digits, underscores; a letter or _ first).
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,150}")
_VERSION_STAMP = re.compile(r"_v(\d{20})\Z")
_COMPANIONS = ("_paragraphs", "_documents", "_meta")
#: What :meth:`MilvusStore.sentences` and :meth:`MilvusStore.candidates` read of a sentence.
_SENTENCE_FIELDS = ("doc", "start", "end", "paragraph", "paragraph_number", "title_row", "text", "dense")
#: The same without the vector: shipping vectors is what costs most in a Milvus Lite reply
#: (~0.4 ms a 384-d vector); ranking needs cosines, which :meth:`MilvusStore.cosines` gets.
_ROW_FIELDS = tuple(f for f in _SENTENCE_FIELDS if f != "dense")
_PLACEHOLDER_DIM = 2  # Milvus wants a vector field in every collection; _meta and _paragraphs have no searched one


def encode_vectors(vectors: np.ndarray) -> str:
    """float32 vectors as base64 text of their little-endian bytes (a VARCHAR Milvus returns as one string).

    A FLOAT_VECTOR field costs Milvus Lite a Python float per dimension each time a row is
    read (and a 384-d one ~0.4 ms in a reply); a string is one object, and exact.
    """
    return base64.b64encode(np.ascontiguousarray(vectors, dtype="<f4").tobytes()).decode("ascii")


def decode_vectors(text: str, dim: int) -> np.ndarray:
    """The ``(n, dim)`` float32 vectors :func:`encode_vectors` wrote.

    Raises:
        ValueError: the text is not base64 of whole ``dim``-d float32 vectors.
    """
    values = np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype="<f4")
    if dim <= 0 or values.size % dim:
        raise ValueError(f"{values.size} floats are not whole {dim}-d vectors")
    return values.reshape(-1, dim).astype(np.float32)


class MilvusStoreError(CiteqaError):
    """Milvus is not installed, not reachable, or refused an operation."""


# --------------------------------------------------------------------------- addresses


@dataclass(frozen=True)
class MilvusAddress:
    """Where a Milvus store lives.

    Attributes:
        uri: What :class:`pymilvus.MilvusClient` connects to (``http://HOST:PORT``, or the
            absolute ``.db`` path of a Milvus Lite folder).
        collection: The public alias readers resolve.
        lite: True for a ``milvus-lite:`` address (pymilvus starts Lite in this process).
        text: The address as written.
    """

    uri: str
    collection: str
    lite: bool
    text: str

    def __str__(self) -> str:
        return self.text


def is_milvus_address(address: object) -> bool:
    """True when ``address`` is a string naming a Milvus store (not a folder path)."""
    return isinstance(address, str) and address.startswith((SCHEME, LITE_SCHEME))


def _check_collection(name: str, address: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"collection name {name!r} in {address!r} is not valid: use letters, digits and "
            f"underscores, starting with a letter (e.g. milvus://localhost:19530/citeqa)"
        )
    if _VERSION_STAMP.search(name) or name.endswith(_COMPANIONS):
        raise InvalidArgumentError(
            f"collection name {name!r} in {address!r} looks like one of citeqa's version "
            f"collections; name the alias instead (e.g. {name.split('_v')[0] or 'citeqa'})"
        )
    return name


def parse_address(address: str) -> MilvusAddress:
    """Parse ``milvus://HOST:PORT/COLLECTION`` or ``milvus-lite:PATH.db[#COLLECTION]``.

    Raises:
        InvalidArgumentError: the address is malformed (the message shows it and the form).
    """
    if not isinstance(address, str):
        raise InvalidArgumentError(f"a Milvus address must be a string, got {type(address).__name__}")
    if address.startswith(SCHEME):
        rest = address[len(SCHEME) :]
        host_port, slash, collection = rest.partition("/")
        match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})", host_port)
        if not match or not slash or not collection:
            raise InvalidArgumentError(
                f"bad Milvus address {address!r}: expected milvus://HOST:PORT/COLLECTION, "
                f"e.g. milvus://127.0.0.1:19530/citeqa"
            )
        port = int(match.group(2))
        if not 0 < port < 65536:
            raise InvalidArgumentError(f"bad Milvus address {address!r}: port must be 1-65535, got {port}")
        host = match.group(1)
        return MilvusAddress(f"http://{host}:{port}", _check_collection(collection, address), False, address)
    if address.startswith(LITE_SCHEME):
        rest = address[len(LITE_SCHEME) :]
        path, hash_, collection = rest.partition("#")
        if hash_ and not collection:
            raise InvalidArgumentError(
                f"bad Milvus Lite address {address!r}: nothing after '#'; "
                f"expected milvus-lite:PATH.db#COLLECTION or milvus-lite:PATH.db"
            )
        if not path.endswith(".db") or path == ".db":
            raise InvalidArgumentError(
                f"bad Milvus Lite address {address!r}: the path must end in .db, "
                f"e.g. milvus-lite:./citeqa.db"
            )
        absolute = Path(path).expanduser().absolute()
        if not absolute.parent.is_dir():
            raise InvalidArgumentError(
                f"bad Milvus Lite address {address!r}: folder {absolute.parent} does not exist; create it first"
            )
        name = _check_collection(collection, address) if collection else DEFAULT_COLLECTION
        return MilvusAddress(str(absolute), name, True, address)
    raise InvalidArgumentError(
        f"{address!r} is not a Milvus address: use milvus://HOST:PORT/COLLECTION or milvus-lite:PATH.db"
    )


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError:
        raise MilvusStoreError(
            "the Milvus store needs pymilvus and milvus-lite: pip install 'citeqa[milvus]'"
        ) from None
    return pymilvus


#: gRPC channel options of every client. pymilvus pings every 10 s even on an idle
#: connection; a gRPC server's default policy (pings without data at most every 5 minutes,
#: two strikes) answers that with GOAWAY "too_many_pings", and pymilvus's shared connection
#: then failed to recover: seen once in CI, a Ray build connecting to a milvus-lite server that
#: earlier tests had left idle. So: no pings while idle, and at most one per 5 minutes.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": False}


def connect(address: MilvusAddress | str, *, timeout: float = CONNECT_TIMEOUT) -> Any:
    """A :class:`pymilvus.MilvusClient` for ``address`` (with :data:`GRPC_OPTIONS`).

    Raises:
        MilvusStoreError: pymilvus is missing or the server cannot be reached (with what to do).
    """
    if isinstance(address, str):
        address = parse_address(address)
    pymilvus = _pymilvus()
    try:
        return pymilvus.MilvusClient(uri=address.uri, timeout=timeout, grpc_options=dict(GRPC_OPTIONS))
    except pymilvus.MilvusException as exc:
        if address.lite:
            raise MilvusStoreError(
                f"cannot open Milvus Lite at {address.uri} ({exc.message}); check the folder is "
                f"writable and not used by another process"
            ) from None
        where = address.uri.removeprefix("http://")
        port = where.rsplit(":", 1)[-1]
        raise MilvusStoreError(
            f"cannot reach Milvus at {where} ({exc.message}); start it (a Milvus standalone, or "
            f"for one machine: milvus-lite server --data-dir DIR --host 127.0.0.1 --port {port}) "
            f"or fix the address {address.text!r}"
        ) from None


class _Calls:
    """Runs pymilvus calls, turning a MilvusException into a MilvusStoreError that names the address."""

    def __init__(self, client: Any, address: MilvusAddress) -> None:
        self.client = client
        self.address = address
        self._exception = _pymilvus().MilvusException

    def __call__(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except self._exception as exc:
            raise MilvusStoreError(
                f"Milvus at {self.address.text}: {what} failed ({exc.message}); "
                f"check the server is up and the store was built with: citeqa build SOURCES --store {self.address.text}"
            ) from None


def _json_chunks(value: Any) -> list[str]:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return [text[i : i + TEXT_CHUNK] for i in range(0, len(text), TEXT_CHUNK)] or [""]


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of a manifest's fields (all but the digest) as canonical JSON."""
    body = {key: value for key, value in manifest.items() if key != MANIFEST_DIGEST}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _ids_filter(field: str, ids: Sequence[int]) -> str:
    return f"{field} in [{','.join(str(int(i)) for i in ids)}]"


def _version_name(alias: str, when: datetime) -> str:
    return f"{alias}_v{when.strftime('%Y%m%d%H%M%S%f')}"


def _versions_of(names: Sequence[str], alias: str) -> list[str]:
    """The sentence collections of ``alias``'s versions among ``names``, oldest first."""
    pattern = re.compile(re.escape(alias) + r"_v\d{20}\Z")
    return sorted(n for n in names if pattern.fullmatch(n))


def _live_target(calls: _Calls, alias: str) -> str | None:
    """The collection ``alias`` points to, or None when there is no such alias."""
    if alias not in calls("listing aliases", "list_aliases").get("aliases", []):
        return None
    return str(calls(f"resolving alias {alias}", "describe_alias", alias)["collection_name"])


def _count(calls: _Calls, name: str) -> int:
    result = calls(f"counting {name}", "query", name, filter="", output_fields=["count(*)"])
    return int(result[0]["count(*)"])


def wait_for_server(address: MilvusAddress | str, timeout: float = 30.0) -> None:
    """Wait until the Milvus server of ``address`` answers (for scripts starting one).

    Raises:
        MilvusStoreError: it did not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            connect(address, timeout=2.0).close()
            return
        except MilvusStoreError as exc:
            last = exc
            time.sleep(0.2)
    raise MilvusStoreError(f"Milvus at {address} did not answer within {timeout:g} s: {last}")


