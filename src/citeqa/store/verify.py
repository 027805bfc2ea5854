"""Verifying an index version: resolve ``CURRENT``, check the manifest, every file's size and sha256, the sources.

Owns what makes a version trustworthy before :mod:`.read` maps it; raises the
missing/corrupt/stale/incompatible errors with the command that fixes them. Never writes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import (
    CorruptIndexError,
    IncompatibleIndexError,
    IndexNotFoundError,
    StaleIndexError,
)
from ..ingest.extract import current_extractor
from ..ingest.fetch import is_url
from ..ingest.sources import resolve_source_path, sha256_file
from .format import (
    EMBEDDINGS,
    FORMAT_VERSION,
    MANIFEST,
    MANIFEST_DIGEST,
    POINTER,
    SERVING_FILES,
    VERSION_PREFIX,
    manifest_digest,
    rebuild_hint,
)

#: What ``CURRENT`` holds: one version folder name (as :mod:`.write` makes them) and "\n".
_VERSION_NAME = re.compile(re.escape(VERSION_PREFIX) + r"[0-9A-Za-z_-]{1,96}")
_POINTER_MAX_BYTES = 128


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
        if not path.is_dir():
            raise IndexNotFoundError(
                f"{path} is a file, not an index folder; give the index's folder, or build one with: "
                f"citeqa build SOURCES --index FOLDER"
            )
        raise IndexNotFoundError(
            f"{path} holds no citeqa index (no {POINTER} file); build one with: "
            f"citeqa build SOURCES --index {path}"
        )
    hint = f"rebuild with: citeqa build SOURCES --index {path}"
    if pointer.is_symlink():
        raise CorruptIndexError(f"{pointer} is a symbolic link, which citeqa never follows; {hint}")
    try:
        fd = os.open(pointer, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            raw_bytes = os.read(fd, _POINTER_MAX_BYTES + 1)  # a pointer is one short line: never read more
        finally:
            os.close(fd)
        raw = raw_bytes.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise CorruptIndexError(f"{pointer} is unreadable ({reason}); {hint}") from None
    # Exactly one version name and its newline (as written): anything else is damage. The
    # content is only echoed when it has the form of a version name: never a file's text.
    name = raw[:-1]
    if not raw.endswith("\n") or not _VERSION_NAME.fullmatch(name):
        raise CorruptIndexError(f"{pointer} does not hold a version name (damaged or replaced); {hint}")
    version = path / name
    if version.is_symlink():
        raise CorruptIndexError(f"{pointer} names {name}, a symbolic link, which citeqa never follows; {hint}")
    if not (version / MANIFEST).is_file():
        raise CorruptIndexError(f"{pointer} points to {name!r}, which is not a complete index version; {hint}")
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
            f"{FORMAT_VERSION}; rebuild with: {rebuild_hint(manifest, version.parent)}"
        )
    if manifest.get(MANIFEST_DIGEST) != manifest_digest(manifest):
        raise CorruptIndexError(
            f"{path} does not match its own checksum (corrupted or edited by hand); "
            f"rebuild with: {rebuild_hint(manifest, version.parent)}"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IncompatibleIndexError(
            f"{path}: index format {manifest.get('format_version')!r}, this citeqa reads "
            f"{FORMAT_VERSION}; rebuild with: {rebuild_hint(manifest, version.parent)}"
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


def verify_file(version: Path, rel: str, expected: Any, hint: str) -> None:
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
    hint = rebuild_hint(manifest, version.parent)
    missing_required = SERVING_FILES - set(manifest["files"])
    if missing_required:
        raise CorruptIndexError(
            f"{version / MANIFEST} does not list {sorted(missing_required)}; rebuild with: {hint}"
        )
    for rel, expected in manifest["files"].items():
        if serving_only and rel == EMBEDDINGS:
            continue
        verify_file(version, rel, expected, hint)


def check_sources(version: Path, manifest: dict[str, Any]) -> None:
    """Refuse an index whose sources changed or vanished since it was built, or whose
    text another extractor (version) would now extract differently.

    A file is stale when its bytes' sha256 or its extractor's version differs from the
    manifest's. A URL is never fetched here (loading and asking stay offline): its
    staleness is explicit — ``citeqa build`` fetches it again.

    Raises:
        StaleIndexError: naming the source and the command that rebuilds the index.
    """
    where, hint = f"index at {version.parent}", rebuild_hint(manifest, version.parent)
    check_source_records(manifest.get("sources", []), where, hint)


def check_source_records(sources: Iterable[Mapping[str, Any]], where: str, hint: str) -> None:
    """The staleness rule of :func:`check_sources` for any store's recorded sources.

    Args:
        sources: The manifest's source records (path, sha256, extractor, extractor_version).
        where: What is stale, for the message ("index at DIR", "store ADDRESS").
        hint: The command that rebuilds it.

    Raises:
        StaleIndexError: naming the source and ``hint``.
    """
    for source in sources:
        spec = source.get("path", "")
        extractor = str(source.get("extractor", "text"))
        recorded = str(source.get("extractor_version", "1"))
        reader, current = current_extractor(extractor, spec)
        if (reader, current) != (extractor, recorded):
            now = f"this citeqa has {reader} {current}" if current else f"this citeqa has no {extractor!r} extractor"
            raise StaleIndexError(
                f"{where} is stale: source {spec} was extracted by {extractor} "
                f"{recorded} and {now}; rebuild with: {hint}"
            )
        if is_url(spec):
            continue
        path = resolve_source_path(spec)
        try:
            digest = sha256_file(path)
        except FileNotFoundError:
            raise StaleIndexError(
                f"{where} is stale: source {spec} no longer exists; "
                f"rebuild with: {hint}"
            ) from None
        except OSError as exc:
            raise StaleIndexError(
                f"{where} cannot check source {spec} ({exc.strerror}); "
                f"rebuild with: {hint}"
            ) from None
        if digest != source.get("sha256"):
            raise StaleIndexError(
                f"{where} is stale: source {spec} changed since the build; "
                f"rebuild with: {hint}"
            )
