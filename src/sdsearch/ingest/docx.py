"""Reader for Word documents (.docx), built on python-docx.

Paragraphs and tables are read in body order (the body's XML children, content
controls included). Headings come from the style name or the style it is based on
("Heading 2", "Kop 2" → level 2; "Title"/"Titel" → level 1); a short paragraph that is
bold throughout is a heading one level below the last styled heading. List paragraphs
(a list style or Word numbering) form list blocks, one item per line; tables are one
row per line with cells joined by " | ". Word stores no fixed pages, but where it saved
where it last broke pages (``lastRenderedPageBreak``), or the author put hard page
breaks, those give ``page_starts``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import IngestError
from .blocks import TextBuilder, squash
from .metadata import meta_hints
from .registry import Extracted, reader

_HEADING_STYLE = re.compile(r"^(?:heading|kop)\s*([1-9])\b", re.I)
_TITLE_STYLE = re.compile(r"^(?:title|titel)$", re.I)
_LIST_STYLE = re.compile(r"\b(?:list|lijst|opsomming|bullet)", re.I)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MAX_BOLD_HEADING = 100


def _style_level(style: Any) -> int | None:
    """Heading level of a paragraph style or the styles it is based on; 0 for Title."""
    for _ in range(6):
        if style is None:
            return None
        name = style.name or ""
        if m := _HEADING_STYLE.match(name):
            return int(m.group(1))
        if _TITLE_STYLE.match(name):
            return 0
        style = style.base_style
    return None


def _is_list(par: Any) -> bool:
    ppr = par._p.pPr
    if ppr is not None and ppr.numPr is not None:
        return True
    style = par.style
    return bool(style is not None and _LIST_STYLE.search(style.name or ""))


def _all_bold(par: Any) -> bool:
    runs = [r for r in par.runs if r.text.strip()]
    if not runs:
        return False
    style_bold = bool(par.style is not None and par.style.font is not None and par.style.font.bold)
    return all(r.bold or (r.bold is None and style_bold) for r in runs)


def _breaks(el: Any, rendered: bool) -> tuple[str, list[int]]:
    """A paragraph's raw text and the raw offsets of its page breaks."""
    raw: list[str] = []
    at: list[int] = []
    n = 0
    for node in el.iter():
        tag = node.tag
        if tag == f"{_W}t" and node.text:
            raw.append(node.text)
            n += len(node.text)
        elif tag in (f"{_W}tab", f"{_W}cr") or (tag == f"{_W}br" and node.get(f"{_W}type") != "page"):
            raw.append(" ")
            n += 1
        elif rendered and tag == f"{_W}lastRenderedPageBreak":
            at.append(n)
        elif not rendered and tag == f"{_W}br" and node.get(f"{_W}type") == "page":
            at.append(n)
    return "".join(raw), at


class _Out(TextBuilder):
    """Blocks in body order; list paragraphs in a row share one list block, one item per line."""

    def __init__(self) -> None:
        super().__init__()
        self.page_starts = [0]

    def item(self, text: str) -> int:
        """A list paragraph: the next line of the open list, or a new list."""
        return self.add_line(text) if self.open_kind == "list" else self.start("list", text)

    def page_break(self, at: int) -> None:
        if at > self.page_starts[-1]:
            self.page_starts.append(at)


def _body_items(body: Any) -> list[Any]:
    """Paragraph and table elements of the body in order, looking inside content controls."""
    out = []
    for el in body.iterchildren():
        if el.tag in (f"{_W}p", f"{_W}tbl"):
            out.append(el)
        elif el.tag == f"{_W}sdt":
            content = el.find(f"{_W}sdtContent")
            if content is not None:
                out += _body_items(content)
    return out


@reader(".docx")
def read_docx(path: Path) -> Extracted:
    """Text, blocks (and page starts where Word recorded them) of a .docx file."""
    import zipfile

    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as e:  # pragma: no cover - a core dependency
        raise IngestError(f"voor DOCX is python-docx nodig ({e})") from None
    if not zipfile.is_zipfile(path):
        raise IngestError("geen DOCX-bestand (geen zip-archief; een oud .doc-bestand of versleuteld?)")
    try:
        document = docx.Document(str(path))
    except Exception as e:
        raise IngestError(f"beschadigde DOCX: {type(e).__name__}: {e}".splitlines()[0]) from None
    body = document.element.body
    items = _body_items(body)
    rendered = any(True for _ in body.iter(f"{_W}lastRenderedPageBreak"))
    out = _Out()
    last_level = 0
    for el in items:
        if el.tag == f"{_W}tbl":
            rows = []
            for row in Table(el, document).rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) in seen:
                        continue  # a merged cell repeats in every grid column it spans
                    seen.add(id(cell._tc))
                    cells.append(squash(cell.text))
                if any(cells):
                    rows.append(" | ".join(cells))
            out.close()
            if rows:
                out.block("table", "\n".join(rows))
            continue
        par = Paragraph(el, document)
        raw, breaks = _breaks(el, rendered)
        text = squash(raw)
        if not text:
            if breaks:
                out.page_break(out.length + (2 if out.length else 0))
            continue
        level = _style_level(par.style)
        if level is not None:
            start = out.block("heading", text, max(1, level))
            last_level = max(1, level)
        elif _is_list(par):
            start = out.item(text)
        elif _all_bold(par) and len(text) <= _MAX_BOLD_HEADING and not text.endswith((".", ":", ";", ",")):
            start = out.block("heading", text, min(6, last_level + 1))
        else:
            start = out.block("paragraph", text)
        for b in breaks:
            out.page_break(start + min(len(text), len(squash(raw[:b]))))
    cp = document.core_properties
    title = squash(cp.title or "") or None
    blob = " ".join(squash(x or "") for x in (cp.title, cp.subject, cp.keywords, cp.author, cp.category))
    meta = meta_hints(blob, title or "")
    out.close()
    text = out.text()
    page_starts = out.page_starts if len(out.page_starts) > 1 else []
    return Extracted(text=text, blocks=out.blocks, page_starts=page_starts, title=title, meta=meta)
