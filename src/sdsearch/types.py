"""Value types shared by every part of sdsearch: documents, passages, hits, answers.

All are frozen dataclasses; nothing here imports anything beyond the standard library.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Literal

BlockKind = Literal["heading", "paragraph", "list", "table"]


@dataclass(frozen=True)
class Block:
    """A structural unit a reader found in a document's text.

    ``start``/``end`` index into ``Document.text``. Text not covered by any block
    (blank lines, web-export boilerplate, running headers) never becomes a passage.
    ``level`` is the heading depth (1 = top) for headings and 0 otherwise.
    """

    kind: BlockKind
    start: int
    end: int
    level: int = 0


@dataclass(frozen=True)
class Document:
    """One source report as a reader extracted it.

    ``source`` is the path relative to the corpus root (``/``-separated).
    ``page_starts[i]`` is the char offset where page ``i + 1`` begins; empty when the
    format has no pages. ``meta_origin`` says where each metadata value came from.
    """

    doc_id: str
    source: str
    text: str
    title: str
    gemeente: str | None = None
    year: int | None = None
    doc_type: str | None = None
    blocks: tuple[Block, ...] = ()
    page_starts: tuple[int, ...] = ()
    content_hash: str = ""
    # Where gemeente, year, doc_type and title came from, as (field, origin) pairs with Dutch
    # origins: "corpus.toml", "bestandsnaam", "mapnaam", "PDF-eigenschappen", "tekst: titelpagina", ...
    meta_origin: tuple[tuple[str, str], ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page that holds char ``offset``, or None for formats without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class Location:
    """Where a passage's text occurs in the corpus (a passage may occur more than once)."""

    source: str
    char_start: int
    char_end: int
    section: tuple[str, ...] = ()
    page: int | None = None
    page_end: int | None = None


@dataclass(frozen=True)
class Passage:
    """A retrievable unit of text with everything needed to cite it.

    ``char_start``/``char_end`` index into the extracted text of ``source``, so
    ``document.text[p.char_start:p.char_end] == p.text``. ``also_at`` lists the other
    places where the same text occurs (identical paragraphs are indexed once).
    """

    passage_id: str
    doc_id: str
    source: str
    text: str
    char_start: int
    char_end: int
    title: str
    gemeente: str | None = None
    year: int | None = None
    doc_type: str | None = None
    section: tuple[str, ...] = ()
    page: int | None = None
    page_end: int | None = None
    also_at: tuple[Location, ...] = ()

    @property
    def location(self) -> Location:
        return Location(self.source, self.char_start, self.char_end, self.section, self.page, self.page_end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "source": self.source,
            "text": self.text,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "title": self.title,
            "gemeente": self.gemeente,
            "year": self.year,
            "doc_type": self.doc_type,
            "section": list(self.section),
            "page": self.page,
            "page_end": self.page_end,
            "also_at": [
                {
                    "source": loc.source,
                    "char_start": loc.char_start,
                    "char_end": loc.char_end,
                    "section": list(loc.section),
                    "page": loc.page,
                    "page_end": loc.page_end,
                }
                for loc in self.also_at
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Passage:
        return cls(
            passage_id=d["passage_id"],
            doc_id=d["doc_id"],
            source=d["source"],
            text=d["text"],
            char_start=int(d["char_start"]),
            char_end=int(d["char_end"]),
            title=d["title"],
            gemeente=d.get("gemeente"),
            year=d.get("year"),
            doc_type=d.get("doc_type"),
            section=tuple(d.get("section") or ()),
            page=d.get("page"),
            page_end=d.get("page_end"),
            also_at=tuple(
                Location(
                    source=a["source"],
                    char_start=int(a["char_start"]),
                    char_end=int(a["char_end"]),
                    section=tuple(a.get("section") or ()),
                    page=a.get("page"),
                    page_end=a.get("page_end"),
                )
                for a in d.get("also_at") or ()
            ),
        )


def format_citation(
    gemeente: str | None,
    title: str,
    section: tuple[str, ...],
    page: int | None = None,
    page_end: int | None = None,
) -> str:
    """Render a citation for people: ``Velsen · Jaarverslag 2022 — Participatie · Beschermd wonen · p. 14``."""
    parts = [p for p in (gemeente, title) if p]
    if section:
        parts.append(" › ".join(section))
    if page is not None:
        parts.append(f"p. {page}" if page_end in (None, page) else f"p. {page}–{page_end}")
    return " · ".join(parts)


@dataclass(frozen=True)
class Hit:
    """One ranked search result: a passage, its score and its rank (1-based)."""

    passage: Passage
    score: float
    rank: int
    matched_terms: tuple[str, ...] = ()

    # Convenience accessors so callers rarely need ``hit.passage.x``.
    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def passage_id(self) -> str:
        return self.passage.passage_id

    @property
    def source(self) -> str:
        return self.passage.source

    @property
    def gemeente(self) -> str | None:
        return self.passage.gemeente

    @property
    def year(self) -> int | None:
        return self.passage.year

    @property
    def doc_type(self) -> str | None:
        return self.passage.doc_type

    @property
    def section(self) -> tuple[str, ...]:
        return self.passage.section

    @property
    def page(self) -> int | None:
        return self.passage.page

    @property
    def citation(self) -> str:
        p = self.passage
        return format_citation(p.gemeente, p.title, p.section, p.page, p.page_end)

    def to_dict(self) -> dict[str, Any]:
        d = self.passage.to_dict()
        d.pop("doc_id")
        return {"rank": self.rank, "score": round(float(self.score), 6), "citation": self.citation, **d}


@dataclass(frozen=True)
class AnswerSentence:
    """A sentence that answers the question, with the exact answering span inside it."""

    text: str
    hit: Hit
    char_start: int  # into the source document's text
    char_end: int
    span: tuple[int, int] | None = None  # offsets into ``text`` of the asked-for fact
    score: float = 0.0

    @property
    def span_text(self) -> str | None:
        return self.text[self.span[0] : self.span[1]] if self.span else None

    @property
    def citation(self) -> str:
        return self.hit.citation


@dataclass(frozen=True)
class Answer:
    """The answer to a question: best sentences (empty when no clear answer) and the hits."""

    question: str
    sentences: tuple[AnswerSentence, ...]
    confidence: float
    hits: tuple[Hit, ...] = field(default=())
    # Whether the marked span is a fact to state on its own ("Antwoord: 387"): an amount, date,
    # name or table cell. For "wat houdt X in", "waarom", "hoe" the sentences are the answer and
    # the span only marks where in them it stands.
    states_fact: bool = True

    NO_ANSWER = "Geen duidelijk antwoord gevonden in de rapporten."

    @property
    def answered(self) -> bool:
        return bool(self.sentences)

    @property
    def text(self) -> str | None:
        return " ".join(s.text for s in self.sentences) if self.sentences else None

    @property
    def span(self) -> str | None:
        for s in self.sentences:
            if s.span_text:
                return s.span_text
        return None

    @property
    def fact(self) -> str | None:
        """The fact the "Antwoord:" line states: the span when it is one to state on its own."""
        return self.span if self.states_fact else None
