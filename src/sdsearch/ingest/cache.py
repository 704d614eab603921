"""A cache of extracted documents, so re-indexing an unchanged PDF does not parse it again.

Parsing dominates re-indexing a folder of PDFs (pdfplumber reads ~7 pages/s), while the
vectors of unchanged passages are re-used anyway. Entries are keyed by the SHA-256 of
the file's bytes, its format and ``EXTRACT_VERSION``; they live under
``$SDSEARCH_CACHE/extract`` (default ``~/.cache/sdsearch/extract``), are written
atomically and are JSON (never pickle). A damaged entry is ignored and rewritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..config import cache_root
from ..types import Block

# Bump when a reader changes what it extracts.
EXTRACT_VERSION = 1
# Formats worth caching: plain text is cheaper to read than to look up.
CACHED_SUFFIXES = frozenset({".pdf", ".docx", ".html", ".htm", ".xhtml"})


def _path(content_hash: str, suffix: str) -> Path:
    from .. import __version__

    return cache_root() / "extract" / f"{content_hash}{suffix}.{__version__}.v{EXTRACT_VERSION}.json"


def load(content_hash: str, suffix: str) -> Any | None:
    """The cached ``Extracted`` for these bytes, or None."""
    from . import Extracted

    if suffix not in CACHED_SUFFIXES or os.environ.get("SDSEARCH_NO_EXTRACT_CACHE"):
        return None
    try:
        d = json.loads(_path(content_hash, suffix).read_text(encoding="utf-8"))
        return Extracted(
            text=d["text"],
            blocks=[Block(b[0], int(b[1]), int(b[2]), int(b[3])) for b in d["blocks"]],
            page_starts=[int(x) for x in d["page_starts"]],
            title=d.get("title"),
            meta=dict(d.get("meta") or {}),
            notes=list(d.get("notes") or []),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def save(content_hash: str, suffix: str, ex: Any) -> None:
    """Store an ``Extracted``; failures (read-only home, full disk) are silently skipped."""
    if suffix not in CACHED_SUFFIXES or os.environ.get("SDSEARCH_NO_EXTRACT_CACHE"):
        return
    target = _path(content_hash, suffix)
    data = {
        "text": ex.text,
        "blocks": [[b.kind, b.start, b.end, b.level] for b in ex.blocks],
        "page_starts": list(ex.page_starts),
        "title": ex.title,
        "meta": ex.meta,
        "notes": ex.notes,
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
        os.replace(tmp, target)
    except (OSError, TypeError, ValueError):
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
