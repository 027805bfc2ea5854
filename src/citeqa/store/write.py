"""Writing an index version: every file of a new version, then the switch of ``CURRENT``.

Owns the write side of :mod:`citeqa.store.format`: a version is written under a temporary
name, fsynced, renamed into place, and only then made live; old versions are pruned
(never the live one nor the real one before it, and nothing reached through a symbolic
link; an ``Index`` still open on a pruned version says "reload" when it next reads a file).
A failed write (disk full, ...) removes its temporary folder and says what to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..fsutil import TMP_PREFIX, folder_lock, fsync_path, fsync_tree, storage_error
from ..ingest.fetch import is_url
from ..ingest.sources import sha256_file
from ..schema import Document
from .format import (
    BM25_DIR,
    DOCUMENT_SPANS,
    DOCUMENT_VECTORS,
    DOCUMENTS,
    EMBEDDINGS,
    FORMAT_VERSION,
    KEEP_VERSIONS,
    MANIFEST,
    MANIFEST_DIGEST,
    PARAGRAPH_BM25_DIR,
    PARAGRAPH_VECTORS,
    POINTER,
    SENTENCE_PIECE_OFFSETS,
    SENTENCE_PIECES,
    SENTENCE_WORDS,
    SENTENCES,
    TEXTS,
    VECTORS,
    VERSION_PREFIX,
    VOCABULARY,
    manifest_digest,
)
from .lexical import BM25Index

#: Recorded in the manifest of an index built from URLs: how their staleness works.
URL_STALENESS = (
    "sources marked fetched are URLs: their sha256 is that of the response fetched at build "
    "time; loading or asking never goes online, so a changed page is picked up only when "
    "citeqa build fetches it again"
)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")


def _file_table(root: Path) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == MANIFEST:
            continue
        table[rel] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return table


def build_lock(index_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the index folder's build lock (one build at a time per folder)."""
    return folder_lock(index_dir)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)


#: Rows converted at a time by :func:`_save_npy_as`.
SAVE_BLOCK = 1 << 16


