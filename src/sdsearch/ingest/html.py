"""Reader for HTML pages (.html, .htm), e.g. the web exports of begrotingen and jaarstukken.

Only the main content is read: ``<main>``, else ``role="main"``, else ``<article>``, else
``<body>``. Navigation, site header/footer, asides, scripts, forms, cookie/consent
banners and "Terug naar navigatie" links are dropped. ``h1``–``h6`` become headings with
their level, ``p``-like elements paragraphs, ``ul``/``ol`` lists (one item per line) and
tables one row per line with cells joined by " | ".
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from ..errors import IngestError
from ..types import BlockKind
from .blocks import TextBuilder, squash
from .metadata import meta_hints
from .plain import BOILERPLATE
from .registry import Extracted, reader

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_DROP_TAGS = {"script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "svg", "canvas", "button"}
_DROP_TAGS |= {"select", "input", "dialog", "object", "embed", "head"}
_DROP_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog")
_BANNER_WORDS = ("cookie", "consent", "banner", "gdpr", "skiplink", "skip-link", "breadcrumb")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_PARAGRAPHS = {"p", "blockquote", "pre", "figcaption", "dt", "dd", "address", "caption", "summary", "legend"}
_LISTS = {"ul", "ol", "dl", "menu"}
# Elements that end a run of inline text; everything else (span, a, strong, ...) is inline.
_BLOCKISH = (
    set(_HEADINGS)
    | _PARAGRAPHS
    | _LISTS
    | {"div", "section", "article", "main", "header", "footer", "table", "li", "hr", "figure", "details", "body"}
    | {"tr", "td", "th", "thead", "tbody", "tfoot", "center", "fieldset"}
)


def decode_html(raw: bytes) -> tuple[str, list[str]]:
    """Decode by BOM, then the ``<meta charset>``; fall back to UTF-8 with replacement (noted)."""
    if not raw.strip():
        raise IngestError("leeg bestand")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(enc, errors="replace"), []
    m = _CHARSET.search(raw[:4096])
    declared = m.group(1).decode("ascii", "replace").lower() if m else None
    notes: list[str] = []
    if declared:
        try:
            enc = codecs.lookup("cp1252" if declared in ("iso-8859-1", "latin-1", "latin1") else declared).name
        except LookupError:
            notes.append(f"onbekende tekenset {declared!r}; gelezen als UTF-8")
        else:
            try:
                return raw.decode(enc), notes
            except UnicodeDecodeError as e:
                notes.append(f"geen geldige {declared} (foute byte op positie {e.start})")
    try:
        return raw.decode("utf-8"), notes
    except UnicodeDecodeError as e:
        notes.append(f"geen geldige UTF-8 (eerste foute byte op positie {e.start}); onleesbare bytes vervangen")
        return raw.decode("utf-8", errors="replace"), notes


def _is_banner(node: Any) -> bool:
    attrs = node.attributes
    if (attrs.get("role") or "").lower() in _DROP_ROLES:
        return True
    marks = f"{attrs.get('id') or ''} {attrs.get('class') or ''}".lower()
    return any(w in marks for w in _BANNER_WORDS)


def _chrome(node: Any, drop: set[str]) -> list[Any]:
    """The outermost elements under ``node`` to drop (never a descendant of another)."""
    out: list[Any] = []
    for child in node.iter():
        if child.tag in drop or _is_banner(child):
            out.append(child)
        else:
            out += _chrome(child, drop)
    return out


def _is_boilerplate(text: str) -> bool:
    return any(p.match(text) for p in BOILERPLATE)


def _raw_text(node: Any) -> str:
    """The text under ``node`` as written (``<br>`` counts as a space)."""
    parts: list[str] = []
    for child in node.traverse(include_text=True):
        if child.tag == "-text":
            parts.append(child.text_content or "")
        elif child.tag == "br":
            parts.append(" ")
    return "".join(parts)


def _inline_text(node: Any) -> str:
    """The text of ``node`` with whitespace squashed."""
    return squash(_raw_text(node))


class _Out(TextBuilder):
    def add(self, kind: BlockKind, lines: list[str], level: int = 0) -> None:
        """A block of ``lines`` (one per item or row), without empty and boilerplate lines."""
        lines = [ln for ln in lines if ln and not _is_boilerplate(ln)]
        if lines:
            self.block(kind, "\n".join(lines), level)


def _list_items(node: Any, depth: int = 0) -> list[str]:
    """One line per ``li`` (nested lists follow their parent item)."""
    out: list[str] = []
    for li in node.iter():
        if li.tag not in ("li", "dt", "dd"):
            if li.tag in _LISTS:
                out += _list_items(li, depth + 1)
            continue
        own: list[str] = []
        nested: list[str] = []
        for child in li.iter(include_text=True):
            if child.tag in _LISTS:
                nested += _list_items(child, depth + 1)
            elif child.tag == "-text":
                own.append(child.text_content or "")
            elif child.tag == "br":
                own.append(" ")
            elif child.tag in _BLOCKISH:
                own.append(" " + _raw_text(child) + " ")
            else:
                own.append(_raw_text(child))
        text = squash("".join(own))
        if text:
            out.append(text)
        out += nested
    return out


def _table_rows(node: Any) -> list[str]:
    rows = []
    for tr in node.css("tr"):
        # Skip rows of a nested table; they are read with their own table.
        parent = tr.parent
        while parent is not None and parent.tag != "table":
            parent = parent.parent
        if parent is not None and parent.mem_id != node.mem_id:
            continue
        cells = [_inline_text(c) for c in tr.iter() if c.tag in ("td", "th")]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _walk(node: Any, out: _Out) -> None:
    """Emit blocks for ``node``'s children in document order."""
    run: list[str] = []

    def flush() -> None:
        text = squash("".join(run))
        run.clear()
        if text:
            out.add("paragraph", [text])

    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            run.append(child.text_content or "")
            continue
        if tag in ("-comment", "br") or not tag or tag.startswith("-"):
            if tag == "br":
                run.append(" ")
            continue
        if tag not in _BLOCKISH:
            if tag == "a" and _is_boilerplate(_inline_text(child)):
                continue
            if any(c.tag in _BLOCKISH for c in child.traverse() if c is not child and c.tag != tag):
                flush()
                _walk(child, out)  # an inline element that wraps blocks (e.g. <a><div>..</div></a>)
            else:
                run.append(_raw_text(child))
            continue
        flush()
        if tag in _HEADINGS:
            out.add("heading", [_inline_text(child)], _HEADINGS[tag])
        elif tag in _PARAGRAPHS:
            if any(c.tag in ("p", "div", "ul", "ol", "table") for c in child.traverse() if c is not child):
                _walk(child, out)  # a blockquote holding paragraphs
            else:
                out.add("paragraph", [_inline_text(child)])
        elif tag in _LISTS:
            out.add("list", _list_items(child))
        elif tag == "table":
            caption = child.css_first("caption")
            if caption is not None:
                out.add("paragraph", [_inline_text(caption)])
            out.add("table", _table_rows(child))
        elif tag == "hr":
            continue
        else:
            _walk(child, out)
    flush()


