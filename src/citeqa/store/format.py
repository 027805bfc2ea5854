"""The index format on disk: folder layout, file names, manifest fields (written by :mod:`.write`, read by :mod:`.read`).

Layout of an index folder::

    index/
      CURRENT                 name of the live version (switched with os.replace)
      v-<utc time>-<rand>/    one complete, immutable version
        manifest.json         format, model, backend, vector space, FAISS index type and
                              parameters, segmenter, sources + sha256, every file's
                              size + sha256, counts, creation time
        vectors.faiss         FAISS index of unit sentence vectors (inner product):
                              exact (flat) or approximate (HNSW, or IVF, over
                              8-bit scalar-quantized vectors; see :mod:`.vectors`)
        embeddings.npy        float16 (n, dim) sentence vectors, reused by the next build
                              for unchanged documents (never read when serving)
        sentences.npy         int64 (n, 4): document number, start, end, paragraph id
        sentence_words.npy    int32 (n,): words of each sentence (``len(text.split())``, the
                              reranker's length feature); absent from indexes built before
                              it existed, whose readers count the words from the text
        sentence_pieces.npy   int32: each sentence's distinct words (no stop words, no single
                              letters) as word-piece ids, one sentence after the other
                              (:func:`citeqa.search.candidates.soft_word_ids`; the manifest's
                              ``word_pieces`` names the table); absent from older indexes
        sentence_piece_offsets.npy  int64 (n + 1,): where each sentence's ids start in it
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
the new version live, never a mix. Only :mod:`citeqa.store` touches index files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..ingest.sources import sha256_bytes

FORMAT_VERSION = 3
POINTER = "CURRENT"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
EMBEDDINGS = "embeddings.npy"
DOCUMENTS = "documents.jsonl"
DOCUMENT_SPANS = "documents.npy"
TEXTS = "texts.bin"
SENTENCES = "sentences.npy"
SENTENCE_WORDS = "sentence_words.npy"
SENTENCE_PIECES = "sentence_pieces.npy"
SENTENCE_PIECE_OFFSETS = "sentence_piece_offsets.npy"
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
KEEP_VERSIONS = 2
#: Manifest field holding the sha256 of the manifest's other fields (canonical JSON),
#: so a flipped byte anywhere in the manifest is caught, not only in the files it lists.
MANIFEST_DIGEST = "manifest_sha256"


def is_index_folder(path: Path) -> bool:
    """Whether ``path`` is an index folder (it holds ``CURRENT``) or one of its versions (a manifest beside ``texts.bin``)."""
    return (path / POINTER).is_file() or ((path / MANIFEST).is_file() and (path / TEXTS).is_file())


def _common_folder(paths: list[str]) -> str:
    """The folder every path is under (a local path, not the file-system root), or ""."""
    if not paths or any("://" in p or not os.path.isabs(p) for p in paths):
        return ""
    try:
        folder = os.path.commonpath([os.path.dirname(p) for p in paths])
    except ValueError:  # paths on different drives
        return ""
    return folder if folder and os.path.dirname(folder) != folder else ""


def rebuild_hint(manifest: dict[str, Any] | None, index_dir: Path) -> str:
    sources = []
    if manifest:
        sources = [s.get("path", "") for s in manifest.get("sources", [])]
    files = [s for s in sources if s and not s.startswith("package:")]
    shown = " ".join(files)
    if len(sources) > 10:  # a long list helps nobody: their folder, else the form of the command
        shown = _common_folder(files) or "SOURCES..."
    return f"citeqa build {shown + ' ' if shown else ''}--index {index_dir}"


def manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of a manifest's fields (all but the digest itself) as canonical JSON."""
    body = {key: value for key, value in manifest.items() if key != MANIFEST_DIGEST}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sha256_bytes(canonical.encode("utf-8"))


def list_versions(index_dir: Path) -> list[str]:
    """Names of the complete versions in ``index_dir``, oldest first (symbolic links are not versions)."""
    return sorted(p.name for p in Path(index_dir).glob(f"{VERSION_PREFIX}*") if not p.is_symlink() and p.is_dir())
