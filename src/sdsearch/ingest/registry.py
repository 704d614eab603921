"""What a reader returns (``Extracted``) and the table of readers by file suffix.

One reader per format lives in its own module and registers itself with ``@reader``;
adding a format is one new module plus its import in ``ingest/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..types import Block


@dataclass
class Extracted:
    """What a reader returns: text plus structure, before metadata is settled."""

    text: str
    blocks: list[Block]
    page_starts: list[int] = field(default_factory=list)
    title: str | None = None  # from the file's properties (PDF info, DOCX core properties, HTML <title>)
    meta: dict[str, Any] = field(default_factory=dict)  # gemeente / year / doc_type from those properties
    notes: list[str] = field(default_factory=list)  # things the user should know (e.g. encoding), in Dutch
    running: list[str] = field(default_factory=list)  # running headers/footers left out of the text (PDF)


ReaderFn = Callable[[Path], Extracted]
READERS: dict[str, ReaderFn] = {}


def reader(*suffixes: str) -> Callable[[ReaderFn], ReaderFn]:
    """Register a reader for file suffixes (lower case, with the dot)."""

    def register(fn: ReaderFn) -> ReaderFn:
        for s in suffixes:
            READERS[s.lower()] = fn
        return fn

    return register
