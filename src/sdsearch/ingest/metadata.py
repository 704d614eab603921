"""Metadata of a document: gemeente, year, document type and title, and where each came from.

Sources, first wins, per field:

1. ``corpus.toml`` in the corpus folder ("corpus.toml");
2. the file and folder names, where they clearly say it: a known gemeente, a year, a type
   word ("bestandsnaam", "mapnaam"; "rapport (3).pdf" or a hash says nothing);
3. the file's own properties: PDF info, DOCX core properties, HTML ``<title>``/``<meta>``
   ("PDF-eigenschappen", ...);
4. the text: title page, running headers, "gemeente X", tense (``fromtext``; "tekst: ...");
5. for the title only: composed from type and year, else the file name.

``Document.meta_origin`` keeps the origin of each value, so ``sdsearch info`` can show it and
a wrong guess can be put right in corpus.toml, which wins without re-reading the file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IngestError
from . import fromtext, gemeenten
from .registry import Extracted
from .vocab import DOC_TYPES, YEAR, type_of

MANIFEST_NAME = "corpus.toml"
FIELDS = ("gemeente", "year", "doc_type", "title")

ORIGIN_MANIFEST = "corpus.toml"
ORIGIN_FILE_NAME = "bestandsnaam"
ORIGIN_FOLDER_NAME = "mapnaam"
_PROPERTIES = {
    ".pdf": "PDF-eigenschappen",
    ".docx": "DOCX-eigenschappen",
    ".html": "HTML-titel en -metadata",
    ".htm": "HTML-titel en -metadata",
    ".xhtml": "HTML-titel en -metadata",
}

__all__ = ["DOC_TYPES", "MANIFEST_NAME", "Resolved", "infer_metadata", "load_manifest", "meta_hints", "resolve"]


# --- names ------------------------------------------------------------------------------------


def _words(part: str) -> list[str]:
    return [w for w in re.split(r"[-_ .,()\[\]]+", part) if w]


def _hash_like(word: str) -> bool:
    """A token like "f66be3d21670fdbc" or "3f2a9c1e": letters and digits mixed, or long hex."""
    return len(word) >= 8 and (
        (any(c.isdigit() for c in word) and any(c.isalpha() for c in word)) or bool(re.fullmatch(r"[0-9a-fA-F]+", word))
    )


def names_metadata(source: str) -> dict[str, tuple[Any, str]]:
    """Gemeente, year and type that a relative path like ``Velsen/2022/jaarverslag.pdf`` clearly
    says, each with its origin ("bestandsnaam" or "mapnaam"). Unknown words give nothing."""
    parts = [p for p in re.split(r"[/\\]", source) if p]
    if not parts:
        return {}
    named = [(Path(parts[-1]).stem, ORIGIN_FILE_NAME)] + [(p, ORIGIN_FOLDER_NAME) for p in reversed(parts[:-1])]
    out: dict[str, tuple[Any, str]] = {}
    for part, origin in named:  # the file name first, then the folders from the nearest up
        words = [w for w in _words(part) if not _hash_like(w)]
        if "doc_type" not in out:
            for w in words:
                if t := type_of(w):
                    out["doc_type"] = (t, origin)
                    break
        if "year" not in out:
            for w in words:
                if m := YEAR.search(w):
                    out["year"] = (int(m.group(1)), origin)
                    break
        g = gemeenten.in_name(words)
        if g in gemeenten.AMBIGUOUS and not any(type_of(w) or YEAR.search(w) for w in words):
            g = None  # "best-practices.pdf" is not from Best; "Best jaarverslag 2022.pdf" is
        if "gemeente" not in out and g:
            out["gemeente"] = (g, origin)
    return out


def infer_metadata(source: str) -> dict[str, Any]:
    """Gemeente, year and document type a relative path clearly says (values only)."""
    return {k: v for k, (v, _) in names_metadata(source).items()}


# --- file properties ------------------------------------------------------------------------------


def meta_hints(blob: str, year_text: str = "") -> dict[str, Any]:
    """Gemeente, year and document type from a file's own metadata text (title, subject, author ...).

    The year is looked for in ``year_text`` (e.g. the title or a date field) first, then in
    ``blob``. A gemeente counts when written as "gemeente X", or when it is the only one named.
    """
    meta: dict[str, Any] = {}
    if m := YEAR.search(year_text) or YEAR.search(blob):
        meta["year"] = int(m.group(1))
    for w in re.findall(r"[A-Za-z]+", blob):
        if t := type_of(w):
            meta["doc_type"] = t
            break
    mentions = [m for m in gemeenten.find(blob) if not m.inhabitants]
    said = [m.name for m in mentions if re.search(r"gemeente\s*$", blob[: m.start], re.I)]
    if said:
        meta["gemeente"] = said[0]
    elif len({m.name for m in mentions}) == 1 and mentions[0].name not in gemeenten.AMBIGUOUS:
        meta["gemeente"] = mentions[0].name
    return meta


# --- corpus.toml ------------------------------------------------------------------------------


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


def _manifest_values(entry: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in FIELDS:
        value = entry.get(key)
        if key == "year" and value is not None:
            try:
                value = int(value)
            except (TypeError, ValueError, OverflowError):
                value = None
        elif value is not None:
            value = str(value).strip() or None
        if value is not None:
            out[key] = value
    return out


# --- all together -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    gemeente: str | None
    year: int | None
    doc_type: str | None
    title: str
    origins: tuple[tuple[str, str], ...]  # (field, origin) for every field that has a value


def resolve(source: str, entry: dict[str, Any], ex: Extracted) -> Resolved:
    """Settle gemeente, year, type and title of one document, each from the first source that has it."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}

    def take(key: str, value: Any, origin: str) -> None:
        if key not in values and value not in (None, ""):
            values[key] = value
            origins[key] = origin

    for key, value in _manifest_values(entry).items():
        take(key, value, ORIGIN_MANIFEST)
    for key, (value, origin) in names_metadata(source).items():
        take(key, value, origin)
    props = _PROPERTIES.get(Path(source).suffix.lower(), "documenteigenschappen")
    for key in ("gemeente", "year", "doc_type"):
        take(key, ex.meta.get(key), props)
    take("title", ex.title, props)
    if any(key not in values for key in FIELDS):
        view = fromtext.View(ex.text, ex.blocks, ex.page_starts, list(ex.running))
        if "doc_type" not in values and (found := fromtext.doc_type(view)):
            take("doc_type", *found)
        if "year" not in values and (found := fromtext.year(view, values.get("doc_type"))):
            take("year", *found)
        if "gemeente" not in values and (found := fromtext.gemeente(view)):
            take("gemeente", *found)
        if "title" not in values and (found := fromtext.title(view, values)):
            take("title", *found)
    take("title", Path(source).stem.replace("_", " ").replace("-", " "), ORIGIN_FILE_NAME)
    try:
        year = int(values["year"]) if "year" in values else None
    except (TypeError, ValueError, OverflowError):
        year = None
    return Resolved(
        gemeente=values.get("gemeente"),
        year=year,
        doc_type=values.get("doc_type"),
        title=str(values["title"]),
        origins=tuple((key, origins[key]) for key in FIELDS if key in values),
    )
