"""Chunking: ``Document`` → ``Passage``s that follow sentence and section boundaries.

A passage never crosses a section (heading) or a document; it packs whole blocks
(paragraph, list, table) while they fit in ``max_chars``, and splits a longer block at
sentence boundaries into pieces of about equal size. Offsets index into the document's
extracted text, so ``doc.text[p.char_start:p.char_end] == p.text`` always holds.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .analysis import sentence_spans, squash
from .config import Settings
from .types import Block, Document, Location, Passage


@dataclass(frozen=True)
class ChunkSettings:
    """Passage size bounds; the defaults are ``config.Settings``'s (one home for each default)."""

    max_chars: int = Settings.chunk_chars
    min_chars: int = Settings.chunk_min_chars
    overlap_sentences: int = Settings.chunk_overlap_sentences

    def as_dict(self) -> dict[str, int]:
        return {"max_chars": self.max_chars, "min_chars": self.min_chars, "overlap_sentences": self.overlap_sentences}


def passage_id(doc_id: str, text: str) -> str:
    """Stable id: the same text in the same document gets the same id on every rebuild."""
    return hashlib.sha1(f"{doc_id}\x00{text}".encode()).hexdigest()[:16]


def _sections(doc: Document) -> list[tuple[tuple[str, ...], list[Block]]]:
    """Group content blocks under the heading path that governs them."""
    stack: list[tuple[int, str]] = []
    out: list[tuple[tuple[str, ...], list[Block]]] = []
    current: list[Block] = []
    path: tuple[str, ...] = ()
    for b in doc.blocks:
        if b.kind == "heading":
            if current:
                out.append((path, current))
                current = []
            title = " ".join(doc.text[b.start : b.end].split())
            level = max(1, b.level)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            path = tuple(t for _, t in stack)
        else:
            current.append(b)
    if current:
        out.append((path, current))
    return out


def _hard_split(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at whitespace so no piece exceeds ``limit`` chars."""
    pieces = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        if cut <= start:
            cut = start + limit
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def _units(doc: Document, block: Block, max_chars: int) -> list[tuple[int, int]]:
    units: list[tuple[int, int]] = []
    for s, e in sentence_spans(doc.text, block.start, block.end):
        units.extend(_hard_split(doc.text, s, e, max_chars))
    return units


def chunk_document(doc: Document, settings: ChunkSettings | None = None) -> list[Passage]:
    """Split one document into passages (see module docstring for the rules)."""
    cfg = settings or ChunkSettings()
    spans: list[tuple[tuple[str, ...], int, int]] = []
    for path, blocks in _sections(doc):
        # Groups of units; a new group starts where a block does not fit or non-block text intervenes.
        groups: list[list[tuple[int, int]]] = []
        current: list[tuple[int, int]] = []
        prev_end: int | None = None
        for b in blocks:
            units = _units(doc, b, cfg.max_chars)
            if not units:
                continue
            size = units[-1][1] - units[0][0]
            gap_has_text = prev_end is not None and doc.text[prev_end : units[0][0]].strip() != ""
            cur_size = current[-1][1] - current[0][0] if current else 0
            if current and (gap_has_text or cur_size + 1 + size > cfg.max_chars):
                if size <= cfg.max_chars or cur_size >= cfg.min_chars or gap_has_text:
                    groups.append(current)
                    current = []
            current.extend(units)
            prev_end = units[-1][1]
        if current:
            groups.append(current)
        for group in groups:
            for s, e in _pack(group, cfg):
                spans.append((path, s, e))
    passages = []
    for path, s, e in spans:
        text = doc.text[s:e]
        passages.append(
            Passage(
                passage_id=passage_id(doc.doc_id, text),
                doc_id=doc.doc_id,
                source=doc.source,
                text=text,
                char_start=s,
                char_end=e,
                title=doc.title,
                gemeente=doc.gemeente,
                year=doc.year,
                doc_type=doc.doc_type,
                section=path,
                page=doc.page_at(s),
                page_end=doc.page_at(e - 1),
            )
        )
    return passages


def _pack(units: list[tuple[int, int]], cfg: ChunkSettings) -> list[tuple[int, int]]:
    """Pack sentence units into pieces of about equal size, each at most ``max_chars`` where possible."""
    total = units[-1][1] - units[0][0]
    if total <= cfg.max_chars:
        return [(units[0][0], units[-1][1])]
    out: list[tuple[int, int]] = []
    i = 0
    first_new = 0  # the first sentence no earlier piece holds: every piece must reach it
    while i < len(units):
        start = units[i][0]
        remaining = units[-1][1] - start
        target = remaining / math.ceil(remaining / cfg.max_chars)  # even pieces for what is left
        j = max(i, first_new)
        while j + 1 < len(units):
            cur, nxt = units[j][1] - start, units[j + 1][1] - start
            # Stop at the target, before overflowing, or where one more sentence overshoots
            # the target by more than stopping here falls short of it.
            if cur >= target or nxt > cfg.max_chars or nxt - target > target - cur:
                break
            j += 1
        out.append((start, units[j][1]))
        if j + 1 >= len(units):
            break
        # Overlap: repeat up to `overlap_sentences` sentences, as many as fit beside a new one.
        step_back = min(cfg.overlap_sentences, j - i)
        while step_back and units[j + 1][1] - units[j + 1 - step_back][0] > cfg.max_chars:
            step_back -= 1
        first_new = j + 1
        i = j + 1 - step_back
    return out


def chunk(docs: Iterable[Document], settings: ChunkSettings | None = None) -> list[Passage]:
    """Chunk many documents and collapse identical passages (see ``dedupe``)."""
    out: list[Passage] = []
    for d in docs:
        out.extend(chunk_document(d, settings))
    return dedupe(out)


def dedupe(passages: list[Passage]) -> list[Passage]:
    """Index identical text once: the first occurrence cites the others in ``also_at``."""
    first: dict[str, int] = {}
    extra: dict[int, list[Location]] = {}
    keep: list[Passage] = []
    for p in passages:
        key = squash(p.text)
        if key in first:
            extra.setdefault(first[key], []).append(p.location)
            continue
        first[key] = len(keep)
        keep.append(p)
    for i, locs in extra.items():
        keep[i] = replace(keep[i], also_at=keep[i].also_at + tuple(locs))
    return keep


def context_prefix(p: Passage) -> str:
    """The section path as a line to put before the passage text when embedding/indexing."""
    return " › ".join(p.section)
