"""Building a document's text and its blocks: the one builder the PDF, HTML and DOCX readers share.

A reader feeds blocks in reading order; the builder writes their text, separated by a
blank line, and records each ``Block`` with its char offsets. One block is open at a
time: ``start`` opens it (closing the one before), ``add_line`` puts the next line on a
new line (a list item, a table row), ``append`` continues the current line (a paragraph
joined from several visual lines), ``close`` records it. ``block`` is start + close for a
block given whole. Whitespace inside a line is squashed by ``squash``, the only place that
does so; the plain-text reader keeps the file's own text and needs no builder.
"""

from __future__ import annotations

from ..types import Block, BlockKind

BLOCK_SEP = "\n\n"


def squash(s: str) -> str:
    """Runs of whitespace (no-break spaces and line breaks included) become one space; ends trimmed."""
    return " ".join(s.split())


class TextBuilder:
    """Accumulates text, blocks and page starts; offsets are positions in ``text()``."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.blocks: list[Block] = []
        self.page_starts: list[int] = []
        self.open_kind: BlockKind | None = None
        self.open_start = 0
        self.open_level = 0
        self.last_line = ""  # text of the last line put into the open block ("" when none is open)
        self.line_start = 0  # offset where that line's text begins

    def _add(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def close(self) -> None:
        """Record the open block, if any."""
        if self.open_kind is not None:
            self.blocks.append(Block(self.open_kind, self.open_start, self.length, self.open_level))
        self.open_kind = None
        self.last_line = ""

    def start(self, kind: BlockKind, text: str, level: int = 0) -> int:
        """Close the open block and open a new one with ``text``; returns where ``text`` starts."""
        self.close()
        if self.length:
            self._add(BLOCK_SEP)
        self.open_kind, self.open_start, self.open_level = kind, self.length, level
        return self._line(text)

    def add_line(self, text: str) -> int:
        """Put ``text`` on a new line of the open block (list item, table row); returns its start."""
        self._add("\n")
        return self._line(text)

    def append(self, text: str, sep: str = " ", drop: int = 0) -> int:
        """Continue the open block's last line with ``text``, after dropping its last ``drop`` chars
        (a line-end hyphen) and adding ``sep``; returns where ``text`` starts."""
        if drop:
            self.parts[-1] = self.parts[-1][:-drop]
            self.length -= drop
        if sep:
            self._add(sep)
        return self._line(text)

    def _line(self, text: str) -> int:
        self.line_start = self.length
        self._add(text)
        self.last_line = text
        return self.line_start

    def block(self, kind: BlockKind, text: str, level: int = 0) -> int:
        """A whole block at once (its text may hold line breaks); returns its start."""
        at = self.start(kind, text, level)
        self.close()
        return at

    def text(self) -> str:
        return "".join(self.parts)
