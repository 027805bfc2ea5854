"""Errors citeqa raises on purpose.

Every error is a :class:`CiteqaError`, so callers (the CLI, the chat) can tell a
problem the user can fix from a bug. Messages name the bad value or path and say
what to do next.
"""

from __future__ import annotations


class CiteqaError(Exception):
    """Base class of every error citeqa raises on purpose."""


class InvalidArgumentError(CiteqaError, ValueError):
    """A setting or argument is out of range (e.g. ``k <= 0``)."""


class InvalidQuestionError(InvalidArgumentError):
    """The question is blank, too long or not text."""


class SourceError(CiteqaError):
    """A source document is missing, unreadable or of an unsupported type."""


class IndexError_(CiteqaError):
    """Base of the index problems (named with a trailing underscore to keep the builtin)."""


class IndexNotFoundError(IndexError_):
    """There is no index at the given path."""


class CorruptIndexError(IndexError_):
    """An index file is missing, truncated, altered or unreadable."""


class StaleIndexError(IndexError_):
    """A source changed (or vanished) since the index was built."""


class IncompatibleIndexError(IndexError_):
    """The index was built with another model, dimension or format version."""


class IndexReplacedError(IndexError_):
    """A loaded index's version folder was removed (pruned) after newer builds: reload it."""


class StorageError(CiteqaError):
    """Writing failed for a reason of the machine's, not the input's: disk full, no permission."""


__all__ = [
    "CiteqaError",
    "CorruptIndexError",
    "IncompatibleIndexError",
    "IndexError_",
    "IndexNotFoundError",
    "IndexReplacedError",
    "InvalidArgumentError",
    "InvalidQuestionError",
    "SourceError",
    "StaleIndexError",
    "StorageError",
]
