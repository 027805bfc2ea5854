"""The server's workspace: documents added from the web page and the index built from them.

Layout of a workspace folder::

    WORKSPACE/
      documents/     uploaded .txt/.md/.rst/.html/.pdf/.docx/.odt/.pptx/.epub/.ipynb/.csv/.xlsx/.xls/.ods files, one per document (written atomically;
                     symbolic links there are ignored, never read)
        .failed/     uploads whose rebuild failed after a restart, set aside (shown on the page)
        .origins.json  the address each document added by address was fetched from ({name: address})
      index/         index of the base sources + those documents (via build_index only)
      .change.lock   held while documents change (one writer, also across processes)

The committed ``index/`` and the shipped article are never written: the workspace
index is a separate folder, built from the base index's sources plus the uploads.
:class:`Library` is what the server answers from — the base index while nothing
was uploaded, the workspace index otherwise — and swaps only after a rebuild
verified. Start-up never waits for a rebuild: the last good index serves at once and
an out-of-date workspace index is rebuilt in the background.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..api import LiveIndex, build_index
from ..embed import Embedder, new_embedder
from ..errors import CiteqaError, SourceError
from ..fsutil import atomic_write_bytes, atomic_write_text, folder_lock, refuse_file_in_the_way, storage_error
from ..index import Index
from ..ingest.fetch import is_url
from ..ingest.sources import SUPPORTED_SUFFIXES, sha256_file
from .progress import Progress, stage_reporter
from .uploads import (  # noqa: F401  (re-exported: the upload checks are part of the workspace's surface)
    ACCEPTED,
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS,
    MAX_NAME_CHARS,
    MAX_UPLOAD_BYTES,
    check_document,
    numbered_name,
    safe_document_name,
)

log = logging.getLogger("citeqa")

DOCUMENTS_DIR = "documents"
#: Inside documents/: where documents added by address came from.
ORIGINS_FILE = ".origins.json"
#: Inside documents/: uploads set aside because their rebuild failed.
FAILED_DIR = ".failed"
INDEX_DIR = "index"
#: Held (across processes) while documents are added or removed and the index rebuilt.
CHANGE_LOCK = ".change.lock"


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document as the documents panel lists it."""

    name: str
    sentences: int
    #: The workspace file name if it was uploaded from the page, else "".
    file: str
    added_at: str
    #: "" when indexed; else why it is not (yet) answered from, e.g. "waiting to be indexed".
    state: str = ""
    #: The address it was fetched from, when it was added by address; else "".
    origin: str = ""


@dataclass(frozen=True)
class Change:
    """The outcome of adding or removing documents."""

    message: str
    index: Index


