"""The index store: a folder of plain files (format, write, read) with FAISS vectors and BM25.

The names below are the store's surface for the layers above it: the format's file
names and constants (:mod:`.format`), writing a version (:mod:`.write`) and reading,
verifying and resolving one (:mod:`.read`). Ranking reads a loaded index through the seam
(:mod:`.seam`), implemented by the folder (:mod:`.local`) and by Milvus (:mod:`.milvus`,
imported only when asked for: it needs ``pip install 'citeqa[milvus]'``).
"""

from __future__ import annotations

from .format import (
    EMBEDDINGS,
    FORMAT_VERSION,
    KEEP_VERSIONS,
    MANIFEST,
    MANIFEST_DIGEST,
    POINTER,
    SERVING_FILES,
    VERSION_PREFIX,
    VOCABULARY,
    list_versions,
    manifest_digest,
    rebuild_hint,
)
from .documents import DocumentTable
from .read import (
    StoredIndex,
    load_version,
    pointer_mtime,
    read_embeddings,
    read_vocabulary,
)
from .verify import (
    check_sources,
    read_manifest,
    recorded_sources,
    resolve_version,
    verify_files,
)
from .write import build_lock, write_version

__all__ = [
    "EMBEDDINGS",
    "FORMAT_VERSION",
    "KEEP_VERSIONS",
    "MANIFEST",
    "MANIFEST_DIGEST",
    "POINTER",
    "SERVING_FILES",
    "VERSION_PREFIX",
    "VOCABULARY",
    "DocumentTable",
    "StoredIndex",
    "build_lock",
    "check_sources",
    "list_versions",
    "load_version",
    "manifest_digest",
    "pointer_mtime",
    "read_embeddings",
    "read_manifest",
    "read_vocabulary",
    "rebuild_hint",
    "recorded_sources",
    "resolve_version",
    "verify_files",
    "write_version",
]
