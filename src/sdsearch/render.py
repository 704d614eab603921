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

from .types import Answer, AnswerSentence, Hit

# Whole escape sequences first (CSI "ESC [ ... m", OSC "ESC ] ... BEL" such as hyperlinks
# or window titles, C1 CSI), so no "[31m" debris is left; then every other control
# character, zero-width and bidi formatting character, and lone surrogates (unprintable).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -~]?")
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)


def clean(text: str) -> str:
    """Text safe for a terminal: escape sequences, control characters and bidi overrides
    removed, tabs as spaces. Line breaks stay."""
    return _CONTROL.sub("", _ESCAPES.sub("", str(text).replace("\t", " ")))


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


def snippet(text: str, terms: Sequence[str], max_chars: int) -> str:
    """At most ``max_chars`` of ``text``: the window of sentences holding the most matched words."""
    if len(text) <= max_chars:
        return text
    starts = [0] + [m.end() for m in re.finditer(r"[.!?:;] ", text)]
    pats = [re.compile(r"\b" + re.escape(t) + r"\b", re.I) for t in terms]

    def hits_in(a: int) -> int:
        window = text[a : a + max_chars]
        return sum(1 for p in pats if p.search(window))

    best = max(starts, key=lambda a: (hits_in(a), -a)) if pats else 0
    end = best + max_chars
    piece = text[best:end]
    if end < len(text):
        cut = piece.rfind(" ")
        piece = piece[: cut if cut > 0 else max_chars] + " …"
    return ("… " if best > 0 else "") + piece


def format_hits(hits: Sequence[Hit], colour: bool = False, max_chars: int = 400, w: int | None = None) -> str:
    """Ranked hits as readable text: citation line, then the (shortened) passage."""
    w = w or width()
    if not hits:
        return "Geen passages gevonden."
    out = []
    for h in hits:
        head = textwrap.fill(f"{h.rank}. {clean(h.citation)}", width=w - 9, subsequent_indent="   ")
        out.append(_bold(head, colour) + _dim(f"  [{h.score:.3f}]", colour))
        text = snippet(" ".join(h.text.split()), h.matched_terms, max_chars)
        out.append(_highlight(_wrap(text, "   ", w), h.matched_terms, colour))
        if h.matched_terms and not colour:  # without colour, name the words that matched
            out.append(_wrap("gevonden: " + ", ".join(h.matched_terms), "   ", w))
        if h.passage.also_at:
            where = "; ".join(sorted({loc.source for loc in h.passage.also_at}))
            out.append(_dim(_wrap(f"ook in: {where}", "   ", w), colour))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _mark(wrapped: str, phrase: str, colour: bool, code: str = "1;32") -> str:
    """Colour ``phrase`` inside already wrapped text (it may run across a line break)."""
    words = phrase.split()
    if not colour or not words:
        return wrapped
    pat = re.compile(r"\s+".join(re.escape(w) for w in words))
    return pat.sub(lambda m: f"\x1b[{code}m{m.group(0)}\x1b[0m", wrapped, count=1)


SHORT_SPAN = 60  # spans up to this long are also shown on the "Antwoord:" line


def format_answer(answer: Answer, colour: bool = False, w: int | None = None, show_hits: bool = True) -> str:
    """The answer first (or the plain "no answer" line), then the ranked sources.

    The asked-for fact leads when it is short ("Antwoord: 387"); each answer sentence
    follows with its citation, the fact coloured on a terminal.
    """
    w = w or width()
    lines = []
    if answer.answered:
        span = " ".join(clean(answer.fact).split()) if answer.fact else ""
        head = "Antwoord:" + (f" {span}" if span and len(span) <= SHORT_SPAN else "")
        lines.append(_bold(textwrap.fill(head, width=w, subsequent_indent="  "), colour))
        # Neighbouring sentences from one passage read as one quote with one citation.
        groups: list[list[AnswerSentence]] = []
        for s in answer.sentences:
            if groups and groups[-1][-1].hit.passage_id == s.hit.passage_id and 0 <= s.char_start - groups[-1][-1].char_end <= 3:
                groups[-1].append(s)
            else:
                groups.append([s])
        for group in groups:
            text = _wrap(" ".join(s.text for s in group), "  ", w)
            for s in group:
                if s.span_text:
                    text = _mark(text, " ".join(clean(s.span_text).split()), colour)
            lines.append(text)
            lines.append(_dim(_wrap(f"— {group[0].citation}", "    ", w), colour))
        lines.append(_dim(f"  (zekerheid {answer.confidence:.2f})", colour))
        lines.append("")
    else:
        lines.append(_bold(Answer.NO_ANSWER, colour))
        if answer.hits and show_hits:
            lines.append(_dim("De passages die het dichtst in de buurt komen:", colour))
        lines.append("")
    if show_hits and answer.hits:
        lines.append(_bold("Bronnen:", colour))
        lines.append(format_hits(answer.hits, colour=colour, w=w, max_chars=300))
    return "\n".join(lines).rstrip() + "\n"