class Workspace:
    """The uploaded documents on disk. All workspace file I/O goes through here."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        refuse_file_in_the_way(self.root, "workspace", "give the uploaded documents a folder of their own (it is made if missing)")
        self.documents_dir = self.root / DOCUMENTS_DIR
        self.index_dir = self.root / INDEX_DIR

    def names(self) -> list[str]:
        """Names of the uploaded documents, sorted."""
        if not self.documents_dir.is_dir():
            return []
        # a symbolic link is never followed: it could pull any file of the server in
        return sorted(p.name for p in self.documents_dir.iterdir() if not p.is_symlink() and p.is_file()
                      and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_SUFFIXES)

    def paths(self) -> list[str]:
        """Absolute paths of the uploaded documents, in :meth:`names` order."""
        return [str(self.path(name)) for name in self.names()]

    def path(self, name: str) -> Path:
        """The absolute path ``name`` is stored at (the folder resolved, never the file)."""
        return self.documents_dir.resolve() / name

    def digest(self, name: str) -> str:
        """sha256 of a stored document ("" if it is missing or a symbolic link)."""
        path = self.documents_dir / name
        try:
            return "" if path.is_symlink() else sha256_file(path)
        except OSError:
            return ""

    def set_aside(self, name: str) -> Path:
        """Move ``name`` into ``documents/.failed/`` (kept for the user, never indexed)."""
        folder = self.documents_dir / FAILED_DIR
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        os.replace(self.documents_dir / name, target)
        self.note_origins({name: None})  # a later document of that name did not come from there
        return target

    def added_at(self, name: str) -> str:
        """When ``name`` was stored (UTC, ISO minutes), or "" if it is not there."""
        try:
            mtime = (self.documents_dir / name).stat().st_mtime
        except OSError:
            return ""
        return datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    def read(self, name: str) -> bytes | None:
        """The stored bytes of ``name`` (None if absent)."""
        try:
            path = self.documents_dir / safe_document_name(name)
            return None if path.is_symlink() else path.read_bytes()
        except (OSError, SourceError):
            return None

    def write(self, name: str, data: bytes) -> None:
        """Store ``data`` as ``name`` atomically (temp file, fsync, os.replace)."""
        try:
            atomic_write_bytes(self.documents_dir / safe_document_name(name), data)
        except OSError as exc:  # disk full, permissions: say so, not "something went wrong"
            raise storage_error(exc, self.documents_dir) or exc from None

    def origins(self) -> dict[str, str]:
        """``{name: address}`` of the documents added by address ({} when none, or unreadable: it is only shown)."""
        try:
            found = json.loads((self.documents_dir / ORIGINS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in found.items() if isinstance(v, str) and is_url(v)} if isinstance(found, dict) else {}

    def note_origins(self, changes: dict[str, str | None]) -> None:
        """Record where documents came from (``{name: address}``; None forgets ``name``), atomically."""
        current = self.origins()
        kept = {k: v for k, v in sorted({**current, **changes}.items()) if v}
        if kept != current:
            try:
                atomic_write_text(self.documents_dir / ORIGINS_FILE, json.dumps(kept, indent=1) + "\n")
            except OSError as exc:  # the documents are in; only the panel's addresses are lost
                log.warning("could not record where documents came from: %s", exc)

    def delete(self, name: str) -> None:
        """Remove ``name`` (no error if it is already gone)."""
        with contextlib.suppress(FileNotFoundError):
            (self.documents_dir / safe_document_name(name)).unlink()

    def read_upload(self, path: str | os.PathLike[str]) -> bytes:
        """Read an uploaded temp file, refusing anything over the size limit without reading it all."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_UPLOAD_BYTES:
                raise SourceError(
                    f"{path.name} is {size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes — "
                    "split it into smaller files"
                )
            return path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{path.name}: the upload could not be read ({exc.strerror}); try again") from None


def default_build_embedder(model: str) -> Embedder:
    """A separate embedder for rebuilds, so queries never wait for a rebuild's encoding.

    Made by the same factory and default backend as ``citeqa build`` (``$CITEQA_BACKEND``,
    else ONNX int8), so an upload is embedded as fast and into the same vector space as a
    build from the command line.
    """
    return new_embedder(model or None)


