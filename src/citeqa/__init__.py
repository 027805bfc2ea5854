"""citeqa: answers made of the documents' own sentences, each cited to exact offsets.

Example:
    >>> import citeqa
    >>> result = citeqa.answer("When did the exercise take place?")
    >>> result.citations[0].text  # verbatim sentence; document[start:end] == text
"""

from __future__ import annotations

from .api import LiveIndex, answer, build_index, default_index, retrieve
from .config import default_index_path
from .errors import (
    CiteqaError,
    CorruptIndexError,
    IncompatibleIndexError,
    IndexNotFoundError,
    InvalidArgumentError,
    InvalidQuestionError,
    SourceError,
    StaleIndexError,
)
from .index import Index
from .schema import Answer, Document, Hit

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "CiteqaError",
    "CorruptIndexError",
    "Document",
    "Hit",
    "IncompatibleIndexError",
    "Index",
    "IndexNotFoundError",
    "InvalidArgumentError",
    "InvalidQuestionError",
    "LiveIndex",
    "SourceError",
    "StaleIndexError",
    "answer",
    "build_index",
    "default_index",
    "default_index_path",
    "retrieve",
]
