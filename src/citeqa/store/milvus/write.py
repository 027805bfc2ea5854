"""Writing a citeqa index version into Milvus: four collections, row counts checked, then the alias switched.

The build (:mod:`citeqa.build`) computes everything (sentences, vectors, the paragraph and
document mean vectors, the paragraph BM25, the vocabulary) and hands it to
:func:`write_index`; this module only lays it out in collections (see
:mod:`citeqa.store.milvus`) and publishes it atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ...errors import CiteqaError, InvalidArgumentError
from ...ingest.segment import paragraph_numbers
from ...schema import Document
from ...text import tokenize
from ..lexical import BM25Index
from ..write import URL_STALENESS, source_record
from .address import (
    _COMPANIONS,
    _PLACEHOLDER_DIM,
    BM25_B,
    BM25_K1,
    DEFAULT_DENSE_INDEX,
    FORMAT,
    FORMAT_VERSION,
    INSERT_BATCH,
    KEEP_VERSIONS,
    MANIFEST_DIGEST,
    TEXT_CHUNK,
    VARCHAR_MAX,
    MilvusAddress,
    MilvusStoreError,
    _Calls,
    _count,
    _json_chunks,
    _live_target,
    _pymilvus,
    _version_name,
    _versions_of,
    connect,
    encode_vectors,
    manifest_digest,
    parse_address,
)
from .lexical import milvus_terms
from .read import MilvusStore

log = logging.getLogger("citeqa")


def _fit(text: str, limit: int = VARCHAR_MAX) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` UTF-8 bytes (at a space when cut), and whether it is whole."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, True
    cut = data[:limit].decode("utf-8", errors="ignore")
    return cut[: max(cut.rfind(" "), 0)], False


def _pages_json(document: Document) -> str:
    """A document's page start offsets as compact JSON ("null" when it is not paged)."""
    return json.dumps(list(document.pages) if document.pages is not None else None, separators=(",", ":"))


def _schemas(pymilvus: Any, dim: int) -> dict[str, Any]:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    sentences = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    sentences.add_field("id", DataType.INT64, is_primary=True)
    for name in ("doc", "start", "end", "paragraph", "paragraph_number", "title_row"):
        sentences.add_field(name, DataType.INT64)
    sentences.add_field("text", DataType.VARCHAR, max_length=VARCHAR_MAX)
    sentences.add_field(
        "terms", DataType.VARCHAR, max_length=VARCHAR_MAX, enable_analyzer=True, analyzer_params={"tokenizer": "standard"}
    )
    sentences.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    sentences.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    sentences.add_function(
        Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"])
    )

    paragraphs = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    paragraphs.add_field("id", DataType.INT64, is_primary=True)
    for name in ("doc", "first_row", "rows"):
        paragraphs.add_field(name, DataType.INT64)
    paragraphs.add_field("terms", DataType.VARCHAR, max_length=VARCHAR_MAX)
    paragraphs.add_field("terms_complete", DataType.BOOL)
    # the mean vector, then each sentence's vector when they all fit (encode_vectors)
    paragraphs.add_field("vectors", DataType.VARCHAR, max_length=VARCHAR_MAX)
    paragraphs.add_field("vectors_complete", DataType.BOOL)
    paragraphs.add_field("placeholder", DataType.FLOAT_VECTOR, dim=_PLACEHOLDER_DIM)

    documents = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    documents.add_field("id", DataType.INT64, is_primary=True)
    for name in ("doc", "chunk", "chunks", "chars", "first_row", "rows", "title_row"):
        documents.add_field(name, DataType.INT64)
    documents.add_field("text", DataType.VARCHAR, max_length=VARCHAR_MAX)
    for name in ("doc_id", "path"):
        documents.add_field(name, DataType.VARCHAR, max_length=4096)
    # the page start offsets as JSON (a list, or null), cut into the document's chunks: a
    # long PDF's pages need not fit one VARCHAR
    documents.add_field("pages", DataType.VARCHAR, max_length=VARCHAR_MAX)
    for name in ("sha256", "text_sha256"):
        documents.add_field(name, DataType.VARCHAR, max_length=64)
    documents.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    documents.add_field("title_vector", DataType.FLOAT_VECTOR, dim=dim)

    meta = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    meta.add_field("id", DataType.INT64, is_primary=True)
    meta.add_field("kind", DataType.VARCHAR, max_length=64)
    meta.add_field("chunk", DataType.INT64)
    meta.add_field("body", DataType.VARCHAR, max_length=VARCHAR_MAX)
    meta.add_field("placeholder", DataType.FLOAT_VECTOR, dim=_PLACEHOLDER_DIM)
    return {"": sentences, "_paragraphs": paragraphs, "_documents": documents, "_meta": meta}


