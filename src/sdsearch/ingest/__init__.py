"""Ingest: files in a corpus folder → ``Document``s with text, blocks, pages and metadata.

The rooms of this package:

* ``discover``  — which files a folder holds; refusing non-files, huge and unreadable files
* ``registry``  — ``Extracted`` (what a reader returns) and the readers by suffix
* ``blocks``    — the text-and-blocks builder the PDF, HTML and DOCX readers share
* ``plain``, ``pdf``, ``html``, ``docx`` — one reader per format
* ``cache``     — extracted documents cached by content hash
* ``metadata``  — gemeente / year / type / title and their origins: corpus.toml, names, properties,
  then the text (``fromtext``, with ``gemeenten`` and ``vocab``)

This module runs them: ``read_document`` for one file, ``iter_documents`` for folders one
document at a time (the build holds one document's text at a time), ``ingest`` for folders
into one list (every document in memory: for tests, scripts and one-file callers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IngestError
from ..types import Document
from . import cache as extract_cache
from . import docx as _docx  # noqa: F401  (readers register themselves on import)
from . import html as _html  # noqa: F401
from . import pdf as _pdf  # noqa: F401
from . import plain as _plain  # noqa: F401
from .discover import check_file, discover, display_name, os_reason
from .metadata import DOC_TYPES, MANIFEST_NAME, infer_metadata, load_manifest, meta_hints, resolve
from .registry import READERS, Extracted, reader

# Files above this size are skipped unless a caller sets another limit: a 200 MB text
# export would take hours to embed and gigabytes to hold (``Settings.max_file_mb``).
MAX_FILE_MB = 50.0

__all__ = [
    "DOC_TYPES",
    "MANIFEST_NAME",
    "MAX_FILE_MB",
    "READERS",
    "Extracted",
    "IngestError",
    "IngestReport",
    "discover",
    "display_name",
    "infer_metadata",
    "ingest",
    "iter_documents",
    "load_manifest",
    "meta_hints",
    "read_document",
    "reader",
]


@dataclass
class IngestReport:
    """What ``ingest`` read: the documents, and the files skipped and notes with their reason.

    ``iter_documents`` fills ``skipped`` and ``notes`` of a report as it goes and leaves
    ``documents`` to its caller."""

    documents: list[Document]
    skipped: list[tuple[str, str]]  # (source, reason)
    notes: list[tuple[str, str]]  # (source, note)


def _extract(path: Path, content_hash: str, use_cache: bool, cache_dir: Path | None) -> Extracted:
    """Run the file's reader (or take its result from the cache); any failure becomes an ``IngestError``."""
    fn = READERS[path.suffix.lower()]
    suffix = path.suffix.lower()
    try:
        ex = extract_cache.load(content_hash, suffix, enabled=use_cache, cache_dir=cache_dir)
        if ex is None:
            ex = fn(path)
            extract_cache.save(content_hash, suffix, ex, enabled=use_cache, cache_dir=cache_dir)
    except IngestError:
        raise
    except MemoryError:
        raise IngestError(f"te groot om als {path.suffix}-bestand te verwerken") from None
    except Exception as e:  # a reader's library failed on a broken file
        msg = f"kan {path.suffix}-bestand niet verwerken: {type(e).__name__}: {e}"
        raise IngestError(msg.splitlines()[0][:300]) from None
    return ex


