"""The build's overlapped stages: documents are segmented in a thread while the sentences found so far are embedded.

Segmentation (pysbd, pure Python) holds the GIL; ONNX Runtime releases it while it runs,
so on two cores the next documents are split while the last ones are embedded. When
every document is segmented, the same thread indexes the words (sentence and paragraph
BM25, the focus vocabulary: :func:`citeqa.build.context.lexical_arrays`) while the last
sentences are still being embedded. The queue between the thread and the embedder holds
at most :data:`QUEUE_DOCUMENTS` documents, so memory stays bounded however fast either side
is. Sentences keep the documents' order whatever the timing, and progress is reported
from the calling thread only (a progress callback is never called from two threads).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..embed import Embedder
from ..embed.passage import embedding_texts
from ..errors import SourceError
from ..ingest.segment import segment_document
from ..schema import Document
from ..store.vectors import APPROX_MIN_SENTENCES
from .context import Lexical, lexical_arrays

#: Sentences embedded per call to the embedder (it sorts each call's sentences by length;
#: progress is reported between calls).
EMBED_CHUNK = 256
#: Segmented documents waiting to be embedded, at most.
QUEUE_DOCUMENTS = 64

Key = tuple[str, str, str]
Report = Callable[[str, int, int], None]


class Background(threading.Thread):
    """Calls ``function(*args)`` in a thread while the caller goes on; :meth:`result` waits for it.

    :func:`citeqa.build.write_index` builds the vector index so (FAISS releases the GIL
    while it adds vectors) while its own thread indexes the words: on two cores the two
    overlap. Nothing here reports progress, and :meth:`result` raises what the call raised.
    """

    def __init__(self, name: str, function: Callable[..., object], *args: object) -> None:
        super().__init__(name=name, daemon=True)
        self.function, self.args = function, args
        self.value: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.function(*self.args)
        except BaseException as exc:  # noqa: BLE001 - raised by result() in the caller's thread
            self.error = exc

    def result(self) -> object:
        """What the call returned, once it did (waits for it); raises what it raised."""
        self.join()
        if self.error is not None:
            raise self.error
        return self.value


def document_key(document: Document) -> Key:
    """What must be unchanged for a document's sentences and vectors to be reused."""
    return (document.doc_id, document.sha256, f"{document.extractor} {document.extractor_version}")


@dataclass(frozen=True)
class Segmented:
    """The sentences of the documents to index, their vectors and their lexical index."""

    rows: np.ndarray  # int64 (n, 4): document number, start, end, paragraph id
    texts: list[str]
    vectors: np.ndarray  # float32 (n, dim); float16 for a large corpus (see segment_and_embed's compact)
    lexical: Lexical
    reused_documents: int
    embedded: int  # sentences embedded by this build


@dataclass(frozen=True)
class _Piece:
    """One document's sentences; ``vectors`` is None when they must be embedded."""

    rows: np.ndarray
    texts: list[str]
    vectors: np.ndarray | None


_DONE = object()


class _Segmenter(threading.Thread):
    """Segments the documents in order (reusing unchanged ones), then indexes their words."""

    def __init__(self, documents: Sequence[Document], previous: Mapping[Key, tuple[np.ndarray, np.ndarray, str]]) -> None:
        super().__init__(name="citeqa-build-segment", daemon=True)
        self.documents = documents
        self.previous = previous
        self.queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DOCUMENTS)
        self.stop = threading.Event()
        self.lexical: Lexical | None = None
        self.error: BaseException | None = None

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        rows: list[np.ndarray] = []
        texts: list[str] = []
        try:
            next_paragraph = 0
            for number, document in enumerate(self.documents):
                piece = self._piece(number, document, next_paragraph)
                if len(piece.rows):
                    next_paragraph = int(piece.rows[:, 3].max()) + 1
                rows.append(piece.rows)
                texts.extend(piece.texts)
                if not self._put(piece):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the embedding thread, which raises it
            self._put(exc)
            return
        self._put(_DONE)
        if texts and not self.stop.is_set():
            try:
                self.lexical = lexical_arrays(np.concatenate(rows), texts)
            except BaseException as exc:  # noqa: BLE001 - raised by segment_and_embed after the join
                self.error = exc

    def _piece(self, number: int, document: Document, next_paragraph: int) -> _Piece:
        known = self.previous.get(document_key(document))
        # the same source read by the same extractor version gives the same text, unless the
        # extraction changed without its version: then the old offsets would cut the new text
        if known is not None and known[2] == document.text:
            old_rows, vectors, _ = known
            part = old_rows.copy()
            part[:, 0] = number
            if len(part):
                _, part[:, 3] = np.unique(part[:, 3], return_inverse=True)
                part[:, 3] += next_paragraph
        else:
            sentences = segment_document(document, next_paragraph)
            part = np.array([[number, s.start, s.end, s.paragraph_id] for s in sentences], dtype=np.int64).reshape(-1, 4)
            vectors = None
        texts = [document.text[int(s) : int(e)] for s, e in part[:, 1:3]]
        return _Piece(part, texts, vectors)


