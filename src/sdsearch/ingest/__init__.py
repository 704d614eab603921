"""Ingest: files in a corpus folder → ``Document``s with text, blocks, pages and metadata.

One reader per format lives in its own module and registers itself with ``@reader``;
adding a format is one new file plus an import at the bottom of this one.
Metadata comes from the corpus manifest (``corpus.toml``), then from what the reader
found in the file, then from the file and folder names.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..types import Block, Document

MANIFEST_NAME = "corpus.toml"
# Files above this size are skipped unless a caller sets another limit: a 200 MB text
# export would take hours to embed and gigabytes to hold (``Settings.max_file_mb``).
MAX_FILE_MB = 50.0


class IngestError(Exception):
    """A file cannot be read; the message is one line that says why."""


@dataclass
class Extracted:
    """What a reader returns: text plus structure, before metadata is settled."""

    text: str
    blocks: list[Block]
    page_starts: list[int] = field(default_factory=list)
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # gemeente / year / doc_type hints
    notes: list[str] = field(default_factory=list)  # things the user should know (e.g. encoding)


ReaderFn = Callable[[Path], Extracted]
READERS: dict[str, ReaderFn] = {}


def reader(*suffixes: str) -> Callable[[ReaderFn], ReaderFn]:
    """Register a reader for file suffixes (lower case, with the dot)."""

    def register(fn: ReaderFn) -> ReaderFn:
        for s in suffixes:
            READERS[s.lower()] = fn
        return fn

    return register


@dataclass
class IngestReport:
    documents: list[Document]
    skipped: list[tuple[str, str]]  # (source, reason)
    notes: list[tuple[str, str]]  # (source, note)


# --- metadata -------------------------------------------------------------------------

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
        raise IngestError(f"cannot read corpus manifest {path}: {e}") from None
    out: dict[str, dict[str, Any]] = {}
    for entry in data.get("document", []):
        if not isinstance(entry, dict) or "path" not in entry:
            raise IngestError(f"{path}: every [[document]] needs a path")
        out[str(entry["path"]).replace("\\", "/")] = entry
    return out


def _title_from(source: str, meta: dict[str, Any]) -> str:
    if meta.get("doc_type") and meta.get("year"):
        return f"{str(meta['doc_type']).capitalize()} {meta['year']}"
    return Path(source).stem.replace("_", " ").replace("-", " ")


# --- discovery and reading ------------------------------------------------------------


def display_name(name: str) -> str:
    """A file name as text that can be printed and stored (undecodable bytes become �)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def discover(paths: Iterable[Path], errors: list[tuple[str, str]] | None = None) -> list[tuple[Path, Path]]:
    """Files to ingest as ``(root, file)`` pairs, sorted; folders are walked without following links.

    Folders that cannot be listed are added to ``errors`` as ``(folder, reason)``. A path
    given by name that is neither a file nor a folder (a broken link, a pipe) is returned
    as a file, so reading it reports why it was skipped.
    """
    found: list[tuple[Path, Path]] = []
    for p in paths:
        p = Path(p)
        if p.is_file():
            found.append((p.parent, p))
        elif p.is_dir():

            def unreadable(e: OSError, root: Path = p) -> None:
                if errors is not None and e.filename is not None:
                    where = Path(e.filename)
                    rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
                    errors.append((display_name(rel or "."), f"cannot read folder: {e.strerror or e}"))

            for dirpath, dirnames, filenames in os.walk(p, onerror=unreadable, followlinks=False):
                links = {d for d in dirnames if not d.startswith(".") and os.path.islink(os.path.join(dirpath, d))}
                if errors is not None:
                    for d in sorted(links):  # not followed: a link can loop or lead outside the corpus
                        rel = (Path(dirpath) / d).relative_to(p).as_posix()
                        errors.append((display_name(rel), "link to a folder; links to folders are not followed"))
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in links)
                for name in sorted(filenames):
                    f = Path(dirpath) / name
                    if name.startswith(".") or name == MANIFEST_NAME:
                        continue
                    if f.suffix.lower() in READERS:
                        found.append((p, f))
        elif p.is_symlink() or os.path.lexists(p):
            found.append((p.parent, p))
        else:
            raise IngestError(f"no such file or folder: {p}")
    return found


