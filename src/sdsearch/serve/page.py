"""The page: what the templates show, built from the same JSON objects the API returns.

Every piece of report text and metadata reaches HTML through ``markupsafe.escape`` (or
Jinja's autoescape); the only markup added here is ``<mark>`` around matched words, the
answer's fact and the cited passage, wrapped around text that was escaped first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from ..render import SHORT_SPAN, snippet

CONTEXT_CHARS = 450  # report text shown before and after a passage under "toon context"


@lru_cache(maxsize=1)
def templates() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["decimal"] = lambda x, n=2: f"{float(x):.{n}f}".replace(".", ",")
    env.filters["thousands"] = lambda n: f"{int(n):,}".replace(",", ".")
    return env


def render(name: str, **context: Any) -> str:
    return templates().get_template(name).render(**context)


# -- links ---------------------------------------------------------------------------------


def is_pdf(source: str) -> bool:
    return source.lower().endswith(".pdf")


def reading_link(source: str, start: int | None = None, end: int | None = None) -> str:
    url = "/bron/" + quote(source, safe="/")
    if start is not None and end is not None:
        url += "?" + urlencode({"van": start, "tot": end}) + "#passage"
    return url


def source_link(source: str, start: int | None, end: int | None, page: int | None) -> tuple[str, str]:
    """Where a citation opens: a PDF at its page, anything else in the reading view at the passage."""
    if is_pdf(source):
        return "/bestand/" + quote(source, safe="/") + f"#page={page or 1}", f"Open de PDF op pagina {page or 1}"
    return reading_link(source, start, end), "Open in het rapport"


def page_url(q: str, gemeente: Sequence[str], jaar: str | None, types: Sequence[str], k: int | None = None) -> str:
    params: list[tuple[str, Any]] = [("q", q)]
    params += [("gemeente", g) for g in gemeente]
    if jaar:
        params.append(("jaar", jaar))
    params += [("type", t) for t in types]
    if k:
        params.append(("k", k))
    return "/?" + urlencode(params)


# -- marking text --------------------------------------------------------------------------


def highlight(text: str, words: Sequence[str]) -> Markup:
    """``text`` escaped, with whole-word, case-insensitive matches of ``words`` in ``<mark>``."""
    words = [w for w in words if w.strip()]
    if not words:
        return escape(text)
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?!\w)", re.I)
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(escape(text[pos : m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        pos = m.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def mark_span(sentence: str, span: str | None) -> Markup:
    """The sentence escaped, with the answer's fact (its first occurrence) marked."""
    if not span or span not in sentence:
        return escape(sentence)
    i = sentence.index(span)
    return escape(sentence[:i]) + Markup('<mark class="feit">') + escape(span) + Markup("</mark>") + escape(sentence[i + len(span) :])


# -- the answer and the sources ------------------------------------------------------------


def answer_view(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer card from ``ask --json``'s object: quotes (neighbouring sentences of one
    passage read as one quote) with the fact marked and one citation each."""
    quotes: list[dict[str, Any]] = []
    for c in answer.get("citations", []):
        last = quotes[-1] if quotes else None
        if last and last["passage_id"] == c["passage_id"] and 0 <= c["char_start"] - last["char_end"] <= 3:
            last["parts"].append(mark_span(c["sentence"], c.get("span")))
            last["char_end"] = c["char_end"]
            continue
        quotes.append(
            {
                "passage_id": c["passage_id"],
                "source": c["source"],
                "citation": c["citation"],
                "page": c.get("page"),
                "char_start": c["char_start"],
                "char_end": c["char_end"],
                "parts": [mark_span(c["sentence"], c.get("span"))],
            }
        )
    for q in quotes:
        q["html"] = Markup(" ").join(q.pop("parts"))
        q["href"], q["link_text"] = source_link(q["source"], q["char_start"], q["char_end"], q["page"])
    span = answer.get("answer_fact")
    return {
        "answered": answer.get("answer") is not None,
        "span": span if span and len(span) <= SHORT_SPAN else None,
        "confidence": answer.get("confidence", 0.0),
        "quotes": quotes,
    }


def hit_view(hit: dict[str, Any], matched: Sequence[str]) -> dict[str, Any]:
    text = " ".join(hit["text"].split())
    href, link_text = source_link(hit["source"], hit["char_start"], hit["char_end"], hit.get("page"))
    return {
        "rank": hit["rank"],
        "score": hit["score"],
        "citation": hit["citation"],
        "source": hit["source"],
        "snippet": highlight(snippet(text, list(matched), 400), matched),
        "matched": list(matched),
        "href": href,
        "link_text": link_text,
        "reading": reading_link(hit["source"], hit["char_start"], hit["char_end"]),
        "pdf": is_pdf(hit["source"]),
        "also_at": sorted({a["source"] for a in hit.get("also_at", [])}),
        "context": None,
        "context_note": None,
        "char_start": hit["char_start"],
        "char_end": hit["char_end"],
    }


def _cut_before(text: str, start: int) -> tuple[str, bool]:
    """Up to ``CONTEXT_CHARS`` of text before ``start``, from the start of a sentence or line."""
    a = max(0, start - CONTEXT_CHARS)
    piece = text[a:start]
    if a > 0:
        m = re.search(r"(?<=[.!?:;])\s+|\n", piece)
        if m:
            piece = piece[m.end() :]
    return piece, a > 0


def _cut_after(text: str, end: int) -> tuple[str, bool]:
    b = min(len(text), end + CONTEXT_CHARS)
    piece = text[end:b]
    if b < len(text):
        ends = [m.end() for m in re.finditer(r"[.!?](?=\s)|\n", piece)]
        if ends:
            piece = piece[: ends[-1]]
    return piece, b < len(text)


def context_view(doc_text: str, start: int, end: int) -> Markup:
    """The passage (marked) with the report text around it; line breaks kept."""
    before, more_before = _cut_before(doc_text, start)
    after, more_after = _cut_after(doc_text, end)
    return (
        (Markup("… ") if more_before else Markup(""))
        + escape(before)
        + Markup('<mark class="passage">')
        + escape(doc_text[start:end])
        + Markup("</mark>")
        + escape(after)
        + (Markup(" …") if more_after else Markup(""))
    )


# -- the reading view ----------------------------------------------------------------------


def reading_view(doc: Any, start: int | None, end: int | None) -> list[dict[str, Any]]:
    """The report's blocks as HTML pieces (headings, paragraphs, lists, tables, page marks);
    the part of ``[start, end)`` in each block is marked, the first with ``id="passage"``."""
    text = doc.text
    pieces: list[dict[str, Any]] = []
    page_starts = list(doc.page_starts)
    next_page = 1 if page_starts else None
    first_mark = True
    for b in doc.blocks:
        while next_page is not None and next_page <= len(page_starts) and page_starts[next_page - 1] <= b.start:
            pieces.append({"kind": "page", "page": next_page})
            next_page += 1
        seg_start, seg_end = b.start, b.end
        if start is not None and end is not None and start < seg_end and end > seg_start:
            a, z = max(start, seg_start), min(end, seg_end)
            mark_id = ' id="passage"' if first_mark else ""
            first_mark = False
            html = (
                escape(text[seg_start:a])
                + Markup(f'<mark class="passage"{mark_id}>')
                + escape(text[a:z])
                + Markup("</mark>")
                + escape(text[z:seg_end])
            )
        else:
            html = escape(text[seg_start:seg_end])
        level = min(6, max(2, b.level + 1)) if b.kind == "heading" else 0
        pieces.append({"kind": b.kind, "level": level, "html": html})
    return pieces