class _Waiting:
    """Sentences segmented but not yet embedded, in order, each with where its vector goes."""

    def __init__(self) -> None:
        self._runs: deque[tuple[np.ndarray, int, list[str]]] = deque()  # (target, first row, texts)
        self.count = 0

    def add(self, target: np.ndarray, texts: list[str]) -> None:
        if texts:
            self._runs.append((target, 0, texts))
            self.count += len(texts)

    def take(self, n: int) -> tuple[list[str], list[tuple[np.ndarray, int, int]]]:
        """Up to ``n`` texts, and where their vectors go: ``(target, first row, rows)`` runs."""
        texts: list[str] = []
        places: list[tuple[np.ndarray, int, int]] = []
        while self._runs and len(texts) < n:
            target, first, run = self._runs.popleft()
            part = run[: n - len(texts)]
            texts.extend(part)
            places.append((target, first, len(part)))
            if len(part) < len(run):
                self._runs.appendleft((target, first + len(part), run[len(part) :]))
        self.count -= len(texts)
        return texts, places


def _join(parts: list[np.ndarray], dim: int, dtype: type) -> np.ndarray:
    """The documents' vectors as one ``dtype`` array, each part released once copied (so
    joining a million float32 vectors into float16 never holds two float32 copies)."""
    out = np.empty((sum(p.shape[0] for p in parts), dim), dtype=dtype)
    at = 0
    for i, part in enumerate(parts):
        out[at : at + part.shape[0]] = part
        at += part.shape[0]
        parts[i] = out[:0]
    return out


def segment_and_embed(
    documents: Sequence[Document],
    previous: Mapping[Key, tuple[np.ndarray, np.ndarray, str]],
    embedder: Embedder,
    *,
    report: Report,
    batch_size: int | None = None,
    chunk: int = EMBED_CHUNK,
    compact: bool = True,
) -> Segmented:
    """Segment ``documents`` (in a thread) while embedding their sentences; index their words.

    Args:
        documents: The documents, in index order.
        previous: Sentences, vectors and text of unchanged documents, by :func:`document_key`
            (a document whose text differs from the one recorded is segmented and embedded again).
        embedder: Embeds the sentences of the other documents.
        report: ``(stage, done, total)``: "segmenting" (documents), "embedding"
            (sentences embedded, sentences found to embed so far: the total grows while
            documents are still being segmented).
        batch_size: Sentences per embedding batch (default: the embedder's own).
        chunk: Sentences per call to the embedder.
        compact: From :data:`citeqa.store.vectors.APPROX_MIN_SENTENCES` sentences on, keep
            the vectors as float16 as they are embedded and hand them over as float16 (half
            the memory, and never a float32 copy of all of them; the approximate index the
            build makes of them quantizes them to 8 bits, and the stored copy is float16
            anyway). False keeps float32 (an exact index over a large corpus).

    Raises:
        SourceError: no sentence, or no word, in any document.
    """
    sizing = {} if batch_size is None else {"batch_size": batch_size}
    worker = _Segmenter(documents, previous)
    rows: list[np.ndarray] = []
    texts: list[str] = []
    vectors: list[np.ndarray] = []
    waiting = _Waiting()
    found = embedded = segmented = reused = shown = 0
    dim = embedder.dim
    finished = False
    report("segmenting", 0, len(documents))
    worker.start()
    try:
        while not finished or waiting.count:
            block = not finished and waiting.count < chunk
            while not finished:  # take every document ready (wait for one if too few to embed)
                try:
                    item = worker.queue.get(block=block)
                except queue.Empty:
                    break
                block = False
                if item is _DONE:
                    finished = True
                elif isinstance(item, BaseException):
                    raise item
                else:
                    assert isinstance(item, _Piece)
                    segmented += 1
                    rows.append(item.rows)
                    texts.extend(item.texts)
                    if item.vectors is not None:
                        vectors.append(item.vectors)
                        reused += 1
                    else:
                        # past the approximate index's threshold, new vectors are kept as
                        # float16 as they are embedded (never all of them as float32)
                        large = compact and found + len(item.texts) >= APPROX_MIN_SENTENCES
                        target = np.zeros((len(item.texts), dim), dtype=np.float16 if large else np.float32)
                        vectors.append(target)
                        waiting.add(target, embedding_texts(item.texts, item.rows))
                        found += len(item.texts)
            if segmented != shown:
                report("segmenting", segmented, len(documents))
                shown = segmented
            if waiting.count >= chunk or (finished and waiting.count):
                batch, places = waiting.take(chunk)
                report("embedding", embedded, found)
                out = embedder.encode(batch, **sizing)
                at = 0
                for target, first, count in places:
                    target[first : first + count] = out[at : at + count]
                    at += count
                embedded += len(batch)
        if found:
            report("embedding", embedded, found)
        if not texts:
            raise SourceError("the sources hold no text to index; add some sentences and build again")
        worker.join()
        if worker.error is not None:
            raise worker.error
    finally:
        worker.stop.set()
    assert worker.lexical is not None
    return Segmented(
        rows=np.concatenate(rows) if rows else np.zeros((0, 4), dtype=np.int64),
        texts=texts,
        vectors=_join(vectors, dim, np.float16 if compact and len(texts) >= APPROX_MIN_SENTENCES else np.float32),
        lexical=worker.lexical,
        reused_documents=reused,
        embedded=embedded,
    )
