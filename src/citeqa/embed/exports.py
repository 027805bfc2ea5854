"""The ONNX export cache: where each install's export of the model lives, and which exports no install can load again.

An export is cached under ``<cache root>/onnx/<key>/`` (:func:`export_dir`), the key hashing
the model folder's file names, sizes and modification times and :data:`EXPORT_VERSION`, so
a changed model or exporter gets a fresh export while a start-up never re-hashes the 90 MB
weights. Each install therefore exports its own copy (143 MB); a new export deletes the ones
:func:`stale_exports` finds (their virtualenv was deleted, or its model reinstalled): a
machine that made a new virtualenv for every checkout had kept 76 of them (11 GB).
:mod:`citeqa.embed.onnx` makes the exports.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from ..config import cache_root

log = logging.getLogger("citeqa")

#: Bump when the exported graph or quantization recipe changes (invalidates caches).
EXPORT_VERSION = 2
#: What each export folder records of its model (written last: a folder without it is being written).
META_FILE = "export.json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cache_key(model_dir: Path) -> str:
    """Cache key of ``model_dir``: its files' names, sizes and mtimes plus the exporter."""
    digest = hashlib.sha256(f"citeqa-onnx-export-v{EXPORT_VERSION}".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        rel = path.relative_to(model_dir).as_posix()
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def export_dir(model_dir: Path) -> Path:
    """Where the export of ``model_dir`` is (or will be) cached."""
    return cache_root() / "onnx" / cache_key(model_dir)


def stale_exports(root: Path, current: Path) -> list[Path]:
    """The export folders under ``root`` (``<cache>/onnx``) that no installed model can load again.

    A folder is stale when the model folder its ``export.json`` names is gone (the
    virtualenv it was made from was deleted) or, for this :data:`EXPORT_VERSION`, now has
    another key (the model package was reinstalled: new files or times). Kept: ``current``,
    folders without a readable ``export.json`` (an export being written writes it last),
    and folders of another export version whose model is still there (another citeqa
    installed beside this one may load them).
    """
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and p != current)
    except OSError:
        return []
    stale = []
    for folder in folders:
        meta = _read_json(folder / META_FILE)
        if not isinstance(meta, dict) or not isinstance(meta.get("model_dir"), str):
            continue
        model_dir = Path(meta["model_dir"])
        try:
            gone = not model_dir.is_dir()
            # the same exporter would give this model another key now: it was reinstalled
            changed = (
                not gone
                and meta.get("export_version") == EXPORT_VERSION
                and cache_key(model_dir) != folder.name
            )
        except OSError:  # a model folder we cannot read: not ours to judge
            continue
        if gone or changed:
            stale.append(folder)
    return stale


def remove_stale_exports(current: Path) -> None:
    """Delete :func:`stale_exports` beside ``current`` (best effort: a folder that cannot be removed stays)."""
    removed = 0
    freed = 0
    for folder in stale_exports(current.parent, current):
        size = 0
        for path in folder.glob("*"):
            try:
                size += path.stat().st_size
            except OSError:  # removed meanwhile
                pass
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed += 1
            freed += size
    if removed:
        log.info(
            "removed %d ONNX export(s) no install can load any more (%.0f MB)",
            removed,
            freed / 1e6,
        )


__all__ = [
    "EXPORT_VERSION",
    "META_FILE",
    "cache_key",
    "export_dir",
    "remove_stale_exports",
    "stale_exports",
]
