"""Atomic file writes, fsync, file locks and folder paths checked: the one place citeqa makes writes crash-safe.

A file is written next to its target under a temporary name, flushed to disk, renamed
over the target with ``os.replace`` and the folder fsynced, so a reader or a crash sees
the old file or the new one, never a part. Locks are :mod:`filelock` locks (one writer
per folder across processes). A folder a write is about to make is checked first
(:func:`refuse_file_in_the_way`), so a file standing there is refused in words, not as an OSError.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock

from .errors import InvalidArgumentError, StorageError

#: Prefix of temporary files and folders; anything named so is an unfinished write.
TMP_PREFIX = ".tmp-"


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush one file or folder to disk."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if Path(path).is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: str | os.PathLike[str]) -> None:
    """Flush every file and folder below ``root`` (``root`` included) to disk."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fsync_path(os.path.join(folder, name))
        fsync_path(folder)


def temporary_name(target: Path) -> Path:
    """A fresh temporary path next to ``target`` (same folder, so the rename is atomic)."""
    return target.with_name(f"{TMP_PREFIX}{secrets.token_hex(6)}-{target.name}")


def atomic_produce(target: str | os.PathLike[str], produce: Callable[[Path], object]) -> None:
    """Call ``produce(tmp_path)`` to write a file, then fsync it and rename it onto ``target``.

    The temporary file is removed if ``produce`` fails; ``target`` is then untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(target)
    try:
        produce(tmp)
        fsync_path(tmp)
        os.replace(tmp, target)
        fsync_path(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


#: errno values that mean "the disk (or the user's quota) is full".
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def storage_error(exc: BaseException, where: str | os.PathLike[str]) -> StorageError | None:
    """A clear :class:`StorageError` for an OS error met while writing under ``where``.

    Also reads FAISS's C++ write errors ("write error in …: … (No space left on device)").
    Returns None when ``exc`` is not a storage problem (a bug must stay a bug).
    """
    message = str(exc)
    full = (isinstance(exc, OSError) and exc.errno in _FULL) or "No space left on device" in message
    if full:
        return StorageError(f"no space left on the disk holding {where}; free space and rebuild")
    if isinstance(exc, OSError):
        reason = exc.strerror or message or type(exc).__name__
        return StorageError(f"could not write {where} ({reason}); check the folder and free space, then rebuild")
    if isinstance(exc, RuntimeError) and "write error" in message:
        return StorageError(f"could not write {where} (a write failed); check the disk and free space, then rebuild")
    return None


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    atomic_produce(target, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``target`` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))


def file_in_the_way(folder: str | os.PathLike[str]) -> Path | None:
    """The file that keeps ``folder`` from being a folder: itself, or a folder it would be made in; None when none does."""
    path = Path(folder)
    return next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)


def refuse_file_in_the_way(folder: str | os.PathLike[str], what: str, advice: str) -> None:
    """Raise :class:`InvalidArgumentError` "WHAT FOLDER is a file; ADVICE" when :func:`file_in_the_way` finds one."""
    blocking = file_in_the_way(folder)
    if blocking is not None:
        where = "is a file" if blocking == Path(folder) else f"is inside {blocking}, which is a file"
        raise InvalidArgumentError(f"{what} {folder} {where}; {advice}")


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str], name: str = ".lock") -> Iterator[None]:
    """Hold ``folder/name`` exclusively (created if needed) for the ``with`` block."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / name)):
        yield
