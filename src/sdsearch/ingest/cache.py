"""A cache of extracted documents, so re-indexing an unchanged PDF does not parse it again.

Parsing dominates re-indexing a folder of PDFs (pdfplumber reads ~7 pages/s), while the
vectors of unchanged passages are re-used anyway. Entries are keyed by the SHA-256 of
the file's bytes, its format and ``EXTRACT_VERSION``; they live under
``<cache_root>/extract`` (``config.cache_root``: ``Settings.cache_dir``, default
``~/.cache/sdsearch``), are written atomically and are JSON (never pickle). A damaged
entry is ignored and rewritten. Whether the cache is used is the caller's choice
(``Settings.extract_cache``); this module reads no environment.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..config import cache_root
from ..files import atomic_write_bytes
from ..types import Block
from .registry import Extracted

# Bump when a reader changes what it extracts.
EXTRACT_VERSION = 2
# Formats worth caching: plain text is cheaper to read than to look up.
CACHED_SUFFIXES = frozenset({".pdf", ".docx", ".html", ".htm", ".xhtml"})


def _path(content_hash: str, suffix: str, cache_dir: Path | None) -> Path:
    from .. import __version__

    root = cache_dir if cache_dir is not None else cache_root()
    return Path(root) / "extract" / f"{content_hash}{suffix}.{__version__}.v{EXTRACT_VERSION}.json"


def load(content_hash: str, suffix: str, enabled: bool = True, cache_dir: Path | None = None) -> Extracted | None:
    """The cached ``Extracted`` for these bytes, or None."""
    if not enabled or suffix not in CACHED_SUFFIXES:
        return None
    try:
        d = json.loads(_path(content_hash, suffix, cache_dir).read_text(encoding="utf-8"))
        return Extracted(
            text=d["text"],
            blocks=[Block(b[0], int(b[1]), int(b[2]), int(b[3])) for b in d["blocks"]],
            page_starts=[int(x) for x in d["page_starts"]],
            title=d.get("title"),
            meta=dict(d.get("meta") or {}),
            notes=list(d.get("notes") or []),
            running=[str(x) for x in d.get("running") or []],
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def save(content_hash: str, suffix: str, ex: Extracted, enabled: bool = True, cache_dir: Path | None = None) -> None:
    """Store an ``Extracted``; failures (read-only home, full disk) are silently skipped."""
    if not enabled or suffix not in CACHED_SUFFIXES:
        return
    data = {
        "text": ex.text,
        "blocks": [[b.kind, b.start, b.end, b.level] for b in ex.blocks],
        "page_starts": list(ex.page_starts),
        "title": ex.title,
        "meta": ex.meta,
        "notes": ex.notes,
        "running": ex.running,
    }
    try:
        atomic_write_bytes(_path(content_hash, suffix, cache_dir), json.dumps(data, ensure_ascii=False).encode("utf-8"))
    except (OSError, TypeError, ValueError):
        pass
