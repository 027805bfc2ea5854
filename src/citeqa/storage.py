"""The index on disk: a folder of plain files, written atomically, verified on load.

Layout of an index folder::

    index/
      CURRENT                 name of the live version (switched with os.replace)
      v-<utc time>-<rand>/    one complete, immutable version
        manifest.json         format, model, backend, vector space, FAISS index type and
                              parameters, segmenter, sources + sha256, every file's
                              size + sha256, counts, creation time
        vectors.faiss         FAISS index of unit sentence vectors (inner product):
                              exact (flat) or approximate (IVF + 8-bit scalar quantizer)
        embeddings.npy        float16 (n, dim) sentence vectors, reused by the next build
                              for unchanged documents (never read when serving)
        sentences.npy         int64 (n, 4): document number, start, end, paragraph id
        documents.jsonl       one document per line: id, path, sha256
        documents.npy         int64 (documents, 3): byte start, byte end in texts.bin, chars
        texts.bin             the documents' UTF-8 text, one after the other
        bm25/                 BM25 arrays (.npy) and vocabulary/params (.json) over sentences
        bm25_paragraphs/      the same over whole paragraphs (paragraph context for ranking)
        paragraph_vectors.npy float16 (paragraphs, dim) unit mean vector of each paragraph
        document_vectors.npy  float16 (documents, dim) unit mean vector of each document
        vocabulary.json       the corpus's distinct words and names (read when first needed)

Large indexes load without becoming Python objects: the .npy arrays and texts.bin are
memory-mapped (a document's text is decoded only when one of its sentences is shown)
and approximate FAISS indexes are read with ``IO_FLAG_MMAP``.

Verification: every file is checked against its size and sha256 in the manifest before
citeqa uses it. The files needed to serve are hashed when the index loads (about 1 s
per GB); ``embeddings.npy``, which only a rebuild reads, is hashed when a rebuild
reads it (and a mismatch then just means re-embedding).
      .tmp-<rand>/            a version being written (removed by the next build)
      .lock                   held while building

A build writes a whole new version next to the old ones, fsyncs it, renames it into
place and only then switches ``CURRENT`` — so a crash at any moment leaves the old or
the new version live, never a mix. This is the only module that touches index files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import numpy as np

from .errors import (
    CorruptIndexError,
    IncompatibleIndexError,
    IndexNotFoundError,
    StaleIndexError,
)
from .lexical import BM25Index
from .schema import Document
from .segment import paragraph_numbers
from .sources import resolve_source_path, sha256_bytes, sha256_file
from .vector_index import VectorSearcher, apply_search_params

log = logging.getLogger("citeqa")

FORMAT_VERSION = 3
POINTER = "CURRENT"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
EMBEDDINGS = "embeddings.npy"
DOCUMENTS = "documents.jsonl"
DOCUMENT_SPANS = "documents.npy"
TEXTS = "texts.bin"
SENTENCES = "sentences.npy"
BM25_DIR = "bm25"
PARAGRAPH_BM25_DIR = "bm25_paragraphs"
PARAGRAPH_VECTORS = "paragraph_vectors.npy"
DOCUMENT_VECTORS = "document_vectors.npy"
VOCABULARY = "vocabulary.json"
#: Files the manifest must list; all listed files but embeddings.npy are hashed when the
#: index loads (embeddings.npy when a rebuild reads it).
SERVING_FILES = frozenset(
    {VECTORS, SENTENCES, DOCUMENTS, DOCUMENT_SPANS, TEXTS, PARAGRAPH_VECTORS, DOCUMENT_VECTORS, VOCABULARY}
)
#: Approximate FAISS indexes at least this large are memory-mapped rather than read.
MMAP_MIN_BYTES = 64 << 20
VERSION_PREFIX = "v-"
TMP_PREFIX = ".tmp-"
KEEP_VERSIONS = 2
#: Held while .npy headers are parsed. NumPy parses them with ``ast.literal_eval``, and
#: CPython 3.11's parser is not safe to run from several threads at once: a server
#: loading a rebuilt index while another thread loads one failed about once in 200
#: loads with "SystemError: AST constructor recursion depth mismatch". The arrays are
#: memory-mapped, so the lock is held for milliseconds.
_NPY_LOAD_LOCK = threading.Lock()
#: Manifest field holding the sha256 of the manifest's other fields (canonical JSON),
#: so a flipped byte anywhere in the manifest is caught, not only in the files it lists.
MANIFEST_DIGEST = "manifest_sha256"


@dataclass(frozen=True)
class StoredIndex:
    """Everything read back from one verified version folder."""

    path: Path
    manifest: dict[str, Any]
    #: The documents, in index order (a lazy sequence: text is decoded on access).
    documents: DocumentTable
    #: int64 array (n, 4), memory-mapped: document number, start, end, paragraph id.
    sentences: np.ndarray
    vectors: VectorSearcher  # the FAISS index (attributes delegated), tuned for single queries
    bm25: BM25Index
    #: BM25 over whole paragraphs, numbered as :func:`citeqa.segment.paragraph_numbers` does.
    paragraph_bm25: BM25Index
    #: float16 (paragraphs, dim) and (documents, dim) unit mean vectors, memory-mapped.
    paragraph_vectors: np.ndarray
    document_vectors: np.ndarray

    def embeddings(self) -> np.ndarray | None:
        """The stored float32 sentence vectors (n, dim), or None when absent or damaged.

        The file is checked against its sha256 first; a damaged file only means the
        vectors must be computed again, so it returns None (and logs) instead of raising.
        """
        return read_embeddings(self.path, self.manifest)

    def vocabulary(self) -> dict[str, list[str]]:
        """The corpus's distinct words and names (``{"words": [...], "names": [...]}``).

        Read on first call (a large corpus has hundreds of thousands of words that a
        plain ``retrieve`` never needs), checked against its sha256 again as it is read.

        Raises:
            CorruptIndexError: the file changed since the index loaded, or is malformed.
        """
        return read_vocabulary(self.path, self.manifest)


class DocumentTable(Sequence[Document]):
    """The documents of a loaded index; each text is decoded from the mapped file on access."""

    def __init__(self, meta: list[dict[str, Any]], spans: np.ndarray, blob: np.ndarray) -> None:
        self._meta = meta
        self._spans = spans
        self._blob = blob
        self._decode = lru_cache(maxsize=256)(self._decode_uncached)

    def __len__(self) -> int:
        return len(self._meta)

    def _decode_uncached(self, number: int) -> Document:
        start, end, _chars = (int(x) for x in self._spans[number])
        row = self._meta[number]
        text = self._blob[start:end].tobytes().decode("utf-8")
        return Document(doc_id=row["doc_id"], text=text, path=row["path"], sha256=row["sha256"])

    @overload
    def __getitem__(self, number: int) -> Document: ...

    @overload
    def __getitem__(self, number: slice) -> list[Document]: ...

    def __getitem__(self, number: int | slice) -> Document | list[Document]:
        if isinstance(number, slice):
            return [self[i] for i in range(*number.indices(len(self)))]
        number = int(number)
        if number < 0:
            number += len(self)
        if not 0 <= number < len(self):
            raise IndexError(f"document number {number} out of range")
        return self._decode(number)

    def text_slice(self, number: int, start: int, end: int) -> str:
        """``self[number].text[start:end]``, without decoding an ASCII document whole.

        A document whose UTF-8 size equals its length in characters is ASCII, so
        character offsets are byte offsets: the slice is read straight from the mapped
        file. That keeps a query over a large corpus from decoding a whole document for
        each candidate sentence it looks at.
        """
        first, last, chars = (int(x) for x in self._spans[number])
        if last - first == chars and 0 <= start <= end <= chars:
            return self._blob[first + start : first + end].tobytes().decode("ascii")
        return self[number].text[start:end]

    def chars(self) -> np.ndarray:
        """Length in characters of every document (int64 array)."""
        return np.asarray(self._spans[:, 2])

    def keys(self) -> list[tuple[str, str]]:
        """``(doc_id, sha256)`` of every document, without decoding any text."""
        return [(row["doc_id"], row["sha256"]) for row in self._meta]


def _rebuild_hint(manifest: dict[str, Any] | None, index_dir: Path) -> str:
    sources = []
    if manifest:
        sources = [s.get("path", "") for s in manifest.get("sources", [])]
    shown = " ".join(s for s in sources if not s.startswith("package:"))
    if len(sources) > 10:  # a long list helps nobody: name the form of the command
        shown = "SOURCES..."
    return f"citeqa build {shown + ' ' if shown else ''}--index {index_dir}"


# --------------------------------------------------------------------------- writing


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")


def manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of a manifest's fields (all but the digest itself) as canonical JSON."""
    body = {key: value for key, value in manifest.items() if key != MANIFEST_DIGEST}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sha256_bytes(canonical.encode("utf-8"))


