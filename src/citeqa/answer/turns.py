"""What recent conversation turns were answered from: a bounded, thread-safe memory by turn.

A follow-up that keeps the previous turn's subject is held to the document that turn's
answer came from, and "Tell me more" reads on after the sentences it cited. The chat asks
a follow-up right after answering the turn before, so the index remembers each of its last
:data:`REMEMBERED_TURNS` answers here instead of answering that turn again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from ..question import user_turns

#: How many recent turns' answers an index remembers.
REMEMBERED_TURNS = 256


def turn_key(question: str, history: Sequence[Mapping[str, Any]] | None, documents: Sequence[int] | None = None) -> str:
    """A digest of a cleaned question, the user's turns before it and the documents it was held
    to (numbers; None: all): all its answer depends on."""
    digest = hashlib.sha256(question.encode("utf-8", "surrogatepass"))
    for turn in user_turns(history):
        digest.update(b"\x00" + turn.encode("utf-8", "surrogatepass"))
    if documents is not None:
        digest.update(b"\x01" + ",".join(str(int(d)) for d in documents).encode("ascii"))
    return digest.hexdigest()


class TurnMemory:
    """Turn key -> (the document its answer is about or None, the rows it cited), the oldest forgotten first."""

    def __init__(self, size: int = REMEMBERED_TURNS) -> None:
        if size < 1:
            raise ValueError(f"size must be > 0, got {size}")
        self._size = size
        self._turns: OrderedDict[str, tuple[int | None, tuple[int, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: str, document: int | None, cited: Sequence[int] = ()) -> None:
        """Keep what the turn ``key`` was answered from (``cited``: its citations' rows, none when it abstained)."""
        with self._lock:
            self._turns[key] = (document, tuple(int(row) for row in cited))
            self._turns.move_to_end(key)
            while len(self._turns) > self._size:
                self._turns.popitem(last=False)

    def recall(self, key: str) -> tuple[int | None, tuple[int, ...]] | None:
        """What :meth:`remember` kept for ``key``, or None when it was never kept or is forgotten."""
        with self._lock:
            return self._turns.get(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)
