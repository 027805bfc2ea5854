"""Run the citeqa web chat on the shipped article: ``python app.py`` (same as ``citeqa serve``).

Importing this file launches nothing.
"""

from __future__ import annotations

import sys

from citeqa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
