"""Reading a citeqa index version from Milvus: :class:`MilvusStore`, the seam's Milvus implementation.

Opening resolves the alias once and pins that version; the manifest's checksum, the row
counts and (unless told not to) the sources' sha256 are checked before anything is read.
What ranking asks per query (candidates, cosines, paragraph and document evidence) is in
:mod:`.search`; this module holds the rest: integrity, texts, rows, documents, IDF, vocabulary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from ...errors import (
    CorruptIndexError,
    IncompatibleIndexError,
    IndexNotFoundError,
)
from ...schema import Document
from ..seam import LazySequence
from ..verify import check_source_records
from .address import (
    _COMPANIONS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_DIGEST,
    MilvusAddress,
    _Calls,
    _count,
    _live_target,
    connect,
    manifest_digest,
    parse_address,
)
from .lexical import IdfTable
from .search import MilvusSearches


class MilvusStore(MilvusSearches):
    """One version of a citeqa index in Milvus, pinned when opened (immutable afterwards).

    Every read goes to the version's own collections, never through the alias, so a
    rebuild switching the alias meanwhile cannot mix two versions into one answer.
    """

    def __init__(self, client: Any, address: MilvusAddress, version: str, *, check_stale: bool = True) -> None:
        self._calls = _Calls(client, address)
        self.address = address
        self.version = version
        self._names = {"sentences": version, **{s.strip("_"): version + s for s in _COMPANIONS}}
        self._init_caches()
        self._load()
        self.manifest = self._read_manifest()
        self._check_counts()
        if check_stale:
            self.check_sources()
        stats = self.manifest.get("bm25_stats", {})
        self._avgdl = float(stats.get("avgdl", 0.0))
        self._paragraph_avgdl = float(stats.get("paragraph_avgdl", 0.0))
        self.dimension = int(self.manifest["dimension"])

    @classmethod
    def open(cls, address: MilvusAddress | str, *, check_stale: bool = True) -> MilvusStore:
        """Open the live version of the store at ``address`` (resolving its alias once).

        Raises:
            InvalidArgumentError: a malformed address.
            MilvusStoreError: pymilvus missing or Milvus unreachable.
            IndexNotFoundError: no citeqa index at that alias.
            CorruptIndexError / StaleIndexError: a damaged version, or changed sources.
        """
        address = parse_address(address) if isinstance(address, str) else address
        client = connect(address)
        calls = _Calls(client, address)
        version = _live_target(calls, address.collection)
        if version is None:
            raise IndexNotFoundError(
                f"no citeqa index at {address.text}; build one with: citeqa build SOURCES --store {address.text}"
            )
        return cls(client, address, version, check_stale=check_stale)

    @property
    def location(self) -> str:
        """The address as written."""
        return self.address.text

    @property
    def path(self) -> str:
        """The address (what :attr:`citeqa.Index.path` shows for a Milvus store)."""
        return self.address.text

    def __repr__(self) -> str:
        return f"MilvusStore({self.address.text!r}, version={self.version!r}, sentences={len(self)})"

    @property
    def client(self) -> Any:
        """The pymilvus client (for callers that need more than this class offers)."""
        return self._calls.client

    def close(self) -> None:
        """Close the connection (the store can't be read afterwards)."""
        self._calls.client.close()

    def live_version(self) -> str | None:
        """The version the alias points to now (a server compares it with :attr:`version`)."""
        return _live_target(self._calls, self.address.collection)

    # ----------------------------------------------------------------- manifest, integrity

    def _load(self) -> None:
        """Load the version's collections into memory where they are not (a Milvus Lite file
        opened by a new process, or a server that released them): Milvus reads loaded ones only."""
        for name in self._names.values():
            state = self._calls(f"asking whether {name} is loaded", "get_load_state", name).get("state")
            if "NotExist" in str(state):
                raise CorruptIndexError(f"{self.address.text}: collection {name} is missing; rebuild with: {self._hint()}")
            if "NotLoad" in str(state):
                self._calls(f"loading {name}", "load_collection", name)

    def _meta(self, kind: str) -> Any:
        found = self._calls(
            f"reading {kind}", "query", self._names["meta"], filter=f'kind == "{kind}"', output_fields=["chunk", "body"], limit=16384
        )
        if not found:
            raise CorruptIndexError(f"{self.address.text}: version {self.version} has no {kind}; rebuild with: {self._hint()}")
        parts = sorted((int(r["chunk"]), r["body"]) for r in found)
        if [p[0] for p in parts] != list(range(len(parts))):
            raise CorruptIndexError(f"{self.address.text}: {kind} of {self.version} is missing chunks; rebuild with: {self._hint()}")
        try:
            return json.loads("".join(p[1] for p in parts))
        except json.JSONDecodeError as exc:
            raise CorruptIndexError(f"{self.address.text}: {kind} of {self.version} is not JSON ({exc}); rebuild with: {self._hint()}") from None

    def _read_manifest(self) -> dict[str, Any]:
        manifest = self._meta("manifest")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CorruptIndexError(f"{self.address.text}: {self.version} is not a citeqa index; rebuild with: {self._hint()}")
        if manifest.get(MANIFEST_DIGEST) != manifest_digest(manifest):
            raise CorruptIndexError(
                f"{self.address.text}: the manifest of {self.version} does not match its checksum; rebuild with: {self._hint()}"
            )
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IncompatibleIndexError(
                f"{self.address.text}: store format {manifest.get('format_version')!r}, this citeqa reads "
                f"{FORMAT_VERSION}; rebuild with: {self._hint()}"
            )
        return manifest

    def _check_counts(self) -> None:
        counts = self.manifest["counts"]
        expected = {"sentences": counts["sentences"], "paragraphs": counts["paragraphs"], "documents": counts["document_chunks"]}
        for key, count in expected.items():
            got = _count(self._calls, self._names[key])
            if got != count:
                raise CorruptIndexError(
                    f"{self.address.text}: {self._names[key]} holds {got} rows, the manifest says {count}; "
                    f"rebuild with: {self._hint()}"
                )

    def check_sources(self) -> None:
        """Refuse a store whose sources changed or vanished, or would now be extracted differently (the local rule).

        Raises:
            StaleIndexError: naming the source and the command that rebuilds.
        """
        check_source_records(self.manifest.get("sources", []), f"store {self.address.text}", self._hint())

    @cached_property
    def _idf(self) -> IdfTable:
        return IdfTable({str(k): float(v) for k, v in self._meta("idf").items()})

    @cached_property
    def _paragraph_idf(self) -> IdfTable:
        return IdfTable({str(k): float(v) for k, v in self._meta("paragraph_idf").items()})

    @cached_property
    def _paragraph_starts(self) -> np.ndarray:
        starts = np.asarray(self._meta("paragraph_starts"), dtype=np.int64)
        count = int(self.manifest["counts"]["paragraphs"])
        if starts.shape != (count,) or (count and (starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= len(self))):
            raise CorruptIndexError(
                f"{self.address.text}: the paragraph starts of {self.version} do not fit its {count} paragraphs; "
                f"rebuild with: {self._hint()}"
            )
        return starts

    def idf(self) -> Mapping[str, float]:
        """Word → Lucene IDF over the sentences (the local :meth:`BM25Index.idf`)."""
        return self._idf

    def token_presence(self, query_tokens: Sequence[str], ids: np.ndarray, min_prefix: int) -> None:
        """None: Milvus keeps no word index citeqa can read, so the ranker tokenizes the candidates' texts."""

    def vocabulary(self) -> dict[str, list[str]]:
        """The corpus's surface words and names (``{"words": [...], "names": [...]}``)."""
        lists = self._meta("vocabulary")
        return {"words": list(lists["words"]), "names": list(lists["names"])}

    # ----------------------------------------------------------------- sentences and documents

    def _rows_by_id(self, ids: np.ndarray) -> list[dict[str, Any]]:
        """The row of each sentence id (from the cache where it is; the others in one query)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self._check_ids(ids)
        table = self._sentence_rows(ids)
        return [table[int(i)] for i in ids]

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """int64 ``(k, 4)``: document number, start, end, paragraph id of each id."""
        picked = self._rows_by_id(ids)
        return np.array([[r[f] for f in ("doc", "start", "end", "paragraph")] for r in picked], dtype=np.int64).reshape(-1, 4)

    def texts(self, ids: np.ndarray) -> list[str]:
        """The text of each id."""
        return self._texts_of(self._rows_by_id(ids))

    def paragraph_rows(self, row: int) -> range:
        """The sentence ids of ``row``'s paragraph."""
        number = int(self.paragraph_of(np.array([row]))[0])
        info = self._paragraphs(np.array([number]))[number]
        return range(info["first_row"], info["first_row"] + info["rows"])

    def title_rows(self, ids: np.ndarray) -> np.ndarray:
        """The headline row of each sentence's document, or -1 where it has none."""
        return np.array([r["title_row"] for r in self._rows_by_id(ids)], dtype=np.int64)

    def sentence_counts(self) -> np.ndarray:
        """How many sentences each document has, in document order."""
        return np.array([int(d["rows"]) for d in self._document_meta], dtype=np.int64)

    @cached_property
    def _document_meta(self) -> list[dict[str, Any]]:
        count = int(self.manifest["counts"]["documents"])
        fields = ["doc", "doc_id", "path", "sha256", "rows"]
        found = self._calls(
            "reading documents", "query", self._names["documents"], filter="chunk == 0", output_fields=fields, limit=max(1, count)
        )
        table = {int(r["doc"]): r for r in found}
        if sorted(table) != list(range(count)):
            raise CorruptIndexError(f"{self.address.text}: document rows are missing; rebuild with: {self._hint()}")
        return [table[d] for d in range(count)]

    @cached_property
    def documents(self) -> Sequence[Document]:  # type: ignore[override]
        """The documents in index order; each text is read (and checked) when accessed."""
        return _MilvusDocuments(self)

    def _texts_of(self, picked: list[Mapping[str, Any]]) -> list[str]:
        """The texts of sentence rows (a sentence too long for one VARCHAR is sliced from its document)."""
        texts = [r["text"] for r in picked]
        for number, row in enumerate(picked):  # a sentence too long for VARCHAR: slice its document
            if len(texts[number]) != int(row["end"]) - int(row["start"]):
                texts[number] = self.document_text(int(row["doc"]))[int(row["start"]) : int(row["end"])]
        return texts

    def document_text(self, doc: int) -> str:
        """The whole text of document ``doc``, checked against its stored sha256.

        Raises:
            CorruptIndexError: chunks are missing or the text differs from what was built.
        """
        return self._document_chunks(doc)[0]

    def document(self, doc: int) -> Document:
        """Document ``doc`` with every field the local store keeps (text checked, pages, extractor)."""
        doc = int(doc)
        text, pages = self._document_chunks(doc)
        meta, source = self._document_meta[doc], self.manifest["sources"][doc]
        return Document(
            doc_id=meta["doc_id"], text=text, path=meta["path"], sha256=meta["sha256"], pages=pages,
            extractor=str(source["extractor"]), extractor_version=str(source["extractor_version"]),
        )  # fmt: skip

    def _document_chunks(self, doc: int) -> tuple[str, tuple[int, ...] | None]:
        """The text (checked against its sha256) and the page offsets of document ``doc``, in one query."""
        doc = int(doc)
        found = self._calls(
            "reading a document", "query", self._names["documents"], filter=f"doc == {doc}",
            output_fields=["chunk", "chunks", "text", "text_sha256", "pages"], limit=16384,
        )  # fmt: skip
        if not found:
            raise IndexError(f"document number {doc} out of range (0..{self.manifest['counts']['documents'] - 1})")
        parts = sorted(found, key=lambda r: int(r["chunk"]))
        text = "".join(r["text"] for r in parts)
        if [int(r["chunk"]) for r in parts] != list(range(int(parts[0]["chunks"]))) or (
            hashlib.sha256(text.encode("utf-8")).hexdigest() != parts[0]["text_sha256"]
        ):
            raise CorruptIndexError(
                f"{self.address.text}: the text of document {doc} does not match its sha256; rebuild with: {self._hint()}"
            )
        try:
            pages = json.loads("".join(r["pages"] for r in parts))
            if pages is not None and not (isinstance(pages, list) and all(isinstance(p, int) for p in pages)):
                raise ValueError(f"not a list of offsets: {str(pages)[:40]}")
        except ValueError as exc:
            raise CorruptIndexError(
                f"{self.address.text}: the pages of document {doc} are malformed ({exc}); rebuild with: {self._hint()}"
            ) from None
        return text, tuple(pages) if pages is not None else None



class _MilvusDocuments(LazySequence[Document]):
    """The documents of a Milvus store, read when accessed (the last few kept)."""

    def __init__(self, store: MilvusStore) -> None:
        self._store = store
        self._cache: dict[int, Document] = {}

    def __len__(self) -> int:
        return len(self._store._document_meta)

    _position_name = "document number"

    def _item(self, number: int) -> Document:
        if number not in self._cache:
            if len(self._cache) >= 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[number] = self._store.document(number)
        return self._cache[number]
