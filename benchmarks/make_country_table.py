"""Write ``src/citeqa/data/countries.tsv``: country names, demonyms and capitals from ``countryinfo``.

Usage (from the repository root; ``pip install countryinfo==1.0.1``, the ``bench`` extra):
    python benchmarks/make_country_table.py

The lexical tokenizer (:mod:`citeqa.lexical`) reads the table so that "Turkish",
"Turkey" and "Türkiye" become one token, and a capital ("Ankara") also counts as a
mention of its country, as news writing uses it ("Ankara threw its support behind
Baku"). Each line is ``country<TAB>kind<TAB>name`` with kind ``name``, ``demonym`` or
``capital``. A name several countries share goes to the most populous of them
("American": the United States, not its outlying islands). Left out: names shorter than 4 letters (ISO codes, "US" = "us"), names or
non-Latin spellings, and
the few entries that are also everyday English words (:data:`COMMON_WORDS`).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from citeqa.text import words  # noqa: E402

OUT = REPO / "src" / "citeqa" / "data" / "countries.tsv"
#: Entries that are mostly ordinary English words, not places.
COMMON_WORDS = {"polish", "male", "chad", "guinea", "victoria", "kingston", "hamilton", "jamestown", "plymouth", "georgetown", "avarua", "sucre"}


def latin(name: str) -> bool:
    return all(w.isascii() and w.isalpha() for w in words(name))


def text(value: object) -> str:
    """A field as one string (some entries hold a list: the first item)."""
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def main() -> int:
    from countryinfo import CountryInfo

    entries: dict[tuple[str, str], set[str]] = defaultdict(set)  # (kind, folded name) -> countries
    population: dict[str, int] = {}
    for data in CountryInfo.all().values():
        country = data.get("name") or ""
        if not country or not latin(country):
            continue
        population[country] = int(data.get("population") or 0)
        names = {country, *(data.get("altSpellings") or []), text(data.get("nativeName"))}
        candidates = [("name", n) for n in names] + [("demonym", text(data.get("demonym"))), ("capital", text(data.get("capital")))]
        for kind, name in candidates:
            folded = " ".join(w for w in words(name) if len(w) > 1)
            if len(folded) < 4 or not latin(name) or folded in COMMON_WORDS:
                continue
            entries[(kind, folded)].add(country)
    by_name: dict[str, set[str]] = defaultdict(set)
    for (_, name), countries in entries.items():
        by_name[name] |= countries
    owner = {name: max(sorted(countries), key=lambda c: population[c]) for name, countries in by_name.items()}
    lines = sorted({f"{owner[name]}\t{kind}\t{name}" for kind, name in entries if owner[name] in entries[(kind, name)]})
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} entries to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
