"""The Milvus store: one citeqa index version held in Milvus collections, published by an alias.

Needs the extra: ``pip install 'citeqa[milvus]'`` (pymilvus, milvus-lite). pymilvus is
imported when a store is opened or written, never by ``import citeqa``.

Addresses (:func:`parse_address`)::

    milvus://HOST:PORT/COLLECTION     a Milvus server (standalone, cluster, or
                                      ``milvus-lite server --host 127.0.0.1 --port PORT``)
    milvus-lite:PATH.db[#COLLECTION]  a Milvus Lite data folder on this machine
                                      (collection "citeqa" when not named)

``COLLECTION`` is an alias. A build (:func:`write_index`) writes a complete new version
into four collections named ``<COLLECTION>_v<utc time>`` plus the suffixes ``_paragraphs``,
``_documents`` and ``_meta``, checks their row counts, and only then points the alias
at it (``create_alias`` / ``alter_alias``): a reader never sees a half-built version.
The version before is kept (a reader still pinned to it keeps working); older ones are
dropped. :meth:`MilvusStore.open` resolves the alias once and reads that version only, so
one query never mixes two builds; :meth:`MilvusStore.live_version` tells a server when to
reopen.

The collections:

* sentences ``<v>``: ``id`` (row number), ``doc``, ``start``, ``end``, ``paragraph`` (the
  paragraph id of the local format), ``paragraph_number``, ``title_row`` (the headline
  row of its document, -1: none), ``text``, ``terms`` (citeqa's BM25 tokens, space-joined;
  the input of Milvus's own BM25 Function, so Milvus ranks lexically over the same
  stemmed, folded words as the local index), ``dense`` (unit vector, IP) and ``sparse``
  (the BM25 Function's output, ``SPARSE_INVERTED_INDEX`` / metric BM25);
* ``<v>_paragraphs``: ``id`` (paragraph number), ``doc``, ``first_row``, ``rows``,
  ``terms`` (the paragraph's tokens), ``vectors`` (the unit mean of its sentences, then
  each sentence's vector, as base64 of float32 bytes; the mean alone when they do not fit
  one VARCHAR, ``vectors_complete`` false) and a 2-d ``placeholder`` vector (Milvus wants
  one; nothing searches it);
* ``<v>_documents``: one row per text chunk of at most 16,000 characters (VARCHAR holds
  at most 65,535 bytes): ``doc``, ``chunk``, ``text``, ``pages`` (the JSON list of page
  start offsets of a PDF, or null, cut into the same chunks: a document gets as many rows
  as its text or its pages need), the document's ``doc_id``, ``path``,
  ``sha256`` (of the source file), ``text_sha256`` (checked when the text is read),
  ``chars``, ``first_row``, ``rows``, ``title_row``, ``vector`` and ``title_vector``;
* ``<v>_meta``: JSON chunks of the manifest (with its own sha256; the local store's source
  records: path, sha256, extractor and its version, for staleness; counts, BM25
  statistics), the IDF tables, the vocabulary and the first row of every paragraph.

Format 2 keeps every field of :class:`citeqa.schema.Document`; format 3 keeps the sentence
vectors in the paragraph rows (a query's cosines are read per paragraph and cached, see
:mod:`.search`). An older store is refused with a rebuild hint.

Modules: :mod:`.address` (addresses, connections, names), :mod:`.write` (a build),
:mod:`.read` (:class:`MilvusStore`), :mod:`.search` (its per-query reads), :mod:`.lexical`.
"""

from __future__ import annotations

from .address import (
    MilvusAddress,
    MilvusStoreError,
    connect,
    is_milvus_address,
    parse_address,
    wait_for_server,
)
from .lexical import milvus_terms
from .read import MilvusStore
from .write import list_versions, write_index

__all__ = [
    "MilvusAddress",
    "MilvusStore",
    "MilvusStoreError",
    "connect",
    "is_milvus_address",
    "list_versions",
    "milvus_terms",
    "parse_address",
    "wait_for_server",
    "write_index",
]