def _index_params(client: Any, suffix: str, dense_index: Mapping[str, Any]) -> Any:
    params = client.prepare_index_params()
    if suffix == "":
        params.add_index(field_name="dense", index_name="dense", **dict(dense_index))
        params.add_index(
            field_name="sparse",
            index_name="sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": BM25_K1, "bm25_b": BM25_B},
        )
    elif suffix in ("_meta", "_paragraphs"):
        params.add_index(field_name="placeholder", index_type="FLAT", metric_type="L2")
    else:
        params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        if suffix == "_documents":  # Milvus loads a collection only when every vector field is indexed
            params.add_index(field_name="title_vector", index_type="FLAT", metric_type="IP")
    return params


def _title_rows(rows: np.ndarray, paragraph: np.ndarray, documents: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First row, row count and headline row (-1: none) of each document (see Ranker.title_rows)."""
    first = np.full(documents, -1, dtype=np.int64)
    count = np.zeros(documents, dtype=np.int64)
    title = np.full(documents, -1, dtype=np.int64)
    n = rows.shape[0]
    if n:
        doc = rows[:, 0]
        starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        ends = np.r_[starts[1:], n]
        first[doc[starts]] = starts
        count[doc[starts]] = ends - starts
        following = np.minimum(starts + 1, n - 1)
        alone = (following == starts) | (paragraph[following] != paragraph[starts])
        title[doc[starts]] = np.where(alone, starts, -1)
    return first, count, title


def _insert(calls: _Calls, name: str, rows: Iterator[dict[str, Any]]) -> int:
    batch: list[dict[str, Any]] = []
    written = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= INSERT_BATCH:
            calls(f"inserting into {name}", "insert", name, batch)
            written += len(batch)
            batch = []
    if batch:
        calls(f"inserting into {name}", "insert", name, batch)
        written += len(batch)
    return written


def _drop_version(calls: _Calls, version: str) -> None:
    for suffix in ("", *_COMPANIONS):
        if calls("listing collections", "has_collection", version + suffix):
            calls(f"dropping {version + suffix}", "drop_collection", version + suffix)


def write_index(
    address: MilvusAddress | str,
    *,
    documents: Sequence[Document],
    rows: np.ndarray,
    texts: Sequence[str],
    vectors: np.ndarray,
    info: Mapping[str, Any],
    paragraph_vectors: np.ndarray,
    document_vectors: np.ndarray,
    paragraph_bm25: BM25Index,
    vocabulary: Mapping[str, Sequence[str]],
    dense_index: Mapping[str, Any] | None = None,
    keep: int = KEEP_VERSIONS,
) -> MilvusStore:
    """Write a complete index version into Milvus and switch the alias to it.

    Args:
        address: Where (see :func:`parse_address`); its collection is the public alias.
        documents: The documents, in index order.
        rows: int64 ``(n, 4)``: document number, start, end, paragraph id per sentence
            (a document's sentences contiguous and in order).
        texts: Each sentence's text (``documents[doc].text[start:end]``).
        vectors: float32 ``(n, dim)`` unit sentence vectors.
        info: Manifest fields saying how it was built (model, backend, dimension,
            vector_space, segmenter, tokenizer), as for the local store.
        paragraph_vectors: float ``(paragraphs, dim)`` unit mean vector of each paragraph
            (numbered as :func:`citeqa.ingest.segment.paragraph_numbers` does).
        document_vectors: float ``(documents, dim)`` unit mean vector of each document.
        paragraph_bm25: BM25 over whole paragraphs (its IDF is stored).
        vocabulary: The corpus's word lists (``{"words": [...], "names": [...]}``).
        (The last four are :func:`citeqa.build.context_arrays`, as the local store gets them.)
        dense_index: Milvus index of the sentence vectors (default :data:`DEFAULT_DENSE_INDEX`,
            exact); its metric must be IP or COSINE.
        keep: Versions to keep (at least 2: the new live one and the one before).

    Returns:
        The new version, opened (not re-checked for staleness).

    Raises:
        InvalidArgumentError: inputs of mismatched shapes or texts that are not the slices.
        MilvusStoreError: Milvus is unreachable or refused a step (the alias is then unchanged).
    """
    address = parse_address(address) if isinstance(address, str) else address
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    vectors = np.asarray(vectors, dtype=np.float32)
    n = rows.shape[0]
    if vectors.ndim != 2 or vectors.shape[0] != n or len(texts) != n:
        raise InvalidArgumentError(f"{n} sentence rows need as many texts and vectors, got {len(texts)} texts and vectors {vectors.shape}")
    dim = int(vectors.shape[1])
    if int(info.get("dimension", dim)) != dim:
        raise InvalidArgumentError(f"vectors have dimension {dim}, info says {info.get('dimension')}")
    dense_index = dict(dense_index or DEFAULT_DENSE_INDEX)
    if dense_index.get("metric_type") not in ("IP", "COSINE"):
        raise InvalidArgumentError(f"dense_index metric_type must be IP or COSINE, got {dense_index.get('metric_type')!r}")
    for row, text in zip(rows, texts):
        doc, start, end = int(row[0]), int(row[1]), int(row[2])
        if not 0 <= doc < len(documents) or documents[doc].text[start:end] != text:
            raise InvalidArgumentError(f"sentence text {text[:40]!r} is not documents[{doc}].text[{start}:{end}]")
    keep = max(KEEP_VERSIONS, keep)

    tokens = [tokenize(t) for t in texts]
    paragraph = paragraph_numbers(rows)
    paragraphs = int(paragraph[-1]) + 1 if n else 0
    paragraph_first = np.searchsorted(paragraph, np.arange(paragraphs))
    paragraph_count = np.diff(np.r_[paragraph_first, n]).astype(np.int64)
    paragraph_tokens = [[t for r in range(int(a), int(a + c)) for t in tokens[r]] for a, c in zip(paragraph_first, paragraph_count)]
    sentence_idf = BM25Index.from_tokens(tokens).idf()
    paragraph_idf = paragraph_bm25.idf()
    if len(paragraph_vectors) != paragraphs or len(document_vectors) != len(documents):
        raise InvalidArgumentError(
            f"{paragraphs} paragraphs and {len(documents)} documents need as many mean vectors, got "
            f"{len(paragraph_vectors)} and {len(document_vectors)}"
        )
    doc_first, doc_count, doc_title = _title_rows(rows, paragraph, len(documents))

    pymilvus = _pymilvus()
    client = connect(address)
    calls = _Calls(client, address)
    alias = address.collection
    if alias in calls("listing collections", "list_collections") and _live_target(calls, alias) is None:
        raise MilvusStoreError(
            f"{address.text}: {alias!r} is a collection, not an alias citeqa manages; "
            f"choose another name or drop it"
        )
    created = datetime.now(UTC)
    version = _version_name(alias, created)
    try:
        for suffix, schema in _schemas(pymilvus, dim).items():
            calls(
                f"creating {version + suffix}",
                "create_collection",
                version + suffix,
                schema=schema,
                index_params=_index_params(client, suffix, dense_index),
            )

        def sentence_rows() -> Iterator[dict[str, Any]]:
            for i in range(n):
                text, _ = _fit(texts[i])
                terms, _ = _fit(milvus_terms(tokens[i]))
                yield {
                    "id": i, "doc": int(rows[i, 0]), "start": int(rows[i, 1]), "end": int(rows[i, 2]),
                    "paragraph": int(rows[i, 3]), "paragraph_number": int(paragraph[i]),
                    "title_row": int(doc_title[rows[i, 0]]),
                    "text": text, "terms": terms, "dense": vectors[i].tolist(),
                }  # fmt: skip

        def paragraph_rows() -> Iterator[dict[str, Any]]:
            for p in range(paragraphs):
                terms, whole = _fit(" ".join(paragraph_tokens[p]))
                first, count = int(paragraph_first[p]), int(paragraph_count[p])
                mean = np.asarray(paragraph_vectors[p], dtype=np.float32).reshape(1, dim)
                stacked = encode_vectors(np.concatenate([mean, vectors[first : first + count]]))
                complete = len(stacked) <= VARCHAR_MAX  # base64 is ASCII: characters are bytes
                yield {
                    "id": p, "doc": int(rows[first, 0]), "first_row": first, "rows": count,
                    "terms": terms, "terms_complete": whole,
                    "vectors": stacked if complete else encode_vectors(mean), "vectors_complete": complete,
                    "placeholder": [1.0, 0.0],
                }  # fmt: skip

        def document_rows() -> Iterator[dict[str, Any]]:
            serial = 0
            for d, document in enumerate(documents):
                text = document.text
                pieces = [text[i : i + TEXT_CHUNK] for i in range(0, len(text), TEXT_CHUNK)] or [""]
                pages = _pages_json(document)  # ASCII: characters are bytes
                page_pieces = [pages[i : i + TEXT_CHUNK] for i in range(0, len(pages), TEXT_CHUNK)]
                pieces += [""] * (len(page_pieces) - len(pieces))
                page_pieces += [""] * (len(pieces) - len(page_pieces))
                common = {
                    "doc": d, "chunks": len(pieces), "chars": len(text), "first_row": int(doc_first[d]),
                    "rows": int(doc_count[d]), "title_row": int(doc_title[d]),
                    "doc_id": document.doc_id, "path": document.path, "sha256": document.sha256,
                    "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    "vector": np.asarray(document_vectors[d], dtype=np.float32).tolist(),
                    "title_vector": (vectors[doc_title[d]] if doc_title[d] >= 0 else np.zeros(dim, np.float32)).tolist(),
                }  # fmt: skip
                for number, piece in enumerate(pieces):
                    yield {"id": serial, "chunk": number, "text": piece, "pages": page_pieces[number], **common}
                    serial += 1

        written = {
            "sentences": _insert(calls, version, sentence_rows()),
            "paragraphs": _insert(calls, version + "_paragraphs", paragraph_rows()),
            "document_chunks": _insert(calls, version + "_documents", document_rows()),
        }
        lengths = [len(t) for t in tokens]
        records = [source_record(d) for d in documents]
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **({"url_sources": URL_STALENESS} if any(r.get("fetched") for r in records) else {}),
            **info,
            "dimension": dim,
            "metric": "inner_product",
            "created_at": created.isoformat(timespec="seconds"),
            "version": version,
            "alias": alias,
            "milvus": {"dense_index": dense_index, "bm25": {"k1": BM25_K1, "b": BM25_B, "input": "terms"}},
            "counts": {"documents": len(documents), "sentences": n, "paragraphs": paragraphs, **written},
            "bm25_stats": {
                "avgdl": float(np.mean(lengths)) if lengths else 0.0,
                "paragraph_avgdl": float(np.mean([len(t) for t in paragraph_tokens])) if paragraph_tokens else 0.0,
            },
            # the local store's source records (extractor and its version: staleness), pages apart
            "sources": [{k: v for k, v in r.items() if k != "pages"} for r in records],
        }
        manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
        blobs = {
            "manifest": manifest,
            "idf": dict(sentence_idf.items()),
            "paragraph_idf": dict(paragraph_idf.items()),
            "vocabulary": {key: list(vocabulary[key]) for key in ("words", "names")},
            # the first row of every paragraph: which paragraph holds any row, without a round trip
            "paragraph_starts": [int(first) for first in paragraph_first],
        }

        def meta_rows() -> Iterator[dict[str, Any]]:
            serial = 0
            for kind, value in blobs.items():
                for number, body in enumerate(_json_chunks(value)):
                    yield {"id": serial, "kind": kind, "chunk": number, "body": body, "placeholder": [1.0, 0.0]}
                    serial += 1

        written["meta"] = _insert(calls, version + "_meta", meta_rows())
        for suffix in ("", *_COMPANIONS):
            calls(f"flushing {version + suffix}", "flush", version + suffix)
        expected = {"": n, "_paragraphs": paragraphs, "_documents": written["document_chunks"], "_meta": written["meta"]}
        for suffix, count in expected.items():
            got = _count(calls, version + suffix)
            if got != count:
                raise MilvusStoreError(
                    f"{address.text}: {version + suffix} holds {got} rows after the build, expected {count}; "
                    f"the alias was not switched, run the build again"
                )
        previous = _live_target(calls, alias)
        if previous is not None and previous > version:  # same-length stamps: newer sorts later
            raise MilvusStoreError(
                f"{address.text}: a newer build ({previous}) went live while this one ({version}) was "
                f"written; kept the newer one. Run the build again if this one's sources are newer"
            )
        if previous is None:
            calls(f"creating alias {alias}", "create_alias", version, alias)
        else:
            calls(f"switching alias {alias}", "alter_alias", version, alias)
    except BaseException:
        try:
            _drop_version(calls, version)
        except CiteqaError as exc:  # the build already failed; say so, not this
            log.warning("could not drop the half-built %s: %s", version, exc)
        raise
    _prune(calls, alias, live=version, previous=previous, keep=keep)
    return MilvusStore(client, address, version, check_stale=False)


def _prune(calls: _Calls, alias: str, *, live: str, previous: str | None, keep: int) -> None:
    """Drop versions of ``alias`` older than the kept ones (never a newer, concurrent build)."""
    names = calls("listing collections", "list_collections")
    versions = [v for v in _versions_of(names, alias) if v <= live]
    kept = set(versions[-keep:]) | {live} | ({previous} if previous else set())
    for version in versions:
        if version not in kept:
            _drop_version(calls, version)
    # companions whose sentence collection is gone (a crash between drops)
    for name in names:
        for suffix in _COMPANIONS:
            base = name.removesuffix(suffix)
            if name.endswith(suffix) and base in versions and base not in kept and calls("listing collections", "has_collection", name):
                calls(f"dropping {name}", "drop_collection", name)


def list_versions(address: MilvusAddress | str) -> list[str]:
    """The version collections of ``address``'s alias, oldest first."""
    address = parse_address(address) if isinstance(address, str) else address
    calls = _Calls(connect(address), address)
    return _versions_of(calls("listing collections", "list_collections"), address.collection)