class Library:
    """What the server answers from, and how documents are added to or removed from it.

    Args:
        base: The index served while nothing was uploaded (its sources are part of
            every workspace index).
        workspace: The workspace folder.
        build_embedder: Makes the embedder used for rebuilds, given the model name.
    """

    def __init__(
        self,
        base: LiveIndex,
        workspace: Workspace,
        build_embedder: Callable[[str], Embedder] = default_build_embedder,
    ) -> None:
        self.base = base
        self.workspace = workspace
        self._make_embedder = build_embedder
        self._embedder: Embedder | None = None
        self._change_lock = threading.Lock()
        self._live: LiveIndex = base
        self._worker: threading.Thread | None = None
        self.notice = ""  # what went wrong with the last background rebuild, for the page
        self._start()

    # ------------------------------------------------------------------ serving

    def get(self) -> Index:
        """The index to answer from now."""
        return self._live.get()

    @property
    def busy(self) -> bool:
        """True while documents are being added or removed (or indexed after a restart)."""
        return self._change_lock.locked()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a start-up rebuild running in the background; True when none is left."""
        if self._worker is not None:
            self._worker.join(timeout)
        return self._worker is None or not self._worker.is_alive()

    def base_sources(self) -> list[str]:
        """Sources of the base index (the shipped article by default)."""
        return [str(s["path"]) for s in self.base.get().manifest.get("sources", [])]

    def base_names(self) -> set[str]:
        """Document ids of the base index (uploads may not reuse them)."""
        return {d.doc_id for d in self.base.get().documents}

    def documents(self) -> list[DocumentInfo]:
        """The documents of the serving index, with sentence counts, then uploads not in it (yet)."""
        index = self.get()
        counts = index.sentence_counts()
        names, origins = set(self.workspace.names()), self.workspace.origins()
        base = self.base_names()
        infos = []
        for d in index.documents:
            file = d.doc_id if d.doc_id in names and d.doc_id not in base else ""
            infos.append(DocumentInfo(d.doc_id, counts.get(d.doc_id, 0), file, self.workspace.added_at(file) if file else "", origin=origins.get(file, "")))
        indexed = {d.doc_id for d in index.documents}
        state = "being indexed" if self.busy else "not indexed"
        infos.extend(
            DocumentInfo(name, 0, name, self.workspace.added_at(name), state=state, origin=origins.get(name, ""))
            for name in sorted(names - indexed)
        )
        return infos

    # ------------------------------------------------------------------ changing

    def add(
        self, uploads: Sequence[tuple[str, str | os.PathLike[str]]], progress: Progress | None = None, *, origins: dict[str, str] | None = None
    ) -> Change:
        """Check and store uploaded files, rebuild, and serve the new index.

        Files are written only after the whole batch passed its checks, and removed if the
        rebuild fails. A taken name is never overwritten: the upload becomes ``name (2).md``
        and the message says so (a file identical to the stored one is skipped).

        Args:
            uploads: ``(original name, temp path)`` pairs.
            progress: Called with ``(fraction, message)`` as the work proceeds.
            origins: ``{original name: address}`` of uploads fetched from the web, kept for the panel.

        Raises:
            SourceError: a file is refused (type, size, encoding, name); nothing is changed.
        """
        report = progress or (lambda fraction, message: None)
        if not uploads:
            raise SourceError(f"no file was uploaded; choose {ACCEPTED} files")
        with self._change_lock, folder_lock(self.workspace.root, CHANGE_LOCK):
            report(0.02, "Checking the files")
            staged: dict[str, bytes] = {}
            came: dict[str, str | None] = {}
            notes: list[str] = []
            base = {name.casefold() for name in self.base_names()}
            stored = {name.casefold(): name for name in self.workspace.names()}
            for original, path in uploads:
                name = safe_document_name(original)
                if name.casefold() in base:
                    raise SourceError(f"{name} is already a document of the base index; rename the file and upload it again")
                data = self.workspace.read_upload(path)
                check_document(name, data)
                twin = stored.get(name.casefold())
                if twin is not None and (staged[twin] if twin in staged else self.workspace.read(twin)) == data:
                    notes.append(f"{name} is already there with the same content; skipped it.")
                    continue
                final, number = name, 2
                while final.casefold() in base or final.casefold() in stored or final in staged:
                    final, number = numbered_name(name, number), number + 1
                if final != name:
                    notes.append(f"A document named {name} exists, so this one was added as {final}.")
                staged[final] = data
                stored[final.casefold()] = final
                came[final] = (origins or {}).get(original)
            if not staged:
                return Change(" ".join(notes) + " Nothing changed.", self.get())
            total = len(set(self.workspace.names()) | set(staged))
            if total > MAX_DOCUMENTS:
                raise SourceError(
                    f"a workspace holds at most {MAX_DOCUMENTS} documents ({total} asked); remove some first"
                )
            try:
                for name, data in staged.items():  # new names only: nothing is overwritten
                    self.workspace.write(name, data)
                index = self._rebuild(report)
            except BaseException:
                for name in staged:
                    self.workspace.delete(name)
                raise
            self.workspace.note_origins(came)  # after the rebuild: a failed one added nothing
            self.notice = ""
            names = ", ".join(sorted(staged))
            return Change(" ".join([f"Added {names}.", *notes, self._summary(index)]), index)

    def remove(self, name: str, progress: Progress | None = None) -> Change:
        """Remove an uploaded document, rebuild, and serve the new index.

        Raises:
            SourceError: ``name`` is not an uploaded document; nothing is changed.
        """
        report = progress or (lambda fraction, message: None)
        with self._change_lock, folder_lock(self.workspace.root, CHANGE_LOCK):
            if not name or name not in self.workspace.names():
                raise SourceError(f"{name or '(none)'} is not an uploaded document; choose one from the list")
            data = self.workspace.read(name)
            self.workspace.delete(name)
            try:
                index = self._rebuild(report)
            except BaseException:
                if data is not None:
                    self.workspace.write(name, data)
                raise
            self.workspace.note_origins({name: None})
            self.notice = ""
            return Change(f"Removed {name}. {self._summary(index)}", index)

    def _rebuild(self, report: Progress) -> Index:
        names = self.workspace.names()
        if not names:
            report(0.9, "Switching back to the base index")
            self._live = self.base
            return self.base.get()
        report(0.05, "Loading the embedding model")
        embedder = self._build_embedder()
        # the base index's URLs are taken as it fetched them: a rebuild never goes online
        fetched = [d for d in self.base.get().documents if is_url(d.path)]
        # the base documents keep their names, the uploads are named by their file name:
        # the same names whatever folders they sit in, so a restart finds the index up to date
        recorded = self.base.get().manifest.get("sources", [])
        doc_ids = {str(s["path"]): str(s["doc_id"]) for s in recorded if not is_url(str(s["path"]))}
        doc_ids.update({str(self.workspace.path(name)): name for name in names})
        build_index(
            list(doc_ids),
            self.workspace.index_dir,
            embedder=embedder,
            progress=stage_reporter(report, len(doc_ids) + len(fetched)),
            documents=fetched,
            doc_ids=doc_ids,
        )
        report(0.95, "Switching to the new index")
        if self._live is self.base:
            self._live = LiveIndex(self.workspace.index_dir, check_stale=False)
        fresh = self._live.get()
        log.info("workspace index rebuilt: %s", fresh.path)
        return fresh

    def _build_embedder(self) -> Embedder:
        if self._embedder is None:
            model = str(self.base.get().manifest.get("model", ""))
            self._embedder = self._make_embedder(model)
        return self._embedder

    def _up_to_date(self, index: Index) -> bool:
        """True if ``index`` holds exactly the base documents and the uploads, as they are now."""
        want = {(str(s["doc_id"]), str(s["sha256"])) for s in self.base.get().manifest.get("sources", [])}
        want |= {(name, self.workspace.digest(name)) for name in self.workspace.names()}
        have = {(str(s.get("doc_id")), str(s.get("sha256"))) for s in index.manifest.get("sources", [])}
        return have == want

    def _start(self) -> None:
        """Serve the last good index at once; rebuild an out-of-date workspace index in the background."""
        if not self.workspace.names():
            return
        try:
            self._live = LiveIndex(self.workspace.index_dir, check_stale=False)
        except CiteqaError as exc:
            log.warning("serving the base index until the workspace index is rebuilt: %s", exc)
        else:
            if self._up_to_date(self._live.get()):
                return
            log.warning("the workspace index does not match its documents; rebuilding it in the background")
        self._worker = threading.Thread(target=self._catch_up, name="citeqa-workspace-rebuild", daemon=True)
        self._worker.start()

    def _catch_up(self) -> None:
        """The start-up rebuild (background thread). A failure is logged and shown, never silent:
        uploads a SourceError blames are set aside in ``documents/.failed/``."""
        with self._change_lock, folder_lock(self.workspace.root, CHANGE_LOCK):
            try:
                if self._live is not self.base and self._up_to_date(self.get()):
                    return  # another process rebuilt it meanwhile
                self._rebuild(lambda fraction, message: None)
                self.notice = ""
            except SourceError as exc:
                indexed = {d.doc_id for d in self.get().documents}
                failed = [name for name in self.workspace.names() if name not in indexed]
                for name in failed:
                    self.workspace.set_aside(name)
                self.notice = (f"Could not index {', '.join(failed) or 'the documents'} ({exc}); set aside in "
                               f"{self.workspace.documents_dir / FAILED_DIR}. Fix the file and upload it again.")
                log.error("%s", self.notice)
                try:
                    self._rebuild(lambda fraction, message: None)
                except Exception as again:  # noqa: BLE001 - keep serving the last good index
                    log.error("the workspace index could not be rebuilt: %s", again)
            except Exception as exc:  # noqa: BLE001 - keep serving the last good index, say why
                self.notice = f"The documents could not be indexed ({exc}); the chat answers from the last good index."
                log.error("%s", self.notice)

    @staticmethod
    def _summary(index: Index) -> str:
        n = len(index.documents)
        return f"The chat now answers from the new index ({n} document{'s' if n != 1 else ''}, {len(index):,} sentences)."
