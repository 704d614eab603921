"""Finding the files of a corpus and refusing, before reading, what is not a readable file.

Every refusal is an ``IngestError`` whose message is one Dutch line naming the reason;
the build lists it as a skipped file and indexes the rest.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import IngestError
from .metadata import MANIFEST_NAME
from .registry import READERS

# Operating-system errors in words a reader of the skip list understands.
_OS_REASONS = {
    errno.EACCES: "geen leesrechten",
    errno.EPERM: "geen leesrechten",
    errno.ELOOP: "te veel links achter elkaar (een lus van links?)",
    errno.EIO: "leesfout (schijf of netwerk)",
    errno.ENAMETOOLONG: "naam te lang",
    errno.ENOENT: "bestaat niet (meer)",
}


def os_reason(e: OSError) -> str:
    """A short Dutch reason for an ``OSError`` (the system's own text where none is known)."""
    return _OS_REASONS.get(e.errno or 0) or (e.strerror or str(e))


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
            found += _walk(p, errors)
        elif p.is_symlink() or os.path.lexists(p):
            found.append((p.parent, p))
        else:
            raise IngestError(f"bestand of map bestaat niet: {p}")
    return found


def _walk(root: Path, errors: list[tuple[str, str]] | None) -> list[tuple[Path, Path]]:
    found: list[tuple[Path, Path]] = []

    def unreadable(e: OSError) -> None:
        if errors is not None and e.filename is not None:
            where = Path(e.filename)
            rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
            errors.append((display_name(rel or "."), f"map niet leesbaar: {os_reason(e)}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        links = {d for d in dirnames if not d.startswith(".") and os.path.islink(os.path.join(dirpath, d))}
        if errors is not None:
            for d in sorted(links):  # not followed: a link can loop or lead outside the corpus
                rel = (Path(dirpath) / d).relative_to(root).as_posix()
                errors.append((display_name(rel), "link naar een map; links naar mappen worden niet gevolgd"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in links)
        for name in sorted(filenames):
            if name.startswith(".") or name == MANIFEST_NAME:
                continue
            f = Path(dirpath) / name
            if f.suffix.lower() in READERS:
                found.append((root, f))
    return found


def check_file(path: Path, max_bytes: int | None) -> None:
    """Refuse what is not a regular, readable file of a sensible size, before reading it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise IngestError("kapotte link (het doel bestaat niet)" if path.is_symlink() else "bestand verdwenen") from None
    except OSError as e:
        raise IngestError(f"bestand niet leesbaar: {os_reason(e)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IngestError("een map, geen bestand")
    if not stat.S_ISREG(st.st_mode):
        kind = "een named pipe" if stat.S_ISFIFO(st.st_mode) else "een apparaat of socket"
        raise IngestError(f"geen gewoon bestand ({kind})")
    if max_bytes is not None and st.st_size > max_bytes:
        mb = st.st_size / 2**20
        size = (f"{mb:.0f}" if mb >= 10 else f"{mb:.2g}").replace(".", ",")
        limit = f"{max_bytes / 2**20:.3g}".replace(".", ",")
        raise IngestError(f"bestand te groot ({size} MB; de grens is {limit} MB, verhoog die met SDSEARCH_MAX_FILE_MB)")
    if not os.access(path, os.R_OK):
        raise IngestError("bestand niet leesbaar: geen leesrechten")