def format_answer_last(answer: Answer, colour: bool = False, w: int | None = None, snippet_chars: int = 160) -> str:
    """For the prompt: compact sources first (citation and one short snippet each), the
    answer last, so that it is what stays in view when the question is done."""
    w = w or width()
    lines = []
    if answer.hits:
        lines.append(_bold("Bronnen:", colour))
        for h in answer.hits:
            lines.append(_wrap(f"{h.rank}. {clean(h.citation)}", "   ", w).lstrip())
            lines.append(_dim(_wrap(snippet(h.text, h.matched_terms, snippet_chars), "   ", w), colour))
        lines.append(_dim("   (:bron N toont bron N in zijn rapport)", colour))
        lines.append("")
    if not answer.answered and answer.hits:
        lines.append(_bold(Answer.NO_ANSWER, colour))
        lines.append(_dim("De bronnen hierboven komen het dichtst in de buurt.", colour))
        return "\n".join(lines).rstrip() + "\n"
    lines.append(format_answer(answer, colour=colour, w=w, show_hits=False).rstrip())
    return "\n".join(lines).rstrip() + "\n"


# JSON escapes C0 controls itself; these would still reach a terminal as raw characters.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]")


def _dumps(obj: Any) -> str:
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(obj, ensure_ascii=False))


def hits_json(query: str, hits: Sequence[Hit], **extra: Any) -> str:
    return _dumps({"query": query, **extra, "hits": [h.to_dict() for h in hits]})


def answer_json(answer: Answer) -> str:
    return _dumps(answer_dict(answer))


def answer_dict(answer: Answer) -> dict[str, Any]:
    """The ``ask --json`` object (also what the HTTP API returns)."""
    span = answer.span
    return (
        {
            "question": answer.question,
            "answer": answer.text,
            "answer_span": span,
            "answer_fact": answer.fact,
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
        }
    )


def error_json(question: str, message: str) -> str:
    """The ``ask --json`` object for a line that could not be asked (blank, unusable)."""
    return _dumps({"question": question, "answer": None, "answer_span": None, "confidence": 0.0, "citations": [], "hits": [], "error": message})


def per_gemeente_json(question: str, answers: dict[str, Answer]) -> str:
    """``ask --per gemeente --json``: one object, the answer of each gemeente under its name."""
    return _dumps({"question": question, "per": "gemeente", "answers": {g: answer_dict(a) for g, a in answers.items()}})


def format_per_gemeente(question: str, answers: dict[str, Answer], colour: bool = False, w: int | None = None) -> str:
    """The answer of each gemeente under its name, with its citation; sources left out for overview."""
    w = w or width()
    lines = []
    for gemeente, ans in answers.items():
        lines.append(_bold(f"■ {clean(gemeente)}", colour))
        if ans.answered:
            lines.append(format_answer(ans, colour=colour, w=w, show_hits=False).rstrip())
        else:
            lines.append(_dim(f"  geen antwoord in de rapporten van {clean(gemeente)}", colour))
        lines.append("")
    if not answers:
        lines.append("Geen gemeenten in de index.")
    return "\n".join(lines).rstrip() + "\n"


def format_answer_eval(rep: Any, misses: int = 15) -> str:
    """Answer metrics of an eval report, per split, and per miss: gold, what was answered, gold's rank."""
    a = rep.answers
    lines = [
        f"  antwoord juist {a['answer_accuracy']:.3f} ({a['answerable']:.0f} beantwoordbaar)  "
        f"geen-antwoord precisie {a['no_answer_precision']:.3f} recall {a['no_answer_recall']:.3f} ({a['unanswerable']:.0f} onbeantwoordbaar)",
        f"  regel 'Antwoord:' getoond bij {a.get('headline_shown', 0.0):.2f} van de antwoorden, daarvan juist {a.get('headline_precision', 0.0):.3f}",
    ]
    for split, m in (getattr(rep, "answers_by_split", None) or {}).items():
        lines.append(
            f"  {split:<5} antwoord juist {m['answer_accuracy']:.3f} ({m['answerable']:.0f})  "
            f"geen-antwoord precisie {m['no_answer_precision']:.3f} recall {m['no_answer_recall']:.3f} ({m['unanswerable']:.0f})"
        )
    wrong = [r for r in rep.answer_rows if (r["answerable"] and not r.get("correct")) or (not r["answerable"] and r["answered"])]
    if wrong and misses > 0:
        lines.append(f"  {len(wrong)} missers (goud | gegeven antwoord | plek van de goudzin onder de kandidaten):")
        for r in wrong[:misses]:
            got = r.get("answer") or (
                f"(geen antwoord; kandidaat {r['candidate'][:80]!r}, zekerheid {r.get('confidence', 0.0):.2f})" if r.get("candidate") else "—"
            )
            rank = r.get("gold_rank")
            lines.append(
                f"    {r['id']:<6} {' '.join(clean(r['question']).split())[:60]}\n"
                f"           goud {str(r['gold'])[:60]!r} | gaf {' '.join(clean(got).split())[:90]!r} | plek {rank if rank else '-'}"
            )
    return "\n".join(lines)

