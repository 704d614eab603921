"""Reader for PDF reports (.pdf), built on pdfplumber (pdfminer.six).

pdfplumber was chosen over pypdf because it gives every word's position, font size and
font name and finds ruled tables, which is what reading order (two columns), headings
and table rows need; pypdf's plain text is faster but follows the content stream and
carries no sizes (see ``bench/ingest_pdf.py`` for the measured comparison).

Per page: ruled tables become "table" blocks (one row per line, cells joined with
" | "); the other words are grouped into lines; running headers/footers (lines that
repeat, digits ignored, at the top or bottom of many pages) and page numbers ("12",
"Pagina 3 van 40") are dropped; a gutter found in the middle of the page splits
two-column stretches, which are read column by column; lines in a bigger or bold font
become headings (level by size rank); other lines are joined into paragraphs and lists,
repairing words hyphenated at a line end. A paragraph may continue onto the next page;
``page_starts`` then points into it, so a passage can cite ``p. 3–4``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IngestError
from .blocks import TextBuilder, squash
from .metadata import meta_hints
from .registry import Extracted, reader

_PAGE_NUMBER = re.compile(
    r"^(?:(?:pagina|page|blz\.?|p\.)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?\s*(?:(?:van|of|/)\s*\d{1,4})?$|^[ivxlc]{1,6}$",
    re.I,
)
_BULLET = re.compile(r"^(?:[•●▪■◦·○‣∙*\-–]|\d{1,2}[.)]|[a-z][.)])(?:\s|$)")
_BOLD = re.compile(r"bold|black|heavy|semibold|demibold|extrabold", re.I)
_LIGATURES = str.maketrans({"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
# Pairs that Dutch spelling separates with a hyphen in compounds (klinkerbotsing): "re-integratie".
_VOWEL_CLASH = {"aa", "ae", "ai", "au", "ee", "ei", "eu", "ie", "ii", "oe", "oi", "oo", "ou", "ui", "uu"}
_KEEP_HYPHEN_BEFORE = {"en", "of", "tot", "en/of", "noch"}  # "jeugd- en gezinswerk"
_MARGIN_ZONE = 0.12  # top/bottom share of the page where running headers and footers live
_MAX_HEADING_CHARS = 160


@dataclass
class _Line:
    """One visual line (or, after the gutter split, one column's part of it)."""

    words: list[dict[str, Any]]
    top: float
    bottom: float
    x0: float
    x1: float
    size: float
    bold: bool
    text: str
    column: int = 0  # 0 = full width, 1 = left column, 2 = right column
    style: tuple[float, bool] | None = None  # heading style, set when the line is a heading


@dataclass
class _Table:
    top: float
    bottom: float
    rows: list[str]


@dataclass
class _Page:
    items: list[_Line | _Table] = field(default_factory=list)
    height: float = 0.0


def _is_bold(fontname: str) -> bool:
    return bool(_BOLD.search(fontname or ""))


def _make_line(words: list[dict[str, Any]]) -> _Line:
    words = sorted(words, key=lambda w: w["x0"])
    sizes: Counter[float] = Counter()
    bold_chars = 0
    for w in words:
        sizes[round(float(w["size"]) * 2) / 2] += len(w["text"])
        bold_chars += len(w["text"]) if _is_bold(w["fontname"]) else 0
    n_chars = sum(sizes.values()) or 1
    return _Line(
        words=words,
        top=min(w["top"] for w in words),
        bottom=max(w["bottom"] for w in words),
        x0=words[0]["x0"],
        x1=max(w["x1"] for w in words),
        size=sizes.most_common(1)[0][0],
        bold=bold_chars >= 0.9 * n_chars,
        text=" ".join(w["text"] for w in words),
    )


def _group_lines(words: list[dict[str, Any]]) -> list[_Line]:
    """Cluster words into lines by their baseline (``bottom``)."""
    lines: list[list[dict[str, Any]]] = []
    for w in sorted(words, key=lambda w: (round(w["bottom"], 1), w["x0"])):
        if lines:
            last = lines[-1]
            ref = last[0]
            if abs(w["bottom"] - ref["bottom"]) <= 0.4 * max(ref["size"], w["size"], 1.0):
                last.append(w)
                continue
        lines.append([w])
    return [_make_line(ws) for ws in lines]


def _inside(w: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    cx = (w["x0"] + w["x1"]) / 2
    cy = (w["top"] + w["bottom"]) / 2
    return box[0] - 1 <= cx <= box[2] + 1 and box[1] - 1 <= cy <= box[3] + 1


def _clean(s: str) -> str:
    return squash(s.translate(_LIGATURES))


def _gutter(lines: list[_Line], width: float) -> float | None:
    """The x of a column gutter that splits many lines, or None for a one-column page."""
    gap = max(8.0, width * 0.015)
    best_x, best_split = None, 0
    x = width * 0.3
    while x <= width * 0.7:
        split = cross = 0
        for ln in lines:
            left = right = covered = False
            for w in ln.words:
                if w["x1"] <= x - gap / 2:
                    left = True
                elif w["x0"] >= x + gap / 2:
                    right = True
                else:
                    covered = True
                    break
            if covered:
                cross += 1
            elif left and right:
                split += 1
        if split > best_split and split >= 3 and split >= cross * 0.5:
            best_x, best_split = x, split
        x += 2.0
    return best_x


def _split_columns(items: list[_Line | _Table], width: float) -> list[_Line | _Table]:
    """Reading order: runs of lines that a gutter splits are read left column, then right."""
    lines = [it for it in items if isinstance(it, _Line)]
    gx = _gutter(lines, width)
    if gx is None:
        return items
    out: list[_Line | _Table] = []
    run: list[_Line] = []

    def crosses(ln: _Line) -> bool:
        return any(w["x0"] < gx < w["x1"] for w in ln.words)

    def flush() -> None:
        parts_l: list[_Line] = []
        parts_r: list[_Line] = []
        n_split = 0
        for ln in run:
            lw = [w for w in ln.words if w["x1"] <= gx]
            rw = [w for w in ln.words if w["x0"] >= gx]
            n_split += bool(lw and rw)
            if lw:
                parts_l.append(_make_line(lw))
            if rw:
                parts_r.append(_make_line(rw))
        if n_split >= 2:
            for p in parts_l:
                p.column = 1
            for p in parts_r:
                p.column = 2
            out.extend(parts_l + parts_r)
        else:
            out.extend(run)
        run.clear()

    for it in items:
        if isinstance(it, _Line) and not crosses(it):
            run.append(it)
            continue
        flush()
        out.append(it)
    flush()
    return out


def _norm_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _join_hyphen(left: str, right: str) -> str:
    """How to join a line ending in ``left`` to the next line, which starts with ``right``.

    "\0": glue after dropping ``left``'s last char (a line-end hyphenation, "jeugd-|hulp");
    "-": glue keeping the hyphen ("Wmo-|maatwerk", "re-|integratie"); " ": a space.
    """
    if left.endswith("\xad"):
        return "\0"
    if not left.endswith("-") or left.endswith(" -"):
        return " "
    m = re.search(r"(\w+)-$", left)
    if not m or not right:
        return " "
    part = m.group(1).split("-")[-1]
    first = right.split()[0]
    if first.lower() in _KEEP_HYPHEN_BEFORE:
        return " "  # "jeugd- en gezinswerk"
    if not right[0].isalpha() or right[0].isupper() or any(c.isdigit() for c in part):
        return "-"
    if sum(c.isupper() for c in part) >= 2 or (part[0].isupper() and len(part) <= 4):
        return "-"  # acronyms: "Wmo-maatwerk", "GGD-regio"
    if (part[-1].lower() + right[0].lower()) in _VOWEL_CLASH:
        return "-"  # "re-integratie"
    return "\0"


def _ends_sentence(text: str) -> bool:
    return text.rstrip().endswith((".", "!", "?", ":", ";"))


def _continue_line(b: TextBuilder, text: str) -> None:
    """Join ``text`` to the open block's last line, repairing a line-end hyphenation."""
    sep = _join_hyphen(b.last_line, text)
    if sep == "\0":
        b.append(text, sep="", drop=1)  # drop the hyphen (or soft hyphen)
    else:
        b.append(text, sep=" " if sep == " " else "")


def _open_pdf(path: Path) -> Any:
    try:
        import pdfplumber
    except ImportError as e:  # pragma: no cover - a core dependency
        raise IngestError(f"voor PDF is pdfplumber nodig ({e})") from None
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise IngestError("geen PDF (geen %PDF-kop aan het begin)")
    try:
        pdf = pdfplumber.open(path)
        _ = pdf.pages  # parse the page tree now so broken files fail here
    except Exception as e:
        inner = e.args[0] if e.args and isinstance(e.args[0], Exception) else e
        name = type(inner).__name__
        if "Password" in name or "Encrypt" in name:
            raise IngestError("versleutelde PDF; sla hem onbeveiligd op (zonder wachtwoord)") from None
        msg = str(inner).splitlines()[0] if str(inner) else name
        raise IngestError(f"beschadigde PDF: {msg}") from None
    return pdf


def _file_meta(info: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Title and gemeente/year/doc_type hints from the PDF info dictionary."""

    def s(v: Any) -> str:
        if isinstance(v, bytes):
            for enc in ("utf-16", "latin-1"):
                try:
                    return v.decode(enc)
                except UnicodeDecodeError:
                    continue
        return str(v) if v is not None else ""

    title = " ".join(s(info.get("Title")).split())
    title = re.sub(r"^Microsoft (?:Word|PowerPoint) - ", "", title)
    title = re.sub(r"\.(docx?|pptx?|pdf|indd)$", "", title, flags=re.I).strip()
    if title.lower() in {"", "untitled", "naamloos", "titel", "title"}:
        title = ""
    blob = " ".join(s(info.get(k)) for k in ("Title", "Subject", "Author", "Keywords"))
    return title or None, meta_hints(blob, title)


@reader(".pdf")
def read_pdf(path: Path) -> Extracted:
    """Text, blocks and page starts of a PDF; IngestError for encrypted, corrupt or scanned files."""
    pdf = _open_pdf(path)
    try:
        return _extract(pdf)
    finally:
        pdf.close()


def _extract(pdf: Any) -> Extracted:
    """The passes, in order; each is a function below."""
    raw = _read_pages(pdf)
    font = _font_stats(raw.pages)
    keys = _running_lines(raw.pages, font.body)
    pages = [_reading_order(_drop_margins(pg, keys), pg.tables, pg.width, pg.height) for pg in raw.pages]
    running = _running_texts(raw.pages, keys)
    level_of = _mark_headings(pages, font)
    line_gap = _paragraph_gap(pages, font.body)
    b = _assemble(pages, level_of, line_gap)
    title, meta = _file_meta(pdf.metadata or {})
    notes = []
    if raw.image_only:
        shown = ", ".join(map(str, raw.image_only[:10])) + (" …" if len(raw.image_only) > 10 else "")
        notes.append(f"{len(raw.image_only)} pagina('s) zonder tekstlaag (gescand?): {shown}")
    return Extracted(
        text=b.text(), blocks=b.blocks, page_starts=b.page_starts, title=title, meta=meta, notes=notes, running=running
    )


# --- pass 1: pages → lines and ruled tables ---------------------------------------------


@dataclass
class _RawPage:
    lines: list[_Line]
    tables: list[_Table]
    width: float
    height: float


@dataclass
class _RawPages:
    pages: list[_RawPage]
    image_only: list[int]  # pages with pictures but no text: scanned pages in a text PDF


def _page_tables(page: Any) -> list[tuple[_Table, tuple[float, float, float, float]]]:
    """Ruled tables of a page (a frame around text is no table), with their boxes."""
    out = []
    if page.rects or page.lines:
        for t in page.find_tables():
            rows = t.extract()
            if len(rows) < 2 or max(len(r) for r in rows) < 2:
                continue  # a frame around text, not a table
            cleaned = [" | ".join(_clean(c) for c in r if c is not None) for r in rows]
            cleaned = [r for r in cleaned if r.strip(" |")]
            if cleaned:
                out.append((_Table(t.bbox[1], t.bbox[3], cleaned), t.bbox))
    return out


def _read_pages(pdf: Any) -> _RawPages:
    """Every page's lines of words (outside tables) and tables; refuses PDFs without text."""
    pages: list[_RawPage] = []
    n_chars = 0
    has_images = False
    image_only: list[int] = []
    for number, page in enumerate(pdf.pages, 1):
        found = _page_tables(page)
        boxes = [box for _, box in found]
        words = page.extract_words(extra_attrs=["size", "fontname"], keep_blank_chars=False)
        n_chars += sum(len(w["text"]) for w in words)
        has_images = has_images or bool(page.images)
        if not words and page.images:
            image_only.append(number)
        words = [w for w in words if w.get("upright", True) and not any(_inside(w, b) for b in boxes)]
        for w in words:
            w["text"] = w["text"].translate(_LIGATURES)
        pages.append(_RawPage(_group_lines(words), [t for t, _ in found], float(page.width), float(page.height)))
        page.close()
    if not pages:
        raise IngestError("PDF zonder pagina's")
    if n_chars < 20 * len(pages) and n_chars < 200:
        raise IngestError("geen tekstlaag (gescande PDF?)" if has_images or n_chars == 0 else "bijna geen tekst in de PDF")
    return _RawPages(pages, image_only)


# --- pass 2: font statistics --------------------------------------------------------------


@dataclass
class _Fonts:
    body: float  # the size most characters have
    bold_is_heading: bool  # bold is rare enough to mark headings


def _font_stats(pages: list[_RawPage]) -> _Fonts:
    sizes: Counter[float] = Counter()
    bold_chars = 0
    for pg in pages:
        for ln in pg.lines:
            sizes[ln.size] += len(ln.text)
            bold_chars += len(ln.text) if ln.bold else 0
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    return _Fonts(body, bold_chars < 0.3 * (sum(sizes.values()) or 1))


# --- pass 3: running headers and footers ----------------------------------------------------


def _margin_lines(lines: list[_Line], height: float) -> list[_Line]:
    """The first and last two lines of a page, where they lie in the top/bottom zone."""
    by_top = sorted(lines, key=lambda ln: ln.top)
    cand = by_top[:2] + by_top[-2:]
    out = []
    for ln in cand:
        if (ln.bottom <= height * _MARGIN_ZONE or ln.top >= height * (1 - _MARGIN_ZONE)) and ln not in out:
            out.append(ln)
    return out


def _running_lines(pages: list[_RawPage], body: float) -> set[str]:
    """Keys of running headers/footers: margin lines that repeat (digits ignored) on half the
    pages; a plain-text line on 3+ pages counts too (chapter headers), but not a bold or big
    one, which may be a recurring heading."""
    n_pages = len(pages)
    seen: Counter[str] = Counter()
    plain: set[str] = set()
    for pg in pages:
        margin = _margin_lines(pg.lines, pg.height)
        seen.update({_norm_key(ln.text) for ln in margin})
        plain.update(_norm_key(ln.text) for ln in margin if not ln.bold and ln.size < body * 1.15)
    need = max(2, math.ceil(0.5 * n_pages))
    return {k for k, c in seen.items() if c >= need or (c >= 3 and n_pages >= 6 and k in plain)}


def _running_texts(pages: list[_RawPage], keys: set[str]) -> list[str]:
    """The running headers and footers as first written (page numbers left out), for the metadata."""
    out: dict[str, str] = {}
    for pg in pages:
        for ln in _margin_lines(pg.lines, pg.height):
            key = _norm_key(ln.text)
            if key in keys and key not in out and not _PAGE_NUMBER.match(ln.text.strip()):
                out[key] = unicodedata.normalize("NFC", ln.text)
    return list(out.values())[:10]


def _drop_margins(pg: _RawPage, running: set[str]) -> list[_Line]:
    """The page's lines without running headers/footers and page numbers in its margins."""
    margin = {id(ln) for ln in _margin_lines(pg.lines, pg.height)}
    return [
        ln
        for ln in pg.lines
        if not (id(ln) in margin and (_norm_key(ln.text) in running or _PAGE_NUMBER.match(ln.text.strip())))
    ]


# --- pass 4: reading order (columns) ----------------------------------------------------------


def _reading_order(lines: list[_Line], tables: list[_Table], width: float, height: float) -> _Page:
    """Lines and tables top to bottom; stretches split by a column gutter read column by column."""
    items: list[_Line | _Table] = sorted([*lines, *tables], key=lambda it: it.top)
    return _Page(_split_columns(items, width), height)


# --- pass 5: headings by font -------------------------------------------------------------------


def _heading_style(ln: _Line, font: _Fonts) -> tuple[float, bool] | None:
    """A line's heading style: bigger than body text, or bold at body size; None for body text."""
    t = ln.text.strip()
    if len(t) > _MAX_HEADING_CHARS or not any(c.isalpha() for c in t) or t.endswith((",", ";")):
        return None
    if ln.size >= font.body * 1.15:
        return (ln.size, ln.bold)
    if font.bold_is_heading and ln.bold and ln.size >= font.body - 0.5 and not t.endswith(".") and len(t) <= 100:
        return (ln.size, True)
    return None


def _mark_headings(pages: list[_Page], font: _Fonts) -> dict[tuple[float, bool], int]:
    """Set ``style`` on heading lines; returns each style's level (by size rank, bold first)."""
    styles: set[tuple[float, bool]] = set()
    for pg in pages:
        for it in pg.items:
            if isinstance(it, _Line):
                it.style = _heading_style(it, font)
                if it.style:
                    styles.add(it.style)
    ranked = sorted(styles, key=lambda st: (-st[0], not st[1]))
    return {st: min(6, i + 1) for i, st in enumerate(ranked)}


def _paragraph_gap(pages: list[_Page], body: float) -> float:
    """The typical gap between lines of one paragraph, to tell paragraph breaks apart."""
    gaps = []
    for pg in pages:
        prev: _Line | None = None
        for it in pg.items:
            if isinstance(it, _Line) and it.style is None:
                if prev is not None and prev.column == it.column and it.top > prev.top:
                    gaps.append(it.top - prev.bottom)
                prev = it
            else:
                prev = None
    return sorted(gaps)[len(gaps) // 2] if gaps else body * 0.4


# --- pass 6: assembly into text and blocks --------------------------------------------------------


@dataclass
class _Layout:
    """What placing a line needs to know about its page and document."""

    level_of: dict[tuple[float, bool], int]
    line_gap: float
    col_left: dict[int, float]
    col_right: dict[int, float]


def _assemble(pages: list[_Page], level_of: dict[tuple[float, bool], int], line_gap: float) -> TextBuilder:
    """Text and blocks, page by page; ``page_starts`` points at each page's first line."""
    b = TextBuilder()
    for pg in pages:
        col_right: dict[int, float] = {}
        col_left: dict[int, float] = {}
        for it in pg.items:
            if isinstance(it, _Line):
                col_right[it.column] = max(col_right.get(it.column, 0.0), it.x1)
                col_left[it.column] = min(col_left.get(it.column, 1e9), it.x0)
        layout = _Layout(level_of, line_gap, col_left, col_right)
        first_on_page = True
        prev: _Line | None = None  # previous line in the open block, on this page
        for it in pg.items:
            if isinstance(it, _Table):
                b.start("table", it.rows[0])
                if first_on_page:
                    b.page_starts.append(b.line_start)
                    first_on_page = False
                for r in it.rows[1:]:
                    b.add_line(r)
                b.close()
                prev = None
            else:
                _place_line(b, it, prev, first_on_page, layout)
                prev = it
                if first_on_page:
                    b.page_starts.append(b.line_start)
                    first_on_page = False
        if first_on_page:  # an empty page
            b.page_starts.append(b.length)
    b.close()
    return b


def _place_line(b: TextBuilder, ln: _Line, prev: _Line | None, first_on_page: bool, layout: _Layout) -> None:
    """Start a new block with ``ln`` or continue the open one."""
    text = unicodedata.normalize("NFC", ln.text)
    if ln.style is not None:
        same = (
            b.open_kind == "heading"
            and prev is not None
            and prev.style == ln.style
            and prev.column == ln.column
            and 0 <= ln.top - prev.bottom <= ln.size * 0.8
        )
        if same:
            _continue_line(b, text)
        else:
            b.start("heading", text, layout.level_of[ln.style])
        return
    is_item = bool(_BULLET.match(text))
    if first_on_page and prev is None:
        # Continue a paragraph from the previous page when the sentence is unfinished.
        if b.open_kind == "paragraph" and not is_item and not _ends_sentence(b.last_line):
            _continue_line(b, text)
        else:
            b.start("list" if is_item else "paragraph", text)
        return
    if prev is None or prev.style is not None or b.open_kind not in ("paragraph", "list"):
        b.start("list" if is_item else "paragraph", text)
        return
    col_left, col_right = layout.col_left, layout.col_right
    gap = ln.top - prev.bottom
    new_col = ln.column != prev.column or gap < -1
    big_gap = gap > layout.line_gap + max(2.0, 0.35 * ln.size)
    width = col_right.get(ln.column, ln.x1) - col_left.get(ln.column, ln.x0)
    short_prev = prev.x1 < col_right.get(prev.column, prev.x1) - 0.15 * width and _ends_sentence(prev.text)
    if is_item:
        if b.open_kind == "list" and not big_gap and not new_col:
            b.add_line(text)
        else:
            b.start("list", text)
        return
    if b.open_kind == "list":
        # A continuation line of a list item is indented past the bullet.
        if not big_gap and not new_col and ln.x0 > col_left.get(ln.column, ln.x0) + 2:
            _continue_line(b, text)
        else:
            b.start("paragraph", text)
        return
    if new_col:
        if not _ends_sentence(b.last_line) and not big_gap:
            _continue_line(b, text)  # the paragraph runs on at the top of the next column
        else:
            b.start("paragraph", text)
        return
    if big_gap or short_prev:
        b.start("paragraph", text)
    else:
        _continue_line(b, text)
