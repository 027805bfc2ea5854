"""Run the citeqa evaluation (gold file + ReQA-style SQuAD) with same-run baselines.

Usage (from the repository root):
    PYTHONPATH=src python benchmarks/eval.py [--squad PATH] [--limit N] [--json]

Same options as ``citeqa eval``; prints MRR@10 / R@k for the hybrid ranking next to
the BM25-only, dense-only and RRF baselines, follow-up and abstention rates, and the
median query latency of hybrid vs dense-only retrieval measured in the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from citeqa.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))
