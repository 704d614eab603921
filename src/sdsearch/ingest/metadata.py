"""Metadata of a document: gemeente, year, document type and title, and where each came from.

Sources, first wins: the corpus manifest (``corpus.toml``), then the file's own
properties (PDF info, DOCX core properties, HTML ``<title>``/``<meta>``), then the file
and folder names.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ..errors import IngestError

MANIFEST_NAME = "corpus.toml"

DOC_TYPES = {
    "jaarstukken": "jaarstukken",
    "jaarrekening": "jaarstukken",
    "jaarverslag": "jaarverslag",
    "programmabegroting": "programmabegroting",
    "begroting": "programmabegroting",
    "voorjaarsnota": "voorjaarsnota",
    "kadernota": "kadernota",
    "bestuursrapportage": "bestuursrapportage",
    "burap": "bestuursrapportage",
    "programmaverantwoording": "jaarverslag",
}
_YEAR = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)")
_FILLER = {"sociaal", "domein", "programma", "hoofdstuk", "deel", "concept", "definitief", "versie", "def", "final", "nl"}


def infer_metadata(source: str) -> dict[str, Any]:
    """Guess gemeente, year and document type from a relative path like ``Velsen/2022/jaarverslag.pdf``."""
    parts = [p for p in re.split(r"[/\\]", source) if p]
    stem_parts = parts[:-1] + [Path(parts[-1]).stem] if parts else []
    words = [w for p in stem_parts for w in re.split(r"[-_ .]+", p) if w]
    meta: dict[str, Any] = {}
    for w in words:
        lw = w.lower()
        if "doc_type" not in meta and lw in DOC_TYPES:
            meta["doc_type"] = DOC_TYPES[lw]
    years = [int(m.group(1)) for p in stem_parts for m in _YEAR.finditer(p)]
    if years:
        meta["year"] = years[0]
    for w in words:
        lw = w.lower()
        if lw in DOC_TYPES or lw in _FILLER or _YEAR.fullmatch(w) or not w.isalpha() or len(w) < 3:
            continue
        meta["gemeente"] = w[:1].upper() + w[1:]
        break
    return meta


_GEMEENTE_IN_TEXT = re.compile(r"\b[Gg]emeente\s+([A-Z][\w'-]+(?:\s+[a-z]{1,3}\s+[A-Z][\w'-]+)?)")


def meta_hints(blob: str, year_text: str = "") -> dict[str, Any]:
    """Gemeente, year and document type from a file's own metadata text (title, subject, ...).

    The year is looked for in ``year_text`` (e.g. the title or a date field) first, then in ``blob``.
    """
    meta: dict[str, Any] = {}
    if m := _YEAR.search(year_text) or _YEAR.search(blob):
        meta["year"] = int(m.group(1))
    for w in re.findall(r"[A-Za-z]+", blob.lower()):
        if w in DOC_TYPES:
            meta["doc_type"] = DOC_TYPES[w]
            break
    if m := _GEMEENTE_IN_TEXT.search(blob):
        meta["gemeente"] = m.group(1)
    return meta


def load_manifest(root: Path) -> dict[str, dict[str, Any]]:
    """Read ``corpus.toml`` in ``root``: a mapping from relative path to its metadata."""
    path = root / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise IngestError(f"kan {path} niet lezen: {' '.join(str(e).split())}") from None
    out: dict[str, dict[str, Any]] = {}
    for entry in data.get("document", []):
        if not isinstance(entry, dict) or "path" not in entry:
            raise IngestError(f"{path}: elke [[document]] heeft een path nodig")
        out[str(entry["path"]).replace("\\", "/")] = entry
    return out


def title_from(source: str, meta: dict[str, Any]) -> str:
    """A title when nothing better is known: "Jaarverslag 2022", else the file name."""
    if meta.get("doc_type") and meta.get("year"):
        return f"{str(meta['doc_type']).capitalize()} {meta['year']}"
    return Path(source).stem.replace("_", " ").replace("-", " ")