def _check_file(path: Path, max_bytes: int | None) -> None:
    """Refuse what is not a regular, readable file of a sensible size, before reading it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise IngestError("broken link (its target does not exist)" if path.is_symlink() else "file disappeared") from None
    except OSError as e:
        raise IngestError(f"cannot read file: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IngestError("a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        kind = "a named pipe" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise IngestError(f"not a regular file ({kind})")
    if max_bytes is not None and st.st_size > max_bytes:
        mb = st.st_size / 2**20
        raise IngestError(
            f"too large ({mb:.0f} MB; the limit is {max_bytes / 2**20:.3g} MB, raise it with SDSEARCH_MAX_FILE_MB)"
            if mb >= 10
            else f"too large ({mb:.2g} MB; the limit is {max_bytes / 2**20:.3g} MB, raise it with SDSEARCH_MAX_FILE_MB)"
        )
    if not os.access(path, os.R_OK):
        raise IngestError("cannot read file: permission denied")


def read_document(
    path: Path,
    root: Path,
    manifest: dict[str, dict[str, Any]] | None = None,
    max_bytes: int | None = None,
) -> tuple[Document, list[str]]:
    """Read one file into a ``Document`` (metadata from manifest, then file, then name).

    Raises ``IngestError`` (one line) for any file that cannot be read: not a regular
    file, larger than ``max_bytes``, unreadable, binary, or broken for its reader.
    """
    fn = READERS.get(path.suffix.lower())
    if fn is None:
        raise IngestError(f"no reader for {path.suffix or 'files without a suffix'}")
    source = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise IngestError("file name is not valid UTF-8; rename the file") from None
    _check_file(path, max_bytes)
    try:
        raw = path.read_bytes()
    except MemoryError:
        raise IngestError("too large to read into memory") from None
    except OSError as e:
        raise IngestError(f"cannot read file: {e.strerror or e}") from None
    content_hash = hashlib.sha256(raw).hexdigest()
    suffix = path.suffix.lower()
    try:
        ex = extract_cache.load(content_hash, suffix)
        if ex is None:
            ex = fn(path)
            extract_cache.save(content_hash, suffix, ex)
    except IngestError:
        raise
    except MemoryError:
        raise IngestError(f"too large to parse as {path.suffix}") from None
    except Exception as e:  # a reader's library failed on a broken file
        raise IngestError(f"cannot parse {path.suffix} file: {type(e).__name__}: {e}".splitlines()[0][:300]) from None
    entry = (manifest or {}).get(source, {})
    inferred = infer_metadata(source)
    meta: dict[str, Any] = {}
    for key in ("gemeente", "year", "doc_type"):
        meta[key] = entry.get(key) or ex.meta.get(key) or inferred.get(key)
    if meta["year"] is not None:
        try:
            meta["year"] = int(meta["year"])
        except (TypeError, ValueError, OverflowError):
            meta["year"] = None
    title = entry.get("title") or ex.title or _title_from(source, meta)
    doc = Document(
        doc_id=source,
        source=source,
        text=ex.text,
        title=str(title),
        gemeente=meta["gemeente"],
        year=meta["year"],
        doc_type=meta["doc_type"],
        blocks=tuple(ex.blocks),
        page_starts=tuple(ex.page_starts),
        content_hash=content_hash,
    )
    return doc, ex.notes


def ingest(paths: Iterable[Path], root: Path | None = None, max_file_mb: float | None = MAX_FILE_MB) -> IngestReport:
    """Read every supported file under ``paths``; unreadable files are skipped and reported.

    Files above ``max_file_mb`` megabytes are skipped (None or 0: no limit). Raises
    ``IngestError`` only for a path that does not exist or a broken ``corpus.toml``.
    """
    skipped: list[tuple[str, str]] = []
    pairs = discover(paths, errors=skipped)
    max_bytes = int(max_file_mb * 2**20) if max_file_mb else None
    manifests: dict[Path, dict[str, dict[str, Any]]] = {}
    docs: list[Document] = []
    notes: list[tuple[str, str]] = []
    for base, f in pairs:
        r = root or base
        if r not in manifests:
            manifests[r] = load_manifest(r)
        source = display_name(f.relative_to(r).as_posix() if f.is_relative_to(r) else f.name)
        try:
            doc, doc_notes = read_document(f, r, manifests[r], max_bytes=max_bytes)
        except IngestError as e:
            skipped.append((source, str(e)))
            continue
        if not doc.blocks:
            skipped.append((source, "no text found"))
            continue
        docs.append(doc)
        notes.extend((source, n) for n in doc_notes)
    return IngestReport(docs, skipped, notes)


# Readers register themselves on import.
from . import cache as extract_cache  # noqa: E402
from . import docx as _docx  # noqa: E402,F401
from . import html as _html  # noqa: E402,F401
from . import pdf as _pdf  # noqa: E402,F401
from . import text as _text  # noqa: E402,F401
