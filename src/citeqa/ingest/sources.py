"""Reading source documents: files and folders of .txt/.md, and the shipped article."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..config import DEFAULT_ARTICLE, PACKAGE_PREFIX, package_data
from ..errors import SourceError
from ..schema import Document

SUPPORTED_SUFFIXES = (".txt", ".md")


def default_source() -> str:
    """The source spec of the article that ships inside the package."""
    return f"{PACKAGE_PREFIX}{DEFAULT_ARTICLE}"


def resolve_source_path(spec: str) -> Path:
    """Turn a recorded source path (plain or ``package:NAME``) into a filesystem path."""
    if spec.startswith(PACKAGE_PREFIX):
        name = spec[len(PACKAGE_PREFIX) :]
        return package_data(name)
    return Path(spec)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 bytes exactly as stored (no newline translation).

    Raises:
        SourceError: the bytes are not UTF-8 text.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name} is not UTF-8 text (byte {exc.start}); save it as UTF-8 and try again"
        ) from None


def _expand(sources: Sequence[str | os.PathLike[str]]) -> list[tuple[str, Path]]:
    """Expand files and folders into ``(spec, path)`` pairs, sorted within folders."""
    found: list[tuple[str, Path]] = []
    for source in sources:
        spec = os.fspath(source)
        if spec.startswith(PACKAGE_PREFIX):
            found.append((spec, resolve_source_path(spec)))
            continue
        path = Path(spec)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                raise SourceError(
                    f"{spec}: folder has no .txt or .md files; add some or name files directly"
                )
            found.extend((str(p.resolve()), p) for p in files)
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise SourceError(
                    f"{spec}: unsupported file type {path.suffix or '(none)'!r}; "
                    "citeqa reads .txt and .md files"
                )
            found.append((str(path.resolve()), path))
        elif path.exists():
            raise SourceError(f"{spec}: not a regular file or folder")
        else:
            raise SourceError(f"{spec}: no such file or folder")
    return found


def _doc_ids(pairs: list[tuple[str, Path]]) -> list[str]:
    """Short, unique document ids: paths relative to the sources' common folder."""
    plain = [p.resolve() for spec, p in pairs if not spec.startswith(PACKAGE_PREFIX)]
    root: Path | None = None
    if plain:
        root = Path(os.path.commonpath([str(p.parent) for p in plain]))
    ids: list[str] = []
    for spec, path in pairs:
        if spec.startswith(PACKAGE_PREFIX) or root is None:
            ids.append(path.name)
        else:
            ids.append(path.resolve().relative_to(root).as_posix())
    seen: set[str] = set()
    for doc_id in ids:
        if doc_id in seen:
            raise SourceError(f"two sources are both named {doc_id!r}; give each a distinct name")
        seen.add(doc_id)
    return ids


def read_documents(sources: Iterable[str | os.PathLike[str]] | None = None) -> list[Document]:
    """Read every source into a :class:`Document`.

    Args:
        sources: Files and folders (folders are read recursively for .txt and .md).
            ``None`` or empty means the shipped article.

    Returns:
        The documents in a stable order.

    Raises:
        SourceError: a source is missing, unreadable, not UTF-8 or of another type.
    """
    specs = list(sources) if sources is not None else []
    if not specs:
        specs = [default_source()]
    pairs = _expand(specs)
    ids = _doc_ids(pairs)
    documents: list[Document] = []
    seen_paths: set[str] = set()
    for (spec, path), doc_id in zip(pairs, ids):
        if spec in seen_paths:
            continue
        seen_paths.add(spec)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{spec}: cannot read ({exc.strerror or exc})") from None
        documents.append(
            Document(doc_id=doc_id, text=decode_text(data, spec), path=spec, sha256=sha256_bytes(data))
        )
    return documents
