"""Write the small SQuAD extract the default tests run through the eval harness.

Usage: python benchmarks/make_squad_extract.py [--squad PATH]
Takes the first 3 paragraphs (and their questions) of the first 2 articles of the SQuAD
v1.1 dev tune half and writes ``tests/data/squad-extract.json`` (same JSON layout).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(REPO / ".." / "shared" / "data" / "squad" / "dev-v1.1-tune.json"))
    args = parser.parse_args()
    data = json.loads(Path(args.squad).read_text(encoding="utf-8"))
    extract = {
        "version": data.get("version", "1.1"),
        "source": "SQuAD v1.1 dev (tune half), first 3 paragraphs of the first 2 articles; CC BY-SA 4.0",
        "data": [{"title": a["title"], "paragraphs": a["paragraphs"][:3]} for a in data["data"][:2]],
    }
    out = REPO / "tests" / "data" / "squad-extract.json"
    out.write_text(json.dumps(extract, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
