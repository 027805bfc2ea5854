"""Rebuild progress for the page: the build's ``(stage, done, total)`` reports as ``(fraction, message)``."""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(fraction, message)`` callback for long operations.
Progress = Callable[[float, str], None]


def stage_reporter(report: Progress, documents: int) -> Callable[[str, int, int], None]:
    """Turn the build's ``(stage, done, total)`` reports into ``(fraction, message)`` ones.

    The stages are the ones ``citeqa build`` shows as bars: reading and segmenting up to
    15%, embedding 15-85% by sentences, writing the index to 95%. Documents are segmented
    while earlier ones are embedded, so the sentences to embed are counted as they are
    found: the embedding share is scaled by the share of documents already split, and the
    fraction never goes back.
    """
    state = {"fraction": 0.0, "split": 0, "documents": max(documents, 1)}

    def say(fraction: float, message: str) -> None:
        state["fraction"] = max(state["fraction"], fraction)
        report(state["fraction"], message)

    def on_stage(stage: str, done: int, total: int) -> None:
        if stage == "reading":
            say(0.08, f"Reading {documents} document{'s' if documents != 1 else ''}")
        elif stage == "segmenting":
            state["split"], state["documents"] = done, max(total, 1)
            say(0.12 + 0.03 * done / max(total, 1), f"Splitting the documents into sentences: {done:,} of {total:,}")
        elif stage == "embedding":
            split = state["split"] / state["documents"]
            found = "" if split >= 1 else f" found so far ({state['split']:,} of {state['documents']:,} documents split)"
            say(0.15 + 0.7 * split * done / max(total, 1), f"Embedding sentences: {done:,} of {total:,}{found}")
        elif stage == "indexing":
            if done < total:
                say(0.88, f"Indexing {total:,} sentences (vectors and keywords)")
            else:
                say(0.93, f"Indexed {total:,} sentences")

    return on_stage


__all__ = ["Progress", "stage_reporter"]
