"""A build's progress on the terminal: one tqdm bar per stage (reading, segmenting, embedding with sentences/s, writing)."""

from __future__ import annotations

import sys
from typing import Any

#: Bar label and unit of each stage a build reports (see :func:`citeqa.build.build`).
STAGES = {
    "reading": ("reading", "source"),
    "segmenting": ("segmenting", "document"),
    "embedding": ("embedding", "sentence"),
    "indexing": ("writing", "sentence"),
}


class StageBars:
    """A ``(stage, done, total)`` progress callback drawing one tqdm bar per stage on stderr.

    A bar appears at its stage's first report and stays; its total may grow (the sentences
    to embed are counted while documents are still being segmented). Call :meth:`close` at
    the end (also after an error).
    """

    def __init__(self, file: Any = None, disable: bool | None = None) -> None:
        """``file``: where to draw (stderr); ``disable``: None draws only on a terminal, so
        logs, pipes and captured output keep to the build's own lines and errors."""
        self._file = file
        self._disable = disable
        self._bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            from tqdm import tqdm

            label, unit = STAGES.get(stage, (stage, "item"))
            bar = tqdm(total=total, desc=f"{label:<10}", unit=unit, position=len(self._bars), leave=True,
                       file=self._file or sys.stderr, dynamic_ncols=True, disable=self._disable)
            self._bars[stage] = bar
        if bar.total != total:
            bar.total = total
        if done > bar.n:
            bar.update(done - bar.n)
        else:
            bar.refresh()

    def close(self) -> None:
        """Close every bar (they stay on screen with their final counts and rates)."""
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
