"""Readers for plain-text exports (.txt) and Markdown (.md).

Municipal report exports put each paragraph on one long line and headings on short
lines without a final full stop. Web exports add boilerplate ("Terug naar navigatie -
...", "Deze pagina is gebouwd op ...") that must never become a passage; a heading that
is followed by its "Terug naar navigatie" line is a top-level section of the site.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import IngestError
from ..types import Block
from .registry import Extracted, reader

BOILERPLATE = [
    re.compile(r"^\s*Terug naar navigatie\b.*$", re.I),
    re.compile(r"^\s*Deze pagina is gebouwd op\b.*$", re.I),
    re.compile(r"^\s*(Naar boven|Terug naar boven|Print deze pagina|Deel deze pagina)\s*$", re.I),
]
_NAV = re.compile(r"^\s*Terug naar navigatie\s*[-–]\s*(.+?)\s*$", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-•*–·▪◦]|\d{1,2}[.)]|[a-z][)])\s+")
_NUMBER_TOKEN = re.compile(r"^[€(]?[-+]?\d[\d.,]*%?\)?$")
_MAX_HEADING = 100


def decode(raw: bytes, name: str) -> tuple[str, list[str]]:
    """Decode file bytes as UTF-8, else Windows-1252 (with a note); refuse binary data."""
    if not raw.strip():
        raise IngestError("leeg bestand")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark (Windows "Unicode")
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise IngestError("begint als UTF-16 maar is geen geldige UTF-16") from None
        if not text.strip():
            raise IngestError("leeg bestand")
        if _mostly_controls(text):
            raise IngestError("binaire gegevens, geen tekst")
        return text, ["gelezen als UTF-16 (byte-order mark)"]
    if b"\x00" in raw[:65536]:
        raise IngestError("binaire gegevens, geen tekst (NUL-bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        first_bad = e.start
    else:
        if _mostly_controls(text):
            raise IngestError("binaire gegevens, geen tekst")
        return text, []
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise IngestError(f"geen geldige UTF-8 (eerste foute byte op positie {first_bad}) en geen Windows-1252") from None
    if _mostly_controls(text):
        raise IngestError("binaire gegevens, geen tekst")
    return text, [f"geen UTF-8 (eerste foute byte op positie {first_bad}); gelezen als Windows-1252"]


def _mostly_controls(text: str) -> bool:
    """Many control characters (over 1% of the first 64k, and more than a few colour codes
    would bring): binary data that happened to decode."""
    head = text[:65536]
    return sum(1 for ch in head if ord(ch) < 32 and ch not in "\r\n\t\f") > max(16, len(head) * 0.01)


def _is_boilerplate(line: str) -> bool:
    return any(p.match(line) for p in BOILERPLATE)


def _numeric_tail(line: str) -> bool:
    toks = line.split()
    return bool(toks) and bool(_NUMBER_TOKEN.match(toks[-1]))


def _numeric_count(line: str) -> int:
    return sum(1 for t in line.split() if _NUMBER_TOKEN.match(t))


def _looks_like_heading(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > _MAX_HEADING or _LIST_ITEM.match(line):
        return False
    if s[-1] in ".,;:…" or s.endswith("..."):
        return False
    return s[0].isupper() or s[0].isdigit() or s[0] in "‘'\"“("


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line's content, without the line break."""
    spans = []
    pos = 0
    for m in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n|$)", text):
        line = m.group(0)
        if not line:
            break
        content = line.rstrip("\r\n")
        spans.append((pos, pos + len(content)))
        pos += len(line)
    return spans


