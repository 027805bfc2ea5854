"""Long property-based run: the hypothesis properties of tests/test_hypothesis_pipeline.py
(random Unicode documents and questions through build, answer, the workspace and the
HTTP API of a real server on loopback) with many more examples than the default suite.

Usage::

    PYTHONPATH=src python benchmarks/fuzz.py [--examples 2000] [--seed N] [-k EXPR]

Random (not derandomized) unless --seed is given; a failure prints hypothesis's shrunk
example and exits 1. The default test suite runs the same properties with 15 examples.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per property (default 2000)")
    parser.add_argument("--seed", type=int, help="hypothesis seed, to repeat a run")
    parser.add_argument("-k", default="", help="only the properties matching this pytest -k expression")
    args = parser.parse_args(argv)
    if args.examples <= 0:
        parser.error(f"--examples must be > 0, got {args.examples}")
    env = {**os.environ, "CITEQA_FUZZ_EXAMPLES": str(args.examples), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "pytest", str(REPO / "tests" / "test_hypothesis_pipeline.py"), "-q",
               "-p", "no:cacheprovider", "--hypothesis-show-statistics"]
    if args.seed is not None:
        command += [f"--hypothesis-seed={args.seed}"]
    if args.k:
        command += ["-k", args.k]
    return subprocess.call(command, cwd=REPO, env=env)


if __name__ == "__main__":
    sys.exit(main())