def _page_meta(tree: Any) -> tuple[str | None, dict[str, Any]]:
    title_node = tree.css_first("title")
    title = squash(title_node.text()) if title_node is not None else ""
    metas: dict[str, str] = {}
    for m in tree.css("meta"):
        key = (m.attributes.get("name") or m.attributes.get("property") or "").lower()
        if key and m.attributes.get("content"):
            metas[key] = squash(m.attributes["content"] or "")
    blob = " ".join(
        [title]
        + [
            metas.get(k, "")
            for k in (
                "description",
                "keywords",
                "author",
                "og:site_name",
                "dc.title",
                "dcterms.title",
                "dc.creator",
                "dcterms.creator",
                "dcterms.publisher",
            )
        ]
    )
    meta = meta_hints(blob, f"{metas.get('dcterms.date') or metas.get('dc.date') or ''} {title}")
    return title or metas.get("og:title") or metas.get("dc.title") or None, meta


@reader(".html", ".htm", ".xhtml")
def read_html(path: Path) -> Extracted:
    """Main-content text and blocks of an HTML page; IngestError for an empty or non-HTML file."""
    from selectolax.lexbor import LexborHTMLParser

    html, notes = decode_html(path.read_bytes())
    if "\x00" in html[:65536]:
        raise IngestError("binaire gegevens, geen HTML")
    tree = LexborHTMLParser(html)
    title, meta = _page_meta(tree)
    root = tree.css_first("main") or tree.css_first('[role="main"]') or tree.css_first("article") or tree.body
    if root is None:
        raise IngestError("geen <body> in de HTML")
    # Site chrome: a page without <main> has its site header/footer in <body>; inside
    # <main>/<article> a <header> holds the page's own h1, so only footers go.
    drop = _DROP_TAGS | ({"header", "footer"} if root.tag == "body" else {"footer"})
    for node in _chrome(root, drop):
        node.decompose()
    out = _Out()
    _walk(root, out)
    return Extracted(text=out.text(), blocks=out.blocks, title=title, meta=meta, notes=notes)