def _file_table(root: Path) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == MANIFEST:
            continue
        table[rel] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return table


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's build lock (one build at a time per folder)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)


def _write_documents(folder: Path, documents: Sequence[Document]) -> None:
    spans = np.zeros((len(documents), 3), dtype=np.int64)
    offset = 0
    with open(folder / TEXTS, "wb") as blob:
        for number, document in enumerate(documents):
            data = document.text.encode("utf-8")
            blob.write(data)
            spans[number] = (offset, offset + len(data), len(document.text))
            offset += len(data)
    _save_npy(folder / DOCUMENT_SPANS, spans)
    _write_jsonl(folder / DOCUMENTS, [{"doc_id": d.doc_id, "path": d.path, "sha256": d.sha256} for d in documents])


def write_version(
    index_dir: Path,
    *,
    documents: Sequence[Document],
    sentences: np.ndarray,
    vectors: Any,
    bm25: BM25Index,
    paragraph_bm25: BM25Index,
    paragraph_vectors: np.ndarray,
    document_vectors: np.ndarray,
    vocabulary: dict[str, list[str]],
    info: dict[str, Any],
    embeddings: np.ndarray | None = None,
    keep: int = KEEP_VERSIONS,
) -> Path:
    """Write a new version of the index and make it the live one, atomically.

    Args:
        index_dir: The index folder (created if needed).
        documents: The documents, in index order.
        sentences: int64 array (n, 4) of document number, start, end, paragraph id.
        vectors: A FAISS index holding one vector per sentence, in the same order.
        bm25: The lexical index over the same sentences.
        paragraph_bm25: The lexical index over their paragraphs.
        paragraph_vectors: (paragraphs, dim) mean vector of each paragraph (stored float16).
        document_vectors: (documents, dim) mean vector of each document (stored float16).
        vocabulary: The corpus's words and names, ``{"words": [...], "names": [...]}``.
        info: Manifest fields describing how it was built (model, segmenter, ...).
        embeddings: The (n, dim) sentence vectors, kept (as float16) so the next build
            can reuse them for unchanged documents.
        keep: How many versions to keep (at least 2: the live one and the one before).

    Returns:
        The folder of the new live version.
    """
    import faiss

    index_dir = Path(index_dir)
    keep = max(2, keep)
    sentences = np.asarray(sentences, dtype=np.int64).reshape(-1, 4)
    with build_lock(index_dir):
        _remove_leftovers(index_dir)
        tmp = index_dir / f"{TMP_PREFIX}{secrets.token_hex(6)}"
        tmp.mkdir()
        faiss.write_index(vectors, str(tmp / VECTORS))
        if embeddings is not None:
            _save_npy(tmp / EMBEDDINGS, np.asarray(embeddings, dtype=np.float16))
        _write_documents(tmp, documents)
        _save_npy(tmp / SENTENCES, sentences)
        (tmp / BM25_DIR).mkdir()
        bm25.save(tmp / BM25_DIR)
        (tmp / PARAGRAPH_BM25_DIR).mkdir()
        paragraph_bm25.save(tmp / PARAGRAPH_BM25_DIR)
        _save_npy(tmp / PARAGRAPH_VECTORS, np.asarray(paragraph_vectors, dtype=np.float16))
        _save_npy(tmp / DOCUMENT_VECTORS, np.asarray(document_vectors, dtype=np.float16))
        with open(tmp / VOCABULARY, "w", encoding="utf-8") as handle:
            json.dump(vocabulary, handle, ensure_ascii=False, separators=(",", ":"))
        created = datetime.now(timezone.utc)
        paragraphs = int(np.asarray(paragraph_vectors).shape[0])
        manifest = {
            "format_version": FORMAT_VERSION,
            **info,
            "created_at": created.isoformat(timespec="seconds"),
            "counts": {"documents": len(documents), "sentences": int(sentences.shape[0]), "paragraphs": paragraphs},
            "sources": [{"doc_id": d.doc_id, "path": d.path, "sha256": d.sha256} for d in documents],
            "files": _file_table(tmp),
        }
        manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
        with open(tmp / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        _fsync_tree(tmp)
        name = f"{VERSION_PREFIX}{created.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"
        final = index_dir / name
        os.rename(tmp, final)
        _fsync_dir(index_dir)
        pointer_tmp = index_dir / f"{TMP_PREFIX}{POINTER}-{secrets.token_hex(4)}"
        with open(pointer_tmp, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pointer_tmp, index_dir / POINTER)
        _fsync_dir(index_dir)
        _prune(index_dir, live=name, keep=keep)
        return final


def _remove_leftovers(index_dir: Path) -> None:
    """Remove half-written versions of earlier builds (callers hold the build lock)."""
    for path in index_dir.glob(f"{TMP_PREFIX}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _prune(index_dir: Path, *, live: str, keep: int) -> None:
    versions = sorted(p.name for p in index_dir.glob(f"{VERSION_PREFIX}*") if p.is_dir())
    keep_names = set(versions[-keep:]) | {live}
    for name in versions:
        if name not in keep_names:
            shutil.rmtree(index_dir / name, ignore_errors=True)


def list_versions(index_dir: Path) -> list[str]:
    """Names of the complete versions in ``index_dir``, oldest first."""
    return sorted(p.name for p in Path(index_dir).glob(f"{VERSION_PREFIX}*") if p.is_dir())


# --------------------------------------------------------------------------- reading


def resolve_version(path: Path) -> Path:
    """The live version folder of an index folder (or ``path`` itself if it is one).

    Raises:
        IndexNotFoundError: there is no index at ``path``.
        CorruptIndexError: the ``CURRENT`` pointer is unreadable or points nowhere.
    """
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    pointer = path / POINTER
    if not pointer.exists():
        if not path.exists():
            raise IndexNotFoundError(
                f"no index at {path}; build one with: citeqa build SOURCES --index {path}"
            )
        raise IndexNotFoundError(
            f"{path} holds no citeqa index (no {POINTER} file); build one with: "
            f"citeqa build SOURCES --index {path}"
        )
    try:
        raw = pointer.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(
            f"{pointer} is unreadable ({exc}); rebuild with: citeqa build SOURCES --index {path}"
        ) from None
    # Exactly one version name and its newline (as written): anything else is damage.
    name = raw[:-1]
    version = path / name
    if (
        not raw.endswith("\n")
        or not name.startswith(VERSION_PREFIX)
        or not name.isprintable()
        or any(ch.isspace() or ch in "/\\" for ch in name)
        or not (version / MANIFEST).is_file()
    ):
        raise CorruptIndexError(
            f"{pointer} points to {name!r}, which is not a complete index version; "
            f"rebuild with: citeqa build SOURCES --index {path}"
        )
    return version


def read_manifest(version: Path) -> dict[str, Any]:
    """Parse and sanity-check ``manifest.json`` of a version folder."""
    path = version / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptIndexError(f"{path} is missing; rebuild the index with citeqa build") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptIndexError(
            f"{path} is not valid JSON ({exc}); rebuild the index with citeqa build"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise CorruptIndexError(f"{path} is not a citeqa manifest; rebuild the index with citeqa build")
    if MANIFEST_DIGEST not in manifest and manifest.get("format_version") != FORMAT_VERSION:
        # Written by an older citeqa, before manifests carried their own checksum.
        raise IncompatibleIndexError(
            f"{path}: index format {manifest.get('format_version')!r}, this citeqa reads "
            f"{FORMAT_VERSION}; rebuild with: {_rebuild_hint(manifest, version.parent)}"
        )
    if manifest.get(MANIFEST_DIGEST) != manifest_digest(manifest):
        raise CorruptIndexError(
            f"{path} does not match its own checksum (corrupted or edited by hand); "
            f"rebuild with: {_rebuild_hint(manifest, version.parent)}"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IncompatibleIndexError(
            f"{path}: index format {manifest.get('format_version')!r}, this citeqa reads "
            f"{FORMAT_VERSION}; rebuild with: {_rebuild_hint(manifest, version.parent)}"
        )
    return manifest


def recorded_sources(path: Path) -> list[str]:
    """Source paths named by the live manifest, read leniently (any format version).

    Used to decide whether an unusable index may be rebuilt automatically. Returns an
    empty list when the manifest can't be read.
    """
    try:
        manifest = json.loads((resolve_version(Path(path)) / MANIFEST).read_text(encoding="utf-8"))
        return [str(s["path"]) for s in manifest["sources"]]
    except (CorruptIndexError, IndexNotFoundError, OSError, ValueError, KeyError, TypeError):
        return []


def _verify_file(version: Path, rel: str, expected: Any, hint: str) -> None:
    """Check one listed file's size and sha256 (raises CorruptIndexError naming it)."""
    path = version / rel
    if ".." in Path(rel).parts or Path(rel).is_absolute():
        raise CorruptIndexError(f"{version / MANIFEST} lists a path outside the index: {rel!r}")
    if not isinstance(expected, dict):
        raise CorruptIndexError(f"{version / MANIFEST} has no size/sha256 for {rel!r}; rebuild with: {hint}")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CorruptIndexError(f"{path} is missing; rebuild with: {hint}") from None
    if size != expected.get("bytes"):
        raise CorruptIndexError(
            f"{path} has {size} bytes, the manifest says {expected.get('bytes')} "
            f"(truncated or altered); rebuild with: {hint}"
        )
    if sha256_file(path) != expected.get("sha256"):
        raise CorruptIndexError(
            f"{path} does not match its sha256 in the manifest (corrupted or altered); "
            f"rebuild with: {hint}"
        )


def verify_files(version: Path, manifest: dict[str, Any], *, serving_only: bool = False) -> None:
    """Check the files the manifest lists: present, same size, same sha256.

    Args:
        version: The version folder.
        manifest: Its parsed manifest.
        serving_only: Skip the files only a rebuild reads (they are checked when read).

    Raises:
        CorruptIndexError: naming the first file that is missing or differs.
    """
    hint = _rebuild_hint(manifest, version.parent)
    missing_required = SERVING_FILES - set(manifest["files"])
    if missing_required:
        raise CorruptIndexError(
            f"{version / MANIFEST} does not list {sorted(missing_required)}; rebuild with: {hint}"
        )
    for rel, expected in manifest["files"].items():
        if serving_only and rel == EMBEDDINGS:
            continue
        _verify_file(version, rel, expected, hint)


def read_embeddings(version: Path, manifest: dict[str, Any]) -> np.ndarray | None:
    """The verified float32 sentence vectors of a version, or None when absent or damaged."""
    expected = manifest.get("files", {}).get(EMBEDDINGS)
    if expected is None:
        return None
    try:
        _verify_file(version, EMBEDDINGS, expected, _rebuild_hint(manifest, version.parent))
        with _NPY_LOAD_LOCK:
            stored = np.load(version / EMBEDDINGS, mmap_mode="r", allow_pickle=False)
    except (CorruptIndexError, OSError, ValueError) as exc:
        log.warning("cannot reuse the stored vectors, computing them again: %s", exc)
        return None
    n = int(manifest.get("counts", {}).get("sentences", -1))
    if stored.ndim != 2 or stored.shape[0] != n or stored.shape[1] != manifest.get("dimension"):
        log.warning("cannot reuse %s: shape %s does not fit the manifest", version / EMBEDDINGS, stored.shape)
        return None
    return np.asarray(stored, dtype=np.float32)


def read_vocabulary(version: Path, manifest: dict[str, Any]) -> dict[str, list[str]]:
    """The verified word lists of a version (see :meth:`StoredIndex.vocabulary`)."""
    hint = _rebuild_hint(manifest, version.parent)
    _verify_file(version, VOCABULARY, manifest.get("files", {}).get(VOCABULARY), hint)
    try:
        with open(version / VOCABULARY, encoding="utf-8") as handle:
            data = json.load(handle)
        lists = {key: data[key] for key in ("words", "names")}
        if not all(isinstance(v, list) and all(isinstance(w, str) for w in v) for v in lists.values()):
            raise ValueError("words and names must be lists of strings")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptIndexError(f"{version / VOCABULARY} is unreadable ({exc}); rebuild with: {hint}") from None
    return lists


def check_sources(version: Path, manifest: dict[str, Any]) -> None:
    """Refuse an index whose sources changed or vanished since it was built.

    Raises:
        StaleIndexError: naming the source and the command that rebuilds the index.
    """
    hint = _rebuild_hint(manifest, version.parent)
    for source in manifest.get("sources", []):
        spec = source.get("path", "")
        path = resolve_source_path(spec)
        try:
            digest = sha256_file(path)
        except FileNotFoundError:
            raise StaleIndexError(
                f"index at {version.parent} is stale: source {spec} no longer exists; "
                f"rebuild with: {hint}"
            ) from None
        except OSError as exc:
            raise StaleIndexError(
                f"index at {version.parent} cannot check source {spec} ({exc.strerror}); "
                f"rebuild with: {hint}"
            ) from None
        if digest != source.get("sha256"):
            raise StaleIndexError(
                f"index at {version.parent} is stale: source {spec} changed since the build; "
                f"rebuild with: {hint}"
            )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise CorruptIndexError(f"{path}: line {number} is not JSON") from None
    return rows


def _load_array(path: Path, dtype: type, columns: int) -> np.ndarray:
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype != dtype or array.ndim != 2 or array.shape[1] != columns:
        raise ValueError(f"{path.name} holds {array.dtype} {array.shape}, expected {np.dtype(dtype)} (n, {columns})")
    # a plain ndarray over the same mapped pages: indexing np.memmap one element at a
    # time goes through its Python-level __getitem__, ~1 µs per access on the query path
    return array.view(np.ndarray)


def _load_blob(path: Path) -> np.ndarray:
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r").view(np.ndarray)


def _read_faiss(path: Path) -> Any:
    import faiss

    if path.stat().st_size >= MMAP_MIN_BYTES:
        try:
            return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:  # an index type FAISS cannot map: read it
            pass
    return faiss.read_index(str(path))


def _consistency_problems(stored: StoredIndex) -> list[str]:
    manifest, sentences, documents = stored.manifest, stored.sentences, stored.documents
    counts = manifest.get("counts", {})
    n = sentences.shape[0]
    problems = []
    if counts.get("sentences") != n or counts.get("documents") != len(documents):
        problems.append("counts differ from the manifest")
    if stored.vectors.ntotal != n:
        problems.append(f"{stored.vectors.ntotal} vectors for {n} sentences")
    if stored.vectors.d != manifest.get("dimension"):
        problems.append(f"vector dimension {stored.vectors.d}, manifest says {manifest.get('dimension')}")
    if stored.bm25.size != n:
        problems.append(f"BM25 holds {stored.bm25.size} sentences for {n}")
    paragraphs = int(paragraph_numbers(sentences)[-1]) + 1 if n else 0
    if not stored.paragraph_bm25.size == stored.paragraph_vectors.shape[0] == paragraphs == counts.get("paragraphs"):
        problems.append(
            f"{paragraphs} paragraphs, but {stored.paragraph_bm25.size} in the paragraph BM25 and "
            f"{stored.paragraph_vectors.shape[0]} paragraph vectors"
        )
    if stored.document_vectors.shape[0] != len(documents):
        problems.append(f"{stored.document_vectors.shape[0]} document vectors for {len(documents)} documents")
    if n:
        doc, start, end = sentences[:, 0], sentences[:, 1], sentences[:, 2]
        if doc.min() < 0 or doc.max() >= len(documents):
            problems.append("sentence offsets out of range")
        elif start.min() < 0 or (start >= end).any() or (end > documents.chars()[doc]).any():
            problems.append("sentence offsets out of range")
    return problems


def load_version(path: Path, *, check_stale: bool = True) -> StoredIndex:
    """Load and verify the live version of the index at ``path``.

    Args:
        path: An index folder (with ``CURRENT``) or one version folder.
        check_stale: Also refuse the index if a source changed since the build.

    Raises:
        IndexNotFoundError, CorruptIndexError, IncompatibleIndexError, StaleIndexError:
            with a message naming the path and the command that fixes it.
    """
    version = resolve_version(Path(path))
    manifest = read_manifest(version)
    verify_files(version, manifest, serving_only=True)
    if check_stale:
        check_sources(version, manifest)
    hint = _rebuild_hint(manifest, version.parent)
    try:
        with _NPY_LOAD_LOCK:
            meta = _read_jsonl(version / DOCUMENTS)
            spans = _load_array(version / DOCUMENT_SPANS, np.int64, 3)
            blob = _load_blob(version / TEXTS)
            if len(meta) != spans.shape[0]:
                raise ValueError(f"{len(meta)} documents but {spans.shape[0]} text spans")
            if spans.shape[0] and (spans[:, 0].min() < 0 or (spans[:, 1] < spans[:, 0]).any() or spans[:, 1].max() > blob.size):
                raise ValueError("document text spans out of range")
            for row in meta:
                if not all(isinstance(row.get(key), str) for key in ("doc_id", "path", "sha256")):
                    raise ValueError("a document row lacks doc_id/path/sha256")
            documents = DocumentTable(meta, spans, blob)
            sentences = _load_array(version / SENTENCES, np.int64, 4)
            vectors = _read_faiss(version / VECTORS)
            apply_search_params(vectors, manifest.get("faiss", {}).get("search", {}))
            vectors = VectorSearcher(vectors)
            bm25 = BM25Index.load(version / BM25_DIR, mmap=True)
            paragraph_bm25 = BM25Index.load(version / PARAGRAPH_BM25_DIR, mmap=True)
            dim = int(manifest["dimension"])
            paragraph_vectors = _load_array(version / PARAGRAPH_VECTORS, np.float16, dim)
            document_vectors = _load_array(version / DOCUMENT_VECTORS, np.float16, dim)
    except (KeyError, TypeError, ValueError, RuntimeError, OSError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"index at {version} is unreadable ({exc}); rebuild with: {hint}") from None
    stored = StoredIndex(
        version, manifest, documents, sentences, vectors, bm25, paragraph_bm25, paragraph_vectors, document_vectors
    )
    problems = _consistency_problems(stored)
    if problems:
        raise CorruptIndexError(f"index at {version} is inconsistent: {'; '.join(problems)}; rebuild with: {hint}")
    return stored


def pointer_mtime(index_dir: Path) -> float:
    """Modification time of the live pointer (0 when absent): cheap change detection."""
    try:
        return (Path(index_dir) / POINTER).stat().st_mtime
    except OSError:
        return 0.0
