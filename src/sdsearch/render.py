"""Formatting hits and answers for people (plain text, optional colour) and for machines (JSON).

Text from reports is cleaned of control characters before it reaches a terminal, so a
crafted HTML or text file cannot move the cursor or recolour the screen.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

from .types import Answer, Hit

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Text safe for a terminal: control characters and bidi overrides removed, tabs as spaces."""
    return _CONTROL.sub("", text.replace("\t", " "))


def width() -> int:
    return max(40, min(100, shutil.get_terminal_size((80, 24)).columns))


def _wrap(text: str, indent: str, w: int) -> str:
    return textwrap.fill(" ".join(clean(text).split()), width=w, initial_indent=indent, subsequent_indent=indent)


def _highlight(text: str, terms: Sequence[str], colour: bool) -> str:
    if not colour or not terms:
        return text
    pat = re.compile(r"\b(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\b", re.I)
    return pat.sub(lambda m: f"\x1b[1;33m{m.group(0)}\x1b[0m", text)


def _dim(s: str, colour: bool) -> str:
    return f"\x1b[2m{s}\x1b[0m" if colour else s


def _bold(s: str, colour: bool) -> str:
    return f"\x1b[1m{s}\x1b[0m" if colour else s


def format_hits(hits: Sequence[Hit], colour: bool = False, max_chars: int = 400, w: int | None = None) -> str:
    """Ranked hits as readable text: citation line, then the (shortened) passage."""
    w = w or width()
    if not hits:
        return "Geen passages gevonden."
    out = []
    for h in hits:
        head = f"{h.rank}. {clean(h.citation)}"
        out.append(_bold(textwrap.fill(head, width=w, subsequent_indent="   "), colour) + _dim(f"  [{h.score:.3f}]", colour))
        text = " ".join(h.text.split())
        if len(text) > max_chars:
            cut = text.rfind(" ", 0, max_chars)
            text = text[: cut if cut > 0 else max_chars] + " …"
        out.append(_highlight(_wrap(text, "   ", w), h.matched_terms, colour))
        if h.passage.also_at:
            where = "; ".join(sorted({loc.source for loc in h.passage.also_at}))
            out.append(_dim(_wrap(f"ook in: {where}", "   ", w), colour))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def format_answer(answer: Answer, colour: bool = False, w: int | None = None, show_hits: bool = True) -> str:
    """The answer first (or the plain "no answer" line), then the ranked sources."""
    w = w or width()
    lines = []
    if answer.answered:
        lines.append(_bold("Antwoord:", colour))
        for s in answer.sentences:
            text = clean(s.text)
            if s.span and colour:
                a, b = s.span
                text = text[:a] + f"\x1b[1;32m{text[a:b]}\x1b[0m" + text[b:]
            elif s.span:
                a, b = s.span
                text = text[:a] + "[" + text[a:b] + "]" + text[b:]
            lines.append(textwrap.fill(" ".join(text.split()), width=w, initial_indent="  ", subsequent_indent="  "))
            lines.append(_dim(_wrap(f"— {s.citation}", "    ", w), colour))
        lines.append("")
    else:
        lines.append(_bold(Answer.NO_ANSWER, colour))
        lines.append("")
    if show_hits and answer.hits:
        lines.append(_bold("Bronnen:", colour))
        lines.append(format_hits(answer.hits, colour=colour, w=w, max_chars=300))
    return "\n".join(lines).rstrip() + "\n"


def hits_json(query: str, hits: Sequence[Hit], **extra: Any) -> str:
    return json.dumps({"query": query, **extra, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False)


def answer_json(answer: Answer) -> str:
    span = answer.span
    return json.dumps(
        {
            "question": answer.question,
            "answer": answer.text,
            "answer_span": span,
            "confidence": round(answer.confidence, 4),
            "citations": [
                {
                    "sentence": s.text,
                    "span": s.span_text,
                    "citation": s.citation,
                    "source": s.hit.source,
                    "gemeente": s.hit.gemeente,
                    "year": s.hit.year,
                    "doc_type": s.hit.doc_type,
                    "section": list(s.hit.section),
                    "page": s.hit.passage.page,
                    "char_start": s.char_start,
                    "char_end": s.char_end,
                    "passage_id": s.hit.passage_id,
                }
                for s in answer.sentences
            ],
            "hits": [h.to_dict() for h in answer.hits],
        },
        ensure_ascii=False,
    )