def parse_plain(text: str) -> list[Block]:
    """Blocks of a plain-text export: headings (with inferred levels), paragraphs, lists, tables."""
    lines = [(s, e, text[s:e]) for s, e in _line_spans(text)]
    nav_titles = {m.group(1).strip().lower() for _, _, ln in lines if (m := _NAV.match(ln))}
    kinds: list[str] = []
    for _, _, ln in lines:
        s = ln.strip()
        if not s:
            kinds.append("blank")
        elif _is_boilerplate(ln):
            kinds.append("boilerplate")
        elif _LIST_ITEM.match(ln):
            kinds.append("list")
        else:
            kinds.append("text")
    # Table rows: short lines with numbers that sit next to other such lines (no blank between).
    def row_like(i: int) -> bool:
        ln = lines[i][2].strip()
        return kinds[i] == "text" and len(ln) <= 200 and ((_numeric_tail(ln) and ln[-1:] != ".") or _numeric_count(ln) >= 3)

    rows = [row_like(i) for i in range(len(lines))]
    for i in range(len(lines)):
        if rows[i] and (_numeric_count(lines[i][2]) >= 3 or (i > 0 and rows[i - 1]) or (i + 1 < len(lines) and rows[i + 1])):
            kinds[i] = "table"
    for i in range(len(lines)):
        if kinds[i] == "text" and _looks_like_heading(lines[i][2]):
            kinds[i] = "heading"

    blocks: list[Block] = []
    leaf_level = 1
    i = 0
    n = len(lines)
    while i < n:
        k = kinds[i]
        if k in ("blank", "boilerplate"):
            i += 1
            continue
        if k == "heading":
            # A run of headings with only blank/boilerplate lines between them: the last is
            # the most specific. Headings confirmed by a navigation line are top level.
            run = [i]
            j = i + 1
            while j < n and kinds[j] in ("blank", "boilerplate", "heading"):
                if kinds[j] == "heading":
                    run.append(j)
                j += 1
            levels: list[int] = []
            nav_seen = any(lines[r][2].strip().lower() in nav_titles for r in run)
            for pos, r in enumerate(run):
                if lines[r][2].strip().lower() in nav_titles:
                    lvl = 1
                elif len(run) == 1:
                    lvl = max(2, leaf_level)
                elif nav_seen and pos < max(p for p, rr in enumerate(run) if lines[rr][2].strip().lower() in nav_titles):
                    lvl = 1  # a title line above a top-level section heading
                else:
                    lvl = (levels[-1] + 1) if levels else 2
                levels.append(lvl)
            for r, lvl in zip(run, levels, strict=True):
                s, e, ln = lines[r]
                lead = len(ln) - len(ln.lstrip())
                blocks.append(Block("heading", s + lead, s + len(ln.rstrip()), lvl))
            leaf_level = levels[-1]
            i = j
            continue
        # Paragraph-like line(s): group consecutive lines of the same kind (lists, tables).
        j = i + 1
        if k in ("list", "table"):
            while j < n and kinds[j] == k:
                j += 1
        s = lines[i][0] + (len(lines[i][2]) - len(lines[i][2].lstrip()))
        last = lines[j - 1]
        e = last[0] + len(last[2].rstrip())
        blocks.append(Block("paragraph" if k == "text" else k, s, e))  # type: ignore[arg-type]
        i = j
    return blocks


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")


def parse_markdown(text: str) -> list[Block]:
    """Blocks of Markdown: ATX headings with their level, paragraphs, lists, tables."""
    blocks: list[Block] = []
    lines = [(s, e, text[s:e]) for s, e in _line_spans(text)]
    i, n = 0, len(lines)
    while i < n:
        s, e, ln = lines[i]
        if not ln.strip():
            i += 1
            continue
        m = _MD_HEADING.match(ln)
        if m:
            hs = s + m.start(2)
            blocks.append(Block("heading", hs, hs + len(m.group(2)), len(m.group(1))))
            i += 1
            continue
        if _MD_FENCE.match(ln):
            j = i + 1
            while j < n and not _MD_FENCE.match(lines[j][2]):
                j += 1
            end_line = lines[min(j, n - 1)]
            blocks.append(Block("paragraph", s, end_line[1]))
            i = j + 1
            continue
        kind = "table" if ln.lstrip().startswith("|") else "list" if _LIST_ITEM.match(ln) else "paragraph"
        j = i + 1
        while j < n and lines[j][2].strip() and not _MD_HEADING.match(lines[j][2]) and not _MD_FENCE.match(lines[j][2]):
            nxt = lines[j][2]
            nkind = "table" if nxt.lstrip().startswith("|") else "list" if _LIST_ITEM.match(nxt) else "paragraph"
            if nkind != kind and not (kind == "list" and nkind == "paragraph" and nxt.startswith((" ", "\t"))):
                break
            j += 1
        lead = len(ln) - len(ln.lstrip())
        blocks.append(Block(kind, s + lead, lines[j - 1][0] + len(lines[j - 1][2].rstrip())))  # type: ignore[arg-type]
        i = j
    return blocks


@reader(".txt", ".text")
def read_txt(path: Path) -> Extracted:
    text, notes = decode(path.read_bytes(), path.name)
    return Extracted(text=text, blocks=parse_plain(text), notes=notes)


@reader(".md", ".markdown")
def read_md(path: Path) -> Extracted:
    text, notes = decode(path.read_bytes(), path.name)
    return Extracted(text=text, blocks=parse_markdown(text), notes=notes)