def read_document(
    path: Path,
    root: Path,
    manifest: dict[str, dict[str, Any]] | None = None,
    max_bytes: int | None = None,
    extract_cache: bool = True,
    cache_dir: Path | None = None,
) -> tuple[Document, list[str]]:
    """Read one file into a ``Document`` (metadata: corpus.toml, names, properties, text; see ``metadata``).

    Raises ``IngestError`` (one Dutch line) for any file that cannot be read: not a
    regular file, larger than ``max_bytes``, unreadable, binary, or broken for its
    reader. ``extract_cache``: look up and store the extracted text by content hash
    (under ``cache_dir``, default ``config.cache_root()``).
    """
    if path.suffix.lower() not in READERS:
        raise IngestError(f"geen lezer voor {path.suffix + '-bestanden' if path.suffix else 'bestanden zonder extensie'}")
    source = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise IngestError("bestandsnaam is geen geldige UTF-8; geef het bestand een andere naam") from None
    check_file(path, max_bytes)
    try:
        raw = path.read_bytes()
    except MemoryError:
        raise IngestError("bestand te groot om in het geheugen te lezen") from None
    except OSError as e:
        raise IngestError(f"bestand niet leesbaar: {os_reason(e)}") from None
    content_hash = hashlib.sha256(raw).hexdigest()
    ex = _extract(path, content_hash, extract_cache, cache_dir)
    meta = resolve(source, (manifest or {}).get(source, {}), ex)
    doc = Document(
        doc_id=source,
        source=source,
        text=ex.text,
        title=meta.title,
        gemeente=meta.gemeente,
        year=meta.year,
        doc_type=meta.doc_type,
        blocks=tuple(ex.blocks),
        page_starts=tuple(ex.page_starts),
        content_hash=content_hash,
        meta_origin=meta.origins,
    )
    return doc, ex.notes


def iter_documents(
    paths: Iterable[Path],
    root: Path | None = None,
    max_file_mb: float | None = MAX_FILE_MB,
    extract_cache: bool = True,
    cache_dir: Path | None = None,
    report: IngestReport | None = None,
) -> Iterator[Document]:
    """Every readable file under ``paths`` as a ``Document``, one at a time, in ``discover`` order.

    The generator keeps no reference to a document once the next one is asked for, so a
    caller that does not keep them holds one document's text at a time. Unreadable files
    are skipped: ``(source, reason)`` is appended to ``report.skipped`` and a reader's notes
    to ``report.notes`` as they come (``report.documents`` is left alone); the lists are
    complete once the generator is exhausted. Files above ``max_file_mb`` megabytes are
    skipped (None or 0: no limit). Raises ``IngestError``, on the first ``next``, only for a
    path that does not exist or a broken ``corpus.toml``.
    """
    report = report if report is not None else IngestReport([], [], [])
    pairs = discover(paths, errors=report.skipped)
    max_bytes = int(max_file_mb * 2**20) if max_file_mb else None
    # Every corpus.toml first: a broken one fails before any document is handed out.
    manifests = {r: load_manifest(r) for r in dict.fromkeys(root or base for base, _f in pairs)}
    for base, f in pairs:
        r = root or base
        source = display_name(f.relative_to(r).as_posix() if f.is_relative_to(r) else f.name)
        try:
            doc, doc_notes = read_document(
                f, r, manifests[r], max_bytes=max_bytes, extract_cache=extract_cache, cache_dir=cache_dir
            )
        except IngestError as e:
            report.skipped.append((source, str(e)))
            continue
        if not doc.blocks:
            report.skipped.append((source, "geen tekst gevonden"))
            continue
        report.notes.extend((source, n) for n in doc_notes)
        yield doc
        del doc  # not held while the next file is read


def ingest(
    paths: Iterable[Path],
    root: Path | None = None,
    max_file_mb: float | None = MAX_FILE_MB,
    extract_cache: bool = True,
    cache_dir: Path | None = None,
) -> IngestReport:
    """Read every supported file under ``paths`` into one report; unreadable files are skipped and reported.

    ``iter_documents`` into a list: every document's text stays in memory (the build streams
    instead). Files above ``max_file_mb`` megabytes are skipped (None or 0: no limit). The
    build passes ``Settings.extract_cache`` and ``Settings.cache_dir``. Raises ``IngestError``
    only for a path that does not exist or a broken ``corpus.toml``.
    """
    report = IngestReport([], [], [])
    report.documents.extend(
        iter_documents(paths, root, max_file_mb=max_file_mb, extract_cache=extract_cache, cache_dir=cache_dir, report=report)
    )
    return report