def _save_npy_as(path: Path, array: np.ndarray, dtype: type) -> None:
    """Save a 2-D ``array`` as ``dtype`` block by block: no converted copy of the whole array
    (768 MB of float16 at a million 384-d sentences). The file equals ``np.save``'s."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(array.shape)}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.writelines(
            np.ascontiguousarray(array[lo : lo + SAVE_BLOCK], dtype=dtype).tobytes() for lo in range(0, array.shape[0], SAVE_BLOCK)
        )


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
    _write_jsonl(folder / DOCUMENTS, [source_record(d) for d in documents])


def source_record(document: Document) -> dict[str, Any]:
    """What documents.jsonl and the manifest's ``sources`` record of a document.

    ``doc_id``, ``path``, ``sha256`` (of the file's bytes or the URL's response body),
    ``extractor`` and ``extractor_version``; ``pages`` (page start offsets) for PDFs;
    ``fetched: true`` for URLs (checked for changes only when ``citeqa build`` fetches
    them again).
    """
    record: dict[str, Any] = {
        "doc_id": document.doc_id,
        "path": document.path,
        "sha256": document.sha256,
        "extractor": document.extractor,
        "extractor_version": document.extractor_version,
    }
    if document.pages is not None:
        record["pages"] = list(document.pages)
    if is_url(document.path):
        record["fetched"] = True
    return record


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
    word_counts: np.ndarray | None = None,
    word_pieces: tuple[np.ndarray, np.ndarray] | None = None,
    release: bool = False,
) -> Path:
    """Write a new version of the index and make it the live one, atomically.

    Args:
        index_dir: The index folder (created if needed).
        documents: The documents, in index order.
        sentences: int64 array (n, 4) of document number, start, end, paragraph id.
        vectors: A FAISS index holding one vector per sentence, in the same order; or a
            function returning it, called once every other file is written (the build
            writes them while a thread finishes the vector index; ``info`` is read after).
        bm25: The lexical index over the same sentences.
        paragraph_bm25: The lexical index over their paragraphs.
        paragraph_vectors: (paragraphs, dim) mean vector of each paragraph (stored float16).
        document_vectors: (documents, dim) mean vector of each document (stored float16).
        vocabulary: The corpus's words and names, ``{"words": [...], "names": [...]}``.
        info: Manifest fields describing how it was built (model, segmenter, ...).
        embeddings: The (n, dim) sentence vectors, kept (as float16) so the next build
            can reuse them for unchanged documents.
        keep: How many versions to keep (at least 2: the live one and the one before).
        word_counts: ``len(text.split())`` of each sentence (saved as int32 for the
            reranker's length feature; None: not saved, readers count from the text).
        word_pieces: Each sentence's word-piece ids, concatenated, and how many each has
            (:func:`citeqa.search.candidates.soft_word_ids`; saved as int32 ids and int64
            offsets; ``info`` names their table under ``word_pieces``). None: not saved.
        release: Once written, ``bm25`` and ``paragraph_bm25`` read their postings from
            the written files instead of memory (:meth:`BM25Index.save`).

    Returns:
        The folder of the new live version.
    """
    import faiss

    index_dir = Path(index_dir)
    keep = max(2, keep)
    sentences = np.asarray(sentences, dtype=np.int64).reshape(-1, 4)
    if word_counts is not None:
        word_counts = np.asarray(word_counts).reshape(-1)
        if word_counts.shape[0] != sentences.shape[0] or (word_counts.shape[0] and word_counts.min() < 0):
            raise InvalidArgumentError(
                f"word_counts must hold one count >= 0 per sentence: got {word_counts.shape[0]} for {sentences.shape[0]} sentences"
            )
        word_counts = word_counts.astype(np.int32)
    pieces = None
    if word_pieces is not None:
        ids, counts = (np.asarray(a).reshape(-1) for a in word_pieces)
        if counts.shape[0] != sentences.shape[0] or (counts.shape[0] and counts.min() < 0) or int(counts.sum()) != ids.shape[0]:
            raise InvalidArgumentError(
                f"word_pieces must hold one count >= 0 per sentence summing to the ids: got {counts.shape[0]} counts "
                f"(sum {int(counts.sum())}) for {sentences.shape[0]} sentences and {ids.shape[0]} ids"
            )
        pieces = (np.asarray(ids, dtype=np.int32), np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]))  # no copy of int32 ids
    with build_lock(index_dir):
        _remove_leftovers(index_dir)
        tmp = index_dir / f"{TMP_PREFIX}{secrets.token_hex(6)}"
        try:
            tmp.mkdir()
            created = _write_files(
                tmp, faiss, vectors=vectors, embeddings=embeddings, documents=documents, sentences=sentences,
                bm25=bm25, paragraph_bm25=paragraph_bm25, paragraph_vectors=paragraph_vectors,
                document_vectors=document_vectors, vocabulary=vocabulary, info=info, word_counts=word_counts,
                pieces=pieces, release=release,
            )
            name = f"{VERSION_PREFIX}{created.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"
            final = index_dir / name
            os.rename(tmp, final)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)  # a half-written version must not keep the disk full
            clear = storage_error(exc, index_dir) if isinstance(exc, (OSError, RuntimeError)) else None
            if clear is None:
                raise
            raise clear from None
        try:
            fsync_path(index_dir)
            _switch_pointer(index_dir, name)
        except OSError as exc:
            shutil.rmtree(final, ignore_errors=True)
            raise storage_error(exc, index_dir) or exc from None
        _prune(index_dir, live=name, keep=keep)
        return final


def _write_files(tmp: Path, faiss: Any, *, vectors: Any, embeddings: np.ndarray | None, documents: Sequence[Document],
                 sentences: np.ndarray, bm25: BM25Index, paragraph_bm25: BM25Index, paragraph_vectors: np.ndarray,
                 document_vectors: np.ndarray, vocabulary: dict[str, list[str]], info: dict[str, Any],
                 word_counts: np.ndarray | None = None, pieces: tuple[np.ndarray, np.ndarray] | None = None,
                 release: bool = False) -> datetime:
    """Write every file of a version into ``tmp`` and fsync it; returns its creation time.

    The FAISS index last: when ``vectors`` is a function, it is called once the rest is written.
    """
    if embeddings is not None:
        _save_npy_as(tmp / EMBEDDINGS, embeddings, np.float16)
    _write_documents(tmp, documents)
    _save_npy(tmp / SENTENCES, sentences)
    if word_counts is not None:
        _save_npy(tmp / SENTENCE_WORDS, word_counts)
    if pieces is not None:
        _save_npy(tmp / SENTENCE_PIECES, pieces[0])
        _save_npy(tmp / SENTENCE_PIECE_OFFSETS, pieces[1])
    (tmp / BM25_DIR).mkdir()
    bm25.save(tmp / BM25_DIR, release=release)
    (tmp / PARAGRAPH_BM25_DIR).mkdir()
    paragraph_bm25.save(tmp / PARAGRAPH_BM25_DIR, release=release)
    _save_npy(tmp / PARAGRAPH_VECTORS, np.asarray(paragraph_vectors, dtype=np.float16))
    _save_npy(tmp / DOCUMENT_VECTORS, np.asarray(document_vectors, dtype=np.float16))
    with open(tmp / VOCABULARY, "w", encoding="utf-8") as handle:
        json.dump(vocabulary, handle, ensure_ascii=False, separators=(",", ":"))
    faiss.write_index(vectors() if callable(vectors) else vectors, str(tmp / VECTORS))
    created = datetime.now(timezone.utc)
    paragraphs = int(np.asarray(paragraph_vectors).shape[0])
    manifest = {
        "format_version": FORMAT_VERSION,
        **({"url_sources": URL_STALENESS} if any(is_url(d.path) for d in documents) else {}),
        **info,
        "created_at": created.isoformat(timespec="seconds"),
        "counts": {"documents": len(documents), "sentences": int(sentences.shape[0]), "paragraphs": paragraphs},
        "sources": [
            {key: value for key, value in source_record(d).items() if key != "pages"} for d in documents
        ],
        "files": _file_table(tmp),
    }
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
    with open(tmp / MANIFEST, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    fsync_tree(tmp)
    return created


def _switch_pointer(index_dir: Path, name: str) -> None:
    pointer_tmp = index_dir / f"{TMP_PREFIX}{POINTER}-{secrets.token_hex(4)}"
    try:
        with open(pointer_tmp, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pointer_tmp, index_dir / POINTER)
    finally:
        with contextlib.suppress(FileNotFoundError):
            pointer_tmp.unlink()
    fsync_path(index_dir)


def _remove_leftovers(index_dir: Path) -> None:
    """Remove half-written versions of earlier builds (callers hold the build lock)."""
    for path in index_dir.glob(f"{TMP_PREFIX}*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _real_versions(index_dir: Path) -> list[Path]:
    """Version folders that are real folders of ``index_dir`` (never symbolic links), oldest first."""
    return sorted(
        (p for p in index_dir.glob(f"{VERSION_PREFIX}*") if not p.is_symlink() and p.is_dir()), key=lambda p: p.name
    )


def _prune(index_dir: Path, *, live: str, keep: int) -> None:
    """Remove old versions: keeps the live one and the ``keep - 1`` newest real ones before
    it; a symbolic link named like a version is never followed, kept or counted."""
    versions = [p for p in _real_versions(index_dir) if p.name != live]
    for path in versions[: max(0, len(versions) - (keep - 1))]:
        shutil.rmtree(path, ignore_errors=True)
